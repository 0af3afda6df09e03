/* clrnn train: what it reports: the data summary, the per-epoch logs, the
 * test metrics next to the baselines, and the SVG report. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_baselines.h"
#include "cli_plot.h"
#include "cli_train.h"
#include "core/error.h"

void train_print_data_summary(const train_options *o, const clrnn_dataset *data)
{
    static const char *const names[] = {"train", "validation", "test"};
    printf("data: %s: %zu rows, features %s, target %s, seq-len %zu\n", o->data,
           clrnn_dataset_n_rows(data), o->features, o->targets, clrnn_dataset_seq_len(data));
    if (clrnn_dataset_cells_filled(data))
        printf("data: %zu empty cells filled forward (--missing ffill)\n",
               clrnn_dataset_cells_filled(data));
    if (clrnn_dataset_rows_dropped(data))
        printf("data: %zu rows with empty cells dropped (--missing drop)\n",
               clrnn_dataset_rows_dropped(data));
    for (int s = 0; s < CLRNN_N_SPLITS; s++) {
        size_t begin, end;
        clrnn_dataset_split_rows(data, (clrnn_split)s, &begin, &end);
        printf("%s%s rows %zu-%zu (%zu windows)", s ? ", " : "split: ", names[s], begin, end,
               clrnn_dataset_n_windows(data, (clrnn_split)s));
    }
    printf("\n");
}

/* ---------------------------------------------------------- epoch logs */

int train_open_log(atomic_out *log, const char *path, const char *header)
{
    clrnn_error err;
    if (atomic_open(log, path, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    if (header)
        fputs(header, log->f);
    return 1;
}

static int close_log(atomic_out *log)
{
    clrnn_error err;
    if (!log->f)
        return 1;
    if (atomic_commit(log, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    return 1;
}

int train_close_logs(train_run *run)
{
    int csv = close_log(&run->log_csv);
    return close_log(&run->log_json) && csv;
}

/* JSON has no NaN: a missing figure (no validation windows) is null. */
static void json_number(FILE *f, const char *key, double v, const char *format)
{
    fprintf(f, ", \"%s\": ", key);
    if (isfinite(v))
        fprintf(f, format, v);
    else
        fputs("null", f);
}

void train_log_epoch(const train_run *run, const clrnn_epoch_stats *s)
{
    FILE *csv = run->log_csv.f, *json = run->log_json.f;
    if (csv)
        fprintf(csv, "%zu,%.9g,%.9g,%.6g,%.6g,%.1f,%.4f\n", s->epoch, s->train_loss, s->val_loss,
                s->lr, s->grad_norm, s->windows_per_second, s->seconds);
    if (json) {
        fprintf(json, "{\"epoch\": %zu", s->epoch);
        json_number(json, "train_loss", s->train_loss, "%.9g");
        json_number(json, "val_loss", s->val_loss, "%.9g");
        json_number(json, "lr", s->lr, "%.6g");
        json_number(json, "grad_norm", s->grad_norm, "%.6g");
        json_number(json, "windows_per_second", s->windows_per_second, "%.1f");
        json_number(json, "seconds", s->seconds, "%.4f");
        fprintf(json, "}\n");
    }
}

/* -------------------------------------------------------- test split */

/* Test metrics next to the baselines (cli_baselines.c). */
int train_report_test(train_job *job)
{
    const clrnn_dataset *data = job->data;
    size_t n = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TEST), K = clrnn_dataset_n_targets(data);
    size_t batch = job->o->train.batch;
    clrnn_metrics test;
    clrnn_error err;
    if (clrnn_evaluate(job->backend, data, CLRNN_SPLIT_TEST, batch, &test, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    if (n == 0) {
        printf("test: no test windows (the test split is shorter than one window)\n");
        return 1;
    }
    printf("test: %zu windows, loss %.6g, RMSE %.4f, MAE %.4f (target units, last step of "
           "each window)\n",
           test.n_windows, test.loss, test.rmse, test.mae);
    double *pred = malloc(n * K * sizeof *pred); /* (n, K) */
    clrnn_status st = pred ? clrnn_predict(job->backend, data, CLRNN_SPLIT_TEST, batch, pred, &err)
                           : clrnn__fail(&err, CLRNN_E_NOMEM, "out of memory");
    if (st != CLRNN_OK) {
        free(pred);
        return cli_error("clrnn train", &err), 0;
    }
    int ok = cli_print_baselines("clrnn train", data, CLRNN_SPLIT_TEST, pred, 0);
    free(pred);
    return ok;
}

/* --plot: loss curves and the first target over the test split, against
 * the dates of the predicted rows when the data has row labels. */
int train_write_plot(train_job *job, const clrnn_train_report *report)
{
    const clrnn_dataset *data = job->data;
    size_t n = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TEST);
    size_t K = clrnn_dataset_n_targets(data), T = clrnn_dataset_seq_len(data);
    double *pred = malloc((n ? n : 1) * K * sizeof *pred); /* (n, K) */
    double *truth = malloc((n ? n : 1) * sizeof *truth);   /* (n) first target */
    double *first = malloc((n ? n : 1) * sizeof *first);   /* (n) */
    const char **labels = malloc((n ? n : 1) * sizeof *labels);
    clrnn_error err = {CLRNN_E_NOMEM, "out of memory"};
    int ok = pred && truth && first && labels &&
             (n == 0 || clrnn_predict(job->backend, data, CLRNN_SPLIT_TEST, job->o->train.batch,
                                      pred, &err) == CLRNN_OK);
    int have_labels = 1;
    for (size_t i = 0; ok && i < n; i++) {
        size_t row = clrnn_dataset_window_start(data, CLRNN_SPLIT_TEST, i) + T - 1;
        truth[i] = clrnn_dataset_y_raw(data)[row * K];
        first[i] = pred[i * K];
        labels[i] = clrnn_dataset_row_label(data, row);
        have_labels = have_labels && labels[i];
    }
    cli_plot_data plot = {.train_loss = job->run.train_loss,
                          .val_loss = job->run.val_loss,
                          .n_epochs = report->epochs_run,
                          .truth = truth,
                          .prediction = first,
                          .n_points = n,
                          .labels = have_labels ? labels : NULL,
                          .target_name = clrnn_dataset_target_name(data, 0)};
    ok = ok && cli_plot_svg(job->o->plot, &plot, &err);
    free(pred);
    free(truth);
    free(first);
    free(labels);
    if (!ok)
        return cli_error("clrnn train", &err), 0;
    printf("plot: %s\n", job->o->plot);
    return 1;
}
