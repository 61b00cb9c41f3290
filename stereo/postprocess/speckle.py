"""Speckle removal: small isolated regions of similar disparity are usually mismatches.

A speckle is a 4-connected region of finite disparities, neighbours differing by at most
``max_diff`` px, of at most ``max_size`` pixels: OpenCV's ``filterSpeckles`` definition
(``maxSpeckleSize``, ``maxDiff``), evaluated on the float32 disparities directly instead of
an int16 x16 fixed-point copy (see :mod:`stereo.kernels.speckle_cc`, which labels the
regions in parallel horizontal bands; the result does not depend on the thread count).
"""

from __future__ import annotations

import numpy as np

from .. import flags
from ..kernels.speckle_cc import bands, remove_small_regions, small_region_mask
from .invalidate import mark_invalid


def _max_diff(max_diff: float) -> float:
    max_diff = float(max_diff)
    if np.isnan(max_diff):
        raise ValueError("max_diff must not be NaN")
    return max_diff


def speckle_mask(disparity: np.ndarray, max_size: int, max_diff: float) -> np.ndarray:
    """Boolean (H, W): valid pixels that belong to a speckle.

    A speckle is a 4-connected region of finite disparities, neighbours differing by at
    most ``max_diff`` pixels (``|d_a - d_b| <= max_diff`` on the float values), of at most
    ``max_size`` pixels (OpenCV's ``maxSpeckleSize``). NaN and inf belong to no region.
    ``max_size <= 0`` finds none. The input is not modified.
    """
    disp = np.ascontiguousarray(disparity, np.float32)
    out = np.zeros(disp.shape, bool)
    if int(max_size) > 0 and disp.size:
        small_region_mask(disp, int(max_size), _max_diff(max_diff), bands(disp.shape[0]), out)
    return out


def remove_speckles(disparity: np.ndarray, mask: np.ndarray, max_size: int, max_diff: float) -> int:
    """In place: set speckle pixels of ``disparity`` to NaN and flag them SPECKLE in ``mask``.

    ``disparity`` float32 and ``mask`` uint8, both (H, W) (C-contiguous ones take the fused
    one-kernel path); speckles as in :func:`speckle_mask`. Returns the number of pixels removed.
    """
    if int(max_size) <= 0 or disparity.size == 0:
        return 0
    if not (disparity.dtype == np.float32 and mask.dtype == np.uint8 and disparity.ndim == 2
            and disparity.shape == mask.shape and disparity.flags.c_contiguous
            and mask.flags.c_contiguous and disparity.flags.writeable):
        where = speckle_mask(disparity, max_size, max_diff)     # rare layouts: two passes
        mark_invalid(disparity, mask, where, flags.SPECKLE)
        return int(np.count_nonzero(where))
    return int(remove_small_regions(disparity, mask, int(max_size), _max_diff(max_diff),
                                    flags.SPECKLE, bands(disparity.shape[0])))


__all__ = ["speckle_mask", "remove_speckles"]
