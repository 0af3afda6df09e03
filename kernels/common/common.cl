/*
 * Included first in every program: the precision and the rounding rules.
 * Every program the host builds (host/opencl/) passes -DCLRNN_FP64=0 or 1.
 *
 * Legend used by all kernels: B = windows in the batch, T = steps per
 * window, I = n_in, H = n_hidden, O = n_out of the layer, R = rows of the
 * staged table, P = parameters. A layer's parameters are one block:
 * W_i (I,H), W_h (H,H), W_o (H,O), b_o (O), b_i (H), row-major (docs/model.md);
 * layer.cl, included next, holds its layout and the maths of a step.
 */
#ifndef CLRNN_FP64
#define CLRNN_FP64 0
#endif

#if CLRNN_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
#else
typedef float real;
#endif

/* Every product and sum is rounded on its own, as in the CPU reference:
 * contracting a*b+c into fma would change results in the last bits. A
 * family's fp32 programs may allow it (the tunable -DCONTRACT=1, with
 * -cl-mad-enable) where `clrnn tune` finds that the parity tolerances still
 * hold; fp64 never does. */
#if defined(CONTRACT) && CONTRACT && !CLRNN_FP64
#pragma OPENCL FP_CONTRACT ON
#else
#pragma OPENCL FP_CONTRACT OFF
#endif

/* The optimizer step of one parameter w with its gradient g and state
 * (optimizer.cl, rnn_fused.cl), on values, so that every kernel that takes
 * a step rounds it the same way. SGD mirrors sgd_update_cpu:
 * v = momentum v - lr g; w += v (the notebook's form). Adam mirrors
 * adam_update_cpu, with correction1,2 = 1 - beta1^step, 1 - beta2^step
 * (computed by the host in double) and decoupled weight decay. */
real sgd_value(real w, real *velocity, real g, real lr, real momentum);
real sgd_value(real w, real *velocity, real g, real lr, real momentum)
{
    const real v = momentum * *velocity - lr * g;
    *velocity = v;
    return w + v;
}

real adam_value(real w, real *m, real *v, real g, real lr, real beta1, real beta2, real eps,
                real weight_decay, real correction1, real correction2);
real adam_value(real w, real *m, real *v, real g, real lr, real beta1, real beta2, real eps,
                real weight_decay, real correction1, real correction2)
{
    const real m_i = beta1 * *m + (1 - beta1) * g;
    const real v_i = beta2 * *v + (1 - beta2) * g * g;
    *m = m_i;
    *v = v_i;
    const real m_hat = m_i / correction1;
    const real v_hat = v_i / correction2;
    return w - lr * (m_hat / (sqrt(v_hat) + eps) + weight_decay * w);
}

/* The optimizer's arguments, as the host passes them to every kernel that
 * takes a step: kind 0 none, 1 SGD, 2 Adam. */
typedef struct optimizer_args {
    uint kind;
    real lr, momentum, beta1, beta2, eps, weight_decay, correction1, correction2;
} optimizer_args;

/* Parameter w after the step of opt with gradient g; m and v the state,
 * updated: m SGD's velocity or Adam's first moment, v Adam's second moment
 * (untouched by SGD). */
real step_value(const optimizer_args opt, real w, real *m, real *v, real g);
real step_value(const optimizer_args opt, real w, real *m, real *v, real g)
{
    if (opt.kind == 1)
        return sgd_value(w, m, g, opt.lr, opt.momentum);
    if (opt.kind == 2)
        return adam_value(w, m, v, g, opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay,
                          opt.correction1, opt.correction2);
    return w;
}

/* A model's row of args: kind (0 none, 1 SGD, 2 Adam), lr, momentum,
 * beta1, beta2, eps, weight_decay, correction1, correction2, active,
 * clip_norm (0: none): runtime.h's OCL_GROUP_ARGS, group_rows in
 * backend_opencl.c. A model group's kernels (common/group.cl, a family's
 * run_group) read it. */
#define GROUP_ARGS 11

optimizer_args group_optimizer(__global const real *row);
optimizer_args group_optimizer(__global const real *row)
{
    const optimizer_args opt = {(uint)row[0], row[1], row[2], row[3], row[4],
                                row[5],       row[6], row[7], row[8]};
    return opt;
}

/* loss_sum (2: the sum and its Kahan compensation) += the window losses of
 * a batch, added in window order; read back once an epoch, so an epoch of
 * thousands of batches loses nothing in fp32. One work-item calls it. */
void add_batch_loss(__global real *loss_sum, __global const real *window_loss, uint B);
void add_batch_loss(__global real *loss_sum, __global const real *window_loss, uint B)
{
    real batch = 0;
    for (uint b = 0; b < B; b++)
        batch += window_loss[b];
    const real y = batch - loss_sum[1];
    const real t = loss_sum[0] + y;
    loss_sum[1] = (t - loss_sum[0]) - y;
    loss_sum[0] = t;
}
