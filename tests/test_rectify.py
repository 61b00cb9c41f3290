"""Rectification: exact geometry on synthetic rigs, image maps and valid regions,
prepare_pair, and the bars on the shared chessboard set."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calib.chessboard import Board, detect, match_order
from calib.model import StereoCalibration
from calib.rectify import Rectifier, prepare_pair, rectify_pair
from calib.rig import StereoRig
from stereo.errors import CalibrationError, InputError
from stereo.paths import chessboard_dir

SIZE = (320, 240)
K1 = np.array([[300.0, 0, 162.0], [0, 301.0, 118.0], [0, 0, 1]])
K2 = np.array([[305.0, 0, 158.0], [0, 304.0, 123.0], [0, 0, 1]])
D1 = np.array([-0.30, 0.12, 0.001, -0.0005, -0.02])
D2 = np.array([-0.28, 0.10, -0.0008, 0.0004, -0.01])
R_LR, _ = cv2.Rodrigues(np.array([0.01, -0.03, 0.004]))
T_LR = np.array([-0.12, 0.003, -0.002])


def synthetic_rig(alpha=0.0):
    return StereoRig.from_extrinsics(SIZE, K1, D1, K2, D2, R_LR, T_LR, alpha=alpha)


def scene_points(n=300, seed=0):
    return np.random.default_rng(seed).uniform([-0.6, -0.4, 1.0], [0.6, 0.4, 4.0], (n, 3))


def test_rectified_points_share_rows_and_give_true_depth():
    rig = synthetic_rig()
    pts = scene_points()
    pl, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K1, D1)
    pr, _ = cv2.projectPoints(pts, cv2.Rodrigues(R_LR)[0], T_LR, K2, D2)
    inside = np.all((pl.reshape(-1, 2) > 20) & (pl.reshape(-1, 2) < np.array(SIZE) - 20), axis=1)
    rect = Rectifier(rig)
    ul = rect.rectify_points(pl.reshape(-1, 2)[inside], "left")
    ur = rect.rectify_points(pr.reshape(-1, 2)[inside], "right")
    assert np.abs(ul[:, 1] - ur[:, 1]).max() < 0.01
    model = rig.rectified()
    assert model.baseline_m == pytest.approx(np.linalg.norm(T_LR), rel=1e-9)
    d = ul[:, 0] - ur[:, 0]
    assert (d > 0).all()   # left is the reference, right camera on the right
    xyz = cv2.perspectiveTransform(np.dstack([ul[:, 0], ul[:, 1], d]), model.Q).reshape(-1, 3)
    truth = pts[inside] @ rig.R1.T   # the rectified left camera frame
    np.testing.assert_allclose(xyz, truth, rtol=1e-4, atol=1e-4)


def test_rectify_pair_matches_float_maps_and_keeps_dtype():
    rig = synthetic_rig()
    rng = np.random.default_rng(1)
    left = cv2.GaussianBlur(rng.integers(0, 65535, (SIZE[1], SIZE[0]), dtype=np.uint16), (5, 5), 1.5)
    right = left[:, ::-1].copy()
    lr, rr = rectify_pair(left, right, rig)
    assert lr.dtype == np.uint16 and lr.shape == left.shape
    mx, my = cv2.initUndistortRectifyMap(K1, D1, rig.R1, rig.P1, SIZE, cv2.CV_32FC1)
    ref = cv2.remap(left, mx, my, cv2.INTER_LINEAR)
    inner = (slice(5, -5), slice(5, -5))
    # Fixed-point maps (1/32 px) against float maps: tiny differences only.
    assert np.median(np.abs(lr[inner].astype(float) - ref[inner])) < 40
    np.testing.assert_array_equal(left, right[:, ::-1])  # inputs untouched


def test_valid_mask_excludes_black_borders():
    rig = synthetic_rig(alpha=1.0)   # keep every source pixel: black borders appear
    rect = Rectifier(rig)
    mask = rect.valid_mask()
    assert mask.dtype == bool and mask.shape == (SIZE[1], SIZE[0])
    assert 0.3 < mask.mean() < 0.999
    assert not mask[0, 0] and not mask[-1, -1] and mask[SIZE[1] // 2, SIZE[0] // 2]
    white = np.full((SIZE[1], SIZE[0]), 255, np.uint8)
    lr, rr = rect.rectify_pair(white, white)
    assert (lr[mask] == 255).all()
    x, y, w, h = rig.roi1     # OpenCV's all-valid rectangle of the left view
    assert (lr[y:y + h, x:x + w] == 255).mean() > 0.99
    # A left pixel is kept only if the right view has real pixels at or left of it on its row.
    right_valid = rr == 255
    for row in (SIZE[1] // 3, SIZE[1] // 2):
        first_right = np.argmax(right_valid[row])
        assert not mask[row, :first_right].any()
        assert mask[row].sum() == ((lr[row] == 255) & (np.arange(SIZE[0]) >= first_right)).sum()
    assert synthetic_rig(alpha=0.0).roi1 is not None
    assert Rectifier(synthetic_rig(alpha=0.0)).valid_mask().mean() > 0.97


def test_prepare_pair_by_calibration_kind():
    rig = synthetic_rig()
    img = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    lr, rr, model, mask = prepare_pair(img, img, rig)
    assert isinstance(model, StereoCalibration) and model == rig.rectified()
    assert mask.shape == img.shape[:2] and lr.shape == img.shape
    maps = rig._rectifier_cache.maps()
    prepare_pair(img, img, rig)
    assert rig._rectifier_cache.maps() is maps          # maps are built once per rig
    calib = StereoCalibration(focal_px=500, cx_left=100, cx_right=110, cy=80, baseline=0.1)
    out = prepare_pair(img, img, calib)
    assert out[0] is img and out[1] is img and out[2] is calib and out[3] is None
    assert prepare_pair(img, img, None) == (img, img, None, None)
    with pytest.raises(CalibrationError, match="StereoRig or a StereoCalibration"):
        prepare_pair(img, img, "rig.yaml")


def test_size_mismatch_names_both_sizes():
    rig = synthetic_rig()
    small = np.zeros((200, 300), np.uint8)
    with pytest.raises(InputError, match="300x200.*320x240"):
        prepare_pair(small, small, rig)


def test_unknown_image_size_is_taken_from_first_pair():
    rig = synthetic_rig()
    blind = StereoRig((0, 0), rig.K1, rig.D1, rig.K2, rig.D2, rig.R, rig.T, rig.R1, rig.R2, rig.P1,
                      rig.P2, rig.Q)
    img = np.full((SIZE[1], SIZE[0]), 7, np.uint8)
    lr, _ = Rectifier(blind).rectify_pair(img, img)
    ref, _ = Rectifier(rig).rectify_pair(img, img)
    np.testing.assert_array_equal(lr, ref)


def test_vertical_rig_is_refused():
    rig = StereoRig.from_extrinsics(SIZE, K1, D1, K2, D2, np.eye(3), np.array([0.0, -0.1, 0.0]))
    with pytest.raises(CalibrationError, match="vertical"):
        rig.rectified()


# ---- shared chessboard set ----------------------------------------------------------------
@pytest.mark.chessboard
def test_shared_set_rectified_rows(shared_report):
    rect = Rectifier(shared_report.rig)
    dy = []
    for _, pl, pr in shared_report.corners.values():
        ul, ur = rect.rectify_points(pl, "left"), rect.rectify_points(pr, "right")
        dy.append(np.abs(ul[:, 1] - ur[:, 1]))
    dy = np.concatenate(dy)
    assert len(dy) >= 15 * 88
    assert np.median(dy) < 0.25
    assert np.percentile(dy, 95) < 0.5


@pytest.mark.chessboard
def test_shared_set_end_to_end_square_size(shared_report):
    """Rectify the images, find the corners again, triangulate them from their disparities:
    adjacent corners must be 30 mm apart."""
    rig = shared_report.rig
    model = rig.rectified()
    board = Board(11, 8, 0.03)
    root = chessboard_dir()
    dists, dys, used = [], [], 0
    for i in range(20):
        left = cv2.imread(str(root / f"left{i:06d}.jpg"), cv2.IMREAD_GRAYSCALE)
        right = cv2.imread(str(root / f"right{i:06d}.jpg"), cv2.IMREAD_GRAYSCALE)
        lr, rr, _, mask = prepare_pair(left, right, rig)
        ok_l, cl = cv2.findChessboardCornersSB(lr, board.pattern_size, flags=cv2.CALIB_CB_ACCURACY)
        ok_r, cr = cv2.findChessboardCornersSB(rr, board.pattern_size, flags=cv2.CALIB_CB_ACCURACY)
        if not (ok_l and ok_r):
            continue   # the board may leave the cropped (alpha = 0) rectified frame
        cl = cl.reshape(-1, 2)
        cr = match_order(cl, cr.reshape(-1, 2), 11, 8)
        dys.append(np.abs(cl[:, 1] - cr[:, 1]))
        d = cl[:, 0] - cr[:, 0]
        xyz = cv2.perspectiveTransform(np.dstack([cl[:, 0], cl[:, 1], d]).astype(np.float64),
                                       model.Q).reshape(8, 11, 3)
        dists += [np.linalg.norm(np.diff(xyz, axis=1), axis=2).ravel(),
                  np.linalg.norm(np.diff(xyz, axis=0), axis=2).ravel()]
        used += 1
        if used == 6:
            break
    assert used >= 5
    dist_mm = np.concatenate(dists) * 1000
    assert np.median(dist_mm) == pytest.approx(30.0, rel=0.01)
    dys = np.concatenate(dys)
    assert np.median(dys) < 0.25 and np.percentile(dys, 95) < 0.5
    assert mask.mean() > 0.9


@pytest.mark.chessboard
def test_detection_agrees_with_raw_detection(shared_report):
    """Independent check of the maps: corners found in the rectified image equal the raw
    corners mapped through the rectification."""
    rig = shared_report.rig
    root = chessboard_dir()
    left = cv2.imread(str(root / "left000000.jpg"), cv2.IMREAD_GRAYSCALE)
    raw = detect(left, Board(11, 8, 0.03))
    rect = Rectifier(rig)
    lr = rect.rectify(left, "left")
    found = detect(lr, Board(11, 8, 0.03))
    assert raw.ok and found.ok
    mapped = rect.rectify_points(raw.corners, "left")
    found_c = match_order(mapped, found.corners, 11, 8)
    assert np.median(np.linalg.norm(found_c - mapped, axis=1)) < 0.1
