/*
 * The optimizer step on the device, one work-item per parameter.
 */

/* Mirrors sgd_update_cpu: v = momentum v - lr g; w += v (the notebook's form). */
__kernel void sgd_update(__global real *params,      /* (P) */
                         __global real *velocity,    /* (P) */
                         __global const real *grads, /* (P) */
                         const uint P, const real lr, const real momentum)
{
    const size_t i = get_global_id(0);
    if (i >= P)
        return;
    const real v = momentum * velocity[i] - lr * grads[i];
    velocity[i] = v;
    params[i] += v;
}

/* Mirrors adam_update_cpu; correction1,2 = 1 - beta1^step, 1 - beta2^step
 * (computed by the host in double). Decoupled weight decay. */
__kernel void adam_update(__global real *params,      /* (P) */
                          __global real *m,           /* (P) */
                          __global real *v,           /* (P) */
                          __global const real *grads, /* (P) */
                          const uint P, const real lr, const real beta1, const real beta2,
                          const real eps, const real weight_decay, const real correction1,
                          const real correction2)
{
    const size_t i = get_global_id(0);
    if (i >= P)
        return;
    const real g = grads[i];
    const real m_i = beta1 * m[i] + (1 - beta1) * g;
    const real v_i = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = m_i;
    v[i] = v_i;
    const real m_hat = m_i / correction1;
    const real v_hat = v_i / correction2;
    params[i] -= lr * (m_hat / (sqrt(v_hat) + eps) + weight_decay * params[i]);
}
