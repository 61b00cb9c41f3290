"""Uncalibrated rectification: rows line up on real raw pairs (checked with the
features' own residual and independently with chessboard corners), and bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calib.chessboard import Board, detect, match_order
from calib.uncalibrated import rectify_uncalibrated
from stereo.errors import CalibrationError, InputError
from stereo.paths import chessboard_dir


def _pair(i):
    root = chessboard_dir()
    left, right = root / f"left{i:06d}.jpg", root / f"right{i:06d}.jpg"
    if not left.exists():
        pytest.skip(f"shared chessboard set missing: {root}")
    return cv2.imread(str(left), cv2.IMREAD_GRAYSCALE), cv2.imread(str(right), cv2.IMREAD_GRAYSCALE)


@pytest.mark.chessboard
@pytest.mark.parametrize("index", [0, 14])
def test_raw_chessboard_pairs_rows_align(index):
    left, right = _pair(index)
    res = rectify_uncalibrated(left, right)
    assert res.n_inliers >= 30
    assert res.residual_dy_median < 1.0
    assert res.residual_dy_p95 < 2.0
    assert res.left_r.shape == left.shape and res.left_r.dtype == left.dtype
    assert np.allclose(res.F.ravel() @ res.F.ravel(), 1.0) or np.linalg.matrix_rank(res.F) == 2
    # Independent check with the board corners (not used to estimate anything): the
    # homographies put matching corners on about the same row (lens distortion, which a
    # homography cannot undo, costs up to ~1 px at the board), with positive disparity
    # inside the reported range: the board is the nearest object, so near its top.
    board = Board(11, 8, 0.03)
    dl, dr = detect(left, board), detect(right, board)
    assert dl.ok and dr.ok
    cr = match_order(dl.corners, dr.corners, 11, 8)
    pl = cv2.perspectiveTransform(dl.corners.reshape(-1, 1, 2).astype(np.float64), res.H1).reshape(-1, 2)
    pr = cv2.perspectiveTransform(cr.reshape(-1, 1, 2).astype(np.float64), res.H2).reshape(-1, 2)
    assert np.median(np.abs(pl[:, 1] - pr[:, 1])) < 1.5
    lo, hi = res.disparity_range
    assert lo == pytest.approx(0.0, abs=1e-6)
    d = pl[:, 0] - pr[:, 0]
    assert (d > 0).all() and np.median(d) > 0.5 * hi
    # The returned images are the inputs warped by H1/H2: corners are found where predicted.
    found = detect(res.left_r, board)
    if found.ok:
        found_c = match_order(pl, found.corners, 11, 8)
        assert np.median(np.linalg.norm(found_c - pl, axis=1)) < 0.5


def test_textureless_pair_is_refused():
    flat = np.full((120, 160), 90, np.uint8)
    with pytest.raises(CalibrationError, match="too few features"):
        rectify_uncalibrated(flat, flat)


def test_sizes_must_match():
    with pytest.raises(InputError, match="differ in size"):
        rectify_uncalibrated(np.zeros((100, 120), np.uint8), np.zeros((100, 121), np.uint8))
