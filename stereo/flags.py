"""Bit flags saying why a disparity pixel is invalid (or how it was obtained).

Every matcher returns, beside the float32 disparity map, a ``uint8`` mask of the same
shape in which each set bit names one reason. A pixel is valid when
``mask & INVALID == 0``; its disparity is then finite. Several bits may be set at once
(a pixel can be both not unique and a left-right mismatch). ``FILLED`` is informational:
the pixel failed a check but hole filling gave it a value, so it is finite and
``mask & INVALID`` still names the original reason.
"""

from __future__ import annotations

import numpy as np

BORDER = np.uint8(1)
"""The match window, or every candidate match, falls outside the image."""
OUT_OF_RANGE = np.uint8(2)
"""The best cost lies on the edge of the search range: the true match may be beyond it."""
LR_MISMATCH = np.uint8(4)
"""The right-to-left match disagrees with the left-to-right one by more than the tolerance."""
NOT_UNIQUE = np.uint8(8)
"""Another disparity has a cost within the uniqueness ratio of the best one."""
LOW_TEXTURE = np.uint8(16)
"""The reference window has too little texture for a reliable match."""
SPECKLE = np.uint8(32)
"""The pixel belongs to a small isolated region of similar disparities."""
FILLED = np.uint8(64)
"""The pixel was invalid and hole filling gave it a value (informational)."""
OUTSIDE_VALID_REGION = np.uint8(128)
"""The pixel lies outside the valid region of a rectified image."""

INVALID = np.uint8(BORDER | OUT_OF_RANGE | LR_MISMATCH | NOT_UNIQUE | LOW_TEXTURE | SPECKLE
                   | OUTSIDE_VALID_REGION)
"""All the bits that make a pixel invalid."""

NAMES = {
    int(BORDER): "border",
    int(OUT_OF_RANGE): "out_of_range",
    int(LR_MISMATCH): "lr_mismatch",
    int(NOT_UNIQUE): "not_unique",
    int(LOW_TEXTURE): "low_texture",
    int(SPECKLE): "speckle",
    int(FILLED): "filled",
    int(OUTSIDE_VALID_REGION): "outside_valid_region",
}


def describe(mask: np.ndarray) -> dict[str, int]:
    """Count the pixels carrying each flag: ``{"border": 120, ...}`` (flags may overlap)."""
    mask = np.asarray(mask)
    return {name: int(np.count_nonzero(mask & bit)) for bit, name in NAMES.items()}


__all__ = ["BORDER", "OUT_OF_RANGE", "LR_MISMATCH", "NOT_UNIQUE", "LOW_TEXTURE", "SPECKLE",
           "FILLED", "OUTSIDE_VALID_REGION", "INVALID", "NAMES", "describe"]
