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

/* Parameters a work-item of group_finish_models and group_step_models
 * takes, one after another: a model's row is read and tested once for
 * them, and the loop over them is plain enough to become SIMD code (a
 * work-item a parameter left PoCL's work-item loops scalar). The host's
 * launches: runtime.h's OCL_GROUP_BLOCK. */
#define GROUP_BLOCK 32

/* Work-item (q, k): model k's mean gradients of parameters q GROUP_BLOCK
 * .. (q + 1) GROUP_BLOCK - 1, each its chunk sums added in order and
 * divided by B (grad_finish); work-item (0, k) also adds its window losses
 * to its loss sum (loss_accumulate). */
__kernel void group_finish_models(__global real *grads, __global real *loss_sum,
                                  __global const real *partial,
                                  __global const real *window_loss, const uint n_chunks,
                                  const uint B, const uint P, __global const real *active,
                                  const uint stride_p, const uint stride_loss,
                                  const uint stride_partial, const uint stride_window)
{
    const size_t q = get_global_id(0), k = get_global_id(1);
    const size_t begin = q * GROUP_BLOCK;
    if (active[k * GROUP_ARGS + 9] == 0)
        return;
    if (q == 0)
        add_batch_loss(loss_sum + k * stride_loss, window_loss + k * stride_window, B);
    if (begin >= P) /* P = 0: the losses alone (ocl_group_add_losses) */
        return;
    const size_t n = min((size_t)GROUP_BLOCK, P - begin);
    __global const real *part = partial + k * stride_partial + begin;
    real acc[GROUP_BLOCK];
    for (size_t i = 0; i < GROUP_BLOCK; i++)
        acc[i] = 0;
    for (uint c = 0; c < n_chunks; c++)
        for (size_t i = 0; i < n; i++)
            acc[i] += part[c * P + i];
    __global real *out = grads + k * stride_p + begin;
    for (size_t i = 0; i < n; i++)
        out[i] = acc[i] / (real)B;
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

/* Work-item (q, k): model k's optimizer step of parameters q GROUP_BLOCK
 * .. (q + 1) GROUP_BLOCK - 1 (step_value: sgd_update's and adam_update's
 * arithmetic), each gradient first scaled as scale_grads does where the
 * model clips. */
__kernel void group_step_models(__global real *params, __global real *opt_m,
                                __global real *opt_v, __global real *grads,
                                __global const real *args, __global const real *clip,
                                const uint P, const uint stride_p)
{
    const size_t q = get_global_id(0), k = get_global_id(1);
    const size_t begin = q * GROUP_BLOCK;
    __global const real *row = args + k * GROUP_ARGS;
    if (begin >= P || row[9] == 0)
        return;
    const size_t n = min((size_t)GROUP_BLOCK, P - begin), at = k * stride_p + begin;
    const optimizer_args opt = group_optimizer(row);
    const real scale = row[10] > 0 ? clip[k * 2 + 1] : (real)1;
    __global real *w = params + at, *m = opt_m + at, *v = opt_v + at, *g = grads + at;
    if (scale != (real)1)
        for (size_t i = 0; i < n; i++)
            g[i] *= scale;
    for (size_t i = 0; i < n; i++) {
        real m_i = m[i], v_i = v[i];
        w[i] = step_value(opt, w[i], &m_i, &v_i, g[i]);
        m[i] = m_i;
        v[i] = v_i;
    }
}
