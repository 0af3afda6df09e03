/*
 * The tile kernel family (kernels/tile/): a work-item per tile of windows,
 * the layer's sizes built into the program (one per distinct layer shape).
 * A batch is, per layer, rnn_forward_tile (the top one with the loss and
 * dy), then from the top rnn_backward_tile (the top one adds the loss up)
 * and grad_rows_tile, which finishes the gradient itself when the batch is
 * one chunk; else grad_finish. A batch without gradients adds its loss up
 * with loss_accumulate.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/model.h"
#include "opencl/family.h"

/* Its program's sources and kernels. */
static const char *const tile_files[] = {"common/common", "common/layer", "tile/rnn_tile"};
enum { K_FORWARD_TILE, K_BACKWARD_TILE, K_GRAD_ROWS_TILE, N_TILE_KERNELS };
/* A layer's kernels, by variant (each a whole kernel of rnn_tile.cl; the
 * host picks, build_layer): windows one after another; the forward with
 * windows as vector lanes; explicit vectors along hidden units. */
enum { TILE_PLAIN, TILE_LANES, TILE_VEC };
static const char *const tile_variant_names[][N_TILE_KERNELS] = {
    [TILE_PLAIN] = {"rnn_forward_tile", "rnn_backward_tile", "grad_rows_tile"},
    [TILE_LANES] = {"rnn_forward_tile_lanes", "rnn_backward_tile", "grad_rows_tile"},
    [TILE_VEC] = {"rnn_forward_tile_vec", "rnn_backward_tile_vec", "grad_rows_tile_vec"}};

/* Layers up to this many hidden units run their forward with windows as
 * vector lanes on CPU devices (rnn_forward_tile_lanes), 8 windows a tile. */
#define WVEC_MAX_HIDDEN 16
/* Rows of the weight gradient a work-item of grad_rows_tile_vec sums at
 * once on explicit vectors: 6 rows of 4
 * vectors are 24 accumulators, with the 4 vectors of g 28 of AVX-512's 32
 * registers; measured on the large shape, 15% faster than 4 rows. */
#define GRAD_ROW_BLOCK 6

/* A layer's tile program and kernels; layers of equal shape (and equally
 * top or not) share one. */
typedef struct tile_program {
    cl_program program;
    int variant; /* TILE_PLAIN, TILE_LANES or TILE_VEC */
    ocl_kernel kernels[N_TILE_KERNELS];
    size_t windows;   /* WB: windows per work-item */
    size_t grad_rows; /* work-items of grad_rows_tile per chunk */
    int owner;        /* this layer built it (and releases it) */
} tile_program;

typedef struct tile_state {
    size_t n_layers;
    tile_program *tiles; /* (n_layers) */
    cl_mem wt;           /* (P) transposed weights */
} tile_state;

/* Anywhere second: after the fused family on a CPU; on a GPU after the
 * gpu family (and the group family, for a layer of 32 units or more). */
static int tile_suitability(const clrnn_backend *b, const ocl_state *s)
{
    return 2;
}

static void tile_destroy(clrnn_backend *b, void *self)
{
    tile_state *ts = self;
    if (!ts)
        return;
    for (size_t l = 0; ts->tiles && l < ts->n_layers; l++) {
        if (!ts->tiles[l].owner)
            continue;
        ocl_release_kernels(ts->tiles[l].kernels, N_TILE_KERNELS);
        ocl_release_program(&ts->tiles[l].program);
    }
    free(ts->tiles);
    ocl_release_mem(&ts->wt);
    free(ts);
}

/* Reals a work-item of a tile kernel holds in private arrays, at most (to
 * within a few scalars; rnn_tile.cl): the forward with windows as lanes
 * h_prev, from_input and from_hidden, NH vectors of WB; else the
 * forward and backward 2 arrays of (WB,NH) (h_prev and from_input or
 * from_hidden; g_next and g_new or from_next), a row of NH and a block of
 * registers of at most (WB,NH); grad_rows_tile acc (NH) and its _vec form a
 * block of RB = 6 rows of at most NH, fewer than 3 WB NH (WB = 4 there).
 * Plus loss (WB), acc (NI) and acc_o (NO). */
static size_t tile_private_reals(clrnn_layer_shape sh, size_t windows)
{
    return 3 * windows * sh.n_hidden + windows + sh.n_in + sh.n_out;
}

/* Refuses a layer whose tile kernels' private arrays cannot be held (see
 * CPU_GROUP_PRIVATE_MAX in runtime.h), naming the widest layer that fits. */
static clrnn_status bound_private(const clrnn_backend *b, const ocl_state *s, tile_program *tile,
                                  size_t l, clrnn_error *err)
{
    const clrnn_layer_shape sh = b->layers[l];
    const size_t WB = tile->windows, rs = s->real_size;
    const size_t counted = tile_private_reals(sh, WB) * rs;
    const size_t fixed = tile_private_reals((clrnn_layer_shape){sh.n_in, 0, sh.n_out}, WB) * rs;
    const size_t widest = fixed < ITEM_PRIVATE_MAX ? (ITEM_PRIVATE_MAX - fixed) / (3 * WB * rs) : 0;
    char holds[96], instead[128];
    snprintf(holds, sizeof holds, "layer %zu: %zu window%s of %zu hidden units", l, WB,
             WB == 1 ? "" : "s", sh.n_hidden);
    snprintf(instead, sizeof instead,
             "the tile kernels fit layers of up to %zu hidden units here; or use `kernels` group",
             widest);
    clrnn_status st = CLRNN_OK;
    for (int k = 0; st == CLRNN_OK && k < N_TILE_KERNELS; k++)
        st = ocl_bound_private(&tile->kernels[k], counted, tile_variant_names[tile->variant][k],
                               holds, instead, err);
    return st;
}

/* Layer l's program with its sizes as build-time constants, or the one of
 * an earlier layer of its shape. No fast-math options: the parity checks
 * hold the kernels to the CPU reference's rounding. */
static clrnn_status build_layer(clrnn_backend *b, ocl_state *s, tile_state *ts, size_t l,
                                clrnn_error *err)
{
    const int fp64 = b->precision == CLRNN_FP64;
    clrnn_layer_shape sh = b->layers[l];
    const int top = l + 1 == b->n_layers;
    size_t same = 0;
    while (same < l && (top || memcmp(&b->layers[same], &sh, sizeof sh) != 0))
        same++;
    if (same < l) {
        ts->tiles[l] = ts->tiles[same];
        ts->tiles[l].owner = 0;
        return CLRNN_OK;
    }
    /* On a CPU: 4 windows a work-item reuse each weight row; a small
     * layer's forward runs 8 windows as the lanes of vectors
     * (rnn_forward_tile_lanes), so that its few hidden units still fill
     * SIMD lanes and tanh runs 8 at a time. On a GPU: a window a
     * work-item. */
    const int wvec = s->cpu_device && sh.n_hidden <= WVEC_MAX_HIDDEN;
    ts->tiles[l].windows = wvec ? 8 : s->cpu_device ? 4 : 1;
    /* On a CPU, wider layers whose rows are whole native vectors run
     * the forward, BPTT and weight gradient on explicit vectors of JVEC
     * reals (the _vec kernels), blocks of up to 4 of them (JB) a
     * work-item, the gradient RB rows at a time. */
    const size_t width = ocl_native_width(s, fp64);
    const size_t jvec = s->cpu_device && !wvec && sh.n_hidden % width == 0 ? width : 0;
    const size_t nj = jvec ? sh.n_hidden / jvec : 0;
    const size_t jb = nj % 4 == 0 ? 4 : nj % 2 == 0 ? 2 : 1;
    ts->tiles[l].grad_rows =
        jvec ? (sh.n_in + sh.n_hidden + GRAD_ROW_BLOCK - 1) / GRAD_ROW_BLOCK * (nj / jb) +
                   sh.n_out + 2
             : sh.n_in + sh.n_hidden + sh.n_out + 2;
    char options[256];
    snprintf(options, sizeof options,
             "-DCLRNN_FP64=%d -DNI=%zu -DNH=%zu -DNO=%zu -DNT=%zu -DWB=%zu -DTOP_LAYER=%d "
             "-DJVEC=%zu -DJB=%zu -DRB=%d",
             fp64, sh.n_in, sh.n_hidden, sh.n_out, b->seq_len, ts->tiles[l].windows, top, jvec, jb,
             GRAD_ROW_BLOCK);
    ts->tiles[l].owner = 1;
    ts->tiles[l].variant = wvec ? TILE_LANES : jvec ? TILE_VEC : TILE_PLAIN;
    clrnn_status st = ocl_build(b, s, tile_files, sizeof tile_files / sizeof tile_files[0], options,
                                &ts->tiles[l].program, err);
    if (st == CLRNN_OK)
        st = ocl_create_kernels(s, ts->tiles[l].program, tile_variant_names[ts->tiles[l].variant],
                                N_TILE_KERNELS, ts->tiles[l].kernels, err);
    return st == CLRNN_OK ? bound_private(b, s, &ts->tiles[l], l, err) : st;
}

static clrnn_status tile_init(clrnn_backend *b, ocl_state *s, void **self, clrnn_error *err)
{
    tile_state *ts = calloc(1, sizeof *ts);
    *self = ts;
    if (ts) {
        ts->n_layers = b->n_layers;
        ts->tiles = calloc(b->n_layers, sizeof *ts->tiles);
    }
    if (!ts || !ts->tiles)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating the OpenCL backend");
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++)
        st = build_layer(b, s, ts, l, err);
    if (st == CLRNN_OK)
        st = ocl_make_sized_buffer(s, &ts->wt, b->n_params, s->real_size, CL_MEM_READ_WRITE,
                                   "transposed weights", OCL_SIZED_BY_MODEL, err);
    return st;
}

static clrnn_status forward_layer(clrnn_backend *b, ocl_state *s, tile_state *ts, size_t l,
                                  size_t B, clrnn_error *err)
{
    const size_t T = b->seq_len;
    kernel_args a = args_for(s, ts->tiles[l].kernels[K_FORWARD_TILE]);
    arg_mem(&a, s->y[l]);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, ts->wt);
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
    return ocl_launch_items(s, &a, (B + ts->tiles[l].windows - 1) / ts->tiles[l].windows, err);
}

static clrnn_status backward_layer(clrnn_backend *b, ocl_state *s, tile_state *ts, size_t l,
                                   size_t B, clrnn_error *err)
{
    kernel_args a = args_for(s, ts->tiles[l].kernels[K_BACKWARD_TILE]);
    arg_mem(&a, s->g);
    arg_mem(&a, l == 0 ? s->g : s->dy[l - 1]); /* layer 0 writes no dx */
    /* the top layer adds the batch's loss (a rank's share: to a scratch) */
    arg_mem(&a, s->partials_only ? s->share_loss_scratch : s->loss_sum);
    arg_mem(&a, s->window_loss);
    arg_mem(&a, s->dy[l]);
    arg_mem(&a, s->h[l]);
    arg_mem(&a, ts->wt);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l > 0);
    arg_uint(&a, B);
    clrnn_status st =
        ocl_launch_items(s, &a, (B + ts->tiles[l].windows - 1) / ts->tiles[l].windows, err);
    if (st != CLRNN_OK)
        return st;

    const size_t n_chunks = chunks_of(B);
    const int finish = n_chunks == 1 && !s->partials_only; /* the mean, written here */
    a = args_for(s, ts->tiles[l].kernels[K_GRAD_ROWS_TILE]);
    arg_mem(&a, finish ? s->grads : s->partial);
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
    arg_uint(&a, finish);
    /* On a CPU, a work-group a work-item: PoCL's own choice of groups
     * halves the speed of the blocked sums (measured on the large shape).
     * Elsewhere rows in groups of up to 64 (work-items past the last row
     * return); a chunk a group, as grad_rows_tile does not check it. */
    size_t local[2] = {s->cpu_device ? 1 : ocl_group_size(s, &a, 64), 1};
    size_t grid[2] = {round_up(ts->tiles[l].grad_rows, local[0]), n_chunks};
    return ocl_launch(s, &a, 2, grid, local, err);
}

static clrnn_status tile_run_batch(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                   int with_gradients, clrnn_error *err)
{
    tile_state *ts = self;
    const size_t L = b->n_layers;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++)
        st = forward_layer(b, s, ts, l, B, err);
    if (st != CLRNN_OK || !with_gradients)
        return st == CLRNN_OK ? ocl_accumulate_loss(s, B, err) : st;
    for (size_t l = L; st == CLRNN_OK && l-- > 0;)
        st = backward_layer(b, s, ts, l, B, err);
    if (st != CLRNN_OK || chunks_of(B) == 1 || s->partials_only)
        return st;
    return ocl_finish_gradient(b, s, B, err);
}

const ocl_family ocl_family_tile = {
    .name = "tile",
    .suitability = tile_suitability,
    .init = tile_init,
    .destroy = tile_destroy,
    .run_batch = tile_run_batch,
};
