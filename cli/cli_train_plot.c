/* clrnn train --plot: what the report draws, gathered from the run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_plot.h"
#include "cli_train.h"
#include "core/error.h"

/* Index of the feature X of a target named X_tomorrow, or -1: the naive
 * forecast "tomorrow's X = today's X" (clrnn_naive_baseline's rule). */
static long today_feature(const clrnn_dataset *data, const char *target)
{
    const char *suffix = target ? strstr(target, "_tomorrow") : NULL;
    if (!suffix || suffix[9] != '\0')
        return -1;
    size_t stem = (size_t)(suffix - target);
    for (size_t f = 0; f < clrnn_dataset_n_features(data); f++) {
        const char *name = clrnn_dataset_feature_name(data, f);
        if (strlen(name) == stem && strncmp(name, target, stem) == 0)
            return (long)f;
    }
    return -1;
}

/* naive (n, K) <- the naive forecast of each test window's output, in the
 * data's units, NaN for outputs it does not cover; 0 when it covers none. */
static int naive_series(const clrnn_dataset *data, double *naive)
{
    const size_t n = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TEST);
    const size_t K = clrnn_dataset_n_targets(data), F = clrnn_dataset_n_features(data);
    const size_t T = clrnn_dataset_seq_len(data);
    const double *x = clrnn_dataset_x(data);
    int any = 0;
    for (size_t k = 0; k < K; k++) {
        long f = today_feature(data, clrnn_dataset_target_name(data, k));
        any = any || f >= 0;
        for (size_t i = 0; i < n; i++) {
            size_t row = clrnn_dataset_window_start(data, CLRNN_SPLIT_TEST, i) + T - 1;
            double mean = f >= 0 ? clrnn_dataset_row_feature_mean(data, row, (size_t)f) : 0;
            double std = f >= 0 ? clrnn_dataset_row_feature_std(data, row, (size_t)f) : 0;
            naive[i * K + k] = f >= 0 ? x[row * F + (size_t)f] * std + mean : NAN;
        }
    }
    return any;
}

/* What the report needs, (n, K) each. */
typedef struct plot_arrays {
    double *prediction, *truth, *times, *naive;
    size_t *rows;
    const char **labels, **names;
} plot_arrays;

static void arrays_free(plot_arrays *a)
{
    free(a->prediction);
    free(a->truth);
    free(a->times);
    free(a->naive);
    free(a->rows);
    free(a->labels);
    free(a->names);
}

int train_write_plot(train_job *job, const clrnn_train_report *report, const char *note)
{
    const clrnn_dataset *data = job->data;
    size_t n = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TEST);
    const size_t K = clrnn_dataset_n_targets(data), cells = (n ? n : 1) * K;
    clrnn_error err = {CLRNN_E_NOMEM, "out of memory for the plot"};
    plot_arrays a = {malloc(cells * sizeof(double)), malloc(cells * sizeof(double)),
                     malloc(cells * sizeof(double)), malloc(cells * sizeof(double)),
                     malloc(cells * sizeof(size_t)), malloc(cells * sizeof(char *)),
                     malloc(K * sizeof(char *))};
    int ok = a.prediction && a.truth && a.times && a.naive && a.rows && a.labels && a.names;
    if (ok && n > 0)
        ok = clrnn_predict(job->backend, data, CLRNN_SPLIT_TEST, job->o->train.batch, a.prediction,
                           &err) == CLRNN_OK;
    /* The predicted row of each output: its truth, date and label. */
    int have_times = 1, have_labels = 1;
    size_t finite = 0;
    for (size_t k = 0; ok && k < K; k++) {
        a.names[k] = clrnn_dataset_target_label(data, k);
        const double *column = clrnn_dataset_target_column(data, k);
        for (size_t i = 0; i < n; i++) {
            size_t row = clrnn_dataset_window_row(data, CLRNN_SPLIT_TEST, i, k), at = i * K + k;
            a.rows[at] = row;
            a.truth[at] = column[row];
            a.times[at] = clrnn_dataset_row_time(data, row);
            a.labels[at] = clrnn_dataset_row_label(data, row);
            have_times = have_times && isfinite(a.times[at]);
            have_labels = have_labels && a.labels[at];
            finite += isfinite(a.prediction[at]) != 0;
        }
    }
    /* A diverged model's predictions are not finite: the loss curves then. */
    char why[700];
    if (ok && n > 0 && finite == 0) {
        snprintf(why, sizeof why, "%s%sno test predictions: the model's outputs are not finite",
                 note ? note : "", note ? "; " : "");
        note = why;
        n = 0;
    }
    /* Baselines: each a named series of (n, K) predictions, NaN where it
     * does not cover an output, drawn and scored per output; and the
     * figures printed after training as lines under the title. */
    cli_plot_series series[CLI_PLOT_MAX_SERIES];
    cli_plot_metric metrics[2 + CLI_PLOT_MAX_SERIES];
    size_t n_series = 0, n_metrics = 0;
    clrnn_baseline naive;
    char naive_name[320];
    if (ok && n > 0) {
        double sq = 0, abs_sum = 0;
        size_t count = 0;
        for (size_t c = 0; c < n * K; c++)
            if (isfinite(a.prediction[c]) && isfinite(a.truth[c])) {
                double diff = a.prediction[c] - a.truth[c];
                sq += diff * diff;
                abs_sum += fabs(diff);
                count++;
            }
        metrics[n_metrics++] = (cli_plot_metric){
            K > 1 ? "model, test split, all outputs" : "model, test split",
            count ? sqrt(sq / (double)count) : NAN, count ? abs_sum / (double)count : NAN};
        if (naive_series(data, a.naive) &&
            clrnn_naive_baseline(data, CLRNN_SPLIT_TEST, a.prediction, &naive)) {
            series[n_series++] = (cli_plot_series){"naive (tomorrow = today)", a.naive};
            snprintf(naive_name, sizeof naive_name, "naive (tomorrow = today)%s%s",
                     naive.n_targets < K ? " on " : "", naive.n_targets < K ? naive.names : "");
            metrics[n_metrics++] = (cli_plot_metric){naive_name, naive.naive_rmse, naive.naive_mae};
        }
    }
    char title[600];
    snprintf(title, sizeof title, "clrnn train: %s", job->o->data ? job->o->data : "");
    cli_plot_data plot = {.title = title,
                          .train_loss = job->run.train_loss,
                          .val_loss = job->run.val_loss,
                          .n_epochs = report->epochs_run,
                          .kept_epoch =
                              report->best_epoch != report->epochs_run || job->o->train.patience
                                  ? report->best_epoch
                                  : 0,
                          .note = note,
                          .n_points = n,
                          .n_outputs = K,
                          .truth = a.truth,
                          .prediction = a.prediction,
                          .output_names = a.names,
                          .rows = a.rows,
                          .times = have_times ? a.times : NULL,
                          .labels = have_labels ? a.labels : NULL,
                          .series = series,
                          .n_series = n_series,
                          .metrics = metrics,
                          .n_metrics = n_metrics};
    ok = ok && cli_plot_svg(job->o->plot, &plot, &err);
    arrays_free(&a);
    if (!ok)
        return cli_error("clrnn train", &err), 0;
    printf("plot: %s\n", job->o->plot);
    return 1;
}
