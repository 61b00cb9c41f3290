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


@njit(cache=True, inline="always")
def background_of(a, b):
    """The farther (smaller) of a hole's two bounding disparities; the other one when one
    is missing (NaN), NaN when both are: the Middlebury SDK's fill value."""
    if np.isnan(a):
        return b
    if np.isnan(b):
        return a
    return min(a, b)


@njit(cache=True, parallel=True)
def surface_fill_rows(disp, same_surface, out, kind, run_len):
    """Fill each NaN run of every row of ``disp`` into ``out`` and say how in ``kind``.

    A run bounded by valid disparities ``L`` (left) and ``R`` (right) with
    ``|L - R| <= same_surface`` px is one surface seen through a hole: linear
    interpolation from L to R (``kind`` 1). Otherwise (a depth edge, or one bound missing)
    it takes the smaller bound, the background (``kind`` 2: the Middlebury SDK rule).
    A row without valid pixels stays NaN (``kind`` 0). Valid pixels are copied.
    ``run_len`` gets the run's length (px) on its pixels, 0 on valid pixels.
    ``out``: float32 like ``disp``; ``kind``: uint8, ``run_len``: int32, same shape.
    """
    h, w = disp.shape
    for y in prange(h):
        row = disp[y]
        # valid pixels first, as whole-row copies (vectorised); the runs overwrite theirs
        out[y, :] = row
        kind[y, :] = KIND_NONE
        run_len[y, :] = 0
        x = 0
        while x < w:
            if not np.isnan(row[x]):
                x += 1
                continue
            s = x
            while x < w and np.isnan(row[x]):
                x += 1
            left = np.float64(row[s - 1]) if s > 0 else np.nan
            right = np.float64(row[x]) if x < w else np.nan
            for i in range(s, x):
                run_len[y, i] = x - s
            if not np.isnan(left) and not np.isnan(right) and abs(left - right) <= same_surface:
                span = np.float64(x - s + 1)
                for i in range(s, x):
                    out[y, i] = np.float32(left + (right - left) * (np.float64(i - s + 1) / span))
                    kind[y, i] = KIND_SURFACE
                continue
            fillv = background_of(left, right)
            k = KIND_NONE if np.isnan(fillv) else KIND_BACKGROUND
            for i in range(s, x):
                out[y, i] = np.float32(fillv)
                kind[y, i] = k


@njit(cache=True, inline="always")
def _combine(rows, krow, srow, mask, filled_flag, y, x, col_value, kc, col_len):
    """One NaN pixel: merge the row pass (already in ``rows``) with the column pass's value."""
    kr = krow[y, x]
    if kr == KIND_SURFACE and kc == KIND_SURFACE:
        rows[y, x] = np.float32(0.5) * (rows[y, x] + col_value)
    elif (kc == KIND_SURFACE) or (kr == KIND_NONE and kc != KIND_NONE):
        rows[y, x] = col_value
    elif kr == KIND_BACKGROUND and kc == KIND_BACKGROUND and col_len < srow[y, x]:
        rows[y, x] = col_value
    if not np.isnan(rows[y, x]):
        mask[y, x] |= filled_flag


@njit(cache=True, parallel=True)
def fill_columns_and_combine(disp, same_surface, rows, krow, srow, mask, filled_flag):
    """The column pass of :func:`surface_fill_rows`'s rule, merged into the row pass's
    result (``rows``, ``krow``, ``srow``) in place; ORs ``filled_flag`` into ``mask`` on
    every NaN pixel of ``disp`` that got a value.

    Per pixel: both passes interpolated -> their mean; only the column interpolated, or the
    row found no valid pixel -> the column's value; both took a background -> the one of
    the shorter run (its bounds are nearer the pixel; ties: the row); otherwise the row's.

    Runs along columns are found while walking the rows in order (per column: the last
    valid row), blocks of columns in parallel: memory is read row-major, no transposed
    copies (those cost more than both passes together on a 718x496 map).
    """
    h, w = disp.shape
    block = 64
    for b in prange((w + block - 1) // block):
        x0 = b * block
        x1 = min(x0 + block, w)
        last = np.full(x1 - x0, -1, np.int64)     # last valid row of each column, -1: none yet
        for y in range(h + 1):
            for x in range(x0, x1):
                if y < h and np.isnan(disp[y, x]):
                    continue
                s = last[x - x0] + 1              # the run is rows s .. y - 1
                if y > s:
                    top = np.float64(disp[s - 1, x]) if s > 0 else np.nan
                    bottom = np.float64(disp[y, x]) if y < h else np.nan
                    n = y - s
                    if not np.isnan(top) and not np.isnan(bottom) and abs(top - bottom) <= same_surface:
                        span = np.float64(n + 1)
                        for i in range(s, y):
                            v = np.float32(top + (bottom - top) * (np.float64(i - s + 1) / span))
                            _combine(rows, krow, srow, mask, filled_flag, i, x, v, KIND_SURFACE, n)
                    else:
                        fillv = background_of(top, bottom)
                        k = KIND_NONE if np.isnan(fillv) else KIND_BACKGROUND
                        for i in range(s, y):
                            _combine(rows, krow, srow, mask, filled_flag, i, x, np.float32(fillv), k, n)
                last[x - x0] = y


__all__ = ["surface_fill_rows", "fill_columns_and_combine", "KIND_NONE", "KIND_SURFACE", "KIND_BACKGROUND"]
