/*
 * clrnn_forecast (host/core/forecast.c) on the CPU reference:
 * - its outputs are, bit for bit, clrnn_predict's for the last window of a
 *   dataset of every row (start R - T), on a model of two layers and two
 *   targets;
 * - with targets_optional, a table without the target columns gives the
 *   same forecast (no target value is read), and its target columns are NaN;
 * - differenced, at horizons 1 and 3, on a table cut 5 rows short: the
 *   forecast equals, bit for bit, clrnn_predict's levels on the whole table
 *   for the window of the same start (whose rows exist there), where the
 *   dataset has the forecast framing (clrnn_dataset_create answers
 *   CLRNN_E_UNSUPPORTED where it does not: said and skipped).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#endif
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clrnn.h"

#define SMALL_CSV CLRNN_FIXTURE_DIR "/cli_small.csv"

static const char *const features[] = {"a"}, *const targets[] = {"y", "b"};

/* stats (2 F + 2 K): a trained model's scaler, or NULL to fit one. */
static clrnn_dataset *dataset(const char *path, size_t T, int targets_optional, const double *stats)
{
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.features = features;
    cfg.n_features = 1;
    cfg.targets = targets;
    cfg.n_targets = 2;
    cfg.seq_len = T;
    cfg.train_fraction = 1.0;
    cfg.val_fraction = 0.0;
    cfg.targets_optional = targets_optional;
    if (stats) {
        cfg.feature_mean = stats;
        cfg.feature_std = stats + 1;
        cfg.target_mean = stats + 2;
        cfg.target_std = stats + 4;
    }
    clrnn_table *table = NULL;
    clrnn_dataset *data = NULL;
    clrnn_error err;
    if (clrnn_table_read_csv(&table, path, &err) != CLRNN_OK ||
        clrnn_dataset_create(&data, table, &cfg, &err) != CLRNN_OK)
        printf("  %s\n", err.message);
    clrnn_table_free(table);
    return data;
}

/* cli_small.csv into a temporary file: without its y column, or (drop_y
 * 0) its first `lines` lines. */
static int copy_small(char *path, int drop_y, size_t lines)
{
    int fd = mkstemp(path);
    FILE *in = fopen(SMALL_CSV, "r"), *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    char line[256];
    for (size_t n = 0; in && out && n < lines && fgets(line, sizeof line, in); n++) {
        char *last = strrchr(line, ',');
        if (last && drop_y)
            strcpy(last, "\n");
        fputs(line, out);
    }
    int ok = in && out;
    if (in)
        fclose(in);
    if (out)
        ok = fclose(out) == 0 && ok;
    return ok;
}

/* The framing's cross-check: differenced, horizons 1 and 3. */
static void test_differenced(void)
{
    static const size_t horizons[2] = {1, 3};
    static const char *const feats[] = {"a", "b"}, *const targ[] = {"y"};
    const size_t T = 4, K = 2, cut = 5;
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.features = feats;
    cfg.n_features = 2;
    cfg.targets = targ;
    cfg.n_targets = 1;
    cfg.seq_len = T;
    cfg.train_fraction = 1.0;
    cfg.val_fraction = 0.0;
    cfg.horizons = horizons;
    cfg.n_horizons = 2;
    cfg.difference = 1;
    clrnn_table *table = NULL, *short_table = NULL;
    clrnn_dataset *whole = NULL, *cut_short = NULL;
    clrnn_backend *backend = NULL;
    clrnn_error err;
    char path[] = "/tmp/clrnn_test_forecast_XXXXXX";
    if (clrnn_table_read_csv(&table, SMALL_CSV, &err) != CLRNN_OK)
        return;
    clrnn_status st = clrnn_dataset_create(&whole, table, &cfg, &err);
    if (st == CLRNN_E_UNSUPPORTED) {
        printf("(skipped: differencing and horizons are not built here: %s)\n", err.message);
        clrnn_table_free(table);
        return;
    }
    size_t R = whole ? clrnn_dataset_n_rows(whole) : 0;
    double stats[8], forecast[2];
    for (size_t i = 0; whole && i < 2; i++) {
        stats[i] = clrnn_dataset_feature_mean(whole, i);
        stats[2 + i] = clrnn_dataset_feature_std(whole, i);
        stats[4 + i] = clrnn_dataset_target_mean(whole, i);
        stats[6 + i] = clrnn_dataset_target_std(whole, i);
    }
    cfg.feature_mean = stats;
    cfg.feature_std = stats + 2;
    cfg.target_mean = stats + 4;
    cfg.target_std = stats + 6;
    clrnn_layer_shape two[2] = {{2, 5, 3}, {3, 4, 2}};
    clrnn_model *m2 = NULL;
    clrnn_rng rng;
    clrnn_rng_seed(&rng, 5);
    clrnn_backend_config bcfg = {.device = "cpu", .seq_len = T, .max_batch = 256};
    size_t n = whole ? clrnn_dataset_n_windows(whole, CLRNN_SPLIT_TRAIN) : 0;
    double *pred = malloc((n ? n : 1) * K * sizeof *pred);
    int ok = st == CLRNN_OK && pred && copy_small(path, 0, 1 + R - cut) &&
             clrnn_table_read_csv(&short_table, path, &err) == CLRNN_OK &&
             clrnn_dataset_create(&cut_short, short_table, &cfg, &err) == CLRNN_OK &&
             clrnn_model_create(&m2, two, 2, &err) == CLRNN_OK;
    if (ok) {
        clrnn_model_init_uniform(m2, &rng);
        ok = clrnn_backend_create(&backend, m2, &bcfg, &err) == CLRNN_OK &&
             clrnn_backend_stage_dataset(backend, whole, &err) == CLRNN_OK &&
             clrnn_predict(backend, whole, CLRNN_SPLIT_TRAIN, 256, pred, &err) == CLRNN_OK &&
             clrnn_backend_stage_dataset(backend, cut_short, &err) == CLRNN_OK &&
             clrnn_forecast(backend, cut_short, forecast, &err) == CLRNN_OK;
    }
    if (!check_true(ok, "differenced, horizons 1 and 3: predict the table, forecast it cut short"))
        printf("  %s\n", err.message);
    size_t start = R - cut - T, i = 0;
    while (ok && i < n && clrnn_dataset_window_start(whole, CLRNN_SPLIT_TRAIN, i) != start)
        i++;
    if (ok && check_true(i < n, "(the whole table has a window of the same start)"))
        check_true(memcmp(forecast, pred + i * K, K * sizeof *forecast) == 0 &&
                       isfinite(forecast[0]) && isfinite(forecast[1]),
                   "differenced forecast = predict's levels for those rows, bit for bit");
    unlink(path);
    free(pred);
    clrnn_backend_free(backend);
    clrnn_model_free(m2);
    clrnn_dataset_free(cut_short);
    clrnn_dataset_free(whole);
    clrnn_table_free(short_table);
    clrnn_table_free(table);
}

int main(void)
{
    const size_t T = 6;
    clrnn_layer_shape layers[2] = {{1, 5, 3}, {3, 4, 2}};
    clrnn_model *model = NULL;
    clrnn_backend *backend = NULL;
    clrnn_rng rng;
    clrnn_error err;
    char no_y[] = "/tmp/clrnn_test_forecast_XXXXXX";
    clrnn_rng_seed(&rng, 11);
    clrnn_dataset *data = dataset(SMALL_CSV, T, 0, NULL);
    clrnn_backend_config cfg = {.device = "cpu", .seq_len = T, .max_batch = 16};
    if (!check_true(data && clrnn_model_create(&model, layers, 2, &err) == CLRNN_OK,
                    "a dataset of every row and a model of two layers"))
        return check_summary();
    clrnn_model_init_uniform(model, &rng);
    size_t n = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TRAIN), K = 2;
    double *pred = malloc(n * K * sizeof *pred), forecast[2], again[2];
    int ok = pred && clrnn_backend_create(&backend, model, &cfg, &err) == CLRNN_OK &&
             clrnn_backend_stage_dataset(backend, data, &err) == CLRNN_OK &&
             clrnn_predict(backend, data, CLRNN_SPLIT_TRAIN, 16, pred, &err) == CLRNN_OK &&
             clrnn_forecast(backend, data, forecast, &err) == CLRNN_OK;
    if (check_true(ok, "predict and forecast run")) {
        check_true(clrnn_dataset_window_start(data, CLRNN_SPLIT_TRAIN, n - 1) ==
                       clrnn_dataset_n_rows(data) - T,
                   "(the last window starts at R - T)");
        check_true(memcmp(forecast, pred + (n - 1) * K, K * sizeof *forecast) == 0,
                   "the forecast is the last window's prediction, bit for bit");
    }
    double stats[6] = {clrnn_dataset_feature_mean(data, 0), clrnn_dataset_feature_std(data, 0)};
    for (size_t k = 0; k < 2; k++) {
        stats[2 + k] = clrnn_dataset_target_mean(data, k);
        stats[4 + k] = clrnn_dataset_target_std(data, k);
    }
    /* with the first dataset's scaler, as a trained model brings it */
    clrnn_dataset *blind = copy_small(no_y, 1, SIZE_MAX) ? dataset(no_y, T, 1, stats) : NULL;
    ok = blind && clrnn_backend_stage_dataset(backend, blind, &err) == CLRNN_OK &&
         clrnn_forecast(backend, blind, again, &err) == CLRNN_OK;
    if (check_true(ok, "targets_optional: a table without the target column 'y'")) {
        const double *y = clrnn_dataset_target_column(blind, 0);
        int all_nan = 1;
        for (size_t r = 0; r < clrnn_dataset_n_rows(blind); r++)
            all_nan = all_nan && isnan(y[r]);
        check_true(all_nan, "its target column is NaN in every row");
        check_true(memcmp(again, forecast, sizeof again) == 0,
                   "the same forecast without the target values, bit for bit");
    }
    clrnn_dataset *refused = dataset(no_y, T, 0, stats);
    check_true(!refused, "without targets_optional the missing column is refused");
    clrnn_dataset_free(refused);
    clrnn_dataset *one = dataset(SMALL_CSV, 1, 0, NULL);
    clrnn_backend *b1 = NULL;
    clrnn_backend_config cfg1 = {.device = "cpu", .seq_len = 1, .max_batch = 1};
    ok = one && clrnn_backend_create(&b1, model, &cfg1, &err) == CLRNN_OK &&
         clrnn_backend_stage_dataset(b1, one, &err) == CLRNN_OK &&
         clrnn_forecast(b1, one, again, &err) == CLRNN_OK;
    check_true(ok && isfinite(again[0]) && isfinite(again[1]), "a window of one step");
    unlink(no_y);
    test_differenced();
    clrnn_backend_free(b1);
    clrnn_dataset_free(one);
    clrnn_dataset_free(blind);
    clrnn_dataset_free(data);
    clrnn_backend_free(backend);
    clrnn_model_free(model);
    free(pred);
    return check_summary();
}
