"""Low-texture test for block matching: windows without enough contrast to match reliably."""

from __future__ import annotations

import cv2
import numpy as np

from ..kernels.prefilter import xsobel_magnitude


def low_texture_from_magnitude(magnitude: np.ndarray, block_size: int, threshold: float) -> np.ndarray:
    """Boolean (H, W) low-texture mask from a uint8 clipped-gradient image (see below)."""
    if threshold <= 0:
        return np.zeros(magnitude.shape, bool)
    # Unnormalised box sums of small integers are exact in float32 (below 2**24).
    total = cv2.boxFilter(magnitude, cv2.CV_32F, (block_size, block_size), normalize=False,
                          borderType=cv2.BORDER_REPLICATE)
    return total < threshold * block_size * block_size


def low_texture_mask(gray: np.ndarray, block_size: int, threshold: float, cap: int) -> np.ndarray:
    """Boolean (H, W): True where the window is too flat to match.

    The measure is OpenCV StereoBM's: the sum over the ``block_size`` x ``block_size``
    window of ``|x-Sobel|`` clipped to ``cap`` (8-bit scale, whatever the prefilter).
    Unlike OpenCV, which compares that sum with ``textureThreshold`` directly (so the
    meaning changes with the block size), the threshold here is per pixel: a window is
    low-texture when its sum is below ``threshold * block_size**2``, i.e. when the mean
    clipped gradient is below ``threshold``. ``threshold <= 0`` disables the test.
    """
    if threshold <= 0:
        return np.zeros(gray.shape, bool)
    return low_texture_from_magnitude(xsobel_magnitude(gray, cap), block_size, threshold)


__all__ = ["low_texture_mask", "low_texture_from_magnitude"]
