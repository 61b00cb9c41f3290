"""Disparity -> depth / points, and the depth budget (search range from depths)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from calib import StereoCalibration
from calib.middlebury import read_middlebury_calib
from stereo.depth_budget import depth_limits, disparity_range
from stereo.errors import InputError, ParameterError
from stereo.io import read_disparity, read_image
from stereo.paths import middlebury_dir
from stereo.triangulation import (depth_from_disparity, disparity_from_depth, points_from_disparity,
                                  points_from_Q)


def _scenes():
    root = middlebury_dir()
    scenes = sorted(p for p in root.glob("*") if (p / "disp0GT.pfm").is_file()) if root.is_dir() else []
    if not scenes:
        pytest.skip(f"shared Middlebury data not found at {root} (set STEREO_DATA)")
    return scenes


def _raw_numbers(path):
    """f, doffs, baseline (mm) straight from the text, independent of calib.middlebury."""
    n = dict(re.findall(r"^(\w+)=(.*)$", path.read_text(), flags=re.M))
    f = float(re.split(r"[ ;]+", n["cam0"].strip("[]"))[0])
    return f, float(n["doffs"]), float(n["baseline"])


SYN = StereoCalibration(focal_px=600.0, focal_y_px=610.0, cx_left=300.0, cx_right=310.0, cy=200.0,
                        baseline=0.12, width=40, height=30)


def _syn_disp():
    rng = np.random.default_rng(3)
    d = rng.uniform(1.0, 60.0, size=(30, 40)).astype(np.float32)
    d[0, :5] = np.nan
    d[5, 5] = -10.0    # d + doffs == 0: at infinity -> NaN depth
    d[5, 6] = -12.5    # behind infinity -> NaN depth
    return d


def test_depth_formula_on_every_shared_scene():
    for scene in _scenes():
        gt = read_disparity(scene / "disp0GT.pfm")
        calib = read_middlebury_calib(scene / "calib.txt")
        f, doffs, baseline_mm = _raw_numbers(scene / "calib.txt")
        expected = baseline_mm * f / (gt.astype(np.float64) + doffs) / 1000.0
        depth = depth_from_disparity(gt, calib)
        assert depth.dtype == np.float32 and depth.shape == gt.shape
        np.testing.assert_array_equal(np.isnan(depth), np.isnan(gt))
        np.testing.assert_allclose(depth, expected, rtol=1e-6, equal_nan=True)
        back = disparity_from_depth(depth, calib)
        np.testing.assert_allclose(back, gt, atol=1e-3, equal_nan=True)


def test_depth_invalid_where_not_in_front():
    d = _syn_disp()
    z = depth_from_disparity(d, SYN)
    assert np.isnan(z[0, :5]).all() and np.isnan(z[5, 5]) and np.isnan(z[5, 6])
    ok = np.isfinite(d) & (d + SYN.doffs > 0)
    np.testing.assert_allclose(z[ok], 600.0 * 0.12 / (d[ok] + 10.0), rtol=1e-6)
    assert np.isfinite(z[ok]).all()
    depth = np.array([[1.0, np.inf], [np.nan, -2.0]], np.float32)
    small = StereoCalibration(focal_px=600.0, cx_left=0, cx_right=10, cy=0, baseline=0.12)
    disp = disparity_from_depth(depth, small)
    assert disp[0, 0] == pytest.approx(72.0 - 10.0) and disp[0, 1] == pytest.approx(-10.0)
    assert np.isnan(disp[1]).all()


def test_points_direct_formula_and_Q_agree():
    d = _syn_disp()
    pts, cols, idx = points_from_disparity(d, SYN)
    assert cols is None and pts.dtype == np.float32 and idx.shape == (pts.shape[0], 2)
    ys, xs = idx[:, 0], idx[:, 1]
    z = 600.0 * 0.12 / (d[ys, xs].astype(np.float64) + 10.0)
    np.testing.assert_allclose(pts[:, 2], z, rtol=1e-6)
    np.testing.assert_allclose(pts[:, 0], (xs - 300.0) * z / 600.0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pts[:, 1], (ys - 200.0) * z / 610.0, rtol=1e-5, atol=1e-6)
    assert pts.shape[0] == np.sum(np.isfinite(d) & (d + 10 > 0))
    q = points_from_Q(d, SYN.Q)
    assert q.shape == (30, 40, 3)
    np.testing.assert_allclose(q[ys, xs], pts, rtol=1e-4, atol=1e-7)
    assert np.isnan(q[0, 0]).all() and np.isnan(q[5, 5]).all() and np.isnan(q[5, 6]).all()


def test_points_Q_agree_on_shared_scene():
    scene = _scenes()[0]
    gt = read_disparity(scene / "disp0GT.pfm")
    calib = read_middlebury_calib(scene / "calib.txt")
    img = read_image(scene / "im0.png")
    pts, cols, idx = points_from_disparity(gt, calib, img)
    q = points_from_Q(gt, calib.Q)[idx[:, 0], idx[:, 1]]
    scale = np.linalg.norm(pts, axis=1, keepdims=True)
    assert np.max(np.abs(q - pts) / scale) < 1e-4
    np.testing.assert_array_equal(cols, img[idx[:, 0], idx[:, 1], ::-1])  # BGR -> RGB
    assert pts.shape[0] == np.isfinite(gt).sum()


def test_point_colours_grey_16bit_and_order():
    d = np.full((30, 40), 20.0, np.float32)
    bgr = np.zeros((30, 40, 3), np.uint8)
    bgr[..., 0] = 10   # blue
    bgr[..., 2] = 200  # red
    _, cols, _ = points_from_disparity(d, SYN, bgr)
    assert (cols[:, 0] == 200).all() and (cols[:, 2] == 10).all()
    grey16 = np.full((30, 40), 257 * 77, np.uint16)
    _, cols, _ = points_from_disparity(d, SYN, grey16)
    assert (cols == 77).all()


def test_shape_errors():
    d = _syn_disp()
    with pytest.raises(InputError, match=r"disparity is 20x30 but the calibration is for 40x30"):
        depth_from_disparity(d[:, :20], SYN)
    with pytest.raises(InputError, match=r"image is 39x30 but the disparity is 40x30"):
        points_from_disparity(d, SYN, np.zeros((30, 39, 3), np.uint8))
    with pytest.raises(InputError, match="2-D array"):
        depth_from_disparity(np.zeros((30, 40, 1), np.float32), SYN)
    with pytest.raises(InputError, match="float array"):
        depth_from_disparity(np.zeros((30, 40), np.int16), SYN)
    with pytest.raises(InputError, match="StereoCalibration"):
        depth_from_disparity(d, {"focal_px": 1})
    with pytest.raises(InputError, match="4x4"):
        points_from_Q(d, np.eye(3))
    # An unknown image size (0) accepts any shape.
    free = StereoCalibration(focal_px=600.0, cx_left=300.0, cx_right=310.0, cy=200.0, baseline=0.12)
    assert depth_from_disparity(d[:, :20], free).shape == (30, 20)


# ---- depth budget ---------------------------------------------------------------------------
def test_disparity_range_covers_depths_and_inverts():
    calib = StereoCalibration(focal_px=700.0, cx_left=320.0, cx_right=335.0, cy=240.0, baseline=0.12,
                              width=640, height=480)
    for near, far in [(0.5, 10.0), (1.3, 2.7), (0.8, math.inf)]:
        lo, n = disparity_range(calib, near, far)
        d_near = 700 * 0.12 / near - 15.0
        d_far = (700 * 0.12 / far if math.isfinite(far) else 0.0) - 15.0
        assert lo <= d_far - 1 + 1e-9 and lo + n - 1 >= d_near + 1 - 1e-9
        assert lo > d_far - 3 and lo + n - 1 < d_near + 3  # margin 1 + rounding, no more
        z_near, z_far = depth_limits(calib, lo, n)
        assert z_near <= near and z_far >= far
    lo, n = disparity_range(calib, 0.8, math.inf, margin_px=0)
    assert lo == -15
    assert depth_limits(calib, -20, 200)[1] == math.inf


def test_disparity_range_on_shared_gt():
    for scene in _scenes()[:3]:
        calib = read_middlebury_calib(scene / "calib.txt")
        gt = read_disparity(scene / "disp0GT.pfm")
        z = depth_from_disparity(gt, calib)
        lo, n = disparity_range(calib, float(np.nanmin(z)), float(np.nanmax(z)), margin_px=0)
        assert lo <= np.nanmin(gt) and np.nanmax(gt) <= lo + n - 1
        assert lo > np.nanmin(gt) - 1.01 and lo + n - 1 < np.nanmax(gt) + 1.01


def test_depth_budget_errors():
    calib = StereoCalibration(focal_px=700.0, cx_left=320.0, cx_right=335.0, cy=240.0, baseline=0.12,
                              width=640, height=480)
    with pytest.raises(ParameterError, match=r"far \(1 m\) must be greater than near \(2 m\)"):
        disparity_range(calib, 2.0, 1.0)
    with pytest.raises(ParameterError, match="near must be a positive finite depth"):
        disparity_range(calib, 0.0, 1.0)
    with pytest.raises(ParameterError, match="near must be a positive finite depth"):
        disparity_range(calib, math.inf, math.inf)
    with pytest.raises(ParameterError, match="far must be a positive depth"):
        disparity_range(calib, 1.0, float("nan"))
    with pytest.raises(ParameterError, match=r"nearest depth this rig can measure is 0.128 m"):
        disparity_range(calib, 0.05, 1.0)
    with pytest.raises(ParameterError, match="margin_px must be >= 0"):
        disparity_range(calib, 1.0, 2.0, margin_px=-1)
    with pytest.raises(ParameterError, match="beyond infinity"):
        depth_limits(calib, -40, 10)
    with pytest.raises(ParameterError, match="num_disparities must be >= 1"):
        depth_limits(calib, 0, 0)
