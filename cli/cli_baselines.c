/* The baselines' lines: naive, seasonal naive and ridge forecasts of a
 * split, each on its own line in the form of the model's test line, and a
 * plain sentence where the model does not beat one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_args.h"
#include "cli_baselines.h"

/* What the line says the baseline is. */
static void describe(char *buf, size_t size, const clrnn_dataset *data,
                     const clrnn_baseline_fit *fit)
{
    switch (fit->kind) {
    case CLRNN_BASELINE_NAIVE:
        snprintf(buf, size, "the target's last known value");
        break;
    case CLRNN_BASELINE_SEASONAL:
        snprintf(buf, size, "the value %zu rows a season back", fit->season);
        break;
    default:
        snprintf(buf, size, "on the window's %zu inputs, strength %g %s",
                 clrnn_dataset_seq_len(data) * clrnn_dataset_n_features(data), fit->lambda,
                 fit->lambda_from_val ? "picked on validation" : "(no validation cells)");
    }
}

/* "naive baseline: 2027 windows, RMSE ..., MAE ... (...)" when every cell
 * is scored, "2018 scored cells" when missing targets leave some out (the
 * bundled weather table's test split), or for one output of several
 * "  tmin: 2020 scored cells, RMSE ..., MAE ...; the model: RMSE ..., MAE
 * ...". */
static void print_score(const char *name, const char *label, const clrnn_baseline_score *s,
                        size_t n_windows, size_t K, const char *about)
{
    if (label)
        printf("  %s: ", label);
    else
        printf("%s baseline: ", name);
    if (s->n_cells == 0) {
        printf("no forecast for any scored cell (%s)\n", about);
        return;
    }
    if (s->n_cells == s->n_scored && s->n_scored == n_windows * (label ? 1 : K))
        printf("%zu windows, ", n_windows); /* every cell */
    else if (s->n_cells == s->n_scored)
        printf("%zu scored cells, ", s->n_cells); /* missing targets are not scored */
    else
        printf("%zu of %zu scored cells, ", s->n_cells, s->n_scored);
    printf("RMSE %.4f, MAE %.4f", s->rmse, s->mae);
    if (!label)
        printf(" (%s)", about);
    if (s->n_cells != s->n_scored || label)
        printf("; the model%s: RMSE %.4f, MAE %.4f", label ? "" : " on these cells", s->model_rmse,
               s->model_mae);
    printf("\n");
}

static void print_verdict(const char *name, const char *label, const clrnn_baseline_score *s)
{
    if (s->n_cells && !(s->model_rmse < s->rmse))
        printf("the model does not beat the %s forecast%s%s: RMSE %.4f against %.4f\n", name,
               label ? " on " : "", label ? label : "", s->model_rmse, s->rmse);
}

int cli_print_baselines(const char *command, const clrnn_dataset *data, clrnn_split split,
                        const double *predictions, size_t season)
{
    size_t n = clrnn_dataset_n_windows(data, split), K = clrnn_dataset_n_targets(data);
    clrnn_baseline_config config = clrnn_baseline_config_default();
    config.season = season;
    if (n == 0)
        return 1;
    double *forecasts = malloc(n * K * sizeof *forecasts); /* (n, K) */
    /* (CLRNN_N_BASELINES, 1 + K): each baseline pooled, then per output */
    clrnn_baseline_score *scores = malloc(CLRNN_N_BASELINES * (1 + K) * sizeof *scores);
    int made[CLRNN_N_BASELINES] = {0}, failed = 0;
    if (!forecasts || !scores) {
        free(forecasts);
        free(scores);
        fprintf(stderr, "%s: out of memory for the baselines' forecasts\n", command);
        return 0;
    }
    for (int b = 0; b < CLRNN_N_BASELINES; b++) {
        clrnn_baseline_kind kind = (clrnn_baseline_kind)b;
        const char *name = clrnn_baseline_name(kind);
        clrnn_baseline_score *mine = scores + (size_t)b * (1 + K);
        clrnn_baseline_fit fit;
        clrnn_error err;
        char about[160], message[sizeof err.message + 256];
        if (kind == CLRNN_BASELINE_SEASONAL && !season && !clrnn_dataset_season(data))
            continue; /* no season, no seasonal naive */
        clrnn_status st = clrnn_baseline_predict(data, split, kind, &config, forecasts, &fit, &err);
        if (st == CLRNN_E_NOMEM && kind != CLRNN_BASELINE_RIDGE) {
            free(forecasts);
            free(scores);
            return cli_error(command, &err), 0;
        }
        if (st != CLRNN_OK) { /* the ridge's design too large: the others still count */
            printf("%s baseline: none: %s\n", name, cli_message(message, sizeof message, &err));
            failed = 1;
            continue;
        }
        describe(about, sizeof about, data, &fit);
        made[b] = 1;
        clrnn_baseline_compare(data, split, forecasts, predictions, CLRNN_ALL_OUTPUTS, &mine[0]);
        print_score(name, NULL, &mine[0], n, K, about);
        for (size_t k = 0; K > 1 && k < K; k++) {
            clrnn_baseline_compare(data, split, forecasts, predictions, k, &mine[1 + k]);
            print_score(name, clrnn_dataset_target_label(data, k), &mine[1 + k], n, K, about);
        }
    }
    int any = 0, all = 1, every_output = 1;
    for (int b = 0; b < CLRNN_N_BASELINES; b++) {
        const clrnn_baseline_score *mine = scores + (size_t)b * (1 + K);
        if (!made[b])
            continue;
        const char *name = clrnn_baseline_name((clrnn_baseline_kind)b);
        print_verdict(name, NULL, &mine[0]);
        for (size_t k = 0; K > 1 && k < K; k++) {
            print_verdict(name, clrnn_dataset_target_label(data, k), &mine[1 + k]);
            /* An output a baseline beats is not beaten "everywhere". */
            every_output =
                every_output && (!mine[1 + k].n_cells || mine[1 + k].model_rmse < mine[1 + k].rmse);
        }
        any = 1;
        all = all && mine[0].n_cells && mine[0].model_rmse < mine[0].rmse;
    }
    if (any && all && !failed)
        printf(every_output ? "the model beats every baseline on RMSE\n"
                            : "the model beats every baseline on RMSE over all outputs, not on "
                              "each of them\n");
    free(forecasts);
    free(scores);
    return 1;
}

int cli_report_baselines(const char *command, clrnn_backend *backend, const clrnn_dataset *data,
                         clrnn_split split, size_t batch, size_t season)
{
    size_t n = clrnn_dataset_n_windows(data, split), K = clrnn_dataset_n_targets(data);
    double *pred = malloc((n ? n : 1) * K * sizeof *pred); /* (n, K) */
    clrnn_error err = {CLRNN_E_NOMEM, "out of memory for the model's predictions"};
    if (!pred || (n && clrnn_predict(backend, data, split, batch, pred, &err) != CLRNN_OK)) {
        free(pred);
        return cli_error(command, &err), 0;
    }
    int ok = cli_print_baselines(command, data, split, pred, season);
    free(pred);
    return ok;
}
