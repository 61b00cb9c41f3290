"""stereo.evaluation.metrics against hand-computed cases and a naive loop reference."""

import math

import numpy as np
import pytest

from stereo.errors import InputError
from stereo.evaluation.metrics import (align_scale_shift, depth_errors, disparity_errors, fill_invalid_like_sdk,
                            middlebury_errors, threshold_key)

NAN = np.nan


def naive_fill(disp):
    """The SDK rule written as the obvious loop over runs of invalid pixels."""
    d = np.asarray(disp, dtype=np.float64)
    out = d.copy()
    h, w = d.shape
    for y in range(h):
        valid = np.isfinite(d[y])
        if not valid.any():
            out[y] = 0.0
            continue
        for x in range(w):
            if valid[x]:
                continue
            left = next((d[y, i] for i in range(x - 1, -1, -1) if valid[i]), None)
            right = next((d[y, i] for i in range(x + 1, w) if valid[i]), None)
            out[y, x] = min(v for v in (left, right) if v is not None)
    return out.astype(np.float32)


def test_fill_hand_cases():
    disp = np.array([[NAN, 3, NAN, NAN, 5, NAN],
                     [2, NAN, 7, 1, np.inf, 6],
                     [NAN, NAN, NAN, NAN, NAN, NAN],
                     [4, NAN, NAN, NAN, NAN, 4.5]], np.float32)
    expect = np.array([[3, 3, 3, 3, 5, 5],
                       [2, 2, 7, 1, 1, 6],
                       [0, 0, 0, 0, 0, 0],
                       [4, 4, 4, 4, 4, 4.5]], np.float32)
    before = disp.copy()
    out = fill_invalid_like_sdk(disp)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expect)
    np.testing.assert_array_equal(disp, before)  # input untouched


@pytest.mark.parametrize("density", [0.05, 0.5, 0.95])
def test_fill_matches_naive_loop(density):
    rng = np.random.default_rng(7)
    disp = rng.uniform(-10, 60, (23, 41)).astype(np.float32)
    disp[rng.random(disp.shape) > density] = NAN
    disp[5] = NAN  # an all-invalid row
    np.testing.assert_array_equal(fill_invalid_like_sdk(disp), naive_fill(disp))


def test_disparity_errors_hand_computed():
    gt = np.array([[1, 2, 3, 4]], np.float32)
    disp = np.array([[1, 2.6, 4.5, NAN]], np.float32)  # the NaN is filled with 4.5 (its only neighbour)
    e = disparity_errors(disp, gt)
    # |errors| = 0, 0.6, 1.5, 0.5
    assert e["bad0.5"] == pytest.approx(50.0)
    assert e["bad1"] == pytest.approx(25.0)
    assert e["bad2"] == 0.0 and e["bad4"] == 0.0
    assert e["avgerr"] == pytest.approx(0.65, abs=1e-6)
    assert e["rms"] == pytest.approx(math.sqrt((0.36 + 2.25 + 0.25) / 4), abs=1e-6)
    assert e["density"] == pytest.approx(75.0)
    assert e["n_pixels"] == 4
    sparse = disparity_errors(disp, gt, dense=False)  # only the 3 predicted pixels
    assert sparse["bad0.5"] == pytest.approx(200.0 / 3)
    assert sparse["avgerr"] == pytest.approx(0.7, abs=1e-6)
    assert sparse["density"] == pytest.approx(75.0)


def test_disparity_errors_unknown_gt_and_mask():
    gt = np.array([[1, np.inf, 3, NAN, 5]], np.float32)
    disp = np.array([[3, 9, 3, 9, 5]], np.float32)
    e = disparity_errors(disp, gt, thresholds=(1,), quantiles=())
    assert e["n_pixels"] == 3 and set(e) == {"bad1", "avgerr", "rms", "density", "n_pixels"}
    assert e["bad1"] == pytest.approx(100.0 / 3)
    mask = np.array([[False, True, True, True, True]])
    e = disparity_errors(disp, gt, mask)
    assert e["n_pixels"] == 2 and e["bad1"] == 0.0 and e["avgerr"] == 0.0
    empty = disparity_errors(disp, gt, np.zeros_like(mask))
    assert empty["n_pixels"] == 0 and math.isnan(empty["bad2"]) and math.isnan(empty["density"])


def test_middlebury_errors_regions():
    gt = np.array([[1, 2, 3, 4]], np.float32)
    disp = np.array([[1, 2, 3, 10]], np.float32)
    nonocc = np.array([[True, True, True, False]])
    e = middlebury_errors(disp, gt, nonocc)
    assert e["nonocc"]["bad2"] == 0.0 and e["all"]["bad2"] == pytest.approx(25.0)
    assert threshold_key(0.5) == "bad0.5" and threshold_key(2) == "bad2"


def test_disparity_errors_rejects_bad_input():
    with pytest.raises(InputError, match="differ in shape"):
        disparity_errors(np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float32))
    with pytest.raises(InputError, match="mask has shape"):
        disparity_errors(np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32), np.ones((3, 3), bool))
    with pytest.raises(InputError, match="2-D"):
        fill_invalid_like_sdk(np.zeros(5, np.float32))


def test_depth_errors_hand_computed():
    z = np.array([[1.0, 2.0, 4.0, NAN, 3.0]], np.float32)
    g = np.array([[1.0, 2.5, 2.0, 2.0, NAN]], np.float32)
    e = depth_errors(z, g)
    # scored: (1,1) (2,2.5) (4,2); the NaN prediction lowers density only.
    assert e["abs_rel"] == pytest.approx((0 + 0.2 + 1.0) / 3)
    assert e["rmse"] == pytest.approx(math.sqrt((0 + 0.25 + 4) / 3))
    assert e["delta1"] == pytest.approx(100.0 / 3)  # ratio 1.25 is not < 1.25
    assert e["density"] == pytest.approx(75.0) and e["n_pixels"] == 4
    e = depth_errors(z, g, np.array([[True, False, False, False, False]]))
    assert e["abs_rel"] == 0.0 and e["delta1"] == 100.0


def test_align_scale_shift_recovers_affine_map():
    rng = np.random.default_rng(1)
    d = rng.uniform(0, 1, (12, 9)).astype(np.float32)
    gt = 37.5 * d + 4.25
    d[0, 0] = NAN
    gt[1, 1] = NAN
    aligned, scale, shift = align_scale_shift(d, gt)
    assert scale == pytest.approx(37.5, rel=1e-5) and shift == pytest.approx(4.25, abs=1e-4)
    assert np.isnan(aligned[0, 0])
    np.testing.assert_allclose(aligned[2:], gt[2:], atol=1e-4)
    # the mask restricts the fit: an outlier outside it changes nothing
    gt_out = gt.copy()
    gt_out[5, 5] = 1000.0
    mask = np.ones(d.shape, bool)
    mask[5, 5] = False
    _, s2, t2 = align_scale_shift(d, gt_out, mask)
    assert s2 == pytest.approx(37.5, rel=1e-5) and t2 == pytest.approx(4.25, abs=1e-4)
    _, s3, _ = align_scale_shift(d, gt_out)
    assert abs(s3 - 37.5) > 1.0


def test_align_scale_shift_degenerate():
    with pytest.raises(InputError, match="constant"):
        align_scale_shift(np.ones((3, 3), np.float32), np.arange(9, dtype=np.float32).reshape(3, 3))
    with pytest.raises(InputError, match="at least 2 pixels"):
        align_scale_shift(np.full((2, 2), NAN, np.float32), np.ones((2, 2), np.float32))


def test_error_quantiles_match_numpy():
    rng = np.random.default_rng(4)
    gt = rng.uniform(0, 50, (30, 40)).astype(np.float32)
    disp = gt + rng.normal(0, 2, gt.shape).astype(np.float32)
    e = disparity_errors(disp, gt)
    err = np.abs(disp.astype(np.float64) - gt)
    for q in (50, 90, 95, 99):
        assert e[f"A{q}"] == pytest.approx(float(np.percentile(err, q)))
