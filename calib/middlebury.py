"""Middlebury / ETH3D ``calib.txt``: the rectified-pair model as ``key=value`` lines.

Example (MiddEval3)::

    cam0=[1038.018 0 322.037; 0 1038.018 243.393; 0 0 1]
    cam1=[1038.018 0 375.308; 0 1038.018 243.393; 0 0 1]
    doffs=53.271
    baseline=176.252          (millimetres)
    width=718
    height=496
    ndisp=73
    vmin=8
    vmax=65

Depth in the file's unit: ``Z = baseline * f / (d + doffs)``. The reader is tolerant of
spacing, blank lines, ``#`` comments, CRLF line ends and ``,``/``;`` separators inside
matrices; keys it does not know (``isint``, ``dyavg``, ...) are kept as strings in
``StereoCalibration.extra`` and written back by :func:`write_middlebury_calib`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from stereo.errors import CalibrationError

from .model import UNIT_TO_METRES, StereoCalibration

_REQUIRED = ("cam0", "cam1", "baseline")
_KNOWN = ("cam0", "cam1", "doffs", "baseline", "width", "height", "ndisp", "vmin", "vmax")
# Extras written at their usual Middlebury position (after ndisp), the rest at the end.
_AFTER_NDISP = ("isint",)
_DOFFS_TOLERANCE_PX = 0.01
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _number(text: str, key: str, source) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CalibrationError(f"{source}: {key} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise CalibrationError(f"{source}: {key} must be finite, got {text!r}")
    return value


def _integer(text: str, key: str, source) -> int:
    value = _number(text, key, source)
    if value != int(value) or value < 0:
        raise CalibrationError(f"{source}: {key} must be a non-negative integer, got {text!r}")
    return int(value)


def _matrix(text: str, key: str, source) -> np.ndarray:
    """Parse ``[a b c; d e f; g h i]`` (spaces, commas or semicolons) into a checked 3x3 K."""
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise CalibrationError(f"{source}: {key} must be a 3x3 matrix in brackets, got {text!r}")
    parts = body[1:-1].replace(";", " ").replace(",", " ").split()
    if len(parts) != 9:
        raise CalibrationError(f"{source}: {key} must have 9 numbers (3x3), got {len(parts)}")
    K = np.array([_number(p, key, source) for p in parts], dtype=np.float64).reshape(3, 3)
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise CalibrationError(f"{source}: {key} has a non-positive focal length")
    if K[1, 0] != 0 or K[2, 0] != 0 or K[2, 1] != 0 or K[2, 2] != 1:
        raise CalibrationError(f"{source}: {key} is not an intrinsic matrix [f 0 cx; 0 fy cy; 0 0 1]")
    if abs(K[0, 1]) > 1e-9 * K[0, 0]:
        raise CalibrationError(f"{source}: {key} has a skew term; rectified cameras have none")
    return K


def parse_middlebury_calib(text: str, source="calib.txt") -> StereoCalibration:
    """Parse the text of a Middlebury ``calib.txt``; ``source`` names it in errors.

    The baseline is kept in millimetres (``baseline_unit="mm"``); ``ndisp``, ``vmin`` and
    ``vmax`` are kept; unknown keys go to ``extra`` as strings (in file order). When
    ``doffs`` is given it defines ``cx_right = cx_left + doffs`` (it must agree with
    cam1's cx to 0.01 px); without it, cam1's cx is used.

    Raises:
        CalibrationError: a line without ``=``, a duplicate or missing key (named), a
            malformed matrix, cameras that are not a rectified pair, or a ``doffs`` that
            disagrees with the two principal points.
    """
    values: dict[str, str] = {}
    for lineno, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise CalibrationError(f"{source}: line {lineno} is not 'key=value': {line[:60]!r}")
        key, value = (s.strip() for s in line.split("=", 1))
        key = key.lower()
        if not key:
            raise CalibrationError(f"{source}: line {lineno} has no key before '='")
        if key in values:
            raise CalibrationError(f"{source}: key '{key}' appears twice")
        values[key] = value
    for key in _REQUIRED:
        if key not in values:
            raise CalibrationError(f"{source}: missing key '{key}'")
    K0 = _matrix(values["cam0"], "cam0", source)
    K1 = _matrix(values["cam1"], "cam1", source)
    if not (np.isclose(K0[0, 0], K1[0, 0], rtol=1e-6) and np.isclose(K0[1, 1], K1[1, 1], rtol=1e-6)
            and abs(K0[1, 2] - K1[1, 2]) <= 1e-6 * max(1.0, abs(K0[1, 2]))):
        raise CalibrationError(
            f"{source}: cam0 and cam1 differ in focal length or cy; not a rectified pair")
    cx0, cx1 = K0[0, 2], K1[0, 2]
    if "doffs" in values:
        doffs = _number(values["doffs"], "doffs", source)
        if abs(doffs - (cx1 - cx0)) > _DOFFS_TOLERANCE_PX:
            raise CalibrationError(
                f"{source}: doffs={doffs:g} disagrees with cam1 cx - cam0 cx = {cx1 - cx0:g}")
        # The file's doffs defines depth (Z = baseline*f/(d+doffs)) and is rounded once,
        # whereas cx1 - cx0 carries two roundings (they differ by 0.001 px in some
        # MiddEval3 scenes): doffs wins.
        cx1 = cx0 + doffs
    baseline = _number(values["baseline"], "baseline", source)
    if baseline <= 0:
        raise CalibrationError(f"{source}: baseline must be > 0 (millimetres), got {values['baseline']}")
    width = _integer(values["width"], "width", source) if "width" in values else 0
    height = _integer(values["height"], "height", source) if "height" in values else 0
    ndisp = _integer(values["ndisp"], "ndisp", source) if "ndisp" in values else None
    vmin = _number(values["vmin"], "vmin", source) if "vmin" in values else None
    vmax = _number(values["vmax"], "vmax", source) if "vmax" in values else None
    extra = {k: v for k, v in values.items() if k not in _KNOWN}
    try:
        return StereoCalibration(
            focal_px=float(K0[0, 0]), focal_y_px=float(K0[1, 1]), cx_left=float(cx0),
            cx_right=float(cx1), cy=float(K0[1, 2]),
            baseline=baseline, baseline_unit="mm", width=width, height=height,
            ndisp=ndisp, vmin=vmin, vmax=vmax, extra=extra)
    except CalibrationError as exc:
        raise CalibrationError(f"{source}: {exc}") from None


def read_middlebury_calib(path) -> StereoCalibration:
    """Read a Middlebury ``calib.txt`` (see :func:`parse_middlebury_calib`).

    Raises:
        FileFormatError: the file is missing or not text.
        CalibrationError: its content is not a valid calibration (message names the file).
    """
    from stereo.io.files import read_calibration_text

    p = Path(path)
    return parse_middlebury_calib(read_calibration_text(p), str(p))


def _fmt(value) -> str:
    """Shortest text that reads back as the same float (integers without a dot)."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _fmt_converted(value) -> str:
    # A unit conversion (m -> mm) leaves binary noise in the last digits; 12 significant
    # digits are far below any calibration's accuracy and print cleanly.
    return _fmt(float(f"{float(value):.12g}"))


def format_middlebury_calib(calib: StereoCalibration) -> str:
    """The text of a ``calib.txt`` for ``calib`` (baseline converted to millimetres)."""
    if not isinstance(calib, StereoCalibration):
        raise CalibrationError(f"expected a StereoCalibration, got {type(calib).__name__}")

    def cam(cx):
        return (f"[{_fmt(calib.focal_px)} 0 {cx}; 0 {_fmt(calib.focal_y_px)} {_fmt(calib.cy)}; "
                f"0 0 1]")

    if calib.baseline_unit == "mm":
        baseline = _fmt(calib.baseline)
    else:
        baseline = _fmt_converted(calib.baseline * UNIT_TO_METRES[calib.baseline_unit] * 1000.0)
    extra = {}
    for key, value in (calib.extra or {}).items():
        key = str(key).strip().lower()
        text = str(value).strip()
        if key in _KNOWN:
            raise CalibrationError(f"extra key '{key}' clashes with a calib.txt field")
        if not _KEY_RE.match(key) or "\n" in text or "\r" in text:
            raise CalibrationError(f"extra entry {key!r}={text!r} cannot be written to calib.txt")
        extra[key] = text
    # cx_right is usually cx_left + doffs (a sum with binary noise): print it rounded.
    lines = [f"cam0={cam(_fmt(calib.cx_left))}", f"cam1={cam(_fmt_converted(calib.cx_right))}",
             f"doffs={_fmt_converted(calib.doffs)}", f"baseline={baseline}"]
    if calib.width and calib.height:
        lines += [f"width={calib.width}", f"height={calib.height}"]
    if calib.ndisp is not None:
        lines.append(f"ndisp={int(calib.ndisp)}")
    lines += [f"{k}={extra.pop(k)}" for k in _AFTER_NDISP if k in extra]
    if calib.vmin is not None:
        lines.append(f"vmin={_fmt(calib.vmin)}")
    if calib.vmax is not None:
        lines.append(f"vmax={_fmt(calib.vmax)}")
    lines += [f"{k}={v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def write_middlebury_calib(path, calib: StereoCalibration) -> None:
    """Write ``calib`` as a Middlebury ``calib.txt`` (atomically; baseline in mm).

    Numbers are written with the shortest text that reads back exactly (``doffs``,
    the right ``cx`` and a baseline converted to mm with 12 significant digits), so
    reading the file back reproduces ``c`` to printing precision. An unknown image size
    (``width``/``height`` of 0) is left out.
    """
    from stereo.io.images import write_bytes_atomic

    write_bytes_atomic(Path(path), format_middlebury_calib(calib).encode("ascii"))


__all__ = ["read_middlebury_calib", "parse_middlebury_calib", "write_middlebury_calib",
           "format_middlebury_calib"]
