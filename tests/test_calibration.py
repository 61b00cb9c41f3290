"""Stereo calibration: units, board detection, synthetic rigs with known geometry, the
shared chessboard set (RMS bar) and bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calib.calibrate import CalibrationOptions, calibrate_stereo, pair_images
from calib.chessboard import (Board, canonical_order, describe_failure, detect, match_order, parse_board_size,
                              render_charuco)
from calib.rig import StereoRig
from calib.units import parse_length
from stereo.errors import CalibrationError, FileFormatError, InputError, ParameterError

# ---- synthetic scenes: a board texture warped by the exact homography of a camera pose ----
PPS, MARGIN = 40, 40          # texture pixels per square, white margin
K_TRUE = np.array([[520.0, 0, 322.0], [0, 518.0, 241.0], [0, 0, 1]])
R_TRUE, _ = cv2.Rodrigues(np.array([0.01, -0.02, 0.005]))
T_TRUE = np.array([-0.1, 0.002, 0.001])   # metres: right camera 10 cm to the right
SIZE = (640, 480)


def chessboard_texture(cols, rows):
    sq = np.indices((rows + 1, cols + 1)).sum(axis=0) % 2
    tex = np.kron(1 - sq, np.ones((PPS, PPS))).astype(np.uint8) * 255
    return cv2.copyMakeBorder(tex, MARGIN, MARGIN, MARGIN, MARGIN, cv2.BORDER_CONSTANT, value=255)


def render(tex, origin_px, square_m, R, t, K=K_TRUE):
    """Image of the board (board point (0,0) at texture pixel origin_px) seen at pose R, t."""
    s = square_m / PPS
    A = np.array([[s, 0, -origin_px * s], [0, s, -origin_px * s], [0, 0, 1.0]])
    H = K @ np.column_stack([R[:, 0], R[:, 1], t]) @ A
    return cv2.warpPerspective(tex, H, SIZE, flags=cv2.INTER_LINEAR, borderValue=128)


def board_poses(n, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        rvec = rng.uniform(-0.35, 0.35, 3) * np.array([1, 1, 0.3])
        R, _ = cv2.Rodrigues(rvec)
        t = np.array([rng.uniform(-0.15, -0.05), rng.uniform(-0.1, -0.03), rng.uniform(0.55, 0.8)])
        yield R, t


def synthetic_pairs(board: Board, tex, origin_px, n=8, seed=0):
    lefts, rights = [], []
    for R, t in board_poses(n, seed):
        lefts.append(render(tex, origin_px, board.square_m, R, t))
        rights.append(render(tex, origin_px, board.square_m, R_TRUE @ R, R_TRUE @ t + T_TRUE))
    return lefts, rights


# ---- units and small helpers ------------------------------------------------------------------
@pytest.mark.parametrize("text, metres", [("30mm", 0.03), ("0.03m", 0.03), ("3cm", 0.03), (" 1.5 in", 0.0381),
                                          ("2.5e1mm", 0.025), ("20 metres", 20.0)])
def test_parse_length_units(text, metres):
    assert parse_length(text) == pytest.approx(metres)


@pytest.mark.parametrize("text, match", [("30", "no unit"), ("abc", "cannot parse"), ("3 furlongs", "unknown unit"),
                                         ("-3mm", "> 0"), ("0m", "> 0"), (30, "no unit")])
def test_parse_length_rejects(text, match):
    with pytest.raises(ParameterError, match=match):
        parse_length(text)


def test_parse_board_size():
    assert parse_board_size("11x8") == (11, 8)
    assert parse_board_size(" 9X6 ") == (9, 6)
    for bad in ("11", "1x8", "axb"):
        with pytest.raises(ParameterError, match="board size"):
            parse_board_size(bad)


def test_canonical_order_is_independent_of_detector_start_corner():
    cols, rows = 5, 3
    j, i = np.mgrid[0:rows, 0:cols]
    grid = np.dstack([100 + 20 * i + 3 * j, 50 + 18 * j - 2 * i]).astype(np.float32)
    variants = [grid, grid[::-1, ::-1], grid[::-1], grid[:, ::-1]]
    canon = [canonical_order(v.reshape(-1, 2), cols, rows) for v in variants]
    for c in canon:
        np.testing.assert_array_equal(c, canon[0])
    # The right view (shifted by a disparity) is put in the left view's order.
    right = grid[::-1, ::-1].reshape(-1, 2) - np.float32([40, 0])
    np.testing.assert_allclose(match_order(grid.reshape(-1, 2), right, cols, rows),
                               grid.reshape(-1, 2) - np.float32([40, 0]))


def test_detects_synthetic_chessboard_at_subpixel_accuracy():
    board = Board(9, 6, 0.03)
    R, t = next(board_poses(1, seed=3))
    img = render(chessboard_texture(9, 6), MARGIN + PPS - 0.5, 0.03, R, t)
    det = detect(img, board)
    assert det.ok and det.method.startswith("findChessboardCornersSB")
    truth, _ = cv2.projectPoints(board.object_points(), cv2.Rodrigues(R)[0], t, K_TRUE, None)
    err = np.linalg.norm(det.corners - truth.reshape(-1, 2), axis=1)
    assert np.median(err) < 0.1 and err.max() < 0.4


def test_wrong_board_size_says_what_was_found():
    R, t = next(board_poses(1, seed=3))
    img = render(chessboard_texture(9, 6), MARGIN + PPS - 0.5, 0.03, R, t)
    det = detect(img, Board(7, 5, 0.03))
    assert not det.ok and "no 7x5 chessboard" in det.message
    assert "54 inner corners (9x6)" in describe_failure(img, Board(7, 5, 0.03))


# ---- synthetic rigs: known baseline, rotation and intrinsics ---------------------------------
@pytest.fixture(scope="module")
def synthetic_chessboard():
    board = Board(9, 6, 0.03)
    lefts, rights = synthetic_pairs(board, chessboard_texture(9, 6), MARGIN + PPS - 0.5, n=8)
    return board, lefts, rights


def test_synthetic_rig_recovers_known_geometry(synthetic_chessboard):
    board, lefts, rights = synthetic_chessboard
    report = calibrate_stereo(lefts, rights, board)
    rig = report.rig
    assert rig.rms < 0.15
    assert rig.baseline_m == pytest.approx(np.linalg.norm(T_TRUE), rel=0.005)
    np.testing.assert_allclose(rig.T, T_TRUE, atol=0.002)
    angle = np.degrees(np.linalg.norm(cv2.Rodrigues(rig.R @ R_TRUE.T)[0]))
    assert angle < 0.4   # 8 views of a small synthetic board: ~0.2 degrees here
    # What matters for matching: true scene points land on the same rectified row.
    from calib.rectify import Rectifier
    pts = np.random.default_rng(5).uniform([-0.3, -0.2, 0.8], [0.3, 0.2, 3.0], (200, 3))
    pl, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K_TRUE, None)
    pr, _ = cv2.projectPoints(pts, cv2.Rodrigues(R_TRUE)[0], T_TRUE, K_TRUE, None)
    rect = Rectifier(rig)
    ul, ur = rect.rectify_points(pl.reshape(-1, 2), "left"), rect.rectify_points(pr.reshape(-1, 2), "right")
    assert np.median(np.abs(ul[:, 1] - ur[:, 1])) < 0.25
    z = rig.rectified().focal_px * rig.baseline_m / (ul[:, 0] - ur[:, 0])
    z_true = (pts @ rig.R1.T)[:, 2]
    assert np.median(np.abs(z / z_true - 1)) < 0.01
    assert rig.K1[0, 0] == pytest.approx(K_TRUE[0, 0], rel=0.01)
    assert len(report.kept) == 8 and not report.rejected
    rect = rig.rectified()
    assert rect.baseline_unit == "m" and rect.baseline_m == pytest.approx(rig.baseline_m, rel=1e-9)
    assert rect.image_size == SIZE
    # The report names every view and its errors.
    lines = "\n".join(report.lines())
    assert "left[0]" in lines and "stereo RMS" in lines


def test_outlier_view_is_rejected_with_reason(synthetic_chessboard):
    board, lefts, rights = synthetic_chessboard
    rights = list(rights)
    rights[5] = np.roll(rights[5], 3, axis=0)     # 3 px vertical shift breaks the epipolar geometry
    report = calibrate_stereo(lefts, rights, board)
    rejected = {v.index: v.rejected for v in report.rejected}
    assert list(rejected) == [5]
    assert "px >" in rejected[5]
    assert report.rig.rms < 0.15
    assert report.rig.rejected_views[0]["view"] == 5 and "reason" in report.rig.rejected_views[0]


def test_fixed_intrinsics_option(synthetic_chessboard):
    board, lefts, rights = synthetic_chessboard
    report = calibrate_stereo(lefts, rights, board, CalibrationOptions(intrinsics="fixed"))
    assert report.intrinsics == "fixed" and report.rms_refined is None
    assert report.rig.rms == pytest.approx(report.rms_fixed)


def test_synthetic_charuco_rig():
    board = Board(7, 5, 0.03, "DICT_5X5_100")
    tex = render_charuco(board, PPS, MARGIN)
    lefts, rights = synthetic_pairs(board, tex, MARGIN - 0.5, n=7, seed=1)
    assert detect(lefts[0], board).method == "CharucoDetector"
    report = calibrate_stereo(lefts, rights, board)
    assert report.rig.rms < 0.3
    assert report.rig.baseline_m == pytest.approx(np.linalg.norm(T_TRUE), rel=0.01)
    assert report.rig.info["board"]["type"] == "charuco"


# ---- bad input -----------------------------------------------------------------------------
def test_unequal_image_counts(synthetic_chessboard):
    board, lefts, rights = synthetic_chessboard
    with pytest.raises(InputError, match="unequal numbers of images: 8 left vs 7 right"):
        calibrate_stereo(lefts, rights[:7], board)


def test_left_right_sizes_differ(synthetic_chessboard):
    board, lefts, rights = synthetic_chessboard
    rights = list(rights)
    rights[2] = rights[2][:400]
    with pytest.raises(InputError, match="differ in size.*640x480.*640x400"):
        calibrate_stereo(lefts, rights, board)


def test_no_board_found():
    blank = [np.full((120, 160), 200, np.uint8)] * 3
    with pytest.raises(CalibrationError, match="not found in any of the 3 pair"):
        calibrate_stereo(blank, blank, Board(9, 6, 0.03))


def test_wrong_board_size_error_counts_corners(synthetic_chessboard):
    _, lefts, rights = synthetic_chessboard
    with pytest.raises(CalibrationError, match=r"found a chessboard with 54 inner corners \(9x6\).*7x5"):
        calibrate_stereo(lefts[:1], rights[:1], Board(7, 5, 0.03), CalibrationOptions(min_views=3))


def test_too_few_good_views(synthetic_chessboard):
    board, lefts, rights = synthetic_chessboard
    with pytest.raises(CalibrationError, match="too few good views.*3 of 3 pair.*at least 5"):
        calibrate_stereo(lefts[:3], rights[:3], board)


def test_unreadable_file(tmp_path, synthetic_chessboard):
    board = synthetic_chessboard[0]
    bad = tmp_path / "left0.png"
    bad.write_bytes(b"not an image")
    good = tmp_path / "right0.png"
    cv2.imwrite(str(good), synthetic_chessboard[2][0])
    with pytest.raises(FileFormatError, match="left0.png"):
        calibrate_stereo([bad], [good], board)


def test_pair_images_counts(tmp_path):
    for name in ("l0.png", "l1.png", "r0.png"):
        cv2.imwrite(str(tmp_path / name), np.zeros((8, 8), np.uint8))
    with pytest.raises(InputError, match="2 left.*1 right"):
        pair_images(str(tmp_path / "l*.png"), str(tmp_path / "r*.png"))
    with pytest.raises(InputError, match="no right images"):
        pair_images(str(tmp_path / "l*.png"), str(tmp_path / "x*.png"))


# ---- the shared chessboard set ---------------------------------------------------------------
@pytest.mark.chessboard
def test_shared_set_rms_and_report(shared_report, tmp_path):
    rig = shared_report.rig
    assert rig.rms < 0.2
    assert len(shared_report.views) == 20
    assert len(shared_report.kept) >= 15
    assert all(v.rejected for v in shared_report.rejected)
    # T is metres: a desktop stereo head has a baseline of centimetres to decimetres.
    assert 0.02 < rig.baseline_m < 0.5 and rig.T[0] < 0
    errors = [max(v["left_px"], v["right_px"]) for v in rig.per_view_errors]
    assert len(errors) == len(shared_report.kept) and max(errors) < 0.5
    path = tmp_path / "rig.yaml"
    rig.save(path)
    back = StereoRig.load(path)
    for name in ("K1", "D1", "K2", "D2", "R", "T", "R1", "R2", "P1", "P2", "Q", "E", "F"):
        np.testing.assert_allclose(getattr(back, name), getattr(rig, name), rtol=1e-12, atol=1e-15)
    assert back.rejected_views == rig.rejected_views and back.roi1 == rig.roi1
    assert back.rectified() == rig.rectified()
    assert "T_m" in path.read_text() and "units" in path.read_text()
