"""Bounded reads of regular files (the one place every reader gets its bytes from).

Only regular files are read: a FIFO would block forever and ``/dev/zero`` never ends. The
size is checked from ``stat`` before reading, and at most ``max_bytes + 1`` bytes are read
(a file growing while read is caught too). Limits: :mod:`stereo.limits`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import FileFormatError


def read_regular_file(path, max_bytes: int, what: str = "file", env: str | None = None) -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` of them.

    Args:
        path: the file.
        max_bytes: refuse larger files.
        what: what the file is, for messages ("calibration file", "image").
        env: the environment variable that raises the limit, named in the message.

    Raises:
        FileFormatError: missing, a folder or device or FIFO, unreadable, or too large.
    """
    p = Path(path)
    if not str(path):
        raise FileFormatError(f"empty path given for the {what}", "")
    if "\x00" in str(path):
        raise FileFormatError(f"{str(path)!r}: a path cannot contain a NUL character", str(path))
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise FileFormatError(f"{p}: no such {what}", str(p)) from None
    except OSError as exc:
        raise FileFormatError(f"{p}: cannot read file ({exc.strerror or exc})", str(p)) from None
    if stat.S_ISDIR(st.st_mode):
        raise FileFormatError(f"{p}: is a directory, not a file", str(p))
    if not stat.S_ISREG(st.st_mode):
        raise FileFormatError(f"{p}: not a regular file (a device, FIFO or socket); give a {what} "
                              f"stored on disk", str(p))
    hint = f" (raise the limit with {env})" if env else ""
    if st.st_size > max_bytes:
        raise FileFormatError(f"{p}: {what} is {st.st_size} bytes, more than the {max_bytes} "
                              f"allowed{hint}", str(p))
    try:
        with open(p, "rb") as fh:
            # read(n) allocates n bytes up front: ask for what stat says (+1 to notice growth)
            data = fh.read(min(max_bytes, st.st_size) + 1)
    except PermissionError:
        raise FileFormatError(f"{p}: permission denied (file is not readable)", str(p)) from None
    except OSError as exc:
        raise FileFormatError(f"{p}: cannot read file ({exc.strerror or exc})", str(p)) from None
    if len(data) > st.st_size:  # the file grew while read (a log being written?): read it whole
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileFormatError(f"{p}: {what} is more than the {max_bytes} bytes allowed{hint}", str(p))
    return data


def read_calibration_text(path) -> str:
    """Text of a calibration file (UTF-8, BOM dropped), within ``STEREO_MAX_CALIB_BYTES``."""
    from ..limits import max_calib_bytes

    data = read_regular_file(path, max_calib_bytes(), "calibration file", "STEREO_MAX_CALIB_BYTES")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileFormatError(f"{path}: not a text file (no known calibration format)", str(path)) from None
    if "\x00" in text:
        raise FileFormatError(f"{path}: not a text file (contains NUL bytes)", str(path))
    return text


__all__ = ["read_regular_file", "read_calibration_text"]
