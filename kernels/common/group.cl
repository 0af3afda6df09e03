/*
 * A model group's finishing and optimizer steps, for every family with the
 * model as a grid dimension (family.h: run_group; runtime.h: ocl_group).
 * Model k's parameters, gradients and optimizer state lie at k stride_p,
 * its loss sum at k stride_loss, its chunk sums at k stride_partial (chunk
 * c, parameter p at c P + p), its window losses at k stride_window, its
 * row of args at k GROUP_ARGS (GROUP_ARGS below; active 0: the model sits
 * this batch out). Each model's work is exactly its own batch's alone
 * (grad_finish and add_batch_loss; sumsq_partial, clip_scale and
 * scale_grads; sgd_update or adam_update, through step_value), so each
 * model gets the bits it gets alone.
 */

/* Work-item (p, k): model k's mean gradient of parameter p, the chunk sums
 * added in order and divided by B (grad_finish); work-item (0, k) also
 * adds its window losses to its loss sum (loss_accumulate). */
__kernel void group_finish_models(__global real *grads, __global real *loss_sum,
                                  __global const real *partial,
                                  __global const real *window_loss, const uint n_chunks,
                                  const uint B, const uint P, __global const real *active,
                                  const uint stride_p, const uint stride_loss,
                                  const uint stride_partial, const uint stride_window)
{
    const size_t p = get_global_id(0), k = get_global_id(1);
    if (active[k * GROUP_ARGS + 9] == 0)
        return;
    if (p == 0)
        add_batch_loss(loss_sum + k * stride_loss, window_loss + k * stride_window, B);
    if (p >= P)
        return;
    __global const real *part = partial + k * stride_partial;
    real acc = 0;
    for (uint c = 0; c < n_chunks; c++)
        acc += part[c * P + p];
    grads[k * stride_p + p] = acc / (real)B;
}

/* Work-item k: model k's gradient norm and clipping scale into clip (M,
 * 2), as sumsq_partial over slices of `slice` parameters, then clip_scale. */
__kernel void group_clip_models(__global real *clip, __global const real *grads,
                                __global const real *args, const uint P, const uint stride_p,
                                const uint slice)
{
    const size_t k = get_global_id(0);
    __global const real *row = args + k * GROUP_ARGS;
    if (row[9] == 0 || !(row[10] > 0))
        return;
    __global const real *g = grads + k * stride_p;
    real sum = 0;
    for (size_t begin = 0; begin < P; begin += slice) {
        const size_t end = min((size_t)P, begin + slice);
        real acc = 0;
        for (size_t i = begin; i < end; i++)
            acc += g[i] * g[i];
        sum += acc;
    }
    const real norm = sqrt(sum), max_norm = row[10];
    clip[k * 2] = norm;
    clip[k * 2 + 1] = norm > max_norm ? max_norm / norm : (real)1;
}

/* Work-item (p, k): model k's optimizer step of parameter p (step_value:
 * sgd_update's and adam_update's arithmetic), its gradient first scaled
 * as scale_grads does where the model clips. */
__kernel void group_step_models(__global real *params, __global real *opt_m,
                                __global real *opt_v, __global real *grads,
                                __global const real *args, __global const real *clip,
                                const uint P, const uint stride_p)
{
    const size_t p = get_global_id(0), k = get_global_id(1);
    __global const real *row = args + k * GROUP_ARGS;
    if (p >= P || row[9] == 0)
        return;
    const size_t i = k * stride_p + p;
    if (row[10] > 0 && clip[k * 2 + 1] != (real)1)
        grads[i] *= clip[k * 2 + 1];
    real m = opt_m[i], v = opt_v[i];
    params[i] = step_value(group_optimizer(row), params[i], &m, &v, grads[i]);
    opt_m[i] = m;
    opt_v[i] = v;
}
