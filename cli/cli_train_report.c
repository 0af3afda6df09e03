/* clrnn train: what it reports: the data summary, the per-epoch logs, the
 * test metrics next to the baselines (the SVG report: cli_train_plot.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_baselines.h"
#include "cli_train.h"
#include "core/error.h"

/* The outputs, "tmax_tomorrow" or "tmax+1, tmax+7", into buf. */
static const char *output_list(const clrnn_dataset *data, char *buf, size_t size)
{
    size_t used = 0, K = clrnn_dataset_n_targets(data);
    buf[0] = '\0';
    for (size_t k = 0; k < K && used < size; k++) {
        int w = snprintf(buf + used, size - used, "%s%s", k ? ", " : "",
                         clrnn_dataset_target_label(data, k));
        used = w < 0 ? size : used + (size_t)w;
    }
    return buf;
}

/* The label of the row the last output of window i of a split predicts:
 * the farthest horizon's (the rule of split membership). */
static const char *predicted_label(const clrnn_dataset *data, clrnn_split split, size_t i)
{
    size_t K = clrnn_dataset_n_targets(data), far = 0;
    for (size_t k = 1; k < K; k++)
        if (clrnn_dataset_target_horizon(data, k) > clrnn_dataset_target_horizon(data, far))
            far = k;
    return clrnn_dataset_row_label(data, clrnn_dataset_window_row(data, split, i, far));
}

void train_print_data_summary(const train_options *o, const clrnn_dataset *data)
{
    static const char *const names[] = {"train", "validation", "test"};
    char outputs[1024], warning[1024];
    size_t K = clrnn_dataset_n_targets(data);
    printf("data: %s: %zu rows, features %s, target %s, seq-len %zu\n", o->data,
           clrnn_dataset_n_rows(data), o->features, o->targets, clrnn_dataset_seq_len(data));
    if (K > clrnn_dataset_n_target_columns(data) || clrnn_dataset_target_horizon(data, 0) ||
        clrnn_dataset_differenced(data))
        printf("data: outputs %s%s\n", output_list(data, outputs, sizeof outputs),
               clrnn_dataset_differenced(data)
                   ? " (each learnt as its change from the last known value)"
                   : "");
    if (o->data_cfg.date_features) {
        size_t F = clrnn_dataset_n_features(data), n = 0;
        char list[256] = "";
        for (size_t f = 0; f < F; f++) {
            const char *name = clrnn_dataset_feature_name(data, f);
            if (strstr(name, "_sin") || strstr(name, "_cos"))
                n += (size_t)snprintf(list + n, n < sizeof list ? sizeof list - n : 0, "%s%s",
                                      n ? "," : "", name);
        }
        printf("data: date features %s\n", list);
    }
    train_print_series(o, data);
    if (clrnn_dataset_cells_filled(data))
        printf("data: %zu empty cells filled forward (--missing ffill)\n",
               clrnn_dataset_cells_filled(data));
    if (clrnn_dataset_targets_missing(data))
        printf("data: %zu empty target cells left out of the loss and the metrics\n",
               clrnn_dataset_targets_missing(data));
    if (clrnn_dataset_rows_dropped(data))
        printf("data: %zu rows with empty cells dropped (--missing drop)\n",
               clrnn_dataset_rows_dropped(data));
    for (int s = 0; s < CLRNN_N_SPLITS; s++) {
        size_t begin, end, n = clrnn_dataset_n_windows(data, (clrnn_split)s);
        clrnn_dataset_split_rows(data, (clrnn_split)s, &begin, &end);
        printf("%s%s rows %zu-%zu (%zu windows", s ? ", " : "split: ", names[s], begin, end, n);
        const char *first = n ? predicted_label(data, (clrnn_split)s, 0) : NULL;
        if (first && !isnan(clrnn_dataset_row_time(data, 0))) /* dates */
            printf(", predicting %s .. %s", first, predicted_label(data, (clrnn_split)s, n - 1));
        printf(")");
    }
    printf("\n");
    if (clrnn_dataset_range_warning(data, warning, sizeof warning))
        printf("warning: %s\n", warning);
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

/* The test metrics of each output (target and horizon), when there are
 * several. */
static int print_outputs(train_job *job, size_t batch)
{
    size_t K = clrnn_dataset_n_targets(job->data);
    clrnn_output_metrics *each = malloc(K * sizeof *each);
    clrnn_metrics pooled;
    clrnn_error err = {CLRNN_E_NOMEM, "out of memory"};
    if (!each || clrnn_evaluate_outputs(job->backend, job->data, CLRNN_SPLIT_TEST, batch, &pooled,
                                        each, &err) != CLRNN_OK) {
        free(each);
        return cli_error("clrnn train", &err), 0;
    }
    for (size_t k = 0; k < K; k++)
        printf("test %s: %zu cells, RMSE %.4f, MAE %.4f\n",
               clrnn_dataset_target_label(job->data, k), each[k].n_scored, each[k].rmse,
               each[k].mae);
    free(each);
    return 1;
}

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
    if (K > 1 && !print_outputs(job, batch))
        return 0;
    double *pred = malloc(n * K * sizeof *pred); /* (n, K) */
    clrnn_status st = pred ? clrnn_predict(job->backend, data, CLRNN_SPLIT_TEST, batch, pred, &err)
                           : clrnn__fail(&err, CLRNN_E_NOMEM, "out of memory");
    if (st != CLRNN_OK) {
        free(pred);
        return cli_error("clrnn train", &err), 0;
    }
    int ok = cli_print_baselines("clrnn train", data, CLRNN_SPLIT_TEST, pred, 0) &&
             train_report_series(job, pred);
    free(pred);
    return ok;
}
