"""Speckle removal: small isolated regions of similar disparity are usually mismatches.

Thin wrapper over ``cv2.filterSpeckles`` (OpenCV's connected-component filter) that works
on our float disparities (NaN = invalid) with the range given in pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import flags

_INVALID16 = -32768


def speckle_mask(disparity: np.ndarray, max_size: int, max_diff: float) -> np.ndarray:
    """Boolean (H, W): valid pixels that belong to a speckle.

    A speckle is a 4-connected region of finite disparities, neighbours differing by at
    most ``max_diff`` pixels, of at most ``max_size`` pixels (OpenCV's
    ``maxSpeckleSize``). ``max_size <= 0`` finds none. The input is not modified.

    Disparities are converted to fixed point (x16, like OpenCV's matchers, or a coarser
    scale when |d| would not fit int16) before calling ``cv2.filterSpeckles``.
    """
    disp = np.asarray(disparity, np.float32)
    valid = np.isfinite(disp)
    if max_size <= 0 or not valid.any():
        return np.zeros(disp.shape, bool)
    largest = float(np.abs(disp[valid]).max())
    scale = 16.0 if largest * 16.0 < 32000.0 else 32000.0 / max(largest, 1.0)
    fixed = np.full(disp.shape, _INVALID16, np.int16)
    fixed[valid] = np.rint(disp[valid] * scale).astype(np.int16)
    fixed[valid & (fixed == _INVALID16)] = _INVALID16 + 1
    before_invalid = ~valid
    max_diff_fixed = max(0, int(np.floor(max_diff * scale + 1e-6)))
    cv2.filterSpeckles(fixed, _INVALID16, int(max_size), max_diff_fixed)
    return (fixed == _INVALID16) & ~before_invalid


def remove_speckles(disparity: np.ndarray, mask: np.ndarray, max_size: int, max_diff: float) -> None:
    """In place: set speckle pixels of ``disparity`` to NaN and flag them SPECKLE in ``mask``."""
    speckles = speckle_mask(disparity, max_size, max_diff)
    disparity[speckles] = np.nan
    mask[speckles] |= flags.SPECKLE


__all__ = ["speckle_mask", "remove_speckles"]
