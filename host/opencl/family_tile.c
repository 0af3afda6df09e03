/*
 * The tile kernel family (kernels/tile/): a work-item per tile of windows,
 * the layer's sizes built into the program (one per distinct layer shape).
 * A batch is, per layer, rnn_forward_tile (the top one with the loss and
 * dy), then from the top rnn_backward_tile (the top one adds the loss up)
 * and grad_rows_tile, which finishes the gradient itself when the batch is
 * one chunk; else grad_finish. A batch without gradients adds its loss up
 * with loss_accumulate. A model group (tile_run_group) runs each of those
 * launches for every model at once, then ocl_group_finish.
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
/* The most rows of the weight gradient a work-item of grad_rows_tile_vec
 * sums at once (RB): 6 rows of 4 vectors and the 4 vectors of g are 28
 * registers, measured on the large shape on AVX-512 (32 registers) 15%
 * faster than 4 rows; more than 6 was not measured faster anywhere. */
#define GRAD_ROW_BLOCK_MAX 6

/*
 * The tunables (family.h), in the order they are derived. A CPU device
 * runs a work-group on one thread, its work-items one after another
 * (PoCL); a GPU wants many work-items. The register blocks of the _vec
 * kernels are sized from the device's native vector width: a device whose
 * native float vector is 16 wide (512 bits) is taken to have 32 vector
 * registers, a narrower one 16 (AVX-512 and AVX2, NEON and SVE alike),
 * and a vector of JVEC reals takes JVEC / native width of them.
 */
enum { T_LANES, T_WB, T_JVEC, T_JB, T_RB, T_GPACK, T_RP, T_GRAD_WG, T_CONTRACT, N_TILE_TUNABLES };
_Static_assert(N_TILE_TUNABLES <= OCL_MAX_TUNABLES, "the tile family's tunables fit ocl_tuning");
static const int lanes_values[] = {0, 1}, wb_values[] = {1, 2, 4, 6, 8}, jvec_values[] = {0, 8, 16},
                 jb_values[] = {1, 2, 4}, rb_values[] = {1, 2, 3, 4, 5, 6, 7, 8},
                 rp_values[] = {0, 1, 2, 4, 8, 16}, gpack_values[] = {0, 1},
                 grad_wg_values[] = {1, 4, 16, 64}, contract_values[] = {0, 1};

static int derive_lanes(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return s->cpu_device && b->layers[l].n_hidden <= WVEC_MAX_HIDDEN;
}

static int derive_jvec(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v);
static size_t vector_registers(const ocl_state *s);

/* W_h's bytes past which the _vec kernels' blocks take 6 windows. */
#define WIDE_BLOCK_WEIGHT_BYTES (128 * 1024)

/* On a CPU 4 windows a work-item reuse each weight row 4 times, fewer
 * where the largest batch would not then give every compute unit a
 * work-item; on a GPU a window a work-item. Where the _vec kernels run on
 * 32 vector registers and W_h is past WIDE_BLOCK_WEIGHT_BYTES (it streams
 * from the L2 cache at every step), 6: blocks of 6 windows and 4 vectors
 * take 24 registers of sums, and a row of W_h serves 6 windows (the large
 * shape's forward and BPTT 4-8% faster on the 2-core AVX-512 machine, best
 * and median of interleaved runs; 128 and 64 hidden units, whose W_h is
 * 64 and 16 KiB, no faster or slower). */
static int derive_wb(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    if (v[T_LANES])
        return 8;
    if (!s->cpu_device)
        return 1;
    const size_t H = b->layers[l].n_hidden;
    int wb = derive_jvec(b, s, l, v) && vector_registers(s) >= 32 &&
                     H * H * s->real_size > WIDE_BLOCK_WEIGHT_BYTES
                 ? 6
                 : 4;
    while (wb > 1 && (b->max_batch + (size_t)wb - 1) / (size_t)wb < s->compute_units)
        wb = wb == 6 ? 4 : wb / 2;
    return wb;
}

/* On a CPU, rows of whole native vectors run on explicit vectors of that
 * width (8 stands in for narrower ones). */
static int derive_jvec(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    const size_t width = ocl_native_width(s, b->precision == CLRNN_FP64);
    return s->cpu_device && !v[T_LANES] && b->layers[l].n_hidden % width == 0 ? (int)width : 0;
}

/* Vector registers of the device, and those a vector of JVEC reals takes. */
static size_t vector_registers(const ocl_state *s)
{
    return s->native_width[0] >= 16 ? 32 : 16;
}
static size_t registers_per_vector(const clrnn_backend *b, const ocl_state *s, int jvec)
{
    const cl_uint native = s->native_width[b->precision == CLRNN_FP64];
    return native && (size_t)jvec > native ? ((size_t)jvec + native - 1) / native : 1;
}

/* JB: the most vectors (4, 2 or 1, dividing the row's) whose blocks of WB
 * windows (at least 2) plus a row stay within the registers, 4 spare. */
static int derive_jb(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    if (!v[T_JVEC])
        return 1;
    const size_t nj = b->layers[l].n_hidden / (size_t)v[T_JVEC];
    const size_t budget = vector_registers(s) - 4, per = registers_per_vector(b, s, v[T_JVEC]);
    const size_t wb = v[T_WB] > 2 ? (size_t)v[T_WB] : 2;
    for (int jb = 4; jb > 1; jb /= 2)
        if (nj % (size_t)jb == 0 && (wb + 1) * (size_t)jb * per <= budget)
            return jb;
    return 1;
}

/* RB: rows of JB vectors of sums plus JB vectors of g within the
 * registers, 4 spare; at most GRAD_ROW_BLOCK_MAX. */
static int derive_rb(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    if (!v[T_JVEC])
        return 1;
    const size_t budget = vector_registers(s) - 4, per = registers_per_vector(b, s, v[T_JVEC]);
    const size_t fit = budget / ((size_t)v[T_JB] * per);
    const size_t rb = fit > 1 ? fit - 1 : 1;
    return rb < GRAD_ROW_BLOCK_MAX ? (int)rb : GRAD_ROW_BLOCK_MAX;
}

/* GPACK: the reals of grad_rows_tile_vec's padded copies of a window's g
 * and hidden states (rnn_tile.cl), 0 without them. */
static size_t gpack_copy_reals(const clrnn_backend *b, size_t l)
{
    const size_t ld = b->layers[l].n_hidden + (b->precision == CLRNN_FP64 ? 8 : 16);
    return 2 * b->seq_len * ld;
}
static size_t gpack_reals(const clrnn_backend *b, size_t l, const int *v)
{
    return v[T_JVEC] && v[T_GPACK] ? gpack_copy_reals(b, l) : 0;
}

/* On where a column of a window's rows would crowd the L1 cache, and the
 * copies take at most GPACK_MAX_REALS. A row block reads a few reals from
 * each of the window's NT rows of g and h; rows S cache lines apart land in
 * 64 / gcd(S, 64) of an L1 cache's 64 sets (48 KiB 12-way or 32 KiB 8-way,
 * 64-byte lines: current x86 cores; OpenCL does not report the L1), and
 * more than 8 rows a set evict each other before the next row block reads
 * them. The large shape (rows of 256 floats, 16 lines: 16 rows a set) took
 * its weight gradient in 24 ms a step with the copies against 31 without
 * (best of 3 on the 2-core AVX-512 machine); the medium one (64 floats, 2
 * rows a set) 2.43 against 2.31. */
#define GPACK_MAX_REALS 40960
#define GPACK_ROWS_A_SET 8
static int derive_gpack(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    if (!v[T_JVEC])
        return 0;
    const size_t row_bytes = b->layers[l].n_hidden * s->real_size;
    if (row_bytes % 64 != 0)
        return 0;                             /* rows not whole lines apart spread over the sets */
    size_t lines = row_bytes / 64, sets = 64; /* 64 / gcd(lines, 64) */
    while (lines % 2 == 0 && sets > 1) {
        lines /= 2;
        sets /= 2;
    }
    return b->seq_len > GPACK_ROWS_A_SET * sets && gpack_copy_reals(b, l) <= GPACK_MAX_REALS;
}

/* grad_rows_tile_vec's blocks of RB rows: of dW_i, then of dW_h (rnn_tile.cl's NRB). */
static size_t grad_row_blocks(clrnn_layer_shape sh, size_t rb)
{
    return (sh.n_in + rb - 1) / rb + (sh.n_hidden + rb - 1) / rb;
}

/* RP: row blocks a work-item of grad_rows_tile_vec (0: all), each window's
 * g columns reused from the L1 cache by all of them: all, unless the
 * largest batch's chunks and column blocks alone would leave a compute
 * unit without two work-items; then the most of rp_values that do not. */
static int derive_rp(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    if (!v[T_JVEC])
        return 0;
    const clrnn_layer_shape sh = b->layers[l];
    const size_t nrb = grad_row_blocks(sh, (size_t)v[T_RB]);
    const size_t column_items = v[T_GPACK] ? 1 : sh.n_hidden / (size_t)v[T_JVEC] / (size_t)v[T_JB];
    const size_t items = column_items * chunks_of(b->max_batch);
    const size_t want = 2 * (s->compute_units ? s->compute_units : 1);
    if (items >= want)
        return 0;
    const size_t n = sizeof rp_values / sizeof rp_values[0];
    for (size_t i = n; i-- > 1;)
        if ((nrb + (size_t)rp_values[i] - 1) / (size_t)rp_values[i] * items >= want)
            return rp_values[i];
    return 1;
}

/* grad_rows_tile's work-group: on a CPU a work-item (PoCL's own choice of
 * groups halves the speed of the blocked sums, measured on the large
 * shape); elsewhere up to 64 rows. */
static int derive_grad_wg(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return s->cpu_device ? 1 : 64;
}

/* FMA contraction: on in fp32 (a multiply-add one instruction where the
 * device has one: the medium shape's step 1.4-1.5x faster on PoCL with
 * AVX-512, the large one's about 1.1x, within the parity tolerance), off
 * in fp64, which keeps the CPU reference's rounding. */
static int derive_contract(const clrnn_backend *b, const ocl_state *s, size_t l, const int *v)
{
    return b->precision == CLRNN_FP32;
}

static const ocl_tunable tile_tunables[N_TILE_TUNABLES] = {
    [T_LANES] = {"LANES", "the forward with 8 windows as vector lanes (WB 8, JVEC 0)", lanes_values,
                 2, derive_lanes},
    [T_WB] = {"WB", "windows a work-item", wb_values, 5, derive_wb},
    [T_JVEC] = {"JVEC", "explicit vectors of JVEC reals along hidden units (0: none)", jvec_values,
                3, derive_jvec},
    [T_JB] = {"JB", "vectors a register block (JVEC only)", jb_values, 3, derive_jb},
    [T_RB] = {"RB", "weight-gradient rows a register block (JVEC only)", rb_values, 8, derive_rb},
    [T_GPACK] = {"GPACK", "weight gradient: a window's rows copied with padded rows (JVEC only)",
                 gpack_values, 2, derive_gpack},
    [T_RP] = {"RP", "weight-gradient row blocks a work-item (JVEC only; 0: all)", rp_values, 6,
              derive_rp},
    [T_GRAD_WG] = {"GRAD_WG", "work-items a work-group of grad_rows_tile", grad_wg_values, 4,
                   derive_grad_wg},
    [T_CONTRACT] = {"CONTRACT", "fp32: let the compiler fuse multiply-adds (-cl-mad-enable)",
                    contract_values, 2, derive_contract},
};

static const char *tile_tuning_misfit(const clrnn_backend *b, const ocl_state *s, size_t l,
                                      const int *v)
{
    const size_t H = b->layers[l].n_hidden;
    if (v[T_CONTRACT] && b->precision == CLRNN_FP64)
        return "CONTRACT is for fp32: fp64 keeps the reference's order of operations";
    if (v[T_LANES] && (v[T_WB] != 8 || v[T_JVEC] != 0))
        return "LANES 1 runs 8 windows a work-item (WB 8) without JVEC";
    if (v[T_JVEC] && H % (size_t)v[T_JVEC] != 0)
        return "JVEC must divide n_hidden";
    if (v[T_JVEC] && (H / (size_t)v[T_JVEC]) % (size_t)v[T_JB] != 0)
        return "JB must divide n_hidden / JVEC";
    if (!v[T_JVEC] && (v[T_JB] != 1 || v[T_RB] != 1 || v[T_RP] != 0 || v[T_GPACK] != 0))
        return "JB, RB, RP and GPACK are for JVEC 8 or 16 (else 1, 1, 0 and 0)";
    return NULL;
}

/* A layer's tile program and kernels; layers of equal shape (and equally
 * top or not) share one. */
typedef struct tile_program {
    cl_program program;
    int variant; /* TILE_PLAIN, TILE_LANES or TILE_VEC */
    ocl_kernel kernels[N_TILE_KERNELS];
    int tuning[N_TILE_TUNABLES]; /* its tunables' values (ocl_layer_tuning) */
    size_t windows;              /* WB: windows per work-item */
    size_t grad_rows;            /* work-items of grad_rows_tile per chunk */
    int owner;                   /* this layer built it (and releases it) */
} tile_program;

typedef struct tile_state {
    size_t n_layers;
    tile_program *tiles; /* (n_layers) */
    cl_mem wt;           /* (P) transposed weights; a group's (M, stride_p) */
    /* In a model group (s->group; tile the family that runs, or the one
     * that runs its batches without gradients): its programs are built for
     * the group (rnn_tile.cl's model groups) and its group launches' batch
     * buffers are these (runtime.h), g only where tile trains (trains), and
     * the transposes counted with them; none alone. */
    int group, trains;
    ocl_group_activations acts;
} tile_state;

/* The buffers a batch's launches read and write, the model's own (one
 * model: s's, as run_batch has them) or the group's, model k of the
 * launch's model axis at its stride (tile_run_group). */
typedef struct tile_batch {
    size_t models;         /* along the model axis: 1, or the group's M */
    cl_mem *h, *y, *dy, g; /* per layer; scratch of BPTT */
    cl_mem params, wt, window_loss, partial, grads;
    cl_mem order; /* the window starts: order[offset ..] (model k: + k order_stride) */
    size_t offset, order_stride;
} tile_batch;

static tile_batch model_batch(ocl_state *s, tile_state *ts)
{
    tile_batch t = {.models = 1,
                    .h = s->h,
                    .y = s->y,
                    .dy = s->dy,
                    .g = s->g,
                    .params = s->params,
                    .wt = ts->wt,
                    .window_loss = s->window_loss,
                    .partial = s->partial,
                    .grads = s->grads,
                    .order = s->batch_starts,
                    .offset = s->batch_offset};
    return t;
}

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
    ocl_release_group_activations(&ts->acts);
    free(ts);
}

/* Reals a work-item of a tile kernel holds in private arrays, at most (to
 * within a few scalars; rnn_tile.cl): the forward with windows as lanes
 * h_prev, from_input and from_hidden, NH vectors of WB; else the
 * forward and backward 2 arrays of (WB,NH) (h_prev and from_input or
 * from_hidden; g_next and g_new or from_next), a row of NH and a block of
 * registers of at most (WB,NH); grad_rows_tile acc (NH) and its _vec form a
 * block of RB rows of at most NH. Plus loss (WB), acc (NI) and acc_o (NO). */
static size_t tile_private_reals(clrnn_layer_shape sh, size_t windows, size_t rb)
{
    const size_t blocks = 3 * windows > rb ? 3 * windows : rb;
    return blocks * sh.n_hidden + windows + sh.n_in + sh.n_out;
}

/* Refuses a layer whose tile kernels' private arrays cannot be held (see
 * CPU_GROUP_PRIVATE_MAX in runtime.h), naming the widest layer that fits. */
static clrnn_status bound_private(const clrnn_backend *b, const ocl_state *s, tile_program *tile,
                                  size_t l, clrnn_error *err)
{
    const clrnn_layer_shape sh = b->layers[l];
    const size_t WB = tile->windows, rs = s->real_size;
    const size_t RB = (size_t)tile->tuning[T_RB], blocks = 3 * WB > RB ? 3 * WB : RB;
    /* and the weight gradient's padded copies (GPACK), 2 NT reals a hidden unit */
    const size_t pack = gpack_reals(b, l, tile->tuning);
    const size_t per_unit = blocks + (pack ? 2 * b->seq_len : 0);
    const size_t counted = (tile_private_reals(sh, WB, RB) + pack) * rs;
    const size_t fixed = (tile_private_reals((clrnn_layer_shape){sh.n_in, 0, sh.n_out}, WB, RB) +
                          (pack ? pack - 2 * b->seq_len * sh.n_hidden : 0)) *
                         rs;
    const size_t widest =
        fixed < ITEM_PRIVATE_MAX ? (ITEM_PRIVATE_MAX - fixed) / (per_unit * rs) : 0;
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

extern const ocl_family ocl_family_tile;

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
    /* The tunables (tile_tunables): on a CPU a small layer's forward runs
     * 8 windows as the lanes of vectors (rnn_forward_tile_lanes), so that
     * its few hidden units still fill SIMD lanes and tanh runs 8 at a
     * time; wider layers whose rows are whole native vectors run the
     * forward, BPTT and weight gradient on explicit vectors of JVEC reals
     * (the _vec kernels), blocks of JB of them a work-item, the gradient RB
     * rows at a time. */
    tile_program *tile = &ts->tiles[l];
    clrnn_status st = ocl_layer_tuning(b, s, &ocl_family_tile, l, tile->tuning, err);
    if (st != CLRNN_OK)
        return st;
    const int *v = tile->tuning;
    tile->windows = (size_t)v[T_WB];
    const size_t jvec = (size_t)v[T_JVEC], rb = (size_t)v[T_RB];
    const size_t nj = jvec ? sh.n_hidden / jvec : 0, jb = (size_t)v[T_JB];
    const size_t nrb = jvec ? grad_row_blocks(sh, rb) : 0;
    const size_t rp = v[T_RP] ? (size_t)v[T_RP] : nrb;
    tile->grad_rows = jvec ? (nrb + rp - 1) / rp * (v[T_GPACK] ? 1 : nj / jb) + sh.n_out + 2
                           : sh.n_in + sh.n_hidden + sh.n_out + 2;
    char options[512];
    snprintf(options, sizeof options,
             "-DCLRNN_FP64=%d -DNI=%zu -DNH=%zu -DNO=%zu -DNT=%zu -DTOP_LAYER=%d%s", fp64, sh.n_in,
             sh.n_hidden, sh.n_out, b->seq_len, top, v[T_CONTRACT] ? " -cl-mad-enable" : "");
    ocl_tuning_options(options, sizeof options, &ocl_family_tile, v);
    if (ts->group) { /* rnn_tile.cl's model groups */
        const ocl_group *g = s->group;
        size_t len = strlen(options);
        snprintf(options + len, sizeof options - len,
                 " -DGROUP_BATCH=%zu -DSTRIDE_P=%zu -DSTRIDE_PARTIAL=%zu", g->stride_window,
                 g->stride_p, g->stride_partial);
    }
    ts->tiles[l].owner = 1;
    ts->tiles[l].variant = v[T_LANES] ? TILE_LANES : jvec ? TILE_VEC : TILE_PLAIN;
    st = ocl_build(b, s, tile_files, sizeof tile_files / sizeof tile_files[0], options,
                   &ts->tiles[l].program, err);
    if (st == CLRNN_OK)
        st = ocl_create_kernels(s, ts->tiles[l].program, tile_variant_names[ts->tiles[l].variant],
                                N_TILE_KERNELS, ts->tiles[l].kernels, err);
    return st == CLRNN_OK ? bound_private(b, s, &ts->tiles[l], l, err) : st;
}

static const char group_remedy[] = "a group of fewer models: a smaller `n_models`";

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
    ts->group = s->group != NULL;
    ts->trains = ocl_family_at(b->family) == &ocl_family_tile;
    /* a group's buffers first: one too large is refused before any build */
    clrnn_status st = ts->group ? ocl_make_group_activations(b, s, "tile", ts->trains,
                                                             s->group->stride_p, &ts->acts, err)
                                : CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++)
        st = build_layer(b, s, ts, l, err);
    if (st == CLRNN_OK)
        st = ocl_make_sized_buffer(s, &ts->wt,
                                   ts->group ? s->group->M * s->group->stride_p : b->n_params,
                                   s->real_size, CL_MEM_READ_WRITE, "transposed weights",
                                   ts->group ? group_remedy : OCL_SIZED_BY_MODEL, err);
    return st;
}

/* A group build's two more arguments (rnn_tile.cl's GROUP_TILE_ARGS): the
 * window orders' stride and the models' rows (read by group launches
 * only). */
static void group_args(kernel_args *a, const ocl_state *s, const tile_state *ts,
                       const tile_batch *t)
{
    if (!ts->group)
        return;
    arg_uint(a, t->order_stride);
    arg_mem(a, s->group->active);
}

/* n work-items along axis 0 of each of t's models: one model as
 * ocl_launch_items launches them; a group's on a CPU in groups that give
 * every compute unit a work-group across the models (each work-item
 * computes alone: the split changes no bits), elsewhere of up to 64. */
static clrnn_status launch_items(ocl_state *s, const kernel_args *a, size_t n, const tile_batch *t,
                                 clrnn_error *err)
{
    if (t->models == 1)
        return ocl_launch_items(s, a, n, err);
    size_t local;
    if (s->cpu_device) {
        const size_t limit = ocl_group_size(s, a, SIZE_MAX);
        const size_t share = (s->compute_units + t->models - 1) / t->models;
        size_t groups = (n + limit - 1) / limit;
        if (groups < share)
            groups = share;
        local = (n + groups - 1) / groups;
    } else
        local = ocl_group_size(s, a, n < 64 ? n : 64);
    if (local == 0)
        local = 1;
    const size_t global[2] = {round_up(n, local), t->models}, locals[2] = {local, 1};
    return ocl_launch(s, a, 2, global, locals, err);
}

static clrnn_status forward_layer(clrnn_backend *b, ocl_state *s, tile_state *ts,
                                  const tile_batch *t, size_t l, size_t B, clrnn_error *err)
{
    const size_t T = b->seq_len;
    kernel_args a = args_for(s, ts->tiles[l].kernels[K_FORWARD_TILE]);
    arg_mem(&a, t->y[l]);
    arg_mem(&a, t->h[l]);
    arg_mem(&a, t->wt);
    arg_mem(&a, t->window_loss); /* the loss and dy: top layer only */
    arg_mem(&a, t->dy[l]);
    arg_mem(&a, l == 0 ? s->x_table : t->y[l - 1]);
    arg_mem(&a, s->y_table);
    arg_mem(&a, t->order);
    arg_uint(&a, t->offset);
    arg_mem(&a, t->params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, l == 0);
    arg_uint(&a, B);
    arg_uint(&a, b->loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0);
    arg_h0(&a, s, l);
    group_args(&a, s, ts, t);
    return launch_items(s, &a, (B + ts->tiles[l].windows - 1) / ts->tiles[l].windows, t, err);
}

/* rnn_backward_tile of layer l: g, dx into dx where want_dx, and (the top
 * layer, one model) the batch's loss added to loss_sum. */
static clrnn_status bptt_layer(clrnn_backend *b, ocl_state *s, tile_state *ts, const tile_batch *t,
                               size_t l, size_t B, cl_mem dx, int want_dx, cl_mem loss_sum,
                               clrnn_error *err)
{
    kernel_args a = args_for(s, ts->tiles[l].kernels[K_BACKWARD_TILE]);
    arg_mem(&a, t->g);
    arg_mem(&a, dx);
    arg_mem(&a, loss_sum);
    arg_mem(&a, t->window_loss);
    arg_mem(&a, t->dy[l]);
    arg_mem(&a, t->h[l]);
    arg_mem(&a, t->wt);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, want_dx);
    arg_uint(&a, B);
    group_args(&a, s, ts, t);
    return launch_items(s, &a, (B + ts->tiles[l].windows - 1) / ts->tiles[l].windows, t, err);
}

static clrnn_status backward_layer(clrnn_backend *b, ocl_state *s, tile_state *ts,
                                   const tile_batch *t, size_t l, size_t B, clrnn_error *err)
{
    /* layer 0 writes no dx; the top layer adds the batch's loss (a rank's
     * share: to a scratch; a group's: ocl_group_finish) */
    clrnn_status st = bptt_layer(b, s, ts, t, l, B, l == 0 ? t->g : t->dy[l - 1], l > 0,
                                 s->partials_only ? s->share_loss_scratch : s->loss_sum, err);
    if (st != CLRNN_OK)
        return st;

    const size_t n_chunks = chunks_of(B);
    /* the mean, written here (one model's batch of one chunk) */
    const int finish = n_chunks == 1 && !s->partials_only && t->models == 1;
    kernel_args a = args_for(s, ts->tiles[l].kernels[K_GRAD_ROWS_TILE]);
    arg_mem(&a, finish ? t->grads : t->partial);
    arg_mem(&a, t->g);
    arg_mem(&a, t->h[l]);
    arg_mem(&a, t->dy[l]);
    arg_mem(&a, l == 0 ? s->x_table : t->y[l - 1]);
    arg_mem(&a, t->order);
    arg_uint(&a, t->offset);
    arg_uint(&a, l == 0);
    arg_uint(&a, B);
    arg_uint(&a, WINDOWS_PER_CHUNK);
    arg_uint(&a, b->n_params);
    arg_uint(&a, b->layer_offset[l]);
    arg_uint(&a, finish);
    arg_h0(&a, s, l);
    group_args(&a, s, ts, t);
    /* Rows in groups of up to GRAD_WG (work-items past the last row
     * return); a chunk a group, as grad_rows_tile does not check it; a
     * group's models along the third axis. */
    size_t local[3] = {ocl_group_size(s, &a, (size_t)ts->tiles[l].tuning[T_GRAD_WG]), 1, 1};
    size_t grid[3] = {round_up(ts->tiles[l].grad_rows, local[0]), n_chunks, t->models};
    return ocl_launch(s, &a, t->models == 1 ? 2 : 3, grid, local, err);
}

static clrnn_status tile_run_batch(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                   int with_gradients, clrnn_error *err)
{
    tile_state *ts = self;
    const tile_batch t = model_batch(s, ts);
    const size_t L = b->n_layers;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++)
        st = forward_layer(b, s, ts, &t, l, B, err);
    if (st != CLRNN_OK || !with_gradients)
        return st == CLRNN_OK ? ocl_accumulate_loss(s, B, err) : st;
    for (size_t l = L; st == CLRNN_OK && l-- > 0;)
        st = backward_layer(b, s, ts, &t, l, B, err);
    if (st != CLRNN_OK || chunks_of(B) == 1 || s->partials_only)
        return st;
    return ocl_finish_gradient(b, s, B, err);
}

/* A group's training batch (family.h: run_group): run_batch's launches,
 * each for every model of the group at once (the model axis; a model not
 * active returns), on the group's buffers, model k's windows at
 * order[k n_order + first ..]; the chunks' sums then finished for every
 * active model by ocl_group_finish (the mean gradient, as grad_finish or
 * grad_rows_tile's finish gives it, and the loss sum, as the top layer's
 * BPTT adds it alone). */
static clrnn_status tile_run_group(clrnn_backend *b, ocl_state *s, void *self, size_t first,
                                   size_t B, clrnn_error *err)
{
    tile_state *ts = self;
    const ocl_group *g = s->group;
    const tile_batch t = {.models = g->M,
                          .h = ts->acts.h,
                          .y = ts->acts.y,
                          .dy = ts->acts.dy,
                          .g = ts->acts.g,
                          .params = g->params,
                          .wt = ts->wt,
                          .window_loss = g->window_loss,
                          .partial = g->partial,
                          .grads = g->grads,
                          .order = s->order,
                          .offset = first,
                          .order_stride = b->n_order};
    const size_t L = b->n_layers;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++)
        st = forward_layer(b, s, ts, &t, l, B, err);
    for (size_t l = L; st == CLRNN_OK && l-- > 0;)
        st = backward_layer(b, s, ts, &t, l, B, err);
    return st == CLRNN_OK ? ocl_group_finish(b, s, chunks_of(B), B, err) : st;
}

/* A group's batch without gradients (family.h: forward_group): the
 * forward of every layer for every active model at once, each on the same
 * B windows (s->batch_starts), then each model's loss sum as
 * loss_accumulate adds it alone (ocl_group_add_losses). Tile runs these
 * for the fused family's groups too. */
static clrnn_status tile_forward_group(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                       clrnn_error *err)
{
    tile_state *ts = self;
    const ocl_group *g = s->group;
    const tile_batch t = {.models = g->M,
                          .h = ts->acts.h,
                          .y = ts->acts.y,
                          .dy = ts->acts.dy,
                          .params = g->params,
                          .wt = ts->wt,
                          .window_loss = g->window_loss,
                          .order = s->batch_starts,
                          .offset = s->batch_offset};
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++)
        st = forward_layer(b, s, ts, &t, l, B, err);
    return st == CLRNN_OK ? ocl_group_add_losses(s, B, err) : st;
}

/* Input attributions: the forward (the top layer's loss and dy, which the
 * seed replaces), rnn_backward_tile of every layer (layer 0's dx into dx;
 * the loss to a scratch sum), no weight gradient. */
static clrnn_status tile_input_gradients(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                         size_t output, cl_mem dx, clrnn_error *err)
{
    tile_state *ts = self;
    const tile_batch t = model_batch(s, ts);
    const size_t L = b->n_layers;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++)
        st = forward_layer(b, s, ts, &t, l, B, err);
    if (st == CLRNN_OK)
        st = ocl_seed_outputs(b, s, B, output, err);
    for (size_t l = L; st == CLRNN_OK && l-- > 0;)
        st = bptt_layer(b, s, ts, &t, l, B, l == 0 ? dx : s->dy[l - 1], 1, s->share_loss_scratch,
                        err);
    return st;
}

const ocl_family ocl_family_tile = {
    .name = "tile",
    .tunables = tile_tunables,
    .n_tunables = N_TILE_TUNABLES,
    .tuning_misfit = tile_tuning_misfit,
    .suitability = tile_suitability,
    .init = tile_init,
    .destroy = tile_destroy,
    .run_batch = tile_run_batch,
    .input_gradients = tile_input_gradients,
    .run_group = tile_run_group,
    .forward_group = tile_forward_group,
};
