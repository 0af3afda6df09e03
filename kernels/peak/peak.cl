/*
 * The device's arithmetic peak, measured: every work-item runs CHAINS
 * independent chains of fused multiply-adds on vectors of VW reals, ITERS
 * times, so that nothing waits on memory or on the previous result for
 * long. clrnn bench divides each shape's GFLOP/s by this figure. It mirrors
 * no _cpu function: it trains nothing. Built with -DCLRNN_FP64, -DVW (the
 * device's native vector width, 1 to 16) and -DCHAINS; ITERS is an
 * argument. The chains' sums are written out so the compiler keeps them.
 */
#if CLRNN_FP64
typedef double2 real2;
typedef double4 real4;
typedef double8 real8;
typedef double16 real16;
#else
typedef float2 real2;
typedef float4 real4;
typedef float8 real8;
typedef float16 real16;
#endif

#if VW == 1
typedef real realv;
#define SPLAT(x) (x)
#define SUM(v) (v)
#elif VW == 2
typedef real2 realv;
#define SPLAT(x) ((realv)(x))
#define SUM(v) ((v).s0 + (v).s1)
#elif VW == 4
typedef real4 realv;
#define SPLAT(x) ((realv)(x))
#define SUM(v) ((v).s0 + (v).s1 + (v).s2 + (v).s3)
#elif VW == 8
typedef real8 realv;
#define SPLAT(x) ((realv)(x))
#define SUM(v) ((v).s0 + (v).s1 + (v).s2 + (v).s3 + (v).s4 + (v).s5 + (v).s6 + (v).s7)
#else
typedef real16 realv;
#define SPLAT(x) ((realv)(x))
#define SUM(v)                                                                                 \
    ((v).s0 + (v).s1 + (v).s2 + (v).s3 + (v).s4 + (v).s5 + (v).s6 + (v).s7 + (v).s8 + (v).s9 + \
     (v).sa + (v).sb + (v).sc + (v).sd + (v).se + (v).sf)
#endif

__kernel void peak_fma(__global real *out, /* (global size) */
                       const uint iters, const real a, const real b)
{
    const size_t id = get_global_id(0);
    realv acc[CHAINS];
    _Pragma("unroll") for (int c = 0; c < CHAINS; c++)
        acc[c] = SPLAT((real)(id + c) * (real)1e-7);
    const realv va = SPLAT(a), vb = SPLAT(b);
    /* Unrolled, so that the chains live in registers: rolled, PoCL kept
     * acc in memory and measured a store and a load a multiply-add. */
    for (uint i = 0; i < iters; i++)
        _Pragma("unroll") for (int c = 0; c < CHAINS; c++)
            acc[c] = fma(acc[c], va, vb); /* 2 flops a lane */
    real total = 0;
    for (int c = 0; c < CHAINS; c++)
        total += SUM(acc[c]);
    out[id] = total;
}
