"""The records a source yields: a pair named on disk, and a pair loaded in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class PairRef:
    """One stereo pair named by its files (nothing is read).

    ``name`` is unique within its source and safe as a file-name stem (outputs of pair
    ``name`` go to ``OUT/name/``). ``calib`` and ``gt`` are optional per-pair files (a
    Middlebury scene's ``calib.txt`` and ``disp0GT.pfm``, say).
    """

    name: str
    left: Path
    right: Path
    calib: Path | None = None
    gt: Path | None = None


@dataclass
class FramePair:
    """One loaded stereo pair: images as read (BGR or grey, 8/16-bit), left = reference.

    ``stamp`` is seconds (a file's position in its sequence gives None; videos and bags
    give their own timestamps). ``meta`` holds what a source knows beyond that (a bag's
    integer-nanosecond stamps and frame ids, say), or None.
    """

    index: int
    name: str
    left: np.ndarray
    right: np.ndarray
    stamp: float | None = None
    meta: dict | None = None
