/*
 * The "gpu" kernel family: a work-group owns a tile of WT windows for all
 * T steps, the layer's sizes and the family's tunables fixed at build time
 * (host/opencl/family_gpu.c chooses them from the device). A batch is, per
 * layer, rnn_forward_gpu (the top one with the loss and dy), then from the
 * top rnn_backward_gpu (the top one adds the loss up) and grad_gpu, then
 * grad_finish where a batch is more than one grad_gpu group. The maths of a step is
 * layer.cl's; every sum runs in the CPU reference's order. The *_models
 * kernels (at the end) run the same tiles for every model of a group.
 *
 * Build-time sizes: NI, NH, NO, NT (the layer, T), TOP_LAYER;
 *   LOCAL  work-items of a forward or backward work-group, NUH x NUW:
 *          work-item lid computes hidden units uh + r NUH (r < RH) of
 *          windows uw + s NUW (s < RW), uh = lid % NUH, uw = lid / NUH,
 *          a register block of RH x RW values; WT = RW NUW windows a group
 *   WROWS  rows of W_h (forward) or W_h^T (backward) held in local memory
 *          at once: NH when the weights stay there for all T steps
 *          (WLOCAL 1), else fewer, streamed through in tiles every step
 *   GLOCAL work-items of a grad_gpu group, GPER parameters each, GTS steps
 *          of a window staged in local memory at once, GCW windows a group
 *          (a multiple of CHUNK, the windows of a chunk of the sums).
 *
 * Local memory holds the weights, the tile's h_{t-1} and h_t (forward) or
 * g_{t+1} and g_t (BPTT), its x_t or dy_t, and its start rows; global
 * memory sees each activation once a kernel: x and the targets read, h, y,
 * dy, g written in the forward and BPTT, read once by grad_gpu.
 *
 * Windows past the batch's end (the last tile's padding) compute on window
 * B-1 and write nothing.
 */
#if !defined(NI) || !defined(NH) || !defined(NO) || !defined(NT)
#error "rnn_gpu.cl needs -DNI -DNH -DNO -DNT"
#endif
#if !defined(LOCAL) || !defined(NUH) || !defined(RW) || !defined(RH) || !defined(WROWS)
#error "rnn_gpu.cl needs -DLOCAL -DNUH -DRW -DRH -DWROWS"
#endif
#if !defined(GLOCAL) || !defined(GPER) || !defined(GTS) || !defined(GCW) || !defined(CHUNK)
#error "rnn_gpu.cl needs -DGLOCAL -DGPER -DGTS -DGCW -DCHUNK"
#endif
#if GCW % CHUNK != 0
#error "GCW must be a multiple of CHUNK"
#endif
#ifndef TOP_LAYER
#define TOP_LAYER 0
#endif
#ifndef MODELS
#define MODELS 0 /* 1: the *_models kernels (a group's), not the one model's */
#endif
#define NUW (LOCAL / NUH)
#define WT (RW * NUW)
#define WLOCAL (WROWS >= NH)

/* The layer's offsets in its block (layer.cl), at the build-time sizes. */
#define AT_W_I LAYER_W_I(NI, NH, NO)
#define AT_W_H LAYER_W_H(NI, NH, NO)
#define AT_W_O LAYER_W_O(NI, NH, NO)
#define AT_B_O LAYER_B_O(NI, NH, NO)
#define AT_B_I LAYER_B_I(NI, NH, NO)
#define N_LAYER LAYER_N_PARAMS(NI, NH, NO)

/* layer.cl's dot with both operands in local memory. */
RNN_DOT(_ll, real, __local, __local)

/* dst[q] = src[q], q < n, the group's work-items sharing it out. */
void copy_to_local(__local real *dst, __global const real *src, const uint n);
void copy_to_local(__local real *dst, __global const real *src, const uint n)
{
    for (uint q = get_local_id(0); q < n; q += LOCAL)
        dst[q] = src[q];
}

/* The unit of register row r of work-item uh, clamped into the layer: past
 * NH a work-item computes a copy of the last unit and writes nothing. */
#define UNIT(uh, r) min((uint)((uh) + (r) * NUH), (uint)(NH - 1))

/* x_t of the group's windows into x_tile (WT,I) (layer 0: rows of the
 * table from each window's start row). */
void load_inputs(__local real *x_tile, __global const real *x, __local const uint *start,
                 const size_t first, const uint B, const int t, const uint x_is_table);
void load_inputs(__local real *x_tile, __global const real *x, __local const uint *start,
                 const size_t first, const uint B, const int t, const uint x_is_table)
{
    for (uint q = get_local_id(0); q < WT * NI; q += LOCAL) {
        const uint w = q / NI, i = q % NI;
        const size_t b = min(first + w, (size_t)B - 1);
        x_tile[q] = x_is_table ? x[((size_t)start[w] + t) * NI + i] : x[(b * NT + t) * NI + i];
    }
}

/* rnn_forward_gpu's local memory. */
typedef struct forward_local {
    real w_i[NI * NH], b_i[NH], w_o[NH * NO], b_o[NO]; /* the layer's weights */
    real w_h[WROWS * NH]; /* rows kt .. kt+WROWS-1 of W_h (all of it: WLOCAL) */
    real h_buf[WT * NH];  /* (WT,H): h_{t-1}, then h_t */
    real x_tile[WT * NI]; /* (WT,I): x_t */
    real loss[WT];        /* the windows' loss sums (top layer) */
    real seen[WT];        /* the windows' observed loss cells (top layer) */
    uint start[WT];       /* the windows' start rows */
} forward_local;

/* Mirrors rnn_layer_forward_cpu for a work-group's WT windows, all T steps;
 * in the top layer also mse_forward_cpu (the loss and dy). Two barriers a
 * step: the sums of h_t (from h_buf = h_{t-1} and x_tile = x_t) in
 * registers | h_buf <- h_t, x_tile <- x_{t+1} | the outputs from h_buf.
 * One model's buffers (rnn_forward_gpu, rnn_forward_gpu_models). */
void forward_tile(__local forward_local *mem, __global real *y, __global real *h,
                  __global real *window_loss, __global real *dy, __global const real *x,
                  __global const real *targets, __global const uint *starts,
                  __global const real *layer, const uint x_is_table, const uint B,
                  const uint first_loss_step, __global const real *h0, const uint has_h0);
void forward_tile(__local forward_local *mem, __global real *y, __global real *h,
                  __global real *window_loss, __global real *dy, __global const real *x,
                  __global const real *targets, __global const uint *starts,
                  __global const real *layer, const uint x_is_table, const uint B,
                  const uint first_loss_step, __global const real *h0, const uint has_h0)
{
    __local real *w_i = mem->w_i, *b_i = mem->b_i, *w_o = mem->w_o, *b_o = mem->b_o;
    __local real *w_h = mem->w_h, *h_buf = mem->h_buf, *x_tile = mem->x_tile;
    __local real *loss = mem->loss, *seen = mem->seen;
    __local uint *start = mem->start;
    const layer_params p = point_layer(layer, NI, NH, NO);
    const uint lid = get_local_id(0), uh = lid % NUH, uw = lid / NUH;
    const size_t first = get_group_id(0) * (size_t)WT;
    copy_to_local(w_i, p.W_i, NI * NH);
    copy_to_local(b_i, p.b_i, NH);
    copy_to_local(w_o, p.W_o, NH * NO);
    copy_to_local(b_o, p.b_o, NO);
    if (WLOCAL)
        copy_to_local(w_h, p.W_h, NH * NH);
    for (uint w = lid; w < WT; w += LOCAL) {
        start[w] = starts[min(first + w, (size_t)B - 1)];
        loss[w] = seen[w] = 0;
    }
    if (has_h0) /* h_{-1} = h0 */
        for (uint q = lid; q < WT * NH; q += LOCAL)
            h_buf[q] = h0[min(first + q / NH, (size_t)B - 1) * NH + q % NH];
    barrier(CLK_LOCAL_MEM_FENCE); /* the start rows (and h0) in place */
    load_inputs(x_tile, x, start, first, B, 0, x_is_table);
    barrier(CLK_LOCAL_MEM_FENCE); /* x_0 and the weights in place */
    for (int t = 0; t < NT; t++) {
        real from_input[RW][RH], from_hidden[RW][RH];
        for (int s = 0; s < RW; s++)
            for (int r = 0; r < RH; r++)
                from_input[s][r] = from_hidden[s][r] = 0;
        for (int i = 0; i < NI; i++)
            for (int s = 0; s < RW; s++) {
                const real xv = x_tile[(uw + s * NUW) * NI + i];
                for (int r = 0; r < RH; r++)
                    from_input[s][r] += xv * w_i[i * NH + UNIT(uh, r)];
            }
        if (t > 0 || has_h0)
            for (int kt = 0; kt < NH; kt += WROWS) {
                const int rows = min(WROWS, NH - kt);
                if (!WLOCAL) { /* the next tile of rows of W_h */
                    barrier(CLK_LOCAL_MEM_FENCE);
                    copy_to_local(w_h, p.W_h + kt * NH, rows * NH);
                    barrier(CLK_LOCAL_MEM_FENCE);
                }
                for (int k = 0; k < rows; k++) {
                    real hv[RW];
                    for (int s = 0; s < RW; s++)
                        hv[s] = h_buf[(uw + s * NUW) * NH + kt + k];
                    for (int r = 0; r < RH; r++) {
                        const real wv = w_h[k * NH + UNIT(uh, r)];
                        for (int s = 0; s < RW; s++)
                            from_hidden[s][r] += hv[s] * wv;
                    }
                }
            }
        /* every read of h_{t-1} and x_t done */
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int s = 0; s < RW; s++) {
            const uint w = uw + s * NUW;
            for (int r = 0; r < RH; r++) {
                const uint j = uh + r * NUH;
                if (j >= NH)
                    continue;
                const real v = hidden_value(from_input[s][r], from_hidden[s][r], b_i[j]);
                h_buf[w * NH + j] = v;
                if (first + w < B)
                    h[((first + w) * NT + t) * NH + j] = v;
            }
        }
        if (t + 1 < NT)
            load_inputs(x_tile, x, start, first, B, t + 1, x_is_table);
        /* h_t and x_{t+1} complete; the next writes come after the next
         * step's first barrier, so after the outputs' reads below */
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint w = lid; w < WT; w += LOCAL) { /* a window's outputs, always the same work-item */
            const size_t b = first + w;
            real window = loss[w], observed = seen[w];
            for (int o = 0; o < NO; o++) {
                const real y_o = output_value_ll(h_buf + w * NH, w_o, b_o, o, NH, NO);
                const size_t at = (min(b, (size_t)B - 1) * NT + t) * NO + o;
                real dy_o = 0;
                if (TOP_LAYER && t >= (int)first_loss_step)
                    dy_o = loss_term(&window, &observed, y_o,
                                     targets[((size_t)start[w] + t) * NO + o]);
                if (b < B) {
                    y[at] = y_o;
                    if (TOP_LAYER)
                        dy[at] = dy_o;
                }
            }
            loss[w] = window;
            seen[w] = observed;
        }
    }
    /* PoCL 3.1 fails to build this kernel at some sizes (T = 2) without a
     * barrier here (its parallel regions); it costs nothing elsewhere */
    barrier(CLK_LOCAL_MEM_FENCE);
    if (TOP_LAYER)
        for (uint w = lid; w < WT; w += LOCAL)
            if (first + w < B)
                window_loss[first + w] = window_loss_value(loss[w], seen[w]);
}

#if !MODELS
/* The forward of one layer for a batch's tiles of WT windows (a work-group
 * a tile; forward_tile). */
__kernel void rnn_forward_gpu(__global real *y,              /* (B,T,O) out */
                              __global real *h,              /* (B,T,H) out */
                              __global real *window_loss,    /* (B) out, top layer */
                              __global real *dy,             /* (B,T,O) out, top layer */
                              __global const real *x,        /* (R,I) table or (B,T,I) */
                              __global const real *targets,  /* (R,O) table, top layer */
                              __global const uint *order,    /* window start rows */
                              const uint starts_offset,      /* the batch: order[starts_offset ..] */
                              __global const real *params,   /* (P) all layers */
                              const uint param_offset, const uint x_is_table, const uint B,
                              const uint first_loss_step,
                              __global const real *h0, /* (B,H) initial states, when has_h0 */
                              const uint has_h0)
{
    __local forward_local mem;
    forward_tile(&mem, y, h, window_loss, dy, x, targets, order + starts_offset,
                 params + param_offset, x_is_table, B, first_loss_step, h0, has_h0);
}
#endif

/* dy_t of the group's windows into dy_tile (WT,O). */
void load_output_grads(__local real *dy_tile, __global const real *dy, const size_t first,
                       const uint B, const int t);
void load_output_grads(__local real *dy_tile, __global const real *dy, const size_t first,
                       const uint B, const int t)
{
    for (uint q = get_local_id(0); q < WT * NO; q += LOCAL) {
        const size_t b = min(first + q / NO, (size_t)B - 1);
        dy_tile[q] = dy[(b * NT + t) * NO + q % NO];
    }
}

/* rnn_backward_gpu's local memory. */
typedef struct backward_local {
    real w_i[NI * NH];     /* W_i (I,H), for dx */
    real w_ot[NO * NH];    /* W_o^T (O,H) */
    real w_ht[WROWS * NH]; /* rows kt .. of W_h^T: w_ht[k][j] = W_h[j][kt + k] */
    real g_buf[WT * NH];   /* (WT,H): g_{t+1}, then g_t */
    real dy_tile[WT * NO]; /* (WT,O): dy_t */
} backward_local;

/* Mirrors the time loop of rnn_layer_backward_cpu for a work-group's WT
 * windows: g (B,T,H) and dx. In the top layer, where add_loss, work-item 0
 * first adds the window losses to loss_sum (add_batch_loss, as
 * loss_accumulate does). Two barriers a step, as in the forward: the sums
 * of g_t (from g_buf = g_{t+1} and dy_tile = dy_t) | g_buf <- g_t, dy_tile
 * <- dy_{t-1} | dx. One model's buffers (rnn_backward_gpu,
 * rnn_backward_gpu_models). */
void backward_tile(__local backward_local *mem, __global real *g, __global real *dx,
                   __global real *loss_sum, __global const real *window_loss,
                   __global const real *dy, __global const real *h, __global const real *layer,
                   const uint want_dx, const uint B, const uint add_loss);
void backward_tile(__local backward_local *mem, __global real *g, __global real *dx,
                   __global real *loss_sum, __global const real *window_loss,
                   __global const real *dy, __global const real *h, __global const real *layer,
                   const uint want_dx, const uint B, const uint add_loss)
{
    if (TOP_LAYER && add_loss && get_global_id(0) == 0)
        add_batch_loss(loss_sum, window_loss, B);
    __local real *w_i = mem->w_i, *w_ot = mem->w_ot, *w_ht = mem->w_ht;
    __local real *g_buf = mem->g_buf, *dy_tile = mem->dy_tile;
    const layer_params p = point_layer(layer, NI, NH, NO);
    const uint lid = get_local_id(0), uh = lid % NUH, uw = lid / NUH;
    const size_t first = get_group_id(0) * (size_t)WT;
    if (want_dx)
        copy_to_local(w_i, p.W_i, NI * NH);
    for (uint q = lid; q < NO * NH; q += LOCAL)
        w_ot[q] = p.W_o[(q % NH) * NO + q / NH];
    if (WLOCAL)
        for (uint q = lid; q < NH * NH; q += LOCAL)
            w_ht[q] = p.W_h[(q % NH) * NH + q / NH];
    load_output_grads(dy_tile, dy, first, B, NT - 1);
    barrier(CLK_LOCAL_MEM_FENCE); /* dy_{T-1} and the weights in place */
    for (int s = 0; s < NT; s++) {
        const int t = NT - 1 - s;
        real from_output[RW][RH], from_next[RW][RH];
        for (int u = 0; u < RW; u++)
            for (int r = 0; r < RH; r++)
                from_output[u][r] = from_next[u][r] = 0;
        for (int o = 0; o < NO; o++)
            for (int u = 0; u < RW; u++) {
                const real dv = dy_tile[(uw + u * NUW) * NO + o];
                for (int r = 0; r < RH; r++)
                    from_output[u][r] += dv * w_ot[o * NH + UNIT(uh, r)];
            }
        if (s > 0) /* g_T = 0 */
            for (int kt = 0; kt < NH; kt += WROWS) {
                const int rows = min(WROWS, NH - kt);
                if (!WLOCAL) { /* the next tile of rows of W_h^T */
                    barrier(CLK_LOCAL_MEM_FENCE);
                    for (uint q = lid; q < rows * NH; q += LOCAL)
                        w_ht[q] = p.W_h[(q % NH) * NH + kt + q / NH];
                    barrier(CLK_LOCAL_MEM_FENCE);
                }
                for (int k = 0; k < rows; k++) {
                    real gv[RW];
                    for (int u = 0; u < RW; u++)
                        gv[u] = g_buf[(uw + u * NUW) * NH + kt + k];
                    for (int r = 0; r < RH; r++) {
                        const real wv = w_ht[k * NH + UNIT(uh, r)];
                        for (int u = 0; u < RW; u++)
                            from_next[u][r] += gv[u] * wv;
                    }
                }
            }
        /* every read of g_{t+1} and dy_t done */
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int u = 0; u < RW; u++) {
            const uint w = uw + u * NUW;
            const size_t b = min(first + w, (size_t)B - 1);
            for (int r = 0; r < RH; r++) {
                const uint j = uh + r * NUH;
                if (j >= NH)
                    continue;
                const real v =
                    bptt_value(from_output[u][r], from_next[u][r], h[(b * NT + t) * NH + j]);
                g_buf[w * NH + j] = v;
                if (first + w < B)
                    g[(b * NT + t) * NH + j] = v;
            }
        }
        if (t > 0)
            load_output_grads(dy_tile, dy, first, B, t - 1);
        /* g_t and dy_{t-1} complete */
        barrier(CLK_LOCAL_MEM_FENCE);
        if (want_dx) /* dx_t[i] = sum_j W_i[i][j] g_t[j], j in order */
            for (uint q = lid; q < WT * NI; q += LOCAL) {
                const uint w = q / NI, i = q % NI;
                if (first + w < B)
                    dx[((first + w) * NT + t) * NI + i] = dot_ll(w_i + i * NH, g_buf + w * NH, 1, NH);
            }
    }
}

#if !MODELS
/* The BPTT of one layer for a batch's tiles (backward_tile), the top
 * layer adding the batch's loss. */
__kernel void rnn_backward_gpu(__global real *g,                 /* (B,T,H) out */
                               __global real *dx,                /* (B,T,I) out when want_dx */
                               __global real *loss_sum,          /* (2) in/out, top layer */
                               __global const real *window_loss, /* (B), top layer */
                               __global const real *dy,          /* (B,T,O) */
                               __global const real *h,           /* (B,T,H) */
                               __global const real *params,      /* (P) all layers */
                               const uint param_offset, const uint want_dx, const uint B)
{
    __local backward_local mem;
    backward_tile(&mem, g, dx, loss_sum, window_loss, dy, h, params + param_offset, want_dx, B, 1);
}
#endif

/*
 * The weight gradients of one layer over a chunk of GCW windows, as one
 * product over windows x steps: with the row of window b at step t
 *   R = [x_t (I) | h_t (H) | g_t (H) | dy_t (O) | 1]
 * every parameter is a sum over (b, t) of a product of two entries of R
 * (h_{t-1} from the row of step t-1):
 *   dW_i[i][j] = x_t[i] g_t[j]    dW_h[k][j] = h_{t-1}[k] g_t[j]   db_i[j] = 1 g_t[j]
 *   dW_o[j][o] = h_t[j] dy_t[o]   db_o[o]    = 1 dy_t[o]
 * Work-group (e, c) stages GTS steps of a window's rows at a time in local
 * memory, one load of each value, and its work-items sum GPER parameters
 * each (parameters e GLOCAL GPER + n GLOCAL + lid), every one in a fixed
 * order, rnn_layer_backward_cpu's: windows in order, each window's steps in
 * reverse time (no atomics: reruns give identical bits). h_{-1} = 0 adds
 * exact zeros (h0 with has_h0). A group's GCW windows are GCW / CHUNK chunks of the batch
 * (CHUNK: the runtime's WINDOWS_PER_CHUNK), each summed from 0, so that the
 * sums are those of the batch's chunks whatever GCW is (and a rank's share
 * of a batch under MPI, whole chunks, sums to the same bits). Where one
 * group holds the whole batch (finish) it adds its chunks' sums in order
 * and writes the batch mean, grad_finish's arithmetic without its traffic;
 * else each chunk's sums are a row of partial, and grad_finish (reduce.cl)
 * adds them in order.
 */
#define RS (NI + 2 * NH + NO + 1)
#define R_X 0
#define R_H NI
#define R_G (NI + NH)
#define R_DY (NI + 2 * NH)
#define R_ONE (RS - 1)

/* grad_gpu's local memory. */
typedef struct grad_local {
    real rows[(GTS + 1) * RS]; /* slot 0: h_{t_lo-1}; slot 1 + t - t_lo: step t */
    uint start[GCW];
} grad_local;

/* One model's chunk sums (or mean: finish) of a layer (grad_gpu,
 * grad_gpu_models); out is partial, or grads, at the layer's offset. */
void grad_tile(__local grad_local *mem, __global real *out, __global const real *g,
               __global const real *h, __global const real *dy, __global const real *x,
               __global const uint *starts, const uint x_is_table, const uint B, const uint P,
               const uint finish, __global const real *h0, const uint has_h0);
void grad_tile(__local grad_local *mem, __global real *out, __global const real *g,
               __global const real *h, __global const real *dy, __global const real *x,
               __global const uint *starts, const uint x_is_table, const uint B, const uint P,
               const uint finish, __global const real *h0, const uint has_h0)
{
    __local real *rows = mem->rows;
    __local uint *start = mem->start;
    const uint lid = get_local_id(0);
    const size_t c = get_group_id(1);
    const size_t b_begin = c * GCW, b_end = min((size_t)B, b_begin + GCW);
    for (uint w = lid; w < GCW; w += GLOCAL)
        start[w] = starts[min(b_begin + w, (size_t)B - 1)];
    /* Each parameter's two entries of R, relative to its step's slot. */
    int left[GPER], right[GPER];
    real acc[GPER], total[GPER];
    #pragma unroll
    for (int n = 0; n < GPER; n++) {
        const uint e = get_group_id(0) * (GLOCAL * GPER) + n * GLOCAL + lid;
        acc[n] = total[n] = 0;
        if (e < AT_W_H) { /* W_i */
            left[n] = R_X + e / NH;
            right[n] = R_G + e % NH;
        } else if (e < AT_W_O) { /* W_h: h_{t-1} from the slot before */
            left[n] = R_H + (e - AT_W_H) / NH - RS;
            right[n] = R_G + (e - AT_W_H) % NH;
        } else if (e < AT_B_O) { /* W_o */
            left[n] = R_H + (e - AT_W_O) / NO;
            right[n] = R_DY + (e - AT_W_O) % NO;
        } else if (e < AT_B_I) { /* b_o */
            left[n] = R_ONE;
            right[n] = R_DY + (e - AT_B_O);
        } else { /* b_i, and past the block a copy of its last */
            left[n] = R_ONE;
            right[n] = R_G + min(e - AT_B_I, (uint)(NH - 1));
        }
    }
    for (size_t b = b_begin; b < b_end; b++) {
        const uint w = b - b_begin;
        for (int t_hi = NT; t_hi > 0; t_hi -= GTS) {
            const int t_lo = max(t_hi - GTS, 0);
            /* the last tile's sums done */
            barrier(CLK_LOCAL_MEM_FENCE);
            for (uint q = lid; q < (uint)(t_hi - t_lo + 1) * RS; q += GLOCAL) {
                const int slot = q / RS, col = q % RS, t = t_lo - 1 + slot;
                real v = 0;
                if (col >= R_H && col < R_G) {
                    if (t >= 0)
                        v = h[(b * NT + t) * NH + col - R_H];
                    else if (has_h0) /* h_{-1} = h0 */
                        v = h0[b * NH + col - R_H];
                } else if (slot == 0) {
                    continue; /* slot 0 holds h alone */
                } else if (col < R_H) {
                    v = x_is_table ? x[((size_t)start[w] + t) * NI + col]
                                   : x[(b * NT + t) * NI + col];
                } else if (col < R_DY) {
                    v = g[(b * NT + t) * NH + col - R_G];
                } else if (col < R_ONE) {
                    v = dy[(b * NT + t) * NO + col - R_DY];
                } else {
                    v = 1;
                }
                rows[q] = v;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int t = t_hi - 1; t >= t_lo; t--) {
                __local const real *row = rows + (t - t_lo + 1) * RS;
                #pragma unroll
                for (int n = 0; n < GPER; n++)
                    acc[n] += row[left[n]] * row[right[n]];
            }
        }
        if ((b + 1) % CHUNK != 0 && b + 1 < b_end)
            continue;
        /* the end of chunk b / CHUNK: its sums out (or to the total), the
         * next from 0 */
        __global real *chunk = out + (b / CHUNK) * P;
        #pragma unroll
        for (int n = 0; n < GPER; n++) {
            const uint e = get_group_id(0) * (GLOCAL * GPER) + n * GLOCAL + lid;
            if (finish)
                total[n] += acc[n];
            else if (e < N_LAYER)
                chunk[e] = acc[n];
            acc[n] = 0;
        }
    }
    #pragma unroll
    for (int n = 0; n < GPER; n++) {
        const uint e = get_group_id(0) * (GLOCAL * GPER) + n * GLOCAL + lid;
        if (finish && e < N_LAYER)
            out[e] = total[n] / (real)B;
    }
}

#if !MODELS
/* A layer's weight gradients over a batch: work-group (e, c) sums GLOCAL
 * GPER parameters over the GCW windows from c GCW (grad_tile). */
__kernel void grad_gpu(__global real *partial,     /* (chunks_of(B), P), or grads (P) */
                       __global const real *g,     /* (B,T,H) */
                       __global const real *h,     /* (B,T,H) */
                       __global const real *dy,    /* (B,T,O) */
                       __global const real *x,     /* (R,I) table or (B,T,I) */
                       __global const uint *order, /* window start rows */
                       const uint starts_offset,   /* the batch: order[starts_offset ..] */
                       const uint x_is_table, const uint B, const uint P,
                       const uint param_offset, const uint finish,
                       __global const real *h0, /* (B,H) initial states, when has_h0 */
                       const uint has_h0)
{
    __local grad_local mem;
    grad_tile(&mem, partial + param_offset, g, h, dy, x, order + starts_offset, x_is_table, B, P,
              finish, h0, has_h0);
}
#endif

/*
 * A group of M models of the layer's shape (clrnn_backend_config.n_models,
 * runtime.h: ocl_group), built with -DMODELS=1 (a program without the
 * kernels above), the model k the launch's last dimension (work-group
 * shape and local memory as one model's): model k's parameters at k
 * stride_p, its windows at order[k order_stride + starts_offset ..], its
 * window losses at k stride_window, its loss sum at k stride_loss, its
 * chunk sums at k stride_out (or its gradient: finish), and its
 * activations, each a slice of model_windows windows (the family's
 * buffers, (M, model_windows, T, N)); the table is every model's. A model
 * whose row of active (common.cl: GROUP_ARGS reals, [9]) is 0 does nothing: its
 * work-groups return before any barrier. Each model runs the tiles above,
 * so it gets the bits it gets alone.
 */
#if MODELS
__kernel void rnn_forward_gpu_models(__global real *y, __global real *h, __global real *window_loss,
                                     __global real *dy, __global const real *x,
                                     __global const real *targets, __global const uint *order,
                                     const uint order_stride, const uint starts_offset,
                                     __global const real *params, const uint stride_p,
                                     const uint param_offset, const uint x_is_table, const uint B,
                                     const uint first_loss_step, __global const real *active,
                                     const uint model_windows, const uint stride_window)
{
    __local forward_local mem;
    const size_t k = get_group_id(1), steps = (size_t)model_windows * NT;
    if (active[k * GROUP_ARGS + 9] == 0)
        return;
    forward_tile(&mem, y + k * steps * NO, h + k * steps * NH, window_loss + k * stride_window,
                 dy + k * steps * NO, x_is_table ? x : x + k * steps * NI, targets,
                 order + k * order_stride + starts_offset, params + k * stride_p + param_offset,
                 x_is_table, B, first_loss_step, h, 0);
}

__kernel void rnn_backward_gpu_models(__global real *g, __global real *dx, __global real *loss_sum,
                                      __global const real *window_loss, __global const real *dy,
                                      __global const real *h, __global const real *params,
                                      const uint stride_p, const uint param_offset,
                                      const uint want_dx, const uint B, const uint add_loss,
                                      __global const real *active, const uint model_windows,
                                      const uint stride_window, const uint stride_loss)
{
    __local backward_local mem;
    const size_t k = get_group_id(1), steps = (size_t)model_windows * NT;
    if (active[k * GROUP_ARGS + 9] == 0)
        return;
    backward_tile(&mem, g + k * steps * NH, want_dx ? dx + k * steps * NI : dx,
                  loss_sum + k * stride_loss, window_loss + k * stride_window, dy + k * steps * NO,
                  h + k * steps * NH, params + k * stride_p + param_offset, want_dx, B, add_loss);
}

__kernel void grad_gpu_models(__global real *partial, __global const real *g,
                              __global const real *h, __global const real *dy,
                              __global const real *x, __global const uint *order,
                              const uint order_stride, const uint starts_offset,
                              const uint x_is_table, const uint B, const uint P,
                              const uint param_offset, const uint finish, const uint stride_out,
                              __global const real *active, const uint model_windows)
{
    __local grad_local mem;
    const size_t k = get_group_id(2), steps = (size_t)model_windows * NT;
    if (active[k * GROUP_ARGS + 9] == 0)
        return;
    grad_tile(&mem, partial + k * stride_out + param_offset, g + k * steps * NH, h + k * steps * NH,
              dy + k * steps * NO, x_is_table ? x : x + k * steps * NI,
              order + k * order_stride + starts_offset, x_is_table, B, P, finish, h, 0);
}
#endif
