/*
 * Reverse-time BPTT of one layer over a batch, one launch for all T steps of
 * all B windows. Mirrors the time loop of rnn_layer_backward_cpu
 * (host/reference/rnn_cpu.c):
 *   d_t = dy_t W_o^T + g_{t+1} W_h^T,  g_t = d_t * (1 - h_t^2),  dx_t = g_t W_i^T
 * It writes g (B,T,H) and dx; the weight gradients are sums over windows and
 * steps of products of g, h, x and dy, computed from them by grad_partial
 * (reduce.cl) in a fixed order. dot and bptt_value: layer.cl.
 *
 * One work-group per window; work-item j handles hidden units j, j+S, ...;
 * g_{t+1} and g_t live in local memory.
 */
void backward_window(__global real *g, __global real *dx, __global const real *dy,
                     __global const real *h, __global const real *layer, const uint want_dx,
                     const uint T, const uint I, const uint H, const uint O, __local real *g_buf);
void backward_window(__global real *g, __global real *dx, __global const real *dy,
                     __global const real *h, __global const real *layer, const uint want_dx,
                     const uint T, const uint I, const uint H, const uint O, __local real *g_buf)
{
    const size_t b = get_group_id(0), lid = get_local_id(0), lsz = get_local_size(0);
    const layer_params p = point_layer(layer, I, H, O);
    for (uint s = 0; s < T; s++) {
        const size_t t = T - 1 - s;
        __local const real *g_next = g_buf + ((s + 1) & 1) * H;
        __local real *g_cur = g_buf + (s & 1) * H;
        __global const real *dy_t = dy + (b * T + t) * O; /* (O) */
        __global const real *h_t = h + (b * T + t) * H;   /* (H) */
        for (size_t j = lid; j < H; j += lsz) { /* d_j: row j of W_o and of W_h */
            const real from_output = dot_gg(dy_t, p.W_o + j * O, 1, O);
            const real from_next = s > 0 ? dot_lg(g_next, p.W_h + j * H, 1, H) : 0; /* g_T = 0 */
            const real v = bptt_value(from_output, from_next, h_t[j]);
            g_cur[j] = v;
            g[(b * T + t) * H + j] = v;
        }
        /* g_t complete. One barrier a step suffices, as in rnn_forward. */
        barrier(CLK_LOCAL_MEM_FENCE);
        if (want_dx)
            for (size_t i = lid; i < I; i += lsz) /* g_t W_i^T: row i of W_i */
                dx[(b * T + t) * I + i] = dot_lg(g_cur, p.W_i + i * H, 1, H);
    }
}

__kernel void rnn_backward(__global real *g,            /* (B,T,H) out */
                           __global real *dx,           /* (B,T,I) out when want_dx */
                           __global const real *dy,     /* (B,T,O) dL/dy */
                           __global const real *h,      /* (B,T,H) from rnn_forward */
                           __global const real *params, /* (P) all layers */
                           const uint param_offset,     /* where this layer's block starts */
                           const uint want_dx, const uint T, const uint I, const uint H,
                           const uint O,
                           __local real *g_buf)         /* (2,H): g_{t+1}, g_t alternately */
{
    backward_window(g, dx, dy, h, params + param_offset, want_dx, T, I, H, O, g_buf);
}

/* The same for every model of a group, the model k the second dimension
 * (as rnn_forward_models). */
__kernel void rnn_backward_models(__global real *g, __global real *dx, __global const real *dy,
                                  __global const real *h, __global const real *params,
                                  const uint stride_p, const uint param_offset,
                                  const uint want_dx, const uint T, const uint I, const uint H,
                                  const uint O, __local real *g_buf, __global const real *active,
                                  const uint model_windows)
{
    const size_t k = get_group_id(1), steps = (size_t)model_windows * T;
    if (active[k * GROUP_ARGS + 9] == 0)
        return;
    backward_window(g + k * steps * H, want_dx ? dx + k * steps * I : dx, dy + k * steps * O,
                    h + k * steps * H, params + k * stride_p + param_offset, want_dx, T, I, H, O,
                    g_buf);
}
