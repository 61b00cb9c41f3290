"""Read and write ordinary images (PNG, JPEG, TIFF, PPM/PGM, ...) through OpenCV.

Colour images are BGR (OpenCV's channel order). Bit depth is kept: 8-bit files give
uint8 arrays, 16-bit files uint16 (32-bit float TIFF gives float32). Files are read
and written as bytes in Python and (de)coded by OpenCV, so paths with any characters
work and a missing file, an unreadable file and an undecodable file are told apart.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from ..errors import FileFormatError, InputError, OutputError
from .atomic import atomic_path

_WRITABLE_DTYPES = (np.uint8, np.uint16, np.float32)
# Which dtypes each format stores without loss. OpenCV would silently convert others to
# 8 bits (losing data), so anything not listed here is refused.
_FORMAT_DTYPES = {
    ".png": ("uint8", "uint16"), ".tif": ("uint8", "uint16", "float32"),
    ".tiff": ("uint8", "uint16", "float32"), ".ppm": ("uint8", "uint16"), ".pgm": ("uint8", "uint16"),
    ".pnm": ("uint8", "uint16"), ".exr": ("float32",),
}


def read_file_bytes(path) -> bytes:
    """Return the bytes of the regular file ``path`` (at most ``STEREO_MAX_FILE_BYTES``).

    FileFormatError saying why when it cannot be read (missing, a folder, a device or
    FIFO, unreadable, too large).
    """
    from ..limits import max_file_bytes
    from .files import read_regular_file

    return read_regular_file(path, max_file_bytes(), "file", "STEREO_MAX_FILE_BYTES")


def decode_image(path, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Decode the image file ``path`` with ``cv2.imdecode`` (FileFormatError on failure).

    The header's width x height is checked against ``STEREO_MAX_IMAGE_PIXELS`` before
    decoding (a decompression bomb never allocates).
    """
    from ..limits import max_image_pixels
    from .image_header import check_image_header

    data = read_file_bytes(path)
    if not data:
        raise FileFormatError(f"{path}: file is empty", str(path))
    limit = max_image_pixels()
    check_image_header(data, path, limit)
    with _captured_native_stderr() as native:
        try:
            img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
        except cv2.error:
            img = None
    if img is None:
        detail = [ln for ln in native.text.splitlines() if ln.strip()]
        reason = f": {detail[-1].strip()[:160]}" if detail else ""
        raise FileFormatError(
            f"{path}: not a readable image (corrupt file, unsupported format, or larger than "
            f"OpenCV's pixel limit){reason}", str(path))
    if img.shape[0] * img.shape[1] > limit:
        raise FileFormatError(f"{path}: image is {img.shape[1]}x{img.shape[0]} pixels, more than the "
                              f"{limit} allowed (STEREO_MAX_IMAGE_PIXELS)", str(path))
    return img


_STDERR_LOCK = threading.Lock()


class _Captured:
    text = ""


@contextmanager
def _captured_native_stderr():
    """Capture what native code (libpng, libjpeg, OpenCV's logger) writes to fd 2.

    Decoders print warnings such as ``libpng warning: tEXt: CRC error`` straight to the
    process's stderr, which breaks the CLI's one-line contract. Lines from the codecs are
    kept for error messages; anything else captured meanwhile is written back to stderr.
    Main thread only (see the comment below).
    """
    out = _Captured()
    if threading.current_thread() is not threading.main_thread():
        # fd 2 is process-wide: redirecting it from worker threads (batch decoding) would
        # serialise their decodes behind one lock. Only the main thread (the CLI) captures.
        yield out
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        tmp = tempfile.TemporaryFile()
    except (OSError, ValueError, AttributeError):
        yield out  # no fd 2 to redirect (embedded interpreter, closed stderr): decode as is
        return
    with _STDERR_LOCK:
        try:
            os.dup2(tmp.fileno(), 2)
            yield out
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            try:
                tmp.seek(0)
                text = tmp.read(1 << 16).decode("utf-8", "replace")
            finally:
                tmp.close()
            keep, other = [], []
            for line in text.splitlines():
                codec = line.startswith(("libpng", "libjpeg", "libtiff", "[ WARN", "[ERROR", "Corrupt JPEG",
                                         "Premature end of JPEG", "JPEG", "TIFF"))
                (keep if codec else other).append(line)
            out.text = "\n".join(keep)
            if other:
                try:
                    os.write(2, ("\n".join(other) + "\n").encode())
                except OSError:
                    pass


def read_image(path, *, color: bool = True) -> np.ndarray:
    """Read an image file, keeping its bit depth.

    Args:
        path: PNG, JPEG, TIFF, PPM/PGM or any format OpenCV decodes.
        color: True gives a 3-channel BGR array (grey files are replicated to 3
            channels, an alpha channel is dropped); False gives a 2-D grey array
            (colour files are converted with OpenCV's BGR->grey weights).

    Returns:
        (H, W, 3) or (H, W) array of dtype uint8 (8-bit files), uint16 (16-bit files)
        or float32 (float TIFF). EXIF orientation is ignored on purpose: a stereo pair
        must stay in sensor geometry.

    Raises:
        FileFormatError: missing, unreadable or undecodable file (the message names it).
    """
    img = decode_image(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    elif img.ndim == 3 and img.shape[2] == 2:  # grey + alpha
        img = np.ascontiguousarray(img[:, :, 0])
    if img.ndim == 3 and img.shape[2] != 3:
        raise FileFormatError(f"{path}: unsupported number of channels ({img.shape[2]})", str(path))
    if img.dtype not in (np.uint8, np.uint16, np.float32):
        raise FileFormatError(
            f"{path}: unsupported pixel type {img.dtype} (expected 8- or 16-bit, or float32)", str(path))
    if color and img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif not color and img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(img)


def write_image(path, img) -> None:
    """Write ``img`` (grey, BGR or BGRA; uint8, uint16 or float32) to ``path``.

    The format comes from the extension (PNG keeps 16 bits, JPEG needs uint8, TIFF
    takes float32). The file appears only when it was written completely; ``img``
    is not modified.

    Raises:
        InputError: unsupported array shape or dtype.
        FileFormatError: unknown extension, a format that cannot hold this array, or
            an output folder that does not exist / is not writable.
    """
    path = Path(path)
    arr = np.asarray(img)
    if arr.dtype == np.bool_:
        raise InputError(f"image for {path} is boolean; convert it to uint8 (e.g. mask * 255) first")
    if arr.dtype.type not in _WRITABLE_DTYPES:
        raise InputError(f"image for {path} has dtype {arr.dtype}; expected uint8, uint16 or float32")
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4))):
        raise InputError(f"image for {path} has shape {arr.shape}; expected (H, W) or (H, W, 1|3|4)")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"image for {path} is empty (shape {arr.shape})")
    ext = path.suffix.lower()
    if not ext:
        raise FileFormatError(f"{path}: no file extension, cannot choose an image format", str(path))
    allowed = _FORMAT_DTYPES.get(ext, ("uint8",))
    if arr.dtype.name not in allowed:
        better = ".png or .tif" if arr.dtype == np.uint16 else ".tif or .pfm"
        raise InputError(f"{path}: a {arr.dtype} image cannot be stored as '{ext}' without loss "
                         f"(use {better})")
    try:
        ok, buf = cv2.imencode(ext, np.ascontiguousarray(arr))
    except cv2.error as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else "encoder error"
        raise FileFormatError(f"{path}: cannot write a {arr.dtype} image as '{ext}' ({msg})",
                              str(path)) from None
    if not ok:
        raise FileFormatError(f"{path}: OpenCV could not encode a {arr.dtype} image as '{ext}'", str(path))
    write_bytes_atomic(path, buf.tobytes())


def write_bytes_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file (never half-written)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileFormatError(f"{path}: output folder {parent} does not exist", str(path))
    try:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(data)
    except OutputError:
        raise  # already says what and where
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot write file ({exc.strerror or exc})", str(path)) from None


__all__ = ["read_image", "write_image"]
