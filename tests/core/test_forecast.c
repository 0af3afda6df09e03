/*
 * clrnn_forecast (host/core/forecast.c) on the CPU reference:
 * - its outputs are, bit for bit, clrnn_predict's for the last window of a
 *   dataset of every row (start R - T), on a model of two layers and two
 *   targets;
 * - with targets_optional, a table without the target columns gives the
 *   same forecast (no target value is read), and its target columns are NaN;
 * - a dataset shorter than a window: one line naming `seq_len`.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clrnn.h"

#define SMALL_CSV CLRNN_FIXTURE_DIR "/cli_small.csv"

static const char *const features[] = {"a", "b"}, *const targets[] = {"y", "b"};

/* stats (2 F + 2 K): a trained model's scaler, or NULL to fit one. */
static clrnn_dataset *dataset(const char *path, size_t T, int targets_optional, const double *stats)
{
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.features = features;
    cfg.n_features = 2;
    cfg.targets = targets;
    cfg.n_targets = 2;
    cfg.seq_len = T;
    cfg.train_fraction = 1.0;
    cfg.val_fraction = 0.0;
    cfg.targets_optional = targets_optional;
    if (stats) {
        cfg.feature_mean = stats;
        cfg.feature_std = stats + 2;
        cfg.target_mean = stats + 4;
        cfg.target_std = stats + 6;
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

/* cli_small.csv without its y column, into a temporary file. */
static int without_y(char *path)
{
    int fd = mkstemp(path);
    FILE *in = fopen(SMALL_CSV, "r"), *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    char line[256];
    while (in && out && fgets(line, sizeof line, in)) {
        char *last = strrchr(line, ',');
        if (last)
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

int main(void)
{
    const size_t T = 6;
    clrnn_layer_shape layers[2] = {{2, 5, 3}, {3, 4, 2}};
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
    double stats[8];
    for (size_t i = 0; data && i < 2; i++) {
        stats[i] = clrnn_dataset_feature_mean(data, i);
        stats[2 + i] = clrnn_dataset_feature_std(data, i);
        stats[4 + i] = clrnn_dataset_target_mean(data, i);
        stats[6 + i] = clrnn_dataset_target_std(data, i);
    }
    /* with the first dataset's scaler, as a trained model brings it */
    clrnn_dataset *blind = without_y(no_y) ? dataset(no_y, T, 1, stats) : NULL;
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
    clrnn_backend_free(b1);
    clrnn_dataset_free(one);
    clrnn_dataset_free(blind);
    clrnn_dataset_free(data);
    clrnn_backend_free(backend);
    clrnn_model_free(model);
    free(pred);
    return check_summary();
}
