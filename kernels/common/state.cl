/*
 * Carried hidden state (truncated BPTT): the last step's h of each window
 * of a batch becomes that window position's initial state for the next
 * batch, on the device (no host round trip). Mirrors the copy
 * host/backend/backend_cpu.c's cpu_carry_state makes (no _cpu function of
 * its own).
 *
 * h0 (B,H) out; h the layer's hidden states of the last batch, in the
 * layout of the family that ran it: (B,T,H), or with lanes > 0 lane-major
 * (rnn_fused.cl): window b = lanes tile + w, step t, unit j at
 * ((tile T + t) H + j) lanes + w. reset (B): 1 where window b starts from
 * 0 (a series' first window); read only with use_reset.
 */
__kernel void carry_state(__global real *h0,          /* (B,H) out */
                          __global const real *h,     /* (B,T,H) or lane-major */
                          __global const uint *reset, /* (B) */
                          const uint use_reset, const uint B, const uint T, const uint H,
                          const uint lanes)
{
    const size_t q = get_global_id(0);
    if (q >= (size_t)B * H)
        return;
    const size_t b = q / H, j = q % H;
    if (use_reset && reset[b]) {
        h0[q] = 0;
        return;
    }
    const size_t at = lanes ? (((b / lanes) * T + T - 1) * H + j) * lanes + b % lanes
                            : (b * T + T - 1) * H + j;
    h0[q] = h[at];
}
