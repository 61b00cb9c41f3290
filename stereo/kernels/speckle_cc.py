"""Speckle regions: 4-connected components of similar float disparities, in parallel bands.

A *region* is a 4-connected set of finite disparities in which neighbours differ by at most
``max_diff`` px (``|d_a - d_b| <= max_diff``, evaluated in float64 from the float32 values);
NaN and +-inf belong to no region. A region of at most ``max_size`` pixels is a *speckle*.
This is the definition of OpenCV's ``filterSpeckles`` (``count <= maxSpeckleSize``, pixels
equal to ``newVal`` excluded, ``|a - b| <= maxDiff``), evaluated on the floats themselves
instead of OpenCV's int16 fixed point. The project used to call ``filterSpeckles`` on
``rint(16 d)`` with ``floor(16 max_diff)``; both agree when every disparity and ``max_diff``
are multiples of 1/16 px, and otherwise differ only where a neighbour step lies within
1/16 px of ``max_diff``.

Algorithm (union-find with sizes stored at the roots, one int32 per pixel):

1. The rows are cut into ``nbands`` horizontal bands; each band is labelled independently
   (``prange``) in one raster scan, joining each pixel to its left and upper neighbours
   inside the band. ``lab[p] >= 0`` is the parent of ``p``; ``lab[p] < 0`` marks a root and
   holds minus the size of its tree. Bands only touch their own entries.
2. Serially, the components are joined across the ``nbands - 1`` seams (one row pair each).
3. In parallel again, every finite pixel looks up its root (read-only) and, when the root's
   size is at most ``max_size``, is marked: NaN + a flag bit in place, or True in a mask.

The set of speckle pixels is a property of the map alone, so the result is identical for any
band or thread count (the tests compare 1 band, many bands and a serial flood fill).
Non-finite pixels' ``lab`` entries are never written or read.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _find(lab, p):
    """Root of ``p`` with path halving (only for entries the calling thread owns)."""
    while True:
        q = lab[p]
        if q < 0:
            return p
        r = lab[q]
        if r < 0:
            return q
        lab[p] = r
        p = r


@njit(cache=True, inline="always")
def _union(lab, a, b):
    """Join two distinct roots; the lower index stays root and carries the summed size."""
    if b < a:
        a, b = b, a
    lab[a] += lab[b]
    lab[b] = a
    return a


@njit(cache=True, inline="always")
def _near(v, u, max_diff):
    # v is known finite; u may be anything (NaN/inf never join a region).
    return np.isfinite(u) and abs(np.float64(v) - np.float64(u)) <= max_diff


@njit(cache=True)
def _label_band(d, lab, w, y0, y1, max_diff):
    for y in range(y0, y1):
        row = y * w
        cur = -1                            # root of the pixel to the left, -1 if none
        for x in range(w):
            p = row + x
            v = d[p]
            if not np.isfinite(v):
                cur = -1
                continue
            r = -1
            if cur >= 0 and _near(v, d[p - 1], max_diff):
                r = cur
            if y > y0 and _near(v, d[p - w], max_diff):
                ru = _find(lab, p - w)
                if r < 0:
                    r = ru
                elif ru != r:
                    r = _union(lab, r, ru)
            if r < 0:
                lab[p] = -1
                r = p
            else:
                lab[p] = r
                lab[r] -= 1
            cur = r


@njit(cache=True)
def _join_seams(d, lab, h, w, nbands, max_diff):
    for band in range(1, nbands):
        y = band * h // nbands
        if y <= 0 or y >= h:
            continue
        for x in range(w):
            p = y * w + x
            v = d[p]
            if np.isfinite(v) and _near(v, d[p - w], max_diff):
                a = _find(lab, p)
                b = _find(lab, p - w)
                if a != b:
                    _union(lab, a, b)


@njit(cache=True, inline="always")
def _root(lab, p):
    """Read-only root lookup (safe while other threads read too)."""
    q = lab[p]
    while q >= 0:
        p = q
        q = lab[p]
    return p


@njit(cache=True, parallel=True)
def remove_small_regions(disp, mask, max_size, max_diff, flag, nbands):
    """In place: speckle pixels of ``disp`` (float32 (H, W), C-contiguous) become NaN and get
    ``flag`` OR-ed into ``mask`` (uint8, same shape). ``max_size`` >= 1 pixels, ``max_diff``
    px, ``1 <= nbands <= H``. Returns the number of pixels removed."""
    h, w = disp.shape
    d = disp.ravel()
    m = mask.ravel()
    lab = np.empty(h * w, np.int32)
    for band in prange(nbands):
        _label_band(d, lab, w, band * h // nbands, (band + 1) * h // nbands, max_diff)
    _join_seams(d, lab, h, w, nbands, max_diff)
    removed = 0
    for band in prange(nbands):
        n = 0
        for p in range(band * h // nbands * w, (band + 1) * h // nbands * w):
            if np.isfinite(d[p]) and -lab[_root(lab, p)] <= max_size:
                d[p] = np.nan
                m[p] |= flag
                n += 1
        removed += n
    return removed


@njit(cache=True, parallel=True)
def small_region_mask(disp, max_size, max_diff, nbands, out):
    """``out`` (bool (H, W)) = speckle pixels of ``disp`` (float32 (H, W), C-contiguous, not
    modified); same parameters as :func:`remove_small_regions`."""
    h, w = disp.shape
    d = disp.ravel()
    o = out.ravel()
    lab = np.empty(h * w, np.int32)
    for band in prange(nbands):
        _label_band(d, lab, w, band * h // nbands, (band + 1) * h // nbands, max_diff)
    _join_seams(d, lab, h, w, nbands, max_diff)
    for band in prange(nbands):
        for p in range(band * h // nbands * w, (band + 1) * h // nbands * w):
            o[p] = np.isfinite(d[p]) and -lab[_root(lab, p)] <= max_size


def bands(h: int) -> int:
    """Bands for ``h`` rows: one per thread (each seam is a serial pass over one row)."""
    return max(1, min(h, numba.get_num_threads()))


__all__ = ["remove_small_regions", "small_region_mask", "bands"]
