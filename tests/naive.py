"""Slow pure-NumPy twins of the Numba kernels, for exact comparison in tests.

Several modules contribute here; each section is independent. Keep them obvious rather
than fast: they define what the kernels must compute.
"""

from __future__ import annotations

import math

import numpy as np

# --------------------------------------------------------------------------------------
# Disparity selection (stereo/postprocess/select.py)

BORDER, OUT_OF_RANGE, LR_MISMATCH, NOT_UNIQUE = 1, 2, 4, 8
_SUB = {"none": 0, "parabola": 1, "equiangular": 2}


def naive_select(volume, min_disparity, uniqueness_ratio=10, subpixel="parabola", lr_max_diff=1.0):
    """Return (disparity, mask, best, second, lr_distance) following the documented rules."""
    vol = np.asarray(volume)
    h, w, nd = vol.shape
    sent = int(np.iinfo(vol.dtype).max)
    cost = vol.astype(np.int64)
    valid = cost != sent
    disp = np.full((h, w), np.nan, np.float32)
    mask = np.zeros((h, w), np.uint8)
    best_out = np.full((h, w), min(sent, 2**31 - 1), np.int32)
    second_out = np.full((h, w), min(sent, 2**31 - 1), np.int32)
    lrd = np.full((h, w), np.nan, np.float32)
    mode = _SUB[subpixel]
    for y in range(h):
        # right disparity per x_r: arg-min over k of cost[y, x_r + d_k, k], ties -> smallest k
        right_k = np.full(w, -1)
        for xr in range(w):
            best_c = None
            for k in range(nd):
                x = xr + min_disparity + k
                if 0 <= x < w and valid[y, x, k] and (best_c is None or cost[y, x, k] < best_c):
                    best_c, right_k[xr] = cost[y, x, k], k
        for x in range(w):
            c = cost[y, x]
            if not valid[y, x].any():
                mask[y, x] = BORDER
                continue
            kb = int(np.argmin(c))
            b = int(c[kb])
            others = [int(c[k]) for k in range(nd) if abs(k - kb) > 1]
            second = min(others) if others else sent
            best_out[y, x] = min(b, 2**31 - 1)
            second_out[y, x] = min(second, 2**31 - 1)
            m = 0
            if kb == 0 or kb == nd - 1:
                m |= OUT_OF_RANGE
            if (kb > 0 and c[kb - 1] == sent) or (kb < nd - 1 and c[kb + 1] == sent):
                m |= BORDER
            if uniqueness_ratio > 0 and any(o != sent and o * (100 - uniqueness_ratio) < b * 100
                                             for o in others):
                m |= NOT_UNIQUE
            off = 0.0
            if mode and 0 < kb < nd - 1 and c[kb - 1] != sent and c[kb + 1] != sent:
                cm, cp = int(c[kb - 1]), int(c[kb + 1])
                den = 2 * (cm - 2 * b + cp) if mode == 1 else 2 * (max(cm, cp) - b)
                if den > 0:
                    off = min(0.5, max(-0.5, (cm - cp) / den))
            d = np.float32(float(min_disparity + kb) + off)
            if lr_max_diff >= 0:
                xr = int(math.floor(x - float(d) + 0.5))
                if 0 <= xr < w and right_k[xr] >= 0:
                    dist = abs(float(d) - float(min_disparity + right_k[xr]))
                    lrd[y, x] = np.float32(dist)
                    if dist > lr_max_diff:
                        m |= LR_MISMATCH
            mask[y, x] = m
            if m == 0:
                disp[y, x] = d
    return disp, mask, best_out, second_out, lrd


# --------------------------------------------------------------------------------------
# Block matching SAD volume (stereo/kernels/block_cost.py)

def naive_sad_volume(left, right, min_disparity, num_disparities, block_size, dtype=np.int32):
    """SAD over block_size^2 windows; images edge-replicated; dtype max where x - d is off-image."""
    r = block_size // 2
    h, w = left.shape
    L = left.astype(np.int64)
    R = right.astype(np.int64)
    sent = np.iinfo(dtype).max
    vol = np.full((h, w, num_disparities), sent, dtype)
    ys = np.clip(np.arange(-r, r + 1), None, None)
    for k in range(num_disparities):
        d = min_disparity + k
        # per-pixel absolute difference with replicated borders on both images
        for y in range(h):
            rows = np.clip(y + ys, 0, h - 1)
            for x in range(w):
                if not 0 <= x - d < w:
                    continue
                cols_l = np.clip(x + ys, 0, w - 1)
                cols_r = np.clip(x - d + ys, 0, w - 1)
                win_l = L[np.ix_(rows, cols_l)]
                win_r = R[np.ix_(rows, cols_r)]
                vol[y, x, k] = np.abs(win_l - win_r).sum()
    return vol
