/*
 * The data path: the CSV reader, missing values, the scaler, the split and
 * the windows. The weather file is checked against figures computed
 * independently (pandas/numpy nan-aware statistics); every refusal is
 * checked for its status and for the path, line and column in its message.
 * Small CSVs are written to /tmp at test time so each case's text sits next
 * to what it checks.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkstemp, unlink */
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "clrnn.h"

#define WEATHER CLRNN_DATA_DIR "/clean_weather.csv"

/* ------------------------------------------------------------- helpers */

/* Writes n bytes to a new file in /tmp; path (64 bytes) gets its name. */
static int write_temp_bytes(char *path, const char *text, size_t n)
{
    strcpy(path, "/tmp/clrnn_test_data_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        return 0;
    }
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static int write_temp(char *path, const char *text)
{
    return write_temp_bytes(path, text, strlen(text));
}

/* Reads text as a CSV through a temporary file, removed again. */
static clrnn_status table_from_text(clrnn_table **table, char *path, const char *text,
                                    clrnn_error *err)
{
    *table = NULL;
    if (!write_temp(path, text)) {
        snprintf(err->message, sizeof err->message, "cannot write a temporary file");
        return CLRNN_E_IO;
    }
    clrnn_status st = clrnn_table_read_csv(table, path, err);
    unlink(path);
    return st;
}

static clrnn_status dataset_from_text(clrnn_dataset **data, char *path, const char *text,
                                      const clrnn_data_config *cfg, clrnn_error *err)
{
    clrnn_table *table;
    *data = NULL;
    clrnn_status st = table_from_text(&table, path, text, err);
    if (st != CLRNN_OK)
        return st;
    st = clrnn_dataset_create(data, table, cfg, err);
    clrnn_table_free(table); /* the dataset must not need it */
    return st;
}

static clrnn_data_config config_for(const char *const *features, size_t n_features,
                                    const char *const *targets, size_t n_targets, size_t seq_len)
{
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.features = features;
    cfg.n_features = n_features;
    cfg.targets = targets;
    cfg.n_targets = n_targets;
    cfg.seq_len = seq_len;
    return cfg;
}

/* A failure with status want whose message holds path (when not NULL)
 * immediately followed by rest: that is how "PATH:LINE:COL: what" is
 * checked piece by piece. */
static void check_error(const char *what, clrnn_status got, clrnn_status want,
                        const clrnn_error *err, const char *path, const char *rest)
{
    char expected[600], line[1000];
    snprintf(expected, sizeof expected, "%s%s", path ? path : "", rest);
    int ok =
        got == want && strstr(err->message, expected) != NULL && strchr(err->message, '\n') == NULL;
    snprintf(line, sizeof line, "%s -> %s", what, got == CLRNN_OK ? "(no error)" : err->message);
    check_true(ok, line);
    if (!ok)
        printf("    expected '%s' (%s), got status '%s'\n", expected, clrnn_status_string(want),
               clrnn_status_string(got));
}

static void check_read_error(const char *what, const char *text, clrnn_status want,
                             const char *rest)
{
    char path[64];
    clrnn_table *table;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = table_from_text(&table, path, text, &err);
    check_error(what, st, want, &err, path, rest);
    check_true(st == CLRNN_OK || table == NULL, "  a failed read leaves *out NULL");
    clrnn_table_free(table);
}

static void check_dataset_error(const char *what, const char *text, const clrnn_data_config *cfg,
                                clrnn_status want, int with_path, const char *rest)
{
    char path[64];
    clrnn_dataset *data;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = dataset_from_text(&data, path, text, cfg, &err);
    check_error(what, st, want, &err, with_path ? path : NULL, rest);
    clrnn_dataset_free(data);
}

static int same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* -------------------------------------------------------- weather file */

static const char *const weather_features[] = {"tmax", "tmin", "rain"};
static const char *const weather_target[] = {"tmax_tomorrow"};

static void test_weather_table(const clrnn_table *t)
{
    char what[200];
    static const char *const names[] = {"tmax", "tmin", "rain", "tmax_tomorrow"};
    static const size_t empty_expected[] = {11, 14, 281, 11};
    size_t empty[4] = {0}, rows_with_empty = 0, first_empty_row = SIZE_MAX;
    size_t R = clrnn_table_n_rows(t);
    int names_ok = clrnn_table_n_cols(t) == 4;
    for (size_t c = 0; names_ok && c < 4; c++)
        names_ok = !strcmp(clrnn_table_col_name(t, c), names[c]) &&
                   clrnn_table_find_col(t, names[c]) == (long)c &&
                   !clrnn_table_bad_cell(t, c, NULL, NULL);
    for (size_t r = 0; r < R; r++) {
        int any = 0;
        for (size_t c = 0; c < 4; c++)
            if (isnan(clrnn_table_value(t, r, c)))
                empty[c]++, any = 1;
        rows_with_empty += any;
        if (any && first_empty_row == SIZE_MAX)
            first_empty_row = r;
    }
    snprintf(what, sizeof what, "weather: %zu rows, %zu with empty cells, first at row %zu", R,
             rows_with_empty, first_empty_row);
    check_true(R == 13509 && rows_with_empty == 306 && first_empty_row == 4138, what);
    snprintf(what, sizeof what, "weather: empty cells per column %zu %zu %zu %zu", empty[0],
             empty[1], empty[2], empty[3]);
    check_true(!memcmp(empty, empty_expected, sizeof empty), what);
    check_true(names_ok && clrnn_table_find_col(t, "") == -1 &&
                   clrnn_table_find_col(t, "snow") == -1,
               "weather: columns tmax, tmin, rain, tmax_tomorrow, all numeric");
    const char *first = clrnn_table_row_label(t, 0), *last = clrnn_table_row_label(t, R - 1);
    snprintf(what, sizeof what, "weather: labels %s .. %s, lines %zu .. %zu", first ? first : "-",
             last ? last : "-", clrnn_table_row_line(t, 0), clrnn_table_row_line(t, R - 1));
    check_true(first && last && !strcmp(first, "1970-01-01") && !strcmp(last, "2022-11-26") &&
                   clrnn_table_row_line(t, 0) == 2 && clrnn_table_row_line(t, R - 1) == R + 1,
               what);
    check_true(clrnn_table_value(t, 0, 0) == 60.0 && clrnn_table_value(t, 0, 1) == 35.0 &&
                   clrnn_table_value(t, 0, 3) == 52.0,
               "weather: row 0 is 60, 35, 0, 52");
}

/* The notebook's scaler: fitted on all rows, NaN ignored, targets in units. */
static void test_weather_fit_all(const clrnn_table *t)
{
    /* Present cells of all 13,509 rows, summed exactly (python math.fsum);
     * numpy's nanmean/nanstd print 66.0522300, 50.4306780, 0.0463017841 and
     * 8.32146119, 6.78554628, 0.18152624. */
    static const double mean[] = {66.05222996, 50.4306780289, 0.0463017840943};
    static const double std[] = {8.32146119341, 6.78554628106, 0.181526238518};
    char what[200];
    clrnn_data_config cfg = config_for(weather_features, 3, weather_target, 1, 7);
    cfg.scaler_fit = CLRNN_SCALER_FIT_ALL;
    cfg.scale_targets = 0;
    clrnn_dataset *d = NULL;
    clrnn_error err;
    if (!check_true(clrnn_dataset_create(&d, t, &cfg, &err) == CLRNN_OK,
                    "weather: dataset (fit all)")) {
        printf("    %s\n", err.message);
        return;
    }
    for (size_t f = 0; f < 3; f++) {
        snprintf(what, sizeof what, "weather: %s mean %.9f (vs %.12g)", weather_features[f],
                 clrnn_dataset_feature_mean(d, f), mean[f]);
        check(rel_diff(clrnn_dataset_feature_mean(d, f), mean[f]) < 1e-10, what,
              rel_diff(clrnn_dataset_feature_mean(d, f), mean[f]), 1e-10);
        snprintf(what, sizeof what, "weather: %s std %.9f (vs %.12g)", weather_features[f],
                 clrnn_dataset_feature_std(d, f), std[f]);
        check(rel_diff(clrnn_dataset_feature_std(d, f), std[f]) < 1e-10, what,
              rel_diff(clrnn_dataset_feature_std(d, f), std[f]), 1e-10);
    }
    snprintf(what, sizeof what, "weather: ffill filled %zu cells, dropped %zu rows, %zu rows",
             clrnn_dataset_cells_filled(d), clrnn_dataset_rows_dropped(d), clrnn_dataset_n_rows(d));
    /* 306 feature cells; the 11 empty target cells stay empty (masked). */
    check_true(clrnn_dataset_cells_filled(d) == 306 && clrnn_dataset_rows_dropped(d) == 0 &&
                   clrnn_dataset_n_rows(d) == 13509,
               what);

    /* Every value against the table: the last present value above for
     * empty feature cells, (v - mean) / std for features, units for targets
     * and NaN for an empty target cell. */
    const double *x = clrnn_dataset_x(d), *y = clrnn_dataset_y(d), *y_raw = clrnn_dataset_y_raw(d);
    double last[4] = {0}, worst = 0.0;
    int targets_ok =
        clrnn_dataset_target_mean(d, 0) == 0.0 && clrnn_dataset_target_std(d, 0) == 1.0;
    for (size_t r = 0; r < 13509; r++) {
        for (size_t c = 0; c < 4; c++)
            if (!isnan(clrnn_table_value(t, r, c)))
                last[c] = clrnn_table_value(t, r, c);
        for (size_t f = 0; f < 3; f++) {
            double want =
                (last[f] - clrnn_dataset_feature_mean(d, f)) / clrnn_dataset_feature_std(d, f);
            worst = fmax(worst, fabs(x[r * 3 + f] - want));
        }
        targets_ok = targets_ok && same(y_raw[r], clrnn_table_value(t, r, 3)) &&
                     same(y[r], clrnn_table_value(t, r, 3));
    }
    check(worst < 1e-12, "weather: features are (ffilled value - mean) / std", worst, 1e-12);
    check_true(targets_ok,
               "weather: targets as in the file, empty ones NaN, unscaled (mean 0, std 1)");
    size_t b, e;
    clrnn_dataset_split_rows(d, CLRNN_SPLIT_TRAIN, &b, &e);
    snprintf(what, sizeof what, "weather: train rows %zu-%zu, %zu windows", b, e,
             clrnn_dataset_n_windows(d, CLRNN_SPLIT_TRAIN));
    /* int(0.7 * 13509) = 9456 */
    check_true(b == 0 && e == 9456 && clrnn_dataset_n_windows(d, CLRNN_SPLIT_TRAIN) == 9450, what);
    clrnn_dataset_free(d);
}

static void test_weather_drop(const clrnn_table *t)
{
    char what[200];
    clrnn_data_config cfg = config_for(weather_features, 3, weather_target, 1, 7);
    cfg.missing = CLRNN_MISSING_DROP;
    clrnn_dataset *d = NULL;
    clrnn_error err;
    if (!check_true(clrnn_dataset_create(&d, t, &cfg, &err) == CLRNN_OK,
                    "weather: dataset (drop)")) {
        printf("    %s\n", err.message);
        return;
    }
    size_t R = clrnn_dataset_n_rows(d);
    snprintf(what, sizeof what, "weather drop: %zu rows dropped, %zu kept, %zu filled",
             clrnn_dataset_rows_dropped(d), R, clrnn_dataset_cells_filled(d));
    check_true(clrnn_dataset_rows_dropped(d) == 306 && R == 13203 &&
                   clrnn_dataset_cells_filled(d) == 0,
               what);
    size_t kept = 0;
    int labels_ok = 1, values_ok = 1;
    const double *y_raw = clrnn_dataset_y_raw(d);
    for (size_t r = 0; r < clrnn_table_n_rows(t) && kept < R; r++) {
        int any = 0;
        for (size_t c = 0; c < 4; c++)
            any |= isnan(clrnn_table_value(t, r, c));
        if (any)
            continue;
        labels_ok =
            labels_ok && !strcmp(clrnn_dataset_row_label(d, kept), clrnn_table_row_label(t, r));
        values_ok = values_ok && y_raw[kept] == clrnn_table_value(t, r, 3);
        kept++;
    }
    snprintf(what, sizeof what, "weather drop: labels of kept rows (row 4138 is %s)",
             clrnn_dataset_row_label(d, 4138));
    check_true(kept == R && labels_ok && values_ok, what);
    size_t begin[3], end[3];
    for (int s = 0; s < 3; s++)
        clrnn_dataset_split_rows(d, (clrnn_split)s, &begin[s], &end[s]);
    snprintf(what, sizeof what, "weather drop: splits %zu-%zu, %zu-%zu, %zu-%zu", begin[0], end[0],
             begin[1], end[1], begin[2], end[2]);
    /* int(0.7 * 13203) = 9242, int(0.15 * 13203) = 1980 */
    check_true(begin[0] == 0 && end[0] == 9242 && begin[1] == 9242 && end[1] == 11222 &&
                   begin[2] == 11222 && end[2] == 13203,
               what);
    /* Scaled targets: their own statistics over the training rows. */
    double sum = 0.0, squares = 0.0;
    for (size_t r = 0; r < 9242; r++)
        sum += y_raw[r];
    double mean = sum / 9242.0;
    for (size_t r = 0; r < 9242; r++)
        squares += (y_raw[r] - mean) * (y_raw[r] - mean);
    double std = sqrt(squares / 9242.0), worst = 0.0;
    for (size_t r = 0; r < R; r++)
        worst = fmax(worst, fabs(clrnn_dataset_y(d)[r] - (y_raw[r] - mean) / std));
    check(worst < 1e-12 && fabs(clrnn_dataset_target_mean(d, 0) - mean) < 1e-12 &&
              fabs(clrnn_dataset_target_std(d, 0) - std) < 1e-12,
          "weather drop: targets scaled with training-row mean and std", worst, 1e-12);
    clrnn_dataset_free(d);
}

/* MISSING_ERROR stops at the first empty used cell: line = row + 2. */
static void test_weather_missing_error(const clrnn_table *t)
{
    static const char *const columns[] = {"tmax", "tmin", "rain", "tmax_tomorrow"};
    static const char *const expected[] = {
        ":6931:2: column 'tmax' is empty (see `missing`)", ":6931:3: column 'tmin' is empty",
        ":4140:4: column 'rain' is empty", ":6930:5: column 'tmax_tomorrow' is empty"};
    char what[100];
    for (size_t c = 0; c < 4; c++) {
        static const size_t one[] = {1};
        clrnn_data_config cfg = config_for(columns + c, 1, columns + c, 1, 7);
        cfg.missing = CLRNN_MISSING_ERROR;
        cfg.horizons = one; /* a column as feature and target: one row ahead */
        cfg.n_horizons = 1;
        clrnn_dataset *d = NULL;
        clrnn_error err = {CLRNN_OK, ""};
        clrnn_status st = clrnn_dataset_create(&d, t, &cfg, &err);
        snprintf(what, sizeof what, "weather --missing error, column %s", columns[c]);
        check_error(what, st, CLRNN_E_INPUT, &err, WEATHER, expected[c]);
        clrnn_dataset_free(d);
    }
    clrnn_data_config cfg = config_for(weather_features, 3, weather_target, 1, 7);
    cfg.missing = CLRNN_MISSING_ERROR;
    clrnn_dataset *d = NULL;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = clrnn_dataset_create(&d, t, &cfg, &err);
    check_error("weather --missing error, all columns", st, CLRNN_E_INPUT, &err, WEATHER,
                ":4140:4: column 'rain' is empty");
    clrnn_dataset_free(d);
}

static void test_weather(void)
{
    clrnn_table *t = NULL;
    clrnn_error err;
    clock_t start = clock();
    clrnn_status st = clrnn_table_read_csv(&t, WEATHER, &err);
    double ms = 1000.0 * (double)(clock() - start) / CLOCKS_PER_SEC;
    char what[200];
    snprintf(what, sizeof what, "weather: read %s in %.1f ms", WEATHER, ms);
    if (!check_true(st == CLRNN_OK, what)) {
        printf("    %s\n", err.message);
        return;
    }
    check_true(!strcmp(clrnn_table_path(t), WEATHER), "weather: table keeps its path");
    test_weather_table(t);
    test_weather_fit_all(t);
    test_weather_drop(t);
    test_weather_missing_error(t);
    clrnn_table_free(t);
}

/* ------------------------------------------------------- reader formats */

static void test_crlf_bom_blank(void)
{
    char path[64];
    clrnn_table *t;
    clrnn_error err;
    const char *crlf = "\xEF\xBB\xBF,a,b\r\n2020-01-01,1,2\r\n\r\n2020-01-02, 3.5 ,-4e-1\r\n";
    clrnn_status st = table_from_text(&t, path, crlf, &err);
    int ok = st == CLRNN_OK && clrnn_table_n_rows(t) == 2 && clrnn_table_n_cols(t) == 2 &&
             !strcmp(clrnn_table_col_name(t, 0), "a") && !strcmp(clrnn_table_col_name(t, 1), "b") &&
             !strcmp(clrnn_table_row_label(t, 0), "2020-01-01") &&
             !strcmp(clrnn_table_row_label(t, 1), "2020-01-02") &&
             clrnn_table_value(t, 1, 0) == 3.5 && clrnn_table_value(t, 1, 1) == -0.4 &&
             clrnn_table_row_line(t, 1) == 4;
    check_true(ok,
               "BOM + CRLF + blank line + spaces: labels, names, 3.5 and -0.4, row 1 on line 4");
    clrnn_table_free(t);

    const char *blank = "\n  \n,x\n\n2020,1\n \t \n2021,2";
    st = table_from_text(&t, path, blank, &err);
    ok = st == CLRNN_OK && clrnn_table_n_rows(t) == 2 && clrnn_table_row_line(t, 0) == 5 &&
         clrnn_table_row_line(t, 1) == 7 && clrnn_table_value(t, 1, 0) == 2.0;
    check_true(ok, "blank lines skipped, lines still counted, last line without newline");
    clrnn_table_free(t);

    st = table_from_text(&t, path, "a,b\n1,2\n3,4\n", &err);
    ok = st == CLRNN_OK && clrnn_table_n_cols(t) == 2 && clrnn_table_row_label(t, 0) == NULL &&
         clrnn_table_value(t, 0, 0) == 1.0 && clrnn_table_value(t, 1, 1) == 4.0;
    check_true(ok, "named first column: every column numeric, no labels");
    clrnn_table_free(t);

    st = table_from_text(&t, path, ",a\r2020,1\r2021,2\r", &err);
    ok = st == CLRNN_OK && clrnn_table_n_rows(t) == 2 && clrnn_table_row_line(t, 1) == 3;
    check_true(ok, "old Mac line ends (CR only)");
    clrnn_table_free(t);
}

static void test_quoted(void)
{
    char path[64];
    clrnn_table *t;
    clrnn_error err;
    const char *text = ",\"a\",\"b,c\"\n"
                       "\"2020-01-01\",\"1.5\",\" 2 \"\n"
                       "\"say \"\"hi\"\"\",3 , \"4\" \n"
                       "\"two\nlines\",5,6\n"
                       "2020-01-04,7,8\n";
    clrnn_status st = table_from_text(&t, path, text, &err);
    int ok = st == CLRNN_OK && clrnn_table_n_rows(t) == 4 &&
             !strcmp(clrnn_table_col_name(t, 1), "b,c") && clrnn_table_find_col(t, "b,c") == 1 &&
             !strcmp(clrnn_table_row_label(t, 1), "say \"hi\"") &&
             !strcmp(clrnn_table_row_label(t, 2), "two\nlines") &&
             clrnn_table_value(t, 0, 0) == 1.5 && clrnn_table_value(t, 0, 1) == 2.0 &&
             clrnn_table_value(t, 1, 1) == 4.0 && clrnn_table_row_line(t, 2) == 4 &&
             clrnn_table_row_line(t, 3) == 6;
    check_true(ok, "quoted fields: \"b,c\" name, \"\" escapes, quoted numbers, a newline inside");
    if (st != CLRNN_OK)
        printf("    %s\n", err.message);
    clrnn_table_free(t);
}

static void test_cells(void)
{
    char path[64];
    clrnn_table *t;
    clrnn_error err;
    const char *text = ",a,b,c,d,e,f,g,h\n"
                       "r1,,NA,NaN,nan,1e999,inf,0x10,1.5.2\n"
                       "r2,1,2,3,4,5,abc,7,8\n";
    clrnn_status st = table_from_text(&t, path, text, &err);
    if (!check_true(st == CLRNN_OK, "cells: empty, NA, NaN, nan, 1e999, inf, 0x10, 1.5.2 read")) {
        printf("    %s\n", err.message);
        return;
    }
    int ok = 1;
    for (size_t c = 0; c < 8; c++)
        ok = ok && isnan(clrnn_table_value(t, 0, c));
    for (size_t c = 0; c < 4; c++)
        ok = ok && !clrnn_table_bad_cell(t, c, NULL, NULL);
    check_true(ok, "cells: all NaN; empty, NA, NaN, nan are missing, not bad");
    static const char *const bad[] = {"1e999", "inf", "0x10", "1.5.2"};
    ok = 1;
    for (size_t c = 4; c < 8; c++) {
        size_t row = 99;
        const char *cell = NULL;
        ok = ok && clrnn_table_bad_cell(t, c, &row, &cell) && row == 0 && !strcmp(cell, bad[c - 4]);
    }
    check_true(ok, "cells: 1e999, inf, 0x10, 1.5.2 are the first bad cells (not 'abc' below)");
    check_true(same(clrnn_table_value(t, 1, 5), NAN) && clrnn_table_value(t, 1, 7) == 8.0 &&
                   clrnn_table_value(t, 5, 0) != clrnn_table_value(t, 5, 0),
               "cells: 'abc' is NaN, 8 is 8, out of range is NaN");
    clrnn_table_free(t);
}

/* --------------------------------------------------------- read errors */

static void test_read_errors(void)
{
    char missing[] = CLRNN_FIXTURE_DIR "/no_such_file.csv";
    clrnn_table *t = NULL;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = clrnn_table_read_csv(&t, missing, &err);
    check_error("missing file", st, CLRNN_E_IO, &err, missing, "': No such file");
    check_true(strstr(err.message, "cannot open '") == err.message, "  says 'cannot open'");
    st = clrnn_table_read_csv(&t, CLRNN_FIXTURE_DIR, &err);
    check_error("a directory", st, CLRNN_E_IO, &err, CLRNN_FIXTURE_DIR, "': Is a directory");

    check_read_error("empty file", "", CLRNN_E_INPUT, ": the file is empty");
    check_read_error("blank lines only", "\n \r\n\n", CLRNN_E_INPUT, ": the file is empty");
    check_read_error("header only", ",a,b\n\n", CLRNN_E_INPUT, ": no data rows");
    check_read_error("duplicate column", ",a,b,a\n1,2,3,4\n", CLRNN_E_INPUT,
                     ":1:4: duplicate column name 'a' (also column 2)");
    /* found by fuzz_table: a quoted name across lines made a two-line message */
    check_read_error("duplicate name holding a line break", ",\"a\nb\",\"a\nb\"\n1,2,3\n",
                     CLRNN_E_INPUT, ":1:3: duplicate column name 'a\\nb' (also column 2)");
    check_read_error("unnamed column", "\n,a,,b\n1,2,3,4\n", CLRNN_E_INPUT,
                     ":2:3: column 3 has no name");
    check_read_error("label column only", "\"\"\n1\n", CLRNN_E_INPUT,
                     ":1: the header names no numeric column");
    check_read_error("ragged row (short)", ",a,b,y\n2020-01-01,1,2,3\n2020-01-02,1,2\n",
                     CLRNN_E_INPUT, ":3: row has 3 fields, the header has 4");
    check_read_error("ragged row (long), after a blank line", ",a,b\n\n1,2,3\n1,2,3,4\n",
                     CLRNN_E_INPUT, ":4: row has 4 fields, the header has 3");
    check_read_error("unterminated quote", ",a,b\n1,2,3\n2,\"4,5\n6,7,8\n", CLRNN_E_INPUT,
                     ":3:2: unterminated quoted field");
    check_read_error("text after a closing quote", ",a,b\n1,\"2\"x,3\n", CLRNN_E_INPUT,
                     ":2:2: text after the closing quote");
}

/* -------------------------------------------------------- dataset errors */

static const char *const ab[] = {"a", "b"};
static const char *const just_a[] = {"a"};
static const char *const just_b[] = {"b"};
static const char *const just_y[] = {"y"};
static const char *const nope[] = {"foo"};

/* The CLI fixture's shape: a bad cell in b on line 3, field 3. */
static const char bad_cell_csv[] = ",a,b,y\n"
                                   "2020-01-01,1,2,3\n"
                                   "2020-01-02,1,abc,3\n"
                                   "2020-01-03,1,2,3\n";

static const char ten_rows[] = ",a,b,y\n"
                               "d0,0,1,0\nd1,1,2,1\nd2,2,3,2\nd3,3,4,3\nd4,4,5,4\n"
                               "d5,5,6,5\nd6,6,7,6\nd7,7,8,7\nd8,8,9,8\nd9,9,10,9\n";

static void test_dataset_errors(void)
{
    clrnn_data_config cfg = config_for(ab, 2, just_y, 1, 1);
    check_dataset_error("non-numeric cell in a used column", bad_cell_csv, &cfg, CLRNN_E_INPUT, 1,
                        ":3:3: column 'b': 'abc' is not a number");
    cfg = config_for(just_a, 1, just_b, 1, 1);
    check_dataset_error("non-numeric cell in a used target", bad_cell_csv, &cfg, CLRNN_E_INPUT, 1,
                        ":3:3: column 'b': 'abc' is not a number");
    char path[64];
    clrnn_dataset *d;
    clrnn_error err;
    cfg = config_for(just_a, 1, just_y, 1, 1);
    cfg.val_fraction = 0; /* 3 rows: none for validation */
    clrnn_status st = dataset_from_text(&d, path, bad_cell_csv, &cfg, &err);
    check_true(st == CLRNN_OK && clrnn_dataset_n_rows(d) == 3 && clrnn_dataset_cells_filled(d) == 0,
               "the same file works when column b is not used");
    clrnn_dataset_free(d);

    cfg = config_for(nope, 1, just_y, 1, 1);
    check_dataset_error("unknown feature", ten_rows, &cfg, CLRNN_E_INPUT, 1,
                        ": no column named 'foo' (columns: a, b, y)");
    cfg = config_for(ab, 2, nope, 1, 1);
    check_dataset_error("unknown target", ten_rows, &cfg, CLRNN_E_INPUT, 1,
                        ": no column named 'foo' (columns: a, b, y)");

    cfg = config_for(ab, 2, just_y, 1, 11);
    check_dataset_error("fewer rows than one window", ten_rows, &cfg, CLRNN_E_INPUT, 1,
                        ": 10 rows, fewer than one window of seq_len 11");
    cfg = config_for(ab, 2, just_y, 1, 5);
    cfg.train_fraction = 0.3;
    check_dataset_error("training split shorter than a window", ten_rows, &cfg, CLRNN_E_INPUT, 1,
                        ": the training split has 3 rows, fewer than one window of seq_len 5");

    struct {
        const char *what;
        double train, val;
        const char *message;
    } fractions[] = {
        {"train fraction 0", 0.0, 0.1, "train fraction 0 is not in (0, 1]"},
        {"train fraction 1.5", 1.5, 0.0, "train fraction 1.5 is not in (0, 1]"},
        {"train fraction NaN", NAN, 0.0, "is not in (0, 1]"},
        {"val fraction -0.1", 0.5, -0.1, "validation fraction -0.1 is not in [0, 1)"},
        {"val fraction 1", 0.5, 1.0, "validation fraction 1 is not in [0, 1)"},
        {"fractions 0.8 + 0.3", 0.8, 0.3, "add up to more than 1"},
    };
    for (size_t i = 0; i < sizeof fractions / sizeof fractions[0]; i++) {
        cfg = config_for(ab, 2, just_y, 1, 2);
        cfg.train_fraction = fractions[i].train;
        cfg.val_fraction = fractions[i].val;
        check_dataset_error(fractions[i].what, ten_rows, &cfg, CLRNN_E_INPUT, 0,
                            fractions[i].message);
    }
    cfg = config_for(ab, 2, just_y, 1, 0);
    check_dataset_error("seq_len 0", ten_rows, &cfg, CLRNN_E_INPUT, 0, "seq_len is 0");
    cfg = config_for(ab, 0, just_y, 1, 2);
    check_dataset_error("n_features 0", ten_rows, &cfg, CLRNN_E_INPUT, 0, "n_features is 0");
    cfg = config_for(ab, 2, just_y, 0, 2);
    check_dataset_error("n_targets 0", ten_rows, &cfg, CLRNN_E_INPUT, 0, "n_targets is 0");
}

/* ------------------------------------------------------ missing values */

/* Bytes a text table does not hold (NUL, UTF-16), values too large to
 * square and sum, and a wide table with many blank lines (issue 11). */
static void check_bytes_error(const char *what, const char *text, size_t n, const char *rest)
{
    char path[64];
    clrnn_table *table = NULL;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st =
        write_temp_bytes(path, text, n) ? clrnn_table_read_csv(&table, path, &err) : CLRNN_E_IO;
    unlink(path);
    check_error(what, st, CLRNN_E_INPUT, &err, path, rest);
    clrnn_table_free(table);
}

static void test_hostile_input(void)
{
    static const char nul_cell[] = ",a,b\n1,5\0,2\n2,3,4\n";
    static const char nul_quoted[] = ",a,b\n1,\"5\0\",2\n";
    static const char nul_header[] = ",a\0x,b\n1,5,2\n";
    static const char utf16[] = "\xff\xfe,\0a\0,\0b\0\n\0";
    check_bytes_error("a NUL byte in a cell", nul_cell, sizeof nul_cell - 1,
                      ":2:2: a NUL byte in the field");
    check_bytes_error("a NUL byte in a quoted cell", nul_quoted, sizeof nul_quoted - 1,
                      ":2:2: a NUL byte in the field");
    check_bytes_error("a NUL byte in a header name", nul_header, sizeof nul_header - 1,
                      ":1:2: a NUL byte in the field");
    check_bytes_error("UTF-16 (a byte-order mark)", utf16, sizeof utf16 - 1,
                      ": the file is UTF-16");

    clrnn_data_config cfg = config_for(just_a, 1, just_y, 1, 1);
    cfg.val_fraction = 0; /* 3 rows: none for validation */
    check_dataset_error("a value above 1e150", ",a,y\nr1,1,2\nr2,-1e200,3\nr3,2,4\n", &cfg,
                        CLRNN_E_INPUT, 1, ":3:2: column 'a': '-1e200' is too large");
    char path[64];
    clrnn_dataset *data = NULL;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st =
        dataset_from_text(&data, path, ",a,y\nr1,1e150,2\nr2,-1e150,3\nr3,2,4\n", &cfg, &err);
    check_true(st == CLRNN_OK && isfinite(clrnn_dataset_feature_std(data, 0)) &&
                   clrnn_dataset_feature_std(data, 0) > 1e149,
               "values of 1e150 are taken, with a finite scaler std");
    clrnn_dataset_free(data);

    /* 200 rows of 20,000 columns and a million blank lines: 10 MB of text,
     * 32 MB of values; sized by lines x columns it was 160 GB. */
    size_t cols = 20000, rows = 200, blank = 1000000, at = 0;
    size_t size = cols * 8 + rows * cols * 2 + blank + 16;
    char *text = malloc(size);
    if (!check_true(text != NULL, "memory for a wide table"))
        return;
    for (size_t c = 0; c < cols; c++)
        at += (size_t)snprintf(text + at, size - at, "%sc%zu", c ? "," : "", c);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            at += (size_t)snprintf(text + at, size - at, "%s%zu", c ? "," : "\n", (r + c) % 10);
    memset(text + at, '\n', blank);
    text[at + blank] = '\0';
    clrnn_table *wide = NULL;
    st = table_from_text(&wide, path, text, &err);
    check_true(st == CLRNN_OK && clrnn_table_n_rows(wide) == rows &&
                   clrnn_table_n_cols(wide) == cols &&
                   clrnn_table_value(wide, rows - 1, cols - 1) == (double)((rows + cols - 2) % 10),
               "200 rows x 20,000 columns + 1,000,000 blank lines: read, sized by its rows");
    clrnn_table_free(wide);
    free(text);
}

static void test_missing_small(void)
{
    const char *text = ",a,b,y,unused\n"
                       "d0,1,10,0,\n" /* empty unused cell in the first row: no matter */
                       "d1,,20,1,5\n" /* a empty: 1 carried */
                       "d2,3,,2,\n"   /* b empty: 20 carried */
                       "d3,,,3,\n"    /* both: 3 and 20 */
                       "d4,5,50,,\n"  /* y empty: a target, so not filled (masked) */
                       "d5,6,60,5,\n";
    char path[64];
    clrnn_dataset *d;
    clrnn_error err;
    clrnn_data_config cfg = config_for(ab, 2, just_y, 1, 1);
    cfg.train_fraction = 1.0;
    cfg.val_fraction = 0.0;
    cfg.scale_targets = 0;
    clrnn_status st = dataset_from_text(&d, path, text, &cfg, &err);
    if (!check_true(st == CLRNN_OK, "ffill: small table")) {
        printf("    %s\n", err.message);
        return;
    }
    /* Statistics over the present cells only: a = 1,3,5,6 ; b = 10,20,50,60. */
    double a_mean = 15.0 / 4.0, b_mean = 35.0;
    double a_std = sqrt(((1 - a_mean) * (1 - a_mean) + (3 - a_mean) * (3 - a_mean) +
                         (5 - a_mean) * (5 - a_mean) + (6 - a_mean) * (6 - a_mean)) /
                        4.0);
    double b_std = sqrt((25.0 * 25.0 + 15.0 * 15.0 + 15.0 * 15.0 + 25.0 * 25.0) / 4.0);
    double a_filled[] = {1, 1, 3, 3, 5, 6}, b_filled[] = {10, 20, 20, 20, 50, 60};
    double y_filled[] = {0, 1, 2, 3, NAN, 5};
    const double *x = clrnn_dataset_x(d), *y = clrnn_dataset_y_raw(d);
    double worst = 0.0;
    for (size_t r = 0; r < 6; r++) {
        worst = fmax(worst, fabs(x[2 * r] - (a_filled[r] - a_mean) / a_std));
        worst = fmax(worst, fabs(x[2 * r + 1] - (b_filled[r] - b_mean) / b_std));
        if (!same(y[r], y_filled[r]) || !same(clrnn_dataset_y(d)[r], y_filled[r]))
            worst = INFINITY;
    }
    check(worst < 1e-12 && fabs(clrnn_dataset_feature_mean(d, 0) - a_mean) < 1e-12 &&
              fabs(clrnn_dataset_feature_std(d, 1) - b_std) < 1e-12,
          "ffill: statistics skip empty cells, features carried forward, not targets", worst,
          1e-12);
    char what[100];
    snprintf(what, sizeof what, "ffill: %zu cells filled (unused column and target not counted)",
             clrnn_dataset_cells_filled(d));
    check_true(clrnn_dataset_cells_filled(d) == 4, what);
    clrnn_dataset_free(d);

    cfg.missing = CLRNN_MISSING_DROP;
    st = dataset_from_text(&d, path, text, &cfg, &err);
    int ok = st == CLRNN_OK && clrnn_dataset_rows_dropped(d) == 4 && clrnn_dataset_n_rows(d) == 2 &&
             !strcmp(clrnn_dataset_row_label(d, 0), "d0") &&
             !strcmp(clrnn_dataset_row_label(d, 1), "d5") && clrnn_dataset_y_raw(d)[1] == 5.0;
    check_true(ok, "drop: 4 rows dropped, d0 and d5 kept with their labels");
    clrnn_dataset_free(d);

    cfg.missing = CLRNN_MISSING_ERROR;
    check_dataset_error("--missing error", text, &cfg, CLRNN_E_INPUT, 1,
                        ":3:2: column 'a' is empty (see `missing`)");
    cfg.missing = CLRNN_MISSING_FFILL;
    check_dataset_error("ffill with an empty first row", ",a,b,y\nd0,1,,3\nd1,1,2,3\n", &cfg,
                        CLRNN_E_INPUT, 1,
                        ":2:3: column 'b' is empty in the first row; nothing to carry forward "
                        "(try `missing` drop)");
    cfg.missing = CLRNN_MISSING_DROP;
    cfg.seq_len = 3;
    check_dataset_error("drop leaves fewer rows than a window", text, &cfg, CLRNN_E_INPUT, 1,
                        ": 2 rows (after dropping 4 with empty cells), fewer than one window "
                        "of seq_len 3");

    /* The same column as feature and target: refused at horizon 0 (the
     * model would copy its input), taken one row ahead, where the feature
     * is filled and the target is not. */
    cfg = config_for(just_y, 1, just_y, 1, 2);
    cfg.scaler_fit = CLRNN_SCALER_FIT_ALL;
    check_dataset_error("a target that is also a feature at horizon 0", text, &cfg, CLRNN_E_INPUT,
                        0,
                        "target 'y' is also a feature at horizon 0: the model would copy its "
                        "input");
    static const size_t one[] = {1};
    cfg.horizons = one;
    cfg.n_horizons = 1;
    cfg.val_fraction = 0; /* 6 rows: none for validation */
    st = dataset_from_text(&d, path, text, &cfg, &err);
    ok = st == CLRNN_OK && clrnn_dataset_cells_filled(d) == 1 &&
         clrnn_dataset_x(d)[5] == clrnn_dataset_y(d)[4] && isnan(clrnn_dataset_y(d)[3]) &&
         clrnn_dataset_x(d)[4] == clrnn_dataset_x(d)[3] && isnan(clrnn_dataset_y(d)[5]) &&
         clrnn_dataset_feature_mean(d, 0) == clrnn_dataset_target_mean(d, 0);
    check_true(ok, "a column may be both feature and target one row ahead (the feature filled, "
                   "the target masked)");
    clrnn_dataset_free(d);
}

/* ------------------------------------------------ split, windows, scaler */

static void test_split_windows(void)
{
    char path[64], what[200];
    clrnn_dataset *d;
    clrnn_error err;
    clrnn_data_config cfg = config_for(ab, 2, just_y, 1, 3);
    cfg.train_fraction = 0.5;
    cfg.val_fraction = 0.2;
    clrnn_status st = dataset_from_text(&d, path, ten_rows, &cfg, &err);
    if (!check_true(st == CLRNN_OK, "split: 10 rows, 0.5/0.2, seq_len 3")) {
        printf("    %s\n", err.message);
        return;
    }
    size_t b[3], e[3], n[3];
    for (int s = 0; s < 3; s++) {
        clrnn_dataset_split_rows(d, (clrnn_split)s, &b[s], &e[s]);
        n[s] = clrnn_dataset_n_windows(d, (clrnn_split)s);
    }
    snprintf(what, sizeof what, "split: rows %zu-%zu %zu-%zu %zu-%zu, windows %zu %zu %zu", b[0],
             e[0], b[1], e[1], b[2], e[2], n[0], n[1], n[2]);
    /* Every validation and test row is predicted: their windows start T - 1
     * rows earlier. */
    check_true(b[0] == 0 && e[0] == 5 && b[1] == 5 && e[1] == 7 && b[2] == 7 && e[2] == 10 &&
                   n[0] == 3 && n[1] == 2 && n[2] == 3,
               what);
    check_true(clrnn_dataset_window_start(d, CLRNN_SPLIT_TRAIN, 2) == 2 &&
                   clrnn_dataset_window_start(d, CLRNN_SPLIT_VAL, 0) == 3 &&
                   clrnn_dataset_window_start(d, CLRNN_SPLIT_TEST, 0) == 5 &&
                   clrnn_dataset_seq_len(d) == 3 && clrnn_dataset_n_features(d) == 2 &&
                   clrnn_dataset_n_targets(d) == 1 && !strcmp(clrnn_dataset_row_label(d, 9), "d9"),
               "split: window starts 2 (train), 3 (val), 5 (test); shapes; label of row 9");
    clrnn_dataset_free(d);

    /* 0.29 * 100 is 28.999999999999996 in doubles: python's int() gives 28. */
    char text[4096] = ",a,y\n";
    for (int r = 0; r < 100; r++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "d%d,%d,%d\n", r, r % 7, r % 5);
    cfg = config_for(just_a, 1, just_y, 1, 7);
    cfg.train_fraction = 0.29;
    cfg.val_fraction = 0.71;
    st = dataset_from_text(&d, path, text, &cfg, &err);
    if (st == CLRNN_OK) {
        clrnn_dataset_split_rows(d, CLRNN_SPLIT_TRAIN, &b[0], &e[0]);
        clrnn_dataset_split_rows(d, CLRNN_SPLIT_TEST, &b[2], &e[2]);
    }
    snprintf(what, sizeof what, "split: int(0.29 * 100) = %zu training rows, test %zu-%zu",
             st == CLRNN_OK ? e[0] : 0, b[2], e[2]);
    /* int(0.71 * 100) = 71: the one row left is the test split's, scored. */
    check_true(st == CLRNN_OK && e[0] == 28 && b[2] == 99 && e[2] == 100 &&
                   clrnn_dataset_n_windows(d, CLRNN_SPLIT_TEST) == 1,
               what);
    clrnn_dataset_free(d);

    cfg.train_fraction = 1.0;
    cfg.val_fraction = 0.0;
    st = dataset_from_text(&d, path, text, &cfg, &err);
    check_true(st == CLRNN_OK && clrnn_dataset_n_windows(d, CLRNN_SPLIT_TRAIN) == 94 &&
                   clrnn_dataset_n_windows(d, CLRNN_SPLIT_VAL) == 0 &&
                   clrnn_dataset_n_windows(d, CLRNN_SPLIT_TEST) == 0,
               "split: train fraction 1 gives 94 windows of 7 in 100 rows, none elsewhere");
    clrnn_dataset_free(d);
}

/* FIT_TRAIN: scaled training rows have mean 0 and std 1; later rows use
 * the training statistics. */
static void test_fit_train(void)
{
    char path[64], what[200];
    static char text[16384];
    snprintf(text, sizeof text, ",a,b,y\n");
    for (int r = 0; r < 200; r++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "d%d,%.6f,%.6f,%.6f\n", r,
                 sin(0.1 * r) + 0.01 * r, 3.0 + 2.0 * cos(0.37 * r), 20.0 + 5.0 * sin(0.05 * r));
    clrnn_dataset *d;
    clrnn_error err;
    clrnn_data_config cfg = config_for(ab, 2, just_y, 1, 4);
    clrnn_status st = dataset_from_text(&d, path, text, &cfg, &err);
    if (!check_true(st == CLRNN_OK, "fit train: 200 rows, default split")) {
        printf("    %s\n", err.message);
        return;
    }
    size_t n_train;
    clrnn_dataset_split_rows(d, CLRNN_SPLIT_TRAIN, NULL, &n_train);
    const double *x = clrnn_dataset_x(d), *y = clrnn_dataset_y(d), *y_raw = clrnn_dataset_y_raw(d);
    double worst = 0.0;
    for (size_t j = 0; j < 3; j++) {
        const double *v = j < 2 ? x + j : y;
        size_t stride = j < 2 ? 2 : 1;
        double sum = 0.0, squares = 0.0;
        for (size_t r = 0; r < n_train; r++)
            sum += v[r * stride];
        for (size_t r = 0; r < n_train; r++)
            squares += (v[r * stride] - sum / n_train) * (v[r * stride] - sum / n_train);
        worst = fmax(worst, fabs(sum / n_train));
        worst = fmax(worst, fabs(sqrt(squares / n_train) - 1.0));
    }
    snprintf(what, sizeof what, "fit train: %zu training rows of a, b, y scaled to mean 0, std 1",
             n_train);
    check(worst < 1e-12, what, worst, 1e-12);
    double far = 0.0;
    for (size_t r = 0; r < 200; r++)
        far = fmax(far, fabs(y[r] - (y_raw[r] - clrnn_dataset_target_mean(d, 0)) /
                                        clrnn_dataset_target_std(d, 0)));
    check(far < 1e-12 && n_train == 140, "fit train: every row scaled with the training statistics",
          far, 1e-12);
    clrnn_dataset_free(d);
}

static void test_defaults(void)
{
    clrnn_data_config c = clrnn_data_config_default();
    check_true(c.features == NULL && c.n_features == 0 && c.targets == NULL && c.n_targets == 0 &&
                   c.seq_len == 7 && c.train_fraction == 0.7 && c.val_fraction == 0.15 &&
                   c.missing == CLRNN_MISSING_FFILL && c.scaler_fit == CLRNN_SCALER_FIT_TRAIN &&
                   c.scale_targets == 1,
               "defaults: seq_len 7, 0.7/0.15, ffill, fit train, scale targets");
    clrnn_table_free(NULL);
    clrnn_dataset_free(NULL);
}

/* The naive forecast "tomorrow's X = today's X" for a target X_tomorrow,
 * against figures computed here from the table's own numbers. */
static void test_naive_baseline(void)
{
    static const char *const features[] = {"z", "x"};
    static const char *const targets[] = {"x_tomorrow", "w"};
    char text[1024], path[64];
    size_t at = (size_t)snprintf(text, sizeof text, "z,x,x_tomorrow,w\n");
    for (int r = 0; r < 10; r++) /* x = r^2, so today's error is (r+1)^2 - r^2 = 2r + 1 */
        at += (size_t)snprintf(text + at, sizeof text - at, "%d,%d,%d,%d\n", r % 3, r * r,
                               (r + 1) * (r + 1), r);
    clrnn_data_config cfg = config_for(features, 2, targets, 2, 1);
    cfg.train_fraction = 0.5;
    cfg.val_fraction = 0.0;
    clrnn_dataset *data = NULL;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = dataset_from_text(&data, path, text, &cfg, &err);
    size_t n = st == CLRNN_OK ? clrnn_dataset_n_windows(data, CLRNN_SPLIT_TEST) : 0;
    double pred[2 * 10], naive_sq = 0.0, naive_abs = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t r = clrnn_dataset_window_start(data, CLRNN_SPLIT_TEST, i);
        pred[2 * i] = (double)((r + 1) * (r + 1)) + 0.5; /* the model is 0.5 off */
        pred[2 * i + 1] = 0.0;
        naive_sq += (double)((2 * r + 1) * (2 * r + 1));
        naive_abs += (double)(2 * r + 1);
    }
    clrnn_baseline b;
    int covered = st == CLRNN_OK && clrnn_naive_baseline(data, CLRNN_SPLIT_TEST, pred, &b);
    check_true(covered && n == 5 && b.n_targets == 1 && strcmp(b.names, "x_tomorrow") == 0,
               "naive baseline: covers x_tomorrow (x is a feature), not w");
    check(covered && fabs(b.naive_rmse - sqrt(naive_sq / 5.0)) < 1e-12 &&
              fabs(b.naive_mae - naive_abs / 5.0) < 1e-12,
          "naive baseline: RMSE and MAE of today's x against tomorrow's",
          covered ? b.naive_rmse : NAN, 1e-12);
    check(covered && fabs(b.model_rmse - 0.5) < 1e-12 && fabs(b.model_mae - 0.5) < 1e-12,
          "naive baseline: the model's figures on the same cells", covered ? b.model_rmse : NAN,
          1e-12);
    clrnn_dataset_free(data);
    static const char *const no_x[] = {"z"};
    cfg = config_for(no_x, 1, targets, 1, 1);
    st = dataset_from_text(&data, path, text, &cfg, &err);
    check_true(st == CLRNN_OK && !clrnn_naive_baseline(data, CLRNN_SPLIT_TEST, pred, &b) &&
                   b.n_targets == 0,
               "naive baseline: none without today's column among the features");
    clrnn_dataset_free(data);
}

int main(void)
{
    test_defaults();
    test_weather();
    test_crlf_bom_blank();
    test_quoted();
    test_cells();
    test_read_errors();
    test_dataset_errors();
    test_missing_small();
    test_split_windows();
    test_fit_train();
    test_hostile_input();
    test_naive_baseline();
    return check_summary();
}
