/*
 * The "tile" kernel family: one work-item per tile of WB windows, the layer's
 * sizes fixed at build time (-DNI -DNH -DNO -DNT -DWB), state in private
 * memory. Every inner loop runs over hidden units j, contiguous in memory,
 * each element accumulating in the CPU reference's order: the form that a
 * CPU OpenCL (PoCL) turns into SIMD code, and, with WB = 1, the "window per
 * work-item" form for small layers on a GPU. The "group" family
 * (rnn_forward.cl, rnn_backward.cl, reduce.cl) is the other choice. The
 * maths of a step (axpy, dot, hidden_value, loss_term, bptt_value, the
 * parameter layout) is layer.cl's, shared with the other families.
 *
 * Each stage comes as whole kernels, one per way of vectorising it, all
 * built into every tile program with the same arguments; the host
 * (host/opencl/family_tile.c) creates the ones a layer runs:
 *   rnn_forward_tile        WB windows, one after another (GPUs; CPUs, wide
 *                           layers whose rows are not whole native vectors)
 *   rnn_forward_tile_lanes  8 windows as the lanes of vectors (CPUs, layers
 *                           of at most 16 units; launched with WB = 8)
 *   rnn_forward_tile_vec    rows as explicit vectors of JVEC reals (CPUs,
 *                           rows of whole native vectors, -DJVEC 8 or 16)
 *   rnn_backward_tile, rnn_backward_tile_vec    likewise
 *   grad_rows_tile, grad_rows_tile_vec          likewise
 * (the lanes forward goes with rnn_backward_tile and grad_rows_tile).
 *
 * Windows past the batch's end (the last tile's padding) compute on window
 * B-1 and write nothing.
 *
 * Fusions save launches (each costs microseconds, as much as a small
 * batch's work): the top layer's forward also computes the loss and dy
 * (-DTOP_LAYER=1, a build-time constant tested by plain ifs, mirroring
 * mse_forward_cpu), every forward writes the transposes its backward will
 * read, the top layer's backward adds the batch's window losses to the
 * running sum, and with one chunk of windows grad_rows_tile writes the mean
 * gradient itself.
 */
#if !defined(NI) || !defined(NH) || !defined(NO) || !defined(NT) || !defined(WB)
#error "rnn_tile.cl needs -DNI -DNH -DNO -DNT -DWB"
#endif
#ifndef TOP_LAYER
#define TOP_LAYER 0
#endif
/* The _vec kernels' vectors: JVEC reals (8 or 16, dividing NH), blocks of
 * JB of them (dividing NH / JVEC) in registers for WB windows in the
 * forward and the BPTT, and for RB rows of the weight gradient in
 * grad_rows_tile_vec. A CPU OpenCL's own vectoriser picks 256-bit vectors;
 * explicit ones use the full width (AVX-512). Where the host passes
 * -DJVEC=0 they do not run and are built at 8. */
#ifndef JVEC
#define JVEC 0
#endif
#ifndef JB
#define JB 1
#endif
#ifndef RB
#define RB 1
#endif
#if JVEC != 0 && JVEC != 8 && JVEC != 16
#error "-DJVEC: 0, 8 or 16"
#endif
#if JVEC && (NH % JVEC != 0 || (NH / JVEC) % JB != 0)
#error "-DJVEC must divide -DNH, and -DJB NH / JVEC"
#endif

/* The precision's vector types: realv, rnn_forward_tile_lanes's 8 windows;
 * realj, the _vec kernels' JW reals along hidden units. */
#define TILE_LANES 8
#if CLRNN_FP64
typedef double8 realv;
#else
typedef float8 realv;
#endif
#if JVEC == 16 && CLRNN_FP64
typedef double16 realj;
#elif JVEC == 16
typedef float16 realj;
#elif CLRNN_FP64
typedef double8 realj;
#else
typedef float8 realj;
#endif
#if JVEC == 16
#define JW 16
#define vload_j vload16
#define vstore_j vstore16
#else
#define JW 8
#define vload_j vload8
#define vstore_j vstore8
#endif
#define NJ (NH / JW)
/* A window's row of NH reals in the _vec kernels' private memory, as NJ
 * vectors and as reals (a union: C's way to read one type's bytes as
 * another's). PoCL loads and stores a vector of a private real array
 * (vload_j) in pieces of 8 or 16 bytes; as a vector array it moves whole
 * registers. */
typedef union tile_row {
    realj v[NJ ? NJ : 1];
    real s[NH];
} tile_row;
/* grad_rows_tile_vec's blocks: of RB rows of dW_i (NXB of them), then of
 * dW_h (no block takes rows of both: each block's rows come from x or h
 * alone), of JB vectors. Block rb's first row, and whether its row u is
 * one (the last block of each may hold fewer than RB). */
#define NXB ((NI + RB - 1) / RB)
#define NRB (NXB + (NH + RB - 1) / RB)
#define BLOCK_ROW0(rb) ((rb) < NXB ? (rb) * RB : NI + ((rb) - NXB) * RB)
#define BLOCK_HAS_ROW(rb, r0, u) ((rb) < NXB ? (r0) + (u) < NI : (r0) + (u) < NI + NH)
#define NJB (NJ / JB)
/* and its work-items' panels of RP row blocks (-DRP; 0: all of them). */
#ifndef RP
#define RP 0
#endif
#if RP == 0
#undef RP
#define RP NRB
#endif
#define NRP ((NRB + RP - 1) / RP)
/* -DGPACK=1: grad_panel first copies each window's g and hidden
 * states into private arrays whose rows are a cache line longer than the
 * data (GP_LD). Rows of NH reals lie a power of two apart for the
 * usual NH, so the column of a few reals that a row block reads from each
 * of the window's NT rows falls into a few sets of the L1 cache and evicts
 * itself before the next row block reads it again; padded, the rows spread
 * over all the sets. The host counts the arrays' 2 NT GP_LD reals. */
#ifndef GPACK
#define GPACK 0
#endif
#define GPACK_PAD (CLRNN_FP64 ? 8 : 16)
#define GP_LD (NH + GPACK_PAD)
/* A window's NT rows of g or h, GP_LD apart, as vectors and as reals (the
 * pad a whole number of vectors: JW divides GPACK_PAD). */
typedef union grad_copy {
    realj v[JVEC ? NT * GP_LD / JW : 1];
    real s[JVEC ? NT * GP_LD : 1];
} grad_copy;
/* A work-item's column blocks: with GPACK all (the copies serve them all),
 * else one. */
#define NJB_ITEMS (GPACK ? 1 : NJB)

/*
 * Model groups (host/opencl/family_tile.c: tile_run_group). A program built
 * for a group (-DGROUP_BATCH, the batch buffers' B rounded up, -DSTRIDE_P
 * and -DSTRIDE_PARTIAL, the group's strides: runtime.h, ocl_group) takes
 * two more arguments, the window orders' stride and the models' rows
 * (common.cl's GROUP_ARGS reals each, active the 10th), and runs, where
 * the launch has the model axis (the forward and the BPTT 1, the weight
 * gradient 2), model k = its id there on model k's slices: parameters and
 * transposes at k STRIDE_P, (B,T,N) activations at k GROUP_BATCH NT N,
 * window losses at k GROUP_BATCH, partial sums at k STRIDE_PARTIAL, the
 * windows at order[k order_stride + starts_offset ..]. A model whose row
 * is not active returns. Only the addressing changes: each model's work
 * is its batch's alone, and so its bits. A launch of one model (width 1
 * along the axis, as every launch of a program built alone) is model 0,
 * the selected model's own buffers.
 */
#ifndef GROUP_BATCH
#define GROUP_BATCH 0
#endif
#if GROUP_BATCH
#define GROUP_TILE_ARGS , const uint order_stride, __global const real *models
#define GROUP_ROWS(N) ((size_t)GROUP_BATCH * NT * (N))
#define GROUP_LAUNCH(axis) (get_global_size(axis) > 1)
#define GROUP_SKIP(axis)                                                     \
    if (GROUP_LAUNCH(axis) && models[get_global_id(axis) * GROUP_ARGS + 9] == 0) \
        return;
/* The forward's slices of model k (axis 1). */
#define FORWARD_MODEL                                            \
    GROUP_SKIP(1)                                                \
    {                                                            \
        const size_t k_ = get_global_id(1);                      \
        y += k_ * GROUP_ROWS(NO);                                \
        h += k_ * GROUP_ROWS(NH);                                \
        wt += k_ * STRIDE_P;                                     \
        window_loss += k_ * GROUP_BATCH;                         \
        dy += k_ * GROUP_ROWS(NO);                               \
        x += x_is_table ? 0 : k_ * GROUP_ROWS(NI);               \
        order += k_ * order_stride;                              \
        params += k_ * STRIDE_P;                                 \
    }
/* The BPTT's (axis 1); dx where want_dx. */
#define BACKWARD_MODEL                                           \
    GROUP_SKIP(1)                                                \
    {                                                            \
        const size_t k_ = get_global_id(1);                      \
        g += k_ * GROUP_ROWS(NH);                                \
        dx += want_dx ? k_ * GROUP_ROWS(NI) : 0;                 \
        window_loss += k_ * GROUP_BATCH;                         \
        dy += k_ * GROUP_ROWS(NO);                               \
        h += k_ * GROUP_ROWS(NH);                                \
        wt += k_ * STRIDE_P;                                     \
    }
/* The weight gradient's (axis 2): a group's partial sums, never the mean. */
#define GRAD_MODEL                                               \
    GROUP_SKIP(2)                                                \
    {                                                            \
        const size_t k_ = get_global_id(2);                      \
        partial += k_ * STRIDE_PARTIAL;                          \
        g += k_ * GROUP_ROWS(NH);                                \
        h += k_ * GROUP_ROWS(NH);                                \
        dy += k_ * GROUP_ROWS(NO);                               \
        x += x_is_table ? 0 : k_ * GROUP_ROWS(NI);               \
        order += k_ * order_stride;                              \
    }
#else
#define GROUP_TILE_ARGS
#define GROUP_LAUNCH(axis) 0
#define FORWARD_MODEL
#define BACKWARD_MODEL
#define GRAD_MODEL
#endif

/* layer.cl's maths on the lanes of realv (weights global) and on realj.
 * The lanes' instances unroll where rnn_forward_tile_lanes runs (layers
 * of at most 16 units: layer.cl's RNN_LOOP_HINT), so that their arrays
 * live in registers; wider layers build them rolled. */
#if NH <= 16
#undef RNN_LOOP_HINT
#define RNN_LOOP_HINT _Pragma("unroll")
#define LANES_LOOP_HINT _Pragma("unroll")
#else
#define LANES_LOOP_HINT
#endif
RNN_STEP_VALUES(_v, realv)
RNN_AXPY(_vg, realv, real, __global)
RNN_DOT(_vg, realv, __private, __global)
RNN_HIDDEN_STEP(_vg, _v, realv, __global, NI, NH)
RNN_GATHER(_v, realv, TILE_LANES, vload8)
#undef RNN_LOOP_HINT
#define RNN_LOOP_HINT
RNN_STEP_VALUES(_j, realj)
/* The _vec forward's h_t in fp32: tanh(z) as sign(z) min(1, c P(c^2) /
 * Q(c^2)), c = min(|z|, 9.02) (past which tanh rounds to 1), P and Q of
 * degree 4: a rational fit of tanh(x) / x (scripts/tanh_fp32_check.py fits
 * it and emulates this arithmetic: within 4.7 units in the last place with
 * fused multiply-adds, 5.6 without, over [-12, 12]). A NaN stays NaN. It
 * takes 11 multiply-adds and one division (the division unit, beside the
 * vector ports), where an exp form took about 45 vector operations and
 * PoCL's vector tanh computes both of its branches, each with a division
 * and its own exp: llvm-mca (Sapphire Rapids) puts the medium shape's 16
 * tanh of a register block at 185 cycles, against 491 for the exp form.
 * The parity grid holds it to fp32's tolerance; fp64 keeps tanh, the
 * reference's function. */
#if !CLRNN_FP64
realj tanh_fast_j(const realj z);
realj tanh_fast_j(const realj z)
{
    const realj a = fabs(z);
    const realj c = select(a, (realj)9.02f, a > 9.02f), u = c * c; /* (a NaN stays) */
    const realj P =
        1.0f + u * (0.133797094f + u * (0.00349402428f + u * (2.05833057e-05f + u * 1.33188207e-08f)));
    const realj Q =
        1.0f + u * (0.467130244f + u * (0.0258710347f + u * (0.000328307564f + u * 7.76191769e-07f)));
    const realj r = c * P / Q;
    return select(copysign(select(r, (realj)1, r > 1), z), z, isnan(z));
}
#endif

/* The layer's offsets in its block (layer.cl), at the build-time sizes. */
#define AT_W_I LAYER_W_I(NI, NH, NO)
#define AT_W_H LAYER_W_H(NI, NH, NO)
#define AT_W_O LAYER_W_O(NI, NH, NO)
#define AT_B_O LAYER_B_O(NI, NH, NO)
#define AT_B_I LAYER_B_I(NI, NH, NO)

/* W_i^T (H,I), W_h^T (H,H), W_o^T (O,H) of the layer into wt at the layer's
 * offset, so that backward's inner loops run over contiguous rows; the
 * forward's work-items share the elements out. */
void write_transposes(__global real *wt, const layer_params p, const uint param_offset);
void write_transposes(__global real *wt, const layer_params p, const uint param_offset)
{
    __global real *wt_layer = wt + param_offset;
    for (size_t q = get_global_id(0); q < AT_B_O; q += get_global_size(0)) {
        if (q < AT_W_H) { /* W_i^T[j][i] = W_i[i][j] */
            const size_t r = q - AT_W_I;
            wt_layer[q] = p.W_i[(r % NI) * NH + r / NI];
        } else if (q < AT_W_O) { /* W_h^T[j][k] = W_h[k][j] */
            const size_t r = q - AT_W_H;
            wt_layer[q] = p.W_h[(r % NH) * NH + r / NH];
        } else { /* W_o^T[o][j] = W_o[j][o] */
            const size_t r = q - AT_W_O;
            wt_layer[q] = p.W_o[(r % NH) * NO + r / NH];
        }
    }
}

/* acc[w][u] += sum_k a[w][k] M[k][(jb + u) JW ...], k in order: the block
 * of JB column vectors from jb of the product of a (WB windows' rows) and
 * M (NH,NH) row-major, in registers; nothing where !nonzero. One load of
 * a row of M serves the WB windows. The _vec kernels' register-blocked
 * form of layer.cl's axpy. */
void block_product(realj acc[WB][JB], const tile_row *a, __global const real *M, const int jb,
                   const int nonzero) __attribute__((always_inline));
void block_product(realj acc[WB][JB], const tile_row *a, __global const real *M, const int jb,
                   const int nonzero)
{
    if (!nonzero)
        return;
    __global const real *m = M + (size_t)jb * JW; /* row k's block */
    for (int k = 0; k < NH; k++, m += NH) {
        realj row[JB];
        #pragma unroll
        for (int u = 0; u < JB; u++)
            row[u] = vload_j(u, m);
        #pragma unroll
        for (int w = 0; w < WB; w++)
            #pragma unroll
            for (int u = 0; u < JB; u++)
                acc[w][u] += a[w].s[k] * row[u];
    }
}

/* acc[w][u] = 0 */
void block_zero(realj acc[WB][JB]) __attribute__((always_inline));
void block_zero(realj acc[WB][JB])
{
    #pragma unroll
    for (int w = 0; w < WB; w++)
        #pragma unroll
        for (int u = 0; u < JB; u++)
            acc[w][u] = 0;
}

/* acc[w][u] = sum_i x_w[w][i] W_i[i][(jb + u) JW ...], i in order: the
 * block of JB column vectors from jb of WB windows' x_t W_i, as
 * block_product has h_{t-1} W_h. */
void input_product(realj acc[WB][JB], __global const real *const *x_w, __global const real *W_i,
                   const int jb) __attribute__((always_inline));
void input_product(realj acc[WB][JB], __global const real *const *x_w, __global const real *W_i,
                   const int jb)
{
    block_zero(acc);
    for (int i = 0; i < NI; i++) {
        realj row[JB];
        #pragma unroll
        for (int u = 0; u < JB; u++)
            row[u] = vload_j(jb + u, W_i + i * NH);
        #pragma unroll
        for (int w = 0; w < WB; w++)
            #pragma unroll
            for (int u = 0; u < JB; u++)
                acc[w][u] += x_w[w][i] * row[u];
    }
}

/* The _vec kernels' fp32 output sums of one output (OUTPUT_VEC), and the
 * sum of a realj's lanes. fp64 keeps the reference's order. */
#define OUTPUT_VEC (JVEC != 0 && !CLRNN_FP64 && NO == 1)
#if OUTPUT_VEC
real sum_j(const realj v);
real sum_j(const realj v)
{
#if JW == 16
    const float8 a = v.lo + v.hi;
#else
    const realj a = v;
#endif
    const float4 b = a.lo + a.hi;
    const float2 c = b.lo + b.hi;
    return c.x + c.y;
}
#endif

/* Mirrors the output of rnn_layer_forward_cpu for the tile's windows
 * first .. first + WB - 1 at step t, given y_o[w] = sum_k h_t[w][k]
 * W_o[k][o] (output_sums, output_sums_j), and in the top layer
 * mse_forward_cpu's dy and each window's loss sum and count of observed
 * cells; windows past B write nothing. */
void output_store(__global real *y, __global real *dy, real *loss, real *seen,
                  __global const real *targets, __global const uint *starts, const layer_params p,
                  const real *y_o, const int o, const size_t first, const uint B, const int t,
                  const uint first_loss_step);
void output_store(__global real *y, __global real *dy, real *loss, real *seen,
                  __global const real *targets, __global const uint *starts, const layer_params p,
                  const real *y_o, const int o, const size_t first, const uint B, const int t,
                  const uint first_loss_step)
{
    for (int w = 0; w < WB && first + w < B; w++) {
        const size_t b = first + w, at = (b * NT + t) * NO + o;
        const real value = y_o[w] + p.b_o[o];
        y[at] = value;
        if (!TOP_LAYER)
            continue;
        if (t < (int)first_loss_step)
            dy[at] = 0;
        else
            dy[at] = loss_term(&loss[w], &seen[w], value,
                               targets[((size_t)starts[b] + t) * NO + o]);
    }
}

/* output_value's sums of output o for the WB windows, k in order, side by
 * side (WB independent chains, where one window's is a chain of NH
 * dependent adds). */
#define OUTPUT_SUMS(S, ROW)                                                                      \
    void output_sums##S(real *y_o, ROW, const layer_params p, const int o);                      \
    void output_sums##S(real *y_o, ROW, const layer_params p, const int o)                       \
    {                                                                                            \
        _Pragma("unroll") for (int w = 0; w < WB; w++) y_o[w] = 0;                               \
        for (int k = 0; k < NH; k++) {                                                           \
            const real m = p.W_o[k * NO + o];                                                    \
            _Pragma("unroll") for (int w = 0; w < WB; w++) y_o[w] += OUTPUT_H(w, k) * m;         \
        }                                                                                        \
    }
#define OUTPUT_H(w, k) h_t[w][k]
OUTPUT_SUMS(, real h_t[WB][NH])
#undef OUTPUT_H
#define OUTPUT_H(w, k) h_t[w].s[k]
#if !OUTPUT_VEC
OUTPUT_SUMS(_j, const tile_row *h_t)
#else
/* fp32, one output: each window's sum NJ vectors of partial sums, then
 * added across (not the reference's order: within fp32's tolerance, and
 * NH / JW times shorter than one chain). */
void output_sums_j(real *y_o, const tile_row *h_t, const layer_params p, const int o);
void output_sums_j(real *y_o, const tile_row *h_t, const layer_params p, const int o)
{
    _Pragma("unroll") for (int w = 0; w < WB; w++)
    {
        realj acc = 0;
        _Pragma("unroll") for (int jv = 0; jv < NJ; jv++) acc += h_t[w].v[jv] * vload_j(jv, p.W_o);
        y_o[w] = sum_j(acc);
    }
}
#endif
#undef OUTPUT_H

/* The top layer's window losses (window_loss_value, mse_forward_cpu). */
void store_window_losses(__global real *window_loss, const real *loss, const real *seen,
                         const size_t first, const uint B);
void store_window_losses(__global real *window_loss, const real *loss, const real *seen,
                         const size_t first, const uint B)
{
    if (!TOP_LAYER)
        return;
    for (int w = 0; w < WB; w++)
        if (first + w < B)
            window_loss[first + w] = window_loss_value(loss[w], seen[w]);
}

/* The arguments of every forward kernel of the family. */
#define FORWARD_TILE_ARGS                                                                        \
    __global real *y,              /* (B,T,O) out */                                             \
        __global real *h,          /* (B,T,H) out */                                             \
        __global real *wt,         /* (P) out: transposes */                                     \
        __global real *window_loss, /* (B) out, top layer */                                     \
        __global real *dy,         /* (B,T,O) out, top layer */                                  \
        __global const real *x,    /* (R,I) table or (B,T,I) */                                  \
        __global const real *targets, /* (R,O) table, top layer */                               \
        __global const uint *order,   /* window start rows */                                    \
        const uint starts_offset,     /* the batch: order[starts_offset ..] */                   \
        __global const real *params,  /* (P) all layers */                                       \
        const uint param_offset, const uint x_is_table, const uint B, const uint first_loss_step, \
        __global const real *h0, /* (B,H) initial states, when has_h0 (state.cl) */            \
        const uint has_h0 GROUP_TILE_ARGS

/* Mirrors rnn_layer_forward_cpu for WB windows per work-item, one after
 * another; in the top layer also mse_forward_cpu. */
__kernel void rnn_forward_tile(FORWARD_TILE_ARGS)
{
    FORWARD_MODEL
    __global const uint *starts = order + starts_offset; /* (B) */
    const layer_params p = point_layer(params + param_offset, NI, NH, NO);
    write_transposes(wt, p, param_offset);
    const size_t first = get_global_id(0) * WB;
    real h_prev[WB][NH];
    real from_hidden[WB][NH];
    real loss[WB], seen[WB]; /* the windows' loss sums and observed cells (top layer) */
    for (int w = 0; w < WB; w++)
        loss[w] = seen[w] = 0;
    if (has_h0) /* h_{-1} = h0 */
        for (int w = 0; w < WB; w++)
            for (int j = 0; j < NH; j++)
                h_prev[w][j] = h0[min(first + w, (size_t)B - 1) * NH + j];
    for (int t = 0; t < NT; t++) {
        for (int w = 0; w < WB; w++)
            for (int j = 0; j < NH; j++)
                from_hidden[w][j] = 0;
        if (t > 0 || has_h0) /* k outer, windows inner: each row of W_h is read once a tile */
            for (int k = 0; k < NH; k++)
                for (int w = 0; w < WB; w++)
                    axpy_g(from_hidden[w], h_prev[w][k], p.W_h + k * NH, NH);
        for (int w = 0; w < WB; w++) {
            const size_t b = min(first + w, (size_t)B - 1);
            __global const real *x_t = x_is_table ? x + ((size_t)starts[b] + t) * NI
                                                  : x + (b * NT + t) * NI;
            real from_input[NH];
            for (int j = 0; j < NH; j++)
                from_input[j] = 0;
            for (int i = 0; i < NI; i++)
                axpy_g(from_input, x_t[i], p.W_i + i * NH, NH);
            for (int j = 0; j < NH; j++)
                h_prev[w][j] = hidden_value(from_input[j], from_hidden[w][j], p.b_i[j]);
            if (first + w >= B)
                continue;
            __global real *h_t = h + (b * NT + t) * NH;
            for (int j = 0; j < NH; j++)
                h_t[j] = h_prev[w][j];
        }
        for (int o = 0; o < NO; o++) {
            real y_o[WB];
            output_sums(y_o, h_prev, p, o);
            output_store(y, dy, loss, seen, targets, starts, p, y_o, o, first, B, t,
                         first_loss_step);
        }
    }
    store_window_losses(window_loss, loss, seen, first, B);
}

/* rnn_forward_tile with the tile's 8 windows as the lanes of vectors: each
 * hidden unit's value for the 8 windows is one realv, every weight a
 * scalar broadcast, tanh one vector call. Mirrors rnn_layer_forward_cpu
 * (in the top layer also mse_forward_cpu), its order of operations in
 * each lane. */
__kernel void rnn_forward_tile_lanes(FORWARD_TILE_ARGS)
{
    FORWARD_MODEL
    __global const uint *starts = order + starts_offset; /* (B) */
    const layer_params p = point_layer(params + param_offset, NI, NH, NO);
    write_transposes(wt, p, param_offset);
    const size_t first = get_global_id(0) * TILE_LANES;
    if (first >= B) /* a work-item past the last tile (rounded-up launch) */
        return;
    size_t b[TILE_LANES];
    __global const real *x_win[TILE_LANES];      /* each window's first row of inputs */
    __global const real *target_win[TILE_LANES]; /* ... and of targets (top layer) */
    LANES_LOOP_HINT
    for (int w = 0; w < TILE_LANES; w++) {
        b[w] = min(first + w, (size_t)B - 1);
        x_win[w] = x_is_table ? x + (size_t)starts[b[w]] * NI : x + b[w] * NT * NI;
        target_win[w] = targets + (size_t)starts[b[w]] * NO;
    }
    const int n_valid = first + TILE_LANES <= B ? TILE_LANES : (int)(B - first);
    realv h_prev[NH]; /* h_{t-1}, then h_t */
    real lane[TILE_LANES];
    realv loss = 0, seen = 0;
    if (has_h0) { /* h_{-1} = h0 */
        __global const real *h0_win[TILE_LANES];
        LANES_LOOP_HINT
        for (int w = 0; w < TILE_LANES; w++)
            h0_win[w] = h0 + b[w] * NH;
        LANES_LOOP_HINT
        for (int j = 0; j < NH; j++)
            h_prev[j] = gather_v(h0_win, j);
    }
    for (int t = 0; t < NT; t++) {
        realv x_t[NI];
        LANES_LOOP_HINT
        for (int i = 0; i < NI; i++)
            x_t[i] = gather_v(x_win, t * NI + i);
        hidden_step_vg(h_prev, x_t, h_prev, t == 0 && !has_h0, p.W_i, p.W_h, p.b_i);
        LANES_LOOP_HINT
        for (int j = 0; j < NH; j++) {
            vstore8(h_prev[j], 0, lane);
            LANES_LOOP_HINT
            for (int w = 0; w < TILE_LANES; w++)
                if (w < n_valid)
                    h[(b[w] * NT + t) * NH + j] = lane[w];
        }
        LANES_LOOP_HINT
        for (int o = 0; o < NO; o++) {
            const realv y_o = output_value_vg(h_prev, p.W_o, p.b_o, o, NH, NO);
            vstore8(y_o, 0, lane);
            LANES_LOOP_HINT
            for (int w = 0; w < TILE_LANES; w++)
                if (w < n_valid)
                    y[(b[w] * NT + t) * NO + o] = lane[w];
            if (!TOP_LAYER)
                continue;
            if (t < first_loss_step) {
                LANES_LOOP_HINT
                for (int w = 0; w < TILE_LANES; w++)
                    if (w < n_valid)
                        dy[(b[w] * NT + t) * NO + o] = 0;
                continue;
            }
            vstore8(loss_term_v(&loss, &seen, y_o, gather_v(target_win, t * NO + o)), 0, lane);
            LANES_LOOP_HINT
            for (int w = 0; w < TILE_LANES; w++)
                if (w < n_valid)
                    dy[(b[w] * NT + t) * NO + o] = lane[w];
        }
    }
    if (!TOP_LAYER)
        return;
    vstore8(window_loss_value_v(loss, seen), 0, lane);
    LANES_LOOP_HINT
    for (int w = 0; w < TILE_LANES; w++)
        if (w < n_valid)
            window_loss[first + w] = lane[w];
}

/* rnn_forward_tile on explicit vectors along hidden units: h_{t-1} W_h in
 * register blocks (block_product) of WB windows; in fp32
 * x_t W_i in the same blocks first (input_product: the sum of both one
 * chain, within fp32's tolerance), in fp64 a window and a vector at a
 * time, on its own as the reference has it. Mirrors rnn_layer_forward_cpu
 * (in the top layer also mse_forward_cpu). */
#define INPUT_IN_BLOCK (!CLRNN_FP64)
__kernel void rnn_forward_tile_vec(FORWARD_TILE_ARGS)
{
    FORWARD_MODEL
    __global const uint *starts = order + starts_offset; /* (B) */
    const layer_params p = point_layer(params + param_offset, NI, NH, NO);
    write_transposes(wt, p, param_offset);
    const size_t first = get_global_id(0) * WB;
    tile_row h_prev[WB], from_input[WB]; /* (fp64: x_t W_i, then) h_t */
    real loss[WB], seen[WB]; /* the windows' loss sums and observed cells (top layer) */
    for (int w = 0; w < WB; w++)
        loss[w] = seen[w] = 0;
    if (has_h0) /* h_{-1} = h0 */
        for (int w = 0; w < WB; w++)
            for (int jv = 0; jv < NJ; jv++)
                h_prev[w].v[jv] = vload_j(jv, h0 + min(first + w, (size_t)B - 1) * NH);
    for (int t = 0; t < NT; t++) {
        __global const real *x_t[WB];
        for (int w = 0; w < WB; w++) {
            const size_t b = min(first + w, (size_t)B - 1);
            x_t[w] = x_is_table ? x + ((size_t)starts[b] + t) * NI : x + (b * NT + t) * NI;
        }
#if !INPUT_IN_BLOCK
        for (int w = 0; w < WB; w++) {
            realj acc[NJ]; /* x_t W_i: NJ independent chains, i in order in each */
            #pragma unroll
            for (int jv = 0; jv < NJ; jv++)
                acc[jv] = 0;
            for (int i = 0; i < NI; i++) {
                const real x_i = x_t[w][i];
                #pragma unroll
                for (int jv = 0; jv < NJ; jv++)
                    acc[jv] += x_i * vload_j(jv, p.W_i + i * NH);
            }
            #pragma unroll
            for (int jv = 0; jv < NJ; jv++)
                from_input[w].v[jv] = acc[jv];
        }
#endif
        for (int jb = 0; jb < NJ; jb += JB) {
            realj acc[WB][JB]; /* (x_t W_i +) h_{t-1} W_h */
#if INPUT_IN_BLOCK
            input_product(acc, x_t, p.W_i, jb);
#else
            block_zero(acc);
#endif
            block_product(acc, h_prev, p.W_h, jb, t > 0 || has_h0);
            #pragma unroll
            for (int w = 0; w < WB; w++)
                #pragma unroll
                for (int u = 0; u < JB; u++) /* h_t, until h_prev takes it */
                    from_input[w].v[jb + u] =
#if INPUT_IN_BLOCK
                        tanh_fast_j(acc[w][u] + vload_j(jb + u, p.b_i));
#else
                        hidden_value_j(from_input[w].v[jb + u], acc[w][u], vload_j(jb + u, p.b_i));
#endif
        }
        for (int w = 0; w < WB; w++) {
            h_prev[w] = from_input[w];
            if (first + w >= B)
                continue;
            __global real *h_t = h + ((first + w) * NT + t) * NH;
            for (int j = 0; j < NH; j++) /* (PoCL stores a vstore_j's vector in pieces) */
                h_t[j] = h_prev[w].s[j];
        }
        for (int o = 0; o < NO; o++) {
            real y_o[WB];
            output_sums_j(y_o, h_prev, p, o);
            output_store(y, dy, loss, seen, targets, starts, p, y_o, o, first, B, t,
                         first_loss_step);
        }
    }
    store_window_losses(window_loss, loss, seen, first, B);
}

/* The arguments of every backward kernel of the family. */
#define BACKWARD_TILE_ARGS                                                                       \
    __global real *g,                     /* (B,T,H) out */                                      \
        __global real *dx,                /* (B,T,I) out when want_dx */                         \
        __global real *loss_sum,          /* (2) in/out, top layer */                            \
        __global const real *window_loss, /* (B), top layer */                                   \
        __global const real *dy,          /* (B,T,O) */                                          \
        __global const real *h,           /* (B,T,H) */                                          \
        __global const real *wt,          /* (P) transposes */                                   \
        const uint param_offset, const uint want_dx, const uint B GROUP_TILE_ARGS

/* Mirrors the time loop of rnn_layer_backward_cpu for WB windows per
 * work-item, one after another: g (B,T,H) and dx; wt holds the transposes
 * (rnn_forward_tile*). In the top layer, work-item 0 first adds the window
 * losses to loss_sum (add_batch_loss, as loss_accumulate does). */
__kernel void rnn_backward_tile(BACKWARD_TILE_ARGS)
{
    BACKWARD_MODEL
    if (TOP_LAYER && get_global_id(0) == 0 && !GROUP_LAUNCH(1)) /* a group: ocl_group_finish */
        add_batch_loss(loss_sum, window_loss, B);
    __global const real *wt_i = wt + param_offset + AT_W_I, *wt_h = wt + param_offset + AT_W_H,
                        *wt_o = wt + param_offset + AT_W_O;
    const size_t first = get_global_id(0) * WB;
    real g_next[WB][NH];
    real from_next[WB][NH];
    for (int s = 0; s < NT; s++) {
        const int t = NT - 1 - s;
        for (int w = 0; w < WB; w++)
            for (int j = 0; j < NH; j++)
                from_next[w][j] = 0;
        if (s > 0) /* g_T = 0 */
            for (int k = 0; k < NH; k++)
                for (int w = 0; w < WB; w++)
                    axpy_g(from_next[w], g_next[w][k], wt_h + k * NH, NH);
        for (int w = 0; w < WB; w++) {
            const size_t b = min(first + w, (size_t)B - 1);
            __global const real *dy_t = dy + (b * NT + t) * NO;
            __global const real *h_t = h + (b * NT + t) * NH;
            real from_output[NH];
            for (int j = 0; j < NH; j++)
                from_output[j] = 0;
            for (int o = 0; o < NO; o++)
                axpy_g(from_output, dy_t[o], wt_o + o * NH, NH);
            for (int j = 0; j < NH; j++)
                g_next[w][j] = bptt_value(from_output[j], from_next[w][j], h_t[j]);
            if (first + w >= B)
                continue;
            __global real *g_t = g + (b * NT + t) * NH;
            for (int j = 0; j < NH; j++)
                g_t[j] = g_next[w][j];
            if (want_dx) { /* dx_t[i] = sum_j W_i[i][j] g_t[j], j in order */
                real acc[NI];
                for (int i = 0; i < NI; i++)
                    acc[i] = 0;
                for (int j = 0; j < NH; j++)
                    axpy_g(acc, g_next[w][j], wt_i + j * NI, NI);
                for (int i = 0; i < NI; i++)
                    dx[(b * NT + t) * NI + i] = acc[i];
            }
        }
    }
}

/* rnn_backward_tile on explicit vectors along hidden units: dy_t W_o^T a
 * vector at a time, g_{t+1} W_h^T in register blocks (block_product).
 * Mirrors the time loop of rnn_layer_backward_cpu. */
__kernel void rnn_backward_tile_vec(BACKWARD_TILE_ARGS)
{
    BACKWARD_MODEL
    if (TOP_LAYER && get_global_id(0) == 0 && !GROUP_LAUNCH(1)) /* a group: ocl_group_finish */
        add_batch_loss(loss_sum, window_loss, B);
    __global const real *wt_i = wt + param_offset + AT_W_I, *wt_h = wt + param_offset + AT_W_H,
                        *wt_o = wt + param_offset + AT_W_O;
    const size_t first = get_global_id(0) * WB;
    tile_row g_next[WB];
    tile_row g_new[WB]; /* dy_t W_o^T, then g_t */
    for (int s = 0; s < NT; s++) {
        const int t = NT - 1 - s;
        for (int w = 0; w < WB; w++) {
            __global const real *dy_t = dy + (min(first + w, (size_t)B - 1) * NT + t) * NO;
            for (int jv = 0; jv < NJ; jv++) {
                realj acc = 0;
                for (int o = 0; o < NO; o++)
                    acc += dy_t[o] * vload_j(jv, wt_o + o * NH);
                g_new[w].v[jv] = acc;
            }
        }
        for (int jb = 0; jb < NJ; jb += JB) {
            realj acc[WB][JB]; /* g_{t+1} W_h^T (g_T = 0) */
            block_zero(acc);
            block_product(acc, g_next, wt_h, jb, s > 0);
            #pragma unroll
            for (int w = 0; w < WB; w++) {
                __global const real *h_t = h + (min(first + w, (size_t)B - 1) * NT + t) * NH;
                #pragma unroll
                for (int u = 0; u < JB; u++)
                    g_new[w].v[jb + u] =
                        bptt_value_j(g_new[w].v[jb + u], acc[w][u], vload_j(jb + u, h_t));
            }
        }
        for (int w = 0; w < WB; w++) {
            g_next[w] = g_new[w];
            if (first + w >= B)
                continue;
            const size_t b = first + w;
            __global real *g_t = g + (b * NT + t) * NH;
            for (int j = 0; j < NH; j++) /* (PoCL stores a vstore_j's vector in pieces) */
                g_t[j] = g_next[w].s[j];
            if (want_dx) /* dx_t[i] = sum_j W_i[i][j] g_t[j], j in order */
                for (int i = 0; i < NI; i++)
                    dx[(b * NT + t) * NI + i] = dot_pg(g_next[w].s, wt_i + i, NI, NH);
        }
    }
}

/*
 * Stage 1 of the weight-gradient reduction in the tile family: work-item
 * (r, c) sums one row of a gradient over the windows of chunk c, each
 * window's steps in reverse time (rnn_layer_backward_cpu's order), as
 * rank-1 updates along contiguous rows of g or h (axpy):
 *   rows 0..I-1         dW_i[i][:] += x[b,t,i] g[b,t,:]
 *   rows I..I+H-1       dW_h[k][:] += h[b,t-1,k] g[b,t,:]   (t > 0; t = 0 too with
 *                       has_h0, h[b,-1,k] = h0[b,k])
 *   rows I+H..I+H+O-1   dW_o[:][o] += h[b,t,:] dy[b,t,o]
 *   row  I+H+O          db_i[:]    += g[b,t,:]
 *   row  I+H+O+1        db_o[:]    += dy[b,t,:]
 * grad_finish (reduce.cl) then adds the chunks in order; with one chunk
 * (finish = 1) these kernels write the batch mean into grads themselves,
 * the same bits as grad_finish would (0 + s = s).
 */

/* Stage 1's sum, or with finish the batch mean. */
real grad_value(const real sum, const uint finish, const uint B);
real grad_value(const real sum, const uint finish, const uint B)
{
    return finish ? sum / (real)B : sum;
}

/* Row r of the table above, for the windows b_begin .. b_end-1, into out
 * (the layer's block of the chunk's sums). Inlined, as the kernels' own
 * code was before it served both: PoCL would otherwise call it. */
void grad_row(__global real *out, const size_t r, __global const real *g,
              __global const real *h, __global const real *dy, __global const real *x,
              __global const uint *starts, const uint x_is_table, const size_t b_begin,
              const size_t b_end, const uint B, const uint finish, __global const real *h0,
              const uint has_h0) __attribute__((always_inline));
void grad_row(__global real *out, const size_t r, __global const real *g,
              __global const real *h, __global const real *dy, __global const real *x,
              __global const uint *starts, const uint x_is_table, const size_t b_begin,
              const size_t b_end, const uint B, const uint finish, __global const real *h0,
              const uint has_h0)
{
    real acc[NH];
    for (int j = 0; j < NH; j++)
        acc[j] = 0;
    if (r < NI + NH) { /* a row of dW_i or dW_h: scalar times a row of g */
        for (size_t b = b_begin; b < b_end; b++) {
            __global const real *x_win = x_is_table ? x + (size_t)starts[b] * NI : x + b * NT * NI;
            for (int t = NT - 1; t >= (r < NI || has_h0 ? 0 : 1); t--) {
                const real sv = r < NI ? x_win[t * NI + r]
                                : t > 0 ? h[(b * NT + t - 1) * NH + (r - NI)]
                                        : h0[b * NH + (r - NI)]; /* h_{-1} = h0 */
                axpy_g(acc, sv, g + (b * NT + t) * NH, NH);
            }
        }
        __global real *dW = out + AT_W_I; /* W_i then W_h, both row-major (., H) */
        for (int j = 0; j < NH; j++)
            dW[r * NH + j] = grad_value(acc[j], finish, B);
    } else if (r < NI + NH + NO) { /* a column of dW_o */
        const size_t o = r - NI - NH;
        for (size_t b = b_begin; b < b_end; b++)
            for (int t = NT - 1; t >= 0; t--)
                axpy_g(acc, dy[(b * NT + t) * NO + o], h + (b * NT + t) * NH, NH);
        __global real *dW_o = out + AT_W_O;
        for (int j = 0; j < NH; j++)
            dW_o[j * NO + o] = grad_value(acc[j], finish, B);
    } else if (r == NI + NH + NO) { /* db_i */
        for (size_t b = b_begin; b < b_end; b++)
            for (int t = NT - 1; t >= 0; t--) {
                __global const real *g_t = g + (b * NT + t) * NH;
                for (int j = 0; j < NH; j++)
                    acc[j] += g_t[j];
            }
        __global real *db_i = out + AT_B_I;
        for (int j = 0; j < NH; j++)
            db_i[j] = grad_value(acc[j], finish, B);
    } else { /* db_o */
        real acc_o[NO];
        for (int o = 0; o < NO; o++)
            acc_o[o] = 0;
        for (size_t b = b_begin; b < b_end; b++)
            for (int t = NT - 1; t >= 0; t--)
                for (int o = 0; o < NO; o++)
                    acc_o[o] += dy[(b * NT + t) * NO + o];
        __global real *db_o = out + AT_B_O;
        for (int o = 0; o < NO; o++)
            db_o[o] = grad_value(acc_o[o], finish, B);
    }
}

/* The rows grad_window reads g and h from: the padded copies (GPACK, rows
 * GP_LD apart) or the activations themselves (NH apart). */
#if GPACK
#define GRAD_SPACE __private
#define G_LD GP_LD
#else
#define GRAD_SPACE __global
#define G_LD NH
#endif

/* acc[u][v] += one window's terms of rows r0 .. r0 + RB - 1 (all of dW_i
 * or all of dW_h: BLOCK_ROW0) and the column block jb, its steps in
 * reverse time: g_rows (NT, G_LD) the window's g, h_win (NT - 1, G_LD) its
 * hidden states, x_win its inputs, h0_win its h_{-1} (has_h0). One vector
 * load of g serves RB rows, one scalar of x or h serves JB vectors. */
void grad_window(realj acc[RB][JB], GRAD_SPACE const real *g_rows, GRAD_SPACE const real *h_win,
                 __global const real *x_win, __global const real *h0_win, const size_t r0,
                 const size_t jb, const uint has_h0) __attribute__((always_inline));
void grad_window(realj acc[RB][JB], GRAD_SPACE const real *g_rows, GRAD_SPACE const real *h_win,
                 __global const real *x_win, __global const real *h0_win, const size_t r0,
                 const size_t jb, const uint has_h0)
{
    /* acc[u][.] += (row u's value at step t) g[b,t,block] */
#define GRAD_STEP(VALUE)                                                                   \
    {                                                                                      \
        realj gv[JB];                                                                      \
        _Pragma("unroll") for (int v = 0; v < JB; v++)                                     \
            gv[v] = vload_j(jb * JB + v, g_rows + t * G_LD);                               \
        _Pragma("unroll") for (int u = 0; u < RB; u++)                                     \
        {                                                                                  \
            const real sv = (VALUE);                                                       \
            _Pragma("unroll") for (int v = 0; v < JB; v++) acc[u][v] += sv * gv[v];        \
        }                                                                                  \
    }
    /* Rows of dW_i: x[b,t,r]; of dW_h: h[b,t-1,k], no step 0 without h0. A
     * whole block's rows are constant offsets from one address; in the last
     * block of each part the rows past the part's last are a copy of it
     * (not stored). */
    if (r0 + RB <= NI)
        for (int t = NT - 1; t >= 0; t--)
            GRAD_STEP(x_win[t * NI + r0 + u])
    else if (r0 < NI)
        for (int t = NT - 1; t >= 0; t--)
            GRAD_STEP(x_win[t * NI + min(r0 + u, (size_t)NI - 1)])
    else {
        /* the terms of hidden unit K (of row u) */
#define H_TERMS(K)                                                         \
    {                                                                      \
        for (int t = NT - 1; t >= 1; t--)                                  \
            GRAD_STEP(h_win[(t - 1) * G_LD + (K)])                         \
        if (has_h0) {                                                      \
            const int t = 0;                                               \
            GRAD_STEP(h0_win[K])                                           \
        }                                                                  \
    }
        if (r0 + RB <= NI + NH)
            H_TERMS(r0 - NI + u)
        else
            H_TERMS(min(r0 - NI + u, (size_t)NH - 1))
#undef H_TERMS
    }
#undef GRAD_STEP
}

/* grad_rows_tile_vec's sums for the row blocks rb_begin .. rb_end - 1 (RB
 * rows each of dW_i or of dW_h, those that exist) and the column blocks
 * jb_begin .. jb_end - 1 (JB vectors each), each element in the same order
 * as grad_row: windows in order, each window's steps in reverse time.
 * Without GPACK each block's sums stay in registers over all the chunk's
 * windows. With it windows are the outer loop: each window's rows are
 * copied once and taken from the L1 cache by every block, the blocks' sums
 * kept in out between windows (out is the work-item's own, and a real
 * stored is the real read back: the same bits). */
void grad_panel(__global real *out, __global const real *g, __global const real *h,
                __global const real *x, __global const uint *starts, const uint x_is_table,
                const size_t b_begin, const size_t b_end, const size_t rb_begin,
                const size_t rb_end, const size_t jb_begin, const size_t jb_end, const uint B,
                const uint finish, __global const real *h0, const uint has_h0);
void grad_panel(__global real *out, __global const real *g, __global const real *h,
                __global const real *x, __global const uint *starts, const uint x_is_table,
                const size_t b_begin, const size_t b_end, const size_t rb_begin,
                const size_t rb_end, const size_t jb_begin, const size_t jb_end, const uint B,
                const uint finish, __global const real *h0, const uint has_h0)
{
#define X_WIN(b) (x_is_table ? x + (size_t)starts[b] * NI : x + (b) * NT * NI)
#if GPACK
    grad_copy gc, hc; /* g's rows, h's rows 0 .. NT-2 (row NT-1 unused) */
    real *gp = gc.s, *hp = hc.s;
    for (size_t b = b_begin; b < b_end; b++) {
        for (int t = 0; t < NT; t++) /* whole vectors (a real at a time PoCL moved 32 bytes) */
            for (int jv = 0; jv < NJ; jv++)
                gc.v[t * (GP_LD / JW) + jv] = vload_j(jv, g + (b * NT + t) * NH);
        for (int t = 0; t + 1 < NT; t++)
            for (int jv = 0; jv < NJ; jv++)
                hc.v[t * (GP_LD / JW) + jv] = vload_j(jv, h + (b * NT + t) * NH);
        for (size_t jb = jb_begin; jb < jb_end; jb++)
            for (size_t rb = rb_begin; rb < rb_end; rb++) {
                const size_t r0 = BLOCK_ROW0(rb);
                __global real *dW = out + AT_W_I + jb * JB * JW; /* W_i then W_h, (., H) */
                realj acc[RB][JB];
                _Pragma("unroll") for (int u = 0; u < RB; u++)
                    _Pragma("unroll") for (int v = 0; v < JB; v++)
                        acc[u][v] = b == b_begin || !BLOCK_HAS_ROW(rb, r0, u)
                                        ? 0 : vload_j(v, dW + (r0 + u) * NH);
                grad_window(acc, gp, hp, X_WIN(b), h0 + b * NH, r0, jb, has_h0);
                _Pragma("unroll") for (int u = 0; u < RB; u++)
                    _Pragma("unroll") for (int v = 0; v < JB; v++)
                        if (BLOCK_HAS_ROW(rb, r0, u))
                            vstore_j(acc[u][v], v, dW + (r0 + u) * NH);
            }
    }
#else
    for (size_t jb = jb_begin; jb < jb_end; jb++)
        for (size_t rb = rb_begin; rb < rb_end; rb++) {
            const size_t r0 = BLOCK_ROW0(rb);
            realj acc[RB][JB];
            _Pragma("unroll") for (int u = 0; u < RB; u++)
                _Pragma("unroll") for (int v = 0; v < JB; v++)
                    acc[u][v] = 0;
            for (size_t b = b_begin; b < b_end; b++)
                grad_window(acc, g + b * NT * NH, h + b * NT * NH, X_WIN(b), h0 + b * NH, r0, jb,
                            has_h0);
            __global real *dW = out + AT_W_I + jb * JB * JW; /* W_i then W_h, (., H) */
            _Pragma("unroll") for (int u = 0; u < RB; u++)
                _Pragma("unroll") for (int v = 0; v < JB; v++)
                    if (BLOCK_HAS_ROW(rb, r0, u))
                        vstore_j(acc[u][v], v, dW + (r0 + u) * NH);
        }
#endif
#undef X_WIN
    if (!finish) /* else the batch mean, in a pass of its own: a division in the loops
                    above would run for every block (the compiler computes both sides) */
        return;
    for (size_t rb = rb_begin; rb < rb_end; rb++)
        for (int u = 0; u < RB; u++)
            if (BLOCK_HAS_ROW(rb, BLOCK_ROW0(rb), u))
                for (size_t j = jb_begin * JB * JW; j < jb_end * JB * JW; j++)
                    out[AT_W_I + (BLOCK_ROW0(rb) + u) * NH + j] /= (real)B;
}
#undef GRAD_SPACE
#undef G_LD

/* The arguments of both weight-gradient kernels. */
#define GRAD_ROWS_TILE_ARGS                                                                      \
    __global real *partial,        /* (n_chunks, P), or grads (P) */                             \
        __global const real *g,    /* (B,T,H) */                                                 \
        __global const real *h,    /* (B,T,H) */                                                 \
        __global const real *dy,   /* (B,T,O) */                                                 \
        __global const real *x,    /* (R,I) table or (B,T,I) */                                  \
        __global const uint *order, /* window start rows */                                      \
        const uint starts_offset,   /* the batch: order[starts_offset ..] */                     \
        const uint x_is_table, const uint B, const uint chunk, const uint P,                     \
        const uint param_offset, const uint finish,                                           \
        __global const real *h0, /* (B,H) initial states, when has_h0 */                       \
        const uint has_h0 GROUP_TILE_ARGS

/* Mirrors the weight-gradient sums of rnn_layer_backward_cpu: work-item
 * (r, c) row r of the table above over chunk c (grad_row). */
__kernel void grad_rows_tile(GRAD_ROWS_TILE_ARGS)
{
    GRAD_MODEL
    __global const uint *starts = order + starts_offset; /* (B) */
    const size_t r = get_global_id(0), c = get_global_id(1);
    const size_t b_begin = c * chunk, b_end = min((size_t)B, b_begin + chunk);
    if (r < NI + NH + NO + 2)
        grad_row(partial + c * P + param_offset, r, g, h, dy, x, starts, x_is_table, b_begin,
                 b_end, B, finish, h0, has_h0);
}

/* grad_rows_tile with [dW_i; dW_h] in register blocks on explicit vectors:
 * work-items 0 .. NRP NJB_ITEMS - 1 take panels of RP row blocks
 * (grad_panel), neighbours the same columns (of g: they share its cache
 * lines), the rest one row each of dW_o, db_i, db_o (grad_row). Mirrors
 * the weight-gradient sums of rnn_layer_backward_cpu. */
__kernel void grad_rows_tile_vec(GRAD_ROWS_TILE_ARGS)
{
    GRAD_MODEL
    __global const uint *starts = order + starts_offset; /* (B) */
    const size_t m = get_global_id(0), c = get_global_id(1);
    const size_t b_begin = c * chunk, b_end = min((size_t)B, b_begin + chunk);
    __global real *out = partial + c * P + param_offset;
    if (m < NRP * NJB_ITEMS) {
        const size_t rb_begin = m % NRP * RP, jb_begin = GPACK ? 0 : m / NRP;
        grad_panel(out, g, h, x, starts, x_is_table, b_begin, b_end, rb_begin,
                   min(rb_begin + RP, (size_t)NRB), jb_begin, GPACK ? NJB : jb_begin + 1, B,
                   finish, h0, has_h0);
        return;
    }
    const size_t r = NI + NH + (m - NRP * NJB_ITEMS);
    if (r < NI + NH + NO + 2)
        grad_row(out, r, g, h, dy, x, starts, x_is_table, b_begin, b_end, B, finish, h0, has_h0);
}
