/*
 * Many series in one table (issue 16, item 1): windows never cross a series
 * boundary, the split within each series and by whole series, per-series
 * scaling, the refusals, ffill and horizons that stop at a series' end, and
 * the per-series metrics. Every expected figure is computed here from the
 * table's own numbers.
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

/* Four series of different lengths, ids of text, a number and a quoted
 * text with a comma; each starts on 2021-01-01 (dates go back at each
 * boundary, as they do in long format). */
#define N_SERIES 4
static const size_t lengths[N_SERIES] = {10, 7, 3, 12};
static const char *const ids[N_SERIES] = {"north", "17", "a,b", "z"};
#define N_ROWS 32

static double a_of(size_t s, size_t i)
{
    return (double)((i * 3 + s * 7) % 11) + 10.0 * (double)s;
}

static double y_of(size_t s, size_t i)
{
    return (double)(i * (s + 1)) + 0.5 * (double)s * (double)(i % 3);
}

static void make_table(char *text, size_t size)
{
    size_t at = (size_t)snprintf(text, size, "date,id,a,y\n");
    for (size_t s = 0; s < N_SERIES; s++)
        for (size_t i = 0; i < lengths[s]; i++)
            at += (size_t)snprintf(text + at, size - at, "2021-01-%02zu,%s%s%s,%g,%g\n", i + 1,
                                   strchr(ids[s], ',') ? "\"" : "", ids[s],
                                   strchr(ids[s], ',') ? "\"" : "", a_of(s, i), y_of(s, i));
}

static const char *const feature_a[] = {"a"}, *const target_y[] = {"y"};
static const size_t horizon_1[] = {1};

static clrnn_data_config series_config(size_t seq_len)
{
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.features = feature_a;
    cfg.n_features = 1;
    cfg.targets = target_y;
    cfg.n_targets = 1;
    cfg.seq_len = seq_len;
    cfg.horizons = horizon_1;
    cfg.n_horizons = 1;
    cfg.series_column = "id";
    return cfg;
}

/* Series s's first row in the table. */
static size_t first_row(size_t s)
{
    size_t r = 0;
    for (size_t i = 0; i < s; i++)
        r += lengths[i];
    return r;
}

/* The split of local row i of series s, split within each series. */
static int split_within(size_t s, size_t i, double train, double val)
{
    size_t nt = (size_t)(train * (double)lengths[s]), nv = (size_t)(val * (double)lengths[s]);
    return i < nt ? CLRNN_SPLIT_TRAIN : i < nt + nv ? CLRNN_SPLIT_VAL : CLRNN_SPLIT_TEST;
}

/* ------------------------------------------------------------- windows */

static void test_series_read(void)
{
    char text[4096];
    make_table(text, sizeof text);
    clrnn_data_config cfg = series_config(3);
    clrnn_dataset *d;
    clrnn_error err;
    if (!check_true(dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK,
                    "series: a table of 4 series reads")) {
        printf("    %s\n", err.message);
        return;
    }
    int ok = clrnn_dataset_n_series(d) == N_SERIES && !strcmp(clrnn_dataset_series_column(d), "id");
    for (size_t s = 0; s < N_SERIES; s++) {
        size_t b, e;
        clrnn_dataset_series_rows(d, s, &b, &e);
        ok = ok && b == first_row(s) && e == b + lengths[s] &&
             !strcmp(clrnn_dataset_series_id(d, s), ids[s]);
        for (size_t r = b; r < e; r++)
            ok = ok && clrnn_dataset_row_series(d, r) == s;
    }
    check_true(ok, "series: 4 series (text, number, quoted 'a,b'), their rows and ids");
    clrnn_dataset_free(d);
}

/* Every window of every split: its rows and predicted row in one series,
 * in the split of its predicted row's place in its series; and every start
 * that fits in a series is there, once. */
static void check_windows(const char *what, clrnn_dataset *d, size_t T, double train, double val,
                          int by_series)
{
    size_t lead = T - 1 + 1, n_all = 0, expected = 0, bad = 0;
    unsigned char seen[N_ROWS] = {0};
    for (int sp = 0; sp < CLRNN_N_SPLITS; sp++) {
        size_t n = clrnn_dataset_n_windows(d, (clrnn_split)sp), last = 0;
        for (size_t w = 0; w < n; w++) {
            size_t start = clrnn_dataset_window_start(d, (clrnn_split)sp, w), p = start + lead;
            size_t s = clrnn_dataset_row_series(d, start), i = p - first_row(s);
            for (size_t r = start; r <= p; r++)
                bad += r >= N_ROWS || clrnn_dataset_row_series(d, r) != s;
            bad += clrnn_dataset_window_row(d, (clrnn_split)sp, w, 0) != p;
            int want = by_series ? (s < 2    ? CLRNN_SPLIT_TRAIN
                                    : s == 2 ? CLRNN_SPLIT_VAL
                                             : CLRNN_SPLIT_TEST)
                                 : split_within(s, i, train, val);
            bad += want != sp || (w && start <= last) || seen[start]++;
            last = start;
        }
        n_all += n;
    }
    for (size_t s = 0; s < N_SERIES; s++)
        expected += lengths[s] > lead ? lengths[s] - lead : 0;
    char line[200];
    snprintf(line, sizeof line, "%s: %zu windows (%zu fit), none crosses a series", what, n_all,
             expected);
    check(bad == 0 && n_all == expected, line, (double)bad, 0);
}

static void test_windows(void)
{
    char text[4096];
    make_table(text, sizeof text);
    size_t Ts[3] = {1, 2, 3};
    for (int j = 0; j < 3; j++) {
        clrnn_data_config cfg = series_config(Ts[j]);
        clrnn_dataset *d;
        clrnn_error err;
        char what[96];
        snprintf(what, sizeof what, "windows T %zu, split within each series", Ts[j]);
        if (!check_true(dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK, what)) {
            printf("    %s\n", err.message);
            continue;
        }
        check_windows(what, d, Ts[j], cfg.train_fraction, cfg.val_fraction, 0);
        clrnn_dataset_free(d);
        cfg.split_by_series = 1;
        cfg.train_fraction = 0.5; /* series 0, 1 train; 2 validates; 3 tests */
        cfg.val_fraction = 0.25;
        snprintf(what, sizeof what, "windows T %zu, split by series", Ts[j]);
        if (Ts[j] == 3) { /* the validation series, 3 rows, is shorter than one window */
            check_refused(what, text, &cfg, "no series has a validation window of seq_len 3");
            continue;
        }
        if (!check_true(dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK, what)) {
            printf("    %s\n", err.message);
            continue;
        }
        check_windows(what, d, Ts[j], 0, 0, 1);
        clrnn_dataset_free(d);
    }
}

/* The target at horizon 1 of a series' last row is past its series: masked,
 * not the next series' first value; the last known value restarts. */
static void test_boundaries(void)
{
    char text[4096];
    make_table(text, sizeof text);
    clrnn_data_config cfg = series_config(2);
    clrnn_dataset *d;
    clrnn_error err;
    if (!check_true(dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK, "boundaries: reads"))
        return;
    const double *y_raw = clrnn_dataset_y_raw(d), *base = clrnn_dataset_y_base(d);
    int ok = 1;
    for (size_t s = 0; s < N_SERIES; s++) {
        size_t b = first_row(s), e = b + lengths[s];
        ok = ok && isnan(y_raw[e - 1]) && y_raw[e - 2] == y_of(s, lengths[s] - 1) &&
             base[b] == y_of(s, 0);
    }
    check_true(ok, "boundaries: y+1 of a series' last row is masked; its base is its own");
    clrnn_dataset_free(d);
    /* ffill does not carry a value into the next series */
    const char *hole = "date,id,a,y\n2021-01-01,p,1,1\n2021-01-02,p,2,2\n2021-01-01,q,,3\n"
                       "2021-01-02,q,4,4\n";
    check_refused("ffill: an empty cell on a series' first row", hole, &cfg,
                  ":4:3: column 'a' is empty in the first row of its series");
}

/* ------------------------------------------------------------- scaling */

/* Mean and population std of a_of / y_of over the rows of series s with
 * local index < n (the same two passes as the scaler). */
static void hand_stats(double (*of)(size_t, size_t), size_t s, size_t n, double *mean, double *std)
{
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++)
        sum += of(s, i);
    *mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        sq += (of(s, i) - *mean) * (of(s, i) - *mean);
    *std = sqrt(sq / (double)n);
    if (*std == 0)
        *std = 1;
}

static void test_scaling(void)
{
    char text[4096];
    make_table(text, sizeof text);
    clrnn_data_config cfg = series_config(2);
    cfg.scale_per_series = 1;
    clrnn_dataset *d;
    clrnn_error err;
    if (!check_true(dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK, "per-series: reads")) {
        printf("    %s\n", err.message);
        return;
    }
    const double *x = clrnn_dataset_x(d), *y = clrnn_dataset_y(d), *y_raw = clrnn_dataset_y_raw(d);
    double worst = 0;
    for (size_t s = 0; s < N_SERIES; s++) {
        size_t nt = (size_t)(cfg.train_fraction * (double)lengths[s]);
        double am, as, ym, ys;
        hand_stats(a_of, s, nt, &am, &as);
        hand_stats(y_of, s, nt, &ym, &ys);
        for (size_t i = 0; i < lengths[s]; i++) {
            size_t r = first_row(s) + i;
            double e1 = fabs(x[r] - (a_of(s, i) - am) / as);
            double e2 = isnan(y_raw[r]) ? 0 : fabs(y[r] - (y_raw[r] - ym) / ys);
            double e3 = fabs(clrnn_dataset_row_target_mean(d, r, 0) - ym) +
                        fabs(clrnn_dataset_row_feature_std(d, r, 0) - as);
            worst = fmax(worst, fmax(e1, fmax(e2, e3)));
        }
    }
    check(worst < 1e-12, "per-series: x, y scaled by each series' own training rows", worst, 1e-12);
    clrnn_dataset_free(d);
    /* scale_fraction: the same statistics with every row in one split (predict) */
    clrnn_data_config all = cfg;
    all.scale_fraction = cfg.train_fraction;
    all.train_fraction = 1.0;
    all.val_fraction = 0.0;
    clrnn_dataset *d1 = NULL, *d2 = NULL;
    int ok = dataset_from_text(&d1, text, &cfg, &err) == CLRNN_OK &&
             dataset_from_text(&d2, text, &all, &err) == CLRNN_OK;
    for (size_t r = 0; ok && r < N_ROWS; r++)
        ok = clrnn_dataset_row_feature_mean(d1, r, 0) == clrnn_dataset_row_feature_mean(d2, r, 0) &&
             clrnn_dataset_row_target_std(d1, r, 0) == clrnn_dataset_row_target_std(d2, r, 0) &&
             clrnn_dataset_x(d1)[r] == clrnn_dataset_x(d2)[r];
    check_true(ok && clrnn_dataset_n_windows(d2, CLRNN_SPLIT_TEST) == 0,
               "per-series: scale_fraction fits the same statistics with one split (bitwise)");
    clrnn_dataset_free(d1);
    clrnn_dataset_free(d2);
    /* global: one scaler over every series' training rows */
    cfg.scale_per_series = 0;
    if (dataset_from_text(&d, text, &cfg, &err) != CLRNN_OK)
        return;
    double sum = 0;
    size_t n = 0;
    for (size_t s = 0; s < N_SERIES; s++)
        for (size_t i = 0; i < (size_t)(cfg.train_fraction * (double)lengths[s]); i++, n++)
            sum += a_of(s, i);
    double e = fabs(clrnn_dataset_feature_mean(d, 0) - sum / (double)n);
    for (size_t r = 0; r < N_ROWS; r++)
        e += fabs(clrnn_dataset_row_feature_mean(d, r, 0) - clrnn_dataset_feature_mean(d, 0));
    check(e < 1e-12, "global: one mean over the training rows of every series", e, 1e-12);
    clrnn_dataset_free(d);
}

/* ------------------------------------------------------------ refusals */

static void test_refusals(void)
{
    char text[4096];
    make_table(text, sizeof text);
    clrnn_data_config cfg = series_config(2);
    cfg.series_column = "station";
    check_refused("an unknown series column", text, &cfg, "no column named 'station'");
    cfg.series_column = "a";
    check_refused("the series column is a feature", text, &cfg, "is also a feature column");
    cfg = series_config(2);
    const char *again = "date,id,a,y\n2021-01-01,p,1,1\n2021-01-02,p,2,2\n2021-01-01,q,3,3\n"
                        "2021-01-03,p,4,4\n";
    check_refused("an id that reappears", again, &cfg,
                  ":5: series 'p' appears again after series 'q' (it started on line 2)");
    char unsorted[1024] = "date,id,a,y\n";
    for (int i = 0; i < 16; i++) /* q's rows 12 and 13 swapped */
        snprintf(unsorted + strlen(unsorted), sizeof unsorted - strlen(unsorted),
                 "2021-01-%02d,%c,%d,%d\n",
                 i == 12   ? 6
                 : i == 13 ? 5
                           : i % 8 + 1,
                 i < 8 ? 'p' : 'q', i, i);
    check_refused("dates out of order within a series", unsorted, &cfg,
                  ":15: '2021-01-05' does not come after '2021-01-06' on the row before: rows "
                  "must be in increasing date order within each series");
    const char *empty = "date,id,a,y\n2021-01-01,p,1,1\n2021-01-02,,2,2\n";
    check_refused("an empty id", empty, &cfg, ":3:2: column 'id' is empty");
    cfg.series_column = NULL;
    cfg.split_by_series = 1;
    check_refused("split by series without a series column", text, &cfg,
                  "`split_by_series` needs a `series_column`");
    cfg = series_config(2);
    cfg.split_by_series = 1;
    cfg.scale_per_series = 1;
    check_refused("per-series scaling with whole series held out", text, &cfg,
                  "with `split_by_series` a held-out series has none");
    cfg = series_config(20);
    check_refused("no series as long as a window", text, &cfg,
                  "no series has a training window of seq_len 20");
    cfg = series_config(2);
    cfg.split_by_series = 1;
    cfg.train_fraction = 0.2;
    check_refused("too few series to train on", text, &cfg, "4 series: `train_fraction` 0.2");
}

/* ------------------------------------------------------------- metrics */

static void test_metrics(void)
{
    char text[4096];
    make_table(text, sizeof text);
    clrnn_data_config cfg = series_config(2);
    clrnn_dataset *d;
    clrnn_error err;
    if (!check_true(dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK, "metrics: reads"))
        return;
    size_t n = clrnn_dataset_n_windows(d, CLRNN_SPLIT_TEST);
    double *pred = malloc((n ? n : 1) * sizeof *pred);
    clrnn_series_metrics m[N_SERIES], all;
    for (size_t w = 0; w < n; w++)
        pred[w] = 3.0 + 0.5 * (double)w;
    clrnn_metrics_by_series(d, CLRNN_SPLIT_TEST, pred, m, &all);
    /* By hand: the test rows of each series are those its windows predict
     * (T 2, horizon 1: window rows i - 2, i - 1 predict local row i). */
    double worst = 0, sq_all = 0;
    size_t w = 0, cells_all = 0;
    for (size_t s = 0; s < N_SERIES; s++) {
        double sq = 0, ab = 0, nsq = 0, nab = 0;
        size_t cells = 0;
        for (size_t i = 2; i < lengths[s]; i++) {
            if (split_within(s, i, cfg.train_fraction, cfg.val_fraction) != CLRNN_SPLIT_TEST)
                continue;
            double e = pred[w++] - y_of(s, i), naive = y_of(s, i - 1) - y_of(s, i);
            sq += e * e;
            ab += fabs(e);
            nsq += naive * naive;
            nab += fabs(naive);
            cells++;
        }
        sq_all += sq;
        cells_all += cells;
        if (m[s].n_scored != cells || m[s].n_naive != cells) {
            worst = INFINITY;
            continue;
        }
        worst = fmax(worst, fabs(m[s].rmse - sqrt(sq / (double)cells)));
        worst = fmax(worst, fabs(m[s].mae - ab / (double)cells));
        worst = fmax(worst, fabs(m[s].naive_rmse - sqrt(nsq / (double)cells)));
        worst = fmax(worst, fabs(m[s].naive_mae - nab / (double)cells));
    }
    worst = fmax(worst, fabs(all.rmse - sqrt(sq_all / (double)cells_all)));
    char line[160];
    snprintf(line, sizeof line, "metrics: per series and overall, %zu test cells, by hand",
             cells_all);
    check(worst < 1e-12 && w == n && all.n_scored == cells_all, line, worst, 1e-12);
    free(pred);
    clrnn_dataset_free(d);
}

/* One series in a series column is the table without it: same windows. */
static void test_one_series(void)
{
    const char *with = "date,id,a,y\n2021-01-01,p,1,1\n2021-01-02,p,2,4\n2021-01-03,p,3,9\n"
                       "2021-01-04,p,5,16\n2021-01-05,p,8,25\n2021-01-06,p,13,36\n"
                       "2021-01-07,p,21,49\n2021-01-08,p,34,64\n2021-01-09,p,55,81\n"
                       "2021-01-10,p,89,100\n";
    clrnn_data_config cfg = series_config(2);
    cfg.train_fraction = 0.5;
    cfg.val_fraction = 0.2;
    clrnn_data_config plain = cfg;
    plain.series_column = NULL;
    clrnn_dataset *a = NULL, *b = NULL;
    clrnn_error err;
    int ok = dataset_from_text(&a, with, &cfg, &err) == CLRNN_OK &&
             dataset_from_text(&b, with, &plain, &err) == CLRNN_OK;
    for (int sp = 0; ok && sp < CLRNN_N_SPLITS; sp++) {
        size_t n = clrnn_dataset_n_windows(a, (clrnn_split)sp);
        ok = n == clrnn_dataset_n_windows(b, (clrnn_split)sp);
        for (size_t w = 0; ok && w < n; w++)
            ok = clrnn_dataset_window_start(a, (clrnn_split)sp, w) ==
                 clrnn_dataset_window_start(b, (clrnn_split)sp, w);
    }
    for (size_t r = 0; ok && r < 10; r++)
        ok = clrnn_dataset_x(a)[r] == clrnn_dataset_x(b)[r] &&
             (clrnn_dataset_y(a)[r] == clrnn_dataset_y(b)[r] ||
              (isnan(clrnn_dataset_y(a)[r]) && isnan(clrnn_dataset_y(b)[r])));
    check_true(ok, "one series: the same windows and scaled values as without --series");
    clrnn_dataset_free(a);
    clrnn_dataset_free(b);
}

int main(void)
{
    test_series_read();
    test_windows();
    test_boundaries();
    test_scaling();
    test_refusals();
    test_metrics();
    test_one_series();
    return check_summary();
}
