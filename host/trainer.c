/*
 * The training loop over a dataset: shuffled mini-batches of windows, one
 * optimizer step per batch, the validation loss after each epoch. It only
 * enqueues work on the backend; losses come back once per epoch.
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "clrnn.h"
#include "error.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

clrnn_status clrnn_backend_stage_dataset(clrnn_backend *backend, const clrnn_dataset *data,
                                         clrnn_error *err)
{
    return clrnn_backend_stage(backend, clrnn_dataset_x(data), clrnn_dataset_y(data),
                               clrnn_dataset_n_rows(data), err);
}

/* starts (n) <- the split's window starts, in order */
static uint32_t *split_starts(const clrnn_dataset *data, clrnn_split split, size_t *n)
{
    *n = clrnn_dataset_n_windows(data, split);
    uint32_t *starts = malloc((*n ? *n : 1) * sizeof *starts);
    for (size_t i = 0; starts && i < *n; i++)
        starts[i] = (uint32_t)clrnn_dataset_window_start(data, split, i);
    return starts;
}

/* Fisher-Yates with the seeded generator: the same seed, the same order. */
static void shuffle(uint32_t *v, size_t n, clrnn_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = clrnn_rng_below(rng, (uint32_t)i);
        uint32_t tmp = v[i - 1];
        v[i - 1] = v[j];
        v[j] = tmp;
    }
}

/* Mean window loss over all windows of a split, forward only. */
static clrnn_status split_loss(clrnn_backend *backend, const uint32_t *starts, size_t n,
                               size_t batch, double *loss, clrnn_error *err)
{
    double sum = 0.0;
    clrnn_status st = clrnn_backend_take_loss_sum(backend, &sum, err); /* zero it */
    for (size_t i = 0; st == CLRNN_OK && i < n; i += batch)
        st = clrnn_backend_forward(backend, starts + i, n - i < batch ? n - i : batch, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_take_loss_sum(backend, &sum, err);
    *loss = n ? sum / (double)n : NAN;
    return st;
}

clrnn_status clrnn_train(clrnn_backend *backend, const clrnn_dataset *data,
                         const clrnn_train_config *config, clrnn_train_report *report,
                         clrnn_error *err)
{
    size_t n_train, n_val, batch = config->batch;
    uint32_t *train = split_starts(data, CLRNN_SPLIT_TRAIN, &n_train);
    uint32_t *val = split_starts(data, CLRNN_SPLIT_VAL, &n_val);
    clrnn_status st = CLRNN_OK;
    *report = (clrnn_train_report){0, NAN, NAN, 0.0, 0.0};
    if (!train || !val) {
        st = clrnn_fail(err, CLRNN_E_NOMEM, "out of memory");
        goto done;
    }
    if (n_train == 0 || batch == 0) {
        st = clrnn_fail(err, CLRNN_E_INPUT, "no training windows, or a batch of 0");
        goto done;
    }
    clrnn_rng rng;
    clrnn_rng_seed(&rng, config->seed);
    double loss_sum;
    st = clrnn_backend_take_loss_sum(backend, &loss_sum, err); /* start from zero */
    for (size_t epoch = 0; st == CLRNN_OK && epoch < config->epochs; epoch++) {
        double t0 = now_seconds();
        if (config->shuffle)
            shuffle(train, n_train, &rng);
        for (size_t i = 0; st == CLRNN_OK && i < n_train; i += batch) {
            size_t n = n_train - i < batch ? n_train - i : batch;
            st = clrnn_backend_gradients(backend, train + i, n, err);
            if (st == CLRNN_OK)
                st = clrnn_backend_update(backend, &config->optimizer, err);
        }
        if (st == CLRNN_OK)
            st = clrnn_backend_take_loss_sum(backend, &loss_sum, err);
        double seconds = now_seconds() - t0;
        if (st == CLRNN_OK)
            st = split_loss(backend, val, n_val, batch, &report->val_loss, err);
        if (st != CLRNN_OK)
            break;
        report->epochs_run = epoch + 1;
        report->train_loss = loss_sum / (double)n_train;
        report->seconds += seconds;
        if (config->out) {
            fprintf(config->out, "epoch %4zu  train loss %.6g  val loss %.6g  %.0f windows/s\n",
                    epoch + 1, report->train_loss, report->val_loss,
                    seconds > 0 ? (double)n_train / seconds : 0.0);
            fflush(config->out);
        }
        if (!isfinite(report->train_loss))
            st = clrnn_fail(err, CLRNN_E_NUMERIC,
                            "the training loss is %g at epoch %zu: try a lower --lr", report->train_loss,
                            epoch + 1);
    }
    if (report->seconds > 0)
        report->windows_per_second = (double)(n_train * report->epochs_run) / report->seconds;
done:
    free(train);
    free(val);
    return st;
}

clrnn_status clrnn_evaluate(clrnn_backend *backend, const clrnn_dataset *data, clrnn_split split,
                            size_t batch, clrnn_metrics *metrics, clrnn_error *err)
{
    size_t n, T = clrnn_dataset_seq_len(data), K = clrnn_dataset_n_targets(data);
    size_t top = clrnn_backend_n_layers(backend) - 1; /* its outputs are the targets */
    uint32_t *starts = split_starts(data, split, &n);
    double *y = malloc(batch * T * K * sizeof *y); /* (B, T, K) */
    clrnn_status st = CLRNN_OK;
    *metrics = (clrnn_metrics){n, NAN, NAN, NAN};
    if (!starts || !y) {
        st = clrnn_fail(err, CLRNN_E_NOMEM, "out of memory");
        goto done;
    }
    double loss_sum, sq = 0.0, abs_sum = 0.0;
    const double *y_raw = clrnn_dataset_y_raw(data);
    st = clrnn_backend_take_loss_sum(backend, &loss_sum, err);
    for (size_t i = 0; st == CLRNN_OK && i < n; i += batch) {
        size_t nb = n - i < batch ? n - i : batch;
        st = clrnn_backend_forward(backend, starts + i, nb, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_get_outputs(backend, top, y, err);
        for (size_t b = 0; st == CLRNN_OK && b < nb; b++) {
            size_t row = starts[i + b] + T - 1;
            for (size_t k = 0; k < K; k++) {
                double pred = y[(b * T + T - 1) * K + k] * clrnn_dataset_target_std(data, k) +
                              clrnn_dataset_target_mean(data, k);
                double diff = pred - y_raw[row * K + k];
                sq += diff * diff;
                abs_sum += fabs(diff);
            }
        }
    }
    if (st == CLRNN_OK)
        st = clrnn_backend_take_loss_sum(backend, &loss_sum, err);
    if (st == CLRNN_OK && n > 0) {
        metrics->loss = loss_sum / (double)n;
        metrics->rmse = sqrt(sq / (double)(n * K));
        metrics->mae = abs_sum / (double)(n * K);
    }
done:
    free(starts);
    free(y);
    return st;
}
