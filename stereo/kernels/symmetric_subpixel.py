"""Symmetric (half-pixel-shift) sub-pixel estimate at the SGM winner, on locally fronto-parallel surfaces.

Why: sub-pixel interpolation of matching costs is biased towards integer disparities
(pixel locking), and SGM's P1 penalty adds to it: near the winner the aggregated costs of
d +- 1 carry the P1 they do not pay, which flattens the fit. The plane refinement
(:mod:`stereo.kernels.refine`) undoes that on slants, where its window spans several
integer plateaus, but not where the surface changes by less than about one disparity over
its window: there all samples share the same bias. Shimizu and Okutomi (ICCV 2001) showed
that the interpolation's bias is, to first order, an odd periodic function of the true
fraction, so an estimate on a grid shifted by half a pixel has the opposite bias and the
mean of the two cancels it.

For each valid pixel p with disparity d (px; left x matches right x - d) that passes the
gate, this kernel computes ``1 - ZNCC`` (zero-mean normalised cross-correlation) of the
(2r+1) x (2r+1) window of the left image against the right image at ``k - 1, k, k + 1``
(k = round(d)) and at the half-pixel points ``k +- 0.5`` and ``k - 1.5`` or ``k + 1.5``
(the right image linearly interpolated half-way between columns: the same blur for every
half-grid cost), fits a parabola on each grid (the integer grid centred at k, the half
grid at the lower of ``k - 0.5``, ``k + 0.5``) and replaces d by the mean of the two
vertices when it lies within ``max_move`` px of d. The estimate is noisy per pixel (a small
window); the plane refinement run afterwards averages the noise, which it cannot do for
a bias.

Gate: the disparities at ``p +- (span, 0)`` and ``p +- (0, span)`` are valid and differ by
less than ``max_step`` across p on both axes (the fronto-parallel window is a fair model).
Pixels whose window or shifted windows leave the image, whose windows have no texture,
or whose costs have no minimum keep d.

Exact integer arithmetic: the images are uint8 (the half-grid image is stored as the sum
of two neighbours, uint16: ZNCC does not see the factor 2), the window sums are int64, so
the result does not depend on the order of the sums (sliding column sums, prefix sums
along rows and along runs of equal k).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _zncc(n, sl, sll, sr, srr, slr):
    """``1 - ZNCC`` from integer window sums (n pixels); NaN when a window has no texture."""
    vl = n * sll - sl * sl
    vr = n * srr - sr * sr
    if vl <= 0 or vr <= 0:
        return np.nan
    return 1.0 - np.float64(n * slr - sl * sr) / math.sqrt(np.float64(vl) * np.float64(vr))


@njit(cache=True, inline="always")
def _parabola(cm, c0, cp):
    """Vertex offset of the parabola through (-1, cm), (0, c0), (1, cp), clipped to +-0.5;
    NaN when the three costs have no minimum near 0 (or one is NaN)."""
    den = cm - 2.0 * c0 + cp
    if not den > 0.0:
        return np.nan
    o = (cm - cp) / (2.0 * den)
    return min(0.5, max(-0.5, o))


@njit(cache=True, inline="always")
def _add_row(col, left, right, half2, yy, sign):
    """Add (sign +1) or remove (-1) image row yy to the column sums ``col`` (6, w): the
    three images and their squares."""
    for c in range(col.shape[1]):
        u = np.int64(left[yy, c])
        v = np.int64(right[yy, c])
        t = np.int64(half2[yy, c])
        col[0, c] += sign * u
        col[1, c] += sign * (u * u)
        col[2, c] += sign * v
        col[3, c] += sign * (v * v)
        col[4, c] += sign * t
        col[5, c] += sign * (t * t)


@njit(cache=True, inline="always")
def _prefixes(col, pre):
    """``pre[i, c + 1]`` = sum of ``col[i, :c + 1]``, ``pre[i, 0] = 0``."""
    for i in range(6):
        t = np.int64(0)
        pre[i, 0] = 0
        for c in range(col.shape[1]):
            t += col[i, c]
            pre[i, c + 1] = t


@njit(cache=True, inline="always")
def _gated(disp, y, x, span, max_step):
    """p is valid and the disparities span px away differ by less than max_step on both axes."""
    d = disp[y, x]
    return (d == d and abs(disp[y, x + span] - disp[y, x - span]) < max_step
            and abs(disp[y + span, x] - disp[y - span, x]) < max_step)


@njit(cache=True)
def _row(disp, left, right, half2, r, span, max_step, max_move, out, y, pre, cross):
    """Re-estimate the gated pixels of row y (``pre``: the row's window-sum prefixes)."""
    h, w = disp.shape
    m = 2 * r + 1
    n = np.int64(m * m)
    pl, pll, pr, prr, ph, phh = pre[0], pre[1], pre[2], pre[3], pre[4], pre[5]
    x = span
    while x < w - span:
        if not _gated(disp, y, x, span, max_step):
            x += 1
            continue
        k = np.int64(math.floor(disp[y, x] + 0.5))
        x1 = x
        while (x1 + 1 < w - span and _gated(disp, y, x1 + 1, span, max_step)
               and np.int64(math.floor(disp[y, x1 + 1] + 0.5)) == k):
            x1 += 1
        # the run's pixels whose windows (all shifts) lie inside the images
        xa = max(x, r, r + k + 2)
        xb = min(x1, w - 1 - r, w - 1 - r + k - 2)
        x = x1 + 1
        if xa > xb:
            continue
        # prefix sums along the run of the column cross products, one row per shift:
        # right at column c - k + 1, c - k, c - k - 1 (disparities k - 1, k, k + 1), half2
        # at c - k + 1, c - k, c - k - 1, c - k - 2 (k - 1.5, k - 0.5, k + 0.5, k + 1.5)
        c0 = xa - r
        for i in range(7):
            cross[i, 0] = 0
        for c in range(c0, xb + r + 1):
            t0 = t1 = t2 = t3 = t4 = t5 = t6 = np.int64(0)
            cr = c - k
            for dy in range(-r, r + 1):
                yy = y + dy
                a = np.int64(left[yy, c])
                t0 += a * np.int64(right[yy, cr + 1])
                t1 += a * np.int64(right[yy, cr])
                t2 += a * np.int64(right[yy, cr - 1])
                t3 += a * np.int64(half2[yy, cr + 1])
                t4 += a * np.int64(half2[yy, cr])
                t5 += a * np.int64(half2[yy, cr - 1])
                t6 += a * np.int64(half2[yy, cr - 2])
            i = c - c0
            cross[0, i + 1] = cross[0, i] + t0
            cross[1, i + 1] = cross[1, i] + t1
            cross[2, i + 1] = cross[2, i] + t2
            cross[3, i + 1] = cross[3, i] + t3
            cross[4, i + 1] = cross[4, i] + t4
            cross[5, i + 1] = cross[5, i] + t5
            cross[6, i + 1] = cross[6, i] + t6
        for xx in range(xa, xb + 1):
            d = disp[y, xx]
            i0 = xx - r - c0              # the window's columns in the run: i0 .. i0 + m - 1
            b = xx - r - k                # window start in the right image at disparity k
            sl = pl[xx + r + 1] - pl[xx - r]
            sll = pll[xx + r + 1] - pll[xx - r]
            cm = _zncc(n, sl, sll, pr[b + 1 + m] - pr[b + 1], prr[b + 1 + m] - prr[b + 1],
                       cross[0, i0 + m] - cross[0, i0])
            cc = _zncc(n, sl, sll, pr[b + m] - pr[b], prr[b + m] - prr[b],
                       cross[1, i0 + m] - cross[1, i0])
            cp = _zncc(n, sl, sll, pr[b - 1 + m] - pr[b - 1], prr[b - 1 + m] - prr[b - 1],
                       cross[2, i0 + m] - cross[2, i0])
            oi = _parabola(cm, cc, cp)
            if np.isnan(oi):
                continue
            hm = _zncc(n, sl, sll, ph[b + m] - ph[b], phh[b + m] - phh[b],
                       cross[4, i0 + m] - cross[4, i0])                  # k - 0.5
            hp = _zncc(n, sl, sll, ph[b - 1 + m] - ph[b - 1], phh[b - 1 + m] - phh[b - 1],
                       cross[5, i0 + m] - cross[5, i0])                  # k + 0.5
            if not (hm == hm and hp == hp):
                continue
            if hm < hp:
                hmm = _zncc(n, sl, sll, ph[b + 1 + m] - ph[b + 1], phh[b + 1 + m] - phh[b + 1],
                            cross[3, i0 + m] - cross[3, i0])             # k - 1.5
                oh = k - 0.5 + _parabola(hmm, hm, hp)
            else:
                hpp = _zncc(n, sl, sll, ph[b - 2 + m] - ph[b - 2], phh[b - 2 + m] - phh[b - 2],
                            cross[6, i0 + m] - cross[6, i0])             # k + 1.5
                oh = k + 0.5 + _parabola(hm, hp, hpp)
            if np.isnan(oh):
                continue
            est = 0.5 * ((k + oi) + oh)
            if abs(est - d) <= max_move:
                out[y, xx] = np.float32(est)


_ROWS_PER_TASK = 16


@njit(cache=True, parallel=True)
def symmetric_subpixel(disp, left, right, half2, r, span, max_step, max_move, out):
    """Write ``disp`` with the symmetric estimate applied (see module doc) into ``out``.

    Args:
        disp: float32 (H, W) disparities, px, NaN = invalid.
        left, right: uint8 (H, W) grey images.
        half2: uint16 (H, W) twice the right image half-way between columns:
            ``half2[y, j] = right[y, j] + right[y, j + 1]`` (last column unused).
        r: window radius (window (2r+1)^2 px); span: gate distance, px; max_step: gate
            step, px (float32 comparison); max_move: px.
        out: float32 (H, W) output.

    Work: the plain window sums come from column sums over the 2r+1 rows (updated by one
    row in, one row out down a block of rows) and prefix sums along the row; runs of
    consecutive gated pixels with the same rounded disparity k share the cross products
    (one column sum per column and shift, 7 shifts, then prefix sums along the run).
    """
    h, w = disp.shape
    ntask = (h + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK
    for task in prange(ntask):
        col = np.zeros((6, w), np.int64)
        pre = np.empty((6, w + 1), np.int64)
        cross = np.empty((7, w + 1), np.int64)
        cy = -2                                  # col holds the sums around row cy
        for y in range(task * _ROWS_PER_TASK, min(h, (task + 1) * _ROWS_PER_TASK)):
            for x in range(w):
                out[y, x] = disp[y, x]
            if y - span < 0 or y + span >= h or y - r < 0 or y + r >= h:
                continue
            work = False
            for x in range(span, w - span):
                if _gated(disp, y, x, span, max_step):
                    work = True
                    break
            if not work:
                continue
            if cy == y - 1:
                _add_row(col, left, right, half2, y + r, 1)
                _add_row(col, left, right, half2, y - r - 1, -1)
            else:
                col[:] = 0
                for dy in range(-r, r + 1):
                    _add_row(col, left, right, half2, y + dy, 1)
            cy = y
            _prefixes(col, pre)
            _row(disp, left, right, half2, r, span, max_step, max_move, out, y, pre, cross)


__all__ = ["symmetric_subpixel"]
