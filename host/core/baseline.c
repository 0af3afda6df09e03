/*
 * Baselines: the naive forecast, the seasonal naive forecast and a ridge
 * regression on the same window of inputs, for every output of a dataset,
 * scored on exactly the cells the model is scored on.
 *
 * Legend: R = rows, F = features, T = seq_len, K = outputs, N = windows of
 * a split, D = T F + 1 (a window's inputs and the intercept), h = an
 * output's horizon, p = the row an output of a window predicts
 * (clrnn_dataset_window_row). Everything goes through the dataset's
 * accessors: the target column of output k (raw, unshifted, NaN where
 * missing), its horizon and the row each window predicts.
 *
 * The ridge regression, per output k:
 *   design row of window s:  a = (1, x[s], x[s + 1], ..., x[s + T - 1])   (D)
 *                            x the standardised inputs, so a[1..] is the
 *                            contiguous slice x[s F .. (s + T) F)
 *   target:                  y = column_k[p]
 *   fit:                     (G / n + lambda P) w = b / n,
 *                            G = sum a a^T, b = sum a y over the n training
 *                            windows whose target is present, P = diag(0,
 *                            1, ..., 1): the intercept is not penalised
 *   strength:                lambda on a log grid (1e-4 .. 1e4 by default),
 *                            the one of lowest validation RMSE; 1 when the
 *                            validation split has no cell of this output.
 * It is fitted on the training windows only and not refitted on training
 * and validation together: the model's weights see the training windows
 * and its early stopping the validation windows, and so does the ridge. The
 * normal equations are solved by Cholesky in double precision; the design
 * matrix itself is never formed (G is summed window by window).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clrnn.h"
#include "core/error.h"

static const char *const baseline_names[CLRNN_N_BASELINES] = {"naive", "seasonal naive", "ridge"};

const char *clrnn_baseline_name(clrnn_baseline_kind kind)
{
    return (unsigned)kind < CLRNN_N_BASELINES ? baseline_names[kind] : NULL;
}

clrnn_baseline_config clrnn_baseline_config_default(void)
{
    return (clrnn_baseline_config){.season = 0,
                                   .ridge_lambda_min = 1e-4,
                                   .ridge_lambda_max = 1e4,
                                   .ridge_lambda_steps = 9,
                                   .ridge_max_inputs = 2048};
}

/* The present cell of column (R) at row q, or whole steps of `step` rows
 * before it; NaN when q lies before the first row or no cell is present. */
static double present_at_or_before(const double *column, long q, size_t step)
{
    for (; q >= 0; q -= (long)step)
        if (!isnan(column[q]))
            return column[q];
    return NAN;
}

/* forecasts (N, K) <- the naive (season 0) or seasonal naive forecast. */
static void naive_forecasts(const clrnn_dataset *data, clrnn_split split, size_t season,
                            double *forecasts)
{
    size_t N = clrnn_dataset_n_windows(data, split), K = clrnn_dataset_n_targets(data);
    size_t R = clrnn_dataset_n_rows(data);
    for (size_t k = 0; k < K; k++) {
        const double *column = clrnn_dataset_target_column(data, k); /* (R) */
        size_t h = clrnn_dataset_target_horizon(data, k), ahead = h > 1 ? h : 1;
        /* what is known when the forecast is made: rows up to p - ahead */
        size_t lag = season ? season * ((ahead + season - 1) / season) : ahead;
        for (size_t i = 0; i < N; i++) {
            size_t p = clrnn_dataset_window_row(data, split, i, k);
            forecasts[i * K + k] =
                p < R ? present_at_or_before(column, (long)p - (long)lag, season ? season : 1)
                      : NAN;
        }
    }
}

/* ------------------------------------------------------------- ridge */

/* What the ridge fit of one dataset holds. */
typedef struct ridge {
    const clrnn_dataset *data;
    size_t D, F, T, R, K;
    const double *x;       /* (R, F) standardised inputs */
    double *gram;          /* (D, D) upper triangle: sum a a^T over the usable training windows */
    double *work;          /* (D, D) one output's normal equations, then their factor */
    double *a;             /* (D) a design row */
    double *b;             /* (D) one output's sum a y */
    double *w;             /* (D) one output's coefficients */
    unsigned char *usable; /* (N_train) the window's inputs are all finite */
} ridge;

/* a (D) <- (1, the window's T F inputs); 0 when one of them is not finite. */
static int design_row(const ridge *r, size_t start, double *a)
{
    const double *in = r->x + start * r->F;
    a[0] = 1.0;
    for (size_t j = 0; j + 1 < r->D; j++) {
        if (!isfinite(in[j]))
            return 0;
        a[j + 1] = in[j];
    }
    return 1;
}

/* g (D, D) upper triangle += sign a a^T */
static void add_outer(double *g, const double *a, size_t D, double sign)
{
    for (size_t i = 0; i < D; i++) {
        double s = sign * a[i];
        double *row = g + i * D;
        for (size_t j = i; j < D; j++)
            row[j] += s * a[j];
    }
}

/* gram (D, D) upper triangle <- sum a a^T over N windows starting at rows
 * s0, s0 + 1, ..., all of whose inputs are finite. Windows one row apart
 * share their rows, so an entry between steps t <= t' (lag d = t' - t) of
 * features f, f' is a sum of x[r][f] x[r + d][f'] over N consecutive rows
 * r from s0 + t: it slides along t by one row in, one row out. That takes
 * T F^2 (N + T) multiply-adds instead of N (T F)^2 / 2. */
static void gram_sliding(double *gram, const ridge *r, size_t s0, size_t N)
{
    size_t T = r->T, F = r->F, D = r->D;
    const double *x = r->x;
    gram[0] = (double)N;
    for (size_t f = 0; f < F; f++) { /* the intercept's row: column sums */
        double sum = 0.0;
        for (size_t q = s0; q < s0 + N; q++)
            sum += x[q * F + f];
        for (size_t t = 0; t < T; t++) {
            gram[1 + t * F + f] = sum;
            if (t + 1 < T) /* row s0 + T - 1 + N may lie past the table's last */
                sum += x[(s0 + t + N) * F + f] - x[(s0 + t) * F + f];
        }
    }
    for (size_t d = 0; d < T; d++)
        for (size_t f = 0; f < F; f++)
            for (size_t g = 0; g < F; g++) {
                if (d == 0 && g < f)
                    continue; /* the lower triangle */
                double sum = 0.0;
                for (size_t q = s0; q < s0 + N; q++)
                    sum += x[q * F + f] * x[(q + d) * F + g];
                for (size_t t = 0; t + d < T; t++) {
                    gram[(1 + t * F + f) * D + 1 + (t + d) * F + g] = sum;
                    size_t in = s0 + t + N, out = s0 + t; /* rows, at lag d */
                    if (t + d + 1 < T)
                        sum += x[in * F + f] * x[(in + d) * F + g] -
                               x[out * F + f] * x[(out + d) * F + g];
                }
            }
}

/* The target of output k of training window i, NaN when absent. */
static double train_target(const ridge *r, size_t i, size_t k)
{
    size_t p = clrnn_dataset_window_row(r->data, CLRNN_SPLIT_TRAIN, i, k);
    return p < r->R ? clrnn_dataset_target_column(r->data, k)[p] : NAN;
}

/* Cholesky of the upper triangle of m (D, D), in place: m = U^T U, row by
 * row, each row's update of the rows below it along contiguous memory. 0
 * when m is not positive definite to working precision. */
static int cholesky(double *m, size_t D)
{
    for (size_t i = 0; i < D; i++) {
        double *row = m + i * D;
        if (!(row[i] > 0.0))
            return 0;
        double d = sqrt(row[i]);
        row[i] = d;
        for (size_t j = i + 1; j < D; j++)
            row[j] /= d;
        for (size_t j = i + 1; j < D; j++) { /* the trailing block -= row^T row */
            double r = row[j], *below = m + j * D;
            for (size_t l = j; l < D; l++)
                below[l] -= r * row[l];
        }
    }
    return 1;
}

/* w (D) <- the solution of U^T U w = b, U the factor above; b is used up. */
static void cholesky_solve(const double *u, double *b, double *w, size_t D)
{
    for (size_t i = 0; i < D; i++) { /* U^T z = b, z in w */
        w[i] = b[i] / u[i * D + i];
        for (size_t k = i + 1; k < D; k++)
            b[k] -= u[i * D + k] * w[i];
    }
    for (size_t i = D; i-- > 0;) { /* U w = z */
        double s = w[i];
        for (size_t k = i + 1; k < D; k++)
            s -= u[i * D + k] * w[k];
        w[i] = s / u[i * D + i];
    }
}

/* r->w <- the ridge coefficients of strength lambda for the sums gram_k
 * (upper triangle) and r->b over n cells. 0 when not solvable. */
static int ridge_solve(ridge *r, const double *gram_k, size_t n, double lambda)
{
    size_t D = r->D;
    double *bn = r->a; /* b / n; the design row buffer is free here */
    for (size_t i = 0; i < D; i++) {
        for (size_t j = i; j < D; j++)
            r->work[i * D + j] = gram_k[i * D + j] / (double)n;
        if (i > 0)
            r->work[i * D + i] += lambda;
        bn[i] = r->b[i] / (double)n;
    }
    if (!cholesky(r->work, D))
        return 0;
    cholesky_solve(r->work, bn, r->w, D);
    return 1;
}

/* The forecast of output k for window start s with coefficients r->w. */
static double ridge_forecast(ridge *r, size_t start)
{
    if (!design_row(r, start, r->a))
        return NAN;
    double s = 0.0;
    for (size_t j = 0; j < r->D; j++)
        s += r->w[j] * r->a[j];
    return s;
}

/* Validation RMSE of output k with r->w; NaN when no validation cell. */
static double ridge_val_rmse(ridge *r, size_t k)
{
    size_t N = clrnn_dataset_n_windows(r->data, CLRNN_SPLIT_VAL), n = 0;
    const double *column = clrnn_dataset_target_column(r->data, k);
    double sq = 0.0;
    for (size_t i = 0; i < N; i++) {
        size_t p = clrnn_dataset_window_row(r->data, CLRNN_SPLIT_VAL, i, k);
        if (p >= r->R || isnan(column[p]))
            continue;
        double f = ridge_forecast(r, clrnn_dataset_window_start(r->data, CLRNN_SPLIT_VAL, i));
        if (isfinite(f)) {
            sq += (f - column[p]) * (f - column[p]);
            n++;
        }
    }
    return n ? sqrt(sq / (double)n) : NAN;
}

/* gram_k (D, D) and r->b <- the sums over the usable training windows
 * whose output k is present, from r->gram: the absent ones taken out when
 * they are the fewer, else summed anew. Returns the count of cells. */
static size_t output_sums(ridge *r, size_t k, double *gram_k, size_t n_usable)
{
    size_t N = clrnn_dataset_n_windows(r->data, CLRNN_SPLIT_TRAIN), D = r->D, n = 0;
    for (size_t i = 0; i < N; i++)
        n += r->usable[i] && !isnan(train_target(r, i, k));
    int take_out = n_usable - n <= n;
    if (take_out)
        memcpy(gram_k, r->gram, D * D * sizeof *gram_k);
    else
        memset(gram_k, 0, D * D * sizeof *gram_k);
    memset(r->b, 0, D * sizeof *r->b);
    for (size_t i = 0; i < N; i++) {
        if (!r->usable[i])
            continue;
        double y = train_target(r, i, k);
        design_row(r, clrnn_dataset_window_start(r->data, CLRNN_SPLIT_TRAIN, i), r->a);
        if (isnan(y)) {
            if (take_out)
                add_outer(gram_k, r->a, D, -1.0);
            continue;
        }
        if (!take_out)
            add_outer(gram_k, r->a, D, 1.0);
        for (size_t j = 0; j < D; j++)
            r->b[j] += r->a[j] * y;
    }
    return n;
}

static clrnn_status ridge_forecasts(const clrnn_dataset *data, clrnn_split split,
                                    const clrnn_baseline_config *c, double *forecasts,
                                    clrnn_baseline_fit *fit, clrnn_error *err)
{
    ridge r = {.data = data,
               .F = clrnn_dataset_n_features(data),
               .T = clrnn_dataset_seq_len(data),
               .R = clrnn_dataset_n_rows(data),
               .K = clrnn_dataset_n_targets(data),
               .x = clrnn_dataset_x(data)};
    size_t inputs = r.T * r.F, N = clrnn_dataset_n_windows(data, split);
    size_t N_train = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TRAIN);
    if (inputs > c->ridge_max_inputs)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "the ridge baseline's window has %zu inputs (`seq_len` %zu x %zu "
                           "features), more than `ridge_max_inputs` (%zu)",
                           inputs, r.T, r.F, c->ridge_max_inputs);
    if (c->ridge_lambda_steps < 1 || !(c->ridge_lambda_min > 0.0) ||
        !(c->ridge_lambda_max >= c->ridge_lambda_min))
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "the ridge baseline's grid needs 0 < `ridge_lambda_min` <= "
                           "`ridge_lambda_max` and `ridge_lambda_steps` >= 1");
    if (N_train == 0)
        return clrnn__fail(err, CLRNN_E_INPUT, "the ridge baseline has no training windows");
    r.D = inputs + 1;
    size_t D = r.D;
    r.gram = malloc(D * D * sizeof *r.gram);
    r.work = malloc(D * D * sizeof *r.work);
    double *gram_k = malloc(D * D * sizeof *gram_k);
    r.a = malloc(D * sizeof *r.a);
    r.b = malloc(D * sizeof *r.b);
    r.w = malloc(D * sizeof *r.w);
    r.usable = malloc(N_train);
    clrnn_status st = CLRNN_OK;
    if (!r.gram || !r.work || !gram_k || !r.a || !r.b || !r.w || !r.usable) {
        st = clrnn__fail(err, CLRNN_E_NOMEM,
                         "out of memory for the ridge baseline's normal equations: 3 x %zu^2 "
                         "doubles (%.0f MiB) for windows of %zu inputs (`seq_len` x features)",
                         D, 3.0 * (double)D * (double)D * 8.0 / 1048576.0, inputs);
        goto done;
    }
    /* The sum over every usable training window, shared by the outputs:
     * slid along the rows when the windows are consecutive and finite. */
    memset(r.gram, 0, D * D * sizeof *r.gram);
    size_t n_usable = 0, s0 = clrnn_dataset_window_start(data, CLRNN_SPLIT_TRAIN, 0);
    int consecutive = 1;
    for (size_t i = 0; i < N_train; i++) {
        size_t start = clrnn_dataset_window_start(data, CLRNN_SPLIT_TRAIN, i);
        r.usable[i] = (unsigned char)design_row(&r, start, r.a);
        n_usable += r.usable[i];
        consecutive = consecutive && start == s0 + i;
    }
    if (consecutive && n_usable == N_train) {
        gram_sliding(r.gram, &r, s0, N_train);
    } else {
        for (size_t i = 0; i < N_train; i++)
            if (r.usable[i] &&
                design_row(&r, clrnn_dataset_window_start(data, CLRNN_SPLIT_TRAIN, i), r.a))
                add_outer(r.gram, r.a, D, 1.0);
    }
    fit->lambda = NAN;
    fit->lambda_from_val = 0;
    fit->n_fit = 0;
    size_t steps = c->ridge_lambda_steps;
    double ratio =
        steps > 1 ? log(c->ridge_lambda_max / c->ridge_lambda_min) / (double)(steps - 1) : 0.0;
    for (size_t k = 0; k < r.K; k++) {
        size_t n = output_sums(&r, k, gram_k, n_usable);
        double best = 1.0, best_rmse = INFINITY;
        int solved = 0;
        for (size_t g = 0; n > 0 && g < steps; g++) {
            double lambda = c->ridge_lambda_min * exp(ratio * (double)g);
            if (!ridge_solve(&r, gram_k, n, lambda))
                continue;
            double rmse = ridge_val_rmse(&r, k);
            if (isfinite(rmse) && rmse < best_rmse) {
                best_rmse = rmse;
                best = lambda;
                fit->lambda_from_val = 1;
            }
        }
        if (n > 0)
            solved = ridge_solve(&r, gram_k, n, best);
        for (size_t i = 0; i < N; i++)
            forecasts[i * r.K + k] =
                solved ? ridge_forecast(&r, clrnn_dataset_window_start(data, split, i)) : NAN;
        if (solved) {
            fit->n_fit += n;
            fit->lambda = isnan(fit->lambda) || best > fit->lambda ? best : fit->lambda;
        }
    }
    if (fit->n_fit == 0)
        st = clrnn__fail(err, CLRNN_E_INPUT,
                         "the ridge baseline has no training window with a present target and "
                         "finite inputs");
done:
    free(r.gram);
    free(r.work);
    free(gram_k);
    free(r.a);
    free(r.b);
    free(r.w);
    free(r.usable);
    return st;
}

clrnn_status clrnn_baseline_predict(const clrnn_dataset *data, clrnn_split split,
                                    clrnn_baseline_kind kind, const clrnn_baseline_config *config,
                                    double *forecasts, clrnn_baseline_fit *fit, clrnn_error *err)
{
    clrnn_baseline_config c = config ? *config : clrnn_baseline_config_default();
    clrnn_baseline_fit own;
    if (!fit)
        fit = &own;
    memset(fit, 0, sizeof *fit);
    fit->kind = kind;
    fit->lambda = NAN;
    if ((unsigned)split >= CLRNN_N_SPLITS)
        return clrnn__fail(err, CLRNN_E_INPUT, "no such split");
    switch (kind) {
    case CLRNN_BASELINE_NAIVE:
        naive_forecasts(data, split, 0, forecasts);
        return CLRNN_OK;
    case CLRNN_BASELINE_SEASONAL:
        fit->season = c.season ? c.season : clrnn_dataset_season(data);
        if (fit->season == 0)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "the seasonal naive baseline needs a `season` of at least 1 row");
        naive_forecasts(data, split, fit->season, forecasts);
        return CLRNN_OK;
    case CLRNN_BASELINE_RIDGE:
        return ridge_forecasts(data, split, &c, forecasts, fit, err);
    default:
        return clrnn__fail(err, CLRNN_E_INPUT, "no such baseline (%d)", (int)kind);
    }
}

void clrnn_baseline_compare(const clrnn_dataset *data, clrnn_split split, const double *forecasts,
                            const double *predictions, size_t output, clrnn_baseline_score *out)
{
    size_t N = clrnn_dataset_n_windows(data, split), K = clrnn_dataset_n_targets(data);
    size_t R = clrnn_dataset_n_rows(data);
    double sq = 0.0, abs_sum = 0.0, model_sq = 0.0, model_abs = 0.0;
    out->n_cells = out->n_scored = 0;
    for (size_t k = 0; k < K; k++) {
        if (output != CLRNN_ALL_OUTPUTS && k != output)
            continue;
        const double *column = clrnn_dataset_target_column(data, k);
        for (size_t i = 0; i < N; i++) {
            size_t p = clrnn_dataset_window_row(data, split, i, k);
            if (p >= R || isnan(column[p]))
                continue; /* not scored */
            out->n_scored++;
            double f = forecasts[i * K + k], m = predictions[i * K + k];
            if (!isfinite(f) || !isfinite(m))
                continue;
            sq += (f - column[p]) * (f - column[p]);
            abs_sum += fabs(f - column[p]);
            model_sq += (m - column[p]) * (m - column[p]);
            model_abs += fabs(m - column[p]);
            out->n_cells++;
        }
    }
    double n = (double)out->n_cells;
    out->rmse = out->n_cells ? sqrt(sq / n) : NAN;
    out->mae = out->n_cells ? abs_sum / n : NAN;
    out->model_rmse = out->n_cells ? sqrt(model_sq / n) : NAN;
    out->model_mae = out->n_cells ? model_abs / n : NAN;
}
