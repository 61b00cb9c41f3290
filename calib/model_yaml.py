"""The rectified stereo model (:class:`StereoCalibration`) as a small YAML file.

The file is ``StereoCalibration.to_dict()`` (keys name their units: ``*_px`` in pixels,
``baseline`` in ``baseline_unit``) under a comment header, read back with the bounded
loader of :mod:`calib.safe_yaml`.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np
import yaml

from stereo.errors import CalibrationError

from .model import StereoCalibration

YAML_TYPE = "rectified_stereo"

_HEADER = """\
# stereodepth rectified stereo calibration (left camera is the reference)
# Units: *_px in pixels; baseline in baseline_unit (m, cm, mm or in); depth Z = f*B/(d + doffs)
# with f = focal_px, B = baseline, doffs = cx_right_px - cx_left_px, d = x_left - x_right.
"""


def _plain(value):
    """Convert NumPy scalars / containers to plain Python for ``safe_dump``."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value if value is None or isinstance(value, str) else str(value)


def save_calibration_yaml(path, calib: StereoCalibration) -> None:
    """Write ``calib`` to ``path`` as YAML (atomically), with a header naming the units."""
    from stereo.io.images import write_bytes_atomic

    if not isinstance(calib, StereoCalibration):
        raise CalibrationError(f"expected a StereoCalibration, got {type(calib).__name__}")
    body = yaml.safe_dump(_plain(calib.to_dict()), sort_keys=False, default_flow_style=False)
    write_bytes_atomic(Path(path), (_HEADER + body).encode("utf-8"))


def load_calibration_yaml(path) -> StereoCalibration:
    """Read a file written by :func:`save_calibration_yaml`.

    Raises:
        FileFormatError: missing file or invalid YAML.
        CalibrationError: not a rectified-stereo mapping, or a key missing (named).
    """
    from .safe_yaml import load_yaml_file

    p = Path(path)
    data = load_yaml_file(p)
    if not isinstance(data, dict):
        raise CalibrationError(f"{p}: expected a YAML mapping of calibration keys")
    kind = data.get("type", YAML_TYPE)
    if kind != YAML_TYPE:
        raise CalibrationError(f"{p}: type is {kind!r}, expected {YAML_TYPE!r} (a rectified pair)")
    try:
        return StereoCalibration.from_dict(data, source=str(p))
    except CalibrationError as exc:
        if str(p) in str(exc):
            raise
        raise CalibrationError(f"{p}: {exc}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise CalibrationError(f"{p}: malformed calibration ({exc})") from None


__all__ = ["save_calibration_yaml", "load_calibration_yaml", "YAML_TYPE"]
