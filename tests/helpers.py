"""Test helpers shared by several test modules (not twins: those are in naive.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stereo.io.pfm import read_pfm

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


def scene_gray(name: str = "Teddy"):
    """``(left, right, gt, nonocc)`` of a MiddEval3 scene: grey uint8 images, ground truth
    (float32 px, inf unknown) and the non-occluded mask with known ground truth (bool)."""
    d = MIDDLEBURY / name
    left = cv2.imread(str(d / "im0.png"), cv2.IMREAD_GRAYSCALE)
    right = cv2.imread(str(d / "im1.png"), cv2.IMREAD_GRAYSCALE)
    gt = read_pfm(d / "disp0GT.pfm")
    nonocc = (cv2.imread(str(d / "mask0nocc.png"), cv2.IMREAD_GRAYSCALE) == 255) & np.isfinite(gt)
    return left, right, gt, nonocc
