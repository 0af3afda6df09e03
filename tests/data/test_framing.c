/*
 * The forecast framing (issue 12): outputs as target columns at horizons,
 * masked (missing) targets, the split each window belongs to, differencing,
 * dates and date features, the refusals, the range warning; and, on the CPU
 * reference, that predictions come back as levels and that metrics skip
 * masked cells. Every expected figure is computed here from the table's
 * own numbers.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkstemp, unlink */
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clrnn.h"
#include "table_util.h"

/* ------------------------------------------------------------- helpers */

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

static int same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* A refusal: status CLRNN_E_INPUT, one line holding rest. */
static void check_refused(const char *what, const char *text, const clrnn_data_config *cfg,
                          const char *rest)
{
    clrnn_dataset *d;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = dataset_from_text(&d, text, cfg, &err);
    char line[800];
    int ok = st == CLRNN_E_INPUT && strstr(err.message, rest) && !strchr(err.message, '\n');
    snprintf(line, sizeof line, "%s -> %s", what, st == CLRNN_OK ? "(no error)" : err.message);
    check_true(ok, line);
    if (!ok)
        printf("    expected '%s'\n", rest);
    clrnn_dataset_free(d);
}

/* "date,a,y" with n rows: a = r % 5, y = r * r, except y empty at the rows
 * of `holes` (a -1-terminated list); dates from 2021-01-01, a day apart. */
static void make_table(char *text, size_t size, int n, const int *holes)
{
    size_t at = (size_t)snprintf(text, size, "date,a,y\n");
    for (int r = 0; r < n; r++) {
        int hole = 0;
        for (const int *h = holes; h && *h >= 0; h++)
            hole |= *h == r;
        int day = r % 28 + 1, month = r / 28 + 1;
        if (hole)
            at += (size_t)snprintf(text + at, size - at, "2021-%02d-%02d,%d,\n", month, day, r % 5);
        else
            at += (size_t)snprintf(text + at, size - at, "2021-%02d-%02d,%d,%d\n", month, day,
                                   r % 5, r * r);
    }
}

static const char *const just_a[] = {"a"};
static const char *const just_y[] = {"y"};

/* ------------------------------------------------------------ horizons */

static void test_horizons(void)
{
    static char text[8192];
    static const int holes[] = {12, -1};
    make_table(text, sizeof text, 40, holes);
    static const size_t horizons[] = {0, 3};
    clrnn_data_config cfg = config_for(just_a, 1, just_y, 1, 4);
    cfg.horizons = horizons;
    cfg.n_horizons = 2;
    cfg.scale_targets = 0;
    clrnn_dataset *d;
    clrnn_error err;
    if (!check_true(dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK, "horizons {0, 3}")) {
        printf("    %s\n", err.message);
        return;
    }
    size_t R = clrnn_dataset_n_rows(d);
    check_true(clrnn_dataset_n_targets(d) == 2 && clrnn_dataset_n_target_columns(d) == 1 &&
                   clrnn_dataset_target_horizon(d, 0) == 0 &&
                   clrnn_dataset_target_horizon(d, 1) == 3 &&
                   !strcmp(clrnn_dataset_target_label(d, 0), "y") &&
                   !strcmp(clrnn_dataset_target_label(d, 1), "y+3") &&
                   !strcmp(clrnn_dataset_target_name(d, 1), "y") &&
                   clrnn_dataset_target_label(d, 2) == NULL,
               "horizons: 2 outputs, y and y+3, of one target column");
    /* Row r, output k holds y at row r + h_k: NaN at the hole and past the end. */
    const double *y = clrnn_dataset_y(d), *y_raw = clrnn_dataset_y_raw(d);
    int ok = 1;
    for (size_t r = 0; r < R; r++)
        for (size_t k = 0; k < 2; k++) {
            size_t p = r + 3 * k;
            double want = p >= R || p == 12 ? NAN : (double)(p * p);
            ok = ok && same(y_raw[r * 2 + k], want) && same(y[r * 2 + k], want);
            ok = ok && same(clrnn_dataset_target_column(d, k)[r], r == 12 ? NAN : (double)(r * r));
        }
    check_true(ok, "horizons: y(r, k) = y[r + h_k], NaN where empty or past the table");
    check_true(clrnn_dataset_targets_missing(d) == 1 && clrnn_dataset_cells_filled(d) == 0,
               "horizons: the empty target cell is counted missing, not filled");
    /* The windows: the split of the farthest horizon's row; the model
     * reads row s + t at step t, whose staged targets are already shifted. */
    size_t n_train = clrnn_dataset_n_windows(d, CLRNN_SPLIT_TRAIN), b, e;
    clrnn_dataset_split_rows(d, CLRNN_SPLIT_TRAIN, &b, &e);
    check_true(n_train == e - (4 - 1 + 3) &&
                   clrnn_dataset_window_row(d, CLRNN_SPLIT_TRAIN, n_train - 1, 1) == e - 1 &&
                   clrnn_dataset_window_row(d, CLRNN_SPLIT_TRAIN, 0, 0) == 3,
               "horizons: training windows end where their farthest row leaves the split");
    clrnn_dataset_free(d);
}

/* --------------------------------------------------------------- splits */

/* Each split's windows predict (at the farthest horizon) exactly its rows,
 * for every seq_len: which rows are scored does not depend on T. */
static void test_split_by_predicted_row(void)
{
    static char text[8192];
    make_table(text, sizeof text, 60, NULL);
    static const size_t horizons[] = {1, 4};
    int ok = 1;
    size_t scored[3][3];
    for (size_t ti = 0; ti < 3; ti++) {
        static const size_t Ts[] = {1, 5, 17};
        clrnn_data_config cfg = config_for(just_a, 1, just_y, 1, Ts[ti]);
        cfg.horizons = horizons;
        cfg.n_horizons = 2;
        clrnn_dataset *d;
        clrnn_error err;
        if (dataset_from_text(&d, text, &cfg, &err) != CLRNN_OK) {
            printf("    %s\n", err.message);
            ok = 0;
            continue;
        }
        for (int s = 0; s < CLRNN_N_SPLITS; s++) {
            size_t b, e, n = clrnn_dataset_n_windows(d, (clrnn_split)s);
            clrnn_dataset_split_rows(d, (clrnn_split)s, &b, &e);
            size_t first = s == 0 ? Ts[ti] - 1 + 4 : b; /* training: the first full window */
            ok = ok && n == e - first;
            for (size_t i = 0; i < n; i++) {
                size_t far = clrnn_dataset_window_row(d, (clrnn_split)s, i, 1);
                size_t near = clrnn_dataset_window_row(d, (clrnn_split)s, i, 0);
                ok = ok && far == first + i && near + 3 == far && far < e;
            }
            scored[ti][s] = s ? n : 0;
        }
        clrnn_dataset_free(d);
    }
    check_true(ok, "split: each window is its farthest row's split's; T 1, 5, 17");
    check_true(scored[0][1] == scored[1][1] && scored[1][1] == scored[2][1] &&
                   scored[0][2] == scored[2][2] && scored[0][1] == 9 && scored[0][2] == 9,
               "split: validation and test score all their 9 rows whatever T is");
}

static void test_split_errors(void)
{
    static char text[8192];
    make_table(text, sizeof text, 10, NULL);
    clrnn_data_config cfg = config_for(just_a, 1, just_y, 1, 2);
    cfg.val_fraction = 0.05; /* int(0.5) = 0 rows */
    check_refused("a validation fraction that gives no row", text, &cfg,
                  ": the validation split has no row (`val_fraction` 0.05 of 10 rows)");
    cfg = config_for(just_a, 1, just_y, 1, 5);
    static const size_t far[] = {3};
    cfg.horizons = far;
    cfg.n_horizons = 1;
    check_refused("a training split shorter than a window and its horizon", text, &cfg,
                  ": the training split has 7 rows, fewer than one window of seq_len 5 and "
                  "`horizons` up to 3 (8 rows)");
    static const size_t twice[] = {2, 2};
    cfg.horizons = twice;
    cfg.n_horizons = 2;
    check_refused("a horizon listed twice", text, &cfg, "`horizons` lists 2 twice");
    cfg = config_for(just_y, 1, just_y, 1, 2);
    check_refused("a target that is its own input at horizon 0", text, &cfg,
                  "target 'y' is also a feature at horizon 0: the model would copy its input");
    cfg = config_for(just_a, 1, just_y, 1, 2);
    cfg.date_features = 16;
    check_refused("unknown date features", text, &cfg, "unknown `date_features` bits 0x10");
}

/* ---------------------------------------------------------------- dates */

static void test_dates(void)
{
    clrnn_data_config cfg = config_for(just_a, 1, just_y, 1, 1);
    cfg.train_fraction = 0.5;
    cfg.val_fraction = 0.0;
    const char *text = "Timestamp,a,y\n"
                       "2020-01-01,1,2\n"
                       "2020-01-01T12:30,2,3\n"
                       "2020-01-02 06:00:15,3,4\n"
                       "2020-03,4,5\n";
    clrnn_dataset *d;
    clrnn_error err;
    clrnn_status st = dataset_from_text(&d, text, &cfg, &err);
    check_true(st == CLRNN_OK && clrnn_dataset_row_time(d, 0) == 1577836800.0 &&
                   clrnn_dataset_row_time(d, 1) == 1577836800.0 + 12 * 3600 + 30 * 60 &&
                   clrnn_dataset_row_time(d, 2) == 1577836800.0 + 86400 + 6 * 3600 + 15 &&
                   clrnn_dataset_row_time(d, 3) == 1583020800.0 &&
                   !strcmp(clrnn_dataset_row_label(d, 3), "2020-03"),
               "dates: a 'Timestamp' column is the labels; ISO dates and times parsed");
    clrnn_dataset_free(d);
    st = dataset_from_text(&d, ",a,y\nd0,1,2\nd1,2,3\n", &cfg, &err);
    check_true(st == CLRNN_OK && isnan(clrnn_dataset_row_time(d, 0)) &&
                   !strcmp(clrnn_dataset_row_label(d, 1), "d1"),
               "dates: labels that are not dates are labels without times");
    clrnn_dataset_free(d);
    check_refused("dates: newest first", "date,a,y\n2020-01-03,1,2\n2020-01-02,2,3\n", &cfg,
                  ":3: '2020-01-02' does not come after '2020-01-03' on the row before: rows "
                  "must be in increasing date order");
    check_refused("dates: a date twice",
                  "date,a,y\n2020-01-02,1,2\n2020-01-03,2,3\n"
                  "2020-01-03,2,3\n2020-01-04,2,3\n",
                  &cfg, ":4: '2020-01-03' does not come after '2020-01-03'");
    /* date_column: a first column named otherwise, and a column not first. */
    cfg.date_column = "day";
    st = dataset_from_text(&d, "day,a,y\n2020-01-01,1,2\n2020-01-02,2,3\n", &cfg, &err);
    check_true(st == CLRNN_OK && clrnn_dataset_row_time(d, 1) == 1577836800.0 + 86400,
               "dates: `date_column` names the first column");
    clrnn_dataset_free(d);
    check_refused("dates: `date_column` not first", "a,day,y\n1,2020-01-01,2\n2,2020-01-02,3\n",
                  &cfg, ": `date_column` 'day' is not the first column (the first is 'a')");
    cfg.date_column = NULL;
    cfg.date_features = CLRNN_DATE_DOY;
    check_refused("dates: date features without dates", ",a,y\nd0,1,2\nd1,2,3\n", &cfg,
                  ":2: `date_features` needs ISO dates");
}

/* The date features against the calendar: 2021-01-01 was a Friday (4 days
 * after Monday), 2021-07-02 is day 182 of 365, 06:00 a quarter of a day. */
static void test_date_features(void)
{
    const double two_pi = 6.283185307179586476925;
    const char *text = "date,a,y\n"
                       "2021-01-01 06:00,1,2\n"
                       "2021-07-02,2,3\n"
                       "2021-07-03,3,5\n"
                       "2021-07-04,4,4\n";
    clrnn_data_config cfg = config_for(just_a, 1, just_y, 1, 1);
    cfg.train_fraction = 0.5;
    cfg.val_fraction = 0.0;
    cfg.date_features = CLRNN_DATE_DOY | CLRNN_DATE_DOW | CLRNN_DATE_MONTH | CLRNN_DATE_HOUR;
    clrnn_dataset *d;
    clrnn_error err;
    if (!check_true(dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK, "date features")) {
        printf("    %s\n", err.message);
        return;
    }
    static const char *const names[] = {"a",         "doy_sin",   "doy_cos",  "dow_sin", "dow_cos",
                                        "month_sin", "month_cos", "hour_sin", "hour_cos"};
    int names_ok = clrnn_dataset_n_features(d) == 9;
    for (size_t f = 0; names_ok && f < 9; f++)
        names_ok = !strcmp(clrnn_dataset_feature_name(d, f), names[f]);
    check_true(names_ok, "date features: a, then doy, dow, month, hour sin and cos");
    /* Cycles of each row: day of year, weekday, month, hour. */
    double cycles[2][4] = {{0.25 / 365.0, 4.25 / 7.0, (0.25 / 31.0) / 12.0, 0.25},
                           {182.0 / 365.0, 4.0 / 7.0, (6.0 + 1.0 / 31.0) / 12.0, 0.0}};
    const double *x = clrnn_dataset_x(d);
    double worst = 0.0;
    for (size_t r = 0; r < 2; r++)
        for (size_t c = 0; c < 4; c++)
            for (size_t j = 0; j < 2; j++) {
                size_t f = 1 + 2 * c + j;
                double raw = x[r * 9 + f] * clrnn_dataset_feature_std(d, f) +
                             clrnn_dataset_feature_mean(d, f);
                double want = j ? cos(two_pi * cycles[r][c]) : sin(two_pi * cycles[r][c]);
                worst = fmax(worst, fabs(raw - want));
            }
    check(worst < 1e-12, "date features: sin and cos of each cycle, standardised", worst, 1e-12);
    clrnn_dataset_free(d);
}

/* ----------------------------------------------------------- difference */

static void test_difference(void)
{
    static char text[8192];
    static const int holes[] = {20, -1};
    make_table(text, sizeof text, 40, holes);
    static const size_t horizons[] = {0, 2};
    clrnn_data_config cfg = config_for(just_a, 1, just_y, 1, 3);
    cfg.horizons = horizons;
    cfg.n_horizons = 2;
    cfg.difference = 1;
    clrnn_dataset *d;
    clrnn_error err;
    if (!check_true(dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK, "difference")) {
        printf("    %s\n", err.message);
        return;
    }
    /* base of row r: y at r - 1 (horizon 0) or at r (horizon 2), the last
     * present value when that cell is the hole (row 20). */
    size_t R = clrnn_dataset_n_rows(d);
    const double *y = clrnn_dataset_y(d), *raw = clrnn_dataset_y_raw(d);
    const double *base = clrnn_dataset_y_base(d);
    int ok = clrnn_dataset_differenced(d);
    for (size_t r = 0; r < R; r++)
        for (size_t k = 0; k < 2; k++) {
            long q = k ? (long)r : (long)r - 1;
            if (q == 20)
                q = 19;
            double want_base = q < 0 ? NAN : (double)(q * q);
            double change = raw[r * 2 + k] - want_base;
            double scaled =
                (change - clrnn_dataset_target_mean(d, k)) / clrnn_dataset_target_std(d, k);
            ok = ok && same(base[r * 2 + k], want_base) && same(y[r * 2 + k], scaled);
        }
    check_true(ok, "difference: y is the change from the last known value, scaled");
    /* Statistics of each output's changes over the rows it predicts in training. */
    size_t b, e;
    clrnn_dataset_split_rows(d, CLRNN_SPLIT_TRAIN, &b, &e);
    double sum = 0.0;
    size_t n = 0;
    for (size_t r = 0; r + 2 < e; r++)
        if (!isnan(raw[r * 2 + 1] - base[r * 2 + 1])) {
            sum += raw[r * 2 + 1] - base[r * 2 + 1];
            n++;
        }
    check(fabs(clrnn_dataset_target_mean(d, 1) - sum / (double)n) < 1e-12,
          "difference: the scaler of y+2 is fitted on its training changes",
          fabs(clrnn_dataset_target_mean(d, 1) - sum / (double)n), 1e-12);

    /* A model whose output is 0 predicts the scaled change 0: its level
     * is base + the mean change; the metrics are of levels, masked cells
     * (the hole, the empty base of row 0) left out. */
    size_t K = 2, T = 3;
    clrnn_layer_shape shape = {1, 2, 2};
    clrnn_model *model = NULL;
    clrnn_backend *cpu = NULL;
    clrnn_backend_config bc = {.device = "cpu", .seq_len = T, .max_batch = 64};
    size_t n_test = clrnn_dataset_n_windows(d, CLRNN_SPLIT_TEST);
    double *pred = malloc((n_test ? n_test : 1) * K * sizeof *pred);
    clrnn_metrics m;
    clrnn_output_metrics each[2];
    clrnn_status st = clrnn_model_create(&model, &shape, 1, &err);
    if (st == CLRNN_OK)
        st = clrnn_backend_create(&cpu, model, &bc, &err);
    if (st == CLRNN_OK)
        st = clrnn_backend_stage_dataset(cpu, d, &err);
    if (st == CLRNN_OK && pred)
        st = clrnn_predict(cpu, d, CLRNN_SPLIT_TEST, 64, pred, &err);
    if (st == CLRNN_OK)
        st = clrnn_evaluate_outputs(cpu, d, CLRNN_SPLIT_TEST, 64, &m, each, &err);
    double worst = st == CLRNN_OK && pred ? 0.0 : INFINITY, sq[2] = {0, 0};
    size_t cells[2] = {0, 0};
    for (size_t i = 0; st == CLRNN_OK && pred && i < n_test; i++) {
        size_t row = clrnn_dataset_window_start(d, CLRNN_SPLIT_TEST, i) + T - 1;
        for (size_t k = 0; k < K; k++) {
            double level = base[row * K + k] + clrnn_dataset_target_mean(d, k);
            worst = fmax(worst, fabs(pred[i * K + k] - level));
            if (!isnan(raw[row * K + k])) {
                sq[k] += (level - raw[row * K + k]) * (level - raw[row * K + k]);
                cells[k]++;
            }
        }
    }
    check(worst < 1e-9, "difference: predictions are levels, base + change", worst, 1e-9);
    check_true(st == CLRNN_OK && each[0].n_scored == cells[0] && each[1].n_scored == cells[1] &&
                   m.n_scored == cells[0] + cells[1] &&
                   fabs(each[1].rmse - sqrt(sq[1] / (double)cells[1])) < 1e-9 &&
                   fabs(m.rmse - sqrt((sq[0] + sq[1]) / (double)(cells[0] + cells[1]))) < 1e-9,
               "difference: metrics per output and pooled, on levels");
    free(pred);
    clrnn_backend_free(cpu);
    clrnn_model_free(model);
    clrnn_dataset_free(d);
}

/* -------------------------------------------------------------- masking */

/* Metrics skip masked cells: a hole in the test split is not scored, and
 * the CPU reference's window loss is the mean over observed cells. */
static void test_masked_metrics(void)
{
    static char text[8192];
    static const int holes[] = {35, 36, 37, -1};
    make_table(text, sizeof text, 40, holes);
    clrnn_data_config cfg = config_for(just_a, 1, just_y, 1, 2);
    cfg.train_fraction = 0.6;
    cfg.val_fraction = 0.2;
    clrnn_dataset *d;
    clrnn_error err;
    clrnn_status st = dataset_from_text(&d, text, &cfg, &err);
    clrnn_layer_shape shape = {1, 3, 1};
    clrnn_model *model = NULL;
    clrnn_backend *cpu = NULL;
    clrnn_backend_config bc = {.device = "cpu", .seq_len = 2, .max_batch = 16};
    clrnn_metrics m = {0};
    if (st == CLRNN_OK)
        st = clrnn_model_create(&model, &shape, 1, &err);
    if (st == CLRNN_OK) {
        clrnn_rng rng;
        clrnn_rng_seed(&rng, 3);
        clrnn_model_init_uniform(model, &rng);
        st = clrnn_backend_create(&cpu, model, &bc, &err);
    }
    if (st == CLRNN_OK)
        st = clrnn_backend_stage_dataset(cpu, d, &err);
    if (st == CLRNN_OK)
        st = clrnn_evaluate(cpu, d, CLRNN_SPLIT_TEST, 16, &m, &err);
    /* The window over rows 35, 36 has no observed cell: loss 0. */
    uint32_t starts[3] = {35, 34, 33};
    double losses[3] = {NAN, NAN, NAN}, y_out[3 * 2];
    if (st == CLRNN_OK)
        st = clrnn_backend_forward(cpu, starts, 3, &err);
    if (st == CLRNN_OK)
        st = clrnn_backend_get_window_losses(cpu, losses, &err);
    if (st == CLRNN_OK)
        st = clrnn_backend_get_outputs(cpu, 0, y_out, &err);
    const double *y = clrnn_dataset_y(d);
    double diff = y_out[4] - y[33]; /* window 33: step 0 observed, step 1 (row 34) too */
    double diff2 = y_out[5] - y[34];
    double want33 = 0.5 * (0.5 * diff * diff + 0.5 * diff2 * diff2);
    double one = y_out[2] - y[34]; /* window 34: only row 34 observed */
    check_true(st == CLRNN_OK && m.n_windows == 8 && m.n_scored == 5 && isfinite(m.rmse) &&
                   isfinite(m.loss),
               "masking: 8 test windows, the 3 empty cells not scored");
    check_true(st == CLRNN_OK && losses[0] == 0.0 && fabs(losses[1] - 0.5 * one * one) < 1e-14 &&
                   fabs(losses[2] - want33) < 1e-14,
               "masking: a window's loss is the mean over its observed cells, 0 for none");
    clrnn_backend_free(cpu);
    clrnn_model_free(model);
    clrnn_dataset_free(d);
}

/* Windows whose loss cells are all masked are not training windows: the
 * trainer's batches cover the others only (on_batch's total). */
static void count_total(void *context, size_t epoch, size_t done, size_t total)
{
    (void)epoch;
    (void)done;
    *(size_t *)context = total;
}

static void test_unobserved_windows_skipped(void)
{
    static char text[8192];
    static const int holes[] = {5, 6, 7, 8, 9, 10, 11, 12, -1};
    make_table(text, sizeof text, 40, holes);
    clrnn_data_config cfg = config_for(just_a, 1, just_y, 1, 2);
    cfg.train_fraction = 0.6;
    cfg.val_fraction = 0.2;
    size_t totals[2] = {0, 0};
    clrnn_status st = CLRNN_OK;
    clrnn_error err;
    for (int last = 0; last < 2; last++) {
        clrnn_dataset *d = NULL;
        clrnn_model *model = NULL;
        clrnn_backend *cpu = NULL;
        clrnn_layer_shape shape = {1, 2, 1};
        clrnn_backend_config bc = {.device = "cpu",
                                   .seq_len = 2,
                                   .max_batch = 4,
                                   .loss_steps = last ? CLRNN_LOSS_LAST : CLRNN_LOSS_ALL};
        clrnn_train_config tc;
        clrnn_train_report report;
        clrnn_train_config_default(&tc);
        tc.epochs = 1;
        tc.batch = 4;
        tc.on_batch = count_total;
        tc.context = &totals[last];
        if (st == CLRNN_OK)
            st = dataset_from_text(&d, text, &cfg, &err);
        if (st == CLRNN_OK)
            st = clrnn_model_create(&model, &shape, 1, &err);
        if (st == CLRNN_OK)
            st = clrnn_backend_create(&cpu, model, &bc, &err);
        if (st == CLRNN_OK)
            st = clrnn_backend_stage_dataset(cpu, d, &err);
        if (st == CLRNN_OK)
            st = clrnn_train(cpu, d, &tc, &report, &err);
        check_true(st != CLRNN_OK || clrnn_dataset_n_windows(d, CLRNN_SPLIT_TRAIN) == 23,
                   "unobserved: 23 training windows in 24 rows");
        clrnn_backend_free(cpu);
        clrnn_model_free(model);
        clrnn_dataset_free(d);
    }
    char what[160];
    snprintf(what, sizeof what, "unobserved: %zu (loss on all steps) and %zu (last) windows train",
             totals[0], totals[1]);
    /* Rows 5-12 empty: 7 windows of 2 have no observed cell, 8 no last one. */
    check_true(st == CLRNN_OK && totals[0] == 16 && totals[1] == 15, what);
}

/* -------------------------------------------------------- range warning */

static void test_range_warning(void)
{
    char text[8192], line[512];
    size_t at = (size_t)snprintf(text, sizeof text, ",a,y\n");
    for (int r = 0; r < 50; r++) /* a trend in y: the test rows lie far above */
        at += (size_t)snprintf(text + at, sizeof text - at, "d%d,%d,%d\n", r, r % 5, 10 * r);
    clrnn_data_config cfg = config_for(just_a, 1, just_y, 1, 2);
    clrnn_dataset *d;
    clrnn_error err;
    clrnn_status st = dataset_from_text(&d, text, &cfg, &err);
    size_t n = st == CLRNN_OK ? clrnn_dataset_range_warning(d, line, sizeof line) : 0;
    check_true(n == 1 && strstr(line, "target y 420 .. 490 (trained on 0 .. 340)") &&
                   strstr(line, "try `difference`") && !strstr(line, "input a"),
               "range: a trending target is named, an input in range is not");
    clrnn_dataset_free(d);
    at = (size_t)snprintf(text, sizeof text, ",a,y\n");
    for (int r = 0; r < 50; r++) /* 10 % of the range past it: not yet */
        at += (size_t)snprintf(text + at, sizeof text - at, "d%d,%d,%d\n", r, r % 5,
                               r < 35    ? r % 11
                               : r == 45 ? 11
                                         : 3);
    st = dataset_from_text(&d, text, &cfg, &err);
    check_true(st == CLRNN_OK && clrnn_dataset_range_warning(d, NULL, 0) == 0,
               "range: within 10% of the training range, no warning");
    clrnn_dataset_free(d);
}

int main(void)
{
    test_horizons();
    test_split_by_predicted_row();
    test_split_errors();
    test_dates();
    test_date_features();
    test_difference();
    test_masked_metrics();
    test_unobserved_windows_skipped();
    test_range_warning();
    return check_summary();
}
