/*
 * The OpenCL backend: the batched forward pass, reverse-time BPTT, the
 * gradient reductions, the loss and the optimizer all run on the device.
 *
 * What crosses the bus:
 * - once a run: the table x (R,F) and targets (R,K) (stage), the parameters;
 * - once an epoch, where the caller stages its window order: the order's
 *   start rows (stage_order), read by the batches at their offset;
 * - else once a batch: the B window start rows (4 B bytes, written without
 *   waiting, from one of two host slots);
 * - once an epoch: the loss sum (take_loss_sum);
 * - on demand only: parameters, gradients, activations (parity checks,
 *   checkpoints, metrics).
 *
 * Legend: B = windows in a batch, T = steps, R = staged rows, F = features,
 * K = targets, P = parameters; layer l has (I_l, H_l, O_l). Device buffers
 * hold `real` (float or double, as the precision says); the host API speaks
 * double and converts.
 *
 * Two kernel families (choose_family). The group family enqueues a batch
 * as: per layer one rnn_forward launch (all T steps of all B windows), then
 * mse_loss and loss_accumulate, then per layer from the top one
 * rnn_backward and one grad_partial launch, and one grad_finish. The tile
 * family fuses: per layer rnn_forward_tile (the top one with the loss), then
 * from the top rnn_backward_tile and grad_rows_tile (which finishes the
 * gradient itself when the batch is one chunk). The fused family, for one
 * small layer, runs a training batch as rnn_fused (forward, loss, BPTT and
 * the chunks' gradient sums) and fused_finish; its forward-only batches are
 * the tile family's. Then the update. An in-order queue orders them; the
 * host never waits inside an epoch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/error.h"
#include "opencl/kernels_embedded.h"
#include "core/model.h"
#include "opencl/opencl_util.h"

/* Windows per chunk of the first reduction stage (reduce.cl): enough work
 * per work-item to amortise it, enough chunks to fill a device. Fixed, so
 * the summation order, and so the bits, do not depend on the device. */
#define WINDOWS_PER_CHUNK 32
/* Layers up to this many hidden units run their forward with windows as
 * vector lanes on CPU devices (rnn_forward_tile_lanes), and so does the
 * fused family (rnn_fused.cl), 8 windows a tile. */
#define WVEC_MAX_HIDDEN 16
/* The fused family's windows a tile (vector lanes): 16 where the device's
 * native vectors hold 16 reals, else 8. Batches are padded to whole tiles. */
#define MAX_LANES 16
/* The fused family keeps a tile's x, h and dy of every step and the
 * layer's gradient sums in private memory: at most this many vectors of 8. */
#define FUSED_MAX_VECTORS 2048
/* Rows of the weight gradient a work-item of grad_rows_tile sums at once
 * where it runs on explicit vectors (grad_rows_tile_vec): 6 rows of 4
 * vectors are 24 accumulators, with the 4 vectors of g 28 of AVX-512's 32
 * registers; measured on the large shape, 15% faster than 4 rows. */
#define GRAD_ROW_BLOCK 6
/* Parameters per slice of the clipping norm's first stage. */
#define PARAMS_PER_SLICE 1024

enum {
    K_FORWARD,
    K_BACKWARD,
    K_GRAD_PARTIAL,
    K_GRAD_FINISH,
    K_MSE,
    K_LOSS_ACC,
    K_SGD,
    K_ADAM,
    K_SUMSQ,
    K_CLIP_SCALE,
    K_SCALE_GRADS,
    N_SHARED_KERNELS,
    /* The tile family (rnn_tile.cl), built once per layer shape. */
    K_FORWARD_TILE = N_SHARED_KERNELS,
    K_BACKWARD_TILE,
    K_GRAD_ROWS_TILE,
    /* The fused family (rnn_fused.cl). */
    K_FUSED,
    K_FUSED_FINISH,
    N_KERNELS
};
#define N_TILE_KERNELS (K_FUSED - N_SHARED_KERNELS)
#define N_FUSED_KERNELS (N_KERNELS - K_FUSED)
static const char *const kernel_names[N_KERNELS] = {
    "rnn_forward",       "rnn_backward",    "grad_partial", "grad_finish",
    "mse_loss",          "loss_accumulate", "sgd_update",   "adam_update",
    "sumsq_partial",     "clip_scale",      "scale_grads",  "rnn_forward_tile",
    "rnn_backward_tile", "grad_rows_tile",  "rnn_fused",    "fused_finish"};
/* The shared program is these files, in this order (kernels/<name>.cl, name with its folder);
 * a tile program is common.cl, layer.cl and rnn_tile.cl with the layer's sizes. */
static const char *const program_files[] = {"common/common",      "common/layer",
                                            "group/rnn_forward",  "group/rnn_backward",
                                            "common/reduce",      "common/loss",
                                            "common/optimizer"};
#define N_PROGRAM_FILES (sizeof program_files / sizeof program_files[0])
/* A layer's tile-family kernels (K_FORWARD_TILE ..), by variant: windows
 * one after another; the forward with windows as vector lanes (wvec); on
 * explicit vectors along hidden units (jvec). kernel_names holds the
 * first, for messages and profiling. */
static const char *const tile_variant_names[][N_TILE_KERNELS] = {
    {"rnn_forward_tile", "rnn_backward_tile", "grad_rows_tile"},
    {"rnn_forward_tile_lanes", "rnn_backward_tile", "grad_rows_tile"},
    {"rnn_forward_tile_vec", "rnn_backward_tile_vec", "grad_rows_tile_vec"}};
static const char *const tile_files[] = {"common/common", "common/layer", "tile/rnn_tile"};
static const char *const fused_files[] = {"common/common", "common/layer", "fused/rnn_fused"};

/* Kernel families (see rnn_forward.cl, rnn_tile.cl and rnn_fused.cl). */
typedef enum family { FAMILY_GROUP, FAMILY_TILE, FAMILY_FUSED } family;
static const char *const family_names[] = {"group", "tile", "fused"};

/* A layer's tile program and kernels; layers of equal shape (and equally
 * top or not) share one. */
typedef struct tile_program {
    cl_program program;
    cl_kernel kernels[N_TILE_KERNELS];
    size_t windows;   /* WB: windows per work-item */
    size_t grad_rows; /* work-items of grad_rows_tile per chunk */
    int owner;        /* this layer built it (and releases it) */
} tile_program;

typedef struct ocl_state {
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernels[N_SHARED_KERNELS];
    family family;
    int cpu_device;      /* CL_DEVICE_TYPE_CPU */
    tile_program *tiles; /* (n_layers) in the tile and fused families */
    cl_program fused_program;
    cl_kernel fused_kernels[N_FUSED_KERNELS];
    size_t lanes;        /* windows a tile of rnn_fused */
    int lanes_layout;    /* the last batch's h and y are rnn_fused's lane-major ones */
    size_t finish_batch; /* B of a batch whose finishing step waits, else 0 */
    int deferred;        /* ... and the update that goes with it: */
    clrnn_optimizer deferred_opt;
    long deferred_step;
    /* The fused family's other halves, swapped in when rnn_fused takes a
     * step (run_fused). */
    cl_mem params_alt, opt_a_alt, opt_b_alt, partial_alt, window_loss_alt;
    size_t real_size;     /* 4 or 8 */
    size_t max_local_mem; /* bytes */
    size_t max_alloc;     /* bytes in one buffer */
    size_t *group_size;   /* (n_layers) work-group size of forward/backward */

    cl_mem x_table, y_table; /* (R,F), (R,K) */
    cl_mem starts;           /* (max B) */
    cl_mem order;            /* (order_capacity) the staged window order */
    size_t order_capacity;
    cl_mem batch_starts; /* the batch's: starts, or order at batch_offset */
    size_t batch_offset;
    uint32_t *starts_host[2]; /* (max B) each: the host side of the last two writes */
    cl_event starts_written[2];
    int starts_slot;

    cl_mem params, grads, opt_a, opt_b; /* (P) each */
    cl_mem *h, *y, *dy;                 /* per layer: (B,T,H_l), (B,T,O_l), (B,T,O_l),
                                           B rounded up to a multiple of 8 (rnn_fused) */
    cl_mem g;                           /* (B,T,max H) scratch of backward */
    cl_mem partial;                     /* (max chunks, P) */
    cl_mem window_loss;                 /* (B rounded up to a multiple of 8) */
    cl_mem loss_sum;                    /* (2) sum and Kahan compensation */
    cl_mem norm_partial;                /* (slices) */
    cl_mem clip;                        /* (2) norm, scale */
    cl_mem wt;                          /* (P) transposed weights (tile family) */
    size_t n_slices;
    void *host; /* conversion scratch: host_size reals */
    size_t host_size;

    /* Profiling (clrnn bench): launches' events until harvested. */
    int profiling;
    cl_event *pending;
    int *pending_kernel;
    size_t n_pending, pending_capacity;
    double kernel_seconds[N_KERNELS];
    size_t kernel_launches[N_KERNELS];
} ocl_state;

static clrnn_status harvest_events(ocl_state *s, clrnn_error *err);

/* ------------------------------------------------------------ helpers */

/* Sets kernel arguments in order; the first failure sticks in rc. */
typedef struct kernel_args {
    cl_kernel kernel;
    int which; /* for messages and profiling */
    const ocl_state *s;
    cl_uint next;
    cl_int rc;
} kernel_args;

static kernel_args args_for(const ocl_state *s, int which)
{
    kernel_args a = {s->kernels[which], which, s, 0, CL_SUCCESS};
    return a;
}

/* A tile-family kernel of layer l. */
static kernel_args tile_args_for(const ocl_state *s, int which, size_t l)
{
    kernel_args a = {s->tiles[l].kernels[which - N_SHARED_KERNELS], which, s, 0, CL_SUCCESS};
    return a;
}

/* A fused-family kernel. */
static kernel_args fused_args_for(const ocl_state *s, int which)
{
    kernel_args a = {s->fused_kernels[which - K_FUSED], which, s, 0, CL_SUCCESS};
    return a;
}

static void arg_mem(kernel_args *a, cl_mem m)
{
    if (a->rc == CL_SUCCESS)
        a->rc = clSetKernelArg(a->kernel, a->next, sizeof m, &m);
    a->next++;
}

static void arg_uint(kernel_args *a, size_t value)
{
    cl_uint v = (cl_uint)value;
    if (a->rc == CL_SUCCESS)
        a->rc = clSetKernelArg(a->kernel, a->next, sizeof v, &v);
    a->next++;
}

static void arg_real(kernel_args *a, double value)
{
    if (a->rc == CL_SUCCESS) {
        if (a->s->real_size == sizeof(double)) {
            cl_double v = value;
            a->rc = clSetKernelArg(a->kernel, a->next, sizeof v, &v);
        } else {
            cl_float v = (cl_float)value;
            a->rc = clSetKernelArg(a->kernel, a->next, sizeof v, &v);
        }
    }
    a->next++;
}

/* The batch's window start rows: the buffer and the offset into it. */
static void arg_starts(kernel_args *a, const ocl_state *s)
{
    arg_mem(a, s->batch_starts);
    arg_uint(a, s->batch_offset);
}

static void arg_local(kernel_args *a, size_t bytes)
{
    if (a->rc == CL_SUCCESS)
        a->rc = clSetKernelArg(a->kernel, a->next, bytes, NULL);
    a->next++;
}

/* Launches the kernel whose arguments `a` set; local may be NULL. */
static clrnn_status launch(ocl_state *s, const kernel_args *a, cl_uint dims, const size_t *global,
                           const size_t *local, clrnn_error *err)
{
    const int which = a->which;
    char what[96];
    snprintf(what, sizeof what, "setting the arguments of kernel %s", kernel_names[which]);
    if (a->rc != CL_SUCCESS)
        return ocl_fail(err, a->rc, what);
    if (s->profiling && s->n_pending == s->pending_capacity) {
        clrnn_status st = harvest_events(s, err);
        if (st != CLRNN_OK)
            return st;
    }
    cl_event *event = s->profiling ? &s->pending[s->n_pending] : NULL;
    cl_int rc =
        clEnqueueNDRangeKernel(s->queue, a->kernel, dims, NULL, global, local, 0, NULL, event);
    if (rc != CL_SUCCESS) {
        snprintf(what, sizeof what, "launching kernel %s", kernel_names[which]);
        return ocl_fail(err, rc, what);
    }
    if (event)
        s->pending_kernel[s->n_pending++] = which;
    return CLRNN_OK;
}

/* Waits for the queue and adds the pending launches' device times to the
 * per-kernel totals. */
static clrnn_status harvest_events(ocl_state *s, clrnn_error *err)
{
    cl_int rc = clFinish(s->queue);
    for (size_t i = 0; i < s->n_pending; i++) {
        cl_ulong start = 0, end = 0;
        if (rc == CL_SUCCESS)
            rc = clGetEventProfilingInfo(s->pending[i], CL_PROFILING_COMMAND_START, sizeof start,
                                         &start, NULL);
        if (rc == CL_SUCCESS)
            rc = clGetEventProfilingInfo(s->pending[i], CL_PROFILING_COMMAND_END, sizeof end, &end,
                                         NULL);
        if (rc == CL_SUCCESS) {
            s->kernel_seconds[s->pending_kernel[i]] += (double)(end - start) * 1e-9;
            s->kernel_launches[s->pending_kernel[i]]++;
        }
        clReleaseEvent(s->pending[i]);
    }
    s->n_pending = 0;
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "reading kernel profiling events");
}

static size_t round_up(size_t n, size_t multiple)
{
    return (n + multiple - 1) / multiple * multiple;
}

/* Chunks of the first reduction stage (and of rnn_fused) in a batch of B. */
static size_t chunks_of(size_t B)
{
    return (B + WINDOWS_PER_CHUNK - 1) / WINDOWS_PER_CHUNK;
}

/* A 1-D launch of n work-items, one per element, rounded up to whole groups. */
static clrnn_status launch_1d(ocl_state *s, const kernel_args *a, size_t n, clrnn_error *err)
{
    size_t local = 64, global = round_up(n, local);
    return launch(s, a, 1, &global, &local, err);
}

/* A failed transfer to, from or in a named device buffer. */
static clrnn_status buffer_fail(cl_int rc, const char *doing, const char *name, clrnn_error *err)
{
    char what[128];
    snprintf(what, sizeof what, "%s the device buffer '%s'", doing, name);
    return ocl_fail(err, rc, what);
}

static clrnn_status make_buffer(ocl_state *s, cl_mem *out, size_t n_reals_or_bytes, size_t element,
                                cl_mem_flags flags, const char *name, clrnn_error *err)
{
    size_t bytes = n_reals_or_bytes * element;
    if (bytes > s->max_alloc)
        return clrnn_fail(err, CLRNN_E_DEVICE,
                          "the device buffer '%s' needs %.1f MiB, more than the device allows in "
                          "one buffer (%.1f MiB): try a smaller --batch",
                          name, bytes / 1048576.0, s->max_alloc / 1048576.0);
    cl_int rc;
    *out = clCreateBuffer(s->context, flags, bytes, NULL, &rc);
    if (rc != CL_SUCCESS) {
        char what[128];
        snprintf(what, sizeof what, "allocating the device buffer '%s' (%.1f MiB)", name,
                 bytes / 1048576.0);
        return ocl_fail(err, rc, what);
    }
    return CLRNN_OK;
}

/* Host conversion scratch of at least n reals. */
static clrnn_status host_scratch(ocl_state *s, size_t n, clrnn_error *err)
{
    if (n <= s->host_size)
        return CLRNN_OK;
    void *p = realloc(s->host, n * s->real_size);
    if (!p)
        return clrnn_fail(err, CLRNN_E_NOMEM, "out of host memory (%zu values)", n);
    s->host = p;
    s->host_size = n;
    return CLRNN_OK;
}

/* Device buffer (n reals at offset 0) <- host doubles. Blocking. */
static clrnn_status write_reals(ocl_state *s, cl_mem buffer, const double *values, size_t n,
                                const char *name, clrnn_error *err)
{
    clrnn_status st = host_scratch(s, n, err);
    if (st != CLRNN_OK)
        return st;
    if (s->real_size == sizeof(double))
        memcpy(s->host, values, n * sizeof *values);
    else
        for (size_t i = 0; i < n; i++)
            ((float *)s->host)[i] = (float)values[i];
    cl_int rc = clEnqueueWriteBuffer(s->queue, buffer, CL_TRUE, 0, n * s->real_size, s->host, 0,
                                     NULL, NULL);
    if (rc != CL_SUCCESS)
        return buffer_fail(rc, "writing", name, err);
    return CLRNN_OK;
}

/* Host doubles <- device buffer (n reals at offset 0). Blocking. */
static clrnn_status read_reals(ocl_state *s, double *values, cl_mem buffer, size_t n,
                               const char *name, clrnn_error *err)
{
    clrnn_status st = host_scratch(s, n, err);
    if (st != CLRNN_OK)
        return st;
    cl_int rc =
        clEnqueueReadBuffer(s->queue, buffer, CL_TRUE, 0, n * s->real_size, s->host, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return buffer_fail(rc, "reading", name, err);
    if (s->real_size == sizeof(double))
        memcpy(values, s->host, n * sizeof *values);
    else
        for (size_t i = 0; i < n; i++)
            values[i] = ((const float *)s->host)[i];
    return CLRNN_OK;
}

static clrnn_status zero_buffer(ocl_state *s, cl_mem buffer, size_t n, const char *name,
                                clrnn_error *err)
{
    static const cl_double zero = 0.0; /* all-zero bits: 0 in float and double */
    cl_int rc = clEnqueueFillBuffer(s->queue, buffer, &zero, s->real_size, 0, n * s->real_size, 0,
                                    NULL, NULL);
    if (rc != CL_SUCCESS)
        return buffer_fail(rc, "zeroing", name, err);
    return CLRNN_OK;
}

/* ---------------------------------------------------- creation and teardown */

static void release(cl_mem *m)
{
    if (*m)
        clReleaseMemObject(*m);
    *m = NULL;
}

static void ocl_destroy(clrnn_backend *b)
{
    ocl_state *s = b->impl;
    if (!s)
        return;
    if (s->queue)
        clFinish(s->queue);
    for (int i = 0; i < 2; i++) {
        if (s->starts_written[i])
            clReleaseEvent(s->starts_written[i]);
        free(s->starts_host[i]);
    }
    for (size_t l = 0; l < b->n_layers; l++) {
        if (s->h)
            release(&s->h[l]);
        if (s->y)
            release(&s->y[l]);
        if (s->dy)
            release(&s->dy[l]);
    }
    free(s->h);
    free(s->y);
    free(s->dy);
    cl_mem *buffers[] = {
        &s->x_table,     &s->y_table,   &s->starts,       &s->order,       &s->params,
        &s->grads,       &s->opt_a,     &s->opt_b,        &s->g,           &s->partial,
        &s->window_loss, &s->loss_sum,  &s->norm_partial, &s->clip,        &s->wt,
        &s->params_alt,  &s->opt_a_alt, &s->opt_b_alt,    &s->partial_alt, &s->window_loss_alt};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
        release(buffers[i]);
    for (int k = 0; k < N_SHARED_KERNELS; k++)
        if (s->kernels[k])
            clReleaseKernel(s->kernels[k]);
    for (size_t l = 0; s->tiles && l < b->n_layers; l++) {
        if (!s->tiles[l].owner)
            continue;
        for (int k = 0; k < N_TILE_KERNELS; k++)
            if (s->tiles[l].kernels[k])
                clReleaseKernel(s->tiles[l].kernels[k]);
        if (s->tiles[l].program)
            clReleaseProgram(s->tiles[l].program);
    }
    free(s->tiles);
    for (int k = 0; k < N_FUSED_KERNELS; k++)
        if (s->fused_kernels[k])
            clReleaseKernel(s->fused_kernels[k]);
    if (s->fused_program)
        clReleaseProgram(s->fused_program);
    if (s->program)
        clReleaseProgram(s->program);
    if (s->queue)
        clReleaseCommandQueue(s->queue);
    if (s->context)
        clReleaseContext(s->context);
    for (size_t i = 0; i < s->n_pending; i++)
        clReleaseEvent(s->pending[i]);
    free(s->pending);
    free(s->pending_kernel);
    free(s->group_size);
    free(s->host);
    free(s);
    b->impl = NULL;
}

/* The build log, into b->log in full and its first line into the error. */
static clrnn_status build_failed(clrnn_backend *b, ocl_state *s, cl_program program, cl_int rc,
                                 clrnn_error *err)
{
    size_t size = 0;
    clGetProgramBuildInfo(program, s->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size);
    char *log = malloc(size + 1);
    if (log) {
        log[0] = '\0';
        clGetProgramBuildInfo(program, s->device, CL_PROGRAM_BUILD_LOG, size, log, NULL);
        log[size] = '\0';
        if (b->log)
            fprintf(b->log, "OpenCL build log:\n%s\n", log);
        /* The first line that says something. */
        char *line = log;
        while (*line == '\n' || *line == ' ')
            line++;
        line[strcspn(line, "\n")] = '\0';
        clrnn_fail(err, CLRNN_E_DEVICE, "building the OpenCL kernels failed: %s: %.300s",
                   ocl_status_name(rc), line);
        free(log);
    } else
        ocl_fail(err, rc, "building the OpenCL kernels");
    return CLRNN_E_DEVICE;
}

/* Why the fused family cannot run the model (NULL: it can). */
static const char *fused_misfit(const clrnn_backend *b)
{
    if (b->n_layers != 1)
        return "it runs one layer";
    clrnn_layer_shape sh = b->layers[0];
    if (sh.n_hidden > WVEC_MAX_HIDDEN)
        return "it runs at most 16 hidden units";
    size_t n_params = clrnn_layer_n_params(sh);
    if (b->seq_len * (sh.n_in + sh.n_hidden + sh.n_out) + n_params > FUSED_MAX_VECTORS)
        return "a tile's steps and gradient sums would not fit in private memory";
    return NULL;
}

/*
 * The kernel family. Asked for by the config (b->kernels) or, for "auto":
 * on a CPU device the fused family where it fits (a small layer's whole
 * step in one launch), else the tile family (its contiguous inner loops
 * become SIMD code, 4 windows a work-item reuse each weight row); on a GPU
 * the tile family with one window a work-item while every layer is small
 * (its whole state fits in registers), else the group family (a work-group
 * a window, a work-item a hidden unit).
 */
static clrnn_status choose_family(clrnn_backend *b, ocl_state *s, clrnn_error *err)
{
    cl_device_type type = 0;
    clGetDeviceInfo(s->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    const int cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
    size_t max_h = 0;
    for (size_t l = 0; l < b->n_layers; l++)
        if (b->layers[l].n_hidden > max_h)
            max_h = b->layers[l].n_hidden;
    const char *misfit = fused_misfit(b);
    if (b->kernels == CLRNN_KERNELS_GROUP)
        s->family = FAMILY_GROUP;
    else if (b->kernels == CLRNN_KERNELS_TILE)
        s->family = FAMILY_TILE;
    else if (b->kernels == CLRNN_KERNELS_FUSED) {
        if (misfit) /* bad input, not a missing device: no fall-back to the CPU */
            return clrnn_fail(err, CLRNN_E_INPUT,
                              "the fused kernels cannot run this model: %s (use --kernels auto, "
                              "tile or group)",
                              misfit);
        s->family = FAMILY_FUSED;
    } else if (cpu && !misfit)
        s->family = FAMILY_FUSED;
    else
        s->family = cpu || max_h < 32 ? FAMILY_TILE : FAMILY_GROUP;
    s->cpu_device = cpu;
    b->family = s->family == FAMILY_GROUP   ? CLRNN_KERNELS_GROUP
                : s->family == FAMILY_TILE ? CLRNN_KERNELS_TILE
                                           : CLRNN_KERNELS_FUSED;
    size_t len = strlen(b->description);
    snprintf(b->description + len - 1, sizeof b->description - len + 1, ", %s kernels)",
             family_names[s->family]);
    return CLRNN_OK;
}

/* Builds the sources named by files (kernels/<name>.cl) with options. */
static clrnn_status build(clrnn_backend *b, ocl_state *s, const char *const *files, size_t n_files,
                          const char *options, cl_program *program, clrnn_error *err)
{
    const char *sources[N_PROGRAM_FILES];
    for (size_t i = 0; i < n_files; i++) {
        sources[i] = clrnn_kernel_source(files[i]);
        if (!sources[i])
            return clrnn_fail(err, CLRNN_E_DEVICE, "kernel source '%s.cl' is not embedded",
                              files[i]);
    }
    cl_int rc;
    *program = clCreateProgramWithSource(s->context, (cl_uint)n_files, sources, NULL, &rc);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "clCreateProgramWithSource");
    rc = clBuildProgram(*program, 1, &s->device, options, NULL, NULL);
    if (rc != CL_SUCCESS)
        return build_failed(b, s, *program, rc, err);
    return CLRNN_OK;
}

static clrnn_status create_kernels(ocl_state *s, cl_program program, const char *const *names,
                                   int count, cl_kernel *kernels, clrnn_error *err)
{
    for (int k = 0; k < count; k++) {
        cl_int rc;
        kernels[k] = clCreateKernel(program, names[k], &rc);
        if (rc != CL_SUCCESS) {
            char what[96];
            snprintf(what, sizeof what, "creating kernel %s", names[k]);
            return ocl_fail(err, rc, what);
        }
    }
    return CLRNN_OK;
}

/* Reals in one of the device's native vectors, as 8 or 16 (kernels take
 * vectors of these widths; 8 stands in for narrower ones). */
static size_t native_width(const ocl_state *s, int fp64)
{
    cl_uint width = 0;
    clGetDeviceInfo(s->device,
                    fp64 ? CL_DEVICE_NATIVE_VECTOR_WIDTH_DOUBLE
                         : CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT,
                    sizeof width, &width, NULL);
    return width >= 16 ? 16 : 8;
}

/* The shared program, and in the tile family one program per distinct
 * layer shape with its sizes as build-time constants. No fast-math
 * options: the parity checks hold the kernels to the CPU reference's
 * rounding. */
static clrnn_status build_programs(clrnn_backend *b, ocl_state *s, clrnn_error *err)
{
    const int fp64 = b->precision == CLRNN_FP64;
    char options[256];
    snprintf(options, sizeof options, "-DCLRNN_FP64=%d", fp64);
    clrnn_status st = build(b, s, program_files, N_PROGRAM_FILES, options, &s->program, err);
    if (st == CLRNN_OK)
        st = create_kernels(s, s->program, kernel_names, N_SHARED_KERNELS, s->kernels, err);
    for (size_t l = 0; st == CLRNN_OK && s->family != FAMILY_GROUP && l < b->n_layers; l++) {
        clrnn_layer_shape sh = b->layers[l];
        const int top = l + 1 == b->n_layers;
        size_t same = 0;
        while (same < l && (top || memcmp(&b->layers[same], &sh, sizeof sh) != 0))
            same++;
        if (same < l) {
            s->tiles[l] = s->tiles[same];
            s->tiles[l].owner = 0;
            continue;
        }
        /* On a CPU: 4 windows a work-item reuse each weight row; a small
         * layer's forward runs 8 windows as the lanes of vectors
         * (rnn_forward_tile_lanes), so that its few hidden units still fill
         * SIMD lanes and tanh runs 8 at a time. On a GPU: a window a
         * work-item. */
        const int wvec = s->cpu_device && sh.n_hidden <= WVEC_MAX_HIDDEN;
        s->tiles[l].windows = wvec ? 8 : s->cpu_device ? 4 : 1;
        /* On a CPU, wider layers whose rows are whole native vectors run
         * the forward, BPTT and weight gradient on explicit vectors of
         * JVEC reals (the _vec kernels), blocks of up to 4 of them (JB) a
         * work-item, the gradient RB rows at a time. */
        const size_t width = native_width(s, fp64);
        const size_t jvec = s->cpu_device && !wvec && sh.n_hidden % width == 0 ? width : 0;
        const size_t nj = jvec ? sh.n_hidden / jvec : 0;
        const size_t jb = nj % 4 == 0 ? 4 : nj % 2 == 0 ? 2 : 1;
        s->tiles[l].grad_rows =
            jvec ? (sh.n_in + sh.n_hidden + GRAD_ROW_BLOCK - 1) / GRAD_ROW_BLOCK * (nj / jb) +
                       sh.n_out + 2
                 : sh.n_in + sh.n_hidden + sh.n_out + 2;
        snprintf(options, sizeof options,
                 "-DCLRNN_FP64=%d -DNI=%zu -DNH=%zu -DNO=%zu -DNT=%zu -DWB=%zu -DTOP_LAYER=%d "
                 "-DJVEC=%zu -DJB=%zu -DRB=%d",
                 fp64, sh.n_in, sh.n_hidden, sh.n_out, b->seq_len, s->tiles[l].windows, top, jvec,
                 jb, GRAD_ROW_BLOCK);
        s->tiles[l].owner = 1;
        st = build(b, s, tile_files, 3, options, &s->tiles[l].program, err);
        if (st == CLRNN_OK)
            st = create_kernels(s, s->tiles[l].program,
                                tile_variant_names[wvec ? 1 : jvec ? 2 : 0], N_TILE_KERNELS,
                                s->tiles[l].kernels, err);
    }
    if (st == CLRNN_OK && s->family == FAMILY_FUSED) {
        /* A work-item takes WINDOWS_PER_CHUNK windows, as a chunk of the
         * other families' reductions. */
        s->lanes = native_width(s, fp64);
        clrnn_layer_shape sh = b->layers[0];
        snprintf(options, sizeof options,
                 "-DCLRNN_FP64=%d -DNI=%zu -DNH=%zu -DNO=%zu -DNT=%zu -DLANES=%zu -DTILES=%zu",
                 fp64, sh.n_in, sh.n_hidden, sh.n_out, b->seq_len, s->lanes,
                 WINDOWS_PER_CHUNK / s->lanes);
        st = build(b, s, fused_files, 3, options, &s->fused_program, err);
        if (st == CLRNN_OK)
            st = create_kernels(s, s->fused_program, kernel_names + K_FUSED, N_FUSED_KERNELS,
                                s->fused_kernels, err);
    }
    return st;
}

/* Work-group sizes of the group family's forward/backward per layer: one
 * work-item per hidden unit, as far as the device and the kernels allow;
 * h or g of a window (2H values) must fit in local memory. */
static clrnn_status choose_group_sizes(clrnn_backend *b, ocl_state *s, clrnn_error *err)
{
    size_t limit = SIZE_MAX;
    for (int k = K_FORWARD; k <= K_BACKWARD; k++) {
        size_t n = 0;
        cl_int rc = clGetKernelWorkGroupInfo(s->kernels[k], s->device, CL_KERNEL_WORK_GROUP_SIZE,
                                             sizeof n, &n, NULL);
        if (rc != CL_SUCCESS)
            return ocl_fail(err, rc, "clGetKernelWorkGroupInfo");
        if (n < limit)
            limit = n;
    }
    size_t item_limit[3] = {0};
    clGetDeviceInfo(s->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof item_limit, item_limit, NULL);
    if (item_limit[0] && item_limit[0] < limit)
        limit = item_limit[0];
    for (size_t l = 0; l < b->n_layers; l++) {
        size_t H = b->layers[l].n_hidden;
        if (s->family == FAMILY_GROUP && 2 * H * s->real_size > s->max_local_mem)
            return clrnn_fail(err, CLRNN_E_UNSUPPORTED,
                              "layer %zu: n_hidden %zu needs %zu bytes of local memory, the "
                              "device has %zu",
                              l, H, 2 * H * s->real_size, s->max_local_mem);
        s->group_size[l] = H < limit ? H : limit;
    }
    return CLRNN_OK;
}

static clrnn_status allocate_buffers(clrnn_backend *b, ocl_state *s, clrnn_error *err)
{
    /* B rounded up to whole tiles of windows: rnn_fused writes them all. */
    const size_t B = round_up(b->max_batch, MAX_LANES), T = b->seq_len, P = b->n_params,
                 L = b->n_layers, rs = s->real_size;
    const size_t n_chunks = chunks_of(B);
    size_t max_h = 0;
    for (size_t l = 0; l < L; l++)
        if (b->layers[l].n_hidden > max_h)
            max_h = b->layers[l].n_hidden;
    s->n_slices = (P + PARAMS_PER_SLICE - 1) / PARAMS_PER_SLICE;
    const cl_mem_flags rw = CL_MEM_READ_WRITE;
    clrnn_status st = CLRNN_OK;
    if (st == CLRNN_OK)
        st = make_buffer(s, &s->starts, B, sizeof(cl_uint), CL_MEM_READ_ONLY, "window starts", err);
    if (st == CLRNN_OK)
        st = make_buffer(s, &s->params, P, rs, rw, "parameters", err);
    if (st == CLRNN_OK)
        st = make_buffer(s, &s->grads, P, rs, rw, "gradients", err);
    if (st == CLRNN_OK)
        st = make_buffer(s, &s->opt_a, P, rs, rw, "optimizer state (velocity or m)", err);
    if (st == CLRNN_OK)
        st = make_buffer(s, &s->opt_b, P, rs, rw, "optimizer state (v)", err);
    if (st == CLRNN_OK)
        st = make_buffer(s, &s->g, B * T * max_h, rs, rw, "backward scratch g (B,T,H)", err);
    if (st == CLRNN_OK)
        st = make_buffer(s, &s->partial, n_chunks * P, rs, rw, "gradient partial sums", err);
    if (st == CLRNN_OK)
        st = make_buffer(s, &s->window_loss, B, rs, rw, "window losses", err);
    if (st == CLRNN_OK)
        st = make_buffer(s, &s->loss_sum, 2, rs, rw, "loss sum", err);
    if (st == CLRNN_OK)
        st = make_buffer(s, &s->norm_partial, s->n_slices, rs, rw, "norm partial sums", err);
    if (st == CLRNN_OK)
        st = make_buffer(s, &s->clip, 2, rs, rw, "clipping norm", err);
    if (st == CLRNN_OK && s->family != FAMILY_GROUP)
        st = make_buffer(s, &s->wt, P, rs, rw, "transposed weights", err);
    if (s->family == FAMILY_FUSED) { /* the other halves (run_fused) */
        cl_mem *alt[] = {&s->params_alt, &s->opt_a_alt, &s->opt_b_alt};
        for (size_t i = 0; st == CLRNN_OK && i < 3; i++)
            st = make_buffer(s, alt[i], P, rs, rw, "parameters or optimizer state (2nd)", err);
        if (st == CLRNN_OK)
            st = make_buffer(s, &s->partial_alt, n_chunks * P, rs, rw,
                             "gradient partial sums (2nd)", err);
        if (st == CLRNN_OK)
            st = make_buffer(s, &s->window_loss_alt, B, rs, rw, "window losses (2nd)", err);
    }
    for (size_t l = 0; st == CLRNN_OK && l < L; l++) {
        char name[64];
        snprintf(name, sizeof name, "layer %zu hidden states (B,T,H)", l);
        st = make_buffer(s, &s->h[l], B * T * b->layers[l].n_hidden, rs, rw, name, err);
        snprintf(name, sizeof name, "layer %zu outputs (B,T,O)", l);
        if (st == CLRNN_OK)
            st = make_buffer(s, &s->y[l], B * T * b->layers[l].n_out, rs, rw, name, err);
        snprintf(name, sizeof name, "layer %zu output gradients (B,T,O)", l);
        if (st == CLRNN_OK)
            st = make_buffer(s, &s->dy[l], B * T * b->layers[l].n_out, rs, rw, name, err);
    }
    for (int i = 0; st == CLRNN_OK && i < 2; i++)
        if (!(s->starts_host[i] = malloc(B * sizeof(uint32_t))))
            st = clrnn_fail(err, CLRNN_E_NOMEM, "out of host memory");
    if (st == CLRNN_OK)
        st = zero_buffer(s, s->loss_sum, 2, "loss sum", err);
    return st;
}

static clrnn_status open_device(clrnn_backend *b, ocl_state *s, const char *device_spec,
                                clrnn_error *err)
{
    cl_platform_id platform;
    clrnn_status st = ocl_find_device(device_spec, &platform, &s->device, err);
    if (st != CLRNN_OK)
        return st;
    char platform_name[96], device_name[96];
    ocl_platform_name(platform, platform_name, sizeof platform_name);
    ocl_device_name(s->device, device_name, sizeof device_name);
    if (b->precision == CLRNN_FP64 && !ocl_device_has_fp64(s->device))
        return clrnn_fail(err, CLRNN_E_UNSUPPORTED,
                          "--precision fp64: the device '%s' has no cl_khr_fp64 (use fp32)",
                          device_name);
    s->real_size = b->precision == CLRNN_FP64 ? sizeof(cl_double) : sizeof(cl_float);
    cl_ulong local_mem = 0, max_alloc = 0;
    clGetDeviceInfo(s->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
    clGetDeviceInfo(s->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    s->max_local_mem = (size_t)local_mem;
    s->max_alloc = (size_t)max_alloc;
    snprintf(b->description, sizeof b->description, "OpenCL %s / %s (%s)", platform_name,
             device_name, b->precision == CLRNN_FP64 ? "fp64" : "fp32");
    snprintf(b->device_name, sizeof b->device_name, "%s", device_name);
    b->kind = CLRNN_BACKEND_OPENCL;

    cl_int rc;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
    s->context = clCreateContext(props, 1, &s->device, NULL, NULL, &rc);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "clCreateContext");
    s->queue = clCreateCommandQueue(s->context, s->device, 0, &rc);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "clCreateCommandQueue");
    return CLRNN_OK;
}

/* ------------------------------------------------------------- the ops */

static clrnn_status ocl_stage(clrnn_backend *b, const double *x, const double *y, size_t n_rows,
                              clrnn_error *err)
{
    ocl_state *s = b->impl;
    size_t F = b->layers[0].n_in, K = b->layers[b->n_layers - 1].n_out;
    release(&s->x_table);
    release(&s->y_table);
    clrnn_status st =
        make_buffer(s, &s->x_table, n_rows * F, s->real_size, CL_MEM_READ_ONLY, "table x", err);
    if (st == CLRNN_OK)
        st =
            make_buffer(s, &s->y_table, n_rows * K, s->real_size, CL_MEM_READ_ONLY, "targets", err);
    if (st == CLRNN_OK)
        st = write_reals(s, s->x_table, x, n_rows * F, "table x", err);
    if (st == CLRNN_OK)
        st = write_reals(s, s->y_table, y, n_rows * K, "targets", err);
    return st;
}

/* The order's start rows to the device, once; a new order of no more rows
 * reuses the buffer (the in-order queue writes it after the batches that
 * read the old one). */
static clrnn_status ocl_stage_order(clrnn_backend *b, const uint32_t *order, size_t n,
                                    clrnn_error *err)
{
    ocl_state *s = b->impl;
    if (n > s->order_capacity) {
        release(&s->order);
        s->order_capacity = 0;
        clrnn_status st =
            make_buffer(s, &s->order, n, sizeof(cl_uint), CL_MEM_READ_ONLY, "window order", err);
        if (st != CLRNN_OK)
            return st;
        s->order_capacity = n;
    }
    cl_int rc = clEnqueueWriteBuffer(s->queue, s->order, CL_TRUE, 0, n * sizeof(cl_uint), order, 0,
                                     NULL, NULL);
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "writing the window order");
}

static clrnn_status settle(clrnn_backend *b, ocl_state *s, clrnn_error *err);

static clrnn_status ocl_set_params(clrnn_backend *b, const double *params, clrnn_error *err)
{
    ocl_state *s = b->impl;
    clrnn_status st = settle(b, s, err); /* a waiting step first, as the CPU took it */
    if (st == CLRNN_OK)
        st = write_reals(s, s->params, params, b->n_params, "parameters", err);
    if (st == CLRNN_OK)
        st = zero_buffer(s, s->opt_a, b->n_params, "optimizer state", err);
    if (st == CLRNN_OK)
        st = zero_buffer(s, s->opt_b, b->n_params, "optimizer state", err);
    return st;
}

static clrnn_status ocl_get_params(clrnn_backend *b, double *params, clrnn_error *err)
{
    ocl_state *s = b->impl;
    clrnn_status st = settle(b, s, err);
    return st != CLRNN_OK ? st : read_reals(s, params, s->params, b->n_params, "parameters", err);
}

/* Copies the batch's window starts to the device without waiting: the host
 * copy lives in one of two slots, reused only once its write has finished. */
static clrnn_status upload_starts(ocl_state *s, const uint32_t *starts, size_t B, clrnn_error *err)
{
    int slot = s->starts_slot ^= 1;
    if (s->starts_written[slot]) {
        cl_int rc = clWaitForEvents(1, &s->starts_written[slot]);
        clReleaseEvent(s->starts_written[slot]);
        s->starts_written[slot] = NULL;
        if (rc != CL_SUCCESS)
            return ocl_fail(err, rc, "waiting for the window starts to be written");
    }
    memcpy(s->starts_host[slot], starts, B * sizeof *starts);
    cl_int rc = clEnqueueWriteBuffer(s->queue, s->starts, CL_FALSE, 0, B * sizeof(cl_uint),
                                     s->starts_host[slot], 0, NULL, &s->starts_written[slot]);
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "writing the window starts");
}

static clrnn_status forward_layer_tile(clrnn_backend *b, ocl_state *s, size_t l, size_t B,
                                       clrnn_error *err)
{
    const size_t T = b->seq_len;
    kernel_args a = tile_args_for(s, K_FORWARD_TILE, l);
    arg_mem(&a, s->y[l]);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, s->wt);
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
    size_t global = (B + s->tiles[l].windows - 1) / s->tiles[l].windows;
    return launch(s, &a, 1, &global, NULL, err);
}

static clrnn_status backward_layer_tile(clrnn_backend *b, ocl_state *s, size_t l, size_t B,
                                        clrnn_error *err)
{
    kernel_args a = tile_args_for(s, K_BACKWARD_TILE, l);
    arg_mem(&a, s->g);
    arg_mem(&a, l == 0 ? s->g : s->dy[l - 1]); /* layer 0 writes no dx */
    arg_mem(&a, s->loss_sum);                  /* the top layer adds the batch's loss */
    arg_mem(&a, s->window_loss);
    arg_mem(&a, s->dy[l]);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, s->wt);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l > 0);
    arg_uint(&a, B);
    size_t global = (B + s->tiles[l].windows - 1) / s->tiles[l].windows;
    clrnn_status st = launch(s, &a, 1, &global, NULL, err);
    if (st != CLRNN_OK)
        return st;

    const size_t n_chunks = chunks_of(B);
    a = tile_args_for(s, K_GRAD_ROWS_TILE, l);
    arg_mem(&a, n_chunks == 1 ? s->grads : s->partial);
    arg_mem(&a, s->g);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, s->dy[l]);
    arg_mem(&a, l == 0 ? s->x_table : s->y[l - 1]);
    arg_starts(&a, s);
    arg_uint(&a, l == 0);
    arg_uint(&a, B);
    arg_uint(&a, WINDOWS_PER_CHUNK);
    arg_uint(&a, b->n_params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, n_chunks == 1);
    size_t grid[2] = {s->tiles[l].grad_rows, n_chunks};
    /* On a CPU, a work-group a work-item: PoCL's own choice of groups
     * halves the speed of the blocked sums (measured on the large shape). */
    size_t one[2] = {1, 1};
    return launch(s, &a, 2, grid, s->cpu_device ? one : NULL, err);
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

static clrnn_status forward_layer(clrnn_backend *b, ocl_state *s, size_t l, size_t B,
                                  clrnn_error *err)
{
    if (s->family != FAMILY_GROUP)
        return forward_layer_tile(b, s, l, B, err);
    kernel_args a = args_for(s, K_FORWARD);
    arg_mem(&a, s->y[l]);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, l == 0 ? s->x_table : s->y[l - 1]);
    arg_starts(&a, s);
    arg_mem(&a, s->params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l == 0);
    arg_group_sizes(&a, b, l);
    /* One work-group per window. The layer's block is passed as an offset
     * into params: a sub-buffer would need an aligned origin. */
    size_t global = B * s->group_size[l];
    return launch(s, &a, 1, &global, &s->group_size[l], err);
}

static clrnn_status backward_layer(clrnn_backend *b, ocl_state *s, size_t l, size_t B,
                                   clrnn_error *err)
{
    if (s->family != FAMILY_GROUP)
        return backward_layer_tile(b, s, l, B, err);
    clrnn_layer_shape sh = b->layers[l];
    kernel_args a = args_for(s, K_BACKWARD);
    arg_mem(&a, s->g);
    arg_mem(&a, l == 0 ? s->g : s->dy[l - 1]); /* layer 0 writes no dx */
    arg_mem(&a, s->dy[l]);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, s->params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l > 0);
    arg_group_sizes(&a, b, l);
    size_t global = B * s->group_size[l];
    clrnn_status st = launch(s, &a, 1, &global, &s->group_size[l], err);
    if (st != CLRNN_OK)
        return st;

    a = args_for(s, K_GRAD_PARTIAL);
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
    size_t n_layer = clrnn_layer_n_params(sh);
    size_t local[2] = {64, 1};
    size_t grid[2] = {round_up(n_layer, local[0]), chunks_of(B)};
    return launch(s, &a, 2, grid, local, err);
}

/* loss_sum += the batch's window losses (one work-item). */
static clrnn_status accumulate_loss(ocl_state *s, size_t B, clrnn_error *err)
{
    kernel_args a = args_for(s, K_LOSS_ACC);
    arg_mem(&a, s->loss_sum);
    arg_mem(&a, s->window_loss);
    arg_uint(&a, B);
    size_t one = 1;
    return launch(s, &a, 1, &one, &one, err);
}

/* The group family's loss: window losses, dy of the top layer, the sum. */
static clrnn_status loss_and_gradient_seed(clrnn_backend *b, ocl_state *s, size_t B,
                                           clrnn_error *err)
{
    size_t L = b->n_layers, T = b->seq_len;
    kernel_args a = args_for(s, K_MSE);
    arg_mem(&a, s->window_loss);
    arg_mem(&a, s->dy[L - 1]);
    arg_mem(&a, s->y[L - 1]);
    arg_mem(&a, s->y_table);
    arg_starts(&a, s);
    arg_uint(&a, B);
    arg_uint(&a, T);
    arg_uint(&a, b->layers[L - 1].n_out);
    arg_uint(&a, b->loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0);
    clrnn_status st = launch_1d(s, &a, B, err);
    return st == CLRNN_OK ? accumulate_loss(s, B, err) : st;
}

/* Lets the device start on what is queued while the host goes on. */
static clrnn_status flush(ocl_state *s, clrnn_error *err)
{
    cl_int rc = clFlush(s->queue);
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "clFlush");
}

/*
 * The fused family's training batch is rnn_fused, a work-item a chunk of
 * windows; the step that finishes it (the mean gradient, the loss sum and,
 * where the update follows without clipping, the optimizer's step) waits:
 * finish_batch says a batch waits, deferred that its update came and waits
 * with it. The next training batch's rnn_fused takes the step first (one
 * launch a training step) where that costs its work-items little
 * (FUSED_APPLY_BUDGET); anything else that needs the parameters, the
 * gradient or the loss first launches fused_finish (settle).
 */
/* How much a launch of rnn_fused may redo to take the last batch's step:
 * each of its n work-items adds the last batch's c chunk sums of every
 * parameter and steps it, about n (c + 4) P operations. A launch saved is
 * worth about 10 us on PoCL (about 30000 cycles); measured, n c P = 16000
 * (the notebook's batch of 668) already costs as much as it saves, one
 * chunk of 16 hidden units (clrnn train's default) saves a third. */
#define FUSED_APPLY_BUDGET 8192

/* The finishing step's arguments (FINISH_ARGS in rnn_fused.cl), writing
 * the new parameters and state to the _out buffers. */
static void arg_finish(kernel_args *a, ocl_state *s, cl_mem params_out, cl_mem opt_a_out,
                       cl_mem opt_b_out)
{
    const size_t B = s->finish_batch;
    const clrnn_optimizer none = {0}, *opt = s->deferred ? &s->deferred_opt : &none;
    const double step = (double)s->deferred_step;
    arg_mem(a, s->grads);
    arg_mem(a, s->loss_sum);
    arg_mem(a, s->partial);
    arg_mem(a, s->window_loss);
    arg_uint(a, chunks_of(B));
    arg_uint(a, B);
    arg_mem(a, s->params);
    arg_mem(a, s->opt_a);
    arg_mem(a, s->opt_b);
    arg_mem(a, params_out);
    arg_mem(a, opt_a_out);
    arg_mem(a, opt_b_out);
    arg_uint(a, opt == &none ? 0 : opt->kind == CLRNN_ADAM ? 2 : 1);
    arg_real(a, opt->lr);
    arg_real(a, opt->momentum);
    arg_real(a, opt->beta1);
    arg_real(a, opt->beta2);
    arg_real(a, opt->eps);
    arg_real(a, opt->weight_decay);
    arg_real(a, opt == &none ? 1.0 : 1.0 - pow(opt->beta1, step));
    arg_real(a, opt == &none ? 1.0 : 1.0 - pow(opt->beta2, step));
}

/* Launches the waiting finishing step on its own, in place. */
static clrnn_status settle(clrnn_backend *b, ocl_state *s, clrnn_error *err)
{
    if (!s->finish_batch)
        return CLRNN_OK;
    kernel_args a = fused_args_for(s, K_FUSED_FINISH);
    arg_finish(&a, s, s->params, s->opt_a, s->opt_b);
    s->finish_batch = 0;
    s->deferred = 0;
    return launch_1d(s, &a, b->n_params, err);
}

static void swap_mem(cl_mem *x, cl_mem *y)
{
    cl_mem t = *x;
    *x = *y;
    *y = t;
}

static clrnn_status run_fused(clrnn_backend *b, ocl_state *s, size_t B, clrnn_error *err)
{
    const size_t T = b->seq_len;
    const size_t n_chunks = chunks_of(B);
    const size_t done_chunks = chunks_of(s->finish_batch);
    const int apply =
        s->deferred && n_chunks * (done_chunks + 4) * b->n_params <= FUSED_APPLY_BUDGET;
    clrnn_status st = apply ? CLRNN_OK : settle(b, s, err);
    if (st != CLRNN_OK)
        return st;
    kernel_args a = fused_args_for(s, K_FUSED);
    arg_mem(&a, apply ? s->partial_alt : s->partial);
    arg_mem(&a, s->h[0]);
    arg_mem(&a, s->y[0]);
    arg_mem(&a, apply ? s->window_loss_alt : s->window_loss);
    arg_mem(&a, s->x_table);
    arg_mem(&a, s->y_table);
    arg_starts(&a, s);
    arg_uint(&a, B);
    arg_uint(&a, b->loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0);
    arg_uint(&a, apply);
    arg_finish(&a, s, s->params_alt, s->opt_a_alt, s->opt_b_alt);
    const size_t one = 1;
    st = launch(s, &a, 1, &n_chunks, s->cpu_device ? &one : NULL, err);
    if (st != CLRNN_OK)
        return st;
    if (apply) { /* the step's results, and this batch's sums, are the current ones */
        swap_mem(&s->params, &s->params_alt);
        swap_mem(&s->opt_a, &s->opt_a_alt);
        swap_mem(&s->opt_b, &s->opt_b_alt);
        swap_mem(&s->partial, &s->partial_alt);
        swap_mem(&s->window_loss, &s->window_loss_alt);
        s->deferred = 0;
    }
    s->finish_batch = B;
    return flush(s, err);
}

static clrnn_status ocl_run_batch(clrnn_backend *b, const uint32_t *starts, size_t B,
                                  int with_gradients, clrnn_error *err)
{
    ocl_state *s = b->impl;
    size_t L = b->n_layers;
    const int tile = s->family != FAMILY_GROUP;
    const size_t n_chunks = chunks_of(B);
    s->lanes_layout = s->family == FAMILY_FUSED && with_gradients;
    /* rnn_fused may take a waiting step itself; anything else settles it. */
    clrnn_status st = s->lanes_layout ? CLRNN_OK : settle(b, s, err);
    s->batch_starts = b->batch_first == BACKEND_NOT_STAGED ? s->starts : s->order;
    s->batch_offset = b->batch_first == BACKEND_NOT_STAGED ? 0 : b->batch_first;
    if (st == CLRNN_OK && b->batch_first == BACKEND_NOT_STAGED)
        st = upload_starts(s, starts, B, err);
    if (s->lanes_layout)
        return st == CLRNN_OK ? run_fused(b, s, B, err) : st;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++)
        st = forward_layer(b, s, l, B, err);
    /* The tile family's top-layer forward computed the loss and dy; its
     * top-layer backward adds the loss up, and with one chunk grad_rows_tile
     * finishes the gradient. */
    if (st == CLRNN_OK && !tile)
        st = loss_and_gradient_seed(b, s, B, err);
    else if (st == CLRNN_OK && !with_gradients)
        st = accumulate_loss(s, B, err);
    if (st != CLRNN_OK || !with_gradients)
        return st;
    for (size_t l = L; st == CLRNN_OK && l-- > 0;)
        st = backward_layer(b, s, l, B, err);
    if (st != CLRNN_OK || (tile && n_chunks == 1))
        return st == CLRNN_OK ? flush(s, err) : st;
    kernel_args a = args_for(s, K_GRAD_FINISH);
    arg_mem(&a, s->grads);
    arg_mem(&a, s->partial);
    arg_uint(&a, n_chunks);
    arg_uint(&a, b->n_params);
    arg_uint(&a, B);
    st = launch_1d(s, &a, b->n_params, err);
    return st == CLRNN_OK ? flush(s, err) : st;
}

/* Scales the gradient to a global L2 norm of at most max_norm, all on the
 * device (mirrors clip_grad_norm_cpu). */
static clrnn_status clip_gradient(clrnn_backend *b, ocl_state *s, double max_norm, clrnn_error *err)
{
    size_t P = b->n_params;
    kernel_args a = args_for(s, K_SUMSQ);
    arg_mem(&a, s->norm_partial);
    arg_mem(&a, s->grads);
    arg_uint(&a, P);
    arg_uint(&a, PARAMS_PER_SLICE);
    clrnn_status st = launch(s, &a, 1, &s->n_slices, NULL, err);
    if (st != CLRNN_OK)
        return st;
    a = args_for(s, K_CLIP_SCALE);
    arg_mem(&a, s->clip);
    arg_mem(&a, s->norm_partial);
    arg_uint(&a, s->n_slices);
    arg_real(&a, max_norm);
    size_t one = 1;
    st = launch(s, &a, 1, &one, &one, err);
    if (st != CLRNN_OK)
        return st;
    a = args_for(s, K_SCALE_GRADS);
    arg_mem(&a, s->grads);
    arg_mem(&a, s->clip);
    arg_uint(&a, P);
    return launch_1d(s, &a, P, err);
}

static clrnn_status ocl_update(clrnn_backend *b, const clrnn_optimizer *opt, long step,
                               clrnn_error *err)
{
    ocl_state *s = b->impl;
    size_t P = b->n_params;
    if (s->finish_batch && !s->deferred && !(opt->clip_norm > 0)) {
        s->deferred = 1; /* to the next training batch, or to settle */
        s->deferred_opt = *opt;
        s->deferred_step = step;
        return CLRNN_OK;
    }
    clrnn_status st = settle(b, s, err);
    if (st == CLRNN_OK && opt->clip_norm > 0)
        st = clip_gradient(b, s, opt->clip_norm, err);
    if (st != CLRNN_OK)
        return st;
    kernel_args a;
    int which = opt->kind == CLRNN_ADAM ? K_ADAM : K_SGD;
    a = args_for(s, which);
    arg_mem(&a, s->params);
    arg_mem(&a, s->opt_a);
    if (which == K_ADAM)
        arg_mem(&a, s->opt_b);
    arg_mem(&a, s->grads);
    arg_uint(&a, P);
    arg_real(&a, opt->lr);
    if (which == K_ADAM) {
        arg_real(&a, opt->beta1);
        arg_real(&a, opt->beta2);
        arg_real(&a, opt->eps);
        arg_real(&a, opt->weight_decay);
        arg_real(&a, 1.0 - pow(opt->beta1, (double)step));
        arg_real(&a, 1.0 - pow(opt->beta2, (double)step));
    } else
        arg_real(&a, opt->momentum);
    return launch_1d(s, &a, P, err);
}

static clrnn_status ocl_get_grads(clrnn_backend *b, double *grads, clrnn_error *err)
{
    ocl_state *s = b->impl;
    clrnn_status st = settle(b, s, err);
    return st != CLRNN_OK ? st : read_reals(s, grads, s->grads, b->n_params, "gradients", err);
}

/* out (B,T,N) <- a per-layer tensor of the last batch: as it is, or
 * reordered from rnn_fused's lane-major (tiles, T, N, lanes). */
static clrnn_status read_activations(clrnn_backend *b, double *out, cl_mem buffer, size_t N,
                                     const char *name, clrnn_error *err)
{
    ocl_state *s = b->impl;
    const size_t B = b->last_batch, T = b->seq_len;
    if (!s->lanes_layout)
        return read_reals(s, out, buffer, B * T * N, name, err);
    const size_t L = s->lanes, n = round_up(B, L) * T * N;
    double *lanes = malloc(n * sizeof *lanes);
    if (!lanes)
        return clrnn_fail(err, CLRNN_E_NOMEM, "out of host memory (%zu values)", n);
    clrnn_status st = read_reals(s, lanes, buffer, n, name, err);
    for (size_t bt = 0; st == CLRNN_OK && bt < B * T; bt++) {
        const size_t w = bt / T % L, tile = bt / T / L, t = bt % T;
        for (size_t j = 0; j < N; j++)
            out[bt * N + j] = lanes[((tile * T + t) * N + j) * L + w];
    }
    free(lanes);
    return st;
}

static clrnn_status ocl_get_outputs(clrnn_backend *b, size_t layer, double *y, clrnn_error *err)
{
    ocl_state *s = b->impl;
    return read_activations(b, y, s->y[layer], b->layers[layer].n_out, "layer outputs", err);
}

static clrnn_status ocl_get_hidden(clrnn_backend *b, size_t layer, double *h, clrnn_error *err)
{
    ocl_state *s = b->impl;
    return read_activations(b, h, s->h[layer], b->layers[layer].n_hidden, "hidden states", err);
}

static clrnn_status ocl_get_window_losses(clrnn_backend *b, double *losses, clrnn_error *err)
{
    ocl_state *s = b->impl;
    return read_reals(s, losses, s->window_loss, b->last_batch, "window losses", err);
}

static clrnn_status ocl_take_loss_sum(clrnn_backend *b, double *sum, clrnn_error *err)
{
    ocl_state *s = b->impl;
    double acc[2] = {0, 0};
    clrnn_status st = settle(b, s, err);
    if (st == CLRNN_OK)
        st = read_reals(s, acc, s->loss_sum, 2, "loss sum", err);
    if (st == CLRNN_OK)
        st = zero_buffer(s, s->loss_sum, 2, "loss sum", err);
    *sum = acc[0];
    return st;
}

static clrnn_status ocl_get_opt_state(clrnn_backend *b, double *a, double *b_state,
                                      clrnn_error *err)
{
    ocl_state *s = b->impl;
    clrnn_status st = settle(b, s, err);
    if (st == CLRNN_OK)
        st = read_reals(s, a, s->opt_a, b->n_params, "optimizer state", err);
    if (st == CLRNN_OK)
        st = read_reals(s, b_state, s->opt_b, b->n_params, "optimizer state", err);
    return st;
}

static clrnn_status ocl_set_opt_state(clrnn_backend *b, const double *a, const double *b_state,
                                      clrnn_error *err)
{
    ocl_state *s = b->impl;
    clrnn_status st = settle(b, s, err);
    if (st == CLRNN_OK)
        st = write_reals(s, s->opt_a, a, b->n_params, "optimizer state", err);
    if (st == CLRNN_OK)
        st = write_reals(s, s->opt_b, b_state, b->n_params, "optimizer state", err);
    return st;
}

/* A new queue, with or without profiling; buffers and kernels belong to the
 * context and stay. */
static clrnn_status ocl_set_profiling(clrnn_backend *b, int on, clrnn_error *err)
{
    ocl_state *s = b->impl;
    enum { CAPACITY = 4096 };
    clrnn_status st = CLRNN_OK;
    if (s->profiling)
        st = harvest_events(s, err);
    if (st != CLRNN_OK)
        return st;
    if (on && !s->pending) {
        s->pending = malloc(CAPACITY * sizeof *s->pending);
        s->pending_kernel = malloc(CAPACITY * sizeof *s->pending_kernel);
        if (!s->pending || !s->pending_kernel)
            return clrnn_fail(err, CLRNN_E_NOMEM, "out of memory for profiling events");
        s->pending_capacity = CAPACITY;
    }
    cl_int rc = clFinish(s->queue);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "clFinish");
    cl_command_queue queue =
        clCreateCommandQueue(s->context, s->device, on ? CL_QUEUE_PROFILING_ENABLE : 0, &rc);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "clCreateCommandQueue (profiling)");
    clReleaseCommandQueue(s->queue);
    s->queue = queue;
    s->profiling = on;
    memset(s->kernel_seconds, 0, sizeof s->kernel_seconds);
    memset(s->kernel_launches, 0, sizeof s->kernel_launches);
    return CLRNN_OK;
}

static clrnn_status ocl_kernel_times(clrnn_backend *b, clrnn_kernel_time *times, size_t *n,
                                     clrnn_error *err)
{
    ocl_state *s = b->impl;
    clrnn_status st = s->profiling ? harvest_events(s, err) : CLRNN_OK;
    size_t filled = 0;
    for (int k = 0; st == CLRNN_OK && k < N_KERNELS && filled < *n; k++)
        if (s->kernel_launches[k]) {
            times[filled].name = kernel_names[k];
            times[filled].seconds = s->kernel_seconds[k];
            times[filled].launches = s->kernel_launches[k];
            filled++;
        }
    *n = filled;
    return st;
}

static const backend_ops ocl_ops = {
    .destroy = ocl_destroy,
    .stage = ocl_stage,
    .set_params = ocl_set_params,
    .get_params = ocl_get_params,
    .run_batch = ocl_run_batch,
    .stage_order = ocl_stage_order,
    .update = ocl_update,
    .get_grads = ocl_get_grads,
    .get_outputs = ocl_get_outputs,
    .get_hidden = ocl_get_hidden,
    .get_window_losses = ocl_get_window_losses,
    .take_loss_sum = ocl_take_loss_sum,
    .get_opt_state = ocl_get_opt_state,
    .set_opt_state = ocl_set_opt_state,
    .set_profiling = ocl_set_profiling,
    .kernel_times = ocl_kernel_times,
};

clrnn_status backend_opencl_init(clrnn_backend *b, const char *device, clrnn_error *err)
{
    if (b->n_params > UINT32_MAX || b->max_batch * b->seq_len > UINT32_MAX / 4)
        return clrnn_fail(err, CLRNN_E_INPUT, "the model or the batch is too large for OpenCL");
    ocl_state *s = calloc(1, sizeof *s);
    if (!s)
        return clrnn_fail(err, CLRNN_E_NOMEM, "out of memory creating the OpenCL backend");
    b->impl = s;
    b->ops = &ocl_ops;
    s->group_size = calloc(b->n_layers, sizeof *s->group_size);
    s->tiles = calloc(b->n_layers, sizeof *s->tiles);
    s->h = calloc(b->n_layers, sizeof *s->h);
    s->y = calloc(b->n_layers, sizeof *s->y);
    s->dy = calloc(b->n_layers, sizeof *s->dy);
    clrnn_status st = CLRNN_OK;
    if (!s->group_size || !s->tiles || !s->h || !s->y || !s->dy)
        st = clrnn_fail(err, CLRNN_E_NOMEM, "out of memory creating the OpenCL backend");
    if (st == CLRNN_OK)
        st = open_device(b, s, device, err);
    if (st == CLRNN_OK)
        st = choose_family(b, s, err);
    if (st == CLRNN_OK)
        st = build_programs(b, s, err);
    if (st == CLRNN_OK)
        st = choose_group_sizes(b, s, err);
    if (st == CLRNN_OK)
        st = allocate_buffers(b, s, err);
    if (st != CLRNN_OK) {
        ocl_destroy(b);
        b->ops = NULL;
    }
    return st;
}
