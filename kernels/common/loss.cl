/*
 * The loss of each window and its gradient dy for the top layer; mirrors
 * mse_forward_cpu (host/reference/rnn_cpu.c), with loss_term and
 * window_loss_value (layer.cl). One work-item per window. With
 * first = 0 every step counts (the notebook's sequence-to-sequence loss);
 * with first = T-1 only the last step does and dy is 0 elsewhere. A NaN
 * target is a masked cell (loss_term): no loss, dy 0.
 */
void mse_window(__global real *window_loss, __global real *dy, __global const real *y,
                __global const real *targets, __global const uint *starts, const uint B,
                const uint T, const uint O, const uint first);
void mse_window(__global real *window_loss, __global real *dy, __global const real *y,
                __global const real *targets, __global const uint *starts, const uint B,
                const uint T, const uint O, const uint first)
{
    const size_t b = get_global_id(0);
    if (b >= B)
        return;
    __global const real *target_win = targets + (size_t)starts[b] * O;
    real acc = 0, seen = 0;
    for (size_t t = 0; t < T; t++)
        for (size_t o = 0; o < O; o++) {
            const size_t at = (b * T + t) * O + o;
            if (t < first) {
                dy[at] = 0;
                continue;
            }
            dy[at] = loss_term(&acc, &seen, y[at], target_win[t * O + o]);
        }
    window_loss[b] = window_loss_value(acc, seen);
}

__kernel void mse_loss(__global real *window_loss,    /* (B) out */
                       __global real *dy,             /* (B,T,O) out: y - target */
                       __global const real *y,        /* (B,T,O) */
                       __global const real *targets,  /* (R,O) the staged table */
                       __global const uint *order,   /* window start rows */
                       const uint starts_offset, /* the batch: order[starts_offset ..] */
                       const uint B, const uint T, const uint O, const uint first)
{
    mse_window(window_loss, dy, y, targets, order + starts_offset, B, T, O, first);
}

/* The same for every model of a group (the group family's run_group), the
 * model k the second dimension: its windows at order[k order_stride +
 * starts_offset ..], its window losses at k stride_window, its y and dy
 * slices of model_windows windows (runtime.h: ocl_group_activations); a
 * model whose row of active (common.cl: GROUP_ARGS) is 0 does nothing. */
__kernel void mse_loss_models(__global real *window_loss, __global real *dy,
                              __global const real *y, __global const real *targets,
                              __global const uint *order, const uint order_stride,
                              const uint starts_offset, const uint B, const uint T, const uint O,
                              const uint first, __global const real *active,
                              const uint model_windows, const uint stride_window)
{
    const size_t k = get_global_id(1), steps = (size_t)model_windows * T;
    if (active[k * GROUP_ARGS + 9] == 0)
        return;
    mse_window(window_loss + k * stride_window, dy + k * steps * O, y + k * steps * O, targets,
               order + k * order_stride + starts_offset, B, T, O, first);
}

/* Adds the batch's window losses to the running sum (add_batch_loss,
 * common.cl). One work-item. Mirrors the loss_sum that backend_cpu.c adds
 * mse_forward_cpu's batch total to (Kahan-compensated here, for fp32). */
__kernel void loss_accumulate(__global real *loss_sum,          /* (2) in/out */
                              __global const real *window_loss, /* (B) */
                              const uint B)
{
    if (get_global_id(0) == 0)
        add_batch_loss(loss_sum, window_loss, B);
}
