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
from ..errors import InputError, ParameterError
from ..kernels.speckle_cc import bands, remove_small_regions, small_region_mask
from .invalidate import mark_invalid


def _params(shape, max_size, max_diff) -> tuple[int, float]:
    max_diff = float(max_diff)
    if not max_diff >= 0:
        raise ParameterError(f"max_diff must be >= 0 px, got {max_diff}")
    n = int(np.prod(shape))
    if n >= 2**31 - 1:
        raise InputError(f"speckle filtering labels pixels with int32: {shape} has too many pixels")
    # The kernel needs a finite max_diff (its difference test then rejects NaN and inf) and a
    # max_size below its int32 "no region" marker; no region is larger than the image.
    return min(int(max_size), n), min(max_diff, float(np.finfo(np.float64).max))


def speckle_mask(disparity: np.ndarray, max_size: int, max_diff: float) -> np.ndarray:
    """Boolean (H, W): valid pixels that belong to a speckle.

    A speckle is a 4-connected region of finite disparities, neighbours differing by at
    most ``max_diff`` pixels (``|d_a - d_b| <= max_diff`` on the float values), of at most
    ``max_size`` pixels (OpenCV's ``maxSpeckleSize``). NaN and inf belong to no region.
    ``max_size <= 0`` finds none; ``max_diff`` must be >= 0 (ParameterError otherwise). The input
    is not modified.
    """
    disp = np.ascontiguousarray(disparity, np.float32)
    out = np.zeros(disp.shape, bool)
    size, diff = _params(disp.shape, max_size, max_diff)
    if size > 0:
        small_region_mask(disp, size, diff, bands(disp.shape[0]), out)
    return out


def remove_speckles(disparity: np.ndarray, mask: np.ndarray, max_size: int, max_diff: float) -> int:
    """In place: set speckle pixels of ``disparity`` to NaN and flag them SPECKLE in ``mask``.

    ``disparity`` float32 and ``mask`` uint8, both (H, W) (C-contiguous ones take the fused
    one-kernel path); speckles as in :func:`speckle_mask`. Returns the number of pixels removed.
    """
    size, diff = _params(disparity.shape, max_size, max_diff)
    if size <= 0:
        return 0
    if not (disparity.dtype == np.float32 and mask.dtype == np.uint8 and disparity.ndim == 2
            and disparity.shape == mask.shape and disparity.flags.c_contiguous
            and mask.flags.c_contiguous and disparity.flags.writeable):
        where = speckle_mask(disparity, max_size, max_diff)     # rare layouts: two passes
        mark_invalid(disparity, mask, where, flags.SPECKLE)
        return int(np.count_nonzero(where))
    return int(remove_small_regions(disparity, mask, size, diff, flags.SPECKLE,
                                    bands(disparity.shape[0])))


__all__ = ["speckle_mask", "remove_speckles"]
