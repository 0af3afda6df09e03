/*
 * The optimizer step on the device, one work-item per parameter.
 */

/* Mirrors sgd_update_cpu: sgd_value (common.cl) of every parameter. */
__kernel void sgd_update(__global real *params,      /* (P) */
                         __global real *velocity,    /* (P) */
                         __global const real *grads, /* (P) */
                         const uint P, const real lr, const real momentum)
{
    const size_t i = get_global_id(0);
    if (i >= P)
        return;
    real v = velocity[i];
    params[i] = sgd_value(params[i], &v, grads[i], lr, momentum);
    velocity[i] = v;
}

/* Mirrors adam_update_cpu: adam_value (common.cl) of every parameter. */
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
    real m_i = m[i], v_i = v[i];
    params[i] = adam_value(params[i], &m_i, &v_i, grads[i], lr, beta1, beta2, eps, weight_decay,
                           correction1, correction2);
    m[i] = m_i;
    v[i] = v_i;
}
