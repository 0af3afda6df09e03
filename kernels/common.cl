/*
 * Included first in every program: the precision and the rounding rules.
 * The host (host/backend_opencl.c) passes -DCLRNN_FP64=0 or 1.
 *
 * Legend used by all kernels: B = windows in the batch, T = steps per
 * window, I = n_in, H = n_hidden, O = n_out of the layer, R = rows of the
 * staged table, P = parameters. A layer's parameters are one block:
 * W_i (I,H), W_h (H,H), W_o (H,O), b_o (O), b_i (H), row-major (SPEC.md).
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
 * contracting a*b+c into fma would change results in the last bits. */
#pragma OPENCL FP_CONTRACT OFF

/* The five tensors of a layer inside its parameter block. */
typedef struct layer_params {
    __global const real *W_i, *W_h, *W_o, *b_o, *b_i;
} layer_params;

layer_params point_layer(__global const real *block, uint I, uint H, uint O);
layer_params point_layer(__global const real *block, uint I, uint H, uint O)
{
    layer_params p;
    p.W_i = block;
    p.W_h = p.W_i + (size_t)I * H;
    p.W_o = p.W_h + (size_t)H * H;
    p.b_o = p.W_o + (size_t)H * O;
    p.b_i = p.b_o + O;
    return p;
}

/* The optimizer steps of parameter i with its gradient g (optimizer.cl,
 * rnn_fused.cl). SGD mirrors sgd_update_cpu: v = momentum v - lr g;
 * w += v (the notebook's form). Adam mirrors adam_update_cpu, with
 * correction1,2 = 1 - beta1^step, 1 - beta2^step (computed by the host in
 * double) and decoupled weight decay. */
void sgd_step(__global real *params, __global real *velocity, size_t i, real g, real lr,
              real momentum);
void sgd_step(__global real *params, __global real *velocity, size_t i, real g, real lr,
              real momentum)
{
    const real v = momentum * velocity[i] - lr * g;
    velocity[i] = v;
    params[i] += v;
}

void adam_step(__global real *params, __global real *m, __global real *v, size_t i, real g,
               real lr, real beta1, real beta2, real eps, real weight_decay, real correction1,
               real correction2);
void adam_step(__global real *params, __global real *m, __global real *v, size_t i, real g,
               real lr, real beta1, real beta2, real eps, real weight_decay, real correction1,
               real correction2)
{
    const real m_i = beta1 * m[i] + (1 - beta1) * g;
    const real v_i = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = m_i;
    v[i] = v_i;
    const real m_hat = m_i / correction1;
    const real v_hat = v_i / correction2;
    params[i] -= lr * (m_hat / (sqrt(v_hat) + eps) + weight_decay * params[i]);
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
