/*
 * The fused kernel family (kernels/fused/): one layer of at most 16 hidden
 * units; a training batch is rnn_fused, a work-item a chunk of windows
 * (forward, loss, BPTT and the chunk's gradient sums, 16 or 8 windows as
 * vector lanes), and fused_finish. Its batches without gradients are the
 * tile family's.
 *
 * The step that finishes a training batch (the mean gradient, the loss sum
 * and, where the update follows without clipping, the optimizer's step)
 * waits: finish_batch says a batch waits, deferred that its update came and
 * waits with it. The next training batch's rnn_fused takes the step first
 * (one launch a training step) where that costs its work-items little
 * (FUSED_APPLY_BUDGET); anything else that needs the parameters, the
 * gradient or the loss first has the backend settle it: fused_finish.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/model.h"
#include "opencl/family.h"

/* Its program's sources and kernels. */
static const char *const fused_files[] = {"common/common", "common/layer", "fused/rnn_fused"};
enum { K_FUSED, K_FUSED_FINISH, K_FUSED_MODELS, N_FUSED_KERNELS };
static const char *const fused_kernel_names[N_FUSED_KERNELS] = {"rnn_fused", "fused_finish",
                                                                "rnn_fused_models"};

/* The most hidden units rnn_fused runs. */
#define FUSED_MAX_HIDDEN 16
/* rnn_fused keeps a tile's x, h and dy of every step and the layer's
 * gradient sums in private memory: at most this many vectors of 8. */
#define FUSED_MAX_VECTORS 2048
/* How much a launch of rnn_fused may redo to take the last batch's step:
 * each of its n work-items adds the last batch's c chunk sums of every
 * parameter and steps it, about n (c + 4) P operations. A launch saved is
 * worth about 10 us on PoCL (about 30000 cycles); measured, n c P = 16000
 * (the notebook's batch of 668) already costs as much as it saves, one
 * chunk of 16 hidden units (clrnn train's default) saves a third. */
#define FUSED_APPLY_BUDGET 8192

/* The tunables (family.h): the windows of a tile as vector lanes (the
 * device's native width, 8 standing in for narrower ones), rnn_fused's
 * work-group (on a CPU, which runs a group's work-items one after another,
 * one; elsewhere up to 64), and fp32 FMA contraction (off). */
enum { T_FUSED_LANES, T_FUSED_WG, T_FUSED_CONTRACT, N_FUSED_TUNABLES };
static const int fused_lanes_values[] = {8, 16}, fused_wg_values[] = {1, 4, 16, 64},
                 fused_contract_values[] = {0, 1};

static int derive_fused_lanes(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return (int)ocl_native_width(s, b->precision == CLRNN_FP64);
}
static int derive_fused_wg(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return s->cpu_device ? 1 : 64;
}
static int derive_fused_contract(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return 0;
}

static const ocl_tunable fused_tunables[N_FUSED_TUNABLES] = {
    [T_FUSED_LANES] = {"LANES", "windows a tile, as vector lanes", fused_lanes_values, 2,
                       derive_fused_lanes},
    [T_FUSED_WG] = {"FUSED_WG", "work-items a work-group of rnn_fused", fused_wg_values, 4,
                    derive_fused_wg},
    [T_FUSED_CONTRACT] = {"CONTRACT", "fp32: let the compiler fuse multiply-adds",
                          fused_contract_values, 2, derive_fused_contract},
};

static const char *fused_tuning_misfit(const clrnn_backend *b, const ocl_state *s, size_t l,
                                       const int *v)
{
    if (v[T_FUSED_CONTRACT] && b->precision == CLRNN_FP64)
        return "CONTRACT is for fp32: fp64 keeps the reference's order of operations";
    return NULL;
}

extern const ocl_family ocl_family_fused;

typedef struct fused_state {
    cl_program program;
    int tuning[N_FUSED_TUNABLES];
    ocl_kernel kernels[N_FUSED_KERNELS];
    size_t lanes;        /* windows a tile of rnn_fused */
    size_t finish_batch; /* B of a batch whose finishing step waits, else 0 */
    int deferred;        /* ... and the update that goes with it: */
    clrnn_optimizer deferred_opt;
    long deferred_step;
    /* The other halves of the shared buffers, swapped in when rnn_fused
     * takes a step (fused_run_batch). */
    cl_mem params_alt, opt_m_alt, opt_v_alt, partial_alt, window_loss_alt;
} fused_state;

static const char *fused_misfit(const clrnn_backend *b)
{
    if (b->n_layers != 1)
        return "it runs one layer";
    clrnn_layer_shape sh = b->layers[0];
    if (sh.n_hidden > FUSED_MAX_HIDDEN)
        return "it runs at most 16 hidden units";
    size_t n_params = clrnn__layer_n_params(sh);
    if (b->seq_len * (sh.n_in + sh.n_hidden + sh.n_out) + n_params > FUSED_MAX_VECTORS)
        return "a tile's steps and gradient sums would not fit in private memory";
    return NULL;
}

/* On a CPU device first where it fits (a small layer's whole step in one
 * launch); never chosen automatically on a GPU. */
static int fused_suitability(const clrnn_backend *b, const ocl_state *s)
{
    return s->cpu_device ? 3 : 0;
}

static void fused_destroy(clrnn_backend *b, void *self)
{
    fused_state *fs = self;
    if (!fs)
        return;
    ocl_release_kernels(fs->kernels, N_FUSED_KERNELS);
    ocl_release_program(&fs->program);
    cl_mem *buffers[] = {&fs->params_alt, &fs->opt_m_alt, &fs->opt_v_alt, &fs->partial_alt,
                         &fs->window_loss_alt};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
        ocl_release_mem(buffers[i]);
    free(fs);
}

static clrnn_status fused_init(clrnn_backend *b, ocl_state *s, void **self, clrnn_error *err)
{
    fused_state *fs = calloc(1, sizeof *fs);
    *self = fs;
    if (!fs)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating the OpenCL backend");
    /* A work-item takes WINDOWS_PER_CHUNK windows, as a chunk of the
     * other families' reductions. No fast-math options. */
    const int fp64 = b->precision == CLRNN_FP64;
    clrnn_status st = ocl_layer_tuning(b, s, &ocl_family_fused, 0, fs->tuning, err);
    if (st != CLRNN_OK)
        return st;
    fs->lanes = (size_t)fs->tuning[T_FUSED_LANES];
    clrnn_layer_shape sh = b->layers[0];
    char options[384];
    snprintf(options, sizeof options,
             "-DCLRNN_FP64=%d -DNI=%zu -DNH=%zu -DNO=%zu -DNT=%zu -DTILES=%zu%s", fp64, sh.n_in,
             sh.n_hidden, sh.n_out, b->seq_len, WINDOWS_PER_CHUNK / fs->lanes,
             fs->tuning[T_FUSED_CONTRACT] ? " -cl-mad-enable" : "");
    ocl_tuning_options(options, sizeof options, &ocl_family_fused, fs->tuning);
    if (b->n_models > 1) { /* a group's strides (runtime.h: ocl_group) */
        size_t len = strlen(options);
        snprintf(options + len, sizeof options - len, " -DSTRIDE_P=%zu",
                 ocl_group_stride(s, b->n_params));
    }
    st = ocl_build(b, s, fused_files, sizeof fused_files / sizeof fused_files[0], options,
                   &fs->program, err);
    if (st == CLRNN_OK)
        st = ocl_create_kernels(s, fs->program, fused_kernel_names, N_FUSED_KERNELS, fs->kernels,
                                err);
    /* rnn_fused's private arrays (rnn_fused.cl): the parameters wp, and in
     * vectors of LANES the gradient sums, a tile's x, h and dy of every step
     * and 4 rows of NH; fused_misfit keeps them within FUSED_MAX_VECTORS. */
    const size_t n_params = clrnn__layer_n_params(sh);
    const size_t fused_reals =
        n_params + fs->lanes * (n_params + b->seq_len * (sh.n_in + sh.n_hidden + sh.n_out) +
                                4 * sh.n_hidden + 3);
    if (st == CLRNN_OK)
        st = ocl_bound_private(&fs->kernels[K_FUSED], fused_reals * s->real_size, "rnn_fused",
                               "a tile's steps and gradient sums", "use `kernels` tile", err);
    if (st == CLRNN_OK)
        st = ocl_bound_private(&fs->kernels[K_FUSED_MODELS], fused_reals * s->real_size,
                               "rnn_fused_models", "a tile's steps and gradient sums",
                               "use `kernels` tile", err);
    /* The other halves, of the shared buffers' sizes. */
    const size_t B = padded_batch(b), P = b->n_params, rs = s->real_size;
    const cl_mem_flags rw = CL_MEM_READ_WRITE;
    cl_mem *alt[] = {&fs->params_alt, &fs->opt_m_alt, &fs->opt_v_alt};
    for (size_t i = 0; st == CLRNN_OK && i < 3; i++)
        st = ocl_make_sized_buffer(s, alt[i], P, rs, rw, "parameters or optimizer state (2nd)",
                                   OCL_SIZED_BY_MODEL, err);
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &fs->partial_alt, chunks_of(B) * P, rs, rw,
                             "gradient partial sums (2nd)", err);
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &fs->window_loss_alt, B, rs, rw, "window losses (2nd)", err);
    return st;
}

/* The finishing step's arguments (FINISH_ARGS in rnn_fused.cl), writing
 * the new parameters and state to the _out buffers. */
static void arg_finish(kernel_args *a, ocl_state *s, const fused_state *fs, cl_mem params_out,
                       cl_mem opt_m_out, cl_mem opt_v_out)
{
    const size_t B = fs->finish_batch;
    const clrnn_optimizer none = {0}, *opt = fs->deferred ? &fs->deferred_opt : &none;
    const double step = (double)fs->deferred_step;
    arg_mem(a, s->grads);
    arg_mem(a, s->loss_sum);
    arg_mem(a, s->partial);
    arg_mem(a, s->window_loss);
    arg_uint(a, chunks_of(B));
    arg_uint(a, B);
    arg_mem(a, s->params);
    arg_mem(a, s->opt_m);
    arg_mem(a, s->opt_v);
    arg_mem(a, params_out);
    arg_mem(a, opt_m_out);
    arg_mem(a, opt_v_out);
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
static clrnn_status fused_settle(clrnn_backend *b, ocl_state *s, void *self, clrnn_error *err)
{
    fused_state *fs = self;
    if (!fs->finish_batch)
        return CLRNN_OK;
    kernel_args a = args_for(s, fs->kernels[K_FUSED_FINISH]);
    arg_finish(&a, s, fs, s->params, s->opt_m, s->opt_v);
    fs->finish_batch = 0;
    fs->deferred = 0;
    return ocl_launch_1d(s, &a, b->n_params, err);
}

/* An update without clipping waits with its batch's finishing step. */
static int fused_keeps_update(clrnn_backend *b, void *self, const clrnn_optimizer *opt, long step)
{
    fused_state *fs = self;
    if (!fs->finish_batch || fs->deferred || opt->clip_norm > 0 || b->n_models > 1)
        return 0;
    fs->deferred = 1; /* to the next training batch, or to settle */
    fs->deferred_opt = *opt;
    fs->deferred_step = step;
    return 1;
}

static int fused_takes_waiting_step(const clrnn_backend *b, const void *self, size_t B)
{
    const fused_state *fs = self;
    const size_t n_chunks = chunks_of(B);
    const size_t done_chunks = chunks_of(fs->finish_batch);
    return fs->deferred && b->n_models == 1 &&
           n_chunks * (done_chunks + 4) * b->n_params <= FUSED_APPLY_BUDGET;
}

static void swap_mem(cl_mem *x, cl_mem *y)
{
    cl_mem t = *x;
    *x = *y;
    *y = t;
}

/* A training batch (the tile family runs the others); it takes the waiting
 * step itself where fused_takes_waiting_step says so, else the backend has
 * settled it. */
static clrnn_status fused_run_batch(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                    int with_gradients, clrnn_error *err)
{
    fused_state *fs = self;
    const size_t T = b->seq_len;
    const size_t n_chunks = chunks_of(B);
    const int apply = fused_takes_waiting_step(b, fs, B);
    kernel_args a = args_for(s, fs->kernels[K_FUSED]);
    arg_mem(&a, apply ? fs->partial_alt : s->partial);
    arg_mem(&a, s->h[0]);
    arg_mem(&a, s->y[0]);
    arg_mem(&a, apply ? fs->window_loss_alt : s->window_loss);
    arg_mem(&a, s->x_table);
    arg_mem(&a, s->y_table);
    arg_starts(&a, s);
    arg_uint(&a, B);
    arg_uint(&a, b->loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0);
    arg_uint(&a, apply);
    arg_finish(&a, s, fs, fs->params_alt, fs->opt_m_alt, fs->opt_v_alt);
    arg_h0(&a, s, 0);
    /* On a CPU a work-group a work-item; elsewhere groups of up to 64
     * (work-items past the last chunk return). */
    const size_t local = ocl_group_size(s, &a, (size_t)fs->tuning[T_FUSED_WG]);
    const size_t global = round_up(n_chunks, local);
    clrnn_status st = ocl_launch(s, &a, 1, &global, &local, err);
    if (st != CLRNN_OK)
        return st;
    if (apply) { /* the step's results, and this batch's sums, are the current ones */
        swap_mem(&s->params, &fs->params_alt);
        swap_mem(&s->opt_m, &fs->opt_m_alt);
        swap_mem(&s->opt_v, &fs->opt_v_alt);
        swap_mem(&s->partial, &fs->partial_alt);
        swap_mem(&s->window_loss, &fs->window_loss_alt);
        fs->deferred = 0;
    }
    fs->finish_batch = B;
    return CLRNN_OK;
}

/* A shared batch's finishing step waits as that of fused_run_batch does
 * (B = 0: none waits). */
static void fused_share_waits(clrnn_backend *b, void *self, size_t B)
{
    fused_state *fs = self;
    fs->finish_batch = B;
    fs->deferred = 0;
}

/* out (B,T,N) <- rnn_fused's lane-major (tiles, T, N, lanes). */
static clrnn_status fused_read_activations(clrnn_backend *b, ocl_state *s, void *self, double *out,
                                           cl_mem buffer, size_t N, const char *name,
                                           clrnn_error *err)
{
    const fused_state *fs = self;
    const size_t B = b->last_batch, T = b->seq_len;
    const size_t L = fs->lanes, n = round_up(B, L) * T * N;
    double *lanes = malloc(n * sizeof *lanes);
    if (!lanes)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of host memory (%zu values)", n);
    clrnn_status st = ocl_read_reals(s, lanes, buffer, n, name, err);
    for (size_t bt = 0; st == CLRNN_OK && bt < B * T; bt++) {
        const size_t w = bt / T % L, tile = bt / T / L, t = bt % T;
        for (size_t j = 0; j < N; j++)
            out[bt * N + j] = lanes[((tile * T + t) * N + j) * L + w];
    }
    free(lanes);
    return st;
}

/* A group's training batch: rnn_fused_models, a work-item a chunk of a
 * model (the model the second dimension), then the shared finish. */
static clrnn_status fused_run_group(clrnn_backend *b, ocl_state *s, void *self, size_t first,
                                    size_t B, clrnn_error *err)
{
    fused_state *fs = self;
    const ocl_group *g = s->group;
    const size_t T = b->seq_len, n_chunks = chunks_of(B);
    kernel_args a = args_for(s, fs->kernels[K_FUSED_MODELS]);
    arg_mem(&a, g->partial);
    arg_mem(&a, g->window_loss);
    arg_mem(&a, s->x_table);
    arg_mem(&a, s->y_table);
    arg_mem(&a, s->order);
    arg_uint(&a, b->n_order);
    arg_uint(&a, first);
    arg_uint(&a, B);
    arg_uint(&a, b->loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0);
    arg_mem(&a, g->params);
    arg_mem(&a, g->active);
    arg_uint(&a, g->stride_partial);
    arg_uint(&a, g->stride_window);
    const size_t local[2] = {ocl_group_size(s, &a, (size_t)fs->tuning[T_FUSED_WG]), 1};
    const size_t global[2] = {round_up(n_chunks, local[0]), g->M};
    fs->finish_batch = 0;
    fs->deferred = 0;
    clrnn_status st = ocl_launch(s, &a, 2, global, local, err);
    return st == CLRNN_OK ? ocl_group_finish(b, s, n_chunks, B, err) : st;
}

/* rnn_fused writes h lane-major, fs->lanes windows a tile (carry_state). */
static size_t fused_activation_lanes(const clrnn_backend *b, const void *self)
{
    return ((const fused_state *)self)->lanes;
}

const ocl_family ocl_family_fused = {
    .name = "fused",
    .misfit = fused_misfit,
    .refusal = "the fused kernels cannot run this model: %s (use `kernels` auto, "
               "tile or group)",
    .suitability = fused_suitability,
    .forward_family = "tile",
    .init = fused_init,
    .destroy = fused_destroy,
    .run_batch = fused_run_batch,
    .settle = fused_settle,
    .keeps_update = fused_keeps_update,
    .takes_waiting_step = fused_takes_waiting_step,
    .share_waits = fused_share_waits,
    .read_activations = fused_read_activations,
    .activation_lanes = fused_activation_lanes,
    .tunables = fused_tunables,
    .n_tunables = N_FUSED_TUNABLES,
    .tuning_misfit = fused_tuning_misfit,
    .run_group = fused_run_group,
};
