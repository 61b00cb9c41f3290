"""Shared disparity selection: exact agreement with the NumPy twin, and each rule in isolation."""

import numpy as np
import pytest

from naive import naive_select
from stereo import flags
from stereo.errors import InputError, ParameterError
from stereo.postprocess.select import select_disparities


def _random_volume(rng, h, w, nd, min_d, dtype, high=60):
    vol = rng.integers(0, high, (h, w, nd)).astype(dtype)
    sent = np.iinfo(dtype).max
    for x in range(w):
        for k in range(nd):
            if not 0 <= x - (min_d + k) < w:
                vol[:, x, k] = sent
    vol[0, w // 2, :] = sent                    # a pixel with no candidate at all
    vol[1, 1, 2:] = sent                        # a caller-excluded tail
    return vol


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.uint32])
@pytest.mark.parametrize("min_d", [0, -4, 3])
def test_matches_naive_exactly(dtype, min_d):
    rng = np.random.default_rng(abs(min_d) * 7 + np.dtype(dtype).itemsize)
    vol = _random_volume(rng, 6, 15, 8, min_d, dtype, high=40)
    for sub in ("parabola", "equiangular", "none"):
        for ratio, lr in ((10, 1.0), (0, -1.0), (25, 0.0)):
            got = select_disparities(vol, min_d, uniqueness_ratio=ratio, subpixel=sub, lr_max_diff=lr)
            want = naive_select(vol, min_d, ratio, sub, lr)
            for name, a, b in zip(got._fields, got, want):
                assert a.dtype == b.dtype, name
                np.testing.assert_array_equal(a, b, err_msg=f"{name} {sub} ratio={ratio} lr={lr}")
            assert np.all(np.isnan(got.disparity) == ((got.mask & flags.INVALID) != 0))


def _single(costs, dtype=np.int32):
    """A 1x1 'image' would have no right view; use 1 row, w columns, same costs everywhere."""
    return np.asarray(costs, dtype)[None, None, :]


def test_edge_winner_is_out_of_range_not_clipped():
    sel = select_disparities(_single([1, 5, 9, 9, 9]), 0, lr_max_diff=-1)
    assert sel.mask[0, 0] & flags.OUT_OF_RANGE and np.isnan(sel.disparity[0, 0])
    sel = select_disparities(_single([9, 9, 9, 5, 1]), -2, lr_max_diff=-1)
    assert sel.mask[0, 0] & flags.OUT_OF_RANGE and np.isnan(sel.disparity[0, 0])


def test_winner_next_to_sentinel_is_border_and_all_sentinel_is_border():
    s = np.iinfo(np.int32).max
    sel = select_disparities(_single([9, 7, 2, s, s]), 0, lr_max_diff=-1)
    assert sel.mask[0, 0] == flags.BORDER
    sel = select_disparities(_single([s, s, s]), 0, lr_max_diff=-1)
    assert sel.mask[0, 0] == flags.BORDER and sel.best_cost[0, 0] == s and sel.second_cost[0, 0] == s


def test_uniqueness_uses_opencv_meaning():
    # best 90 at k=2; rival 100 at k=5 (non-adjacent): 100*(100-r) < 90*100  <=>  r > 10
    costs = [120, 110, 90, 95, 130, 100, 140]
    for ratio, flagged in ((0, False), (10, False), (11, True)):
        sel = select_disparities(_single(costs), 0, uniqueness_ratio=ratio, lr_max_diff=-1)
        assert bool(sel.mask[0, 0] & flags.NOT_UNIQUE) == flagged, ratio
    # the adjacent neighbour (95 at k=3) never counts as a rival
    assert select_disparities(_single(costs), 0, lr_max_diff=-1).second_cost[0, 0] == 100


def test_subpixel_formulas():
    costs = [50, 20, 10, 16, 50]              # c- = 20, c = 10, c+ = 16
    par = select_disparities(_single(costs), 10, subpixel="parabola", lr_max_diff=-1)
    equ = select_disparities(_single(costs), 10, subpixel="equiangular", lr_max_diff=-1)
    non = select_disparities(_single(costs), 10, subpixel="none", lr_max_diff=-1)
    assert par.disparity[0, 0] == pytest.approx(12 + 4 / (2 * 16))
    assert equ.disparity[0, 0] == pytest.approx(12 + 4 / (2 * 10))
    assert non.disparity[0, 0] == 12.0


def test_lr_check_uses_the_same_volume():
    # Row of 8 pixels, disparities 0..3. Left pixel x=5 prefers d=2 (x_r = 3), but right
    # pixel 3 prefers d=0 (left pixel 3): a mismatch of 2 pixels.
    h, w, nd = 1, 8, 4
    s = np.iinfo(np.int32).max
    vol = np.full((h, w, nd), 50, np.int32)
    for x in range(w):
        for k in range(nd):
            if x - k < 0:
                vol[0, x, k] = s
    vol[0, 5, 2] = 10
    vol[0, 3, 0] = 1
    sel = select_disparities(vol, 0, uniqueness_ratio=0, subpixel="none", lr_max_diff=1.0)
    assert sel.lr_distance[0, 5] == 2.0
    assert sel.mask[0, 5] & flags.LR_MISMATCH
    loose = select_disparities(vol, 0, uniqueness_ratio=0, subpixel="none", lr_max_diff=2.0)
    assert not loose.mask[0, 5] & flags.LR_MISMATCH and loose.disparity[0, 5] == 2.0
    off = select_disparities(vol, 0, uniqueness_ratio=0, subpixel="none", lr_max_diff=-1.0)
    assert np.isnan(off.lr_distance).all()


def test_input_not_modified_and_noncontiguous_accepted():
    rng = np.random.default_rng(3)
    vol = _random_volume(rng, 4, 9, 5, 0, np.uint16)
    before = vol.copy()
    a = select_disparities(vol, 0)
    b = select_disparities(np.asfortranarray(vol), 0)
    np.testing.assert_array_equal(vol, before)
    np.testing.assert_array_equal(a.disparity, b.disparity)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(volume=np.zeros((4, 4), np.int32)), InputError, "must be 3-D"),
    (dict(volume=np.zeros((2, 2, 2), np.float32)), InputError, "dtype float32"),
    (dict(volume=np.zeros((0, 2, 2), np.int32)), InputError, "empty"),
    (dict(uniqueness_ratio=100), ParameterError, "uniqueness_ratio must be <= 99"),
    (dict(uniqueness_ratio=-1), ParameterError, "uniqueness_ratio must be >= 0"),
    (dict(subpixel="cubic"), ParameterError, "subpixel must be one of"),
    (dict(lr_max_diff=float("nan")), ParameterError, "lr_max_diff must be finite"),
    (dict(min_disparity=1.5), ParameterError, "min_disparity must be an integer"),
])
def test_errors(kwargs, exc, match):
    args = dict(volume=np.zeros((2, 3, 4), np.int32), min_disparity=0)
    args.update(kwargs)
    vol, mind = args.pop("volume"), args.pop("min_disparity")
    with pytest.raises(exc, match=match):
        select_disparities(vol, mind, **args)
