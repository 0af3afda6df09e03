/*
 * The group kernel family (kernels/group/): a work-group per window, a
 * work-item per hidden unit; for GPUs and wide layers. A batch is, per
 * layer, one rnn_forward launch (all T steps of all B windows), then
 * mse_loss and loss_accumulate, then per layer from the top one
 * rnn_backward and one grad_partial launch, and one grad_finish. Its
 * kernels take their sizes as arguments, so they are built into the shared
 * program. A group of models (s->group: run_group) runs the same launches
 * for all of them, the model the launches' last dimension (the *_models
 * kernels: the same work-groups, each model's slices of the group's
 * buffers and of its activations), then ocl_group_finish; the backend
 * takes the steps.
 */
#include <stdlib.h>

#include "core/error.h"
#include "core/model.h"
#include "opencl/family.h"
#include "opencl/opencl_util.h"

/* Its sources in the shared program, and its kernels. */
static const char *const group_files[] = {"group/rnn_forward", "group/rnn_backward"};
enum { K_FORWARD, K_BACKWARD, K_GRAD_PARTIAL, N_GROUP_KERNELS };
static const char *const group_kernel_names[N_GROUP_KERNELS] = {"rnn_forward", "rnn_backward",
                                                                "grad_partial"};
/* A group's (common/loss.cl and common/reduce.cl for the loss and the
 * gradient sums), created in a group only. */
enum { K_FORWARD_MODELS, K_BACKWARD_MODELS, K_GRAD_MODELS, K_MSE_MODELS, N_MODELS_KERNELS };
static const char *const models_kernel_names[N_MODELS_KERNELS] = {
    "rnn_forward_models", "rnn_backward_models", "grad_partial_models", "mse_loss_models"};

/* The tunables (family.h), launch sizes: its kernels are built into the
 * shared program. The most work-items a work-group of rnn_forward and
 * rnn_backward (one a hidden unit, as far as the kernels and the device
 * allow: derived, the device's work-group limit), and grad_partial's
 * work-group (64). */
enum { T_ROW_WG, T_GRAD_WG, N_GROUP_TUNABLES };
static const int row_wg_values[] = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096},
                 group_grad_wg_values[] = {16, 32, 64, 128, 256};

static int derive_row_wg(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    int wg = 4096; /* the largest value: the kernels' own limit applies after */
    while ((size_t)wg > s->max_group && wg > 16)
        wg /= 2;
    return wg;
}
static int derive_group_grad_wg(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return 64;
}

static const ocl_tunable group_tunables[N_GROUP_TUNABLES] = {
    [T_ROW_WG] = {"ROW_WG", "most work-items a work-group of rnn_forward, rnn_backward",
                  row_wg_values, 9, derive_row_wg},
    [T_GRAD_WG] = {"GRAD_WG", "work-items a work-group of grad_partial", group_grad_wg_values, 5,
                   derive_group_grad_wg},
};

extern const ocl_family ocl_family_group;

typedef struct group_state {
    ocl_kernel kernels[N_GROUP_KERNELS];
    ocl_kernel models[N_MODELS_KERNELS]; /* a group's (s->group) */
    ocl_group_activations acts;          /* a group's */
    int tuning[N_GROUP_TUNABLES];
    size_t *group_size; /* (n_layers) work-group size of forward/backward */
} group_state;

/* GPUs: the group family for layers of 32 hidden units or more (below, the
 * tile family keeps a window's whole state in registers); the gpu family
 * comes before both on devices of type GPU. */
static int group_suitability(const clrnn_backend *b, const ocl_state *s)
{
    size_t max_h = 0;
    for (size_t l = 0; l < b->n_layers; l++)
        if (b->layers[l].n_hidden > max_h)
            max_h = b->layers[l].n_hidden;
    return !s->cpu_device && max_h >= 32 ? 3 : 1;
}

static void group_destroy(clrnn_backend *b, void *self)
{
    group_state *gs = self;
    if (!gs)
        return;
    ocl_release_kernels(gs->kernels, N_GROUP_KERNELS);
    ocl_release_kernels(gs->models, N_MODELS_KERNELS);
    ocl_release_group_activations(&gs->acts);
    free(gs->group_size);
    free(gs);
}

/* Work-group sizes of forward/backward per layer: one work-item per hidden
 * unit, as far as the device and the kernels allow; h or g of a window (2H
 * values) must fit in local memory. The kernels hold no private arrays. */
static clrnn_status choose_group_sizes(clrnn_backend *b, ocl_state *s, group_state *gs,
                                       clrnn_error *err)
{
    clrnn_status st = ocl_layer_tuning(b, s, &ocl_family_group, 0, gs->tuning, err);
    if (st != CLRNN_OK)
        return st;
    size_t limit = gs->kernels[K_FORWARD].max_group;
    if (gs->kernels[K_BACKWARD].max_group < limit)
        limit = gs->kernels[K_BACKWARD].max_group;
    for (int k = K_FORWARD_MODELS; s->group && k <= K_BACKWARD_MODELS; k++)
        if (gs->models[k].max_group < limit) /* a group's: the same work-groups */
            limit = gs->models[k].max_group;
    if ((size_t)gs->tuning[T_ROW_WG] < limit)
        limit = (size_t)gs->tuning[T_ROW_WG];
    for (size_t l = 0; l < b->n_layers; l++) {
        size_t H = b->layers[l].n_hidden;
        if (2 * H * s->real_size > s->max_local_mem)
            return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                               "layer %zu: n_hidden %zu needs %zu bytes of local memory, the "
                               "device has %zu",
                               l, H, 2 * H * s->real_size, s->max_local_mem);
        gs->group_size[l] = H < limit ? H : limit;
    }
    return CLRNN_OK;
}

static clrnn_status group_init(clrnn_backend *b, ocl_state *s, void **self, clrnn_error *err)
{
    group_state *gs = calloc(1, sizeof *gs);
    *self = gs;
    if (gs)
        gs->group_size = calloc(b->n_layers, sizeof *gs->group_size);
    if (!gs || !gs->group_size)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating the OpenCL backend");
    clrnn_status st =
        ocl_create_kernels(s, s->program, group_kernel_names, N_GROUP_KERNELS, gs->kernels, err);
    if (st == CLRNN_OK && s->group)
        st = ocl_create_kernels(s, s->program, models_kernel_names, N_MODELS_KERNELS, gs->models,
                                err);
    if (st == CLRNN_OK && s->group)
        st = ocl_make_group_activations(b, s, "group", 1, 0, &gs->acts, err);
    return st == CLRNN_OK ? choose_group_sizes(b, s, gs, err) : st;
}

/* The trailing arguments of rnn_forward and rnn_backward: T, I, H, O of
 * layer l and the local buffer of 2H values. */
static void arg_group_sizes(kernel_args *a, const clrnn_backend *b, size_t l)
{
    clrnn_layer_shape sh = b->layers[l];
    arg_uint(a, b->seq_len);
    arg_uint(a, sh.n_in);
    arg_uint(a, sh.n_hidden);
    arg_uint(a, sh.n_out);
    arg_local(a, 2 * sh.n_hidden * a->s->real_size);
}

static clrnn_status forward_layer(clrnn_backend *b, ocl_state *s, group_state *gs, size_t l,
                                  size_t B, clrnn_error *err)
{
    kernel_args a = args_for(s, gs->kernels[K_FORWARD]);
    arg_mem(&a, s->y[l]);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, l == 0 ? s->x_table : s->y[l - 1]);
    arg_starts(&a, s);
    arg_mem(&a, s->params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l == 0);
    arg_group_sizes(&a, b, l);
    arg_h0(&a, s, l);
    /* One work-group per window. The layer's block is passed as an offset
     * into params: a sub-buffer would need an aligned origin. */
    size_t global = B * gs->group_size[l];
    return ocl_launch(s, &a, 1, &global, &gs->group_size[l], err);
}

/* rnn_backward of layer l: g, and dx into dx where want_dx. */
static clrnn_status bptt_layer(clrnn_backend *b, ocl_state *s, group_state *gs, size_t l, size_t B,
                               cl_mem dx, int want_dx, clrnn_error *err)
{
    kernel_args a = args_for(s, gs->kernels[K_BACKWARD]);
    arg_mem(&a, s->g);
    arg_mem(&a, dx);
    arg_mem(&a, s->dy[l]);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, s->params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, want_dx);
    arg_group_sizes(&a, b, l);
    size_t global = B * gs->group_size[l];
    return ocl_launch(s, &a, 1, &global, &gs->group_size[l], err);
}

static clrnn_status backward_layer(clrnn_backend *b, ocl_state *s, group_state *gs, size_t l,
                                   size_t B, clrnn_error *err)
{
    clrnn_layer_shape sh = b->layers[l];
    /* layer 0 writes no dx */
    clrnn_status st = bptt_layer(b, s, gs, l, B, l == 0 ? s->g : s->dy[l - 1], l > 0, err);
    if (st != CLRNN_OK)
        return st;

    kernel_args a = args_for(s, gs->kernels[K_GRAD_PARTIAL]);
    arg_mem(&a, s->partial);
    arg_mem(&a, s->g);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, s->dy[l]);
    arg_mem(&a, l == 0 ? s->x_table : s->y[l - 1]);
    arg_starts(&a, s);
    arg_uint(&a, l == 0);
    arg_uint(&a, B);
    arg_uint(&a, b->seq_len);
    arg_uint(&a, sh.n_in);
    arg_uint(&a, sh.n_hidden);
    arg_uint(&a, sh.n_out);
    arg_uint(&a, WINDOWS_PER_CHUNK);
    arg_uint(&a, b->n_params);
    arg_uint(&a, b->layer_offset[l]);
    arg_h0(&a, s, l);
    size_t n_layer = clrnn__layer_n_params(sh);
    /* A chunk a group in dimension 1: grad_partial does not check it. */
    size_t local[2] = {ocl_group_size(s, &a, (size_t)gs->tuning[T_GRAD_WG]), 1};
    size_t grid[2] = {round_up(n_layer, local[0]), chunks_of(B)};
    return ocl_launch(s, &a, 2, grid, local, err);
}

/* The loss: window losses, dy of the top layer, the sum. */
static clrnn_status loss_and_gradient_seed(clrnn_backend *b, ocl_state *s, size_t B,
                                           clrnn_error *err)
{
    size_t L = b->n_layers, T = b->seq_len;
    kernel_args a = args_for(s, s->kernels[K_MSE]);
    arg_mem(&a, s->window_loss);
    arg_mem(&a, s->dy[L - 1]);
    arg_mem(&a, s->y[L - 1]);
    arg_mem(&a, s->y_table);
    arg_starts(&a, s);
    arg_uint(&a, B);
    arg_uint(&a, T);
    arg_uint(&a, b->layers[L - 1].n_out);
    arg_uint(&a, b->loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0);
    clrnn_status st = ocl_launch_1d(s, &a, B, err);
    /* A rank's share of a batch leaves the loss to the fold. */
    return st == CLRNN_OK && !s->partials_only ? ocl_accumulate_loss(s, B, err) : st;
}

static clrnn_status group_run_batch(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                    int with_gradients, clrnn_error *err)
{
    group_state *gs = self;
    const size_t L = b->n_layers;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++)
        st = forward_layer(b, s, gs, l, B, err);
    if (st == CLRNN_OK)
        st = loss_and_gradient_seed(b, s, B, err);
    if (st != CLRNN_OK || !with_gradients)
        return st;
    for (size_t l = L; st == CLRNN_OK && l-- > 0;)
        st = backward_layer(b, s, gs, l, B, err);
    return st == CLRNN_OK && !s->partials_only ? ocl_finish_gradient(b, s, B, err) : st;
}

/* ------------------------------------------------------ model groups */

/* Layer l's forward for every model of the group (rnn_forward_models). */
static clrnn_status forward_models(clrnn_backend *b, ocl_state *s, group_state *gs, size_t l,
                                   ocl_group_windows w, size_t B, clrnn_error *err)
{
    const ocl_group *grp = s->group;
    kernel_args a = args_for(s, gs->models[K_FORWARD_MODELS]);
    arg_mem(&a, gs->acts.y[l]);
    arg_mem(&a, gs->acts.h[l]);
    arg_mem(&a, l == 0 ? s->x_table : gs->acts.y[l - 1]);
    arg_mem(&a, w.order);
    arg_uint(&a, w.stride);
    arg_uint(&a, w.offset);
    arg_mem(&a, grp->params);
    arg_uint(&a, grp->stride_p);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l == 0);
    arg_group_sizes(&a, b, l);
    arg_mem(&a, grp->active);
    arg_uint(&a, gs->acts.model_windows);
    const size_t local[2] = {gs->group_size[l], 1};
    const size_t global[2] = {B * gs->group_size[l], grp->M};
    return ocl_launch(s, &a, 2, global, local, err);
}

/* The window losses and the top layer's dy for every model (mse_loss_models). */
static clrnn_status loss_models(clrnn_backend *b, ocl_state *s, group_state *gs,
                                ocl_group_windows w, size_t B, clrnn_error *err)
{
    const ocl_group *grp = s->group;
    const size_t L = b->n_layers, T = b->seq_len;
    kernel_args a = args_for(s, gs->models[K_MSE_MODELS]);
    arg_mem(&a, grp->window_loss);
    arg_mem(&a, gs->acts.dy[L - 1]);
    arg_mem(&a, gs->acts.y[L - 1]);
    arg_mem(&a, s->y_table);
    arg_mem(&a, w.order);
    arg_uint(&a, w.stride);
    arg_uint(&a, w.offset);
    arg_uint(&a, B);
    arg_uint(&a, T);
    arg_uint(&a, b->layers[L - 1].n_out);
    arg_uint(&a, b->loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0);
    arg_mem(&a, grp->active);
    arg_uint(&a, gs->acts.model_windows);
    arg_uint(&a, grp->stride_window);
    const size_t local[2] = {ocl_group_size(s, &a, 64), 1};
    const size_t global[2] = {round_up(B, local[0]), grp->M};
    return ocl_launch(s, &a, 2, global, local, err);
}

/* Layer l's BPTT and chunk sums for every model (rnn_backward_models,
 * grad_partial_models), as backward_layer for one. */
static clrnn_status backward_models(clrnn_backend *b, ocl_state *s, group_state *gs, size_t l,
                                    size_t first, size_t B, clrnn_error *err)
{
    const ocl_group *grp = s->group;
    const clrnn_layer_shape sh = b->layers[l];
    kernel_args a = args_for(s, gs->models[K_BACKWARD_MODELS]);
    arg_mem(&a, gs->acts.g);
    arg_mem(&a, l == 0 ? gs->acts.g : gs->acts.dy[l - 1]); /* layer 0 writes no dx */
    arg_mem(&a, gs->acts.dy[l]);
    arg_mem(&a, gs->acts.h[l]);
    arg_mem(&a, grp->params);
    arg_uint(&a, grp->stride_p);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l > 0);
    arg_group_sizes(&a, b, l);
    arg_mem(&a, grp->active);
    arg_uint(&a, gs->acts.model_windows);
    const size_t local[2] = {gs->group_size[l], 1};
    const size_t global[2] = {B * gs->group_size[l], grp->M};
    clrnn_status st = ocl_launch(s, &a, 2, global, local, err);
    if (st != CLRNN_OK)
        return st;

    a = args_for(s, gs->models[K_GRAD_MODELS]);
    arg_mem(&a, grp->partial);
    arg_mem(&a, gs->acts.g);
    arg_mem(&a, gs->acts.h[l]);
    arg_mem(&a, gs->acts.dy[l]);
    arg_mem(&a, l == 0 ? s->x_table : gs->acts.y[l - 1]);
    arg_mem(&a, s->order);
    arg_uint(&a, b->n_order);
    arg_uint(&a, first);
    arg_uint(&a, l == 0);
    arg_uint(&a, B);
    arg_uint(&a, b->seq_len);
    arg_uint(&a, sh.n_in);
    arg_uint(&a, sh.n_hidden);
    arg_uint(&a, sh.n_out);
    arg_uint(&a, WINDOWS_PER_CHUNK);
    arg_uint(&a, b->n_params);
    arg_uint(&a, b->layer_offset[l]);
    arg_mem(&a, grp->active);
    arg_uint(&a, gs->acts.model_windows);
    arg_uint(&a, grp->stride_partial);
    const size_t n_layer = clrnn__layer_n_params(sh);
    const size_t glocal[3] = {ocl_group_size(s, &a, (size_t)gs->tuning[T_GRAD_WG]), 1, 1};
    const size_t grid[3] = {round_up(n_layer, glocal[0]), chunks_of(B), grp->M};
    return ocl_launch(s, &a, 3, grid, glocal, err);
}

/* A group's training batch (family.h: run_group): each launch of
 * group_run_batch once for all the models, model k's B windows at
 * order[k n_order + first ..], then ocl_group_finish (the mean gradients
 * and the loss sums); the steps are the backend's (ocl_group_step). */
static clrnn_status group_run_group(clrnn_backend *b, ocl_state *s, void *self, size_t first,
                                    size_t B, clrnn_error *err)
{
    group_state *gs = self;
    const size_t L = b->n_layers;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++)
        st = forward_models(b, s, gs, l, ocl_own_orders(b, s, first), B, err);
    if (st == CLRNN_OK)
        st = loss_models(b, s, gs, ocl_own_orders(b, s, first), B, err);
    for (size_t l = L; st == CLRNN_OK && l-- > 0;)
        st = backward_models(b, s, gs, l, first, B, err);
    return st == CLRNN_OK ? ocl_group_finish(b, s, chunks_of(B), B, err) : st;
}

/* A group's batch without gradients (family.h: forward_group): the
 * forward and loss launches for every model on the same B windows, then
 * each model's losses added (ocl_group_add_losses), as group_run_batch's. */
static clrnn_status group_forward_group(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                        clrnn_error *err)
{
    group_state *gs = self;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++)
        st = forward_models(b, s, gs, l, ocl_same_starts(s), B, err);
    if (st == CLRNN_OK)
        st = loss_models(b, s, gs, ocl_same_starts(s), B, err);
    return st == CLRNN_OK ? ocl_group_add_losses(s, B, err) : st;
}

/* Input attributions: the forward, the seed, rnn_backward of every layer
 * (layer 0's dx into dx), no weight gradient. */
static clrnn_status group_input_gradients(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                          size_t output, cl_mem dx, clrnn_error *err)
{
    group_state *gs = self;
    const size_t L = b->n_layers;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++)
        st = forward_layer(b, s, gs, l, B, err);
    if (st == CLRNN_OK)
        st = ocl_seed_outputs(b, s, B, output, err);
    for (size_t l = L; st == CLRNN_OK && l-- > 0;)
        st = bptt_layer(b, s, gs, l, B, l == 0 ? dx : s->dy[l - 1], 1, err);
    return st;
}

const ocl_family ocl_family_group = {
    .name = "group",
    .suitability = group_suitability,
    .shared_files = group_files,
    .n_shared_files = sizeof group_files / sizeof group_files[0],
    .shared_program_kernels = group_kernel_names,
    .n_shared_program_kernels = N_GROUP_KERNELS,
    .init = group_init,
    .destroy = group_destroy,
    .run_batch = group_run_batch,
    .tunables = group_tunables,
    .n_tunables = N_GROUP_TUNABLES,
    .input_gradients = group_input_gradients,
    .run_group = group_run_group,
    .forward_group = group_forward_group,
};
