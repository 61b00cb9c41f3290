"""From disparity to metric depth and 3-D points, for a rectified pair.

Conventions: left camera is the reference, ``d = x_left - x_right`` (pixels, NaN =
invalid); ``Z = f * B / (d + doffs)`` in metres (``B`` = ``calib.baseline_m``,
``doffs = cx_right - cx_left``); points are in the left rectified camera frame:
``X = (x - cx_left) * Z / f`` (right), ``Y = (y - cy) * Z / fy`` (down), ``Z`` forward.
A disparity with ``d + doffs <= 0`` is at or behind infinity: its depth is NaN.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import InputError
from .validation import check_disparity_map


def _calibration(calib):
    """The rectified model of a ``StereoCalibration`` or of a rig exposing ``rectified()``."""
    from calib.model import StereoCalibration

    if hasattr(calib, "rectified") and not isinstance(calib, StereoCalibration):
        calib = calib.rectified()
    if not isinstance(calib, StereoCalibration):
        raise InputError(f"calib must be a calib.StereoCalibration, got {type(calib).__name__}")
    return calib


def _check_size(shape, calib, name: str) -> None:
    h, w = shape[:2]
    if calib.width and calib.height and (calib.width, calib.height) != (w, h):
        raise InputError(
            f"{name} is {w}x{h} but the calibration is for {calib.width}x{calib.height} images "
            f"(width x height); rescale the calibration with calib.scaled() or use the right file")


def depth_from_disparity(disp, calib) -> np.ndarray:
    """Metric depth (float32 metres) of a disparity map; NaN where invalid or d + doffs <= 0."""
    calib = _calibration(calib)
    d = check_disparity_map(disp)
    _check_size(d.shape, calib, "disparity")
    denom = d.astype(np.float64) + calib.doffs
    fb = calib.focal_px * calib.baseline_m
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(denom > 0, fb / denom, np.nan)
    return depth.astype(np.float32)


def disparity_from_depth(depth, calib) -> np.ndarray:
    """Disparity (float32 pixels) of a depth map in metres: ``d = f*B/Z - doffs``.

    NaN where the depth is NaN or <= 0; ``Z = inf`` gives ``d = -doffs``.
    """
    calib = _calibration(calib)
    z = np.asarray(depth)
    if z.ndim != 2 or z.dtype.kind != "f":
        raise InputError(f"depth must be a 2-D float array (metres, NaN = invalid), got "
                         f"shape {z.shape} dtype {z.dtype}")
    _check_size(z.shape, calib, "depth")
    z = z.astype(np.float64)
    fb = calib.focal_px * calib.baseline_m
    with np.errstate(divide="ignore", invalid="ignore"):
        disp = np.where(z > 0, fb / z - calib.doffs, np.nan)
    return disp.astype(np.float32)


def _rgb_colors(image, ys, xs, shape) -> np.ndarray:
    """uint8 RGB colours of ``image`` (grey or BGR/BGRA) at the given pixels."""
    img = np.asarray(image)
    if img.shape[:2] != tuple(shape):
        raise InputError(f"image is {img.shape[1]}x{img.shape[0]} but the disparity is "
                         f"{shape[1]}x{shape[0]} (width x height)")
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 3, 4))):
        raise InputError(f"image must be grey (H, W) or colour (H, W, 3|4) BGR, got shape {img.shape}")
    samples = img[ys, xs]
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.shape[1] == 1:
        samples = np.repeat(samples, 3, axis=1)
    samples = samples[:, 2::-1]  # BGR(A) -> RGB
    if img.dtype == np.uint8:
        return np.ascontiguousarray(samples)
    if img.dtype == np.uint16:
        return np.round(samples.astype(np.float32) / 257.0).astype(np.uint8)
    if img.dtype.kind == "f":
        # float images: [0, 1] if they fit, else treated as 0..255.
        finite_max = float(np.nanmax(img)) if img.size else 0.0
        scale = 255.0 if finite_max <= 1.0 else 1.0
        return np.clip(np.nan_to_num(samples.astype(np.float64) * scale), 0, 255).round().astype(np.uint8)
    raise InputError(f"image dtype {img.dtype} not supported for colours (uint8, uint16 or float)")


def points_from_disparity(disp, calib, image=None):
    """3-D points of the valid pixels of a disparity map.

    Args:
        disp: (H, W) float disparity, pixels, NaN = invalid.
        calib: the rectified :class:`calib.StereoCalibration` of the pair.
        image: optional left image (grey, BGR or BGRA; same size) to colour the points.

    Returns:
        ``(points, colors, index)``: points (N, 3) float32 metres in the left rectified
        camera frame; colors (N, 3) uint8 RGB or None; index (N, 2) int32 ``(y, x)`` of
        each point's pixel (row-major order).
    """
    calib = _calibration(calib)
    d = check_disparity_map(disp)
    _check_size(d.shape, calib, "disparity")
    denom = d.astype(np.float64) + calib.doffs
    ys, xs = np.nonzero(denom > 0)  # NaN compares False
    z = calib.focal_px * calib.baseline_m / denom[ys, xs]
    points = np.empty((ys.size, 3), dtype=np.float32)
    points[:, 0] = (xs - calib.cx_left) * z / calib.focal_px
    points[:, 1] = (ys - calib.cy) * z / calib.focal_y_px
    points[:, 2] = z
    colors = None if image is None else _rgb_colors(image, ys, xs, d.shape)
    index = np.stack([ys, xs], axis=1).astype(np.int32)
    return points, colors, index


def points_from_Q(disp, Q) -> np.ndarray:
    """(H, W, 3) float32 points through OpenCV's ``reprojectImageTo3D`` and a 4x4 ``Q``.

    Units are those of the translation that built ``Q`` (metres for
    ``StereoCalibration.Q``). Invalid disparities and points not in front of the camera
    (``W <= 0``) are NaN.
    """
    d = check_disparity_map(disp)
    Q = np.asarray(Q, dtype=np.float64)
    if Q.shape != (4, 4) or not np.all(np.isfinite(Q)):
        raise InputError(f"Q must be a finite 4x4 matrix, got shape {Q.shape}")
    valid = np.isfinite(d)
    w = Q[3, 2] * d.astype(np.float64) + Q[3, 3]
    valid &= w > 0
    filled = np.where(valid, d, 0).astype(np.float32)
    pts = cv2.reprojectImageTo3D(filled, Q)
    pts = np.asarray(pts, dtype=np.float32)
    pts[~valid] = np.nan
    return pts


__all__ = ["depth_from_disparity", "disparity_from_depth", "points_from_disparity", "points_from_Q"]
