"""Per-pixel disparity intervals (stereo/kernels/sgm_interval.py): exact against the NumPy
twin and against the full-range sweep kernel, determinism, validation."""

from __future__ import annotations

import cv2
import numba
import numpy as np
import pytest

from naive import naive_census_volume, naive_select_interval
from stereo.kernels.census import census_transform
from stereo.kernels.sgm import p2_table
from stereo.kernels.sgm_interval import interval_select_census
from stereo.kernels.sgm_sweep import sweep_select_census

P1, P2 = 10, 120
LUT = p2_table(P1, P2, 16.0)


def _inputs(h, w, shift, seed, win=(5, 3)):
    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.integers(0, 256, (h, w + 24)).astype(np.uint8), (3, 3), 0)
    left = tex[:, 12:12 + w].copy()
    right = tex[:, 12 + shift:12 + shift + w].copy()
    cl, cr = census_transform(left, *win), census_transform(right, *win)
    gl = cv2.Sobel(left, cv2.CV_16S, 1, 0, ksize=3)
    gr = cv2.Sobel(right, cv2.CV_16S, 1, 0, ksize=3)
    invalid = win[0] * win[1] - 1 + ((4 * 64) >> 4)
    return left, cl, cr, gl, gr, invalid


def _random_intervals(h, w, d0, nd, rng, blocky):
    # counts: multiples of 16, or ending at the top of the range; starts anywhere inside
    top = d0 + nd
    cnt = rng.choice([16, 32], size=(h, w))
    if blocky:          # piecewise-constant intervals with jumps between blocks
        cnt = np.repeat(np.repeat(cnt[::4, ::5], 4, 0), 5, 1)[:h, :w]
    lo = d0 + (rng.random((h, w)) * (nd - cnt + 1)).astype(np.int64)
    if blocky:
        lo = np.repeat(np.repeat(lo[::4, ::5], 4, 0), 5, 1)[:h, :w]
    # some intervals clipped at the top (count not a multiple of 16)
    clip = rng.random((h, w)) < 0.15
    lo = np.where(clip, top - 7, lo)
    cnt = np.where(clip, 7, cnt)
    full = rng.random((h, w)) < 0.1
    lo = np.where(full, d0, lo)
    cnt = np.where(full, nd, cnt)
    return lo.astype(np.int64), cnt.astype(np.int64)


@pytest.mark.parametrize("paths,d0,blocky,recompute", [(8, 0, False, False), (8, -5, True, True),
                                                      (4, 3, True, False), (5, -2, False, True)])
def test_interval_kernel_equals_naive(paths, d0, blocky, recompute):
    h, w, nd = 9, 23, 37
    rng = np.random.default_rng(paths + d0)
    left, cl, cr, gl, gr, invalid = _inputs(h, w, 6, paths)
    lo, cnt = _random_intervals(h, w, d0, nd, rng, blocky)
    got = interval_select_census(cl, cr, gl, gr, 4, 64, invalid, left, P1, LUT, paths, d0, nd, lo,
                                 cnt, 5, 2, 1.0, recompute=recompute)
    cost = naive_census_volume(cl, cr, d0, nd, invalid, gl, gr, 4, 64)
    ref = naive_select_interval(cost, left, P1, LUT, paths, d0, lo, cnt, 5, "equiangular", 1.0)
    names = ("disparity", "mask", "best", "second", "lr_distance")
    for name, a, b in zip(names, got, ref):
        assert np.array_equal(a, b, equal_nan=True), name
    # the range contract: valid values lie strictly inside each pixel's interval
    fin = np.isfinite(got.disparity)
    assert fin.any()
    assert (got.disparity[fin] >= lo[fin] + 0.5).all()
    assert (got.disparity[fin] <= lo[fin] + cnt[fin] - 1.5).all()


@pytest.mark.parametrize("paths,d0,nd,recompute", [(8, 0, 48, False), (8, -7, 45, True),
                                                   (5, 2, 30, False), (4, -3, 64, True)])
def test_full_intervals_equal_sweep_kernel(paths, d0, nd, recompute):
    h, w = 31, 90
    left, cl, cr, gl, gr, invalid = _inputs(h, w, 9, 7, win=(9, 7))
    ref = sweep_select_census(cl, cr, gl, gr, 4, 64, invalid, left, P1, LUT, paths, d0, nd, 5, 2, 1.0)
    lo = np.full((h, w), d0)
    cnt = np.full((h, w), nd)
    got = interval_select_census(cl, cr, gl, gr, 4, 64, invalid, left, P1, LUT, paths, d0, nd, lo, cnt,
                                 5, 2, 1.0, recompute=recompute)
    for a, b in zip(got, ref):
        assert np.array_equal(a, b, equal_nan=True)
    # and a core range selects the same kept rows
    part = interval_select_census(cl, cr, gl, gr, 4, 64, invalid, left, P1, LUT, paths, d0, nd, lo,
                                  cnt, 5, 2, 1.0, recompute=recompute, core=(5, 20))
    assert np.array_equal(part.disparity[5:20], ref.disparity[5:20], equal_nan=True)
    assert np.array_equal(part.mask[5:20], ref.mask[5:20])


def test_same_output_for_one_and_two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 threads")
    h, w, d0, nd = 40, 80, -4, 60
    left, cl, cr, gl, gr, invalid = _inputs(h, w, 8, 11, win=(9, 7))
    lo, cnt = _random_intervals(h, w, d0, nd, np.random.default_rng(5), True)
    outs = []
    old = numba.get_num_threads()
    try:
        for t in (1, 2):
            numba.set_num_threads(t)
            outs.append(interval_select_census(cl, cr, gl, gr, 4, 64, invalid, left, P1, LUT, 8, d0,
                                               nd, lo, cnt, 5, 2, 1.0))
    finally:
        numba.set_num_threads(old)
    for a, b in zip(*outs):
        assert np.array_equal(a, b, equal_nan=True)


def test_intervals_validated():
    left, cl, cr, gl, gr, invalid = _inputs(6, 30, 4, 1)
    lo = np.zeros((6, 30), np.int64)
    run = lambda lo, cnt: interval_select_census(cl, cr, gl, gr, 4, 64, invalid, left, P1, LUT, 8, 0,
                                                 40, lo, cnt, 5, 2, 1.0)
    with pytest.raises(ValueError, match="inside"):
        run(lo, np.full((6, 30), 48))              # beyond the top of the range
    with pytest.raises(ValueError, match="inside"):
        run(lo - 1, np.full((6, 30), 16))          # below min_disparity
    with pytest.raises(ValueError, match="multiple of 16"):
        run(lo, np.full((6, 30), 20))              # padding cells inside the range
    with pytest.raises(ValueError, match="paths"):
        interval_select_census(cl, cr, gl, gr, 4, 64, invalid, left, P1, LUT, 16, 0, 40, lo,
                               np.full((6, 30), 16), 5, 2, 1.0)


# ---------------------------------------------------------------- SGBM(coarse_to_fine=True)
from stereo import flags                                  # noqa: E402
from helpers import needs_scene, plane_and_square_pair, scene_gray  # noqa: E402
from stereo.postprocess.fill import fill_background       # noqa: E402
from stereo.sgbm import SGBM, _PixelIntervals             # noqa: E402

needs_data = needs_scene("Teddy")
_scene_pair = plane_and_square_pair


def _with_intervals(monkeypatch, lo_c, cnt_c):
    monkeypatch.setattr(SGBM, "_pixel_intervals",
                        lambda self, gl, gr: _PixelIntervals(np.asarray(lo_c, np.int32),
                                                             np.asarray(cnt_c, np.int32), *gl.shape))


def test_sgbm_full_pixel_intervals_bit_identical(monkeypatch):
    left, right = _scene_pair()
    ref = SGBM(-3, 37, coarse_to_fine=False).match(left, right)
    _with_intervals(monkeypatch, np.full((24, 40), -3), np.full((24, 40), 37))
    got = SGBM(-3, 37, coarse_to_fine=True).match(left, right)
    assert np.array_equal(got.disparity, ref.disparity, equal_nan=True)
    assert np.array_equal(got.mask, ref.mask)
    assert np.array_equal(got.confidence, ref.confidence)


@pytest.mark.parametrize("paths,budget_mb", [(8, 224), (5, 224), (4, 224), (8, 0.2)])
def test_sgbm_pixel_intervals_range_contract(monkeypatch, paths, budget_mb):
    # intervals that jump between coarse blocks; with a tiny budget several stripes
    import stereo.sgbm as S
    monkeypatch.setattr(S, "C2F_PIXEL_MB", budget_mb)
    left, right = _scene_pair(h=128)
    rng = np.random.default_rng(1)
    lo_c = rng.choice([0, 8, 16], size=(8, 10))
    cnt_c = np.full((8, 10), 16)
    _with_intervals(monkeypatch, lo_c, cnt_c)
    m = SGBM(0, 40, coarse_to_fine=True, paths=paths, median=False, speckle_size=0, refine_offsets=(),
             stripe_overlap=8)
    res = m.match(left, right)
    plan = m._plan(left, right, left, right)
    assert (len(plan) > 1) == (budget_mb < 1)
    lo, cnt = plan[0][4].rows(0, 128)
    d = res.disparity
    fin = np.isfinite(d)
    assert fin.mean() > 0.3
    # valid values keep half a pixel from both edges of the pixel's own interval; winners
    # on a narrowed edge are OUT_OF_RANGE, never clipped
    assert (d[fin] >= lo[fin] + 0.5).all() and (d[fin] <= lo[fin] + cnt[fin] - 1.5).all()
    assert ((res.mask & flags.OUT_OF_RANGE) != 0).any()


def test_auto_decision():
    assert SGBM(0, 64)._use_c2f(375, 450) is False           # quarter-res scenes
    assert SGBM(0, 64)._use_c2f(480, 640) is False
    assert SGBM(0, 288)._use_c2f(1984, 2872) is True         # full resolution


@needs_data
def test_pixel_intervals_contain_ground_truth_and_accuracy_kept():
    left, right, gt, nonocc = scene_gray("Teddy")
    m = SGBM(0, 64, coarse_to_fine=True)
    iv = m._pixel_intervals(left, right)
    lo, cnt = iv.rows(0, left.shape[0])
    inside = (gt >= lo) & (gt <= lo + cnt - 1)
    assert inside[nonocc].mean() > 0.99
    assert cnt.mean() < 0.8 * 64          # the intervals do narrow the search

    def bad2(disp):
        dense, _ = fill_background(disp)
        dense = np.where(np.isfinite(dense), dense, 0.0)
        return 100.0 * float((np.abs(dense[nonocc] - gt[nonocc]) > 2.0).mean())

    on = bad2(m.compute(left, right))
    off = bad2(SGBM(0, 64, coarse_to_fine=False).compute(left, right))
    assert on <= off + 0.3


@pytest.mark.parametrize("k", [1, 2, 4])
def test_offset_path_steps_equal_naive(k):
    # sgm_simd.path_steps_K_add/_stream read and write at element offsets of whole arrays
    # (the buffers of several paths in one array): same values as the naive steps, nothing
    # outside entries 1..a of each destination written
    from numba import njit
    from naive import naive_path_steps
    from stereo.kernels import sgm_simd
    from stereo.kernels.sgm import BIG
    add = {1: sgm_simd.path_steps_1_add, 2: sgm_simd.path_steps_2_add, 4: sgm_simd.path_steps_4_add}[k]
    stream = {1: sgm_simd.path_steps_1_stream, 2: sgm_simd.path_steps_2_stream,
              4: sgm_simd.path_steps_4_stream}[k]

    def make(f):
        @njit
        def run(c, o, out, a, buf, so, do, ms, p2, p1):
            if k == 1:
                return (f(c, o, out, a, (buf,), (so[0],), (buf,), (do[0],), (ms[0],), (p2[0],), p1),)
            if k == 2:
                return f(c, o, out, a, (buf, buf), (so[0], so[1]), (buf, buf), (do[0], do[1]),
                         (ms[0], ms[1]), (p2[0], p2[1]), p1)
            return f(c, o, out, a, (buf, buf, buf, buf), (so[0], so[1], so[2], so[3]),
                     (buf, buf, buf, buf), (do[0], do[1], do[2], do[3]),
                     (ms[0], ms[1], ms[2], ms[3]), (p2[0], p2[1], p2[2], p2[3]), p1)
        return run

    runs = (make(add), make(stream))

    rng = np.random.default_rng(40 + k)
    for a in (16, 48, 96):
        for mode in (0, 1):
            o = int(rng.integers(0, 40))
            c = rng.integers(0, 256, o + a + 7).astype(np.uint8)
            S = rng.integers(-32768, int(BIG) + 1, (k, a + 2)).astype(np.int16)
            S[:, 0] = BIG
            buf = np.full(2 * k * (a + 5) + 9, 7, np.int16)
            so = [3 + 2 * i * (a + 5) for i in range(k)]          # sources and destinations
            do = [so[i] + a + 5 for i in range(k)]                # interleaved in one array
            for i in range(k):
                buf[so[i]:so[i] + a + 2] = S[i]
            ms = rng.integers(-3000, 3000, k).astype(np.int16)
            p2 = rng.integers(0, 3000, k).astype(np.int32)
            part = rng.integers(0, 65536, o + a + 5).astype(np.uint16)
            out = part.copy()
            got = runs[mode](c, np.int64(o), out, np.int64(a), buf, np.array(so, np.int64),
                      np.array(do, np.int64), ms, p2, np.int32(11))
            zero = np.zeros(a, np.uint16)
            new, want, want_min = naive_path_steps(c[o:o + a], part[o:o + a] if mode == 0 else zero,
                                                   S, ms, p2, 11)
            for i in range(k):
                np.testing.assert_array_equal(buf[do[i] + 1:do[i] + a + 1], new[i])
                assert buf[do[i]] == 7 and buf[do[i] + a + 1] == 7
                np.testing.assert_array_equal(buf[so[i]:so[i] + a + 2], S[i])
            np.testing.assert_array_equal(out[o:o + a], want)
            np.testing.assert_array_equal(out[:o], part[:o])
            np.testing.assert_array_equal(out[o + a:], part[o + a:])
            assert list(got) == want_min


def test_offset_reductions_equal_numpy():
    # best_index_at, second_best_at and key_min_update_at against plain NumPy, with
    # offsets, padding lanes (nd < a) and lengths that are not multiples of 16
    from numba import njit
    from stereo.kernels.sgm_simd import best_index_at, key_min_update_at, second_best_at

    @njit
    def red(costs, o, a, nd):
        best, kb = best_index_at(costs, o, a, nd)
        return best, kb, second_best_at(costs, o, a, nd, kb)

    @njit
    def keys(costs, o, n, rkey, j0, k0):
        return key_min_update_at(costs, o, n, rkey, j0, k0)

    rng = np.random.default_rng(7)
    for a in (16, 32, 48, 80):
        for nd in {1, 2, a - 5, a}:
            for hi in (50, 65535):
                o = int(rng.integers(0, 30))
                costs = rng.integers(0, hi, o + a + 20).astype(np.uint16)
                if hi == 65535:
                    costs[o:o + a][rng.random(a) < 0.3] = 65535
                row = costs[o:o + nd].astype(np.int64)
                kb_want = int(np.argmin(row))
                near = np.abs(np.arange(nd) - kb_want) <= 1
                second_want = int(row[~near].min()) if (~near).any() else 65535
                assert red(costs, o, a, nd) == (int(row.min()), kb_want, second_want)
        for n in (3, 16, 37):
            o, j0, k0 = int(rng.integers(0, 9)), int(rng.integers(0, 9)), int(rng.integers(0, 300))
            costs = rng.integers(0, 60, o + n + 20).astype(np.uint16)
            rkey = rng.integers(0, 60 << 16, j0 + n + 20).astype(np.uint32)
            orig = rkey.copy()
            key = (costs[o:o + n].astype(np.uint32) << 16) | (k0 + np.arange(n)).astype(np.uint32)
            want = orig.copy()
            want[j0:j0 + n] = np.minimum(want[j0:j0 + n], key)
            done = keys(costs, o, n, rkey, j0, k0)
            assert done == n // 16 * 16          # the whole 16-lane blocks, the caller does the rest
            np.testing.assert_array_equal(rkey[:j0 + done], want[:j0 + done])
            np.testing.assert_array_equal(rkey[j0 + done:], orig[j0 + done:])
