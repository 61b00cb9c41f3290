"""The result of one stereo match."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import flags


@dataclass
class MatchResult:
    """What a matcher's ``match(left, right)`` returns.

    Attributes:
        disparity: float32 (H, W), pixels, ``d = x_left - x_right``, NaN where invalid.
        mask: uint8 (H, W) bit flags from :mod:`stereo.flags`; 0 = valid.
        confidence: float32 (H, W) in [0, 1] (1 = most confident, 0 where invalid), or
            None when the matcher does not compute one.
        min_disparity, num_disparities: the search range used; valid disparities lie in
            ``[min_disparity, min_disparity + num_disparities - 1]``.
    """

    disparity: np.ndarray
    mask: np.ndarray
    min_disparity: int
    num_disparities: int
    confidence: np.ndarray | None = None

    @property
    def valid(self) -> np.ndarray:
        """Boolean (H, W): True where the disparity is a finite, trusted value."""
        return np.isfinite(self.disparity)

    @property
    def density(self) -> float:
        """Fraction of pixels with a finite disparity."""
        return float(np.count_nonzero(self.valid)) / max(1, self.disparity.size)

    def reasons(self) -> dict[str, int]:
        """Number of pixels per invalid-reason flag."""
        return flags.describe(self.mask)
