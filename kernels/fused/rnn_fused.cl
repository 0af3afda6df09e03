/*
 * The "fused" kernel family: a whole training step of a one-layer network
 * in one launch (plus a small finishing one). Each work-item takes a chunk
 * of TILES tiles of LANES windows, the windows as the lanes of vectors (as
 * in the tile family's rnn_forward_tile_lanes), and for each tile runs the
 * forward, the loss and dy, the reverse-time BPTT and the weight-gradient
 * sums without leaving private memory: h, dy and x of the tile's T steps
 * stay in registers or the stack, where the tile family writes them to global
 * memory and reads them back in two more launches. It pays off for small
 * layers, whose steps are too short to hide a launch or a round trip
 * through memory; host/opencl/family_fused.c takes it for one-layer networks
 * of at most 16 hidden units on CPU devices.
 *
 * Sizes are build-time constants: -DNI -DNH -DNO (the layer), -DNT (steps),
 * -DLANES (windows a tile: 16 where the device's native vectors hold 16
 * reals, as AVX-512 does floats, else 8), -DTILES (tiles a work-item). The
 * parameters are one block (layer.cl's layout), and the maths of a step is
 * layer.cl's (axpy, dot, hidden_value, loss_term, bptt_value) on the
 * lanes' vectors.
 *
 * Order of the sums, fixed so that two runs give identical bits: lane w of
 * each gradient accumulator sums windows w, w+LANES, ... of the work-item's
 * chunk, each window's steps in reverse time (rnn_layer_backward_cpu's
 * order within a window); the lanes are added in order; fused_finish adds
 * the chunks in order and divides by B. Every product and sum of the
 * forward and of g is rounded as in the CPU reference (FP_CONTRACT OFF).
 *
 * Lanes past the batch's end (the last tile's padding) compute on window
 * B-1 with dy = 0, so they add exactly 0 to every gradient; their losses
 * land in padding slots that nothing sums.
 *
 * The step that finishes a batch (its mean gradient, the loss sum, the
 * optimizer's step) is fused_finish, or, saving that launch, the start of
 * the next batch's rnn_fused (apply = 1): every work-item then computes
 * the new parameters itself, in the same order and so to the same bits,
 * from the old ones (params_in) and the last batch's chunk sums, and
 * work-item 0 writes them, the state and the gradient to other buffers
 * (params_out, ...), which the host then swaps in. No work-item writes what
 * another reads.
 *
 * h and y go out for reading back only (parity checks), lane-major: the
 * value of window b = LANES tile + w, step t, unit j at
 * ((tile NT + t) NH + j) LANES + w, one vector store each; the host
 * reorders them (read_activations).
 */
#if !defined(NI) || !defined(NH) || !defined(NO) || !defined(NT) || !defined(LANES) || \
    !defined(TILES)
#error "rnn_fused.cl needs -DNI -DNH -DNO -DNT -DLANES -DTILES"
#endif
/* The layer's parameters: W_i (I,H), W_h (H,H), W_o (H,O), b_o (O), b_i (H). */
#define NP LAYER_N_PARAMS(NI, NH, NO)
#if LANES == 8 && CLRNN_FP64
typedef double8 realv;
#elif LANES == 8
typedef float8 realv;
#elif LANES == 16 && CLRNN_FP64
typedef double16 realv;
#elif LANES == 16
typedef float16 realv;
#else
#error "-DLANES: 8 or 16"
#endif
#if LANES == 8
#define vload_lanes vload8
#define vstore_lanes vstore8
#else
#define vload_lanes vload16
#define vstore_lanes vstore16
#endif

/* Every loop of a tile's maths has a build-time length: unrolled, so that
 * the tile's arrays live in registers (layer.cl: RNN_LOOP_HINT). */
#undef RNN_LOOP_HINT
#define RNN_LOOP_HINT _Pragma("unroll")
/* ... but for the loops over steps and over the parameters at the end:
 * each step's arrays stay in registers without them, and unrolled they
 * made the program several times longer to compile (the weather shape's
 * first run waited 14 s for it on the 2-core AVX-512 machine). */
#ifndef TIME_LOOP_HINT
#define TIME_LOOP_HINT _Pragma("unroll 1")
#endif

/* layer.cl's maths on the lanes, the weights and their gradients private:
 * axpy_vp, dot_vp, output_value_vp, hidden_step_vp take rows of scalar
 * weights, axpy_vv rows of the lanes' gradient sums; gather_v a vector of
 * the lanes' inputs or targets. */
RNN_STEP_VALUES(_v, realv)
RNN_AXPY(_vp, realv, real, __private)
RNN_AXPY(_vv, realv, realv, __private)
RNN_DOT(_vp, realv, __private, __private)
RNN_HIDDEN_STEP(_vp, _v, realv, __private, NI, NH)
RNN_GATHER(_v, realv, LANES, vload_lanes)


/* The arguments of a batch's finishing step (fused_finish, and rnn_fused
 * with apply): the batch's chunk sums, window losses and size; the
 * parameters and optimizer state before (in) and after (out) the step;
 * the optimizer (optimizer_args, common.cl; kind 0: no step). */
#define FINISH_ARGS                                                                                \
    __global real *grads, __global real *loss_sum, __global const real *partial_done,             \
        __global const real *window_loss_done, const uint n_chunks_done, const uint B_done,        \
        __global const real *params_in, __global const real *opt_m_in,                           \
        __global const real *opt_v_in, __global real *params_out, __global real *opt_m_out,       \
        __global real *opt_v_out, const uint kind, const real lr, const real momentum,            \
        const real beta1, const real beta2, const real eps, const real weight_decay,              \
        const real correction1, const real correction2
#define OPTIMIZER_ARGS                                                                             \
    {kind, lr, momentum, beta1, beta2, eps, weight_decay, correction1, correction2}

/* Parameter q after the finishing step, its gradient (the batch mean of
 * the chunk sums, chunks added in order) into *g, its state into *m, *v. */
real finish_value(const size_t q, __global const real *partial_done, const uint n_chunks_done,
                  const uint B_done, __global const real *params_in,
                  __global const real *opt_m_in, __global const real *opt_v_in,
                  const optimizer_args opt, real *g, real *m, real *v);
real finish_value(const size_t q, __global const real *partial_done, const uint n_chunks_done,
                  const uint B_done, __global const real *params_in,
                  __global const real *opt_m_in, __global const real *opt_v_in,
                  const optimizer_args opt, real *g, real *m, real *v)
{
    real acc = 0;
    for (uint c = 0; c < n_chunks_done; c++)
        acc += partial_done[c * NP + q];
    *g = acc / (real)B_done;
    *m = opt_m_in[q];
    *v = opt_v_in[q];
    return step_value(opt, params_in[q], m, v, *g);
}

/* Chunk `chunk` of the batch with the parameters wp: its gradient sums into
 * partial (n_chunks, NP), its windows' losses into window_loss (LANES
 * n_tiles), and where `store`, h and y lane-major. Mirrors
 * rnn_layer_forward_cpu, mse_forward_cpu and rnn_layer_backward_cpu for the
 * windows, then sums as the weight gradients of the last. rnn_fused and
 * rnn_fused_models (which keeps no activations: store 0, and carries no
 * state: has_h0 0). With has_h0, window b starts from h0 (B,H). */
void fused_chunk(__global real *partial, __global real *h_lanes, __global real *y_lanes,
                 __global real *window_loss, __global const real *x,
                 __global const real *targets, __global const uint *starts, const uint B,
                 const uint first_loss_step, const size_t chunk, const real *wp,
                 const int store, __global const real *h0, const uint has_h0);

/* Work-item c: chunk c (fused_chunk); with apply, first what fused_finish
 * does. */
__kernel void rnn_fused(__global real *partial,      /* (n_chunks, NP) out */
                        __global real *h_lanes,      /* (n_tiles, NT, NH, LANES) out */
                        __global real *y_lanes,      /* (n_tiles, NT, NO, LANES) out */
                        __global real *window_loss,  /* (LANES n_tiles) out */
                        __global const real *x,      /* (R,I) table */
                        __global const real *targets, /* (R,O) table */
                        __global const uint *order, /* window start rows */
                        const uint starts_offset, /* the batch: order[starts_offset ..] */
                        const uint B, const uint first_loss_step,
                        const uint apply, /* 1: first the last batch's finishing step */
                        FINISH_ARGS,
                        __global const real *h0, /* (B,H) initial states, when has_h0 */
                        const uint has_h0)
{
    __global const uint *starts = order + starts_offset; /* (B) */
    const size_t n_tiles = (B + LANES - 1) / LANES;
    const size_t chunk = get_global_id(0), tile_begin = chunk * TILES;
    if (tile_begin >= n_tiles) /* a work-item of the rounded-up launch */
        return;

    real wp[NP]; /* the parameters this batch runs with */
    const optimizer_args opt = OPTIMIZER_ARGS;
    for (int q = 0; q < NP; q++) {
        if (!apply) {
            wp[q] = params_in[q];
            continue;
        }
        real g, m, v;
        wp[q] = finish_value(q, partial_done, n_chunks_done, B_done, params_in, opt_m_in, opt_v_in,
                             opt, &g, &m, &v);
        if (chunk == 0) {
            grads[q] = g;
            params_out[q] = wp[q];
            opt_m_out[q] = m;
            opt_v_out[q] = v;
        }
    }
    if (apply && chunk == 0)
        add_batch_loss(loss_sum, window_loss_done, B_done);
    fused_chunk(partial, h_lanes, y_lanes, window_loss, x, targets, starts, B, first_loss_step,
                chunk, wp, 1, h0, has_h0);
}

void fused_chunk(__global real *partial, __global real *h_lanes, __global real *y_lanes,
                 __global real *window_loss, __global const real *x,
                 __global const real *targets, __global const uint *starts, const uint B,
                 const uint first_loss_step, const size_t chunk, const real *wp,
                 const int store, __global const real *h0, const uint has_h0)
{
    const size_t n_tiles = (B + LANES - 1) / LANES;
    const size_t tile_begin = chunk * TILES, tile_end = min(n_tiles, tile_begin + TILES);
    const real *const W_i = wp + LAYER_W_I(NI, NH, NO), *const W_h = wp + LAYER_W_H(NI, NH, NO),
               *const W_o = wp + LAYER_W_O(NI, NH, NO), *const b_o = wp + LAYER_B_O(NI, NH, NO),
               *const b_i = wp + LAYER_B_I(NI, NH, NO);

    realv grad[NP]; /* the layer's gradient sums, one lane a window */
    RNN_LOOP_HINT
    for (int q = 0; q < NP; q++)
        grad[q] = 0;
    realv *const dW_i = grad + LAYER_W_I(NI, NH, NO), *const dW_h = grad + LAYER_W_H(NI, NH, NO),
                 *const dW_o = grad + LAYER_W_O(NI, NH, NO),
                 *const db_o = grad + LAYER_B_O(NI, NH, NO),
                 *const db_i = grad + LAYER_B_I(NI, NH, NO);

    for (size_t tile = tile_begin; tile < tile_end; tile++) {
        const size_t first = tile * LANES;
        __global const real *x_win[LANES], *target_win[LANES], *h0_win[LANES];
        real lane[LANES];
        RNN_LOOP_HINT
        for (int w = 0; w < LANES; w++) {
            const size_t b = min(first + w, (size_t)B - 1);
            x_win[w] = x + (size_t)starts[b] * NI;
            target_win[w] = targets + (size_t)starts[b] * NO;
            h0_win[w] = h0 + b * NH; /* read with has_h0 only */
            lane[w] = first + w < B ? 1 : 0;
        }
        const realv valid = vload_lanes(0, lane); /* 1 for a window of the batch, 0 for padding */
        __global real *h_tile = store ? h_lanes + tile * NT * NH * LANES : 0;
        __global real *y_tile = store ? y_lanes + tile * NT * NO * LANES : 0;

        /* Forward, loss and dy: rnn_layer_forward_cpu, mse_forward_cpu. */
        realv xs[NT][NI], hs[NT][NH], dys[NT][NO];
        realv hs0[NH]; /* h_{-1}: h0 with has_h0 */
        RNN_LOOP_HINT
        for (int j = 0; j < NH; j++)
            hs0[j] = has_h0 ? gather_v(h0_win, j) : 0;
        realv loss = 0, seen = 0;
        TIME_LOOP_HINT
        for (int t = 0; t < NT; t++) {
            RNN_LOOP_HINT
            for (int i = 0; i < NI; i++)
                xs[t][i] = gather_v(x_win, t * NI + i);
            hidden_step_vp(hs[t], xs[t], t > 0 ? hs[t - 1] : hs0, t == 0 && !has_h0, W_i, W_h,
                           b_i);
            RNN_LOOP_HINT
            for (int j = 0; j < NH; j++)
                if (store)
                    vstore_lanes(hs[t][j], t * NH + j, h_tile);
            RNN_LOOP_HINT
            for (int o = 0; o < NO; o++) {
                const realv y_o = output_value_vp(hs[t], W_o, b_o, o, NH, NO);
                if (store)
                    vstore_lanes(y_o, t * NO + o, y_tile);
                if (t < (int)first_loss_step) {
                    dys[t][o] = 0;
                    continue;
                }
                dys[t][o] = loss_term_v(&loss, &seen, y_o, gather_v(target_win, t * NO + o)) * valid;
            }
        }
        vstore_lanes(window_loss_value_v(loss, seen), tile, window_loss);

        /* BPTT, as rnn_layer_backward_cpu: g_t = (dy_t W_o^T + g_{t+1} W_h^T)
         * (1 - h_t^2), and the gradient sums of step t. */
        realv g_next[NH];
        RNN_LOOP_HINT
        for (int j = 0; j < NH; j++)
            g_next[j] = 0;
        TIME_LOOP_HINT
        for (int t = NT - 1; t >= 0; t--) {
            RNN_LOOP_HINT
            for (int j = 0; j < NH; j++)
                axpy_vv(dW_o + j * NO, hs[t][j], dys[t], NO);
            RNN_LOOP_HINT
            for (int o = 0; o < NO; o++)
                db_o[o] += dys[t][o];
            realv g[NH];
            RNN_LOOP_HINT
            for (int j = 0; j < NH; j++) /* d_j: row j of W_o and of W_h */
                g[j] = bptt_value_v(dot_vp(dys[t], W_o + j * NO, 1, NO),
                                    dot_vp(g_next, W_h + j * NH, 1, NH), hs[t][j]);
            if (t > 0 || has_h0)
                RNN_LOOP_HINT
                for (int k = 0; k < NH; k++)
                    axpy_vv(dW_h + k * NH, t > 0 ? hs[t - 1][k] : hs0[k], g, NH);
            RNN_LOOP_HINT
            for (int i = 0; i < NI; i++)
                axpy_vv(dW_i + i * NH, xs[t][i], g, NH);
            RNN_LOOP_HINT
            for (int j = 0; j < NH; j++) {
                db_i[j] += g[j];
                g_next[j] = g[j];
            }
        }
    }

    __global real *out = partial + chunk * NP;
    TIME_LOOP_HINT
    for (int q = 0; q < NP; q++) {
        real lane[LANES];
        vstore_lanes(grad[q], 0, lane);
        real sum = lane[0];
        RNN_LOOP_HINT
        for (int w = 1; w < LANES; w++)
            sum += lane[w];
        out[q] = sum;
    }
}

/* The finishing step of a batch on its own, in place (params_in and
 * params_out, ... the same buffers): work-item q writes parameter q's
 * gradient, value and state; work-item 0 also adds the batch's window
 * losses to loss_sum. Mirrors the batch mean that backend_cpu.c takes of
 * rnn_layer_backward_cpu's sums, then sgd_update_cpu or adam_update_cpu
 * (kind 0: no step; with clipping the host runs clip and update kernels). */
__kernel void fused_finish(FINISH_ARGS)
{
    const size_t q = get_global_id(0);
    if (q == 0)
        add_batch_loss(loss_sum, window_loss_done, B_done);
    if (q >= NP)
        return;
    const optimizer_args opt = OPTIMIZER_ARGS;
    real g, m, v;
    const real w = finish_value(q, partial_done, n_chunks_done, B_done, params_in, opt_m_in,
                                opt_v_in, opt, &g, &m, &v);
    grads[q] = g;
    params_out[q] = w;
    opt_m_out[q] = m;
    opt_v_out[q] = v;
}

/* ------------------------------------------------------------ model groups
 *
 * A group of M models of the layer's shape (clrnn_backend_config.n_models),
 * the model the launch's second dimension: model k's parameters at k
 * -DSTRIDE_P, its chunk sums and window losses at k times their strides
 * (arguments), its windows at order[k order_stride + starts_offset ..], its
 * row in active (common/group.cl: GROUP_ARGS; active 0: the model sits this
 * batch out). Each model's work is exactly its own batch's alone
 * (fused_chunk), so each model gets the bits it gets alone. No deferred
 * step: rnn_fused_models, then the shared group_finish_models (the mean
 * gradient and the loss) and the group's step (common/group.cl).
 */
#ifndef STRIDE_P
#define STRIDE_P NP
#endif

/* Work-item (c, k): chunk c of model k's batch, as rnn_fused without apply
 * (and without h and y: a group's batch keeps no activations). */
__kernel void rnn_fused_models(__global real *partial, /* (M, stride_partial) out */
                               __global real *window_loss, /* (M, stride_window) out */
                               __global const real *x, __global const real *targets,
                               __global const uint *order, /* (M, order_stride) */
                               const uint order_stride, const uint starts_offset, const uint B,
                               const uint first_loss_step, __global const real *params,
                               __global const real *active, const uint stride_partial,
                               const uint stride_window)
{
    const size_t k = get_global_id(1), chunk = get_global_id(0);
    const size_t n_tiles = (B + LANES - 1) / LANES;
    if (chunk * TILES >= n_tiles || active[k * GROUP_ARGS + 9] == 0)
        return;
    real wp[NP];
    for (int q = 0; q < NP; q++)
        wp[q] = params[k * STRIDE_P + q];
    fused_chunk(partial + k * stride_partial, 0, 0, window_loss + k * stride_window, x, targets,
                order + k * order_stride + starts_offset, B, first_loss_step, chunk, wp, 0, 0, 0);
}
