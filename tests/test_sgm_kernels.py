"""SGBM kernels against their slow NumPy twins in tests/naive.py (exact comparisons)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

import naive
from stereo.kernels.census import census_cost_volume, census_transform
from stereo.kernels.pixel_costs import window_cost_volume
from stereo.kernels.sgm import BIG, aggregate, aggregate_lines, p2_table, pad_cost
from stereo.postprocess.confidence import confidence_map
from stereo.postprocess.fill import fill_background
from stereo.postprocess.median import median3x3_valid
from stereo import flags


def _pair(seed, h=11, w=17, hi=256):
    rng = np.random.default_rng(seed)
    left = rng.integers(0, hi, (h, w)).astype(np.uint16)
    right = np.roll(left, -2, axis=1) + rng.integers(0, 3, (h, w)).astype(np.uint16)
    return left, right


@pytest.mark.parametrize("win", [(3, 3), (5, 3), (9, 7), (7, 9)])
def test_census_transform_matches_naive(win):
    left, _ = _pair(1)
    np.testing.assert_array_equal(census_transform(left, *win), naive.naive_census(left, *win))


def test_census_uses_all_bits_of_9x7():
    img = np.arange(63, dtype=np.uint16).reshape(7, 9) * 3
    img[3, 4] = 1000     # centre brighter than every neighbour: 62 one-bits
    assert bin(int(census_transform(img, 9, 7)[3, 4])).count("1") == 62


@pytest.mark.parametrize("min_d,nd,gw", [(0, 6, 0), (-3, 7, 0), (2, 5, 8)])
def test_census_cost_volume_matches_naive(min_d, nd, gw):
    left, right = _pair(2)
    cl, cr = census_transform(left, 5, 3), census_transform(right, 5, 3)
    gl = (left.astype(np.int16) * 3 - 100)
    gr = (right.astype(np.int16) * 2 - 50)
    got = census_cost_volume(cl, cr, gl, gr, np.int64(min_d), np.int64(nd), np.int64(nd + 3),
                             np.int64(gw), np.int64(64), np.int64(14))
    want = naive.naive_census_volume(cl, cr, min_d, nd, 14, gl, gr, gw, 64)
    np.testing.assert_array_equal(got[:, :, :nd], want)
    assert (got[:, :, nd:] == 255).all()


@pytest.mark.parametrize("mode", [0, 1])
@pytest.mark.parametrize("min_d", [0, -2])
def test_window_cost_volume_matches_naive(mode, min_d):
    left, right = _pair(3)
    left, right = left.astype(np.uint8), np.minimum(right, 255).astype(np.uint8)
    got = window_cost_volume(left, right, np.int64(min_d), np.int64(6), np.int64(16), np.int64(3),
                             np.int64(3), np.int64(mode), np.int64(255))
    np.testing.assert_array_equal(got[:, :, :6], naive.naive_window_cost(left, right, min_d, 6, 3, mode, 255))
    assert (got[:, :, 6:] == 255).all()


def _volume(seed, h=9, w=13, nd=7):
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 64, (h, w, nd)).astype(np.uint8)
    guide = rng.integers(0, 256, (h, w)).astype(np.uint8)
    return cost, guide


@pytest.mark.parametrize("dx", [-2, -1, 0, 1, 2])
@pytest.mark.parametrize("down", [True, False])
def test_single_path_recursion_matches_naive(dx, down):
    cost, guide = _volume(4)
    lut = p2_table(7, 40, 20.0)
    padded = pad_cost(cost)                    # 7 real disparities, 9 neutral padding cells
    # a downward walk may store instead of add: then no garbage cell may survive
    out = np.full(padded.shape, 12345, np.uint16) if down else np.zeros(padded.shape, np.uint16)
    aggregate_lines(padded, guide, np.int32(7), lut, np.int64(dx), np.int64(0), np.int64(1),
                    down, not down, out, np.int64(cost.shape[2]), down)
    step = (1, dx) if down else (-1, -dx)
    np.testing.assert_array_equal(out[:, :, :7], naive.naive_sgm_path(cost, guide, 7, lut, *step))


@pytest.mark.parametrize("paths", [4, 5, 8, 16])
def test_aggregate_matches_naive(paths):
    cost, guide = _volume(5)
    lut = p2_table(6, 50, 0.0)
    got = aggregate(cost, guide, 6, lut, paths, -2)
    np.testing.assert_array_equal(got, naive.naive_sgm(cost, guide, 6, lut, paths, -2))


def test_aggregate_same_with_one_and_two_threads():
    cost, guide = _volume(6, h=40, w=70, nd=20)
    lut = p2_table(8, 90, 15.0)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = aggregate(cost, guide, 8, lut, 8, 0)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = aggregate(cost, guide, 8, lut, 8, 0)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)


def test_p2_table_adapts_and_stays_above_p1():
    lut = p2_table(10, 120, 16.0)
    assert lut[0] == 120 and lut[16] == 60 and lut.min() == 11
    assert (np.diff(lut) <= 0).all()
    assert (p2_table(10, 120, 0.0) == 120).all()
    assert BIG > 255 + 4000


def test_fill_background_matches_naive_and_flags():
    rng = np.random.default_rng(7)
    disp = rng.uniform(0, 30, (12, 20)).astype(np.float32)
    disp[rng.random(disp.shape) < 0.4] = np.nan
    disp[3] = np.nan                      # a row with nothing to fill from stays NaN
    mask = np.where(np.isnan(disp), flags.LR_MISMATCH, 0).astype(np.uint8)
    filled, fmask = fill_background(disp, mask)
    np.testing.assert_array_equal(filled, naive.naive_fill_background(disp))
    holes = np.isnan(disp) & np.isfinite(filled)
    assert ((fmask & flags.FILLED) != 0).tolist() == holes.tolist()
    assert ((fmask & flags.LR_MISMATCH) != 0).tolist() == np.isnan(disp).tolist()
    assert np.isnan(disp).sum() > 0 and np.isnan(filled[3]).all()


def test_median_matches_naive():
    rng = np.random.default_rng(8)
    disp = rng.uniform(0, 30, (15, 21)).astype(np.float32)
    disp[rng.random(disp.shape) < 0.2] = np.nan
    np.testing.assert_allclose(median3x3_valid(disp), naive.naive_median_valid(disp), rtol=0, atol=1e-6)


def test_confidence_range_and_invalid_zero():
    disp = np.array([[1.0, np.nan, 3.0, 4.0]], np.float32)
    best = np.array([[0, 5, 10, 10]], np.int32)
    second = np.array([[20, 9, 10, 40]], np.int32)
    lr = np.array([[0.0, 0.0, 0.0, 1.5]], np.float32)
    conf = confidence_map(disp, best, second, lr, 1.0)
    assert conf.dtype == np.float32 and conf.shape == disp.shape
    assert conf[0, 0] == 1.0 and conf[0, 1] == 0.0 and conf[0, 2] == 0.0
    assert 0.0 < conf[0, 3] < 1.0


@pytest.mark.parametrize("min_d", [0, -3])
def test_fused_selection_equals_selection_of_the_volume(min_d):
    from stereo.kernels.sgm import aggregate_select
    from stereo.postprocess.select import select_disparities
    cost, guide = _volume(9, h=12, w=30, nd=9)
    lut = p2_table(5, 40, 10.0)
    fused = aggregate_select(cost, guide, 5, lut, 8, min_d, 10, 2, 1.0)
    ref = select_disparities(aggregate(cost, guide, 5, lut, 8, min_d), min_d, uniqueness_ratio=10,
                             subpixel="equiangular", lr_max_diff=1.0)
    for got, want in zip(fused, ref):
        np.testing.assert_array_equal(got, want)
    assert np.isfinite(fused.disparity).any()


def test_padding_is_neutral_even_with_a_huge_p2():
    # P2 far above 255 + P1: a padded cell would win the P1 term without the reset
    cost, guide = _volume(10, h=7, w=15, nd=5)
    lut = p2_table(3, 3000, 0.0)
    got = aggregate(cost, guide, 3, lut, 8, 0)
    np.testing.assert_array_equal(got, naive.naive_sgm(cost, guide, 3, lut, 8, 0))


# ---- two-sweep kernel (stereo/kernels/sgm_sweep.py) ----------------------------------------

def _same_selection(got, want):
    for g, w_ in zip(got, want):
        np.testing.assert_array_equal(g, w_)


@pytest.mark.parametrize("paths", [4, 5, 8])
@pytest.mark.parametrize("h,w,nd,min_d", [(9, 13, 7, 0), (1, 20, 5, -2), (12, 30, 17, -3), (7, 41, 33, 4)])
def test_sweeps_equal_naive_sgm_and_selection(paths, h, w, nd, min_d):
    from stereo.kernels.sgm_sweep import sweep_select_volume
    cost, guide = _volume(11 + h, h=h, w=w, nd=nd)
    lut = p2_table(6, 45, 12.0)
    got = sweep_select_volume(cost, guide, 6, lut, paths, min_d, 10, 2, 1.0)
    want = naive.naive_select(naive.naive_sgm(cost, guide, 6, lut, paths, min_d), min_d, 10,
                              "equiangular", 1.0)
    _same_selection(got, want)


def test_sweeps_with_census_on_the_fly_equal_volume_path():
    from stereo.kernels.sgm import aggregate_select
    from stereo.kernels.sgm_sweep import sweep_select_census
    left, right = _pair(12, h=14, w=40)
    cl, cr = census_transform(left, 5, 3), census_transform(right, 5, 3)
    gl = (left.astype(np.int16) * 3 - 100)
    gr = (right.astype(np.int16) * 2 - 50)
    guide = np.minimum(left, 255).astype(np.uint8)
    lut = p2_table(5, 40, 10.0)
    for gw, min_d, nd in [(4, 0, 9), (0, -2, 20)]:
        vol = census_cost_volume(cl, cr, gl, gr, np.int64(min_d), np.int64(nd), np.int64(nd),
                                 np.int64(gw), np.int64(64), np.int64(30))
        for paths in (8, 5):
            want = aggregate_select(vol, guide, 5, lut, paths, min_d, 5, 2, 1.0)
            for recompute in (False, True):     # cost rows stored or recomputed per sweep
                got = sweep_select_census(cl, cr, gl, gr, gw, 64, 30, guide, 5, lut, paths, min_d,
                                          nd, 5, 2, 1.0, recompute=recompute)
                _same_selection(got, want)
                assert np.isfinite(got.disparity).any()


def test_sweeps_same_with_one_and_two_threads():
    from stereo.kernels.sgm_sweep import sweep_select_volume
    cost, guide = _volume(13, h=33, w=50, nd=20)
    lut = p2_table(8, 90, 15.0)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sweep_select_volume(cost, guide, 8, lut, 8, 0, 5, 2, 1.0)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = sweep_select_volume(cost, guide, 8, lut, 8, 0, 5, 2, 1.0)
    finally:
        numba.set_num_threads(before)
    _same_selection(one, two)


@pytest.mark.parametrize("lr", [1.0, -1.0])
@pytest.mark.parametrize("w,nd,ndp,min_d,hi", [(40, 11, 16, -1, 300), (90, 80, 80, 3, 300),
                                               (70, 45, 48, -5, 6), (50, 64, 64, 0, 40)])
def test_select_row_u16_equals_select_row(lr, w, nd, ndp, min_d, hi):
    # widths with only the 16-lane block, only 32-lane blocks and both; hi = 6: many ties
    from stereo.kernels.sgm_sweep import select_row_u16
    from stereo.kernels.select import select_row
    rng = np.random.default_rng(14)
    costs = rng.integers(0, hi, (w, ndp)).astype(np.uint16)
    costs[:3, :] = 65535                          # pixels without any candidate
    costs[5, 4:] = 65535
    costs[7, 2] = costs[7, 6] = costs[7].min()    # a tie: smallest index wins
    outs = [np.empty(w, t) for t in (np.float32, np.uint8, np.int32, np.int32, np.float32)]
    before = costs.copy()
    select_row_u16(costs, nd, min_d, 10, 2, lr, *outs, np.empty((3, w + ndp), np.uint16))
    np.testing.assert_array_equal(costs, before)           # the row is not used as scratch
    want = [np.empty(w, t) for t in (np.float32, np.uint8, np.int32, np.int32, np.float32)]
    select_row(np.ascontiguousarray(costs[:, :nd]), np.uint16(65535), min_d, 10, 2, lr, *want,
               np.empty(w, np.int64))
    for g, w_ in zip(outs, want):
        np.testing.assert_array_equal(g, w_)


@pytest.mark.parametrize("core", [(0, 33), (0, 5), (28, 33), (10, 20), (3, 4)])
def test_sweeps_core_rows_equal_whole_image(core):
    # a stripe's kept rows come out the same when phase 2 stops at the core
    from stereo.kernels.sgm_sweep import sweep_select_volume
    cost, guide = _volume(15, h=33, w=40, nd=18)
    lut = p2_table(8, 90, 15.0)
    whole = sweep_select_volume(cost, guide, 8, lut, 8, 0, 5, 2, 1.0)
    part = sweep_select_volume(cost, guide, 8, lut, 8, 0, 5, 2, 1.0, core=core)
    a, b = core
    for g, w_ in zip(part, whole):
        np.testing.assert_array_equal(g[a:b], w_[a:b])


@pytest.mark.parametrize("win", [(9, 7), (5, 3), (3, 3), (7, 5)])
@pytest.mark.parametrize("shape", [(1, 40), (13, 1), (31, 57)])
def test_census_transform_pair_equals_single(win, shape):
    from stereo.kernels.census import census_transform_pair
    rng = np.random.default_rng(sum(shape) + win[0])
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = rng.integers(0, 4096, shape).astype(np.uint16)
    cl, cr = census_transform_pair(a, b, *win)
    np.testing.assert_array_equal(cl, census_transform(a, *win))
    np.testing.assert_array_equal(cr, census_transform(b, *win))
    assert cl.flags.c_contiguous and cr.flags.c_contiguous
    a2 = rng.integers(0, 256, shape, dtype=np.uint8)       # both uint8: the narrow-lane kernel
    cl, cr = census_transform_pair(a, a2, *win)
    np.testing.assert_array_equal(cl, census_transform(a, *win))
    np.testing.assert_array_equal(cr, naive.naive_census(a2, *win))


def test_census_transform_pair_rejects_different_shapes():
    from stereo.kernels.census import census_transform_pair
    with pytest.raises(ValueError, match="shapes differ"):
        census_transform_pair(np.zeros((4, 5), np.uint8), np.zeros((4, 6), np.uint8), 3, 3)


@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("stream", [False, True])
def test_walk_path_steps_equal_naive(k, stream):
    # the row walks' steps: sentinel stored with the vector, a last 32-lane block that
    # overlaps the previous one when Dp is an odd multiple of 16, the horizontal source
    # read from one load and its edges; every width class and nd = Dp, Dp - 1, Dp - 15
    from numba import njit
    from stereo.kernels import sgm_simd
    name = f"path_steps_{k}_s" + ("_nt" if stream else "")
    fn = getattr(sgm_simd, name)

    @njit
    def run(c, part, out, S, D, ms, p2, p1, nd):
        if k == 1:
            return (fn(c, part, out, (S[0],), (D[0],), (ms[0],), (p2[0],), p1, nd),)
        if k == 2:
            return fn(c, part, out, (S[0], S[1]), (D[0], D[1]), (ms[0], ms[1]), (p2[0], p2[1]), p1,
                      nd)
        return fn(c, part, out, (S[0], S[1], S[2], S[3]), (D[0], D[1], D[2], D[3]),
                  (ms[0], ms[1], ms[2], ms[3]), (p2[0], p2[1], p2[2], p2[3]), p1, nd)

    rng = np.random.default_rng(40 + k + 10 * stream)
    for ndp in (16, 32, 48, 80, 96, 208):
        for nd in (ndp, ndp - 1, ndp - 15):
            for lo in (0, -32768):
                c = rng.integers(0, 256, (1, ndp)).astype(np.uint8)
                S = rng.integers(lo, int(BIG) + 1, (k, ndp + 2)).astype(np.int16)
                S[:, 0] = BIG
                ms = rng.integers(-3000, 3000, k).astype(np.int16)
                p2 = rng.integers(0, 3000, k).astype(np.int32)
                part = rng.integers(0, 65536, (1, ndp)).astype(np.uint16)
                D = np.full((k, ndp + 2), 7, np.int16)
                out = np.zeros((1, ndp), np.uint16)
                got = run(c[0], part[0], out[0], S, D, ms, p2, np.int32(11), np.int64(nd))
                new, want_out, want_min = naive.naive_walk_path_steps(c[0], part[0], S, ms, p2, 11,
                                                                      nd, stream)
                for i in range(k):
                    np.testing.assert_array_equal(D[i, 1:ndp + 1], new[i])
                    assert D[i, 0] == 7 and D[i, ndp + 1] == 7      # only entries 1..Dp written
                np.testing.assert_array_equal(out[0], want_out)
                assert list(got) == want_min
