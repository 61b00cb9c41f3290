"""Symmetric (half-pixel-shift) sub-pixel estimate at the SGM winner, on nearly fronto-parallel surfaces.

Why: sub-pixel interpolation of matching costs is biased towards integer disparities
(pixel locking), and SGM's P1 penalty adds to it: near the winner the aggregated costs of
d +- 1 carry the P1 they do not pay, which flattens the fit. The plane refinement
(:mod:`stereo.kernels.refine`) undoes that on slants, where its window spans several
integer plateaus, but not where the surface changes by less than one disparity over the
window: there all samples share the same bias. Shimizu and Okutomi (ICCV 2001) showed that
the interpolation's bias is (to first order) an odd periodic function of the true
fraction, so an estimate on a grid shifted by half a pixel has the opposite bias and the
mean of the two estimates cancels it.

For each valid pixel p with disparity d (pixels; left x matches right x - d) on such a
surface, this kernel computes zero-mean normalised cross-correlation costs
``1 - ZNCC`` of a (2r+1) x (2r+1) window of the left image against the right image at
``k - 1, k, k + 1`` (k = round(d)) and at the half-pixel points ``k +- 0.5, k +- 1.5``
(the right image linearly interpolated half-way between columns, the same blur for every
half-grid cost), fits a parabola on each grid (integer grid centred at k, half grid
centred at the lower of ``k - 0.5``, ``k + 0.5``) and replaces d by the mean of the two
estimates when it lies within ``max_move`` px of d. The output is noisy per pixel (a small
window); the plane refinement run afterwards averages that noise over its samples, which
it cannot do for the bias.

"Nearly fronto-parallel": the disparities at ``p +- (span, 0)`` and ``p +- (0, span)`` are
valid and differ by less than 1 px across p on both axes (``span`` = the plane fit's
largest sample offset: its window then spans less than one integer step). Pixels whose
window or shifted windows leave the image, or whose window has no texture in either
image, keep d.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _zncc(sl, sll, sr, srr, slr, n):
    """``1 - ZNCC`` from the window sums; NaN when either window has no texture."""
    vr = srr - sr * sr / n
    vl = sll - sl * sl / n
    if vr <= 1e-6 * n or vl <= 1e-6 * n:
        return np.nan
    return 1.0 - (slr - sl * sr / n) / math.sqrt(vl * vr)


@njit(cache=True, inline="always")
def _zncc_cost(left, img, y, x, r, c0, sl, sll, n):
    """``1 - ZNCC`` of the left window at (y, x) against ``img``'s window whose left
    column is ``c0`` (x - r - shift); NaN when the right window has no texture."""
    sr = 0.0
    srr = 0.0
    slr = 0.0
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            a = np.float64(left[y + dy, x + dx])
            b = np.float64(img[y + dy, c0 + dx + r])
            sr += b
            srr += b * b
            slr += a * b
    return _zncc(sl, sll, sr, srr, slr, n)


@njit(cache=True, inline="always")
def _parabola(cm, c0, cp):
    """Vertex offset of the parabola through (-1, cm), (0, c0), (1, cp), clipped to +-0.5;
    NaN when the three costs have no minimum near 0 (or one is NaN)."""
    den = cm - 2.0 * c0 + cp
    if not den > 0.0:
        return np.nan
    o = (cm - cp) / (2.0 * den)
    return min(0.5, max(-0.5, o))


@njit(cache=True, parallel=True)
def symmetric_subpixel(disp, left, right, half, r, span, max_move, out):
    """Write ``disp`` with the symmetric estimate applied (see module doc) into ``out``.

    Args:
        disp: float32 (H, W) disparities, px, NaN = invalid.
        left, right: float32 (H, W) grey images (same scale).
        half: float32 (H, W) right image half-way between columns: ``half[y, j] =
            (right[y, j] + right[y, j + 1]) / 2`` (last column unused).
        r: window radius (window (2r+1)^2 px); span: gate distance, px; max_move: px.
        out: float32 (H, W) output.
    """
    h, w = disp.shape
    n = np.float64((2 * r + 1) * (2 * r + 1))
    for y in prange(h):
        for x in range(w):
            d = disp[y, x]
            out[y, x] = d
            if np.isnan(d):
                continue
            if y - span < 0 or y + span >= h or x - span < 0 or x + span >= w:
                continue
            if not (abs(disp[y, x + span] - disp[y, x - span]) < 1.0
                    and abs(disp[y + span, x] - disp[y - span, x]) < 1.0):
                continue                      # a slant (or a hole): the plane fit's case
            if y - r < 0 or y + r >= h:
                continue
            k = np.int64(math.floor(d + 0.5))
            # columns read: right x - r - k - 2 ... x + r - k + 2 (half grid included)
            if x - r < 0 or x + r >= w or x - r - k - 2 < 0 or x + r - k + 2 > w - 1:
                continue
            # the five central costs in one pass over the window: 17 independent sums
            # (one chain per cost would be latency-bound; this layout is ~3x faster)
            b = x - r - k                   # window start in the right image at disparity k
            sl = sll = 0.0
            s0 = ss0 = sp0 = 0.0            # right, disparity k - 1: columns b + 1 ...
            s1 = ss1 = sp1 = 0.0            # right, k
            s2 = ss2 = sp2 = 0.0            # right, k + 1: columns b - 1 ...
            t0 = tt0 = tp0 = 0.0            # half, k - 0.5: columns b ...
            t1 = tt1 = tp1 = 0.0            # half, k + 0.5: columns b - 1 ...
            for dy in range(-r, r + 1):
                yy = y + dy
                for j in range(2 * r + 1):
                    a = np.float64(left[yy, x - r + j])
                    sl += a
                    sll += a * a
                    v = np.float64(right[yy, b + 1 + j])
                    s0 += v
                    ss0 += v * v
                    sp0 += a * v
                    v = np.float64(right[yy, b + j])
                    s1 += v
                    ss1 += v * v
                    sp1 += a * v
                    v = np.float64(right[yy, b - 1 + j])
                    s2 += v
                    ss2 += v * v
                    sp2 += a * v
                    v = np.float64(half[yy, b + j])
                    t0 += v
                    tt0 += v * v
                    tp0 += a * v
                    v = np.float64(half[yy, b - 1 + j])
                    t1 += v
                    tt1 += v * v
                    tp1 += a * v
            cm = _zncc(sl, sll, s0, ss0, sp0, n)
            c0 = _zncc(sl, sll, s1, ss1, sp1, n)
            cp = _zncc(sl, sll, s2, ss2, sp2, n)
            oi = _parabola(cm, c0, cp)
            if np.isnan(oi):
                continue
            hm = _zncc(sl, sll, t0, tt0, tp0, n)       # k - 0.5
            hp = _zncc(sl, sll, t1, tt1, tp1, n)       # k + 0.5
            if not (hm == hm and hp == hp):
                continue
            if hm < hp:
                hmm = _zncc_cost(left, half, y, x, r, x - r - k + 1, sl, sll, n)   # k - 1.5
                oh = k - 0.5 + _parabola(hmm, hm, hp)
            else:
                hpp = _zncc_cost(left, half, y, x, r, x - r - k - 2, sl, sll, n)   # k + 1.5
                oh = k + 0.5 + _parabola(hm, hp, hpp)
            if np.isnan(oh):
                continue
            est = 0.5 * ((k + oi) + oh)
            if abs(est - d) <= max_move:
                out[y, x] = np.float32(est)


__all__ = ["symmetric_subpixel"]
