"""BlockMatcher: kernel vs NumPy twin, behaviour on synthetic and Middlebury pairs, errors."""

import dataclasses

import cv2
import numpy as np
import pytest

from naive import naive_sad_volume
from stereo import BlockMatcher, flags
from stereo.errors import InputError, ParameterError
from stereo.kernels.block_cost import bm_select, sad_volume
from stereo.paths import middlebury_dir
from stereo.kernels.prefilter import prefilter, signed_xsobel, xsobel_magnitude
from stereo.postprocess.select import check_selection_params, select_disparities
from stereo.postprocess.speckle import remove_speckles, speckle_mask
from stereo.postprocess.texture import low_texture_mask

# ----------------------------------------------------------------------------- kernels


# nd % 4 = 2, 3, 1, 0, 0, 1, 1, 2: the kernel takes disparities four at a time plus a rest;
# bs 3..21 covers every branch of its box sum (1..4 pair terms in the first pass, more passes).
@pytest.mark.parametrize("min_d, nd, bs, shape", [
    (0, 6, 3, (9, 17)), (-4, 7, 5, (11, 14)), (3, 5, 3, (8, 12)), (-12, 4, 3, (6, 9)), (-2, 20, 5, (7, 12)),
    (1, 9, 7, (10, 22)), (0, 13, 11, (14, 26)), (-3, 10, 21, (24, 28)),
])
def test_sad_volume_matches_naive(min_d, nd, bs, shape):
    rng = np.random.default_rng(nd * 31 + bs)
    left = rng.integers(0, 63, shape).astype(np.uint8)
    right = rng.integers(0, 63, shape).astype(np.uint8)
    right[:, 3] = left[:, 3]                    # some exact ties and repeated costs
    for dtype in (np.uint16, np.int32):
        got = sad_volume(left, right, min_d, nd, bs, dtype)
        np.testing.assert_array_equal(got, naive_sad_volume(left, right, min_d, nd, bs, dtype))
        # The fused kernel must give exactly what the shared selection gives on that volume.
        for ratio, sub, lr in ((5, "equiangular", 1.0), (0, "none", -1.0), (30, "parabola", 0.0)):
            sel = select_disparities(got, min_d, uniqueness_ratio=ratio, subpixel=sub, lr_max_diff=lr)
            fused = bm_select(left, right, min_d, nd, bs, dtype, *check_selection_params(ratio, sub, lr))
            for name, a, b in zip(sel._fields, sel, fused):
                np.testing.assert_array_equal(a, b, err_msg=f"{name} {dtype} {ratio} {sub} {lr}")


def test_prefilter_fast_paths_match_float_reference():
    rng = np.random.default_rng(4)
    for img in (rng.integers(0, 256, (23, 31)).astype(np.uint8),
                rng.integers(0, 65536, (23, 31)).astype(np.uint16)):
        ref = np.rint(signed_xsobel(img))
        for cap in (1, 31, 127):
            want = (np.clip(ref, -cap, cap) + cap).astype(np.uint8)
            np.testing.assert_array_equal(prefilter(img, "xsobel", cap), want)
            np.testing.assert_array_equal(xsobel_magnitude(img, cap), np.minimum(np.abs(ref), cap))


@pytest.mark.parametrize("pre", ["xsobel", "normalized"])
def test_low_texture_flags_equal_the_texture_mask(pre):
    left, right = _textured_pair(4, shape=(30, 70))
    left[:, 20:45] = 100
    left[5:9, 25:28] = 104                        # faint texture, below and above threshold
    res = BlockMatcher(num_disparities=12, block_size=5, prefilter=pre, texture_threshold=2.5,
                       speckle_window_size=0).match(left, right)
    want = low_texture_mask(left, 5, 2.5, 31)
    assert want.any() and not want.all()
    np.testing.assert_array_equal((res.mask & flags.LOW_TEXTURE) != 0, want)


def test_remove_speckles_matches_boolean_reference():
    rng = np.random.default_rng(5)
    for scale in (1.0, 3000.0):                   # 3000: |d| beyond int16 x16 fixed point
        disp = (rng.integers(0, 4, (30, 40)) * scale).astype(np.float32)
        disp[rng.random(disp.shape) < 0.2] = np.nan
        disp[0, 0] = np.inf
        mask = rng.integers(0, 2, disp.shape).astype(np.uint8)
        want = speckle_mask(disp, 6, 0.5 * scale)
        assert want.any()
        got_d, got_m = disp.copy(), mask.copy()
        remove_speckles(got_d, got_m, 6, 0.5 * scale)
        ref_d, ref_m = disp.copy(), mask.copy()
        ref_d[want] = np.nan
        ref_m[want] |= flags.SPECKLE
        np.testing.assert_array_equal(got_d, ref_d)
        np.testing.assert_array_equal(got_m, ref_m)
        assert not want[0, 0] and np.isinf(got_d[0, 0])


def test_compute_equals_match():
    left, right = _textured_pair(3)
    bm = BlockMatcher(min_disparity=-2, num_disparities=11, block_size=5)
    np.testing.assert_array_equal(bm.compute(left, right), bm.match(left, right).disparity)


def _textured_pair(true_d, shape=(40, 90), seed=0):
    rng = np.random.default_rng(seed)
    h, w = shape
    wide = cv2.GaussianBlur(rng.integers(0, 256, (h, w + 80)).astype(np.uint8), (3, 3), 0)
    left = np.ascontiguousarray(wide[:, 40:40 + w])
    right = np.ascontiguousarray(wide[:, 40 + true_d:40 + true_d + w])   # right(x) = left(x + d)
    return left, right


@pytest.mark.parametrize("true_d, min_d", [(7, 0), (-6, -10), (0, -3)])
def test_recovers_constant_shift_including_negative(true_d, min_d):
    left, right = _textured_pair(true_d)
    res = BlockMatcher(min_disparity=min_d, num_disparities=16, block_size=7).match(left, right)
    valid = np.isfinite(res.disparity)
    assert valid.mean() > 0.6
    assert np.abs(res.disparity[valid] - true_d).max() <= 0.5
    assert np.all(valid == ((res.mask & flags.INVALID) == 0))
    assert res.confidence.shape == left.shape and np.all(res.confidence[~valid] == 0)


def test_true_disparity_outside_range_is_invalid_not_clipped():
    left, right = _textured_pair(12)
    # Random texture has spurious minima inside the range; the default checks drop most.
    assert np.isfinite(BlockMatcher(num_disparities=10, block_size=7).compute(left, right)).mean() < 0.15
    strict = BlockMatcher(num_disparities=10, block_size=7, uniqueness_ratio=25)
    assert np.isfinite(strict.compute(left, right)).mean() < 0.02


def test_colour_float_and_uint16_inputs():
    left, right = _textured_pair(5)
    bm = BlockMatcher(num_disparities=12, block_size=7)
    ref = bm.compute(left, right)
    colour = bm.compute(cv2.cvtColor(left, cv2.COLOR_GRAY2BGR), cv2.cvtColor(right, cv2.COLOR_GRAY2BGR))
    np.testing.assert_array_equal(ref, colour)
    deep = bm.compute(left.astype(np.uint16) * 257, right.astype(np.uint16) * 257)
    np.testing.assert_array_equal(ref, deep)
    flt = bm.compute(left.astype(np.float32), right.astype(np.float32))
    assert np.nanmax(np.abs(flt - 5)) <= 0.5


def test_low_texture_and_speckle_flags():
    left, right = _textured_pair(4, shape=(40, 90))
    left[:, 30:60] = 128
    right[:, 26:56] = 128
    res = BlockMatcher(num_disparities=12, block_size=5, texture_threshold=3).match(left, right)
    assert np.all(res.mask[5:35, 36:54] & flags.LOW_TEXTURE)
    disp = np.full((20, 20), 5.0, np.float32)
    disp[8:10, 8:10] = 15.0                      # a 4-pixel island
    disp[0, :] = np.nan
    sp = speckle_mask(disp, 10, 2.0)
    assert sp[8:10, 8:10].all() and sp.sum() == 4
    assert not speckle_mask(disp, 3, 2.0).any()


def test_parameters_are_frozen_and_any_range_allowed():
    bm = BlockMatcher(min_disparity=-5, num_disparities=37)
    assert bm.max_disparity == 31
    with pytest.raises(dataclasses.FrozenInstanceError):
        bm.block_size = 5


@pytest.mark.parametrize("kwargs, match", [
    (dict(block_size=8), "block_size must be odd"),
    (dict(block_size=1), "block_size must be >= 3"),
    (dict(block_size=257), "block_size must be <= 255"),
    (dict(block_size=9.0), "block_size must be an integer"),
    (dict(num_disparities=0), "num_disparities must be >= 3"),
    (dict(num_disparities=65536), "num_disparities must be <= 65535"),
    (dict(min_disparity=0.5), "min_disparity must be an integer"),
    (dict(prefilter="sobel"), "prefilter must be one of"),
    (dict(prefilter_cap=0), "prefilter_cap must be >= 1"),
    (dict(prefilter_cap=128), "prefilter_cap must be <= 127"),
    (dict(texture_threshold=-1), "texture_threshold must be >= 0"),
    (dict(uniqueness_ratio=-3), "uniqueness_ratio must be >= 0"),
    (dict(uniqueness_ratio=100), "uniqueness_ratio must be <= 99"),
    (dict(lr_max_diff=float("inf")), "lr_max_diff must be finite"),
    (dict(subpixel="cubic"), "subpixel must be one of"),
    (dict(speckle_window_size=-1), "speckle_window_size must be >= 0"),
    (dict(speckle_range=-0.5), "speckle_range must be >= 0"),
])
def test_parameter_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        BlockMatcher(**kwargs)


@pytest.mark.parametrize("left, right, match", [
    (None, np.zeros((8, 8), np.uint8), "left image is None"),
    (np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8), "differ in size"),
    (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint16), "left image is uint8 but right image is uint16"),
    (np.zeros((8, 8), np.int32), np.zeros((8, 8), np.int32), "dtype int32"),
    (np.zeros((8, 8, 2), np.uint8), np.zeros((8, 8, 2), np.uint8), "1, 3 or 4 channels"),
    (np.zeros((1, 8), np.uint8), np.zeros((1, 8), np.uint8), "too small"),
    (np.full((8, 8), np.nan, np.float32), np.zeros((8, 8), np.float32), "NaN or inf"),
])
def test_input_errors(left, right, match):
    with pytest.raises(InputError, match=match):
        BlockMatcher(num_disparities=4).compute(left, right)


# ----------------------------------------------------------------------------- Middlebury

SCENE = "Teddy"


def _scene(name=SCENE):
    d = middlebury_dir() / name
    if not (d / "im0.png").exists():
        pytest.skip(f"Middlebury scene {name} not found under {middlebury_dir()} (set STEREO_DATA)")
    from stereo.io.pfm import read_pfm
    left = cv2.imread(str(d / "im0.png"), cv2.IMREAD_GRAYSCALE)
    right = cv2.imread(str(d / "im1.png"), cv2.IMREAD_GRAYSCALE)
    gt = read_pfm(d / "disp0GT.pfm")
    nocc = (cv2.imread(str(d / "mask0nocc.png"), cv2.IMREAD_GRAYSCALE) == 255) & np.isfinite(gt)
    return left, right, gt, nocc


def _bad2(disp, gt, region):
    from stereo.postprocess.fill import fill_background
    valid = region & np.isfinite(disp)
    sparse = 100.0 * np.mean(np.abs(disp[valid] - gt[valid]) > 2.0)
    dense, _ = fill_background(disp)
    dense = np.where(np.isfinite(dense), dense, 0.0)
    return sparse, 100.0 * np.mean(np.abs(dense[region] - gt[region]) > 2.0)


def test_middlebury_accuracy_and_negative_disparities():
    left, right, gt, nocc = _scene()
    nd = int(np.ceil(gt[nocc].max())) + 4
    base = BlockMatcher(min_disparity=0, num_disparities=nd).compute(left, right)
    k = 20
    shifted = np.empty_like(right)
    shifted[:, k:] = right[:, :-k]                # x_r grows by k: every disparity drops by k
    shifted[:, :k] = right[:, :1]
    neg = BlockMatcher(min_disparity=-k, num_disparities=nd).compute(left, shifted)
    assert np.nanmin(neg) < 0
    s0, d0 = _bad2(base, gt, nocc)
    s1, d1 = _bad2(neg + k, gt, nocc)
    assert s0 < 6.0 and d0 < 15.0                # Teddy, bs 9: about 3.4 sparse, 8.5 dense
    assert abs(s1 - s0) <= 1.0 and abs(d1 - d0) <= 1.0


def test_middlebury_range_cut_leaves_near_pixels_invalid():
    left, right, gt, nocc = _scene()
    nd = 36                                       # range 0..35, GT goes to ~53
    disp = BlockMatcher(num_disparities=nd).compute(left, right)
    beyond = nocc & (gt > nd - 1 + 1)
    assert beyond.sum() > 1000
    assert np.isnan(disp[beyond]).mean() >= 0.9
