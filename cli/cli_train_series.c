/* clrnn train's figures per series (--series): a compact table of the test
 * split on stdout (every series when there are few, else the worst and the
 * best), and every series into --log's sibling FILE_series.csv and into
 * --log-json as one line a series. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_train.h"
#include "core/error.h"

#define SERIES_SHOWN 5 /* the worst and the best shown when there are more than twice */

/* Series indices by RMSE, highest first; a series with no cell scored last. */
static const clrnn_series_metrics *sort_metrics;

static int by_rmse(const void *a, const void *b)
{
    double x = sort_metrics[*(const size_t *)a].rmse, y = sort_metrics[*(const size_t *)b].rmse;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x < y) - (x > y);
}

static void print_row(const clrnn_dataset *data, const clrnn_series_metrics *m, size_t s)
{
    printf("  %-16.40s %8zu %10.4f %10.4f %10.4f %10.4f\n", clrnn_dataset_series_id(data, s),
           m[s].n_scored, m[s].rmse, m[s].mae, m[s].naive_rmse, m[s].naive_mae);
}

/* --log FILE: FILE_series.csv (FILE's .csv, if any, replaced). */
static void series_log_path(char *out, size_t size, const char *log)
{
    size_t n = strlen(log);
    if (n >= 4 && !strcmp(log + n - 4, ".csv"))
        n -= 4;
    snprintf(out, size, "%.*s_series.csv", (int)n, log);
}

static void json_text(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_figure(FILE *f, const char *key, double v)
{
    fprintf(f, ", \"%s\": ", key);
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

static int write_logs(train_job *job, const clrnn_series_metrics *m, size_t S)
{
    const clrnn_dataset *data = job->data;
    FILE *json = job->run.log_json.f;
    for (size_t s = 0; json && s < S; s++) {
        fputs("{\"series\": ", json);
        json_text(json, clrnn_dataset_series_id(data, s));
        fprintf(json, ", \"split\": \"test\", \"n_scored\": %zu", m[s].n_scored);
        json_figure(json, "rmse", m[s].rmse);
        json_figure(json, "mae", m[s].mae);
        json_figure(json, "naive_rmse", m[s].naive_rmse);
        json_figure(json, "naive_mae", m[s].naive_mae);
        fputs("}\n", json);
    }
    if (!job->o->log_csv)
        return 1;
    char path[4096];
    atomic_out out;
    clrnn_error err;
    series_log_path(path, sizeof path, job->o->log_csv);
    if (atomic_open(&out, path, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    fprintf(out.f, "series,split,n_scored,rmse,mae,naive_rmse,naive_mae\n");
    for (size_t s = 0; s < S; s++) {
        cli_csv_field(out.f, clrnn_dataset_series_id(data, s));
        fprintf(out.f, ",test,%zu,%.9g,%.9g,%.9g,%.9g\n", m[s].n_scored, m[s].rmse, m[s].mae,
                m[s].naive_rmse, m[s].naive_mae);
    }
    if (atomic_commit(&out, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    printf("per-series test metrics: %s\n", path);
    return 1;
}

void train_print_series(const train_options *o, const clrnn_dataset *data)
{
    const char *column = clrnn_dataset_series_column(data);
    if (!column)
        return;
    size_t S = clrnn_dataset_n_series(data), shortest = SIZE_MAX, longest = 0;
    for (size_t s = 0; s < S; s++) {
        size_t b, e;
        clrnn_dataset_series_rows(data, s, &b, &e);
        shortest = e - b < shortest ? e - b : shortest;
        longest = e - b > longest ? e - b : longest;
    }
    printf("data: %zu series in column '%s' (%zu to %zu rows), %s, %s scaler; the split's rows "
           "below span the series\n",
           S, column, shortest, longest,
           o->data_cfg.split_by_series ? "whole series held out" : "split within each series",
           o->data_cfg.scale_per_series ? "each series' own" : "one");
}

int train_report_series(train_job *job, const double *predictions)
{
    const clrnn_dataset *data = job->data;
    size_t S = clrnn_dataset_n_series(data);
    if (!clrnn_dataset_series_id(data, 0))
        return 1; /* one series, no --series */
    clrnn_series_metrics *m = malloc(S * sizeof *m), all;
    size_t *order = malloc(S * sizeof *order);
    if (!m || !order) {
        free(m);
        free(order);
        fprintf(stderr, "clrnn train: out of memory for the metrics of %zu series\n", S);
        return 0;
    }
    clrnn_metrics_by_series(data, CLRNN_SPLIT_TEST, predictions, m, &all);
    size_t tested = 0;
    for (size_t s = 0; s < S; s++) {
        order[s] = s;
        tested += m[s].n_scored > 0;
    }
    sort_metrics = m;
    qsort(order, S, sizeof *order, by_rmse);
    printf("test by series: %zu of %zu series tested; over all: RMSE %.4f, MAE %.4f, naive "
           "(last known value) RMSE %.4f, MAE %.4f\n",
           tested, S, all.rmse, all.mae, all.naive_rmse, all.naive_mae);
    printf("  %-16s %8s %10s %10s %10s %10s\n", "series", "cells", "RMSE", "MAE", "naive RMSE",
           "naive MAE");
    if (tested <= 2 * SERIES_SHOWN) {
        for (size_t i = 0; i < tested; i++)
            print_row(data, m, order[i]);
    } else {
        printf("  the %d worst:\n", SERIES_SHOWN);
        for (size_t i = 0; i < SERIES_SHOWN; i++)
            print_row(data, m, order[i]);
        printf("  the %d best:\n", SERIES_SHOWN);
        for (size_t i = tested - SERIES_SHOWN; i < tested; i++)
            print_row(data, m, order[i]);
    }
    int ok = write_logs(job, m, S);
    free(m);
    free(order);
    return ok;
}
