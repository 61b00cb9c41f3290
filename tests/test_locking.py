"""Pixel-locking measurement (stereo.evaluation.locking): sawtooth of a locked map, flat curve of an unbiased one."""

from __future__ import annotations

import numpy as np
import pytest

from stereo.evaluation.locking import CURVE_BINS, HIST_BINS, locking_markdown, locking_png, locking_stats


def _gt(shape=(200, 300), seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(5.0, 40.0, shape).astype(np.float32)


def test_fully_locked_map_gives_a_sawtooth_of_peak_to_peak_one():
    gt = _gt()
    st = locking_stats(np.round(gt), gt)
    curve = np.array(st["curve"])
    # rounding: error -f below 0.5, 1 - f above; bin means at -0.05, ..., -0.45, +0.45, ..., +0.05
    expected = np.array([-(b + 0.5) / CURVE_BINS if b < CURVE_BINS // 2 else 1 - (b + 0.5) / CURVE_BINS
                         for b in range(CURVE_BINS)])
    np.testing.assert_allclose(curve, expected, atol=0.01)
    assert st["ptp"] == pytest.approx(0.9, abs=0.02)
    hist = np.array(st["frac_hist"])
    assert hist.sum() == pytest.approx(1.0) and hist[0] == pytest.approx(1.0)


def test_unbiased_map_is_flat_and_errors_over_one_pixel_are_left_out():
    gt = _gt(seed=1)
    rng = np.random.default_rng(2)
    disp = gt + rng.normal(0.0, 0.1, gt.shape).astype(np.float32)
    disp[:20] += 5.0        # gross errors: not part of the sub-pixel measurement
    disp[20:30] = np.nan    # invalid: ignored
    region = np.ones(gt.shape, bool)
    region[:, :10] = False
    st = locking_stats(disp, gt, region)
    assert st["ptp"] < 0.01
    assert st["n_pixels"] == 170 * 290
    assert sum(st["counts"]) == st["n_pixels"]
    assert np.allclose(st["frac_hist"], 1.0 / HIST_BINS, atol=0.01)


def test_too_few_pixels_gives_nan_and_picture_and_table_render():
    gt = _gt((4, 4))
    st = locking_stats(gt, gt)
    assert np.isnan(st["ptp"])
    full = locking_stats(np.round(_gt()), _gt())
    img = locking_png({"a": st, "b": full}, "scene")
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    md = locking_markdown([{"scene": "S", "method": "a", "locking": st},
                           {"scene": "S", "method": "b", "locking": full}])
    assert "| S | - | 0.9" in md
