/*
 * The CPU reference backend: the functions of rnn_cpu.c applied to a batch.
 * Everything is allocated once at creation for the largest batch; a batch
 * allocates nothing.
 *
 * Legend: B = windows, T = steps, F = features, K = targets; layer l has
 * (I_l, H_l, O_l).
 */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/error.h"
#include "reference/rnn_cpu.h"

/* The selected model's (P) block of a (M, P) buffer. */
#define MODEL(base) ((base) + b->model * b->n_params)

typedef struct cpu_state {
    double *x_table, *y_table; /* (R, F), (R, K): the staged data */
    /* A model each (M = b->n_models, the group's models in turn: the
     * activations serve one model at a time). */
    double *params;          /* (M, P) */
    double *grads;           /* (M, P) mean over the batch's windows */
    double *opt_m, *opt_v;   /* (M, P) SGD velocity or Adam m; Adam v */
    double *x0;              /* (B, T, F) layer 0's inputs, gathered */
    double *target;          /* (B, T, K) gathered */
    double **h, **y, **dy;   /* per layer: (B,T,H_l), (B,T,O_l), (B,T,O_l) */
    double *window_loss;     /* (B) */
    double **h0;             /* per layer (B,H_l): initial states; NULL until stateful */
    double *scratch;         /* (2 max H) */
    double *dparams_scratch; /* (P) input_gradients' weight gradients, thrown away */
    double *loss_sum;        /* (M) window losses since the last take */
    size_t share_windows;    /* windows of the last share_run */
} cpu_state;

static void cpu_destroy(clrnn_backend *b)
{
    cpu_state *s = b->impl;
    if (!s)
        return;
    for (size_t l = 0; l < b->n_layers; l++) {
        if (s->h)
            free(s->h[l]);
        if (s->y)
            free(s->y[l]);
        if (s->dy)
            free(s->dy[l]);
    }
    for (size_t l = 0; s->h0 && l < b->n_layers; l++)
        free(s->h0[l]);
    free(s->h0);
    free(s->h);
    free(s->y);
    free(s->dy);
    free(s->x_table);
    free(s->y_table);
    free(s->params);
    free(s->grads);
    free(s->opt_m);
    free(s->opt_v);
    free(s->x0);
    free(s->target);
    free(s->window_loss);
    free(s->scratch);
    free(s->loss_sum);
    free(s->dparams_scratch);
    free(s);
    b->impl = NULL;
}

static clrnn_status cpu_stage(clrnn_backend *b, const double *x, const double *y, size_t n_rows,
                              clrnn_error *err)
{
    cpu_state *s = b->impl;
    size_t F = b->layers[0].n_in, K = b->layers[b->n_layers - 1].n_out;
    free(s->x_table);
    free(s->y_table);
    s->x_table = malloc(n_rows * F * sizeof *s->x_table);
    s->y_table = malloc(n_rows * K * sizeof *s->y_table);
    if (!s->x_table || !s->y_table)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory staging %zu rows", n_rows);
    memcpy(s->x_table, x, n_rows * F * sizeof *x);
    memcpy(s->y_table, y, n_rows * K * sizeof *y);
    return CLRNN_OK;
}

static clrnn_status cpu_set_params(clrnn_backend *b, const double *params, clrnn_error *err)
{
    cpu_state *s = b->impl;
    memcpy(MODEL(s->params), params, b->n_params * sizeof *params);
    memset(MODEL(s->opt_m), 0, b->n_params * sizeof *MODEL(s->opt_m));
    memset(MODEL(s->opt_v), 0, b->n_params * sizeof *MODEL(s->opt_v));
    return CLRNN_OK;
}

static clrnn_status cpu_get_params(clrnn_backend *b, double *params, clrnn_error *err)
{
    cpu_state *s = b->impl;
    memcpy(params, MODEL(s->params), b->n_params * sizeof *params);
    return CLRNN_OK;
}

/* rows (B, T, width) <- table rows starts[b] + t */
static void gather_windows(double *rows, const double *table, const uint32_t *starts, size_t B,
                           size_t T, size_t width)
{
    for (size_t b = 0; b < B; b++)
        memcpy(rows + b * T * width, table + (size_t)starts[b] * width, T * width * sizeof *rows);
}

/* Layer l's initial states (B,H_l) when stateful, else NULL (h_{-1} = 0). */
static const double *initial_state(const clrnn_backend *b, size_t l)
{
    const cpu_state *s = b->impl;
    return b->stateful ? s->h0[l] : NULL;
}

static clrnn_status cpu_run_batch(clrnn_backend *b, const uint32_t *starts, size_t B,
                                  int with_gradients, clrnn_error *err)
{
    cpu_state *s = b->impl;
    size_t T = b->seq_len, L = b->n_layers;
    clrnn_layer_shape top = b->layers[L - 1];
    gather_windows(s->x0, s->x_table, starts, B, T, b->layers[0].n_in);
    gather_windows(s->target, s->y_table, starts, B, T, top.n_out);

    for (size_t l = 0; l < L; l++) {
        clrnn_layer_shape sh = b->layers[l];
        const double *x = l == 0 ? s->x0 : s->y[l - 1];
        rnn_layer_forward_state_cpu(s->y[l], s->h[l], x, initial_state(b, l),
                                    MODEL(s->params) + b->layer_offset[l], B, T, sh.n_in,
                                    sh.n_hidden, sh.n_out);
    }
    s->loss_sum[b->model] += mse_forward_cpu(s->window_loss, s->dy[L - 1], s->y[L - 1], s->target,
                                             B, T, top.n_out, b->loss_steps);
    if (!with_gradients)
        return CLRNN_OK;

    memset(MODEL(s->grads), 0, b->n_params * sizeof *MODEL(s->grads));
    for (size_t l = L; l-- > 0;) {
        clrnn_layer_shape sh = b->layers[l];
        const double *x = l == 0 ? s->x0 : s->y[l - 1];
        double *dx = l == 0 ? NULL : s->dy[l - 1]; /* the layer below's dy */
        rnn_layer_backward_state_cpu(MODEL(s->grads) + b->layer_offset[l], dx, s->scratch, s->dy[l],
                                     s->h[l], x, initial_state(b, l),
                                     MODEL(s->params) + b->layer_offset[l], B, T, sh.n_in,
                                     sh.n_hidden, sh.n_out);
    }
    for (size_t i = 0; i < b->n_params; i++)
        MODEL(s->grads)[i] /= (double)B;
    return CLRNN_OK;
}

/* The forward, then BPTT from a seed of 1 at (step T-1, output) of the top
 * layer's dy instead of the loss gradient: layer 0's dx is the gradient of
 * that output with respect to the inputs (rnn_layer_backward_cpu writes
 * it where dx is not NULL). The weight gradients it adds up go to a
 * scratch block, not to s->grads; the loss sum is not touched. */
static clrnn_status cpu_input_gradients(clrnn_backend *b, const uint32_t *starts, size_t B,
                                        size_t output, double *dx, clrnn_error *err)
{
    cpu_state *s = b->impl;
    size_t T = b->seq_len, L = b->n_layers, O = b->layers[L - 1].n_out;
    if (!s->dparams_scratch && !(s->dparams_scratch = malloc(b->n_params * sizeof(double))))
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for the input gradients");
    gather_windows(s->x0, s->x_table, starts, B, T, b->layers[0].n_in);
    for (size_t l = 0; l < L; l++) {
        clrnn_layer_shape sh = b->layers[l];
        const double *x = l == 0 ? s->x0 : s->y[l - 1];
        rnn_layer_forward_cpu(s->y[l], s->h[l], x, MODEL(s->params) + b->layer_offset[l], B, T,
                              sh.n_in, sh.n_hidden, sh.n_out);
    }
    memset(s->dy[L - 1], 0, B * T * O * sizeof *s->dy[L - 1]);
    for (size_t w = 0; w < B; w++)
        s->dy[L - 1][(w * T + T - 1) * O + output] = 1.0;
    memset(s->dparams_scratch, 0, b->n_params * sizeof *s->dparams_scratch);
    for (size_t l = L; l-- > 0;) {
        clrnn_layer_shape sh = b->layers[l];
        const double *x = l == 0 ? s->x0 : s->y[l - 1];
        double *dx_l = l == 0 ? dx : s->dy[l - 1];
        rnn_layer_backward_cpu(s->dparams_scratch + b->layer_offset[l], dx_l, s->scratch, s->dy[l],
                               s->h[l], x, MODEL(s->params) + b->layer_offset[l], B, T, sh.n_in,
                               sh.n_hidden, sh.n_out);
    }
    return CLRNN_OK;
}

/* ------------------------------------------------ data parallel */

/* This rank's windows forward, their losses and dy (the loss sum waits for
 * the fold). */
static clrnn_status cpu_share_run(clrnn_backend *b, const uint32_t *starts, size_t B,
                                  clrnn_error *err)
{
    cpu_state *s = b->impl;
    size_t T = b->seq_len, L = b->n_layers;
    clrnn_layer_shape top = b->layers[L - 1];
    gather_windows(s->x0, s->x_table, starts, B, T, b->layers[0].n_in);
    gather_windows(s->target, s->y_table, starts, B, T, top.n_out);
    for (size_t l = 0; l < L; l++) {
        clrnn_layer_shape sh = b->layers[l];
        const double *x = l == 0 ? s->x0 : s->y[l - 1];
        rnn_layer_forward_state_cpu(s->y[l], s->h[l], x, initial_state(b, l),
                                    MODEL(s->params) + b->layer_offset[l], B, T, sh.n_in,
                                    sh.n_hidden, sh.n_out);
    }
    (void)mse_forward_cpu(s->window_loss, s->dy[L - 1], s->y[L - 1], s->target, B, T, top.n_out,
                          b->loss_steps);
    s->share_windows = B;
    return CLRNN_OK;
}

/* rnn_layer_backward_cpu adds each window's terms to the sums in window
 * order, and mse_forward_cpu its loss to the batch's: started from the
 * ranks before instead of from 0, they go on exactly as in one process. */
static clrnn_status cpu_share_fold(clrnn_backend *b, void *acc, clrnn_error *err)
{
    cpu_state *s = b->impl;
    size_t T = b->seq_len, L = b->n_layers, B = s->share_windows, P = b->n_params;
    double *sums = acc; /* (P + 1) */
    memcpy(MODEL(s->grads), sums, P * sizeof *sums);
    for (size_t l = L; l-- > 0;) {
        clrnn_layer_shape sh = b->layers[l];
        const double *x = l == 0 ? s->x0 : s->y[l - 1];
        double *dx = l == 0 ? NULL : s->dy[l - 1];
        rnn_layer_backward_state_cpu(MODEL(s->grads) + b->layer_offset[l], dx, s->scratch, s->dy[l],
                                     s->h[l], x, initial_state(b, l),
                                     MODEL(s->params) + b->layer_offset[l], B, T, sh.n_in,
                                     sh.n_hidden, sh.n_out);
    }
    double loss = sums[P];
    for (size_t i = 0; i < B; i++)
        loss += s->window_loss[i];
    memcpy(sums, MODEL(s->grads), P * sizeof *sums);
    sums[P] = loss;
    return CLRNN_OK;
}

static clrnn_status cpu_share_finish(clrnn_backend *b, const void *total, size_t B,
                                     clrnn_error *err)
{
    cpu_state *s = b->impl;
    const double *sums = total;
    for (size_t i = 0; i < b->n_params; i++)
        MODEL(s->grads)[i] = sums[i] / (double)B;
    s->loss_sum[b->model] += sums[b->n_params];
    return CLRNN_OK;
}

static clrnn_status cpu_update(clrnn_backend *b, const clrnn_optimizer *opt, long step,
                               clrnn_error *err)
{
    cpu_state *s = b->impl;
    if (opt->clip_norm > 0)
        clip_grad_norm_cpu(MODEL(s->grads), b->n_params, opt->clip_norm);
    if (opt->kind == CLRNN_ADAM)
        adam_update_cpu(MODEL(s->params), MODEL(s->opt_m), MODEL(s->opt_v), MODEL(s->grads),
                        b->n_params, opt->lr, opt->beta1, opt->beta2, opt->eps, opt->weight_decay,
                        step);
    else
        sgd_update_cpu(MODEL(s->params), MODEL(s->opt_m), MODEL(s->grads), b->n_params, opt->lr,
                       opt->momentum);
    return CLRNN_OK;
}

static clrnn_status cpu_get_grads(clrnn_backend *b, double *grads, clrnn_error *err)
{
    cpu_state *s = b->impl;
    memcpy(grads, MODEL(s->grads), b->n_params * sizeof *grads);
    return CLRNN_OK;
}

static clrnn_status cpu_get_outputs(clrnn_backend *b, size_t layer, double *y, clrnn_error *err)
{
    cpu_state *s = b->impl;
    memcpy(y, s->y[layer], b->last_batch * b->seq_len * b->layers[layer].n_out * sizeof *y);
    return CLRNN_OK;
}

static clrnn_status cpu_get_hidden(clrnn_backend *b, size_t layer, double *h, clrnn_error *err)
{
    cpu_state *s = b->impl;
    memcpy(h, s->h[layer], b->last_batch * b->seq_len * b->layers[layer].n_hidden * sizeof *h);
    return CLRNN_OK;
}

static clrnn_status cpu_get_window_losses(clrnn_backend *b, double *losses, clrnn_error *err)
{
    cpu_state *s = b->impl;
    memcpy(losses, s->window_loss, b->last_batch * sizeof *losses);
    return CLRNN_OK;
}

static clrnn_status cpu_take_loss_sum(clrnn_backend *b, double *sum, clrnn_error *err)
{
    cpu_state *s = b->impl;
    *sum = s->loss_sum[b->model];
    s->loss_sum[b->model] = 0.0;
    return CLRNN_OK;
}

static clrnn_status cpu_get_opt_state(clrnn_backend *b, double *m, double *v, clrnn_error *err)
{
    cpu_state *s = b->impl;
    memcpy(m, MODEL(s->opt_m), b->n_params * sizeof *m);
    memcpy(v, MODEL(s->opt_v), b->n_params * sizeof *v);
    return CLRNN_OK;
}

static clrnn_status cpu_set_opt_state(clrnn_backend *b, const double *m, const double *v,
                                      clrnn_error *err)
{
    cpu_state *s = b->impl;
    memcpy(MODEL(s->opt_m), m, b->n_params * sizeof *m);
    memcpy(MODEL(s->opt_v), v, b->n_params * sizeof *v);
    return CLRNN_OK;
}

/* ------------------------------------------------ carried hidden state */

static clrnn_status cpu_set_stateful(clrnn_backend *b, int on, clrnn_error *err)
{
    cpu_state *s = b->impl;
    if (on && !s->h0) {
        if (!(s->h0 = calloc(b->n_layers, sizeof *s->h0)))
            return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for the initial states");
        for (size_t l = 0; l < b->n_layers; l++)
            if (!(s->h0[l] = calloc(b->max_batch * b->layers[l].n_hidden, sizeof **s->h0)))
                return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for the initial states");
    }
    for (size_t l = 0; on && l < b->n_layers; l++)
        memset(s->h0[l], 0, b->max_batch * b->layers[l].n_hidden * sizeof **s->h0);
    return CLRNN_OK;
}

static clrnn_status cpu_set_initial_state(clrnn_backend *b, size_t layer, const double *h0,
                                          size_t n, clrnn_error *err)
{
    cpu_state *s = b->impl;
    const size_t count = n * b->layers[layer].n_hidden;
    if (h0)
        memcpy(s->h0[layer], h0, count * sizeof *h0);
    else
        memset(s->h0[layer], 0, count * sizeof *h0);
    return CLRNN_OK;
}

static clrnn_status cpu_get_initial_state(clrnn_backend *b, size_t layer, double *h0, size_t n,
                                          clrnn_error *err)
{
    cpu_state *s = b->impl;
    memcpy(h0, s->h0[layer], n * b->layers[layer].n_hidden * sizeof *h0);
    return CLRNN_OK;
}

/* h0[l][w] <- h[l][w, T-1] of the last batch, or 0 where reset[w]. */
static clrnn_status cpu_carry_state(clrnn_backend *b, const unsigned char *reset, size_t n,
                                    clrnn_error *err)
{
    cpu_state *s = b->impl;
    const size_t T = b->seq_len;
    for (size_t l = 0; l < b->n_layers; l++) {
        const size_t H = b->layers[l].n_hidden;
        for (size_t w = 0; w < n; w++) {
            double *h0 = s->h0[l] + w * H;
            if (reset && reset[w])
                memset(h0, 0, H * sizeof *h0);
            else
                memcpy(h0, s->h[l] + (w * T + T - 1) * H, H * sizeof *h0);
        }
    }
    return CLRNN_OK;
}

static const backend_ops cpu_ops = {
    .destroy = cpu_destroy,
    .stage = cpu_stage,
    .set_params = cpu_set_params,
    .get_params = cpu_get_params,
    .run_batch = cpu_run_batch,
    .update = cpu_update,
    .get_grads = cpu_get_grads,
    .get_outputs = cpu_get_outputs,
    .get_hidden = cpu_get_hidden,
    .get_window_losses = cpu_get_window_losses,
    .take_loss_sum = cpu_take_loss_sum,
    .get_opt_state = cpu_get_opt_state,
    .set_opt_state = cpu_set_opt_state,
    .share_run = cpu_share_run,
    .share_fold = cpu_share_fold,
    .share_finish = cpu_share_finish,
    .set_stateful = cpu_set_stateful,
    .set_initial_state = cpu_set_initial_state,
    .get_initial_state = cpu_get_initial_state,
    .carry_state = cpu_carry_state,
    .input_gradients = cpu_input_gradients,
};

clrnn_status backend_cpu_init(clrnn_backend *b, clrnn_error *err)
{
    cpu_state *s = calloc(1, sizeof *s);
    if (!s)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating the CPU backend");
    b->impl = s;
    b->ops = &cpu_ops;
    size_t B = b->max_batch, T = b->seq_len, L = b->n_layers, P = b->n_params, max_h = 0;
    size_t M = b->n_models, MP = M <= SIZE_MAX / sizeof(double) / P ? M * P : SIZE_MAX / 8;
    s->params = calloc(MP, sizeof *s->params);
    s->grads = calloc(MP, sizeof *s->grads);
    s->opt_m = calloc(MP, sizeof *s->opt_m);
    s->opt_v = calloc(MP, sizeof *s->opt_v);
    s->loss_sum = calloc(M, sizeof *s->loss_sum);
    s->x0 = malloc(B * T * b->layers[0].n_in * sizeof *s->x0);
    s->target = malloc(B * T * b->layers[L - 1].n_out * sizeof *s->target);
    s->window_loss = malloc(B * sizeof *s->window_loss);
    s->h = calloc(L, sizeof *s->h);
    s->y = calloc(L, sizeof *s->y);
    s->dy = calloc(L, sizeof *s->dy);
    int ok = s->params && s->grads && s->opt_m && s->opt_v && s->loss_sum && s->x0 && s->target &&
             s->window_loss && s->h && s->y && s->dy;
    for (size_t l = 0; ok && l < L; l++) {
        clrnn_layer_shape sh = b->layers[l];
        if (sh.n_hidden > max_h)
            max_h = sh.n_hidden;
        s->h[l] = malloc(B * T * sh.n_hidden * sizeof **s->h);
        s->y[l] = malloc(B * T * sh.n_out * sizeof **s->y);
        s->dy[l] = malloc(B * T * sh.n_out * sizeof **s->dy);
        ok = s->h[l] && s->y[l] && s->dy[l];
    }
    if (ok)
        ok = (s->scratch = malloc(2 * max_h * sizeof *s->scratch)) != NULL;
    if (!ok) {
        /* Say which part is large: the model's four copies (parameters,
         * gradients, optimizer state) or the batch's activations. */
        double model_mib = 4.0 * (double)M * (double)P * sizeof(double) / 1048576.0;
        double batch_mib = 0.0;
        for (size_t l = 0; l < L; l++)
            batch_mib += (double)(B * T * (b->layers[l].n_hidden + 2 * b->layers[l].n_out)) *
                         sizeof(double) / 1048576.0;
        cpu_destroy(b);
        b->ops = NULL;
        if (M > 1)
            return clrnn__fail(err, CLRNN_E_NOMEM,
                               "out of memory for the CPU backend's buffers: a group of %zu "
                               "models of %zu parameters takes %.0f MiB (4 copies each), a "
                               "batch's activations %.0f MiB (a smaller `n_models`)",
                               M, P, model_mib, batch_mib);
        return clrnn__fail(err, CLRNN_E_NOMEM,
                           "out of memory for the CPU backend's buffers: the model's %zu "
                           "parameters take %.0f MiB (4 copies), a batch's activations %.0f MiB "
                           "(%s)",
                           P, model_mib, batch_mib,
                           model_mib > batch_mib ? "a smaller model: fewer or smaller `layers`"
                                                 : "try a smaller `max_batch`");
    }
    snprintf(b->description, sizeof b->description, "CPU reference (fp64)");
    snprintf(b->device_name, sizeof b->device_name, "CPU reference");
    b->kind = CLRNN_BACKEND_CPU;
    b->family = CLRNN_KERNELS_AUTO;
    b->share_real = sizeof(double);
    b->group_native = 1; /* backend.c runs the models in turn, a loop */
    return CLRNN_OK;
}
