/*
 * The gpu kernel family (kernels/gpu/): a work-group owns a tile of
 * windows for all T steps, the layer's weights in local memory while they
 * fit (else W_h streams through it in tiles of rows), the tile's h or g
 * there too, each work-item a register block of hidden units x windows.
 * A batch is, per layer, rnn_forward_gpu (the top one with the loss and
 * dy), then from the top rnn_backward_gpu (the top one adds the loss up)
 * and grad_gpu, the weight gradients as one product over windows x steps
 * staged in local memory, a sum for each chunk of WINDOWS_PER_CHUNK
 * windows; then grad_finish where the batch is more than one chunk (under
 * MPI a rank's share stops at the chunks' sums: partials_only). A batch without gradients adds its
 * loss up with loss_accumulate. The layer's sizes and the tunables (gpu_tunables) are built into
 * one program per layer shape.
 *
 * The tunables come from the device's reported properties (local memory,
 * work-group limits, the preferred work-group size multiple, compute
 * units), never from its vendor: gpu_default_tunables. `clrnn tune` may
 * replace them (gpu_tunables is the one place they live).
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/model.h"
#include "opencl/family.h"

static const char *const gpu_files[] = {"common/common", "common/layer", "gpu/rnn_gpu"};
enum { K_FORWARD_GPU, K_BACKWARD_GPU, K_GRAD_GPU, N_GPU_KERNELS };
static const char *const gpu_kernel_names[N_GPU_KERNELS] = {"rnn_forward_gpu", "rnn_backward_gpu",
                                                            "grad_gpu"};

/* The family's tunables for one layer, each a build-time define of
 * rnn_gpu.cl (named in brackets). */
typedef struct gpu_tunables {
    size_t local;  /* [LOCAL] work-items of a forward or backward group: nuh x nuw */
    size_t nuh;    /* [NUH] work-items along hidden units */
    size_t rw;     /* [RW] windows a work-item computes (register block) */
    size_t rh;     /* [RH] hidden units a work-item computes (register block) */
    size_t wrows;  /* [WROWS] rows of W_h in local memory at once; n_hidden: all */
    size_t glocal; /* [GLOCAL] work-items of a grad_gpu group */
    size_t gper;   /* [GPER] parameters a grad_gpu work-item sums */
    size_t gts;    /* [GTS] steps of a window grad_gpu stages at once */
    size_t gcw;    /* [GCW] windows a grad_gpu group sums, whole chunks (the model's, all layers) */
} gpu_tunables;

/* The register block's defaults: RW windows of RH units, RH from the
 * hidden units a group spreads over its work-items. */
#define GPU_RW 4
#define GPU_MAX_RH 8
/* Work-items a group, at most: enough to hide latency on a GPU, few
 * enough for a CPU device's worker and for registers. */
#define GPU_LOCAL 256
/* Parameters a grad_gpu work-item sums, at most: accumulators in registers. */
#define GPU_MAX_GPER 24
/* Windows a grad_gpu group sums, at most (its start rows in local memory):
 * GCW / WINDOWS_PER_CHUNK chunks of the sums, each written on its own. */
#define GPU_MAX_GCW 256

typedef struct gpu_layer {
    cl_program program;
    ocl_kernel kernels[N_GPU_KERNELS];
    gpu_tunables tune;
    int owner; /* this layer built it (and releases it) */
} gpu_layer;

typedef struct gpu_state {
    size_t n_layers;
    gpu_layer *layers; /* (n_layers) */
} gpu_state;

/* What the device reports that the defaults derive from. */
typedef struct gpu_device {
    size_t local_mem; /* bytes a group may use */
    size_t max_group; /* work-items a group */
    size_t multiple;  /* the preferred work-group size multiple */
    size_t compute_units;
} gpu_device;

/* First on devices of type GPU (Oclgrind's too, which is also a CPU);
 * never chosen automatically on other CPU devices (the fused and tile
 * families keep their results there). */
static int gpu_suitability(const clrnn_backend *b, const ocl_state *s)
{
    return s->gpu_device ? 4 : 0;
}

static void gpu_destroy(clrnn_backend *b, void *self)
{
    gpu_state *gs = self;
    if (!gs)
        return;
    for (size_t l = 0; gs->layers && l < gs->n_layers; l++) {
        if (!gs->layers[l].owner)
            continue;
        ocl_release_kernels(gs->layers[l].kernels, N_GPU_KERNELS);
        ocl_release_program(&gs->layers[l].program);
    }
    free(gs->layers);
    free(gs);
}

static size_t ceil_div(size_t n, size_t d)
{
    return (n + d - 1) / d;
}

/* Local memory (reals, start rows as reals too) of rnn_forward_gpu and
 * rnn_backward_gpu at tunables t, WT windows: rnn_gpu.cl's __local arrays. */
static size_t forward_local(clrnn_layer_shape sh, const gpu_tunables *t, size_t WT)
{
    const size_t I = sh.n_in, H = sh.n_hidden, O = sh.n_out;
    return I * H + H + H * O + O + t->wrows * H + WT * H + WT * I + 3 * WT;
}

static size_t backward_local(clrnn_layer_shape sh, const gpu_tunables *t, size_t WT)
{
    const size_t I = sh.n_in, H = sh.n_hidden, O = sh.n_out;
    return I * H + O * H + t->wrows * H + WT * H + WT * O;
}

/* Whether groups of nuw x nuh work-items with wrows rows of W_h fit in
 * budget reals of local memory. */
static int fits(clrnn_layer_shape sh, const gpu_tunables *t, size_t nuw, size_t wrows,
                size_t budget)
{
    gpu_tunables c = *t;
    c.wrows = wrows;
    const size_t WT = t->rw * nuw;
    return forward_local(sh, &c, WT) <= budget && backward_local(sh, &c, WT) <= budget;
}

static size_t windows_of(const gpu_tunables *t)
{
    return t->rw * (t->local / t->nuh);
}

/* The defaults for layer l on device d: every size from what d reports. */
static clrnn_status gpu_default_tunables(const clrnn_backend *b, const ocl_state *s,
                                         const gpu_device *d, size_t l, gpu_tunables *t,
                                         clrnn_error *err)
{
    const clrnn_layer_shape sh = b->layers[l];
    const size_t H = sh.n_hidden, rs = s->real_size;
    const size_t budget = d->local_mem / rs; /* reals */
    size_t local = d->max_group < GPU_LOCAL ? d->max_group : GPU_LOCAL;
    if (local > d->multiple)
        local -= local % d->multiple;
    /* Hidden units over a multiple of work-items (a warp or wavefront
     * reads a row of weights at once), RH of them each. */
    size_t along = d->multiple < local ? d->multiple : local;
    if (along < 32 && 32 <= local)
        along = 32;
    t->rh = ceil_div(H, along < H ? along : H);
    if (t->rh > GPU_MAX_RH)
        t->rh = GPU_MAX_RH;
    t->nuh = ceil_div(H, t->rh);
    if (t->nuh > local) { /* wider than a group's work-items: more units each */
        t->nuh = local;
        t->rh = ceil_div(H, local);
    }
    /* The weights in local memory for all T steps, in groups of as many
     * windows as fit (halving); or W_h streamed through it in tiles of
     * rows every step, in groups of as many windows as leave a row. Of the
     * two, the one that reads fewer weights from global memory a
     * window-step (the weights over a group's windows and steps, W_h once a
     * step where it streams). Fewer windows a work-item where neither fits. */
    const size_t I = sh.n_in, O = sh.n_out, T = b->seq_len;
    const size_t small = I * H + H * O + H + O;
    size_t resident = 0, streamed = 0, stream_rows = 0;
    for (t->rw = b->max_batch < GPU_RW ? b->max_batch : GPU_RW; t->rw >= 1; t->rw /= 2) {
        /* As many windows a group as the group's work-items take, but no
         * more than leave a group for each compute unit (where the batch
         * has as many windows), nor fewer than a multiple of work-items. */
        size_t nuw = local / t->nuh;
        const size_t items = ceil_div(b->max_batch, t->rw);
        size_t nuw_fill = ceil_div(items, d->compute_units);
        if (nuw_fill < ceil_div(d->multiple, t->nuh))
            nuw_fill = ceil_div(d->multiple, t->nuh);
        if (nuw > nuw_fill)
            nuw = nuw_fill;
        if (nuw > items)
            nuw = items;
        if (nuw < 1)
            nuw = 1;
        for (size_t n = nuw; n >= 1 && !resident; n /= 2)
            if (fits(sh, t, n, H, budget))
                resident = n;
        for (size_t n = nuw; n >= 1 && !streamed; n /= 2)
            for (size_t rows = H; rows >= 1 && !streamed; rows = rows > 1 ? (rows + 1) / 2 : 0)
                if (fits(sh, t, n, rows, budget)) {
                    streamed = n;
                    stream_rows = rows;
                }
        if (resident || streamed)
            break;
    }
    if (!resident && !streamed)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                           "layer %zu: the gpu kernels need more local memory for %zu hidden "
                           "units than the device's %zu KiB: use `kernels` tile",
                           l, H, d->local_mem / 1024);
    const double cost_resident =
        resident ? (double)(small + H * H) / (double)(t->rw * resident * T) : 1e300;
    const double cost_streamed = streamed ? (double)small / (double)(t->rw * streamed * T) +
                                                (double)(H * H) / (double)(t->rw * streamed)
                                          : 1e300;
    const size_t chosen = cost_resident <= cost_streamed ? resident : streamed;
    t->wrows = cost_resident <= cost_streamed ? H : stream_rows;
    t->local = t->nuh * chosen;
    /* The gradient: a work-item a parameter, up to GPU_MAX_GPER each. */
    const size_t n = clrnn__layer_n_params(sh);
    size_t glocal = d->max_group < GPU_LOCAL ? d->max_group : GPU_LOCAL;
    if (glocal > d->multiple)
        glocal -= glocal % d->multiple;
    const size_t needed = round_up(n, d->multiple);
    t->glocal = needed < glocal ? needed : glocal;
    t->gper = ceil_div(n, t->glocal);
    if (t->gper > GPU_MAX_GPER)
        t->gper = GPU_MAX_GPER;
    /* Chunks of windows: enough groups to fill the compute units. */
    const size_t groups = ceil_div(n, t->glocal * t->gper);
    const size_t chunks = ceil_div(d->compute_units, groups);
    t->gcw = round_up(ceil_div(b->max_batch, chunks), WINDOWS_PER_CHUNK);
    if (t->gcw > GPU_MAX_GCW)
        t->gcw = GPU_MAX_GCW;
    return CLRNN_OK;
}

/* grad_gpu's steps staged at once for layer l, once t->gcw is the model's:
 * as many of a window's rows as fit beside the chunk's start rows. */
static clrnn_status set_grad_steps(const clrnn_backend *b, const ocl_state *s, const gpu_device *d,
                                   size_t l, gpu_tunables *t, clrnn_error *err)
{
    const clrnn_layer_shape sh = b->layers[l];
    const size_t H = sh.n_hidden, rs = s->real_size;
    const size_t budget = d->local_mem / rs; /* reals */
    const size_t row = sh.n_in + 2 * H + sh.n_out + 1;
    const size_t start_reals = (t->gcw * sizeof(cl_uint) + rs - 1) / rs;
    if (budget < 2 * row + start_reals)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                           "layer %zu: the gpu kernels' gradient needs %zu KiB of local memory, "
                           "the device has %zu KiB: use `kernels` tile",
                           l, (2 * row + start_reals) * rs / 1024, d->local_mem / 1024);
    t->gts = (budget - start_reals) / row - 1;
    if (t->gts > b->seq_len)
        t->gts = b->seq_len;
    return CLRNN_OK;
}

/* Layer l's program with its sizes and tunables as build-time constants,
 * or the one of an earlier layer of its shape. No fast-math options: the
 * parity checks hold the kernels to the CPU reference's rounding. */
static clrnn_status build_layer(clrnn_backend *b, ocl_state *s, gpu_state *gs, size_t l,
                                clrnn_error *err)
{
    const clrnn_layer_shape sh = b->layers[l];
    const int top = l + 1 == b->n_layers;
    gpu_layer *layer = &gs->layers[l];
    size_t same = 0;
    while (same < l && (top || memcmp(&b->layers[same], &sh, sizeof sh) != 0 ||
                        memcmp(&gs->layers[same].tune, &layer->tune, sizeof layer->tune) != 0))
        same++;
    if (same < l) {
        gs->layers[l] = gs->layers[same];
        gs->layers[l].owner = 0;
        return CLRNN_OK;
    }
    const gpu_tunables *t = &layer->tune;
    char options[384];
    snprintf(options, sizeof options,
             "-DCLRNN_FP64=%d -DNI=%zu -DNH=%zu -DNO=%zu -DNT=%zu -DTOP_LAYER=%d -DLOCAL=%zu "
             "-DNUH=%zu -DRW=%zu -DRH=%zu -DWROWS=%zu -DGLOCAL=%zu -DGPER=%zu -DGTS=%zu "
             "-DGCW=%zu -DCHUNK=%d",
             b->precision == CLRNN_FP64, sh.n_in, sh.n_hidden, sh.n_out, b->seq_len, top, t->local,
             t->nuh, t->rw, t->rh, t->wrows, t->glocal, t->gper, t->gts, t->gcw, WINDOWS_PER_CHUNK);
    layer->owner = 1;
    clrnn_status st = ocl_build(b, s, gpu_files, sizeof gpu_files / sizeof gpu_files[0], options,
                                &layer->program, err);
    if (st == CLRNN_OK)
        st = ocl_create_kernels(s, layer->program, gpu_kernel_names, N_GPU_KERNELS, layer->kernels,
                                err);
    /* Private arrays: the register blocks (2 RW RH) and grad_gpu's 3 GPER. */
    const size_t counted = (2 * t->rw * t->rh + 3 * t->gper + 2 * t->rw) * s->real_size;
    char holds[96];
    snprintf(holds, sizeof holds, "layer %zu: a block of %zu windows x %zu units", l, t->rw, t->rh);
    for (int k = 0; st == CLRNN_OK && k < N_GPU_KERNELS; k++)
        st = ocl_bound_private(&layer->kernels[k], counted, gpu_kernel_names[k], holds,
                               "a smaller model", err);
    return st;
}

/* The device's figures the defaults start from. CLRNN_GPU_LOCAL_MEM (bytes)
 * caps the local memory assumed: the tests use it to run the streamed
 * weights on a device with plenty. */
static void query_device(const ocl_state *s, gpu_device *d)
{
    d->local_mem = s->max_local_mem > 1024 ? s->max_local_mem - 1024 : s->max_local_mem;
    const char *cap = getenv("CLRNN_GPU_LOCAL_MEM");
    if (cap && strtoul(cap, NULL, 10) > 0 && strtoul(cap, NULL, 10) < d->local_mem)
        d->local_mem = strtoul(cap, NULL, 10);
    size_t max_group = 0;
    clGetDeviceInfo(s->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_group, &max_group, NULL);
    if (s->max_item_size[0] && s->max_item_size[0] < max_group)
        max_group = s->max_item_size[0];
    d->max_group = max_group ? max_group : 1;
    size_t multiple = 0;
    clGetKernelWorkGroupInfo(s->kernels[K_SGD].kernel, s->device,
                             CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE, sizeof multiple,
                             &multiple, NULL);
    d->multiple = multiple ? multiple : 1;
    d->compute_units = s->compute_units;
}

static clrnn_status gpu_init(clrnn_backend *b, ocl_state *s, void **self, clrnn_error *err)
{
    gpu_state *gs = calloc(1, sizeof *gs);
    *self = gs;
    if (gs) {
        gs->n_layers = b->n_layers;
        gs->layers = calloc(b->n_layers, sizeof *gs->layers);
    }
    if (!gs || !gs->layers)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating the OpenCL backend");
    gpu_device d;
    query_device(s, &d);
    clrnn_status st = CLRNN_OK;
    size_t gcw = GPU_MAX_GCW;
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++) {
        st = gpu_default_tunables(b, s, &d, l, &gs->layers[l].tune, err);
        if (st == CLRNN_OK && gs->layers[l].tune.gcw < gcw)
            gcw = gs->layers[l].tune.gcw;
    }
    /* One chunking for the model: grad_finish adds every parameter's chunks. */
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++) {
        gs->layers[l].tune.gcw = gcw;
        st = set_grad_steps(b, s, &d, l, &gs->layers[l].tune, err);
    }
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++) {
        st = build_layer(b, s, gs, l, err);
        /* A kernel that cannot run a group of the size built in (registers):
         * fewer work-items, rebuilt. */
        gpu_layer *layer = &gs->layers[l];
        while (st == CLRNN_OK && layer->owner &&
               (layer->kernels[K_FORWARD_GPU].max_group < layer->tune.local ||
                layer->kernels[K_BACKWARD_GPU].max_group < layer->tune.local ||
                layer->kernels[K_GRAD_GPU].max_group < layer->tune.glocal)) {
            size_t fits = layer->kernels[K_FORWARD_GPU].max_group;
            if (layer->kernels[K_BACKWARD_GPU].max_group < fits)
                fits = layer->kernels[K_BACKWARD_GPU].max_group;
            if (fits < d.max_group)
                d.max_group = fits;
            if (layer->kernels[K_GRAD_GPU].max_group < d.max_group)
                d.max_group = layer->kernels[K_GRAD_GPU].max_group;
            ocl_release_kernels(layer->kernels, N_GPU_KERNELS);
            ocl_release_program(&layer->program);
            st = gpu_default_tunables(b, s, &d, l, &layer->tune, err);
            layer->tune.gcw = gcw;
            if (st == CLRNN_OK)
                st = set_grad_steps(b, s, &d, l, &layer->tune, err);
            if (st == CLRNN_OK)
                st = build_layer(b, s, gs, l, err);
        }
    }
    return st;
}

/* grad_gpu's groups along the batch: GCW windows each. */
static size_t gpu_window_groups(const gpu_state *gs, size_t B)
{
    return ceil_div(B, gs->layers[0].tune.gcw);
}

static clrnn_status forward_layer(clrnn_backend *b, ocl_state *s, gpu_state *gs, size_t l, size_t B,
                                  clrnn_error *err)
{
    const size_t T = b->seq_len;
    const gpu_layer *layer = &gs->layers[l];
    kernel_args a = args_for(s, layer->kernels[K_FORWARD_GPU]);
    arg_mem(&a, s->y[l]);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, s->window_loss); /* the loss and dy: top layer only */
    arg_mem(&a, s->dy[l]);
    arg_mem(&a, l == 0 ? s->x_table : s->y[l - 1]);
    arg_mem(&a, s->y_table);
    arg_starts(&a, s);
    arg_mem(&a, s->params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l == 0);
    arg_uint(&a, B);
    arg_uint(&a, b->loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0);
    const size_t local = layer->tune.local;
    const size_t global = ceil_div(B, windows_of(&layer->tune)) * local;
    return ocl_launch(s, &a, 1, &global, &local, err);
}

static clrnn_status backward_layer(clrnn_backend *b, ocl_state *s, gpu_state *gs, size_t l,
                                   size_t B, clrnn_error *err)
{
    const gpu_layer *layer = &gs->layers[l];
    kernel_args a = args_for(s, layer->kernels[K_BACKWARD_GPU]);
    arg_mem(&a, s->g);
    arg_mem(&a, l == 0 ? s->g : s->dy[l - 1]); /* layer 0 writes no dx */
    /* the top layer adds the batch's loss (a rank's share: to a scratch) */
    arg_mem(&a, s->partials_only ? s->share_loss_scratch : s->loss_sum);
    arg_mem(&a, s->window_loss);
    arg_mem(&a, s->dy[l]);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, s->params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l > 0);
    arg_uint(&a, B);
    const size_t local = layer->tune.local;
    const size_t global = ceil_div(B, windows_of(&layer->tune)) * local;
    clrnn_status st = ocl_launch(s, &a, 1, &global, &local, err);
    if (st != CLRNN_OK)
        return st;

    /* The mean, written here, where the batch is one chunk; else (and for
     * a rank's share of a batch) the chunks' sums, finished later. */
    const int finish = chunks_of(B) == 1 && !s->partials_only;
    a = args_for(s, layer->kernels[K_GRAD_GPU]);
    arg_mem(&a, finish ? s->grads : s->partial);
    arg_mem(&a, s->g);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, s->dy[l]);
    arg_mem(&a, l == 0 ? s->x_table : s->y[l - 1]);
    arg_starts(&a, s);
    arg_uint(&a, l == 0);
    arg_uint(&a, B);
    arg_uint(&a, b->n_params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, finish);
    const size_t n = clrnn__layer_n_params(b->layers[l]);
    const size_t per_group = layer->tune.glocal * layer->tune.gper;
    size_t local2[2] = {layer->tune.glocal, 1};
    size_t grid[2] = {ceil_div(n, per_group) * layer->tune.glocal, gpu_window_groups(gs, B)};
    return ocl_launch(s, &a, 2, grid, local2, err);
}

static clrnn_status gpu_run_batch(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                  int with_gradients, clrnn_error *err)
{
    gpu_state *gs = self;
    const size_t L = b->n_layers;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++)
        st = forward_layer(b, s, gs, l, B, err);
    if (st != CLRNN_OK || !with_gradients)
        return st == CLRNN_OK ? ocl_accumulate_loss(s, B, err) : st;
    for (size_t l = L; st == CLRNN_OK && l-- > 0;)
        st = backward_layer(b, s, gs, l, B, err);
    /* A rank's share of a batch (partials_only) stops at the chunks' sums. */
    if (st != CLRNN_OK || chunks_of(B) == 1 || s->partials_only)
        return st;
    return ocl_finish_gradient(b, s, B, err);
}

const ocl_family ocl_family_gpu = {
    .name = "gpu",
    .suitability = gpu_suitability,
    .init = gpu_init,
    .destroy = gpu_destroy,
    .run_batch = gpu_run_batch,
};
