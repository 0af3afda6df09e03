/*
 * Weight gradients of one layer, summed over windows and steps in a fixed
 * order so that two runs give identical bits (no atomics):
 *
 *   dW_i[i,j] = sum_b sum_t x[b,t,i] g[b,t,j]      db_i[j] = sum_b sum_t g[b,t,j]
 *   dW_h[k,j] = sum_b sum_{t>0} h[b,t-1,k] g[b,t,j]   (+ h0[b,k] g[b,0,j] with has_h0)
 *   dW_o[j,o] = sum_b sum_t h[b,t,j] dy[b,t,o]     db_o[o] = sum_b sum_t dy[b,t,o]
 *
 * Mirrors the weight-gradient sums of rnn_layer_backward_cpu.
 * Stage 1, grad_partial: work-item (p, c) sums parameter p of the layer over
 * the windows of chunk c (windows c*chunk .. c*chunk+chunk-1), each window's
 * steps in reverse time, exactly the order in which rnn_layer_backward_cpu
 * adds them. Stage 2, grad_finish: each parameter's chunk sums are added in
 * chunk order and divided by B (the batch mean, docs/model.md).
 */
void grad_chunk(__global real *partial, __global const real *g, __global const real *h,
                __global const real *dy, __global const real *x, __global const uint *starts,
                const uint x_is_table, const uint B, const uint T, const uint I, const uint H,
                const uint O, const uint chunk, const uint P, const uint layer_offset,
                __global const real *h0, const uint has_h0);
void grad_chunk(__global real *partial, __global const real *g, __global const real *h,
                __global const real *dy, __global const real *x, __global const uint *starts,
                const uint x_is_table, const uint B, const uint T, const uint I, const uint H,
                const uint O, const uint chunk, const uint P, const uint layer_offset,
                __global const real *h0, const uint has_h0)
{
    const size_t p = get_global_id(0), c = get_global_id(1);
    /* Which tensor p is in, and where (layer.cl's layout). */
    const size_t i_n = I, h_n = H, o_n = O;
    const size_t at_wh = LAYER_W_H(i_n, h_n, o_n), at_wo = LAYER_W_O(i_n, h_n, o_n),
                 at_bo = LAYER_B_O(i_n, h_n, o_n), at_bi = LAYER_B_I(i_n, h_n, o_n);
    if (p >= LAYER_N_PARAMS(i_n, h_n, o_n))
        return;
    const size_t b_begin = c * chunk, b_end = min((size_t)B, b_begin + chunk);
    real acc = 0;
    if (p < at_wh) {
        const size_t i = p / H, j = p % H;
        for (size_t b = b_begin; b < b_end; b++) {
            __global const real *x_win = x_is_table ? x + (size_t)starts[b] * I : x + b * T * I;
            for (size_t t = T; t-- > 0;)
                acc += x_win[t * I + i] * g[(b * T + t) * H + j];
        }
    } else if (p < at_wo) {
        const size_t k = (p - at_wh) / H, j = (p - at_wh) % H;
        for (size_t b = b_begin; b < b_end; b++) {
            for (size_t t = T; t-- > 1;)
                acc += h[(b * T + t - 1) * H + k] * g[(b * T + t) * H + j];
            if (has_h0)
                acc += h0[b * H + k] * g[(b * T) * H + j];
        }
    } else if (p < at_bo) {
        const size_t j = (p - at_wo) / O, o = (p - at_wo) % O;
        for (size_t b = b_begin; b < b_end; b++)
            for (size_t t = T; t-- > 0;)
                acc += h[(b * T + t) * H + j] * dy[(b * T + t) * O + o];
    } else if (p < at_bi) {
        const size_t o = p - at_bo;
        for (size_t b = b_begin; b < b_end; b++)
            for (size_t t = T; t-- > 0;)
                acc += dy[(b * T + t) * O + o];
    } else {
        const size_t j = p - at_bi;
        for (size_t b = b_begin; b < b_end; b++)
            for (size_t t = T; t-- > 0;)
                acc += g[(b * T + t) * H + j];
    }
    partial[c * P + layer_offset + p] = acc;
}

__kernel void grad_partial(__global real *partial,      /* (n_chunks, P) */
                           __global const real *g,      /* (B,T,H) */
                           __global const real *h,      /* (B,T,H) */
                           __global const real *dy,     /* (B,T,O) */
                           __global const real *x,      /* (R,I) table or (B,T,I) */
                           __global const uint *order, /* window start rows */
                           const uint starts_offset, /* the batch: order[starts_offset ..] */
                           const uint x_is_table, const uint B, const uint T, const uint I,
                           const uint H, const uint O, const uint chunk, const uint P,
                           const uint layer_offset,
                           __global const real *h0, /* (B,H) initial states, when has_h0 */
                           const uint has_h0)
{
    grad_chunk(partial, g, h, dy, x, order + starts_offset, x_is_table, B, T, I, H, O, chunk, P,
               layer_offset, h0, has_h0);
}

/* The same for every model of a group (the group family's run_group), the
 * model k the third dimension: its windows at order[k order_stride +
 * starts_offset ..], its chunk sums at k stride_partial, its g, h, dy and
 * input (above layer 0) slices of model_windows windows (runtime.h:
 * ocl_group_activations); a model whose row of active (common.cl:
 * GROUP_ARGS) is 0 does nothing. */
__kernel void grad_partial_models(__global real *partial, __global const real *g,
                                  __global const real *h, __global const real *dy,
                                  __global const real *x, __global const uint *order,
                                  const uint order_stride, const uint starts_offset,
                                  const uint x_is_table, const uint B, const uint T, const uint I,
                                  const uint H, const uint O, const uint chunk, const uint P,
                                  const uint layer_offset, __global const real *active,
                                  const uint model_windows, const uint stride_partial)
{
    const size_t k = get_global_id(2), steps = (size_t)model_windows * T;
    if (active[k * GROUP_ARGS + 9] == 0)
        return;
    grad_chunk(partial + k * stride_partial, g + k * steps * H, h + k * steps * H,
               dy + k * steps * O, x_is_table ? x : x + k * steps * I,
               order + k * order_stride + starts_offset, x_is_table, B, T, I, H, O, chunk, P,
               layer_offset, h, 0);
}

/* grads (P) <- the batch mean of the chunk sums, chunks added in order.
 * Mirrors the division by B that host/backend/backend_cpu.c applies to
 * rnn_layer_backward_cpu's sums (no _cpu function of its own). */
__kernel void grad_finish(__global real *grads,         /* (P) out */
                          __global const real *partial, /* (n_chunks, P) */
                          const uint n_chunks, const uint P, const uint B)
{
    const size_t p = get_global_id(0);
    if (p >= P)
        return;
    real acc = 0;
    for (size_t c = 0; c < n_chunks; c++)
        acc += partial[c * P + p];
    grads[p] = acc / (real)B;
}

/* Global gradient-norm clipping on the device (mirrors clip_grad_norm_cpu):
 * stage 1 sums squares over fixed slices, stage 2 (one work-item) adds the
 * slices in order and keeps the norm and the scale in clip (2), stage 3
 * scales the gradient when the norm exceeds max_norm. */
__kernel void sumsq_partial(__global real *partial,     /* (n_slices) out */
                            __global const real *grads, /* (P) */
                            const uint P, const uint slice)
{
    const size_t s = get_global_id(0);
    const size_t begin = s * slice, end = min((size_t)P, begin + slice);
    real acc = 0;
    for (size_t i = begin; i < end; i++)
        acc += grads[i] * grads[i];
    partial[s] = acc;
}

__kernel void clip_scale(__global real *clip,           /* (2) out: norm, scale */
                         __global const real *partial,  /* (n_slices) */
                         const uint n_slices, const real max_norm)
{
    if (get_global_id(0) != 0)
        return;
    real sum = 0;
    for (uint s = 0; s < n_slices; s++)
        sum += partial[s];
    const real norm = sqrt(sum);
    clip[0] = norm;
    clip[1] = norm > max_norm ? max_norm / norm : (real)1;
}

__kernel void scale_grads(__global real *grads,         /* (P) */
                          __global const real *clip,    /* (2) from clip_scale */
                          const uint P)
{
    const size_t i = get_global_id(0);
    if (i < P && clip[1] != (real)1)
        grads[i] *= clip[1];
}
