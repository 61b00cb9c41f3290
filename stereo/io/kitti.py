"""KITTI 16-bit PNG disparity maps: ``value = round(d * 256)``, 0 = invalid.

The format holds disparities in [1/256, 65535/256] px with a resolution of 1/256 px.
It cannot store negative disparities (writing one is an error, never a silent clip)
nor exactly zero (0 means invalid): valid disparities in [0, 1/512) are stored as the
smallest representable value, 1/256 px, so that they stay valid.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import FileFormatError, InputError
from .images import decode_image, write_bytes_atomic

KITTI_SCALE = 256.0
KITTI_MAX_DISPARITY = 65535.0 / KITTI_SCALE


def read_kitti_disparity(path) -> np.ndarray:
    """Read a KITTI disparity PNG into float32 pixels, NaN where the file holds 0."""
    img = decode_image(path, cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint16 or img.ndim != 2:
        chans = 1 if img.ndim == 2 else img.shape[2]
        raise FileFormatError(
            f"{path}: not a KITTI disparity PNG (need 16-bit single channel, got {img.dtype} "
            f"with {chans} channel(s))", str(path))
    disp = img.astype(np.float32) / np.float32(KITTI_SCALE)
    disp[img == 0] = np.nan
    return disp


def encode_kitti_disparity(disp, path="disparity") -> np.ndarray:
    """The uint16 KITTI encoding of a float disparity map (NaN/inf = invalid)."""
    d = np.asarray(disp)
    if d.ndim != 2:
        raise InputError(f"{path}: disparity must be a 2-D array, got shape {d.shape}")
    if d.dtype == np.bool_ or d.dtype.kind not in "fiu":
        raise InputError(f"{path}: disparity must be real-valued, got dtype {d.dtype}")
    d = d.astype(np.float64)
    valid = np.isfinite(d)
    if np.any(d[valid] < 0):
        raise InputError(
            f"{path}: negative disparities (min {d[valid].min():.3f} px) cannot be stored in a "
            f"KITTI 16-bit PNG; use .pfm or .npy, or shift the disparity first")
    if np.any(d[valid] > KITTI_MAX_DISPARITY):
        raise InputError(
            f"{path}: disparities above {KITTI_MAX_DISPARITY:.3f} px (max {d[valid].max():.3f}) "
            f"cannot be stored in a KITTI 16-bit PNG; use .pfm or .npy")
    out = np.zeros(d.shape, dtype=np.uint16)
    out[valid] = np.maximum(np.round(d[valid] * KITTI_SCALE), 1).astype(np.uint16)
    return out


def write_kitti_disparity(path, disp) -> None:
    """Write a float disparity map (NaN = invalid) as a KITTI 16-bit PNG, atomically.

    Raises:
        InputError: negative disparities or disparities above 255.996 px (not storable).
    """
    path = Path(path)
    encoded = encode_kitti_disparity(disp, path)
    ok, buf = cv2.imencode(".png", encoded)
    if not ok:
        raise FileFormatError(f"{path}: could not encode the PNG", str(path))
    write_bytes_atomic(path, buf.tobytes())


__all__ = ["read_kitti_disparity", "write_kitti_disparity", "KITTI_SCALE", "KITTI_MAX_DISPARITY"]
