"""Parallel speckle regions (stereo.kernels.speckle_cc) against a serial flood fill and OpenCV."""

from __future__ import annotations

import cv2
import numba
import numpy as np
import pytest

from helpers import needs_scene, scene_gray
from naive import naive_speckle_mask
from stereo import flags
from stereo.errors import ParameterError
from stereo.kernels.speckle_cc import remove_small_regions, small_region_mask
from stereo.postprocess.speckle import remove_speckles, speckle_mask


def _random_map(rng, shape, nan_frac, step):
    """Few distinct levels ``step`` apart so that neighbour steps hit max_diff exactly."""
    d = (rng.integers(0, 6, shape) * step + rng.choice([0.0, 0.25], shape)).astype(np.float32)
    d[rng.random(shape) < nan_frac] = np.nan
    d[rng.random(shape) < 0.02] = np.inf
    d[rng.random(shape) < 0.02] = -np.inf
    return d


CASES = [((1, 37), 0.1), ((41, 1), 0.1), ((2, 3), 0.0), ((23, 31), 0.1), ((40, 29), 0.5),
         ((64, 80), 0.2), ((7, 200), 0.05), ((5, 5), 1.0)]


def _kernel_mask(d, max_size, max_diff, nbands):
    out = np.zeros(d.shape, bool)
    small_region_mask(d, max_size, max_diff, nbands, out)
    return out


@pytest.mark.parametrize("shape, nan_frac", CASES)
def test_kernel_equals_flood_fill_for_any_band_count(shape, nan_frac):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    for step, max_diff, max_size in ((1.0, 1.0, 4), (0.5, 1.0, 9), (1.0, 0.0, 1), (0.75, 1.5, 30)):
        d = _random_map(rng, shape, nan_frac, step)
        want = naive_speckle_mask(d, max_size, max_diff)
        for nb in sorted({1, 2, 3, 7, shape[0]}):
            if nb > shape[0]:
                continue
            np.testing.assert_array_equal(_kernel_mask(d, max_size, max_diff, nb), want)
            got_d, got_m = d.copy(), np.full(shape, 3, np.uint8)
            n = remove_small_regions(got_d, got_m, max_size, max_diff, flags.SPECKLE, nb)
            assert n == want.sum()
            np.testing.assert_array_equal(np.isnan(got_d), np.isnan(d) | want)
            np.testing.assert_array_equal(got_d[~want], d[~want])
            np.testing.assert_array_equal(got_m, np.where(want, 3 | flags.SPECKLE, 3))


def test_ties_at_max_diff_join_and_non_finite_never_joins():
    d = np.array([[0.0, 2.0, 4.0, np.nan, 4.0],
                  [9.0, 9.0, np.inf, 9.5, 30.0]], np.float32)
    got = speckle_mask(d, 3, 2.0)
    # 0-2-4 is one region of 3 (steps exactly 2.0); 9, 9, 9.5 cannot reach across the inf.
    want = np.array([[1, 1, 1, 0, 1], [1, 1, 0, 1, 1]], bool)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(speckle_mask(d, 2, 2.0), want & ~np.array([[1, 1, 1, 0, 0]] + [[0] * 5], bool))
    assert not speckle_mask(d, 0, 2.0).any() and not speckle_mask(d, -3, 2.0).any()
    assert not speckle_mask(np.full((4, 6), np.nan, np.float32), 100, 1.0).any()
    assert speckle_mask(np.full((4, 6), 1.0, np.float32), 24, 0.0).all()
    assert not speckle_mask(np.full((4, 6), 1.0, np.float32), 23, 0.0).any()


def test_same_result_for_one_and_two_threads():
    rng = np.random.default_rng(11)
    d = _random_map(rng, (97, 61), 0.15, 1.0)
    want = naive_speckle_mask(d, 12, 1.0)
    before = numba.get_num_threads()
    try:
        for t in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(t)
            np.testing.assert_array_equal(speckle_mask(d, 12, 1.0), want)
            got_d, got_m = d.copy(), np.zeros(d.shape, np.uint8)
            assert remove_speckles(got_d, got_m, 12, 1.0) == want.sum()
            np.testing.assert_array_equal(got_m == flags.SPECKLE, want)
    finally:
        numba.set_num_threads(before)


def _opencv_mask(d, max_size, max_diff):
    """cv2.filterSpeckles on x16 fixed point; exact for multiples of 1/16 px."""
    fixed = np.where(np.isfinite(d), np.rint(np.nan_to_num(d, posinf=0, neginf=0) * 16),
                     -32768).astype(np.int16)
    out = fixed.copy()
    cv2.filterSpeckles(out, -32768, max_size, int(round(max_diff * 16)))
    return (out == -32768) & (fixed != -32768)


def test_agrees_with_opencv_on_sixteenths():
    rng = np.random.default_rng(2)
    for shape, max_size, max_diff in (((50, 70), 8, 0.125), ((33, 90), 20, 1.0), ((60, 60), 1, 0.0)):
        d = (rng.integers(0, 24, shape) / 16.0).astype(np.float32)
        d[rng.random(shape) < 0.1] = np.nan
        np.testing.assert_array_equal(speckle_mask(d, max_size, max_diff), _opencv_mask(d, max_size, max_diff))


@needs_scene("Adirondack")
def test_agrees_with_opencv_on_a_real_map():
    # Ground truth rounded to 1/16 px, with 2 % of the pixels replaced by outliers (speckles).
    gt = scene_gray("Adirondack")[2]
    rng = np.random.default_rng(4)
    d = (np.rint(np.where(np.isfinite(gt), gt, np.nan) * 16) / 16).astype(np.float32)
    hit = rng.random(d.shape) < 0.02
    d[hit] = rng.integers(0, 1200, hit.sum()) / 16.0
    want = _opencv_mask(d, 50, 2.0)
    assert 0.01 < want.mean() < 0.1
    np.testing.assert_array_equal(speckle_mask(d, 50, 2.0), want)
    got_d, got_m = d.copy(), np.zeros(d.shape, np.uint8)
    assert remove_speckles(got_d, got_m, 50, 2.0) == want.sum()
    np.testing.assert_array_equal(np.isnan(got_d), np.isnan(d) | want)


def test_non_contiguous_inputs_take_the_two_pass_path():
    rng = np.random.default_rng(8)
    d = _random_map(rng, (30, 40), 0.1, 1.0)
    want = naive_speckle_mask(d, 5, 1.0)
    big_d = np.zeros((30, 80), np.float32)
    big_d[:, ::2] = d
    view_d = big_d[:, ::2]
    m = np.zeros((30, 40), np.uint8)
    assert remove_speckles(view_d, m, 5, 1.0) == want.sum()
    np.testing.assert_array_equal(np.isnan(big_d[:, ::2]), np.isnan(d) | want)
    np.testing.assert_array_equal(m == flags.SPECKLE, want)


def test_unbounded_max_diff_and_bad_parameters():
    d = np.array([[1.0, 1e30, np.inf], [np.nan, -5.0, 3.0]], np.float32)
    np.testing.assert_array_equal(speckle_mask(d, 3, np.inf), naive_speckle_mask(d, 3, np.inf))
    assert speckle_mask(d, 3, np.inf).sum() == 0 and speckle_mask(d, 4, np.inf).sum() == 4
    for bad in (-0.5, np.nan):
        with pytest.raises(ParameterError, match="max_diff must be >= 0 px"):
            speckle_mask(d, 3, bad)
        with pytest.raises(ParameterError, match="max_diff must be >= 0 px"):
            remove_speckles(d.copy(), np.zeros(d.shape, np.uint8), 3, bad)
