"""Portable Float Map (PFM) files: the format of Middlebury and SceneFlow disparities.

Layout: an ASCII header ``PF`` (3 channels) or ``Pf`` (1 channel), then ``width height``,
then a scale whose sign gives the byte order (negative = little endian; its magnitude
is ignored, as every stereo benchmark does), one whitespace byte, and float32 samples
stored bottom row first. Values are returned exactly as stored: ``inf`` stays ``inf``
(the conversion to the NaN-invalid array convention is :func:`stereo.io.read_disparity`'s job).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import FileFormatError, InputError
from .images import read_file_bytes, write_bytes_atomic

_WHITESPACE = b" \t\r\n"
_MAX_HEADER = 256


def _header_tokens(data: bytes, path) -> tuple[list[bytes], int]:
    """Split the first four whitespace-separated tokens; return them and the data offset."""
    tokens, pos, n = [], 0, len(data)
    limit = min(n, _MAX_HEADER)
    while len(tokens) < 4:
        while pos < limit and data[pos] in _WHITESPACE:
            pos += 1
        start = pos
        while pos < limit and data[pos] not in _WHITESPACE:
            pos += 1
        if pos == start or pos >= limit:
            raise FileFormatError(f"{path}: corrupt PFM header (expected 'PF|Pf width height scale')",
                                  str(path))
        tokens.append(data[start:pos])
    # Exactly one whitespace byte separates the scale from the samples.
    return tokens, pos + 1


def read_pfm(path) -> np.ndarray:
    """Read a PFM file into a float32 array, top row first.

    Returns:
        (H, W) for ``Pf`` files, (H, W, 3) for ``PF`` files (channels in file order),
        native-endian float32, values as stored (``inf`` kept).

    Raises:
        FileFormatError: missing file, bad header, or fewer data bytes than the header says.
    """
    data = read_file_bytes(path)
    if data[:2] not in (b"PF", b"Pf"):
        raise FileFormatError(f"{path}: not a PFM file (header must start with 'PF' or 'Pf')", str(path))
    tokens, offset = _header_tokens(data, path)
    magic = tokens[0]
    if magic not in (b"PF", b"Pf"):
        raise FileFormatError(f"{path}: corrupt PFM header (magic {magic[:8]!r})", str(path))
    try:
        width, height = int(tokens[1]), int(tokens[2])
        scale = float(tokens[3])
    except ValueError:
        raise FileFormatError(f"{path}: corrupt PFM header (size or scale is not a number)",
                              str(path)) from None
    if width <= 0 or height <= 0:
        raise FileFormatError(f"{path}: corrupt PFM header (size {width}x{height})", str(path))
    if scale == 0 or not np.isfinite(scale):
        raise FileFormatError(f"{path}: corrupt PFM header (scale {scale} must be non-zero)", str(path))
    channels = 3 if magic == b"PF" else 1
    count = width * height * channels
    available = len(data) - offset
    if available < 4 * count:
        raise FileFormatError(
            f"{path}: truncated PFM data ({max(available, 0)} bytes, header says {4 * count})", str(path))
    if available > 4 * count:
        raise FileFormatError(
            f"{path}: PFM data is {available - 4 * count} bytes longer than the header says "
            f"({width}x{height}x{channels})", str(path))
    dtype = np.dtype("<f4") if scale < 0 else np.dtype(">f4")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    shape = (height, width, 3) if channels == 3 else (height, width)
    arr = arr.reshape(shape)[::-1]
    return np.ascontiguousarray(arr, dtype=np.float32)


def encode_pfm(arr, *, little_endian: bool = True) -> bytes:
    """The bytes of a PFM file holding ``arr`` ((H, W), (H, W, 1) or (H, W, 3) real)."""
    a = np.asarray(arr)
    if a.dtype == np.bool_ or a.dtype.kind not in "fiu":
        raise InputError(f"PFM data must be a real-valued array, got dtype {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        raise InputError(f"PFM data must have shape (H, W) or (H, W, 3), got {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"PFM data is empty (shape {a.shape})")
    magic = b"PF" if a.ndim == 3 else b"Pf"
    dtype = np.dtype("<f4") if little_endian else np.dtype(">f4")
    header = b"%s\n%d %d\n%s\n" % (magic, a.shape[1], a.shape[0], b"-1.0" if little_endian else b"1.0")
    # astype always copies here (reversed view), so the caller's array is never touched.
    body = np.ascontiguousarray(a[::-1], dtype=dtype).tobytes()
    return header + body


def write_pfm(path, arr, *, little_endian: bool = True) -> None:
    """Write ``arr`` as a float32 PFM file (bottom row first, as the format defines).

    Values are written as given (``inf``/NaN included); use
    :func:`stereo.io.write_disparity` to turn NaN-invalid disparities into ``inf``.
    The file appears only when complete; ``arr`` is not modified.
    """
    write_bytes_atomic(Path(path), encode_pfm(arr, little_endian=little_endian))


__all__ = ["read_pfm", "write_pfm", "encode_pfm"]
