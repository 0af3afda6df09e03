/*
 * clrnn explain: input attributions of a saved model. For each window of a
 * split, clrnn_backend_input_gradients gives the gradient of the window's
 * prediction of an output (its last step's) with respect to every input
 * the model read: each feature at each lag, lag 0 being the window's last
 * row. The inputs are those the model sees, standardised by the model's
 * scaler; the prediction is in the target's units (the model's output
 * times the target's standard deviation). Summed over the windows: mean
 * |gradient| (how much a change of one standard deviation of that input
 * moves the prediction), the mean gradient (which way) and mean gradient x
 * input (the input's first-order
 * share of the prediction's distance from the one at the inputs' means).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cli_common.h"
#include "cli_explain.h"
#include "cli_plot.h"
#include "core/error.h"
#include "io/files.h"

typedef struct sums {
    size_t K, F, T;
    double *abs_grad, *grad, *grad_x; /* (K, F, T) means over the windows, lag last */
} sums;

/* The attributions of every output over the job's windows. */
static clrnn_status attribute(const cli_explain_job *job, sums *s, clrnn_error *err)
{
    const clrnn_dataset *d = job->data;
    const size_t n = clrnn_dataset_n_windows(d, job->split), T = s->T, F = s->F, K = s->K;
    const size_t B = job->batch, M = job->n_backends;
    const double *x = clrnn_dataset_x(d); /* (R, F) scaled, as staged */
    uint32_t *starts = malloc((n ? n : 1) * sizeof *starts);
    double *dx = malloc(B * T * F * sizeof *dx), *g = malloc(B * T * F * sizeof *g);
    clrnn_status st = CLRNN_OK;
    if (!starts || !dx || !g)
        st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for the input gradients");
    for (size_t i = 0; st == CLRNN_OK && i < n; i++)
        starts[i] = (uint32_t)clrnn_dataset_window_start(d, job->split, i);
    for (size_t k = 0; st == CLRNN_OK && k < K; k++)
        for (size_t i = 0; st == CLRNN_OK && i < n; i += B) {
            const size_t nb = n - i < B ? n - i : B;
            memset(g, 0, nb * T * F * sizeof *g);
            for (size_t m = 0; st == CLRNN_OK && m < M; m++) {
                st = clrnn_backend_input_gradients(job->backends[m], starts + i, nb, k, dx, err);
                for (size_t j = 0; st == CLRNN_OK && j < nb * T * F; j++)
                    g[j] += dx[j];
            }
            for (size_t w = 0; st == CLRNN_OK && w < nb; w++) {
                const size_t start = starts[i + w];
                /* d prediction = d output x the output's standard deviation */
                const double sd = clrnn_dataset_row_target_std(d, start + T - 1, k) / (double)M;
                for (size_t t = 0; t < T; t++)
                    for (size_t f = 0; f < F; f++) {
                        const double v = g[(w * T + t) * F + f] * sd;
                        const size_t at = (k * F + f) * T + (T - 1 - t);
                        s->abs_grad[at] += fabs(v);
                        s->grad[at] += v;
                        s->grad_x[at] += v * x[(start + t) * F + f];
                    }
            }
        }
    for (size_t j = 0; st == CLRNN_OK && j < K * F * T; j++) {
        s->abs_grad[j] /= (double)n;
        s->grad[j] /= (double)n;
        s->grad_x[j] /= (double)n;
    }
    free(starts);
    free(dx);
    free(g);
    return st;
}

static int write_csv(const cli_explain_job *job, const sums *s)
{
    const clrnn_dataset *d = job->data;
    atomic_out out;
    clrnn_error err;
    if (atomic_open(&out, job->out, &err) != CLRNN_OK)
        return cli_error(job->command, &err), 0;
    fprintf(out.f, "output,feature,lag,mean_abs_grad,mean_grad,mean_grad_x_input\n");
    for (size_t k = 0; k < s->K; k++)
        for (size_t f = 0; f < s->F; f++)
            for (size_t lag = 0; lag < s->T; lag++) {
                const size_t at = (k * s->F + f) * s->T + lag;
                cli_csv_field(out.f, clrnn_dataset_target_label(d, k));
                fputc(',', out.f);
                cli_csv_field(out.f, clrnn_dataset_feature_name(d, f));
                fprintf(out.f, ",%zu,%.10g,%.10g,%.10g\n", lag, s->abs_grad[at], s->grad[at],
                        s->grad_x[at]);
            }
    if (atomic_commit(&out, &err) != CLRNN_OK)
        return cli_error(job->command, &err), 0;
    return 1;
}

static int write_plot(const cli_explain_job *job, const sums *s, size_t n)
{
    const clrnn_dataset *d = job->data;
    const char **outputs = malloc(s->K * sizeof *outputs);
    const char **features = malloc(s->F * sizeof *features);
    if (!outputs || !features) {
        free(outputs);
        free(features);
        return fprintf(stderr, "%s: out of memory\n", job->command), 0;
    }
    for (size_t k = 0; k < s->K; k++)
        outputs[k] = clrnn_dataset_target_label(d, k);
    for (size_t f = 0; f < s->F; f++)
        features[f] = clrnn_dataset_feature_name(d, f);
    char subtitle[256];
    snprintf(subtitle, sizeof subtitle,
             "mean |d prediction / d input| over the %zu windows of the %s split (prediction in "
             "the target's units, inputs standardised)",
             n, job->split_name);
    cli_heatmap h = {"clrnn explain: input attributions",
                     subtitle,
                     s->K,
                     s->F,
                     s->T,
                     s->abs_grad,
                     outputs,
                     features};
    clrnn_error err;
    int ok = cli_plot_heatmap_svg(job->plot, &h, &err);
    if (!ok)
        cli_error(job->command, &err);
    free(outputs);
    free(features);
    return ok;
}

/* Each output's inputs and lags of the largest mean |gradient|, at most 5. */
static void print_top(const cli_explain_job *job, const sums *s)
{
    const size_t FT = s->F * s->T, shown = FT < 5 ? FT : 5;
    for (size_t k = 0; k < s->K; k++) {
        const double *v = s->abs_grad + k * FT;
        printf("%s: largest mean |gradient|:", clrnn_dataset_target_label(job->data, k));
        int taken[5] = {-1, -1, -1, -1, -1};
        for (size_t r = 0; r < shown; r++) {
            size_t best = SIZE_MAX;
            for (size_t j = 0; j < FT; j++) {
                int used = 0;
                for (size_t q = 0; q < r; q++)
                    used |= taken[q] == (int)j;
                if (!used && (best == SIZE_MAX || v[j] > v[best]))
                    best = j;
            }
            taken[r] = (int)best;
            printf("%s %s lag %zu %.4g", r ? "," : "",
                   clrnn_dataset_feature_name(job->data, best / s->T), best % s->T, v[best]);
        }
        printf("\n");
    }
}

int cli_explain_run(const cli_explain_job *job)
{
    const clrnn_dataset *d = job->data;
    sums s = {clrnn_dataset_n_targets(d),
              clrnn_dataset_n_features(d),
              clrnn_dataset_seq_len(d),
              NULL,
              NULL,
              NULL};
    const size_t n = clrnn_dataset_n_windows(d, job->split), cells = s.K * s.F * s.T;
    s.abs_grad = calloc(cells, sizeof *s.abs_grad);
    s.grad = calloc(cells, sizeof *s.grad);
    s.grad_x = calloc(cells, sizeof *s.grad_x);
    clrnn_error err;
    int ok = 0;
    if (!s.abs_grad || !s.grad || !s.grad_x)
        fprintf(stderr, "%s: out of memory\n", job->command);
    else if (attribute(job, &s, &err) != CLRNN_OK)
        cli_error(job->command, &err);
    else if (write_csv(job, &s) && (!job->plot || write_plot(job, &s, n)))
        ok = 1;
    if (ok) {
        printf("explain: gradients of %zu windows' predictions (%s split) with respect to %zu "
               "inputs at %zu lags, %zu output(s): %zu rows written to %s%s%s\n",
               n, job->split_name, s.F, s.T, s.K, cells, job->out,
               job->plot ? ", heat map to " : "", job->plot ? job->plot : "");
        printf("(gradients of the prediction in the target's units with respect to the "
               "standardised inputs; gradient x input with the standardised input)\n");
        print_top(job, &s);
    }
    free(s.abs_grad);
    free(s.grad);
    free(s.grad_x);
    return ok;
}
