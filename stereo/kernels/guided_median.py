"""Intensity-guided weighted median over selected pixels of a dense disparity map.

For every selected pixel p the output is the weighted median of the map's values at the
samples ``p + (i, j)``, ``i, j`` in ``-radius, -radius + step, ..., radius`` (inside the
image, finite values only), each weighted by ``weights[|I(q) - I(p)|]`` (``I``: the uint8
guide image, ``weights``: a 256-entry integer table, e.g. ``round(2**16 exp(-k / scale))``;
weight-0 samples are left out). The weighted median is the smallest sample value whose
cumulative weight (samples sorted by value) reaches half the total. Unselected pixels are copied; every sample is read from the input,
never from the output (the result does not depend on the pixel order).

Why (SGBM's dense output, :mod:`stereo.postprocess.fill`): a scanline fill knows only the
two ends of a hole, so a hole crossing a depth edge takes one side's value throughout; the
pixels that look like the other side (similar intensity) should take that side's
disparity. A median keeps edges sharp where a weighted mean would blur across them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _weighted_median(vals, wts, k):
    """Weighted median of ``vals[:k]`` with integer weights ``wts[:k]`` (total > 0): the
    smallest value ``v`` whose weight of samples ``<= v`` reaches half the total (the
    sample where the cumulative weight, values ascending, crosses one half).

    Counts instead of sorting: for every sample the weight at or below it, O(k^2) but
    branch-free and vectorised (1.5-2x faster than a weighted quickselect for k = 9..49,
    and far faster than an insertion sort); integer weights make every sum exact.
    """
    total = np.int32(0)
    for i in range(k):
        total += wts[i]
    need = (total + 1) // 2
    best = np.float32(np.inf)
    for j in range(k):
        vj = vals[j]
        below = np.int32(0)
        for i in range(k):
            below += wts[i] * np.int32(vals[i] <= vj)
        if below >= need and vj < best:
            best = vj
    return best


@njit(cache=True, parallel=True)
def guided_median_selected(disp, selected, guide, offsets, weights, out):
    """Write into ``out`` (float32, like ``disp``) the guided weighted median at selected pixels.

    ``disp``: float32 (H, W) px, NaN = no value (not sampled); ``selected``: bool (H, W);
    ``guide``: uint8 (H, W); ``offsets``: int64 (S, 2) sample offsets ``(dy, dx)`` in px;
    ``weights``: int32 (256,), >= 0 (a sample of weight 0 is left out). Pixels not
    selected, or without any sample, get ``disp``'s value.
    """
    h, w = disp.shape
    n = offsets.shape[0]
    for y in prange(h):
        vals = np.empty(n, np.float32)
        wts = np.empty(n, np.int32)
        for x in range(w):
            out[y, x] = disp[y, x]
            if not selected[y, x]:
                continue
            g0 = np.int32(guide[y, x])
            k = 0
            for s in range(n):
                # branch-free gather: clamped reads, the sample counts only when usable
                yy = y + offsets[s, 0]
                xx = x + offsets[s, 1]
                inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
                yc = min(max(yy, 0), h - 1)
                xc = min(max(xx, 0), w - 1)
                v = disp[yc, xc]
                wq = weights[abs(np.int32(guide[yc, xc]) - g0)]
                vals[k] = v
                wts[k] = wq
                k += np.int64(inside & (v == v) & (wq > 0))
            if k > 0:
                out[y, x] = _weighted_median(vals, wts, k)


__all__ = ["guided_median_selected"]
