"""Coarse-to-fine disparity intervals of SGBM: exactness, range contract, accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from stereo import flags
from stereo.errors import ParameterError
from stereo.postprocess.fill import fill_background
from stereo.sgbm import SGBM

from helpers import needs_scene, plane_and_square_pair, scene_gray

needs_data = needs_scene("Teddy")
_pair = plane_and_square_pair


def _with_bands(monkeypatch, fn):
    # the band scheme (used for SAD/BT costs and 16 paths; census with 4/5/8 paths uses
    # per-pixel intervals, tests/test_sgm_interval.py), forced for every cost here
    monkeypatch.setattr(SGBM, "_pixel_intervals", lambda self, gl, gr: None)
    monkeypatch.setattr(SGBM, "_coarse_intervals", lambda self, gl, gr: fn(self, gl.shape[0]))


def test_full_interval_is_bit_identical(monkeypatch):
    left, right = _pair()
    ref = SGBM(0, 32, coarse_to_fine=False).match(left, right)
    _with_bands(monkeypatch, lambda m, h: [(y, min(h, y + 16), 0, 31) for y in range(0, h, 16)])
    got = SGBM(0, 32, coarse_to_fine=True).match(left, right)
    assert np.array_equal(got.disparity, ref.disparity, equal_nan=True)
    assert np.array_equal(got.mask, ref.mask)
    assert np.array_equal(got.confidence, ref.confidence)


def test_narrow_interval_equals_matching_that_range(monkeypatch):
    # one interval for the whole image: the same as asking for that range directly,
    # including OUT_OF_RANGE on winners at its edges
    left, right = _pair()
    _with_bands(monkeypatch, lambda m, h: [(0, h, 4, 19)])
    got = SGBM(-8, 48, coarse_to_fine=True).match(left, right)
    ref = SGBM(4, 16, coarse_to_fine=False).match(left, right)
    assert np.array_equal(got.disparity, ref.disparity, equal_nan=True)
    assert np.array_equal(got.mask, ref.mask)


@pytest.mark.parametrize("paths,cost", [(8, "census"), (4, "census"), (16, "census"), (8, "sad")])
def test_narrow_intervals_never_report_outside(monkeypatch, paths, cost):
    left, right = _pair(h=128)
    bands = [(0, 32, 5, 12), (32, 64, 2, 20), (64, 96, 10, 18), (96, 128, 0, 9)]
    _with_bands(monkeypatch, lambda m, h: bands)
    # refinement off: the plane fit may move a value up to ~1 px across a band edge (it is
    # clipped to the user's range only); this test is about what selection reports
    m = SGBM(0, 32, coarse_to_fine=True, paths=paths, cost=cost, median=False, speckle_size=0,
             max_volume_mb=16, stripe_overlap=8, refine_offsets=())
    res = m.match(left, right)
    plan = m._plan(left, right, left, right)
    assert [p[:2] for p in plan][0][0] == 0 and plan[-1][1] == 128
    for y0, y1, _, _, lo, n, _ in plan:
        d = res.disparity[y0:y1]
        fin = np.isfinite(d)
        assert fin.any()
        # an edge winner of a narrowed interval is invalid (OUT_OF_RANGE), never clipped:
        # valid values keep half a pixel from both narrowed edges
        assert d[fin].min() >= lo + 0.5 and d[fin].max() <= lo + n - 1.5
        assert ((res.mask[y0:y1] & flags.OUT_OF_RANGE) != 0).any() or n == 32


def test_parameter_checked():
    with pytest.raises(ParameterError, match="coarse_to_fine"):
        SGBM(0, 64, coarse_to_fine="yes")
    assert SGBM(0, 64)._use_c2f(375, 450) is False           # auto: off for quarter-res scenes
    assert SGBM(0, 288)._use_c2f(1984, 2872) is True          # auto: on at full resolution


@needs_data
def test_coarse_intervals_contain_ground_truth():
    left, right, gt, nonocc = scene_gray("Teddy")
    m = SGBM(0, 64, coarse_to_fine=True)
    bands = m._coarse_intervals(left, right)
    inside = total = 0
    widths = []
    for y0, y1, lo, hi in bands:
        g = gt[y0:y1][nonocc[y0:y1]]
        inside += int(((g >= lo) & (g <= hi)).sum())
        total += g.size
        widths.append(hi - lo + 1)
    assert inside / total > 0.99
    assert np.mean(widths) < 64        # and the intervals do narrow the search


@needs_data
def test_accuracy_kept_on_teddy():
    left, right, gt, nonocc = scene_gray("Teddy")

    def bad2(disp):
        dense, _ = fill_background(disp)
        dense = np.where(np.isfinite(dense), dense, 0.0)
        return 100.0 * float((np.abs(dense[nonocc] - gt[nonocc]) > 2.0).mean())

    on = bad2(SGBM(0, 64, coarse_to_fine=True).compute(left, right))
    off = bad2(SGBM(0, 64, coarse_to_fine=False).compute(left, right))
    assert on <= off + 0.3


def test_real_coarse_level_on_synthetic_pair():
    # no monkeypatching: the 1/4 level runs, bands narrow, and the result agrees with the
    # full-range match where both are valid
    left, right = _pair(h=128, w=256, shift=16)
    m = SGBM(0, 96, coarse_to_fine=True)
    bands = m._coarse_intervals(left, right)
    assert bands is not None and all(0 <= lo <= hi <= 95 for _, _, lo, hi in bands)
    assert min(hi - lo + 1 for _, _, lo, hi in bands) < 96
    on = m.compute(left, right)
    off = SGBM(0, 96, coarse_to_fine=False).compute(left, right)
    both = np.isfinite(on) & np.isfinite(off)
    assert both.mean() > 0.5
    assert (np.abs(on[both] - off[both]) <= 1.0).mean() > 0.95
