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
import warnings
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
        disp = _read_npy(path)
        disp = disp.astype(np.float32)
    disp = np.array(disp, dtype=np.float32, copy=True)
    disp[~np.isfinite(disp)] = np.nan
    return disp


def _read_npy(path) -> np.ndarray:
    """A 2-D real array from a .npy file, its header checked against the file size first.

    ``np.load`` trusts the header: a 100-byte file claiming 100000x100000 makes it ask for
    74 GiB. Here the shape and dtype are read from the header and must account for the
    bytes actually present before any array is built; pickled (object) arrays are refused.
    """
    data = read_file_bytes(path)
    buf = io.BytesIO(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's "created on Python 2" notice: noise here
            version, header = np.lib.format.read_magic(buf), None
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(buf, max_header_size=10000)
            elif version in ((2, 0), (3, 0)):
                header = np.lib.format.read_array_header_2_0(buf, max_header_size=10000)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        shape, fortran, dtype = header
    except Exception as exc:  # numpy parses the header with tokenize/ast: any error means corrupt
        msg = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise FileFormatError(f"{path}: not a readable .npy array ({msg})", str(path)) from None
    if len(shape) != 2:
        raise FileFormatError(f"{path}: a disparity .npy must hold a 2-D array, got shape {shape}", str(path))
    if dtype.hasobject or dtype == np.bool_ or dtype.kind not in "fiu" or dtype.itemsize > 8:
        raise FileFormatError(f"{path}: disparity .npy has dtype {dtype}; expected float", str(path))
    count = int(shape[0]) * int(shape[1])
    body = len(data) - buf.tell()
    if count * dtype.itemsize != body:
        raise FileFormatError(f"{path}: .npy header says {shape[0]}x{shape[1]} {dtype} "
                              f"({count * dtype.itemsize} bytes) but the file holds {body}", str(path))
    if count == 0:
        raise FileFormatError(f"{path}: disparity .npy is empty (shape {shape})", str(path))
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=buf.tell())
    return arr.reshape(shape, order="F" if fortran else "C")


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
