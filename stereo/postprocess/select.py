"""Disparity selection from a cost volume, validated (the rules and kernels:
:mod:`stereo.kernels.select`, whose docstring states them)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..kernels.select import Selection, select_volume
from ..validation import check_choice, check_float, check_int

SUBPIXEL_MODES = ("parabola", "equiangular", "none")
_SUBPIXEL_CODE = {"none": 0, "parabola": 1, "equiangular": 2}
VOLUME_DTYPES = (np.uint16, np.int32, np.uint32)


def check_selection_params(uniqueness_ratio, subpixel, lr_max_diff) -> tuple[int, int, float]:
    """Validate the selection parameters; return (ratio, subpixel code, lr_max_diff)."""
    ratio = check_int(uniqueness_ratio, "uniqueness_ratio", minimum=0, maximum=99)
    if subpixel is True:
        subpixel = "parabola"
    elif subpixel is False or subpixel is None:
        subpixel = "none"
    check_choice(subpixel, "subpixel", SUBPIXEL_MODES)
    lr = check_float(lr_max_diff, "lr_max_diff")
    return ratio, _SUBPIXEL_CODE[subpixel], lr


def select_disparities(volume, min_disparity, *, uniqueness_ratio=10, subpixel="parabola",
                       lr_max_diff=1.0) -> Selection:
    """Pick a disparity per pixel from a cost volume and flag why pixels are invalid.

    Args:
        volume: (H, W, D) cost volume, uint16 / int32 / uint32, C-contiguous (copied if
            not); sentinel (dtype max) marks cells without a candidate. Not modified.
        min_disparity: disparity of ``k = 0`` (pixels; may be negative).
        uniqueness_ratio: percent, 0..99 (OpenCV StereoSGBM meaning, see module doc);
            0 disables.
        subpixel: "parabola", "equiangular" or "none" (True/False mean parabola/none).
        lr_max_diff: left-right tolerance in pixels; negative disables the check.

    Returns:
        a :class:`Selection`.
    """
    vol = np.asarray(volume)
    if vol.ndim != 3:
        raise InputError(f"cost volume must be 3-D (H, W, D), got shape {vol.shape}")
    if vol.dtype.type not in VOLUME_DTYPES:
        raise InputError(f"cost volume has dtype {vol.dtype}; expected uint16, int32 or uint32")
    if min(vol.shape) < 1:
        raise InputError(f"cost volume is empty, shape {vol.shape}")
    min_disparity = check_int(min_disparity, "min_disparity")
    ratio, sub, lr = check_selection_params(uniqueness_ratio, subpixel, lr_max_diff)
    vol = np.ascontiguousarray(vol)
    h, w, _ = vol.shape
    sentinel = vol.dtype.type(np.iinfo(vol.dtype).max)
    disp = np.empty((h, w), np.float32)
    mask = np.empty((h, w), np.uint8)
    best = np.empty((h, w), np.int32)
    second = np.empty((h, w), np.int32)
    lrd = np.empty((h, w), np.float32)
    rkey = np.empty((h, w), np.int64)
    select_volume(vol, sentinel, min_disparity, ratio, sub, lr, disp, mask, best, second, lrd, rkey)
    return Selection(disp, mask, best, second, lrd)


__all__ = ["Selection", "select_disparities", "check_selection_params", "SUBPIXEL_MODES", "VOLUME_DTYPES"]
