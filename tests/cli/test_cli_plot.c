/*
 * The --plot report from its input (cli_plot.h), without training: dates
 * on the x axis at calendar ticks (years, months, hours, across a leap
 * day), one group of panels an output, baselines that cover some outputs
 * only, the kept epoch, thin lines without dots at thousands of points,
 * and text from the data escaped (issue 12, item 10).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli_plot.h"

enum { EPOCHS = 5, K = 2 };

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *text = malloc((size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
    }
    if (text)
        text[n] = '\0';
    fclose(f);
    return text;
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *at = text; (at = strstr(at, what)) != NULL; at += strlen(what))
        n++;
    return n;
}

/* Writes a report of n points, one every `step` seconds from t0, to path;
 * its text (malloc'd), or NULL. */
static char *report(const char *path, size_t n, double t0, double step)
{
    double train[EPOCHS] = {1.0, 0.6, 0.5, 0.45, 0.47}, val[EPOCHS] = {1.1, 0.7, 0.55, 0.5, 0.52};
    double *truth = malloc(n * K * sizeof *truth), *pred = malloc(n * K * sizeof *pred);
    double *times = malloc(n * K * sizeof *times), *naive = malloc(n * K * sizeof *naive);
    size_t *rows = malloc(n * K * sizeof *rows);
    if (!truth || !pred || !times || !naive || !rows)
        return NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < K; k++) {
            size_t at = i * K + k;
            truth[at] = sin(0.05 * (double)i) + (double)k;
            pred[at] = truth[at] + 0.1 * cos((double)i);
            naive[at] = k == 0 && i > 0 ? sin(0.05 * (double)(i - 1)) : NAN;
            times[at] = t0 + step * (double)i;
            rows[at] = 100 + i;
        }
    const char *names[K] = {"y<1>", "y & 2"};
    cli_plot_series series[1] = {{"naive (tomorrow = today)", naive}};
    cli_plot_metric metrics[2] = {{"model, test split", 0.0707, 0.0637}, {"naive", 0.05, NAN}};
    cli_plot_data d = {.train_loss = train,
                       .val_loss = val,
                       .n_epochs = EPOCHS,
                       .kept_epoch = 4,
                       .n_points = n,
                       .n_outputs = K,
                       .truth = truth,
                       .prediction = pred,
                       .output_names = names,
                       .rows = rows,
                       .times = times,
                       .series = series,
                       .n_series = 1,
                       .metrics = metrics,
                       .n_metrics = 2};
    clrnn_error err;
    int ok = cli_plot_svg(path, &d, &err);
    if (!ok)
        printf("%s\n", err.message);
    free(truth);
    free(pred);
    free(times);
    free(naive);
    free(rows);
    return ok ? slurp(path) : NULL;
}

int main(void)
{
    char path[] = "/tmp/clrnn_plot_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return printf("no temporary file\n"), 1;
    close(fd); /* cli_plot_svg writes beside it and renames */
    /* 2,500 days from 2016-01-01 (to 2022-11-04). */
    char *svg = report(path, 2500, 1451606400.0, 86400.0);
    check_true(svg != NULL, "a report of 2,500 daily points, 2 outputs");
    if (!svg)
        return check_summary();
    check_true(strstr(svg, "Output 1 of 2: y&lt;1&gt;") && strstr(svg, "Output 2 of 2: y &amp; 2"),
               "a group an output, names escaped");
    check_true(count(svg, "over the test split: actual and predicted") == K &&
                   count(svg, ": residual of the model") == K &&
                   count(svg, ": the last 250 test points (zoom)") == K,
               "each group: the whole split, the residual, the last 10% (250 points)");
    check_true(strstr(svg, ">2016<") && strstr(svg, ">2019<") && strstr(svg, ">2022<") &&
                   !strstr(svg, ">2023<"),
               "the whole split: a tick on each 1 January, 2016 to 2022");
    check_true(strstr(svg, ">2022-03<") && strstr(svg, ">2022-07<") && strstr(svg, ">2022-11<") &&
                   !strstr(svg, ">2022-02<"),
               "the zoom (2022-02-28 to 2022-11-04): every other month's first day");
    check_true(strstr(svg, "date of the predicted row") != NULL, "the axis says dates");
    check_true(strstr(svg, ">model, test split: RMSE 0.0707, MAE 0.0637<") &&
                   strstr(svg, ">naive: RMSE 0.0500<"),
               "the metric lines as given, a NaN MAE left out");
    check_true(strstr(svg, ">naive (tomorrow = today): does not cover this output<") != NULL,
               "a baseline without values for an output says so there");
    check_true(strstr(svg, ">kept epoch 4<") != NULL, "the kept epoch in the loss legend");
    check_true(count(svg, "<circle") == 2 * EPOCHS + 1,
               "dots on the loss curves and the kept epoch only, none on 2,500 points");
    check_true(strstr(svg, "stroke-width='0.8'") != NULL, "thin lines at 2,500 points");
    free(svg);

    /* 48 hours from 2024-02-28 18:00, across the leap day. */
    svg = report(path, 48, 1709143200.0, 3600.0);
    check_true(svg && strstr(svg, ">02-29 00:00<") && strstr(svg, ">03-01 12:00<") &&
                   !strstr(svg, ">03-00"),
               "hourly points: ticks every 6 hours, 29 February in its place");
    free(svg);
    if (getenv("CLRNN_KEEP_PLOT"))
        printf("kept %s\n", path);
    else
        remove(path);
    return check_summary();
}
