"""Window-averaged absolute-difference and Birchfield-Tomasi costs (Numba kernels).

Both costs are computed per disparity on the whole image, box-averaged over the match
window with running sums, and stored as uint8 (mean over the window, 0..255 for 8-bit
input) so the aggregation sees the same narrow range as the census cost.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def window_cost_volume(left, right, min_disparity, num_disparities, nd_alloc, win_w, win_h, mode,
                       invalid_cost):
    """Cost volume (H, W, D) uint8 from two grey uint8 images.

    ``mode`` 0: mean absolute difference (SAD / window area); ``mode`` 1: mean
    Birchfield-Tomasi dissimilarity (insensitive to half-pixel sampling offsets). The
    window is clipped at the image border (the mean uses the pixels inside). Cells whose
    match ``x - d`` falls outside the right image get ``invalid_cost``. The disparity axis
    has ``nd_alloc >= num_disparities`` entries; the extra (padding) cells hold 255.
    """
    h, w = left.shape
    rh = win_h // 2
    rw = win_w // 2
    out = np.empty((h, w, nd_alloc), dtype=np.uint8)
    out[:, :, num_disparities:] = 255
    for j in prange(num_disparities):
        d = min_disparity + j
        pix = np.zeros((h, w), dtype=np.int32)   # 2 x per-pixel dissimilarity
        for y in range(h):
            for x in range(w):
                xr = x - d
                if xr < 0 or xr >= w:
                    continue
                il = 2 * np.int32(left[y, x])
                ir = 2 * np.int32(right[y, xr])
                if mode == 0:
                    pix[y, x] = abs(il - ir)
                else:
                    # right pixel against the left interval, and vice versa
                    rm = (ir + 2 * np.int32(right[y, max(xr - 1, 0)])) // 2
                    rp = (ir + 2 * np.int32(right[y, min(xr + 1, w - 1)])) // 2
                    rmin = min(ir, min(rm, rp))
                    rmax = max(ir, max(rm, rp))
                    dl = max(0, max(il - rmax, rmin - il))
                    lm = (il + 2 * np.int32(left[y, max(x - 1, 0)])) // 2
                    lp = (il + 2 * np.int32(left[y, min(x + 1, w - 1)])) // 2
                    lmin = min(il, min(lm, lp))
                    lmax = max(il, max(lm, lp))
                    dr = max(0, max(ir - lmax, lmin - ir))
                    pix[y, x] = min(dl, dr)
        # box mean: vertical running sums into colsum, then horizontal over each row
        colsum = np.zeros(w, dtype=np.int32)
        for y in range(min(rh, h)):
            for x in range(w):
                colsum[x] += pix[y, x]
        for y in range(h):
            ya = y + rh
            if ya < h:
                for x in range(w):
                    colsum[x] += pix[ya, x]
            yr = y - rh - 1
            if yr >= 0:
                for x in range(w):
                    colsum[x] -= pix[yr, x]
            rows = min(y + rh, h - 1) - max(y - rh, 0) + 1
            acc = 0
            for x in range(min(rw, w)):
                acc += colsum[x]
            for x in range(w):
                xa = x + rw
                if xa < w:
                    acc += colsum[xa]
                xr_ = x - rw - 1
                if xr_ >= 0:
                    acc -= colsum[xr_]
                if x - d < 0 or x - d >= w:
                    out[y, x, j] = invalid_cost
                else:
                    cols = min(x + rw, w - 1) - max(x - rw, 0) + 1
                    out[y, x, j] = min(255, (acc + rows * cols) // (2 * rows * cols))
    return out
