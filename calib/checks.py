"""Plausibility checks shared by the calibration models (what a calibration may contain).

A calibration file from another tool or person can hold anything; these checks turn
values that would give silent nonsense (a zero or 1e-300 focal length, a 1e308 m baseline,
a "rotation" that is not one) into a :class:`~stereo.errors.CalibrationError` naming the
value. Bounds are deliberately wide: they reject the impossible, not the unusual.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from stereo.errors import CalibrationError

FOCAL_PX_RANGE = (1.0, 1e6)
"""Focal lengths in pixels (a 1 px focal or a million-pixel one is no camera)."""
BASELINE_M_RANGE = (1e-5, 1000.0)
"""Baselines in metres: 10 micrometres .. 1 km."""
MAX_PRINCIPAL_POINT_PX = 1e5
MAX_IMAGE_SIDE_PX = 100_000
ROTATION_TOLERANCE = 1e-3
"""max |R^T R - I| accepted for a rotation matrix (files print 6+ significant digits)."""


def number(value, name: str, source: str = "calibration") -> float:
    """A finite float from a number (not a bool, not a string)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise CalibrationError(f"{source}: {name} must be a number, got {str(value)[:40]!r}")
    try:
        v = float(value)
    except OverflowError:
        raise CalibrationError(f"{source}: {name} is too large, got {str(value)[:40]}...") from None
    if not math.isfinite(v):
        raise CalibrationError(f"{source}: {name} must be finite, got {v}")
    return v


def in_range(value: float, name: str, lo: float, hi: float, unit: str, source: str = "calibration") -> float:
    if not lo <= value <= hi:
        raise CalibrationError(f"{source}: {name} = {value:g} {unit} is implausible (expected "
                               f"{lo:g}..{hi:g} {unit})")
    return value


def whole(value, name: str, source: str = "calibration", maximum: int = MAX_IMAGE_SIDE_PX) -> int:
    """A non-negative integer (an int-valued float is accepted)."""
    v = number(value, name, source)
    if v != int(v) or v < 0 or v > maximum:
        raise CalibrationError(f"{source}: {name} must be a non-negative integer (at most {maximum}), "
                               f"got {value!r}")
    return int(v)


def check_intrinsics(K: np.ndarray, name: str, source: str = "calibration") -> None:
    """A 3x3 camera matrix [fx s cx; 0 fy cy; 0 0 1] with plausible focal lengths."""
    if not np.allclose(K[2], [0.0, 0.0, 1.0], atol=1e-9) or abs(K[1, 0]) > 1e-9:
        raise CalibrationError(f"{source}: {name} is not a camera matrix (last row must be [0 0 1])")
    for i, axis in ((0, "fx"), (1, "fy")):
        in_range(float(K[i, i]), f"{name} {axis}", *FOCAL_PX_RANGE, "px", source)
    for i, axis in ((0, "cx"), (1, "cy")):
        if abs(K[i, 2]) > MAX_PRINCIPAL_POINT_PX:
            raise CalibrationError(f"{source}: {name} {axis} = {K[i, 2]:g} px is implausible")


def check_rotation(R: np.ndarray, name: str, source: str = "calibration") -> None:
    """An orthonormal 3x3 matrix with determinant +1 (within :data:`ROTATION_TOLERANCE`)."""
    with np.errstate(all="ignore"):  # a 1e300 "rotation" overflows: it is refused below
        err = float(np.max(np.abs(R.T @ R - np.eye(3))))
    if not err <= ROTATION_TOLERANCE:
        raise CalibrationError(f"{source}: {name} is not a rotation (R^T R differs from I by {err:.3g})")
    with np.errstate(all="ignore"):
        det = float(np.linalg.det(R))
    if det < 0:
        raise CalibrationError(f"{source}: {name} is a reflection (determinant {det:.3g}), not a rotation")


def vector_norm(v) -> float:
    """Euclidean norm without overflow warnings (inf when it does not fit a float)."""
    a = np.asarray(v, np.float64).ravel()
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    if not math.isfinite(scale) or scale == 0.0:
        return scale
    return scale * float(np.sqrt(np.sum((a / scale) ** 2)))


def check_baseline_m(baseline_m: float, name: str = "baseline", source: str = "calibration") -> float:
    if not math.isfinite(baseline_m):
        raise CalibrationError(f"{source}: {name} must be finite, got {baseline_m}")
    if baseline_m <= 0:
        raise CalibrationError(f"{source}: {name} must be > 0, got {baseline_m:g} m")
    return in_range(baseline_m, f"{name}", *BASELINE_M_RANGE, "m", source)


__all__ = ["vector_norm", "number", "in_range", "whole", "check_intrinsics", "check_rotation", "check_baseline_m",
           "FOCAL_PX_RANGE", "BASELINE_M_RANGE", "ROTATION_TOLERANCE"]
