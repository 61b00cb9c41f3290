"""Reading any depth or disparity map for ``stereo eval``: PFM, NPY, 16/8-bit PNG/TIFF, EXR.

In memory: float32, NaN = invalid. On disk:

=============  ===================================================  ==================
extension      stored as                                            invalid
=============  ===================================================  ==================
``.pfm``       float (Middlebury)                                   ``inf``
``.npy``       float or integer array                               NaN / inf
``.png/.tif``  integer image, value = map * ``scale``               0
``.exr``       float (read by OpenCV where its EXR codec is built)  NaN / inf / <= 0
=============  ===================================================  ==================

``scale`` for integer images defaults to 256 (the KITTI convention for disparity and
depth PNGs); a depth PNG in millimetres needs ``scale=1000``. Pass ``scale`` explicitly:
a wrong scale changes every metric except the aligned ones.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import FileFormatError, ParameterError

MAP_EXTENSIONS = (".pfm", ".npy", ".png", ".tif", ".tiff", ".exr")
DEFAULT_INT_SCALE = 256.0


def read_map(path, *, scale: float | None = None) -> np.ndarray:
    """Read a (H, W) depth/disparity map as float32 with NaN = invalid.

    Raises:
        FileFormatError: unknown extension, unreadable file, or not a single-channel map.
        ParameterError: a non-positive ``scale``.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in MAP_EXTENSIONS:
        raise FileFormatError(f"{p}: unsupported map extension '{ext}' (use one of "
                              f"{', '.join(MAP_EXTENSIONS)})", str(p))
    if not p.is_file():
        raise FileFormatError(f"{p}: no such file", str(p))
    if scale is not None and not (np.isfinite(scale) and scale > 0):
        raise ParameterError(f"scale must be > 0, got {scale}")
    if ext in (".pfm", ".npy"):
        from ..io import read_disparity
        return read_disparity(p)
    import cv2

    if ext == ".exr":
        # OpenCV reads EXR only when asked to before its first use of the codec.
        os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    from ..io.images import read_file_bytes
    data = np.frombuffer(read_file_bytes(p), np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
    if img is None:
        hint = " (this OpenCV build may lack EXR support; convert to .pfm or .npy)" if ext == ".exr" else ""
        raise FileFormatError(f"{p}: cannot decode the image{hint}", str(p))
    if img.ndim == 3:
        if img.shape[2] > 1 and not all(np.array_equal(img[..., 0], img[..., c]) for c in range(1, img.shape[2])):
            raise FileFormatError(f"{p}: a map must have one channel, this image has {img.shape[2]}", str(p))
        img = img[..., 0]
    if img.dtype.kind == "f":
        out = img.astype(np.float32)
        out[~np.isfinite(out)] = np.nan
        if ext == ".exr":
            out[out <= 0] = np.nan
        return out / np.float32(scale) if scale else out
    out = img.astype(np.float32) / np.float32(scale or DEFAULT_INT_SCALE)
    out[img == 0] = np.nan
    return out


def read_mask(path, shape) -> np.ndarray:
    """A bool evaluation mask from an image: non-zero = evaluated (Middlebury's
    ``mask0nocc.png``: only 255 = non-occluded counts, 128 = occluded does not)."""
    from ..io.images import decode_image

    img = decode_image(path)
    if img.ndim == 3:
        img = img[..., 0]
    if img.shape != tuple(shape):
        raise FileFormatError(f"{path}: mask is {img.shape[1]}x{img.shape[0]} but the maps are "
                              f"{shape[1]}x{shape[0]}", str(path))
    values = set(np.unique(img).tolist())
    if values <= {0, 128, 255} and 128 in values:
        return img == 255
    return img != 0


__all__ = ["MAP_EXTENSIONS", "DEFAULT_INT_SCALE", "read_map", "read_mask"]
