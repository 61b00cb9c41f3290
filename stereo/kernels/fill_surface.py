"""Scanline hole filling that keeps a surface when both ends of a hole lie on it.

One pass over the rows of a disparity map (float32, pixels, NaN = invalid); the column
pass runs it on the transposed map (:func:`stereo.postprocess.fill.fill_surface`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

KIND_NONE = np.uint8(0)
KIND_SURFACE = np.uint8(1)
KIND_BACKGROUND = np.uint8(2)


@njit(cache=True, parallel=True)
def surface_fill_rows(disp, same_surface, out, kind):
    """Fill each NaN run of every row of ``disp`` into ``out`` and say how in ``kind``.

    A run bounded by valid disparities ``L`` (left) and ``R`` (right) with
    ``|L - R| <= same_surface`` px is one surface seen through a hole: linear
    interpolation from L to R (``kind`` 1). Otherwise (a depth edge, or one bound missing)
    it takes the smaller bound, the background (``kind`` 2: the Middlebury SDK rule).
    A row without valid pixels stays NaN (``kind`` 0). Valid pixels are copied.
    ``out``: float32 like ``disp``; ``kind``: uint8, same shape.
    """
    h, w = disp.shape
    for y in prange(h):
        row = disp[y]
        x = 0
        while x < w:
            v = row[x]
            if not np.isnan(v):
                out[y, x] = v
                kind[y, x] = KIND_NONE
                x += 1
                continue
            s = x
            while x < w and np.isnan(row[x]):
                x += 1
            left = np.float64(row[s - 1]) if s > 0 else np.nan
            right = np.float64(row[x]) if x < w else np.nan
            if not np.isnan(left) and not np.isnan(right) and abs(left - right) <= same_surface:
                span = np.float64(x - s + 1)
                for i in range(s, x):
                    out[y, i] = np.float32(left + (right - left) * (np.float64(i - s + 1) / span))
                    kind[y, i] = KIND_SURFACE
                continue
            if np.isnan(left):
                fillv = right
            elif np.isnan(right):
                fillv = left
            else:
                fillv = min(left, right)
            k = KIND_NONE if np.isnan(fillv) else KIND_BACKGROUND
            for i in range(s, x):
                out[y, i] = np.float32(fillv)
                kind[y, i] = k


@njit(cache=True, parallel=True)
def combine_fills(disp, rows, krow, cols_t, kcol_t, mask, filled_flag):
    """Merge the row pass (``rows``, ``krow``) and the column pass (computed on the
    transposed map: ``cols_t``, ``kcol_t``) into ``rows``, in place; OR ``filled_flag``
    into ``mask`` on every NaN pixel of ``disp`` that got a value.

    Per pixel: both passes interpolated -> their mean; only the column interpolated, or the
    row found no valid pixel -> the column's value; otherwise the row's value.
    """
    h, w = disp.shape
    for y in prange(h):
        for x in range(w):
            if not np.isnan(disp[y, x]):
                continue
            kr = krow[y, x]
            kc = kcol_t[x, y]
            if kr == KIND_SURFACE and kc == KIND_SURFACE:
                rows[y, x] = np.float32(0.5) * (rows[y, x] + cols_t[x, y])
            elif (kc == KIND_SURFACE) or (kr == KIND_NONE and kc != KIND_NONE):
                rows[y, x] = cols_t[x, y]
            if not np.isnan(rows[y, x]):
                mask[y, x] |= filled_flag


__all__ = ["surface_fill_rows", "combine_fills", "KIND_NONE", "KIND_SURFACE", "KIND_BACKGROUND"]
