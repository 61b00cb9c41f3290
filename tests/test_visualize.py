"""Pictures: colour order, invalid pixels, fixed ranges, error-map colours."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stereo.errors import InputError, ParameterError
from stereo.visualize import (INVALID_BGR, INVALID_GREY_BGR, MISSING_PREDICTION_BGR, add_colorbar,
                              colorize_confidence, colorize_depth, colorize_disparity, error_map, montage,
                              render_depth, render_disparity)

TURBO_LUT = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[None], cv2.COLORMAP_TURBO)[0]


def _ramp():
    d = np.tile(np.linspace(0, 100, 64, dtype=np.float32), (8, 1))
    d[2, 5] = np.nan
    return d


def test_invalid_colours_are_outside_the_maps():
    # TURBO's far end is nearly black: invalid must be a colour TURBO never produces.
    assert not (TURBO_LUT == np.array(INVALID_BGR, np.uint8)).all(axis=1).any()
    assert np.abs(TURBO_LUT.astype(int) - INVALID_BGR).sum(axis=1).min() > 100
    grey = np.repeat(np.arange(256)[:, None], 3, axis=1)
    assert not (grey == np.array(INVALID_GREY_BGR)).all(axis=1).any()


def test_colorize_disparity_near_warm_invalid_white():
    d = _ramp()
    img = colorize_disparity(d)
    assert img.dtype == np.uint8 and img.shape == (8, 64, 3)
    assert tuple(img[2, 5]) == INVALID_BGR
    valid = np.isfinite(d)
    assert (img[valid].max(axis=1) > 0).all()
    far, near = img[0, 0].astype(int), img[0, -1].astype(int)
    assert near[2] > near[0] and far[0] > far[2]  # near red > blue, far blue > red
    np.testing.assert_array_equal(img[0, -1], cv2.applyColorMap(np.uint8([[255]]), cv2.COLORMAP_TURBO)[0, 0])


def test_colorize_disparity_fixed_range_and_grey():
    d = _ramp()
    a = colorize_disparity(d, vmin=0, vmax=200)
    b = colorize_disparity(d * 0.5, vmin=0, vmax=200)
    # The same disparity value gets the same colour in both maps.
    np.testing.assert_array_equal(a[0, 20], b[0, 40])
    grey = colorize_disparity(d, colormap=None, percentile=(0, 100))
    assert (grey[0, -1] == 255).all() and (grey[0, 0] == 0).all()
    assert tuple(grey[2, 5]) == INVALID_GREY_BGR
    assert (grey[..., 0] == grey[..., 2]).all()
    with pytest.raises(ParameterError, match="vmin < vmax"):
        colorize_disparity(d, vmin=5, vmax=5)
    with pytest.raises(InputError, match="2-D"):
        colorize_disparity(np.zeros((3, 3, 3), np.float32))


def test_colorize_depth_is_metric_and_not_the_disparity_picture():
    z = np.tile(np.linspace(0.5, 20, 64, dtype=np.float32), (8, 1))
    z[1, 1] = np.nan
    z[1, 2] = np.inf   # no finite depth to draw: invalid
    z[1, 3] = -1.0     # invalid
    img = colorize_depth(z, near=0.5, far=20.0)
    for x in (1, 2, 3):
        assert tuple(img[1, x]) == INVALID_BGR
    assert img[0, 0, 2] > img[0, 0, 0]  # nearest is warm
    # linear in metres: the middle depth gets the middle colour
    mid = np.argmin(np.abs(z[0] - 10.25))
    np.testing.assert_array_equal(img[0, mid], TURBO_LUT[int(round(255 - 255 * (z[0, mid] - 0.5) / 19.5))])
    inv = np.where(np.isfinite(z) & (z > 0), 1.0 / z, np.nan).astype(np.float32)
    assert not np.array_equal(img, colorize_disparity(inv))  # depth.png is no longer disparity.png
    fixed = colorize_depth(z, near=0.5, far=20, colormap=None)
    assert (fixed[0, 0] == 255).all() and (fixed[0, -1] == 0).all()
    with pytest.raises(ParameterError, match="near/far"):
        colorize_depth(z, near=-1, far=3)


def test_colour_bars_and_montage():
    d = _ramp()
    d = np.repeat(d, 30, axis=0)  # 240 x 64
    img = render_disparity(d, vmin=0, vmax=100)
    assert img.shape[0] == 240 and img.shape[1] > 64
    np.testing.assert_array_equal(img[:, :64], colorize_disparity(d, vmin=0, vmax=100))
    panel = img[:, 64:]
    # the bar holds the colour map's ends (warm at the top) and the invalid swatch
    colours = {tuple(c) for c in panel.reshape(-1, 3)}
    assert tuple(TURBO_LUT[255]) in colours and tuple(TURBO_LUT[0]) in colours
    assert INVALID_BGR in colours
    z = np.full((240, 80), 3.0, np.float32)
    z[:, 40:] = 6.0
    dimg = render_depth(z, near=2.0, far=8.0)
    assert dimg.shape[0] == 240 and dimg.shape[1] > 80
    bar = add_colorbar(np.zeros((100, 10, 3), np.uint8), 0, 1, "x [m]", reverse=True)
    assert bar.shape[0] == 100
    m = montage([("a", img), ("b", dimg), ("c", np.zeros((120, 50), np.uint8))], columns=2)
    assert m.dtype == np.uint8 and m.shape[1] >= img.shape[1] + dimg.shape[1]


def test_colorize_confidence():
    c = np.array([[0.0, 0.5, 1.0, np.nan, 2.0]], np.float32)
    img = colorize_confidence(c)
    assert img.shape == (1, 5, 3)
    assert (img[0, 0] == 0).all() and (img[0, 2] == 255).all() and tuple(img[0, 3]) == INVALID_GREY_BGR
    assert abs(int(img[0, 1, 0]) - 128) <= 1 and (img[0, 4] == 255).all()
    assert colorize_confidence(c, colormap=cv2.COLORMAP_VIRIDIS)[0, 1].std() > 0


def test_error_map_colours():
    gt = np.array([[10.0, 10.0, 10.0, np.nan, 10.0, 10.0]], np.float32)
    disp = np.array([[10.0, 12.0, 30.0, 5.0, np.nan, 11.0]], np.float32)
    mask = np.array([[1, 1, 1, 1, 1, 0]], np.uint8)
    img = error_map(disp, gt, mask, max_error=4.0)
    assert tuple(img[0, 0]) == (0, 255, 0)          # exact: green
    assert tuple(img[0, 1]) == (0, 255, 255)        # half of max: yellow
    assert tuple(img[0, 2]) == (0, 0, 255)          # beyond max: red
    assert tuple(img[0, 3]) == (0, 0, 0)            # no GT: black
    assert tuple(img[0, 4]) == MISSING_PREDICTION_BGR  # GT but no prediction
    assert tuple(img[0, 5]) == (0, 0, 0)            # masked out
    # filled pixels (scored but not output by the matcher) are hatched with blue
    filled = np.array([[False, True, True, False, False, False]])
    hatched = error_map(disp, gt, mask, max_error=4.0, filled=filled)
    assert tuple(hatched[0, 1]) == (0, 255, 255) and tuple(hatched[0, 2]) == MISSING_PREDICTION_BGR
    # the legend's colour table is the map's ramp
    from stereo.visualize import error_lut, render_error_map
    lut = error_lut()
    assert tuple(lut[0]) == tuple(img[0, 0]) and tuple(lut[255]) == tuple(img[0, 2])
    assert np.abs(lut[127].astype(int) - img[0, 1].astype(int)).max() <= 2  # half the max error: yellow
    legend = render_error_map(np.repeat(disp, 240, axis=0), np.repeat(gt, 240, axis=0), filled=np.repeat(filled, 240, axis=0))
    assert legend.shape[0] == 240 and legend.shape[1] > 6
    with pytest.raises(InputError, match="differ in shape"):
        error_map(disp[:, :3], gt)
    with pytest.raises(ParameterError, match="max_error"):
        error_map(disp, gt, max_error=0)
