"""Intensity-guided weighted median over selected pixels: kernel vs NumPy twin, rules, errors."""

from __future__ import annotations

import numpy as np
import pytest

from naive import naive_guided_median, naive_jump_band
from stereo.errors import ParameterError
from stereo.postprocess.guided_median import guided_median, jump_band


def _case(seed, shape=(23, 31)):
    rng = np.random.default_rng(seed)
    d = (10.0 + rng.normal(0, 2.0, shape)).astype(np.float32)
    d[:, 15:] += 6.0
    d[rng.random(shape) < 0.3] = np.nan
    d[rng.random(shape) < 0.1] = 12.0                  # ties between samples
    guide = rng.integers(0, 256, shape).astype(np.uint8)
    guide[:, 15:] = rng.integers(100, 140, (shape[0], shape[1] - 15))
    selected = rng.random(shape) < 0.5
    return d, selected, guide


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("radius,step,scale,change", [(4, 4, 10.0, 0.0), (6, 2, 10.0, 0.0), (3, 1, 3.0, 0.0),
                                                      (5, 2, 50.0, 0.0), (0, 1, 10.0, 0.0), (4, 2, 10.0, 1.0)])
def test_kernel_matches_numpy_twin_exactly(seed, radius, step, scale, change):
    d, sel, g = _case(seed)
    before = d.copy()
    out = guided_median(d, sel, g, radius, step, scale, change)
    ref = naive_guided_median(d, sel, g, radius, step, scale, change)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(d, before)                      # input untouched
    np.testing.assert_array_equal(out[~sel], d[~sel])             # unselected copied
    if radius > 0:
        assert (out[sel] != d[sel]).any()
    # both kernels (chosen by the selected fraction) give the same output
    from stereo.kernels.guided_median import guided_median_selected, guided_median_selected_rows
    weights = np.rint(65536.0 * np.exp(-np.arange(256) / scale)).astype(np.int32)
    taps = np.arange(-(radius // step) * step, radius + 1, step, dtype=np.int64)
    offsets = np.stack(np.meshgrid(taps, taps, indexing="ij"), axis=-1).reshape(-1, 2).copy()
    for kernel in (guided_median_selected, guided_median_selected_rows):
        for sel_k in (sel, sel & (np.arange(d.shape[1]) % 7 == 0)):
            o = np.empty_like(d)
            kernel(d, sel_k, g, offsets, weights, np.float32(change), o)
            np.testing.assert_array_equal(o, naive_guided_median(d, sel_k, g, radius, step, scale, change))
    if step > 1:
        np.testing.assert_array_equal(guided_median(d, sel, g, radius, step, scale, change, checker=True),
                                      naive_guided_median(d, sel, g, radius, step, scale, change, checker=True))
    if change > 0:   # values moved by at most `change` are kept
        moved = sel & np.isfinite(d) & (out != d)
        assert moved.any() and (np.abs(out - d)[moved] > change).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("jump", [0.5, 2.0, 8.0])
def test_jump_band_matches_numpy_twin(seed, jump):
    d, _, _ = _case(seed)
    band = jump_band(d, jump)
    np.testing.assert_array_equal(band, naive_jump_band(d, jump))
    assert band.any() and not band[np.isnan(d)].any()


def test_hole_takes_the_surface_it_looks_like():
    # a filled strip (column 4..6) got the background 5.0 throughout; the image says columns
    # 5..6 belong to the brighter foreground at 9.0: the median moves them, keeps column 4
    d = np.full((9, 11), 5.0, np.float32)
    d[:, 5:] = 9.0
    d[:, 4:7] = 5.0
    guide = np.full(d.shape, 40, np.uint8)
    guide[:, 5:] = 200
    sel = np.zeros(d.shape, bool)
    sel[:, 4:7] = True
    out = guided_median(d, sel, guide, 4, 2, 10.0)
    assert (out[:, 4] == 5.0).all() and (out[:, 5:7] == 9.0).all()
    np.testing.assert_array_equal(out[~sel], d[~sel])
    # NaN samples are not counted; a pixel without any sample keeps its value
    e = np.full((3, 3), np.nan, np.float32)
    e[1, 1] = 7.0
    assert guided_median(e, np.ones((3, 3), bool), np.zeros((3, 3), np.uint8), 1, 1, 10.0)[1, 1] == 7.0
    assert np.isnan(guided_median(e, np.ones((3, 3), bool), np.zeros((3, 3), np.uint8), 0, 1, 10.0)[0, 0])


def test_errors():
    d = np.zeros((4, 5), np.float32)
    sel = np.ones((4, 5), bool)
    g = np.zeros((4, 5), np.uint8)
    with pytest.raises(ParameterError, match="2-D"):
        guided_median(np.zeros(5, np.float32), sel, g)
    with pytest.raises(ParameterError, match="must match"):
        guided_median(d, sel[:3], g)
    with pytest.raises(ParameterError, match="uint8"):
        guided_median(d, sel, g.astype(np.float32))
    with pytest.raises(ParameterError, match="radius"):
        guided_median(d, sel, g, -1)
    with pytest.raises(ParameterError, match="step"):
        guided_median(d, sel, g, 4, 0)
    with pytest.raises(ParameterError, match="scale"):
        guided_median(d, sel, g, 4, 4, 0.0)
    with pytest.raises(ParameterError, match="min_change"):
        guided_median(d, sel, g, 4, 4, 10.0, -1.0)
    with pytest.raises(ParameterError, match="jump"):
        jump_band(d, float("nan"))
