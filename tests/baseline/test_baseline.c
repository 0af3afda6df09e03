/*
 * The baselines (host/core/baseline.c) on tables whose answers are known
 * by hand: a straight line, on which a ridge regression on the window is
 * exact and the naive forecast is off by the slope times the steps ahead;
 * a periodic series, on which the seasonal naive forecast is exact; a
 * pre-shifted target at horizon 0, whose naive forecast is today's value;
 * missing targets, which are not scored and not fitted on. Small CSVs are
 * written to /tmp at test time, next to what each case checks.
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

#define MAX_WINDOWS 256

/* Reads text as a CSV through a temporary file (removed again) into a dataset. */
static clrnn_status dataset_from_text(clrnn_dataset **data, const char *text,
                                      const clrnn_data_config *cfg, clrnn_error *err)
{
    char path[64] = "/tmp/clrnn_test_baseline_XXXXXX";
    clrnn_table *table = NULL;
    *data = NULL;
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    int ok = f && fputs(text, f) >= 0;
    if (f)
        ok = fclose(f) == 0 && ok;
    if (!ok) {
        snprintf(err->message, sizeof err->message, "cannot write a temporary file");
        return CLRNN_E_IO;
    }
    clrnn_status st = clrnn_table_read_csv(&table, path, err);
    unlink(path);
    if (st == CLRNN_OK)
        st = clrnn_dataset_create(data, table, cfg, err);
    clrnn_table_free(table);
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
    cfg.train_fraction = 0.5;
    cfg.val_fraction = 0.25;
    return cfg;
}

/* predictions (N, K) <- the truth of every cell plus `off` (NaN stays NaN) */
static void truth_plus(const clrnn_dataset *data, clrnn_split split, double off,
                       double *predictions)
{
    size_t K = clrnn_dataset_n_targets(data);
    for (size_t i = 0; i < clrnn_dataset_n_windows(data, split); i++)
        for (size_t k = 0; k < K; k++)
            predictions[i * K + k] =
                clrnn_dataset_target_column(data, k)[clrnn_dataset_window_row(data, split, i, k)] +
                off;
}

/* ------------------------------------------------------- a straight line */

/* v = 3 + 2 r and v_next = v one row on: the next value is the last input
 * plus 2, a linear function of the window that the ridge finds, while the
 * naive forecast (v_next one row back, today's v) is 2 short. */
static void test_linear(void)
{
    static const char *const features[] = {"v"}, *const targets[] = {"v_next"};
    char text[4096];
    size_t at = (size_t)snprintf(text, sizeof text, "v,v_next\n");
    for (int r = 0; r < 40; r++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%d,%d\n", 3 + 2 * r, 5 + 2 * r);
    clrnn_data_config cfg = config_for(features, 1, targets, 1, 3);
    clrnn_dataset *data;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = dataset_from_text(&data, text, &cfg, &err);
    if (!check_true(st == CLRNN_OK, "linear: the table loads"))
        return;
    size_t n = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TEST);
    double naive[MAX_WINDOWS], ridge[MAX_WINDOWS], model[MAX_WINDOWS];
    clrnn_baseline_fit fit;
    clrnn_baseline_score s;
    truth_plus(data, CLRNN_SPLIT_TEST, 0.5, model);

    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_NAIVE, NULL, naive, &fit,
                                &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, naive, model, CLRNN_ALL_OUTPUTS, &s);
    /* Rows 30..39 are the test split: each the predicted row of one window,
     * the first two reading validation rows. */
    check_true(st == CLRNN_OK && n == 10 && s.n_cells == 10 && s.n_scored == 10,
               "linear: naive covers the 10 test cells");
    check(st == CLRNN_OK && s.rmse == 2.0 && s.mae == 2.0, "linear: naive RMSE = MAE = the slope",
          s.rmse, 0.0);
    check(s.model_rmse == 0.5 && s.model_mae == 0.5,
          "linear: the model's figures on the same cells (0.5 off)", s.model_rmse, 0.0);

    /* A grid reaching down to 1e-10: the picked strength is the smallest
     * and the fit exact to that order. */
    clrnn_baseline_config c = clrnn_baseline_config_default();
    c.ridge_lambda_min = 1e-10;
    c.ridge_lambda_steps = 15;
    st =
        clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_RIDGE, &c, ridge, &fit, &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, ridge, model, CLRNN_ALL_OUTPUTS, &s);
    check_true(st == CLRNN_OK && fit.lambda_from_val && fit.lambda == 1e-10 && fit.n_fit == 18,
               "linear: ridge picks 1e-10 on validation, fitted on 18 training windows");
    check(st == CLRNN_OK && s.n_cells == 10 && s.rmse < 1e-6, "linear: ridge is exact", s.rmse,
          1e-6);
    /* The default grid (down to 1e-4) shrinks a little: still far better
     * than the naive forecast. */
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_RIDGE, NULL, ridge, &fit,
                                &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, ridge, model, CLRNN_ALL_OUTPUTS, &s);
    check(st == CLRNN_OK && fit.lambda == 1e-4 && s.rmse < 2.0 / 100.0,
          "linear: ridge on the default grid, a hundredth of naive's error", s.rmse, 0.02);
    /* Ridge forecasts of the training split are the fit itself. */
    double train_fc[MAX_WINDOWS], train_model[MAX_WINDOWS];
    truth_plus(data, CLRNN_SPLIT_TRAIN, 0.0, train_model);
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TRAIN, CLRNN_BASELINE_RIDGE, &c, train_fc, &fit,
                                &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TRAIN, train_fc, train_model, CLRNN_ALL_OUTPUTS, &s);
    check(st == CLRNN_OK && s.n_cells == 18 && s.rmse < 1e-6 && s.model_rmse == 0.0,
          "linear: ridge on its own training windows", s.rmse, 1e-6);

    /* No season: the seasonal naive forecast is refused in one line. */
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_SEASONAL, NULL, naive, &fit,
                                &err);
    check_true(st == CLRNN_E_INPUT && strstr(err.message, "`season`") && !strchr(err.message, '\n'),
               "linear: seasonal naive without a season is refused, naming `season`");
    /* A window wider than the ridge accepts. */
    c = clrnn_baseline_config_default();
    c.ridge_max_inputs = 2;
    st =
        clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_RIDGE, &c, ridge, &fit, &err);
    printf("  %s\n", err.message);
    check_true(st == CLRNN_E_INPUT && strstr(err.message, "3 inputs") &&
                   strstr(err.message, "`ridge_max_inputs` (2)"),
               "linear: a window of 3 inputs over a limit of 2 is refused, saying both");
    clrnn_dataset_free(data);

    /* Every row for training: the last training window ends on the last
     * row of the table, and the ridge's sums must not read past it (the
     * sanitizer build catches a read one row on); no validation cell, so
     * the strength is 1, which shrinks the fit to RMSE 5.9157907906 (numpy:
     * solve((A^T A / 38 + diag(0, 1, 1, 1)), A^T y / 38) on the same
     * standardised windows). */
    cfg.train_fraction = 1.0;
    cfg.val_fraction = 0.0;
    st = dataset_from_text(&data, text, &cfg, &err);
    if (!check_true(st == CLRNN_OK && clrnn_dataset_n_windows(data, CLRNN_SPLIT_TRAIN) == 38,
                    "linear, all rows training: the table loads, 38 training windows"))
        return;
    truth_plus(data, CLRNN_SPLIT_TRAIN, 0.0, train_model);
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TRAIN, CLRNN_BASELINE_RIDGE, NULL, train_fc, &fit,
                                &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TRAIN, train_fc, train_model, CLRNN_ALL_OUTPUTS, &s);
    check(st == CLRNN_OK && !fit.lambda_from_val && fit.lambda == 1.0 && fit.n_fit == 38 &&
              s.n_cells == 38 && fabs(s.rmse - 5.915790790644166) < 1e-11,
          "linear, all rows training: ridge of strength 1 on its 38 windows",
          fabs(s.rmse - 5.915790790644166), 1e-11);
    clrnn_dataset_free(data);
}

/* ------------------------------------------- two inputs, several lags */

/* y = 3 + 2 a[r] - b[r - 1] + 0.5 a[r - 2], a and b irregular: a linear
 * function of a window of 3 rows of (a, b) that the ridge finds exactly,
 * every cross term of its normal equations (lags and features) in play. */
static void test_two_inputs(void)
{
    static const char *const features[] = {"a", "b"}, *const targets[] = {"y"};
    double a[60], b[60];
    for (int r = 0; r < 60; r++) {
        a[r] = sin(1.3 * r) + 0.01 * r;
        b[r] = cos(0.37 * r * r);
    }
    char text[8192];
    size_t at = (size_t)snprintf(text, sizeof text, "a,b,y\n");
    for (int r = 0; r < 60; r++) {
        double y = r >= 2 ? 3.0 + 2.0 * a[r] - b[r - 1] + 0.5 * a[r - 2] : 0.0;
        at += (size_t)snprintf(text + at, sizeof text - at, "%.17g,%.17g,%.17g\n", a[r], b[r], y);
    }
    clrnn_data_config cfg = config_for(features, 2, targets, 1, 3);
    clrnn_dataset *data;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = dataset_from_text(&data, text, &cfg, &err);
    if (!check_true(st == CLRNN_OK, "two inputs: the table loads"))
        return;
    clrnn_baseline_config c = clrnn_baseline_config_default();
    c.ridge_lambda_min = 1e-10;
    c.ridge_lambda_steps = 15;
    double fc[MAX_WINDOWS], model[MAX_WINDOWS];
    clrnn_baseline_fit fit;
    clrnn_baseline_score s;
    truth_plus(data, CLRNN_SPLIT_TEST, 0.0, model);
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_RIDGE, &c, fc, &fit, &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, fc, model, CLRNN_ALL_OUTPUTS, &s);
    check(st == CLRNN_OK && s.n_cells == 15 && fit.lambda == 1e-10 && s.rmse < 1e-6,
          "two inputs: ridge on 3 lags of 2 inputs is exact", s.rmse, 1e-6);
    clrnn_dataset_free(data);
}

/* --------------------------------------------------- a periodic series */

/* v repeats 1, 5, 2, 8 and v_next is v one row on. Seasonal naive with
 * season 4 takes v_next four rows back: exact. The naive forecast (today's
 * v) is off by 4, -3, 6, -7 in turn: over the 10 test cells (rows 30..39,
 * off by 6, -7, 4, -3, 6, -7, 4, -3, 6, -7) RMSE sqrt(305 / 10) and MAE
 * 53 / 10. */
static void test_periodic(void)
{
    static const char *const features[] = {"v"}, *const targets[] = {"v_next"};
    static const int pattern[4] = {1, 5, 2, 8};
    char text[4096];
    size_t at = (size_t)snprintf(text, sizeof text, "v,v_next\n");
    for (int r = 0; r < 40; r++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%d,%d\n", pattern[r % 4],
                               pattern[(r + 1) % 4]);
    clrnn_data_config cfg = config_for(features, 1, targets, 1, 3);
    cfg.season = 4;
    clrnn_dataset *data;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = dataset_from_text(&data, text, &cfg, &err);
    if (!check_true(st == CLRNN_OK, "periodic: the table loads"))
        return;
    double fc[MAX_WINDOWS], model[MAX_WINDOWS];
    clrnn_baseline_fit fit;
    clrnn_baseline_score s;
    truth_plus(data, CLRNN_SPLIT_TEST, -1.0, model);
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_SEASONAL, NULL, fc, &fit,
                                &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, fc, model, CLRNN_ALL_OUTPUTS, &s);
    check(st == CLRNN_OK && fit.season == 4 && s.n_cells == 10 && s.rmse == 0.0 && s.mae == 0.0,
          "periodic: seasonal naive (the dataset's season 4) is exact", s.rmse, 0.0);
    check(s.model_rmse == 1.0 && s.model_mae == 1.0, "periodic: the model 1 off on the same cells",
          s.model_rmse, 0.0);
    /* The configuration's season wins over the dataset's: 2 is not one. */
    clrnn_baseline_config c = clrnn_baseline_config_default();
    c.season = 2;
    st =
        clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_SEASONAL, &c, fc, &fit, &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, fc, model, CLRNN_ALL_OUTPUTS, &s);
    /* two rows back: v_next[p - 2] against v_next[p]: 2 - 1, 8 - 5, ... */
    check(st == CLRNN_OK && fit.season == 2 && s.n_cells == 10 &&
              fabs(s.rmse - sqrt((1 + 9 + 1 + 9) / 4.0)) < 1e-15,
          "periodic: season 2 from the configuration, off by 1, 3, 1, 3", s.rmse, 1e-15);
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_NAIVE, NULL, fc, &fit, &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, fc, model, CLRNN_ALL_OUTPUTS, &s);
    check(st == CLRNN_OK && s.n_cells == 10 && fabs(s.rmse - sqrt(305.0 / 10.0)) < 1e-15 &&
              s.mae == 53.0 / 10.0,
          "periodic: naive RMSE sqrt(30.5), MAE 5.3", s.rmse, 1e-15);
    clrnn_dataset_free(data);
}

/* ---------------------------------- a pre-shifted target at horizon 0 */

/* tmax_tomorrow is tmax one row on. At horizon 0 the naive forecast of
 * tmax_tomorrow is its value one row back: today's tmax, bit for bit; and
 * two targets are forecast each from its own column. rain is a target
 * only: a feature that is also a target at horizon 0 is refused. */
static void test_preshifted(void)
{
    static const char *const features[] = {"tmax"};
    static const char *const targets[] = {"tmax_tomorrow", "rain"};
    double tmax[31];
    for (int r = 0; r < 31; r++)
        tmax[r] = 50.0 + 20.0 * sin(0.7 * r) + 0.125 * r;
    char text[4096];
    size_t at = (size_t)snprintf(text, sizeof text, "tmax,tmax_tomorrow,rain\n");
    for (int r = 0; r < 30; r++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%.17g,%.17g,%d\n", tmax[r],
                               tmax[r + 1], r % 3);
    clrnn_data_config cfg = config_for(features, 1, targets, 2, 4);
    clrnn_dataset *data;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = dataset_from_text(&data, text, &cfg, &err);
    if (!check_true(st == CLRNN_OK, "pre-shifted: the table loads"))
        return;
    double fc[2 * MAX_WINDOWS];
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_NAIVE, NULL, fc, NULL, &err);
    size_t n = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TEST), same = 0;
    for (size_t i = 0; i < n; i++) {
        size_t p = clrnn_dataset_window_row(data, CLRNN_SPLIT_TEST, i, 0);
        same += fc[2 * i] == tmax[p] && fc[2 * i + 1] == (double)((p - 1) % 3);
    }
    check_true(st == CLRNN_OK && n == 8 && same == n,
               "pre-shifted: naive tmax_tomorrow = today's tmax, rain = yesterday's");
    /* Scored on one output alone. */
    double model[2 * MAX_WINDOWS];
    clrnn_baseline_score s;
    truth_plus(data, CLRNN_SPLIT_TEST, 0.25, model);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, fc, model, 1, &s);
    check(s.n_cells == n && s.model_rmse == 0.25, "pre-shifted: output 1 scored on its own",
          s.model_rmse, 0.0);
    clrnn_dataset_free(data);
}

/* ---------------------------------------------------- missing targets */

/* The line again, with empty target cells at row 10 (training) and row 33
 * (test). Missing targets are NaN in clrnn_dataset_target_column: masked,
 * never filled. Row 0's forecast has no earlier row: it is left out of the
 * baseline's and the model's figures alike. */
static void test_missing_targets(void)
{
    static const char *const features[] = {"v"}, *const targets[] = {"v_next"};
    char text[4096];
    size_t at = (size_t)snprintf(text, sizeof text, "v,v_next\n");
    for (int r = 0; r < 40; r++) {
        if (r == 10 || r == 33)
            at += (size_t)snprintf(text + at, sizeof text - at, "%d,\n", 3 + 2 * r);
        else
            at += (size_t)snprintf(text + at, sizeof text - at, "%d,%d\n", 3 + 2 * r, 5 + 2 * r);
    }
    clrnn_data_config cfg = config_for(features, 1, targets, 1, 1);
    clrnn_dataset *data;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = dataset_from_text(&data, text, &cfg, &err);
    if (!check_true(st == CLRNN_OK, "missing: the table loads"))
        return;
    double fc[MAX_WINDOWS], model[MAX_WINDOWS];
    clrnn_baseline_score s;
    /* Row 0 of the training split: naive has no row before it. */
    truth_plus(data, CLRNN_SPLIT_TRAIN, 0.0, model);
    st =
        clrnn_baseline_predict(data, CLRNN_SPLIT_TRAIN, CLRNN_BASELINE_NAIVE, NULL, fc, NULL, &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TRAIN, fc, model, CLRNN_ALL_OUTPUTS, &s);
    check_true(st == CLRNN_OK && isnan(fc[0]) && s.n_cells + 1 == s.n_scored,
               "missing: a cell without a forecast is left out of both");

    const double *column = clrnn_dataset_target_column(data, 0);
    if (!check_true(isnan(column[10]) && isnan(column[33]) && column[32] == 69.0,
                    "missing: the empty target cells stay NaN, not filled forward")) {
        clrnn_dataset_free(data);
        return;
    }
    /* Test rows 30..39: row 33 is not scored; row 34's naive forecast is
     * the last known value, row 32's, 69 for 73: 4 short. */
    truth_plus(data, CLRNN_SPLIT_TEST, 0.5, model);
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_NAIVE, NULL, fc, NULL, &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, fc, model, CLRNN_ALL_OUTPUTS, &s);
    check(st == CLRNN_OK && s.n_scored == 9 && s.n_cells == 9 &&
              fabs(s.rmse - sqrt((8 * 4.0 + 16.0) / 9.0)) < 1e-14 &&
              fabs(s.mae - (8 * 2.0 + 4.0) / 9.0) < 1e-14 && s.model_rmse == 0.5,
          "missing: the empty test cell is not scored; the next one uses the last known value",
          s.rmse, 1e-14);
    /* The empty training cell is not fitted on: the ridge stays exact. */
    clrnn_baseline_config c = clrnn_baseline_config_default();
    clrnn_baseline_fit fit;
    c.ridge_lambda_min = 1e-10;
    c.ridge_lambda_steps = 15;
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_RIDGE, &c, fc, &fit, &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, fc, model, CLRNN_ALL_OUTPUTS, &s);
    check(st == CLRNN_OK && fit.n_fit == 19 && s.n_cells == 9 && s.rmse < 1e-6,
          "missing: ridge fitted on the 19 present training cells, exact", s.rmse, 1e-6);
    clrnn_dataset_free(data);
}

/* ------------------------------------------------------------- horizons */

/* v = 3 + 2 r at horizon 3: the naive forecast is v three rows back (6
 * short), the seasonal one with season 2 four rows back (8 short: whole
 * seasons covering the 3 steps). */
static void test_horizon(void)
{
    static const char *const features[] = {"v"}, *const targets[] = {"v"};
    static const size_t horizons[] = {3};
    char text[4096];
    size_t at = (size_t)snprintf(text, sizeof text, "v\n");
    for (int r = 0; r < 40; r++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%d\n", 3 + 2 * r);
    clrnn_data_config cfg = config_for(features, 1, targets, 1, 3);
    cfg.horizons = horizons;
    cfg.n_horizons = 1;
    cfg.season = 2;
    clrnn_dataset *data;
    clrnn_error err = {CLRNN_OK, ""};
    clrnn_status st = dataset_from_text(&data, text, &cfg, &err);
    if (!check_true(st == CLRNN_OK && clrnn_dataset_target_horizon(data, 0) == 3,
                    "horizon: the table loads at horizon 3"))
        return;
    double fc[MAX_WINDOWS], model[MAX_WINDOWS];
    clrnn_baseline_score s;
    truth_plus(data, CLRNN_SPLIT_TEST, 0.0, model);
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_NAIVE, NULL, fc, NULL, &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, fc, model, CLRNN_ALL_OUTPUTS, &s);
    check(st == CLRNN_OK && s.n_cells > 0 && s.rmse == 6.0 && s.mae == 6.0,
          "horizon: naive 3 rows back, 3 slopes short", s.rmse, 0.0);
    st = clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_SEASONAL, NULL, fc, NULL,
                                &err);
    clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, fc, model, CLRNN_ALL_OUTPUTS, &s);
    check(st == CLRNN_OK && s.rmse == 8.0, "horizon: seasonal naive (2) 4 rows back", s.rmse, 0.0);
    clrnn_dataset_free(data);
}

int main(void)
{
    test_linear();
    test_two_inputs();
    test_periodic();
    test_preshifted();
    test_missing_targets();
    test_horizon();
    check_true(strcmp(clrnn_baseline_name(CLRNN_BASELINE_RIDGE), "ridge") == 0 &&
                   clrnn_baseline_name(CLRNN_N_BASELINES) == NULL,
               "names: ridge, and none past the last");
    return check_summary();
}
