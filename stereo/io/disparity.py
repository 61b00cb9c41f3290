"""Disparity maps on disk, chosen by extension; in memory always float32 with NaN = invalid.

=========  ===============================================  =====================
extension  stored as                                        invalid in the file
=========  ===============================================  =====================
``.pfm``   float32 PFM (Middlebury), pixels                 ``inf``
``.png``   KITTI uint16, ``round(d*256)``, d >= 0 only      ``0``
``.npy``   float32 NumPy array                              ``NaN``
=========  ===============================================  =====================
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..validation import check_map
from .images import read_file_bytes, write_bytes_atomic
from .kitti import read_kitti_disparity, write_kitti_disparity
from .pfm import read_pfm, write_pfm

DISPARITY_EXTENSIONS = (".pfm", ".png", ".npy")


def _extension(path) -> str:
    ext = Path(path).suffix.lower()
    if ext not in DISPARITY_EXTENSIONS:
        raise FileFormatError(
            f"{path}: unsupported disparity file extension '{ext}' "
            f"(use one of {', '.join(DISPARITY_EXTENSIONS)})", str(path))
    return ext


def read_disparity(path) -> np.ndarray:
    """Read a disparity map (.pfm, KITTI .png or .npy) as float32 pixels, NaN = invalid.

    Every non-finite value in the file (``inf`` in PFM, 0 in KITTI PNG, NaN/inf in NPY)
    becomes NaN.
    """
    ext = _extension(path)
    if ext == ".png":
        return read_kitti_disparity(path)
    if ext == ".pfm":
        disp = read_pfm(path)
        if disp.ndim != 2:
            raise FileFormatError(f"{path}: a disparity PFM must have 1 channel ('Pf'), this one has 3",
                                  str(path))
    else:
        data = read_file_bytes(path)
        try:
            disp = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise FileFormatError(f"{path}: not a readable .npy array ({exc})", str(path)) from None
        if not isinstance(disp, np.ndarray) or disp.ndim != 2:
            raise FileFormatError(f"{path}: a disparity .npy must hold a 2-D array, got shape "
                                  f"{getattr(disp, 'shape', None)}", str(path))
        if disp.dtype == np.bool_ or disp.dtype.kind not in "fiu":
            raise FileFormatError(f"{path}: disparity .npy has dtype {disp.dtype}; expected float",
                                  str(path))
        disp = disp.astype(np.float32)
    disp = np.array(disp, dtype=np.float32, copy=True)
    disp[~np.isfinite(disp)] = np.nan
    return disp


def write_disparity(path, disp) -> None:
    """Write a float disparity map (NaN or inf = invalid) by extension, atomically.

    ``.pfm`` stores invalid as ``inf``; ``.png`` is KITTI (negative or > 255.996 px
    disparities raise :class:`InputError`); ``.npy`` keeps NaN. ``disp`` is not modified.
    """
    ext = _extension(path)
    d = check_map(disp, f"{path}: disparity")
    if ext == ".png":
        write_kitti_disparity(path, d)
        return
    out = np.array(d, dtype=np.float32, copy=True)
    invalid = ~np.isfinite(out)
    if ext == ".pfm":
        out[invalid] = np.inf
        write_pfm(path, out)
    else:
        out[invalid] = np.nan
        buf = io.BytesIO()
        np.save(buf, out, allow_pickle=False)
        write_bytes_atomic(path, buf.getvalue())


__all__ = ["read_disparity", "write_disparity", "DISPARITY_EXTENSIONS"]
