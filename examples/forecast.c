/*
 * forecast: clrnn's public API from end to end, and nothing else of it.
 *
 *   forecast data.csv [model.clrnn] [device]
 *
 * Reads a CSV table whose last numeric column is the target and whose other
 * numeric columns are the features, trains one tanh RNN layer of 16 units
 * on windows of 7 rows (the first 70% of the rows), reports the loss, RMSE
 * and MAE on the test rows, saves the model, loads it back, and checks that
 * the loaded model predicts what the trained one did. device is "cpu",
 * "opencl", "opencl:P.D" or "auto" (the default).
 *
 * Exit code: 0 when all of that worked, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>

#include "clrnn.h"

enum { SEQ_LEN = 7, N_HIDDEN = 16, BATCH = 16, EPOCHS = 40, MAX_COLUMNS = 64 };

static int fail(const char *what, const clrnn_error *err)
{
    fprintf(stderr, "forecast: %s: %s (%s)\n", what, err->message,
            clrnn_status_string(err->status));
    return 1;
}

/* Predictions (n_windows, K) for the test split's windows; NULL on failure. */
static double *predict(clrnn_backend *backend, const clrnn_dataset *data, size_t *n_windows,
                       clrnn_error *err)
{
    size_t n = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TEST);
    double *predictions = malloc((n ? n : 1) * clrnn_dataset_n_targets(data) * sizeof *predictions);
    if (!predictions)
        return NULL;
    if (clrnn_predict(backend, data, CLRNN_SPLIT_TEST, BATCH, predictions, err) != CLRNN_OK) {
        free(predictions);
        return NULL;
    }
    *n_windows = n;
    return predictions;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: forecast data.csv [model.clrnn] [device]\n");
        return 2;
    }
    const char *csv = argv[1];
    const char *model_path = argc > 2 ? argv[2] : "forecast.clrnn";
    const char *device = argc > 3 ? argv[3] : "auto";
    printf("clrnn %s (headers %s)\n", clrnn_version(), CLRNN_VERSION_STRING);

    int code = 1;
    clrnn_error err = {0};
    clrnn_table *table = NULL;
    clrnn_dataset *data = NULL, *reloaded_data = NULL;
    clrnn_model *model = NULL;
    clrnn_backend *backend = NULL, *reloaded_backend = NULL;
    clrnn_checkpoint *saved = NULL, *loaded = NULL;
    double *predictions = NULL, *reloaded_predictions = NULL;
    const char *names[MAX_COLUMNS];
    size_t n_cols = 0;

    /* The table, and its columns: features first, the target last. */
    if (clrnn_table_read_csv(&table, csv, &err) != CLRNN_OK) {
        fail("reading the table", &err);
        goto done;
    }
    n_cols = clrnn_table_n_cols(table);
    if (n_cols < 2 || n_cols > MAX_COLUMNS) {
        fprintf(stderr, "forecast: '%s' has %zu numeric columns; this needs 2 to %d\n", csv, n_cols,
                MAX_COLUMNS);
        goto done;
    }
    for (size_t c = 0; c < n_cols; c++)
        names[c] = clrnn_table_col_name(table, c);
    clrnn_data_config config = clrnn_data_config_default();
    config.features = names;
    config.n_features = n_cols - 1;
    config.targets = names + n_cols - 1;
    config.n_targets = 1;
    config.seq_len = SEQ_LEN;
    if (clrnn_dataset_create(&data, table, &config, &err) != CLRNN_OK) {
        fail("preparing the data", &err);
        goto done;
    }
    printf("%s: %zu rows, features", csv, clrnn_dataset_n_rows(data));
    for (size_t f = 0; f < config.n_features; f++)
        printf(" %s", names[f]);
    printf(", target %s\n", names[n_cols - 1]);

    /* The model: one layer, initialised uniformly from a fixed seed. */
    clrnn_layer_shape layer = {.n_in = config.n_features, .n_hidden = N_HIDDEN, .n_out = 1};
    clrnn_rng rng;
    clrnn_rng_seed(&rng, 42);
    if (clrnn_model_create(&model, &layer, 1, &err) != CLRNN_OK) {
        fail("creating the model", &err);
        goto done;
    }
    clrnn_model_init_uniform(model, &rng);

    /* Train with Adam, then measure on the test rows. */
    clrnn_backend_config backend_config = {.device = device,
                                           .precision = CLRNN_FP32,
                                           .seq_len = SEQ_LEN,
                                           .max_batch = BATCH,
                                           .loss_steps = CLRNN_LOSS_ALL,
                                           .log = NULL, /* or stdout: hear what "auto" took */
                                           .kernels = CLRNN_KERNELS_AUTO};
    if (clrnn_backend_create(&backend, model, &backend_config, &err) != CLRNN_OK ||
        clrnn_backend_stage_dataset(backend, data, &err) != CLRNN_OK) {
        fail("setting up the device", &err);
        goto done;
    }
    printf("training on %s\n", clrnn_backend_describe(backend));
    clrnn_train_config train;
    clrnn_train_config_default(&train);
    train.epochs = EPOCHS;
    train.batch = BATCH;
    train.optimizer.kind = CLRNN_ADAM;
    train.optimizer.lr = 0.01;
    train.seed = 42;
    clrnn_train_report report;
    if (clrnn_train(backend, data, &train, &report, &err) != CLRNN_OK) {
        fail("training", &err);
        goto done;
    }
    clrnn_metrics test;
    if (clrnn_evaluate(backend, data, CLRNN_SPLIT_TEST, BATCH, &test, &err) != CLRNN_OK) {
        fail("evaluating", &err);
        goto done;
    }
    printf("trained %zu epochs: train loss %.6f, validation loss %.6f\n", report.epochs_run,
           report.train_loss, report.val_loss);
    printf("test: %zu windows, loss %.6f, RMSE %.6f, MAE %.6f\n", test.n_windows, test.loss,
           test.rmse, test.mae);

    /* Save: the trained parameters with what is needed to use them again
     * (column names, scaler statistics, window length) and to train on
     * (the optimizer, its state, the step and epoch counts, the seed). */
    size_t n_test = 0;
    if (!(predictions = predict(backend, data, &n_test, &err)) ||
        clrnn_checkpoint_capture(&saved, backend, data, &train, report.epochs_run, &err) !=
            CLRNN_OK) {
        fail("reading the trained model back", &err);
        goto done;
    }
    if (clrnn_checkpoint_save(saved, model_path, &err) != CLRNN_OK) {
        fail("saving", &err);
        goto done;
    }
    printf("saved %s\n", model_path);

    /* Load it back, prepare the same table with the model's own statistics,
     * and predict the test rows again. */
    if (clrnn_checkpoint_load(&loaded, model_path, &err) != CLRNN_OK) {
        fail("loading", &err);
        goto done;
    }
    clrnn_data_config reload_config = config;
    clrnn_checkpoint_data_config(loaded, &reload_config); /* columns, seq_len, statistics */
    size_t n_reloaded = 0;
    if (clrnn_dataset_create(&reloaded_data, table, &reload_config, &err) != CLRNN_OK ||
        clrnn_backend_create(&reloaded_backend, clrnn_checkpoint_model(loaded), &backend_config,
                             &err) != CLRNN_OK ||
        clrnn_backend_stage_dataset(reloaded_backend, reloaded_data, &err) != CLRNN_OK ||
        !(reloaded_predictions = predict(reloaded_backend, reloaded_data, &n_reloaded, &err))) {
        fail("predicting with the loaded model", &err);
        goto done;
    }

    /* The loaded model's predictions against the truth (the target at each
     * window's last row) and against the trained model's. */
    const double *truth = clrnn_dataset_y_raw(reloaded_data);
    double largest_difference = 0.0;
    printf("row  %-10s  predicted  %s\n", "date", names[n_cols - 1]);
    for (size_t w = 0; w < n_reloaded; w++) {
        size_t row = clrnn_dataset_window_start(reloaded_data, CLRNN_SPLIT_TEST, w) + SEQ_LEN - 1;
        const char *label = clrnn_dataset_row_label(reloaded_data, row);
        if (w < 5)
            printf("%-4zu %-10s  %9.4f  %9.4f\n", row, label ? label : "-", reloaded_predictions[w],
                   truth[row]);
        double difference = reloaded_predictions[w] - predictions[w];
        if (difference < 0)
            difference = -difference;
        if (difference > largest_difference)
            largest_difference = difference;
    }
    if (n_reloaded != n_test || largest_difference > 1e-12) {
        fprintf(stderr,
                "forecast: the loaded model predicts differently: %zu windows against %zu, "
                "largest difference %g\n",
                n_reloaded, n_test, largest_difference);
        goto done;
    }
    printf("the loaded model predicts the trained one's %zu values (largest difference %g)\n",
           n_reloaded, largest_difference);
    code = 0;

done:
    free(reloaded_predictions);
    free(predictions);
    clrnn_checkpoint_free(loaded);
    clrnn_checkpoint_free(saved);
    clrnn_backend_free(reloaded_backend);
    clrnn_backend_free(backend);
    clrnn_model_free(model);
    clrnn_dataset_free(reloaded_data);
    clrnn_dataset_free(data);
    clrnn_table_free(table);
    return code;
}
