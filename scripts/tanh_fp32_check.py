#!/usr/bin/python3
"""Fits and checks the fp32 tanh of the tile family's _vec forward
(kernels/tile/rnn_tile.cl, hidden_value_fast_j):

    tanh(z) ~ sign(z) min(1, c P(c^2) / Q(c^2)),  c = min(|z|, C),

P and Q of degree 4 (a rational fit of tanh(x)/x minimising the relative
error on [0, C], by linearised least squares iterated with Lawson's weights
towards the minimax), C = 9.02, past which tanh rounds to 1 in fp32.

It prints the coefficients as fp32 literals and the largest error, in units
in the last place, of a numpy emulation of the kernel's fp32 arithmetic
(each operation rounded to fp32, with and without fused multiply-adds) over
[-12, 12] and random arguments, against numpy's fp64 tanh. Needs numpy
(Debian python3-numpy). Usage: /usr/bin/python3 scripts/tanh_fp32_check.py
"""
import numpy as np
from numpy.polynomial import polynomial as pn

C = 9.02
DP, DQ = 4, 4
f32 = np.float32


def fit():
    x = np.concatenate([[1e-4], np.linspace(0, C, 20001)[1:]])
    s = (x / C) ** 2
    f = np.tanh(x) / x
    w = np.ones_like(x) / len(x)
    q_prev = np.ones_like(x)
    best = None
    for _ in range(300):
        a = np.hstack([s[:, None] ** np.arange(DP + 1),
                       -f[:, None] * s[:, None] ** np.arange(1, DQ + 1)])
        scale = np.sqrt(w) / (f * q_prev)
        c, *_ = np.linalg.lstsq(a * scale[:, None], f * scale, rcond=None)
        p, q = c[:DP + 1], np.concatenate([[1.0], c[DP + 1:]])
        q_prev = pn.polyval(s, q)
        err = np.abs(pn.polyval(s, p) / q_prev / f - 1)
        if best is None or err.max() < best[0]:
            best = (err.max(), p.copy(), q.copy())
        w = w * err
        w /= w.sum()
    e, p, q = best
    return e, p / (C * C) ** np.arange(DP + 1), q / (C * C) ** np.arange(DQ + 1)


def mad(a, b, c, fused):
    if fused:  # one rounding: exact product (fp64 holds it) plus c, rounded once
        return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(f32)
    return (a * b + c).astype(f32)


def horner(s, coef, fused):
    r = np.full_like(s, f32(coef[-1]))
    for k in coef[-2::-1]:
        r = mad(s, r, np.full_like(s, f32(k)), fused)
    return r


def tanh_kernel(z, p, q, fused):
    a = np.abs(z)
    c = np.where(a > f32(C), f32(C), a).astype(f32)
    s = (c * c).astype(f32)
    r = ((c * horner(s, p, fused)).astype(f32) / horner(s, q, fused)).astype(f32)
    return np.copysign(np.where(r > 1, f32(1), r), z).astype(f32)


def main():
    e, p, q = fit()
    print("fit: largest relative error %.3g (fp64 arithmetic)" % e)
    print("P:", ", ".join("%.9gf" % f32(v) for v in p))
    print("Q:", ", ".join("%.9gf" % f32(v) for v in q))
    rng = np.random.default_rng(1)
    z = np.concatenate([np.linspace(-12, 12, 4000001).astype(f32),
                        rng.uniform(-1, 1, 1000000).astype(f32),
                        (10.0 ** rng.uniform(-8, 1, 1000000)).astype(f32), f32([0, -0.0])])
    ref = np.tanh(z.astype(np.float64))
    ulp = np.spacing(np.abs(ref).astype(f32)).astype(np.float64)
    worst = 0
    for fused in (True, False):
        v = tanh_kernel(z, p, q, fused)
        err = np.abs(v.astype(np.float64) - ref) / ulp
        worst = max(worst, err.max())
        print("%s: largest error %.2f ulp (at %.7g), largest |tanh| %.9g" %
              ("fused multiply-adds" if fused else "separate multiply and add", err.max(),
               z[np.argmax(err)], np.abs(v).max()))
    return 0 if worst < 8 else 1


if __name__ == "__main__":
    raise SystemExit(main())
