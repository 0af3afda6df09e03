/*
 * The gpu kernel family (kernels/gpu/): a work-group owns a tile of
 * windows for all T steps, the layer's weights in local memory while they
 * fit (else W_h streams through it in tiles of rows), the tile's h or g
 * there too, each work-item a register block of hidden units x windows.
 * A batch is, per layer, rnn_forward_gpu (the top one with the loss and
 * dy), then from the top rnn_backward_gpu (the top one adds the loss up)
 * and grad_gpu, the weight gradients as one product over windows x steps
 * staged in local memory, a sum for each chunk of WINDOWS_PER_CHUNK
 * windows; then grad_finish where the batch is more than one group of
 * grad_gpu's (one group adds its chunks and writes the mean itself; under
 * MPI a rank's share stops at the chunks' sums: partials_only). A batch
 * without gradients adds its loss up with loss_accumulate. The layer's
 * sizes (gpu_tunables) are built into one program per layer shape.
 *
 * A group of models (s->group: run_group) runs the same three launches a
 * layer for all of them, the model the launches' last dimension (the
 * *_models kernels: the same work-groups, model k's slices of the group's
 * buffers and of the family's activations), then ocl_group_finish where
 * grad_gpu leaves the chunks' sums; the backend takes the steps.
 *
 * The sizes come from the family's tunables (gpu_tunable_table: family.h,
 * `clrnn tune`, the tuning cache) and, where those leave them to it, from
 * the device's reported properties (local memory, work-group limits, the
 * preferred work-group size multiple, compute units), never from its
 * vendor: resolve.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/model.h"
#include "opencl/family.h"

static const char *const gpu_files[] = {"common/common", "common/layer", "gpu/rnn_gpu"};
/* The kernels of one model, then those of a group (created in a group only). */
enum {
    K_FORWARD_GPU,
    K_BACKWARD_GPU,
    K_GRAD_GPU,
    N_MODEL_KERNELS,
    K_FORWARD_MODELS = N_MODEL_KERNELS,
    K_BACKWARD_MODELS,
    K_GRAD_MODELS,
    N_GPU_KERNELS
};
static const char *const gpu_kernel_names[N_GPU_KERNELS] = {
    "rnn_forward_gpu",        "rnn_backward_gpu",        "grad_gpu",
    "rnn_forward_gpu_models", "rnn_backward_gpu_models", "grad_gpu_models"};

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
    cl_program group_program; /* a group's *_models kernels (NULL alone) */
    ocl_kernel kernels[N_GPU_KERNELS];
    gpu_tunables tune;
    int owner; /* this layer built it (and releases it) */
} gpu_layer;

typedef struct gpu_state {
    size_t n_layers;
    gpu_layer *layers;          /* (n_layers) */
    size_t n_kernels;           /* a layer's: N_MODEL_KERNELS, N_GPU_KERNELS in a group */
    ocl_group_activations acts; /* a group's (s->group; none alone) */
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
        ocl_release_program(&gs->layers[l].group_program);
    }
    ocl_release_group_activations(&gs->acts);
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

/*
 * The tunables (family.h), in the order they are derived; where a list
 * has 0, 0 is the device-derived value (a count that depends on the shape
 * and the device, searched around by the others). Every value the device
 * does not take is a misfit (resolve says why).
 */
enum { T_RW, T_RH, T_NUW, T_WTILES, T_GLOCAL, T_GPER, T_GCW, T_GTS, N_GPU_TUNABLES };
_Static_assert(N_GPU_TUNABLES <= OCL_MAX_TUNABLES, "the gpu family's tunables fit ocl_tuning");
static const int rw_values[] = {1, 2, 3, 4}, rh_values[] = {1, 2, 3, 4, 5, 6, 7, 8},
                 nuw_values[] = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256},
                 wtiles_values[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
                 glocal_values[] = {0, 32, 64, 128, 256, 512, 1024},
                 gper_values[] = {0, 1, 2, 4, 8, 16, 24},
                 gcw_values[] = {32, 64, 96, 128, 160, 192, 224, 256},
                 gts_values[] = {0, 1, 2, 4, 8, 16, 32, 64};

/* grad_gpu's steps staged at once for layer l, once t->gcw is the model's:
 * gts (0: as many of a window's rows as fit beside the chunk's start rows),
 * at most T. */
static const char *grad_steps(const clrnn_backend *b, const gpu_device *d, size_t rs, size_t l,
                              size_t gts, gpu_tunables *t)
{
    const clrnn_layer_shape sh = b->layers[l];
    const size_t budget = d->local_mem / rs; /* reals */
    const size_t row = sh.n_in + 2 * sh.n_hidden + sh.n_out + 1;
    const size_t start_reals = (t->gcw * sizeof(cl_uint) + rs - 1) / rs;
    if (budget < 2 * row + start_reals)
        return "the gradient's two staged steps and GCW start rows need more local memory "
               "than the device has";
    const size_t fit = (budget - start_reals) / row - 1;
    if (gts == 0 || gts > b->seq_len)
        gts = gts == 0 && fit < b->seq_len ? fit : b->seq_len;
    if (gts > fit)
        return "GTS staged steps need more local memory than the device has";
    t->gts = gts;
    return NULL;
}

/* Layer l's sizes on device d from the tunables' values v (0: derive it),
 * every one derived from what d reports; NULL, or why they cannot run. The
 * chunking gcw is the layer's own here (the model takes the smallest). */
static const char *resolve(const clrnn_backend *b, const gpu_device *d, size_t rs, size_t l,
                           const int *v, gpu_tunables *t)
{
    memset(t, 0, sizeof *t);
    const clrnn_layer_shape sh = b->layers[l];
    const size_t H = sh.n_hidden;
    const size_t budget = d->local_mem / rs; /* reals */
    size_t local = d->max_group < GPU_LOCAL ? d->max_group : GPU_LOCAL;
    if (local > d->multiple)
        local -= local % d->multiple;
    /* Hidden units over a multiple of work-items (a warp or wavefront
     * reads a row of weights at once), RH of them each. */
    if (v[T_RH]) {
        t->rh = (size_t)v[T_RH];
    } else {
        size_t along = d->multiple < local ? d->multiple : local;
        if (along < 32 && 32 <= local)
            along = 32;
        t->rh = ceil_div(H, along < H ? along : H);
        if (t->rh > GPU_MAX_RH)
            t->rh = GPU_MAX_RH;
        if (ceil_div(H, t->rh) > local) /* wider than a group's work-items: more units each */
            t->rh = ceil_div(H, local);
    }
    t->nuh = ceil_div(H, t->rh);
    if (t->nuh > d->max_group)
        return "RH leaves more work-items along the hidden units than a work-group has";
    /* The weights in local memory for all T steps, in groups of as many
     * windows as fit (halving); or W_h streamed through it in tiles of
     * rows every step, in groups of as many windows as leave a row. Of the
     * two, the one that reads fewer weights from global memory a
     * window-step (the weights over a group's windows and steps, W_h once a
     * step where it streams). Fewer windows a work-item where neither fits.
     * WTILES given: W_h in that many tiles of rows (1: resident). */
    const size_t I = sh.n_in, O = sh.n_out, T = b->seq_len;
    const size_t small = I * H + H * O + H + O;
    size_t resident = 0, streamed = 0, stream_rows = 0;
    const size_t rw_first = v[T_RW]                 ? (size_t)v[T_RW]
                            : b->max_batch < GPU_RW ? b->max_batch
                                                    : GPU_RW;
    for (t->rw = rw_first; t->rw >= 1; t->rw = v[T_RW] ? 0 : t->rw / 2) {
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
        if (v[T_NUW])
            nuw = (size_t)v[T_NUW];
        const size_t lowest = v[T_NUW] ? nuw : 1;
        if (v[T_WTILES]) {
            const size_t rows = ceil_div(H, (size_t)v[T_WTILES]);
            for (size_t n = nuw; n >= lowest && !resident && !streamed; n /= 2)
                if (fits(sh, t, n, rows, budget)) {
                    *(rows == H ? &resident : &streamed) = n;
                    stream_rows = rows;
                }
        } else {
            for (size_t n = nuw; n >= lowest && !resident; n /= 2)
                if (fits(sh, t, n, H, budget))
                    resident = n;
            for (size_t n = nuw; n >= lowest && !streamed; n /= 2)
                for (size_t rows = H; rows >= 1 && !streamed; rows = rows > 1 ? (rows + 1) / 2 : 0)
                    if (fits(sh, t, n, rows, budget)) {
                        streamed = n;
                        stream_rows = rows;
                    }
        }
        if (resident || streamed)
            break;
    }
    if (!resident && !streamed)
        return "the weights and a group's windows need more local memory than the device has";
    const double cost_resident =
        resident ? (double)(small + H * H) / (double)(t->rw * resident * T) : 1e300;
    const double cost_streamed = streamed ? (double)small / (double)(t->rw * streamed * T) +
                                                (double)(H * H) / (double)(t->rw * streamed)
                                          : 1e300;
    const size_t chosen = cost_resident <= cost_streamed ? resident : streamed;
    t->wrows = cost_resident <= cost_streamed ? H : stream_rows;
    t->local = t->nuh * chosen;
    if (t->local > d->max_group)
        return "NUW: more work-items a group (NUW x the hidden units' work-items) than the "
               "device's work-group";
    /* The gradient: a work-item a parameter, up to GPU_MAX_GPER each. */
    const size_t n = clrnn__layer_n_params(sh);
    size_t glocal = d->max_group < GPU_LOCAL ? d->max_group : GPU_LOCAL;
    if (glocal > d->multiple)
        glocal -= glocal % d->multiple;
    const size_t needed = round_up(n, d->multiple);
    t->glocal = v[T_GLOCAL] ? (size_t)v[T_GLOCAL] : needed < glocal ? needed : glocal;
    if (t->glocal > d->max_group)
        return "GLOCAL: more work-items than the device's work-group";
    t->gper = ceil_div(n, t->glocal);
    if (t->gper > GPU_MAX_GPER)
        t->gper = GPU_MAX_GPER;
    if (v[T_GPER])
        t->gper = (size_t)v[T_GPER];
    /* Windows a group: enough groups to fill the compute units. */
    const size_t groups = ceil_div(n, t->glocal * t->gper);
    const size_t chunks = ceil_div(d->compute_units, groups);
    t->gcw = round_up(ceil_div(b->max_batch, chunks), WINDOWS_PER_CHUNK);
    if (t->gcw > GPU_MAX_GCW)
        t->gcw = GPU_MAX_GCW;
    if (v[T_GCW])
        t->gcw = (size_t)v[T_GCW];
    return grad_steps(b, d, rs, l, (size_t)v[T_GTS], t);
}

static void query_device(const ocl_state *s, gpu_device *d);

/* Tunable k's derived value for layer l given the values before it. */
static int derive(const clrnn_backend *b, const ocl_state *s, size_t l, const int *values, int k)
{
    gpu_device d;
    query_device(s, &d);
    int v[N_GPU_TUNABLES] = {0};
    memcpy(v, values, (size_t)k * sizeof *v);
    gpu_tunables t;
    if (resolve(b, &d, s->real_size, l, v, &t))
        return k == T_RW || k == T_RH || k == T_WTILES ? 1 : k == T_GCW ? GPU_MAX_GCW : 0;
    switch (k) {
    case T_RW:
        return (int)t.rw;
    case T_RH:
        return (int)t.rh;
    case T_WTILES: { /* the rows' tiles: t.wrows = ceil(H / 2^k) */
        int tiles = 1;
        while (ceil_div(b->layers[l].n_hidden, (size_t)tiles) > t.wrows)
            tiles *= 2;
        return tiles;
    }
    case T_GCW: { /* the model's: the least of its layers' */
        size_t gcw = t.gcw;
        for (size_t m = 0; m < b->n_layers; m++) {
            gpu_tunables o;
            if (!resolve(b, &d, s->real_size, m, v, &o) && o.gcw < gcw)
                gcw = o.gcw;
        }
        return (int)gcw;
    }
    default: /* NUW, GLOCAL, GPER, GTS: 0, derived with the rest */
        return 0;
    }
}

static int derive_rw(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return derive(b, s, l, v, T_RW);
}
static int derive_rh(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return derive(b, s, l, v, T_RH);
}
static int derive_nuw(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return derive(b, s, l, v, T_NUW);
}
static int derive_wtiles(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return derive(b, s, l, v, T_WTILES);
}
static int derive_glocal(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return derive(b, s, l, v, T_GLOCAL);
}
static int derive_gper(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return derive(b, s, l, v, T_GPER);
}
static int derive_gcw(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return derive(b, s, l, v, T_GCW);
}
static int derive_gts(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return derive(b, s, l, v, T_GTS);
}

#define N_OF(a) (sizeof a / sizeof a[0])
static const ocl_tunable gpu_tunable_table[N_GPU_TUNABLES] = {
    [T_RW] = {"RW", "windows a work-item (register block)", rw_values, N_OF(rw_values), derive_rw},
    [T_RH] = {"RH", "hidden units a work-item (register block)", rh_values, N_OF(rh_values),
              derive_rh},
    [T_NUW] = {"NUW", "work-items along windows a forward or backward group (0: derived)",
               nuw_values, N_OF(nuw_values), derive_nuw},
    [T_WTILES] = {"WTILES", "tiles of rows W_h streams through local memory in (1: resident)",
                  wtiles_values, N_OF(wtiles_values), derive_wtiles},
    [T_GLOCAL] = {"GLOCAL", "work-items a grad_gpu group (0: derived)", glocal_values,
                  N_OF(glocal_values), derive_glocal},
    [T_GPER] = {"GPER", "parameters a grad_gpu work-item sums (0: derived)", gper_values,
                N_OF(gper_values), derive_gper},
    [T_GCW] = {"GCW", "windows a grad_gpu group sums (whole chunks of 32)", gcw_values,
               N_OF(gcw_values), derive_gcw},
    [T_GTS] = {"GTS", "steps grad_gpu stages in local memory at once (0: as many as fit)",
               gts_values, N_OF(gts_values), derive_gts},
};

static const char *gpu_tuning_misfit(const clrnn_backend *b, const ocl_state *s, size_t l,
                                     const int *values)
{
    gpu_device d;
    query_device(s, &d);
    gpu_tunables t;
    return resolve(b, &d, s->real_size, l, values, &t);
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
    const size_t n_files = sizeof gpu_files / sizeof gpu_files[0];
    clrnn_status st = ocl_build(b, s, gpu_files, n_files, options, &layer->program, err);
    if (st == CLRNN_OK)
        st = ocl_create_kernels(s, layer->program, gpu_kernel_names, N_MODEL_KERNELS,
                                layer->kernels, err);
    /* A group's kernels: a program of their own (-DMODELS=1), so that the
     * one model's is as it is alone (Oclgrind counts the local memory of
     * every kernel in a program that calls a body for each kernel that
     * does). */
    if (st == CLRNN_OK && gs->n_kernels > N_MODEL_KERNELS) {
        const size_t len = strlen(options);
        snprintf(options + len, sizeof options - len, " -DMODELS=1");
        st = ocl_build(b, s, gpu_files, n_files, options, &layer->group_program, err);
    }
    if (st == CLRNN_OK && gs->n_kernels > N_MODEL_KERNELS)
        st = ocl_create_kernels(s, layer->group_program, gpu_kernel_names + N_MODEL_KERNELS,
                                N_GPU_KERNELS - N_MODEL_KERNELS, layer->kernels + N_MODEL_KERNELS,
                                err);
    /* Private arrays: the register blocks (2 RW RH) and grad_gpu's 4 GPER. */
    const size_t counted = (2 * t->rw * t->rh + 4 * t->gper + 2 * t->rw) * s->real_size;
    char holds[96];
    snprintf(holds, sizeof holds, "layer %zu: a block of %zu windows x %zu units", l, t->rw, t->rh);
    for (size_t k = 0; st == CLRNN_OK && k < gs->n_kernels; k++)
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

extern const ocl_family ocl_family_gpu;

/* Layer l's sizes from values (the tunables' values, 0: derived) and the
 * model's chunking gcw; why not as an error. */
static clrnn_status layer_sizes(const clrnn_backend *b, const ocl_state *s, const gpu_device *d,
                                size_t l, const int *values, size_t gcw, gpu_tunables *t,
                                clrnn_error *err)
{
    const char *why = resolve(b, d, s->real_size, l, values, t);
    if (!why) {
        t->gcw = gcw;
        why = grad_steps(b, d, s->real_size, l, (size_t)values[T_GTS], t);
    }
    if (!why)
        return CLRNN_OK;
    return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                       "layer %zu: the gpu kernels cannot run %zu hidden units on this device "
                       "(%zu KiB of local memory, work-groups of %zu): %s: use `kernels` tile",
                       l, b->layers[l].n_hidden, d->local_mem / 1024, d->max_group, why);
}

/* The largest work-groups layer's kernels can run (CL_KERNEL_WORK_GROUP_SIZE):
 * fits of the forward and backward ones, grad_fits of the gradient's (a
 * group's kernels too: the same work-groups). */
static void group_limits(const gpu_state *gs, const gpu_layer *layer, size_t *fits,
                         size_t *grad_fits)
{
    *fits = *grad_fits = SIZE_MAX;
    for (size_t k = 0; k < gs->n_kernels; k++) {
        size_t *limit = k % N_MODEL_KERNELS == K_GRAD_GPU ? grad_fits : fits;
        if (layer->kernels[k].max_group < *limit)
            *limit = layer->kernels[k].max_group;
    }
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
    gs->n_kernels = s->group ? N_GPU_KERNELS : N_MODEL_KERNELS;
    gpu_device d;
    query_device(s, &d);
    clrnn_status st =
        s->group ? ocl_make_group_activations(b, s, "gpu", 1, 0, &gs->acts, err) : CLRNN_OK;
    /* Each layer's values (clrnn tune's, the cache's or the derived ones);
     * one chunking for the model: grad_finish adds every parameter's
     * chunks, and GCW is derived as the least of the layers'. */
    int(*values)[N_GPU_TUNABLES] = calloc(b->n_layers, sizeof *values);
    if (!values)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating the OpenCL backend");
    size_t gcw = GPU_MAX_GCW;
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++) {
        st = ocl_layer_tuning(b, s, &ocl_family_gpu, l, values[l], err);
        if (st == CLRNN_OK && (size_t)values[l][T_GCW] < gcw)
            gcw = (size_t)values[l][T_GCW];
    }
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++)
        st = layer_sizes(b, s, &d, l, values[l], gcw, &gs->layers[l].tune, err);
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++) {
        st = build_layer(b, s, gs, l, err);
        /* A kernel that cannot run a group of the size built in (registers):
         * fewer work-items (the counts derived again under that limit),
         * rebuilt. */
        gpu_layer *layer = &gs->layers[l];
        while (st == CLRNN_OK && layer->owner) {
            size_t fits, grad_fits;
            group_limits(gs, layer, &fits, &grad_fits);
            if (fits >= layer->tune.local && grad_fits >= layer->tune.glocal)
                break;
            if (fits < d.max_group)
                d.max_group = fits;
            if (grad_fits < d.max_group)
                d.max_group = grad_fits;
            ocl_release_kernels(layer->kernels, N_GPU_KERNELS);
            ocl_release_program(&layer->program);
            ocl_release_program(&layer->group_program);
            values[l][T_NUW] = values[l][T_GLOCAL] = values[l][T_GPER] = 0;
            st = layer_sizes(b, s, &d, l, values[l], gcw, &layer->tune, err);
            if (st == CLRNN_OK)
                st = build_layer(b, s, gs, l, err);
        }
    }
    free(values);
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
    arg_h0(&a, s, l);
    const size_t local = layer->tune.local;
    const size_t global = ceil_div(B, windows_of(&layer->tune)) * local;
    return ocl_launch(s, &a, 1, &global, &local, err);
}

/* rnn_backward_gpu of layer l: g, dx into dx where want_dx, and (the top
 * layer) the batch's loss added to loss_sum. */
static clrnn_status bptt_layer(clrnn_backend *b, ocl_state *s, gpu_state *gs, size_t l, size_t B,
                               cl_mem dx, int want_dx, cl_mem loss_sum, clrnn_error *err)
{
    const gpu_layer *layer = &gs->layers[l];
    kernel_args a = args_for(s, layer->kernels[K_BACKWARD_GPU]);
    arg_mem(&a, s->g);
    arg_mem(&a, dx);
    arg_mem(&a, loss_sum);
    arg_mem(&a, s->window_loss);
    arg_mem(&a, s->dy[l]);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, s->params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, want_dx);
    arg_uint(&a, B);
    const size_t local = layer->tune.local;
    const size_t global = ceil_div(B, windows_of(&layer->tune)) * local;
    return ocl_launch(s, &a, 1, &global, &local, err);
}

static clrnn_status backward_layer(clrnn_backend *b, ocl_state *s, gpu_state *gs, size_t l,
                                   size_t B, clrnn_error *err)
{
    const gpu_layer *layer = &gs->layers[l];
    /* layer 0 writes no dx; the top layer adds the batch's loss (a rank's
     * share: to a scratch) */
    clrnn_status st = bptt_layer(b, s, gs, l, B, l == 0 ? s->g : s->dy[l - 1], l > 0,
                                 s->partials_only ? s->share_loss_scratch : s->loss_sum, err);
    if (st != CLRNN_OK)
        return st;

    /* The mean, written here, where one group holds the batch; else (and
     * for a rank's share of a batch) the chunks' sums, finished later. */
    const int finish = gpu_window_groups(gs, B) == 1 && !s->partials_only;
    kernel_args a = args_for(s, layer->kernels[K_GRAD_GPU]);
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
    arg_h0(&a, s, l);
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
    if (st != CLRNN_OK || gpu_window_groups(gs, B) == 1 || s->partials_only)
        return st;
    return ocl_finish_gradient(b, s, B, err);
}

/* ------------------------------------------------------ model groups */

/* Layer l's forward for every model of the group (rnn_forward_gpu_models):
 * the launch of one model with the model as its second dimension. */
static clrnn_status forward_models(clrnn_backend *b, ocl_state *s, gpu_state *gs, size_t l,
                                   ocl_group_windows w, size_t B, clrnn_error *err)
{
    const ocl_group *grp = s->group;
    const size_t T = b->seq_len;
    const gpu_layer *layer = &gs->layers[l];
    kernel_args a = args_for(s, layer->kernels[K_FORWARD_MODELS]);
    arg_mem(&a, gs->acts.y[l]);
    arg_mem(&a, gs->acts.h[l]);
    arg_mem(&a, grp->window_loss); /* the loss and dy: top layer only */
    arg_mem(&a, gs->acts.dy[l]);
    arg_mem(&a, l == 0 ? s->x_table : gs->acts.y[l - 1]);
    arg_mem(&a, s->y_table);
    arg_mem(&a, w.order);
    arg_uint(&a, w.stride);
    arg_uint(&a, w.offset);
    arg_mem(&a, grp->params);
    arg_uint(&a, grp->stride_p);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l == 0);
    arg_uint(&a, B);
    arg_uint(&a, b->loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0);
    arg_mem(&a, grp->active);
    arg_uint(&a, gs->acts.model_windows);
    arg_uint(&a, grp->stride_window);
    const size_t local[2] = {layer->tune.local, 1};
    const size_t global[2] = {ceil_div(B, windows_of(&layer->tune)) * local[0], grp->M};
    return ocl_launch(s, &a, 2, global, local, err);
}

/* Layer l's BPTT and weight gradients for every model (the
 * rnn_backward_gpu_models and grad_gpu_models launches), as backward_layer
 * for one: the mean where one group of grad_gpu's holds the batch, the
 * top layer adding the loss; else the chunks' sums, which
 * ocl_group_finish adds up with the loss. */
static clrnn_status backward_models(clrnn_backend *b, ocl_state *s, gpu_state *gs, size_t l,
                                    size_t first, size_t B, clrnn_error *err)
{
    const ocl_group *grp = s->group;
    const gpu_layer *layer = &gs->layers[l];
    const int finish = gpu_window_groups(gs, B) == 1;
    kernel_args a = args_for(s, layer->kernels[K_BACKWARD_MODELS]);
    arg_mem(&a, gs->acts.g);
    arg_mem(&a, l == 0 ? gs->acts.g : gs->acts.dy[l - 1]); /* layer 0 writes no dx */
    arg_mem(&a, grp->loss_sum);
    arg_mem(&a, grp->window_loss);
    arg_mem(&a, gs->acts.dy[l]);
    arg_mem(&a, gs->acts.h[l]);
    arg_mem(&a, grp->params);
    arg_uint(&a, grp->stride_p);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l > 0);
    arg_uint(&a, B);
    arg_uint(&a, finish);
    arg_mem(&a, grp->active);
    arg_uint(&a, gs->acts.model_windows);
    arg_uint(&a, grp->stride_window);
    arg_uint(&a, grp->stride_loss);
    const size_t local[2] = {layer->tune.local, 1};
    const size_t global[2] = {ceil_div(B, windows_of(&layer->tune)) * local[0], grp->M};
    clrnn_status st = ocl_launch(s, &a, 2, global, local, err);
    if (st != CLRNN_OK)
        return st;

    a = args_for(s, layer->kernels[K_GRAD_MODELS]);
    arg_mem(&a, finish ? grp->grads : grp->partial);
    arg_mem(&a, gs->acts.g);
    arg_mem(&a, gs->acts.h[l]);
    arg_mem(&a, gs->acts.dy[l]);
    arg_mem(&a, l == 0 ? s->x_table : gs->acts.y[l - 1]);
    arg_mem(&a, s->order);
    arg_uint(&a, b->n_order);
    arg_uint(&a, first);
    arg_uint(&a, l == 0);
    arg_uint(&a, B);
    arg_uint(&a, b->n_params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, finish);
    arg_uint(&a, finish ? grp->stride_p : grp->stride_partial);
    arg_mem(&a, grp->active);
    arg_uint(&a, gs->acts.model_windows);
    const size_t n = clrnn__layer_n_params(b->layers[l]);
    const size_t per_group = layer->tune.glocal * layer->tune.gper;
    const size_t glocal[3] = {layer->tune.glocal, 1, 1};
    const size_t grid[3] = {ceil_div(n, per_group) * layer->tune.glocal, gpu_window_groups(gs, B),
                            grp->M};
    return ocl_launch(s, &a, 3, grid, glocal, err);
}

/* A group's training batch (family.h: run_group): each launch of
 * gpu_run_batch once for all the models, model k's B windows at
 * order[k n_order + first ..]; then, where grad_gpu leaves the chunks'
 * sums, ocl_group_finish. The optimizer step is the backend's
 * (ocl_group_step). */
static clrnn_status gpu_run_group(clrnn_backend *b, ocl_state *s, void *self, size_t first,
                                  size_t B, clrnn_error *err)
{
    gpu_state *gs = self;
    const size_t L = b->n_layers;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++)
        st = forward_models(b, s, gs, l, ocl_own_orders(b, s, first), B, err);
    for (size_t l = L; st == CLRNN_OK && l-- > 0;)
        st = backward_models(b, s, gs, l, first, B, err);
    if (st != CLRNN_OK || gpu_window_groups(gs, B) == 1)
        return st;
    return ocl_group_finish(b, s, chunks_of(B), B, err);
}

/* A group's batch without gradients (family.h: forward_group): the
 * forward launches for every model on the same B windows, then each
 * model's losses added (ocl_group_add_losses), as gpu_run_batch's. */
static clrnn_status gpu_forward_group(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                      clrnn_error *err)
{
    gpu_state *gs = self;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++)
        st = forward_models(b, s, gs, l, ocl_same_starts(s), B, err);
    return st == CLRNN_OK ? ocl_group_add_losses(s, B, err) : st;
}

/* Input attributions: the forward (the top layer's loss and dy, which the
 * seed replaces), rnn_backward_gpu of every layer (layer 0's dx into dx;
 * the loss to a scratch sum), no weight gradient. */
static clrnn_status gpu_input_gradients(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                        size_t output, cl_mem dx, clrnn_error *err)
{
    gpu_state *gs = self;
    const size_t L = b->n_layers;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++)
        st = forward_layer(b, s, gs, l, B, err);
    if (st == CLRNN_OK)
        st = ocl_seed_outputs(b, s, B, output, err);
    for (size_t l = L; st == CLRNN_OK && l-- > 0;)
        st = bptt_layer(b, s, gs, l, B, l == 0 ? dx : s->dy[l - 1], 1, s->share_loss_scratch, err);
    return st;
}

const ocl_family ocl_family_gpu = {
    .name = "gpu",
    .suitability = gpu_suitability,
    .init = gpu_init,
    .destroy = gpu_destroy,
    .run_batch = gpu_run_batch,
    .tunables = gpu_tunable_table,
    .n_tunables = N_GPU_TUNABLES,
    .tuning_misfit = gpu_tuning_misfit,
    .input_gradients = gpu_input_gradients,
    .run_group = gpu_run_group,
    .forward_group = gpu_forward_group,
};
