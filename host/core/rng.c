/*
 * MT19937, seeded the way numpy's legacy np.random.seed(int) seeds it
 * (init_genrand), and numpy's random_sample() double made of two 32-bit
 * outputs. With these, np.random.seed(0); np.random.rand(3) gives
 * 0.5488135039273248, 0.7151893663659761, 0.6027633760716439.
 */
#include "clrnn.h"

enum { MT_N = 624, MT_M = 397 };

void clrnn_rng_seed(clrnn_rng *rng, uint32_t seed)
{
    rng->state[0] = seed;
    for (int i = 1; i < MT_N; i++) {
        uint32_t prev = rng->state[i - 1];
        rng->state[i] = 1812433253u * (prev ^ (prev >> 30)) + (uint32_t)i;
    }
    rng->index = MT_N;
}

/* Regenerates all 624 words at once (the reference "genrand" twist). */
static void mt_twist(clrnn_rng *rng)
{
    uint32_t *mt = rng->state;
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (mt[i] & 0x80000000u) | (mt[(i + 1) % MT_N] & 0x7fffffffu);
        uint32_t next = mt[(i + MT_M) % MT_N] ^ (y >> 1);
        mt[i] = (y & 1u) ? next ^ 0x9908b0dfu : next;
    }
    rng->index = 0;
}

uint32_t clrnn_rng_next_u32(clrnn_rng *rng)
{
    if (rng->index >= MT_N)
        mt_twist(rng);
    uint32_t y = rng->state[rng->index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

double clrnn_rng_uniform(clrnn_rng *rng)
{
    uint32_t a = clrnn_rng_next_u32(rng) >> 5; /* 27 bits */
    uint32_t b = clrnn_rng_next_u32(rng) >> 6; /* 26 bits */
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

uint32_t clrnn_rng_below(clrnn_rng *rng, uint32_t n)
{
    /* Rejection sampling: draws above the largest multiple of n are redrawn. */
    uint32_t limit = UINT32_MAX - UINT32_MAX % n;
    uint32_t r;
    do {
        r = clrnn_rng_next_u32(rng);
    } while (r >= limit);
    return r % n;
}
