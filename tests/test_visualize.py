"""Pictures: colour order, invalid pixels, fixed ranges, error-map colours."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stereo.errors import InputError, ParameterError
from stereo.visualize import (MISSING_PREDICTION_BGR, colorize_confidence, colorize_depth,
                              colorize_disparity, error_map)


def _ramp():
    d = np.tile(np.linspace(0, 100, 64, dtype=np.float32), (8, 1))
    d[2, 5] = np.nan
    return d


def test_colorize_disparity_near_warm_invalid_black():
    d = _ramp()
    img = colorize_disparity(d)
    assert img.dtype == np.uint8 and img.shape == (8, 64, 3)
    assert (img[2, 5] == 0).all()
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
    assert (grey[..., 0] == grey[..., 2]).all()
    with pytest.raises(ParameterError, match="vmin < vmax"):
        colorize_disparity(d, vmin=5, vmax=5)
    with pytest.raises(InputError, match="2-D"):
        colorize_disparity(np.zeros((3, 3, 3), np.float32))


def test_colorize_depth_is_inverse_depth():
    z = np.tile(np.linspace(0.5, 20, 64, dtype=np.float32), (8, 1))
    z[1, 1] = np.nan
    z[1, 2] = np.inf   # infinitely far: valid, far end
    z[1, 3] = -1.0     # invalid
    img = colorize_depth(z)
    inv = np.where(np.isnan(z) | (z <= 0), np.nan, 1.0 / z).astype(np.float32)
    np.testing.assert_array_equal(img, colorize_disparity(inv))
    assert (img[1, 1] == 0).all() and (img[1, 3] == 0).all() and img[1, 2].max() > 0
    assert img[0, 0, 2] > img[0, 0, 0]  # nearest is warm
    fixed = colorize_depth(z, vmin=0.5, vmax=np.inf, colormap=None)
    assert (fixed[0, 0] == 255).all() and (fixed[1, 2] == 0).all()


def test_colorize_confidence():
    c = np.array([[0.0, 0.5, 1.0, np.nan, 2.0]], np.float32)
    img = colorize_confidence(c)
    assert img.shape == (1, 5, 3)
    assert (img[0, 0] == 0).all() and (img[0, 2] == 255).all() and (img[0, 3] == 0).all()
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
    with pytest.raises(InputError, match="differ in shape"):
        error_map(disp[:, :3], gt)
    with pytest.raises(ParameterError, match="max_error"):
        error_map(disp, gt, max_error=0)
