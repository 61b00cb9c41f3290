"""Lengths with explicit units, as typed on the command line ("30mm", "0.03m", "3cm")."""

from __future__ import annotations

import math
import re

from stereo.errors import ParameterError

from .model import UNIT_TO_METRES

_LENGTH_RE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]*)\s*$")
_ALIASES = {"m": "m", "metre": "m", "metres": "m", "meter": "m", "meters": "m",
            "cm": "cm", "mm": "mm", "in": "in", "inch": "in", "inches": "in"}


def parse_length(text) -> float:
    """Parse a length such as ``"30mm"``, ``"0.03m"``, ``"3cm"`` or ``"1.5 in"``; return metres.

    A unit is required (a bare number is ambiguous between metres and millimetres, the two
    usual conventions of calibration tools). The value must be finite and > 0.

    Raises:
        ParameterError (a ValueError): unparsable text, unknown or missing unit, value <= 0.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        raise ParameterError(f"length {text!r} has no unit; write e.g. '{text}m' or '{text}mm'")
    s = str(text)
    m = _LENGTH_RE.match(s)
    if not m:
        raise ParameterError(f"cannot parse length {s!r}; expected a number with a unit, e.g. 30mm, 0.03m, 3cm")
    value, unit = float(m.group(1)), m.group(2).lower()
    if not unit:
        raise ParameterError(f"length {s!r} has no unit; write e.g. '{m.group(1)}m' or '{m.group(1)}mm'")
    if unit not in _ALIASES:
        raise ParameterError(f"length {s!r}: unknown unit {unit!r}; use one of m, cm, mm, in")
    metres = value * UNIT_TO_METRES[_ALIASES[unit]]
    if not math.isfinite(metres) or metres <= 0:
        raise ParameterError(f"length {s!r} must be > 0")
    return metres


__all__ = ["parse_length"]
