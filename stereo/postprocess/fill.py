"""Background hole filling along scanlines (also the official Middlebury dense scoring rule).

Every run of invalid (NaN) pixels on a row takes the smaller of the two valid disparities
that bound it, i.e. the farther surface: holes in a left view are mostly occlusions next
to a depth edge, and the occluded surface is the background. A run touching the image
border takes its only neighbour; a row without any valid pixel stays NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import flags

_FILLED = np.uint8(flags.FILLED)


@njit(cache=True, parallel=True)
def _fill_rows(disp, mask, filled):
    h, w = disp.shape
    for y in prange(h):
        row = disp[y]
        x = 0
        while x < w:
            if not np.isnan(row[x]):
                x += 1
                continue
            start = x
            while x < w and np.isnan(row[x]):
                x += 1
            left = row[start - 1] if start > 0 else np.nan
            right = row[x] if x < w else np.nan
            if np.isnan(left):
                v = right
            elif np.isnan(right):
                v = left
            else:
                v = min(left, right)
            if not np.isnan(v):
                for i in range(start, x):
                    filled[y, i] = v
                    mask[y, i] |= _FILLED


def fill_background(disparity: np.ndarray, mask: np.ndarray | None = None):
    """Fill NaN runs on each row with the smaller bounding disparity (pixels, float32).

    Returns ``(filled, mask)``: new arrays (inputs are not modified); ``mask`` (uint8
    flags, zeros when not given) gains ``FILLED`` on every pixel that received a value,
    keeping its invalid-reason bits.
    """
    disp = np.ascontiguousarray(disparity, dtype=np.float32)
    if disp.ndim != 2:
        raise ValueError("disparity must be 2-D")
    out_mask = np.zeros(disp.shape, np.uint8) if mask is None else np.array(mask, dtype=np.uint8)
    filled = disp.copy()
    _fill_rows(disp, out_mask, filled)
    return filled, out_mask
