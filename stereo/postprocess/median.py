"""3x3 median filter that only looks at valid (finite) disparities.

OpenCV's medianBlur has no notion of invalid pixels (NaN would poison the window and a
0 placeholder would drag values down), so this small kernel is ours: each valid pixel
becomes the median of the valid pixels of its 3x3 neighbourhood (itself included; for an
even count the mean of the two middle values). Invalid pixels stay invalid.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _sort2(a, b):
    # plain comparisons (no NaN here): compiles to min/max instructions
    return (a, b) if a < b else (b, a)


@njit(cache=True, inline="always")
def _median9(p0, p1, p2, p3, p4, p5, p6, p7, p8):
    # Paeth's 19-exchange median network: branch-free on the common all-valid window.
    p1, p2 = _sort2(p1, p2)
    p4, p5 = _sort2(p4, p5)
    p7, p8 = _sort2(p7, p8)
    p0, p1 = _sort2(p0, p1)
    p3, p4 = _sort2(p3, p4)
    p6, p7 = _sort2(p6, p7)
    p1, p2 = _sort2(p1, p2)
    p4, p5 = _sort2(p4, p5)
    p7, p8 = _sort2(p7, p8)
    p3 = _sort2(p0, p3)[1]
    p5 = _sort2(p5, p8)[0]
    p4, p7 = _sort2(p4, p7)
    p6 = _sort2(p3, p6)[1]
    p4 = _sort2(p1, p4)[1]
    p2 = _sort2(p2, p5)[0]
    p4 = _sort2(p4, p7)[0]
    p4, p2 = _sort2(p4, p2)
    p4 = _sort2(p6, p4)[1]
    return _sort2(p4, p2)[0]


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
            if y > 0 and y < h - 1 and x > 0 and x < w - 1:
                a0 = src[y - 1, x - 1]
                a1 = src[y - 1, x]
                a2 = src[y - 1, x + 1]
                a3 = src[y, x - 1]
                a5 = src[y, x + 1]
                a6 = src[y + 1, x - 1]
                a7 = src[y + 1, x]
                a8 = src[y + 1, x + 1]
                if not (np.isnan(a0) or np.isnan(a1) or np.isnan(a2) or np.isnan(a3) or np.isnan(a5)
                        or np.isnan(a6) or np.isnan(a7) or np.isnan(a8)):
                    dst[y, x] = _median9(a0, a1, a2, a3, c, a5, a6, a7, a8)
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
