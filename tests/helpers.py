"""Test helpers shared by several test modules (not twins: those are in naive.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stereo.paths import middlebury_dir

MIDDLEBURY = middlebury_dir()
"""MiddEval3 trainingQ folder the data tests read ($STEREO_DATA or ../shared/data)."""


def needs_scene(name: str = "Teddy"):
    """Skip marker for tests that read the MiddEval3 scene ``name``."""
    return pytest.mark.skipif(not (MIDDLEBURY / name / "im0.png").is_file(),
                              reason=f"MiddEval3 trainingQ scenes not found at {MIDDLEBURY} (set STEREO_DATA)")


def plane_and_square_pair(h=96, w=160, shift=7, seed=3):
    """Synthetic rectified pair: a textured plane at disparity ``shift`` px and a nearer
    40x30 px square at ``shift + 9`` px (uint8 grey, left and right)."""
    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.integers(0, 256, (h, w + 40)).astype(np.uint8), (3, 3), 0)
    left = tex[:, 20:20 + w].copy()
    right = tex[:, 20 + shift:20 + shift + w].copy()
    sq = tex[30:60, 60:100]
    left[30:60, 60:100] = sq
    right[30:60, 60 - shift - 9:100 - shift - 9] = sq
    return left, right
