/*
 * Forward pass of one layer over a batch: all T steps of all B windows in one
 * launch. Mirrors rnn_layer_forward_cpu (host/reference/rnn_cpu.c), summing in the same
 * order: z_j = (sum_i x_i W_i[i,j] + sum_k h_prev[k] W_h[k,j]) + b_i[j]
 * (dot, hidden_value, output_value: layer.cl).
 *
 * One work-group per window (group b = window b); work-item j of a group of
 * size S computes hidden units j, j+S, ... The group keeps h_{t-1} and h_t
 * in local memory (alternating halves of h_buf), so the recurrence never
 * leaves the compute unit.
 *
 * Layer 0 reads its inputs straight from the staged table (x_is_table): row
 * starts[b] + t of x (R,I). Higher layers read the layer below's y (B,T,I).
 * With has_h0, window b starts from h_{-1} = h0[b] instead of 0 (carried
 * state, state.cl).
 */
void forward_window(__global real *y, __global real *h, __global const real *x,
                    __global const uint *starts, __global const real *layer, const uint x_is_table,
                    const uint T, const uint I, const uint H, const uint O, __local real *h_buf,
                    __global const real *h0, const uint has_h0);
void forward_window(__global real *y, __global real *h, __global const real *x,
                    __global const uint *starts, __global const real *layer, const uint x_is_table,
                    const uint T, const uint I, const uint H, const uint O, __local real *h_buf,
                    __global const real *h0, const uint has_h0)
{
    const size_t b = get_group_id(0), lid = get_local_id(0), lsz = get_local_size(0);
    const layer_params p = point_layer(layer, I, H, O);
    __global const real *x_win = x_is_table ? x + (size_t)starts[b] * I : x + b * T * I;
    for (uint t = 0; t < T; t++) {
        __local const real *h_prev = h_buf + ((t + 1) & 1) * H;
        __local real *h_cur = h_buf + (t & 1) * H;
        __global const real *x_t = x_win + (size_t)t * I; /* (I) */
        for (size_t j = lid; j < H; j += lsz) { /* z_j: column j of W_i and of W_h */
            const real from_input = dot_gg(x_t, p.W_i + j, H, I);
            const real from_hidden = t > 0    ? dot_lg(h_prev, p.W_h + j, H, H)
                                     : has_h0 ? dot_gg(h0 + b * H, p.W_h + j, H, H)
                                              : 0;
            const real v = hidden_value(from_input, from_hidden, p.b_i[j]);
            h_cur[j] = v;
            h[(b * T + t) * H + j] = v;
        }
        /* h_t complete. One barrier a step suffices: h_t's half of h_buf is
         * next written at step t+2, which no work-item reaches before all
         * have passed step t+1's barrier, so after their reads of h_t here. */
        barrier(CLK_LOCAL_MEM_FENCE);
        for (size_t o = lid; o < O; o += lsz)
            y[(b * T + t) * O + o] = output_value_lg(h_cur, p.W_o, p.b_o, o, H, O);
    }
}

__kernel void rnn_forward(__global real *y,            /* (B,T,O) out */
                          __global real *h,            /* (B,T,H) out, kept for backward */
                          __global const real *x,      /* (R,I) table or (B,T,I) */
                          __global const uint *order, /* window start rows */
                          const uint starts_offset, /* the batch: order[starts_offset ..] */
                          __global const real *params, /* (P) all layers */
                          const uint param_offset,     /* where this layer's block starts */
                          const uint x_is_table, const uint T, const uint I, const uint H,
                          const uint O,
                          __local real *h_buf,         /* (2,H): h_{t-1}, h_t alternately */
                          __global const real *h0,     /* (B,H) initial states, when has_h0 */
                          const uint has_h0)
{
    forward_window(y, h, x, order + starts_offset, params + param_offset, x_is_table, T, I, H, O,
                   h_buf, h0, has_h0);
}

/* The same for every model of a group (runtime.h: ocl_group), the model k
 * the second dimension: model k's parameters at k stride_p, its windows
 * at order[k order_stride + starts_offset ..], its h, y and input (above
 * layer 0) slices of model_windows windows (ocl_group_activations); a
 * model whose row of active (common.cl: GROUP_ARGS) is 0 does nothing. */
__kernel void rnn_forward_models(__global real *y, __global real *h, __global const real *x,
                                 __global const uint *order, const uint order_stride,
                                 const uint starts_offset, __global const real *params,
                                 const uint stride_p, const uint param_offset,
                                 const uint x_is_table, const uint T, const uint I, const uint H,
                                 const uint O, __local real *h_buf, __global const real *active,
                                 const uint model_windows)
{
    const size_t k = get_group_id(1), steps = (size_t)model_windows * T;
    if (active[k * GROUP_ARGS + 9] == 0)
        return;
    forward_window(y + k * steps * O, h + k * steps * H, x_is_table ? x : x + k * steps * I,
                   order + k * order_stride + starts_offset, params + k * stride_p + param_offset,
                   x_is_table, T, I, H, O, h_buf, h, 0);
}
