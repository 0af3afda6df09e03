/*
 * The training loop over a dataset: shuffled mini-batches of windows, one
 * optimizer step per batch, the validation loss after each epoch. It only
 * enqueues work on the backend; losses come back once per epoch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "clrnn.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/stateful.h"

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

/* Whether the window at start has an observed (non-NaN) target among the
 * cells its loss covers: one that does not adds nothing but 0 to a loss. */
static int window_observed(const clrnn_dataset *data, size_t start, clrnn_loss_steps loss_steps)
{
    size_t T = clrnn_dataset_seq_len(data), K = clrnn_dataset_n_targets(data);
    const double *y = clrnn_dataset_y(data);
    for (size_t t = loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0; t < T; t++)
        for (size_t k = 0; k < K; k++)
            if (!isnan(y[(start + t) * K + k]))
                return 1;
    return 0;
}

/* The split's windows with an observed loss cell, in order: those that
 * train, and those a split's loss is the mean over. */
static uint32_t *observed_starts(const clrnn_dataset *data, clrnn_split split,
                                 clrnn_loss_steps loss_steps, size_t *n)
{
    size_t all;
    uint32_t *starts = split_starts(data, split, &all);
    *n = 0;
    for (size_t i = 0; starts && i < all; i++)
        if (window_observed(data, starts[i], loss_steps))
            starts[(*n)++] = starts[i];
    return starts;
}

void clrnn_train_config_default(clrnn_train_config *config)
{
    memset(config, 0, sizeof *config);
    config->epochs = 20;
    config->batch = 32;
    /* Chosen from measurements across the bench's shapes, 5 seeds each
     * (README, "Why these defaults"): nothing diverged under them, where
     * SGD lr 0.01 momentum 0.9 diverged on 4 seeds of 5 of a random walk. */
    config->optimizer = (clrnn_optimizer){.kind = CLRNN_ADAM,
                                          .lr = 3e-3,
                                          .momentum = 0.9,
                                          .beta1 = 0.9,
                                          .beta2 = 0.999,
                                          .eps = 1e-8,
                                          .clip_norm = 1.0};
    config->shuffle = 1;
    config->schedule = CLRNN_LR_COSINE;
    config->step_epochs = 10;
    config->step_gamma = 0.5;
}

double clrnn_lr_at(const clrnn_train_config *config, long step, long steps_per_epoch,
                   long total_steps)
{
    double lr = config->optimizer.lr;
    if (config->schedule == CLRNN_LR_STEP && config->step_epochs > 0) {
        long epoch = step / steps_per_epoch;
        lr *= pow(config->step_gamma, (double)(epoch / (long)config->step_epochs));
    } else if (config->schedule == CLRNN_LR_COSINE && total_steps > 0) {
        /* step / total_steps < 1: the last step's lr is small but not 0,
         * which an update would refuse. */
        double progress = (double)step / (double)total_steps;
        lr *= 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
    }
    if (config->warmup_steps > 0 && (size_t)step < config->warmup_steps)
        lr *= (double)(step + 1) / (double)config->warmup_steps;
    return lr;
}

/* Windows v (n) <- the split's windows in the order of epoch `epoch`:
 * Fisher-Yates from a generator seeded by (seed, epoch) alone, so a resumed
 * run shuffles exactly as an uninterrupted one. */
static void epoch_order(uint32_t *v, const uint32_t *sorted, size_t n, int do_shuffle,
                        uint32_t seed, size_t epoch)
{
    memcpy(v, sorted, n * sizeof *v);
    if (!do_shuffle)
        return;
    clrnn_rng rng;
    clrnn_rng_seed(&rng, seed ^ (uint32_t)(epoch * 0x9E3779B9u));
    for (size_t i = n; i > 1; i--) {
        size_t j = clrnn_rng_below(&rng, (uint32_t)i);
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

/* Stateful: out (R,K) <- every row's output from stateful passes, and the
 * mean window loss of a split's windows (those with an observed cell)
 * from them, each window's loss over its steps as mse_forward_cpu's. */
static double rows_split_loss(const clrnn_dataset *data, clrnn_split split,
                              clrnn_loss_steps loss_steps, const double *out)
{
    size_t n = clrnn_dataset_n_windows(data, split), T = clrnn_dataset_seq_len(data);
    size_t K = clrnn_dataset_n_targets(data), n_loss = 0;
    const double *y = clrnn_dataset_y(data);
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t start = clrnn_dataset_window_start(data, split, i), seen = 0;
        double acc = 0.0;
        for (size_t t = loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0; t < T; t++)
            for (size_t k = 0; k < K; k++) {
                size_t at = (start + t) * K + k;
                if (isnan(y[at]))
                    continue;
                double diff = out[at] - y[at];
                acc += 0.5 * diff * diff;
                seen++;
            }
        if (seen) {
            total += acc / (double)seen;
            n_loss++;
        }
    }
    return n_loss ? total / (double)n_loss : NAN;
}

static clrnn_status stateful_split_loss(clrnn_backend *backend, const clrnn_dataset *data,
                                        clrnn_split split, double *loss, clrnn_error *err)
{
    size_t RK = clrnn_dataset_n_rows(data) * clrnn_dataset_n_targets(data);
    double *out = malloc(RK * sizeof *out), sum;
    clrnn_status st = out ? stateful_outputs(backend, data, out, err)
                          : clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for %zu outputs", RK);
    if (st == CLRNN_OK) /* the pass's losses are not the split's */
        st = clrnn_backend_take_loss_sum(backend, &sum, err);
    *loss = st == CLRNN_OK ? rows_split_loss(data, split, backend->loss_steps, out) : NAN;
    free(out);
    return st;
}

/* L2 norm of the gradient the backend holds (P values read back). */
static clrnn_status grad_norm(clrnn_backend *backend, double *grads, double *norm, clrnn_error *err)
{
    clrnn_status st = clrnn_backend_get_grads(backend, grads, err);
    double acc = 0.0;
    for (size_t i = 0; st == CLRNN_OK && i < clrnn_backend_n_params(backend); i++)
        acc += grads[i] * grads[i];
    *norm = st == CLRNN_OK ? sqrt(acc) : NAN;
    return st;
}

/* One epoch of shuffled mini-batches; the loss comes back once, at the end.
 * The gradient norm is read on the last batch, before its update (so before
 * clipping): one read-back an epoch. */
/* Stateful: before the batch of n windows at position i of the plan,
 * each window's initial state: 0 in the epoch's first batch, else the
 * last batch's, carried (0 where the plan resets). */
static clrnn_status start_states(clrnn_backend *backend, const stateful_plan *plan, size_t i,
                                 size_t n, clrnn_error *err)
{
    clrnn_status st = CLRNN_OK;
    if (i == 0) {
        for (size_t l = 0; st == CLRNN_OK && l < clrnn_backend_n_layers(backend); l++)
            st = clrnn_backend_set_initial_state(backend, l, NULL, n, err);
        return st;
    }
    const unsigned char *reset = NULL; /* none: no flags cross to the device */
    for (size_t b = 0; b < n && !reset; b++)
        if (plan->reset[i + b])
            reset = plan->reset + i;
    return clrnn_backend_carry_state(backend, reset, n, err);
}

static clrnn_status train_epoch(clrnn_backend *backend, const clrnn_train_config *config,
                                const uint32_t *order, size_t n_train, size_t epoch, long *step,
                                long steps_per_epoch, long total_steps, double *grads,
                                const stateful_plan *plan, clrnn_epoch_stats *stats,
                                clrnn_error *err)
{
    clrnn_optimizer opt = config->optimizer;
    double loss_sum = 0.0;
    /* The epoch's order crosses to the device once; batches take slices. */
    clrnn_status st = clrnn_backend_stage_order(backend, order, n_train, err);
    for (size_t i = 0; st == CLRNN_OK && i < n_train; i += config->batch) {
        size_t n = n_train - i < config->batch ? n_train - i : config->batch;
        opt.lr = stats->lr = clrnn_lr_at(config, (*step)++, steps_per_epoch, total_steps);
        if (plan)
            st = start_states(backend, plan, i, n, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_gradients_staged(backend, i, n, err);
        if (st == CLRNN_OK && i + n == n_train)
            st = grad_norm(backend, grads, &stats->grad_norm, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_update(backend, &opt, err);
        if (st == CLRNN_OK && config->on_batch)
            config->on_batch(config->context, epoch, i + n, n_train);
        if (st == CLRNN_OK && config->cancel && *config->cancel)
            st = clrnn__fail(err, CLRNN_E_CANCELLED, "cancelled in epoch %zu", epoch + 1);
    }
    if (st == CLRNN_OK)
        st = clrnn_backend_take_loss_sum(backend, &loss_sum, err);
    stats->train_loss = loss_sum / (double)n_train;
    return st;
}

/* What early stopping rolls back to: the weights of the best epoch and the
 * optimizer state that goes with them, so that a model saved after an early
 * stop is exactly the checkpoint of its best epoch. */
typedef struct best_state {
    double *params, *opt_m, *opt_v; /* (P) each */
    long step;
} best_state;

static clrnn_status keep_best(clrnn_backend *backend, best_state *best, clrnn_error *err)
{
    clrnn_status st = clrnn_backend_get_params(backend, best->params, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_get_optimizer_state(backend, best->opt_m, best->opt_v, &best->step, err);
    return st;
}

static clrnn_status restore_best(clrnn_backend *backend, const best_state *best, clrnn_error *err)
{
    clrnn_status st = clrnn_backend_set_params(backend, best->params, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_set_optimizer_state(backend, best->opt_m, best->opt_v, best->step, err);
    return st;
}

static void print_epoch(FILE *out, const clrnn_epoch_stats *s)
{
    fprintf(
        out,
        "epoch %4zu  train loss %.6g  val loss %.6g  lr %.3g  grad norm %.3g  %.0f windows/s%s\n",
        s->epoch, s->train_loss, s->val_loss, s->lr, s->grad_norm, s->windows_per_second,
        s->improved ? "  *" : "");
    fflush(out);
}

/* Bookkeeping after an epoch: the report, the best score, early stopping.
 * *stop is set when patience has run out. */
static clrnn_status after_epoch(clrnn_backend *backend, const clrnn_train_config *config,
                                clrnn_epoch_stats *stats, int have_val, best_state *best,
                                size_t *since_best, clrnn_train_report *report, int *stop,
                                clrnn_error *err)
{
    clrnn_status st = CLRNN_OK;
    /* Without validation windows the training loss decides what is best. */
    double score = have_val ? stats->val_loss : stats->train_loss;
    stats->improved = score < report->best_val_loss;
    report->epochs_run = stats->epoch;
    report->train_loss = stats->train_loss;
    report->val_loss = stats->val_loss;
    report->seconds += stats->seconds;
    if (stats->improved) {
        report->best_val_loss = score;
        report->best_epoch = stats->epoch;
        *since_best = 0;
        if (config->patience)
            st = keep_best(backend, best, err);
    } else {
        ++*since_best;
    }
    if (config->out)
        print_epoch(config->out, stats);
    if (st == CLRNN_OK && config->on_epoch)
        st = config->on_epoch(config->context, stats, backend, err);
    *stop = config->patience && *since_best >= config->patience;
    return st;
}

clrnn_status clrnn_train(clrnn_backend *backend, const clrnn_dataset *data,
                         const clrnn_train_config *config, clrnn_train_report *report,
                         clrnn_error *err)
{
    size_t n_train, n_val, P = clrnn_backend_n_params(backend);
    stateful_plan plan = {0};
    if (config->stateful) {
        clrnn_status st = clrnn_backend_set_stateful(backend, 1, err);
        if (st == CLRNN_OK)
            st = stateful_plan_make(&plan, data, CLRNN_SPLIT_TRAIN, config->batch, err);
        if (st != CLRNN_OK) {
            *report = (clrnn_train_report){
                config->start_epoch, config->start_epoch, NAN, NAN, INFINITY, 0.0, 0.0, 0};
            return st;
        }
    }
    uint32_t *sorted = observed_starts(data, CLRNN_SPLIT_TRAIN, backend->loss_steps, &n_train);
    if (config->stateful && sorted) { /* the plan's windows, in the plan's order */
        free(sorted);
        sorted = malloc(plan.n_windows * sizeof *sorted);
        if (sorted)
            memcpy(sorted, plan.order, plan.n_windows * sizeof *sorted);
        n_train = plan.n_windows;
    }
    uint32_t *val = observed_starts(data, CLRNN_SPLIT_VAL, backend->loss_steps, &n_val);
    uint32_t *order = malloc((n_train ? n_train : 1) * sizeof *order);
    double *grads = malloc(P * sizeof *grads);
    best_state best = {malloc(P * sizeof *best.params), malloc(P * sizeof *best.opt_m),
                       malloc(P * sizeof *best.opt_v), 0};
    clrnn_status st = CLRNN_OK;
    *report = (clrnn_train_report){
        config->start_epoch, config->start_epoch, NAN, NAN, INFINITY, 0.0, 0.0, 0};
    if (!sorted || !val || !order || !grads || !best.params || !best.opt_m || !best.opt_v) {
        st = clrnn__fail(err, CLRNN_E_NOMEM,
                         "out of memory: training keeps 4 host copies of the model's %zu "
                         "parameters (%.1f MiB) and the window lists of %zu windows",
                         P, 4.0 * (double)P * sizeof(double) / 1048576.0, n_train + n_val);
        goto done;
    }
    if (n_train == 0 || config->batch == 0) {
        st = clrnn__fail(err, CLRNN_E_INPUT,
                         "no training windows (none with an observed target), or a batch of 0");
        goto done;
    }
    long steps_per_epoch = (long)((n_train + config->batch - 1) / config->batch);
    long total_steps = steps_per_epoch * (long)config->epochs;
    long step = steps_per_epoch * (long)config->start_epoch;
    size_t since_best = 0;
    int stop = 0;
    double sum;
    st = clrnn_backend_take_loss_sum(backend, &sum, err); /* start from zero */
    for (size_t epoch = config->start_epoch; st == CLRNN_OK && !stop && epoch < config->epochs;
         epoch++) {
        double t0 = clock_seconds();
        clrnn_epoch_stats stats = {epoch + 1, NAN, NAN, NAN, NAN, 0, 0, 0};
        epoch_order(order, sorted, n_train, config->shuffle && !config->stateful, config->seed,
                    epoch);
        st = train_epoch(backend, config, order, n_train, epoch, &step, steps_per_epoch,
                         total_steps, grads, config->stateful ? &plan : NULL, &stats, err);
        stats.seconds = clock_seconds() - t0;
        stats.windows_per_second = stats.seconds > 0 ? (double)n_train / stats.seconds : 0.0;
        if (st == CLRNN_OK && !isfinite(stats.train_loss))
            st = clrnn__fail(err, CLRNN_E_NUMERIC,
                             "the training loss is %s at epoch %zu: try a lower "
                             "`optimizer.lr` or `optimizer.clip_norm`",
                             isnan(stats.train_loss) ? "NaN" : "infinite", epoch + 1);
        if (st == CLRNN_OK && config->stateful)
            st = stateful_split_loss(backend, data, CLRNN_SPLIT_VAL, &stats.val_loss, err);
        else if (st == CLRNN_OK)
            st = split_loss(backend, val, n_val, config->batch, &stats.val_loss, err);
        if (st == CLRNN_OK)
            st = after_epoch(backend, config, &stats, n_val > 0, &best, &since_best, report, &stop,
                             err);
    }
    report->stopped_early = st == CLRNN_OK && stop && report->epochs_run < config->epochs;
    if (st == CLRNN_OK && config->patience && report->best_epoch != report->epochs_run &&
        report->best_epoch > config->start_epoch) {
        st = restore_best(backend, &best, err); /* keep the best weights */
    } else if (st == CLRNN_E_NUMERIC && config->patience &&
               report->best_epoch > config->start_epoch) {
        /* A diverged run keeps its best epoch, not its last finite one:
         * the error stands, and the backend holds the best weights. */
        clrnn_status restored = restore_best(backend, &best, NULL);
        if (restored != CLRNN_OK)
            st = clrnn__fail(err, restored, "a diverged run could not restore its best epoch");
    } else {
        report->best_epoch = report->epochs_run;
    }
    if (report->seconds > 0)
        report->windows_per_second =
            (double)(n_train * (report->epochs_run - config->start_epoch)) / report->seconds;
done:
    stateful_plan_free(&plan);
    free(sorted);
    free(val);
    free(order);
    free(grads);
    free(best.params);
    free(best.opt_m);
    free(best.opt_v);
    return st;
}

clrnn_status clrnn_predict(clrnn_backend *backend, const clrnn_dataset *data, clrnn_split split,
                           size_t batch, double *predictions, clrnn_error *err)
{
    size_t n, T = clrnn_dataset_seq_len(data), K = clrnn_dataset_n_targets(data);
    size_t top = clrnn_backend_n_layers(backend) - 1; /* its outputs are the targets */
    uint32_t *starts = split_starts(data, split, &n);
    double *y = malloc(batch * T * K * sizeof *y); /* (B, T, K) */
    clrnn_status st = CLRNN_OK;
    if (!starts || !y)
        st = clrnn__fail(err, CLRNN_E_NOMEM,
                         "out of memory for the outputs of a batch of %zu windows (try a "
                         "smaller `max_batch`)",
                         batch);
    /* A differenced output's change goes on its last known value. */
    const double *base = clrnn_dataset_differenced(data) ? clrnn_dataset_y_base(data) : NULL;
    if (st == CLRNN_OK && backend->stateful) { /* every row from the series' history */
        size_t RK = clrnn_dataset_n_rows(data) * K;
        double *out = malloc(RK * sizeof *out);
        st = out ? stateful_outputs(backend, data, out, err)
                 : clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for %zu outputs", RK);
        for (size_t i = 0; st == CLRNN_OK && i < n; i++)
            for (size_t k = 0; k < K; k++) {
                size_t row = starts[i] + T - 1;
                double v = out[row * K + k] * clrnn_dataset_row_target_std(data, row, k) +
                           clrnn_dataset_row_target_mean(data, row, k);
                predictions[i * K + k] = base ? v + base[row * K + k] : v;
            }
        free(out);
        n = 0; /* done */
    }
    for (size_t i = 0; st == CLRNN_OK && i < n; i += batch) {
        size_t nb = n - i < batch ? n - i : batch;
        st = clrnn_backend_forward(backend, starts + i, nb, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_get_outputs(backend, top, y, err);
        for (size_t b = 0; st == CLRNN_OK && b < nb; b++)
            for (size_t k = 0; k < K; k++) {
                size_t row = starts[i + b] + T - 1; /* its series' scaler, if its own */
                double v = y[(b * T + T - 1) * K + k] * clrnn_dataset_row_target_std(data, row, k) +
                           clrnn_dataset_row_target_mean(data, row, k);
                if (base)
                    v += base[(starts[i + b] + T - 1) * K + k];
                predictions[(i + b) * K + k] = v;
            }
    }
    free(starts);
    free(y);
    return st;
}

/* Index of the feature X of a target named X_tomorrow, or -1. */
static long today_feature(const clrnn_dataset *data, const char *target, size_t F)
{
    const char *suffix = strstr(target, "_tomorrow");
    if (!suffix || suffix[9] != '\0')
        return -1;
    size_t stem = (size_t)(suffix - target);
    for (size_t f = 0; f < F; f++)
        if (strlen(clrnn_dataset_feature_name(data, f)) == stem &&
            strncmp(clrnn_dataset_feature_name(data, f), target, stem) == 0)
            return (long)f;
    return -1;
}

int clrnn_naive_baseline(const clrnn_dataset *data, clrnn_split split, const double *predictions,
                         clrnn_baseline *out)
{
    size_t F = clrnn_dataset_n_features(data), K = clrnn_dataset_n_targets(data);
    size_t T = clrnn_dataset_seq_len(data), n = clrnn_dataset_n_windows(data, split);
    const double *x = clrnn_dataset_x(data), *y = clrnn_dataset_y_raw(data);
    double naive_sq = 0.0, naive_abs = 0.0, model_sq = 0.0, model_abs = 0.0;
    size_t count = 0;
    memset(out, 0, sizeof *out);
    for (size_t k = 0; k < K; k++) {
        const char *target = clrnn_dataset_target_name(data, k);
        long f = today_feature(data, target, F);
        if (f < 0)
            continue;
        size_t used = strlen(out->names);
        snprintf(out->names + used, sizeof out->names - used, "%s%s", used ? "," : "", target);
        out->n_targets++;
        for (size_t i = 0; i < n; i++) {
            size_t row = clrnn_dataset_window_start(data, split, i) + T - 1;
            double mean = clrnn_dataset_row_feature_mean(data, row, (size_t)f);
            double std = clrnn_dataset_row_feature_std(data, row, (size_t)f);
            double today = x[row * F + (size_t)f] * std + mean; /* back in units */
            if (isnan(y[row * K + k]))
                continue; /* a masked cell */
            double naive = today - y[row * K + k], model = predictions[i * K + k] - y[row * K + k];
            naive_sq += naive * naive;
            naive_abs += fabs(naive);
            model_sq += model * model;
            model_abs += fabs(model);
            count++;
        }
    }
    if (count == 0)
        return 0;
    out->naive_rmse = sqrt(naive_sq / (double)count);
    out->naive_mae = naive_abs / (double)count;
    out->model_rmse = sqrt(model_sq / (double)count);
    out->model_mae = model_abs / (double)count;
    return 1;
}

clrnn_status clrnn_evaluate_outputs(clrnn_backend *backend, const clrnn_dataset *data,
                                    clrnn_split split, size_t batch, clrnn_metrics *metrics,
                                    clrnn_output_metrics *outputs, clrnn_error *err)
{
    size_t n = clrnn_dataset_n_windows(data, split), T = clrnn_dataset_seq_len(data);
    size_t K = clrnn_dataset_n_targets(data), n_loss = 0;
    double *pred = malloc((n ? n : 1) * K * sizeof *pred); /* (n, K) */
    double *sums = calloc(2 * K, sizeof *sums);            /* squares (K), absolutes (K) */
    size_t *counts = calloc(K, sizeof *counts);
    double loss_sum = 0.0, sq = 0.0, abs_sum = 0.0;
    size_t scored = 0;
    *metrics = (clrnn_metrics){n, NAN, NAN, NAN, 0};
    for (size_t k = 0; outputs && k < K; k++)
        outputs[k] = (clrnn_output_metrics){0, NAN, NAN};
    clrnn_status st = CLRNN_OK;
    if (!pred || !sums || !counts)
        st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for the predictions of %zu windows", n);
    if (st == CLRNN_OK)
        st = clrnn_backend_take_loss_sum(backend, &loss_sum, err); /* zero it */
    if (st == CLRNN_OK)
        st = clrnn_predict(backend, data, split, batch, pred, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_take_loss_sum(backend, &loss_sum, err);
    double stateful_loss = NAN; /* the pass's own losses are not the split's */
    if (st == CLRNN_OK && backend->stateful)
        st = stateful_split_loss(backend, data, split, &stateful_loss, err);
    const double *y_raw = clrnn_dataset_y_raw(data);
    for (size_t i = 0; st == CLRNN_OK && i < n; i++) {
        size_t start = clrnn_dataset_window_start(data, split, i), row = start + T - 1;
        n_loss += (size_t)window_observed(data, start, backend->loss_steps);
        for (size_t k = 0; k < K; k++) {
            if (isnan(y_raw[row * K + k]))
                continue; /* masked: the row's target is missing */
            double diff = pred[i * K + k] - y_raw[row * K + k];
            sq += diff * diff;
            abs_sum += fabs(diff);
            sums[k] += diff * diff;
            sums[K + k] += fabs(diff);
            counts[k]++;
            scored++;
        }
    }
    if (st == CLRNN_OK && n > 0) {
        metrics->n_scored = scored;
        metrics->loss = backend->stateful ? stateful_loss
                        : n_loss          ? loss_sum / (double)n_loss
                                          : NAN;
        metrics->rmse = scored ? sqrt(sq / (double)scored) : NAN;
        metrics->mae = scored ? abs_sum / (double)scored : NAN;
        for (size_t k = 0; outputs && k < K; k++)
            if (counts[k])
                outputs[k] = (clrnn_output_metrics){counts[k], sqrt(sums[k] / (double)counts[k]),
                                                    sums[K + k] / (double)counts[k]};
    }
    free(pred);
    free(sums);
    free(counts);
    return st;
}

/* Sums of one series' errors, then its figures. */
static void series_add(double *sums, size_t *counts, double error, double naive)
{
    sums[0] += error * error;
    sums[1] += fabs(error);
    counts[0]++;
    if (isnan(naive))
        return;
    sums[2] += naive * naive;
    sums[3] += fabs(naive);
    counts[1]++;
}

static clrnn_series_metrics series_figures(const double *sums, const size_t *counts)
{
    double n = (double)counts[0], m = (double)counts[1];
    return (clrnn_series_metrics){
        counts[0], counts[0] ? sqrt(sums[0] / n) : NAN, counts[0] ? sums[1] / n : NAN,
        counts[1], counts[1] ? sqrt(sums[2] / m) : NAN, counts[1] ? sums[3] / m : NAN};
}

void clrnn_metrics_by_series(const clrnn_dataset *data, clrnn_split split,
                             const double *predictions, clrnn_series_metrics *out,
                             clrnn_series_metrics *overall)
{
    size_t n = clrnn_dataset_n_windows(data, split), T = clrnn_dataset_seq_len(data);
    size_t K = clrnn_dataset_n_targets(data), S = clrnn_dataset_n_series(data);
    const double *y = clrnn_dataset_y_raw(data), *base = clrnn_dataset_y_base(data);
    double all_sums[4] = {0}, sums[4] = {0};
    size_t all_counts[2] = {0}, counts[2] = {0}, series = 0;
    /* Windows come series by series (clrnn_dataset_window_start), so one
     * series' sums are done when the next series starts. */
    for (size_t s = 0; out && s < S; s++)
        out[s] = series_figures(sums, counts);
    for (size_t i = 0; i <= n; i++) {
        size_t row = i < n ? clrnn_dataset_window_start(data, split, i) + T - 1 : 0;
        size_t s = i < n ? clrnn_dataset_row_series(data, row) : S;
        if (s != series && (counts[0] || counts[1])) {
            if (out)
                out[series] = series_figures(sums, counts);
            memset(sums, 0, sizeof sums);
            memset(counts, 0, sizeof counts);
        }
        series = s;
        for (size_t k = 0; i < n && k < K; k++) {
            if (isnan(y[row * K + k]))
                continue; /* a masked cell */
            double error = predictions[i * K + k] - y[row * K + k];
            double naive = base[row * K + k] - y[row * K + k];
            series_add(sums, counts, error, naive);
            series_add(all_sums, all_counts, error, naive);
        }
    }
    if (overall)
        *overall = series_figures(all_sums, all_counts);
}

clrnn_status clrnn_evaluate(clrnn_backend *backend, const clrnn_dataset *data, clrnn_split split,
                            size_t batch, clrnn_metrics *metrics, clrnn_error *err)
{
    return clrnn_evaluate_outputs(backend, data, split, batch, metrics, NULL, err);
}

/* ------------------------------------------------------ model groups */

/* One model of a group: what clrnn_train keeps in its locals. */
typedef struct group_model {
    best_state best;
    size_t since_best;
    long step, total_steps;
    clrnn_epoch_stats stats;
    int running; /* trains this epoch; 0 once stopped, diverged or done */
} group_model;

/* Model k's end as clrnn_train ends (st: how its training ended). */
static clrnn_status finish_model(clrnn_backend *backend, const clrnn_train_config *config,
                                 group_model *g, int stop, size_t n_train, clrnn_status st,
                                 clrnn_train_report *report, clrnn_error *err)
{
    report->stopped_early = st == CLRNN_OK && stop && report->epochs_run < config->epochs;
    if (st == CLRNN_OK && config->patience && report->best_epoch != report->epochs_run &&
        report->best_epoch > config->start_epoch) {
        st = restore_best(backend, &g->best, err);
    } else if (st == CLRNN_E_NUMERIC && config->patience &&
               report->best_epoch > config->start_epoch) {
        clrnn_status restored = restore_best(backend, &g->best, NULL);
        if (restored != CLRNN_OK)
            st = clrnn__fail(err, restored, "a diverged run could not restore its best epoch");
    } else {
        report->best_epoch = report->epochs_run;
    }
    if (report->seconds > 0)
        report->windows_per_second =
            (double)(n_train * (report->epochs_run - config->start_epoch)) / report->seconds;
    return st;
}

/*
 * The group's models in lock-step: each epoch every running model gets its
 * own window order (its seed), then the batches go for all at once
 * (clrnn_backend_gradients_group, clrnn_backend_update_group), then each
 * model's loss, validation and bookkeeping as clrnn_train does them. Model
 * k sees the same calls on its own state, in the same order, as alone.
 */
clrnn_status clrnn_train_group(clrnn_backend *backend, const clrnn_dataset *data,
                               const clrnn_train_config *configs, clrnn_train_report *reports,
                               clrnn_status *status, clrnn_error *errors, clrnn_error *err)
{
    size_t M = clrnn_backend_n_models(backend), P = clrnn_backend_n_params(backend);
    for (size_t k = 0; k < M; k++)
        if (configs[k].stateful && M > 1)
            return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                               "model %zu is stateful (`stateful`): a group of models "
                               "(`n_models` %zu) cannot carry hidden state; train it alone",
                               k, M);
    if (M == 1 && configs[0].stateful) { /* one model: clrnn_train's stateful training */
        clrnn_error one;
        status[0] = clrnn_train(backend, data, &configs[0], &reports[0], &one);
        if (errors)
            errors[0] = status[0] == CLRNN_OK ? (clrnn_error){CLRNN_OK, ""} : one;
        if (status[0] == CLRNN_OK || status[0] == CLRNN_E_NUMERIC)
            return CLRNN_OK; /* a model that diverges is the model's, as in a group */
        if (err)
            *err = one;
        return status[0];
    }
    size_t n_train, n_val, batch = configs[0].batch, last_epoch = 0;
    uint32_t *sorted = observed_starts(data, CLRNN_SPLIT_TRAIN, backend->loss_steps, &n_train);
    uint32_t *val = observed_starts(data, CLRNN_SPLIT_VAL, backend->loss_steps, &n_val);
    uint32_t *orders = malloc((n_train ? n_train : 1) * M * sizeof *orders);
    double *grads = malloc(P * sizeof *grads);
    group_model *g = calloc(M, sizeof *g);
    clrnn_optimizer *opts = malloc(M * sizeof *opts);
    unsigned char *active = malloc(M), *validating = calloc(M, 1);
    clrnn_error scratch[1];
    clrnn_status st = CLRNN_OK;
    size_t keep = clrnn_backend_selected_model(backend);
    for (size_t k = 0; k < M; k++) {
        reports[k] = (clrnn_train_report){
            configs[k].start_epoch, configs[k].start_epoch, NAN, NAN, INFINITY, 0.0, 0.0, 0};
        status[k] = CLRNN_OK;
        if (errors)
            errors[k] = (clrnn_error){CLRNN_OK, ""};
    }
    int ok = sorted && val && orders && grads && g && opts && active && validating;
    for (size_t k = 0; ok && k < M; k++) {
        g[k].best = (best_state){malloc(P * sizeof(double)), malloc(P * sizeof(double)),
                                 malloc(P * sizeof(double)), 0};
        ok = g[k].best.params && g[k].best.opt_m && g[k].best.opt_v;
    }
    if (!ok) {
        st = clrnn__fail(err, CLRNN_E_NOMEM,
                         "out of memory: training a group keeps 4 host copies of each of its %zu "
                         "models' %zu parameters and the window orders of %zu windows",
                         M, P, n_train);
        goto done;
    }
    if (n_train == 0 || batch == 0) {
        st = clrnn__fail(err, CLRNN_E_INPUT,
                         "no training windows (none with an observed target), or a batch of 0");
        goto done;
    }
    long steps_per_epoch = (long)((n_train + batch - 1) / batch);
    for (size_t k = 0; k < M; k++) {
        if (configs[k].batch != batch) {
            st = clrnn__fail(err, CLRNN_E_INPUT,
                             "model %zu's batch of %zu: a group trains one batch size (%zu)", k,
                             configs[k].batch, batch);
            goto done;
        }
        g[k].total_steps = steps_per_epoch * (long)configs[k].epochs;
        g[k].step = steps_per_epoch * (long)configs[k].start_epoch;
        g[k].running = configs[k].start_epoch < configs[k].epochs;
        if (configs[k].epochs > last_epoch)
            last_epoch = configs[k].epochs;
    }
    for (size_t k = 0; st == CLRNN_OK && k < M; k++) {
        double sum;
        st = clrnn_backend_select_model(backend, k, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_take_loss_sum(backend, &sum, err); /* start from zero */
    }
    for (size_t epoch = 0; st == CLRNN_OK && epoch < last_epoch; epoch++) {
        size_t n_active = 0;
        for (size_t k = 0; k < M; k++) {
            active[k] = g[k].running && epoch >= configs[k].start_epoch;
            n_active += active[k];
            g[k].stats = (clrnn_epoch_stats){epoch + 1, NAN, NAN, NAN, NAN, 0, 0, 0};
            /* a model that does not train this epoch keeps a valid order */
            epoch_order(orders + k * n_train, sorted, n_train, active[k] && configs[k].shuffle,
                        configs[k].seed, epoch);
        }
        if (n_active == 0)
            continue;
        double t0 = clock_seconds();
        st = clrnn_backend_stage_orders(backend, orders, n_train, err);
        for (size_t i = 0; st == CLRNN_OK && i < n_train; i += batch) {
            size_t n = n_train - i < batch ? n_train - i : batch;
            for (size_t k = 0; k < M; k++)
                if (active[k]) {
                    opts[k] = configs[k].optimizer;
                    opts[k].lr = g[k].stats.lr =
                        clrnn_lr_at(&configs[k], g[k].step++, steps_per_epoch, g[k].total_steps);
                }
            st = clrnn_backend_gradients_group(backend, i, n, active, err);
            for (size_t k = 0; st == CLRNN_OK && i + n == n_train && k < M; k++)
                if (active[k] && (st = clrnn_backend_select_model(backend, k, err)) == CLRNN_OK)
                    st = grad_norm(backend, grads, &g[k].stats.grad_norm, err);
            if (st == CLRNN_OK)
                st = clrnn_backend_update_group(backend, opts, active, err);
            for (size_t k = 0; st == CLRNN_OK && k < M; k++) {
                if (active[k] && configs[k].on_batch)
                    configs[k].on_batch(configs[k].context, epoch, i + n, n_train);
                if (active[k] && configs[k].cancel && *configs[k].cancel)
                    st = clrnn__fail(err, CLRNN_E_CANCELLED, "cancelled in epoch %zu", epoch + 1);
            }
        }
        double seconds = clock_seconds() - t0;
        /* Each model's training loss (taking it zeroes the sum), then the
         * validation of those whose loss is finite, all at once
         * (split_loss's batches, clrnn_backend_forward_group). */
        for (size_t k = 0; st == CLRNN_OK && k < M; k++) {
            double loss_sum = 0.0;
            if (!active[k])
                continue;
            st = clrnn_backend_select_model(backend, k, err);
            if (st == CLRNN_OK)
                st = clrnn_backend_take_loss_sum(backend, &loss_sum, err);
            g[k].stats.train_loss = loss_sum / (double)n_train;
            validating[k] = isfinite(g[k].stats.train_loss);
        }
        for (size_t i = 0; st == CLRNN_OK && i < n_val; i += batch)
            st = clrnn_backend_forward_group(
                backend, val + i, n_val - i < batch ? n_val - i : batch, validating, err);
        for (size_t k = 0; st == CLRNN_OK && k < M; k++) {
            if (!active[k])
                continue;
            clrnn_epoch_stats *stats = &g[k].stats;
            clrnn_error *why = errors ? &errors[k] : scratch;
            int stop = 0;
            st = clrnn_backend_select_model(backend, k, err);
            if (st != CLRNN_OK)
                break;
            stats->seconds = seconds;
            stats->windows_per_second = seconds > 0 ? (double)n_train / seconds : 0.0;
            clrnn_status mine = CLRNN_OK;
            if (!validating[k])
                mine = clrnn__fail(why, CLRNN_E_NUMERIC,
                                   "the training loss is %s at epoch %zu: try a lower "
                                   "`optimizer.lr` or `optimizer.clip_norm`",
                                   isnan(stats->train_loss) ? "NaN" : "infinite", epoch + 1);
            if (mine == CLRNN_OK) {
                double sum = 0.0;
                st = clrnn_backend_take_loss_sum(backend, &sum, err);
                stats->val_loss = n_val ? sum / (double)n_val : NAN;
            }
            if (mine == CLRNN_OK && st == CLRNN_OK)
                mine = after_epoch(backend, &configs[k], stats, n_val > 0, &g[k].best,
                                   &g[k].since_best, &reports[k], &stop, why);
            if (st != CLRNN_OK)
                break;
            if (mine == CLRNN_OK && !stop && epoch + 1 < configs[k].epochs)
                continue;
            g[k].running = 0; /* stopped, diverged, or done: its end now */
            status[k] =
                finish_model(backend, &configs[k], &g[k], stop, n_train, mine, &reports[k], why);
        }
    }
    for (size_t k = 0; st != CLRNN_OK && k < M; k++)
        if (g[k].running)
            status[k] = st; /* the group failed while it trained */
    /* A model with no epoch to train (start_epoch at its epochs) ends as
     * clrnn_train ends it. */
    for (size_t k = 0; st == CLRNN_OK && k < M; k++)
        if (configs[k].start_epoch >= configs[k].epochs &&
            (st = clrnn_backend_select_model(backend, k, err)) == CLRNN_OK)
            status[k] = finish_model(backend, &configs[k], &g[k], 0, n_train, CLRNN_OK, &reports[k],
                                     errors ? &errors[k] : scratch);
done:
    backend->model = keep;
    free(sorted);
    free(val);
    free(orders);
    free(grads);
    for (size_t k = 0; g && k < M; k++) {
        free(g[k].best.params);
        free(g[k].best.opt_m);
        free(g[k].best.opt_v);
    }
    free(g);
    free(opts);
    free(active);
    free(validating);
    return st;
}
