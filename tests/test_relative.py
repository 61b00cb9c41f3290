"""Disparity-only mode: relative inverse depth and the scale/shift fit to metric depth."""

from __future__ import annotations

import numpy as np
import pytest

from calib import StereoCalibration
from calib.middlebury import read_middlebury_calib
from stereo.errors import InputError, ParameterError
from stereo.io import read_disparity
from stereo.paths import middlebury_dir
from stereo.relative import fit_scale_shift, metric_depth_from_fit, relative_inverse_depth
from stereo.triangulation import depth_from_disparity

CAL = StereoCalibration(focal_px=800.0, cx_left=300.0, cx_right=320.0, cy=200.0, baseline=0.2)


def _abs_rel(depth, gt_depth, where):
    return float(np.mean(np.abs(depth[where] - gt_depth[where]) / gt_depth[where]))


def test_relative_inverse_depth_range_and_order():
    rng = np.random.default_rng(0)
    d = rng.uniform(5, 80, size=(40, 50)).astype(np.float32)
    d[3, :7] = np.nan
    r = relative_inverse_depth(d)
    assert r.dtype == np.float32 and r.shape == d.shape
    np.testing.assert_array_equal(np.isnan(r), np.isnan(d))
    assert np.nanmin(r) == 0.0 and np.nanmax(r) == 1.0
    # Affine in disparity (no clipping with the full range): inverse depth up to scale+shift.
    full = relative_inverse_depth(d, percentiles=(0, 100))
    v = np.isfinite(d)
    lo, hi = d[v].min(), d[v].max()
    np.testing.assert_allclose(full[v], (d[v] - lo) / (hi - lo), atol=1e-6)
    order = np.argsort(d[v])
    assert np.all(np.diff(full[v][order]) >= 0)
    # Depth is monotone decreasing in relative inverse depth.
    z = depth_from_disparity(d, CAL)
    assert np.corrcoef(full[v], 1.0 / z[v])[0, 1] > 0.999999


def test_relative_edge_cases():
    assert np.isnan(relative_inverse_depth(np.full((3, 3), np.nan, np.float32))).all()
    flat = relative_inverse_depth(np.full((3, 3), 7.0, np.float32))
    assert (flat == 0.5).all()
    with pytest.raises(ParameterError, match="percentiles"):
        relative_inverse_depth(np.ones((3, 3), np.float32), percentiles=(50, 10))


def test_fit_recovers_calibration_exactly():
    rng = np.random.default_rng(1)
    d = rng.uniform(2, 60, size=(30, 30)).astype(np.float32)
    z = depth_from_disparity(d, CAL)
    pts = np.stack([rng.integers(0, 30, 20), rng.integers(0, 30, 20)], axis=1)
    scale, shift = fit_scale_shift(d, pts, z[pts[:, 0], pts[:, 1]])
    fb = CAL.focal_px * CAL.baseline_m
    assert scale == pytest.approx(1 / fb, rel=1e-5) and shift == pytest.approx(CAL.doffs / fb, rel=1e-4)
    np.testing.assert_allclose(metric_depth_from_fit(d, scale, shift), z, rtol=1e-5)


def test_fit_rejects_bad_samples():
    d = np.linspace(1, 50, 100, dtype=np.float32).reshape(10, 10)
    d[0, 0] = np.nan
    z = depth_from_disparity(d, CAL)
    # NaN disparity, NaN depth and negative depth samples are ignored...
    pts = np.array([[0, 0], [1, 1], [2, 2], [3, 3], [5, 5]])
    depths = np.array([1.0, np.nan, -1.0, z[3, 3], z[5, 5]])
    scale, shift = fit_scale_shift(d, pts, depths)
    assert scale == pytest.approx(1 / 160.0, rel=1e-4)
    # ...and fewer than 2 usable samples is an error.
    with pytest.raises(InputError, match="at least 2 samples .* got 1"):
        fit_scale_shift(d, pts[:4], depths[:4])
    with pytest.raises(InputError, match="same disparity"):
        fit_scale_shift(d, np.array([[3, 3], [3, 3]]), np.array([z[3, 3], z[3, 3]]))
    with pytest.raises(InputError, match="outside"):
        fit_scale_shift(d, np.array([[3, 3], [10, 1]]), np.array([1.0, 2.0]))
    with pytest.raises(InputError, match=r"shape \(N, 2\)"):
        fit_scale_shift(d, np.array([3, 3]), np.array([1.0]))
    with pytest.raises(InputError, match="depths_m has 1"):
        fit_scale_shift(d, np.array([[3, 3], [4, 4]]), np.array([1.0]))
    with pytest.raises(InputError, match="integer pixel"):
        fit_scale_shift(d, np.array([[3.5, 3], [4, 4]]), np.array([1.0, 2.0]))


def test_fit_on_middlebury_matches_calibrated():
    scene = middlebury_dir() / "Adirondack"
    if not (scene / "disp0GT.pfm").is_file():
        pytest.skip(f"shared Middlebury data not found at {scene} (set STEREO_DATA)")
    gt = read_disparity(scene / "disp0GT.pfm")
    calib = read_middlebury_calib(scene / "calib.txt")
    gt_depth = depth_from_disparity(gt, calib)
    rng = np.random.default_rng(42)
    ys, xs = np.nonzero(np.isfinite(gt))
    pick = rng.choice(ys.size, 50, replace=False)
    pts = np.stack([ys[pick], xs[pick]], axis=1)
    rest = np.isfinite(gt)
    rest[pts[:, 0], pts[:, 1]] = False

    scale, shift = fit_scale_shift(gt, pts, gt_depth[pts[:, 0], pts[:, 1]])
    assert _abs_rel(metric_depth_from_fit(gt, scale, shift), gt_depth, rest) < 1e-5

    # A noisy disparity (0.5 px): the 50-pixel fit is about as good as the calibration.
    noisy = (gt + rng.normal(0, 0.5, size=gt.shape)).astype(np.float32)
    calibrated = _abs_rel(depth_from_disparity(noisy, calib), gt_depth, rest)
    scale, shift = fit_scale_shift(noisy, pts, gt_depth[pts[:, 0], pts[:, 1]])
    fitted = _abs_rel(metric_depth_from_fit(noisy, scale, shift), gt_depth, rest)
    assert 0.002 < calibrated < 0.03  # the noise does matter
    assert fitted < 1.15 * calibrated, (fitted, calibrated)
