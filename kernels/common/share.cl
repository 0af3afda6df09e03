/*
 * Data parallel training (host/backend/exchange.h, docs/scaling.md): the
 * running sums that travel along the ranks, P gradient sums then the
 * batch's loss sum, and the batch's total spread back where the shared
 * kernels finish a batch. No maths of its own: these are grad_finish's and
 * add_batch_loss's sums, started from the ranks before instead of from 0.
 */

/* acc (P + 1) in/out: work-item p < P adds parameter p's sums of this rank's
 * chunks in chunk order (grad_finish's order); work-item P adds its
 * windows' losses in window order (add_batch_loss's). */
__kernel void share_fold(__global real *acc,               /* (P + 1) */
                         __global const real *partial,     /* (n_chunks, P) */
                         __global const real *window_loss, /* (B) */
                         const uint n_chunks, const uint P, const uint B)
{
    const size_t p = get_global_id(0);
    if (p < P) {
        real sum = acc[p];
        for (size_t c = 0; c < n_chunks; c++)
            sum += partial[c * P + p];
        acc[p] = sum;
    } else if (p == P) {
        real sum = acc[P];
        for (size_t b = 0; b < B; b++)
            sum += window_loss[b];
        acc[P] = sum;
    }
}

/* The batch of B windows as one process leaves it for its finishing step:
 * the total's gradient sums as chunk 0 and zeros in its other chunks, the
 * loss sum as window 0's loss and zeros for the others. Every sum after
 * starts from +0 and adds +0s, which keeps a sum's bits: (0 + s) + 0 = s
 * for every s a sum from +0 can be (never -0). */
__kernel void share_spread(__global real *partial,           /* (n_chunks, P) out */
                           __global real *window_loss,       /* (B) out */
                           __global const real *total,       /* (P + 1) */
                           const uint n_chunks, const uint P, const uint B)
{
    const size_t i = get_global_id(0);
    if (i < n_chunks * (size_t)P)
        partial[i] = i < P ? total[i] : (real)0;
    if (i < B)
        window_loss[i] = i == 0 ? total[P] : (real)0;
}
