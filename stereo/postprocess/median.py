"""3x3 median filter that only looks at valid (finite) disparities.

OpenCV's medianBlur has no notion of invalid pixels (NaN would poison the window and a
0 placeholder would drag values down), so this small kernel is ours: each valid pixel
becomes the median of the valid pixels of its 3x3 neighbourhood (itself included; for an
even count the mean of the two middle values). Invalid pixels stay invalid.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def _median3x3(src, dst):
    h, w = src.shape
    for y in prange(h):
        vals = np.empty(9, np.float32)
        for x in range(w):
            c = src[y, x]
            if np.isnan(c):
                dst[y, x] = c
                continue
            n = 0
            for yy in range(max(y - 1, 0), min(y + 2, h)):
                for xx in range(max(x - 1, 0), min(x + 2, w)):
                    v = src[yy, xx]
                    if not np.isnan(v):
                        # insertion sort: at most 9 values
                        i = n
                        while i > 0 and vals[i - 1] > v:
                            vals[i] = vals[i - 1]
                            i -= 1
                        vals[i] = v
                        n += 1
            if n & 1:
                dst[y, x] = vals[n // 2]
            else:
                dst[y, x] = np.float32(0.5) * (vals[n // 2 - 1] + vals[n // 2])


def median3x3_valid(disparity: np.ndarray) -> np.ndarray:
    """Median of the valid 3x3 neighbours of every valid pixel; NaN stays NaN (new array)."""
    src = np.ascontiguousarray(disparity, dtype=np.float32)
    if src.ndim != 2:
        raise ValueError("disparity must be 2-D")
    dst = np.empty_like(src)
    _median3x3(src, dst)
    return dst
