"""Speckle removal: small isolated regions of similar disparity are usually mismatches.

Thin wrapper over ``cv2.filterSpeckles`` (OpenCV's connected-component filter) that works
on our float disparities (NaN = invalid) with the range given in pixels. The conversions
to and from OpenCV's int16 fixed point are single-pass Numba loops (NumPy boolean
indexing cost more than the filter itself).
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit

from .. import flags
from .invalidate import mark_invalid

_INVALID16 = -32768


@njit(cache=True)
def _max_abs_finite_bits(bits):
    """Largest |d| over finite pixels as float32 bits (uint32 view of the map), or
    0xFFFFFFFF when there are none. For non-negative floats the bit patterns order like
    the values, so this is an integer max the loop vectorises (the float version with a
    branch per pixel did not)."""
    m = np.uint32(0)
    anyf = np.uint32(0)
    for b in bits.ravel():
        a = b & np.uint32(0x7FFFFFFF)
        fin = a < np.uint32(0x7F800000)
        m = max(m, a if fin else np.uint32(0))
        anyf = max(anyf, np.uint32(1) if fin else np.uint32(0))
    return m if anyf else np.uint32(0xFFFFFFFF)


def _max_abs_finite(disp):
    """Largest |d| over finite pixels, -1 when there are none."""
    bits = _max_abs_finite_bits(disp.view(np.uint32))
    if bits == 0xFFFFFFFF:
        return np.float32(-1.0)
    return np.array([bits], np.uint32).view(np.float32)[0]


@njit(cache=True)
def _to_fixed(disp, scale, out):
    """NaN/inf -> INVALID; else rint(d * scale) (float32 arithmetic), INVALID moved up by one."""
    src = disp.ravel()
    dst = out.ravel()
    for i in range(src.size):
        v = src[i]
        if np.isfinite(v):
            q = np.int16(np.rint(v * scale))
            dst[i] = q if q != _INVALID16 else _INVALID16 + 1
        else:
            dst[i] = _INVALID16


@njit(cache=True)
def _removed(disp, fixed, out):
    """out = finite before and INVALID after the filter."""
    src = disp.ravel()
    fx = fixed.ravel()
    dst = out.ravel()
    for i in range(src.size):
        dst[i] = fx[i] == _INVALID16 and np.isfinite(src[i])


def _filtered_fixed(disp: np.ndarray, max_size: int, max_diff: float):
    """int16 fixed-point copy of ``disp`` after ``cv2.filterSpeckles``, or None if nothing to do."""
    largest = float(_max_abs_finite(disp))
    if max_size <= 0 or largest < 0:
        return None
    scale = 16.0 if largest * 16.0 < 32000.0 else 32000.0 / max(largest, 1.0)
    fixed = np.empty(disp.shape, np.int16)
    _to_fixed(disp, np.float32(scale), fixed)
    max_diff_fixed = max(0, int(np.floor(max_diff * scale + 1e-6)))
    cv2.filterSpeckles(fixed, _INVALID16, int(max_size), max_diff_fixed)
    return fixed


def speckle_mask(disparity: np.ndarray, max_size: int, max_diff: float) -> np.ndarray:
    """Boolean (H, W): valid pixels that belong to a speckle.

    A speckle is a 4-connected region of finite disparities, neighbours differing by at
    most ``max_diff`` pixels, of at most ``max_size`` pixels (OpenCV's
    ``maxSpeckleSize``). ``max_size <= 0`` finds none. The input is not modified.

    Disparities are converted to fixed point (x16, like OpenCV's matchers, or a coarser
    scale when |d| would not fit int16) before calling ``cv2.filterSpeckles``.
    """
    disp = np.ascontiguousarray(disparity, np.float32)
    fixed = _filtered_fixed(disp, max_size, max_diff)
    out = np.zeros(disp.shape, bool)
    if fixed is not None:
        _removed(disp, fixed, out)
    return out


def remove_speckles(disparity: np.ndarray, mask: np.ndarray, max_size: int, max_diff: float) -> None:
    """In place: set speckle pixels of ``disparity`` to NaN and flag them SPECKLE in ``mask``.

    ``disparity`` float32 and ``mask`` uint8, both (H, W) and C-contiguous.
    """
    mark_invalid(disparity, mask, speckle_mask(disparity, max_size, max_diff), flags.SPECKLE)


__all__ = ["speckle_mask", "remove_speckles"]
