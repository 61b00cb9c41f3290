"""Point clouds as binary little-endian PLY (read by Open3D, MeshLab, CloudCompare).

Each vertex is ``float x, y, z`` (metres, camera frame of the left rectified camera:
x right, y down, z forward) optionally followed by ``uchar red, green, blue``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import FileFormatError, InputError
from .images import read_file_bytes, write_bytes_atomic

_XYZ = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
_RGB = [("red", "u1"), ("green", "u1"), ("blue", "u1")]
_PLY_TYPES = {"float": "<f4", "float32": "<f4", "uchar": "u1", "uint8": "u1"}


def write_ply(path, points, colors=None) -> int:
    """Write a point cloud; points with a non-finite coordinate are skipped.

    Args:
        points: (N, 3) float array, metres (any (..., 3) shape is flattened).
        colors: None or a matching (N, 3) uint8 array in RGB order.

    Returns:
        The number of vertices written.
    """
    pts = np.asarray(points)
    if pts.ndim < 2 or pts.shape[-1] != 3:
        raise InputError(f"points must have shape (N, 3), got {pts.shape}")
    if pts.dtype == np.bool_ or pts.dtype.kind not in "fiu":
        raise InputError(f"points must be real-valued, got dtype {pts.dtype}")
    pts = pts.reshape(-1, 3)
    cols = None
    if colors is not None:
        cols = np.asarray(colors)
        if cols.dtype != np.uint8:
            raise InputError(f"colors must be uint8 RGB, got dtype {cols.dtype}")
        if cols.shape[-1:] != (3,) or cols.reshape(-1, 3).shape[0] != pts.shape[0]:
            raise InputError(f"colors must have shape (N, 3) matching points {pts.shape}, got {cols.shape}")
        cols = cols.reshape(-1, 3)
    keep = np.all(np.isfinite(pts), axis=1)
    n = int(keep.sum())
    dtype = np.dtype(_XYZ + (_RGB if cols is not None else []))
    rec = np.empty(n, dtype=dtype)
    kept = pts[keep]
    rec["x"], rec["y"], rec["z"] = kept[:, 0], kept[:, 1], kept[:, 2]
    if cols is not None:
        kc = cols[keep]
        rec["red"], rec["green"], rec["blue"] = kc[:, 0], kc[:, 1], kc[:, 2]
    lines = ["ply", "format binary_little_endian 1.0", "comment stereodepth point cloud, metres",
             f"element vertex {n}"]
    lines += [f"property float {name}" for name, _ in _XYZ]
    if cols is not None:
        lines += [f"property uchar {name}" for name, _ in _RGB]
    lines.append("end_header")
    header = ("\n".join(lines) + "\n").encode("ascii")
    write_bytes_atomic(Path(path), header + rec.tobytes())
    return n


def read_ply(path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a binary little-endian PLY vertex list as written by :func:`write_ply`.

    Returns ``(points (N,3) float32, colors (N,3) uint8 RGB or None)``. Only the simple
    layout above is understood (one vertex element of float/uchar scalar properties).
    """
    data = read_file_bytes(path)
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise FileFormatError(f"{path}: not a PLY file (no 'ply' ... 'end_header' header)", str(path))
    nl = data.find(b"\n", end)
    if nl < 0:
        raise FileFormatError(f"{path}: PLY header does not end with a newline", str(path))
    header = data[:end].decode("ascii", errors="replace").replace("\r", "").split("\n")
    fields, count, fmt = [], None, None
    for line in header[1:]:
        words = line.split()
        if not words or words[0] == "comment":
            continue
        if words[0] == "format":
            fmt = words[1] if len(words) > 1 else None
        elif words[0] == "element":
            if count is not None or len(words) != 3 or words[1] != "vertex":
                raise FileFormatError(f"{path}: only a single 'vertex' element is supported", str(path))
            try:
                count = int(words[2])
            except ValueError:
                count = -1
            if count < 0:
                raise FileFormatError(f"{path}: PLY vertex count {words[2][:20]!r} is not a count", str(path))
        elif words[0] == "property":
            if len(words) != 3 or words[1] not in _PLY_TYPES:
                raise FileFormatError(f"{path}: unsupported PLY property '{line.strip()}'", str(path))
            fields.append((words[2], _PLY_TYPES[words[1]]))
    if fmt != "binary_little_endian":
        raise FileFormatError(f"{path}: only binary_little_endian PLY is supported (got {fmt})", str(path))
    names = [f for f, _ in fields]
    if count is None or names[:3] != ["x", "y", "z"]:
        raise FileFormatError(f"{path}: PLY has no x, y, z vertex properties", str(path))
    if len(set(names)) != len(names):
        raise FileFormatError(f"{path}: PLY properties repeat a name", str(path))
    dtype = np.dtype(fields)
    body = data[nl + 1:]
    if len(body) != count * dtype.itemsize:
        raise FileFormatError(
            f"{path}: PLY body has {len(body)} bytes, header says {count * dtype.itemsize}", str(path))
    rec = np.frombuffer(body, dtype=dtype, count=count)
    points = np.stack([rec["x"], rec["y"], rec["z"]], axis=1).astype(np.float32)
    colors = None
    if all(c in names for c in ("red", "green", "blue")):
        colors = np.stack([rec["red"], rec["green"], rec["blue"]], axis=1).astype(np.uint8)
    return points, colors


__all__ = ["write_ply", "read_ply"]
