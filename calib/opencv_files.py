"""OpenCV FileStorage calibration files (YAML and XML) read without ``cv2.FileStorage``.

``cv2.FileStorage`` is not safe on untrusted text: a 122-byte YAML matrix without ``cols``
corrupts the heap, and 58 bytes of broken flow YAML make it loop forever, deaf to Ctrl-C.
These readers parse the same files in Python instead:

* YAML (``%YAML:1.0`` / ``%YAML 1.2``) with the bounded loader of :mod:`calib.safe_yaml`;
* XML (``<opencv_storage>``) with :mod:`xml.etree.ElementTree`, refusing any DTD or entity
  declaration (no "billion laughs", no external entities).

Both return the top-level nodes as ``{name: value}``: a string, a float, a 1-D float array
(a sequence) or a 2-D float64 array (``opencv-matrix``: ``rows * cols == len(data)``,
``dt`` one of OpenCV's single-channel depths). Nested mappings are ignored (no calibration
key needs them). Anything else raises :class:`~stereo.errors.FileFormatError` /
:class:`~stereo.errors.CalibrationError` naming the file and the node.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np

from stereo.errors import CalibrationError, FileFormatError

from .safe_yaml import load_yaml_text

# Single-channel element types of OpenCV FileStorage ("u" uchar ... "d" double, "h" half).
MATRIX_DTYPES = ("u", "c", "w", "s", "i", "f", "d", "h")
MAX_MATRIX_ELEMENTS = 1 << 16
"""Largest matrix accepted (calibration matrices are at most 4x4; maps are not read here)."""


def _number(value, path, where) -> float:
    if isinstance(value, bool):
        raise CalibrationError(f"{path}: {where} must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an integer beyond 1e308
            raise CalibrationError(f"{path}: {where} is too large for a float") from None
    if isinstance(value, str):
        text = value.strip().lower()
        special = {".nan": "nan", ".inf": "inf", "-.inf": "-inf", "+.inf": "inf"}
        try:
            return float(special.get(text, text))
        except ValueError:
            pass
    raise CalibrationError(f"{path}: {where} must be a number, got {str(value)[:40]!r}")


def _count(value, path, where) -> int:
    v = _number(value, path, where)
    if not np.isfinite(v) or v != int(v) or v < 1 or v > MAX_MATRIX_ELEMENTS:
        raise CalibrationError(f"{path}: {where} must be an integer in 1..{MAX_MATRIX_ELEMENTS}, "
                               f"got {str(value)[:40]!r}")
    return int(v)


def matrix_from_fields(fields: dict, path, name: str) -> np.ndarray:
    """A float64 array from an OpenCV matrix node's fields (rows, cols, dt, data), checked."""
    kind = fields.get("__opencv__", "opencv-matrix")
    dt = fields.get("dt")
    if not isinstance(dt, str) or dt.strip() not in MATRIX_DTYPES:
        raise CalibrationError(f"{path}: matrix '{name}' has dt {str(dt)[:20]!r}; expected one "
                               f"of {', '.join(MATRIX_DTYPES)} (single channel)")
    data = fields.get("data")
    if isinstance(data, str):
        data = data.split()
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        data = [data]
    if not isinstance(data, list):
        raise CalibrationError(f"{path}: matrix '{name}' has no 'data' list")
    if kind == "opencv-nd-matrix":
        sizes = fields.get("sizes")
        sizes = sizes.split() if isinstance(sizes, str) else sizes
        if not isinstance(sizes, list) or not 1 <= len(sizes) <= 2:
            raise CalibrationError(f"{path}: matrix '{name}' needs 'sizes' with 1 or 2 entries")
        shape = tuple(_count(s, path, f"'{name}.sizes'") for s in sizes)
    else:
        for key in ("rows", "cols"):
            if key not in fields:
                raise CalibrationError(f"{path}: matrix '{name}' has no '{key}'")
        shape = (_count(fields["rows"], path, f"'{name}.rows'"),
                 _count(fields["cols"], path, f"'{name}.cols'"))
    n = int(np.prod(shape))
    if n > MAX_MATRIX_ELEMENTS:
        raise CalibrationError(f"{path}: matrix '{name}' is {'x'.join(map(str, shape))}, larger than "
                               f"a calibration matrix")
    if len(data) != n:
        raise CalibrationError(f"{path}: matrix '{name}' is {'x'.join(map(str, shape))} but has "
                               f"{len(data)} values")
    values = [_number(v, path, f"an element of '{name}'") for v in data]
    return np.asarray(values, np.float64).reshape(shape)


def _convert(value, path, name):
    if isinstance(value, dict):
        if "__opencv__" in value:
            return matrix_from_fields(value, path, name)
        return None  # nested mapping: no calibration key needs one
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _number(value, path, name)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if len(value) > MAX_MATRIX_ELEMENTS:
            raise CalibrationError(f"{path}: sequence '{name}' is too long ({len(value)} items)")
        if all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in value):
            try:
                return np.asarray([_number(v, path, name) for v in value], np.float64)
            except CalibrationError:
                return None  # a list of names etc.: not a calibration value
        return None
    return None


def parse_opencv_yaml(text: str, path="calibration") -> dict:
    """Top-level nodes of an OpenCV FileStorage YAML text (see the module docstring)."""
    data = load_yaml_text(text, path)
    if not isinstance(data, dict):
        raise FileFormatError(f"{path}: an OpenCV YAML file must be a mapping of named nodes", str(path))
    out = {}
    for key, value in data.items():
        name = str(key)
        converted = _convert(value, path, name)
        if converted is not None:
            out[name] = converted
    return out


_FORBIDDEN_XML = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.I)


def _xml_value(elem, path, name):
    kind = elem.get("type_id")
    children = list(elem)
    if kind in ("opencv-matrix", "opencv-nd-matrix"):
        fields = {"__opencv__": kind}
        for child in children:
            fields[child.tag] = (child.text or "").strip()
        return matrix_from_fields(fields, path, name)
    if children:
        if all(c.tag == "_" and not list(c) for c in children):  # a sequence of scalars
            return _convert([(c.text or "").strip() for c in children], path, name)
        return None
    text = (elem.text or "").strip()
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return text[1:-1]
    tokens = text.split()
    if len(tokens) == 1:
        try:
            return _number(tokens[0], path, name)
        except CalibrationError:
            return tokens[0]
    if len(tokens) > 1:
        return _convert(tokens, path, name)
    return None


def parse_opencv_xml(text: str, path="calibration") -> dict:
    """Top-level nodes of an OpenCV FileStorage XML text (no DTD, no entities)."""
    if _FORBIDDEN_XML.search(text):
        raise FileFormatError(f"{path}: XML with a DTD or entity declaration is not accepted "
                              f"(OpenCV calibration files have none)", str(path))
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        raise FileFormatError(f"{path}: not valid XML ({exc})", str(path)) from None
    except (ValueError, RecursionError) as exc:
        raise FileFormatError(f"{path}: not valid XML ({type(exc).__name__})", str(path)) from None
    if root.tag != "opencv_storage":
        raise FileFormatError(f"{path}: XML root is <{str(root.tag)[:40]}>, expected <opencv_storage>",
                              str(path))
    out = {}
    for elem in root:
        name = str(elem.tag)
        value = _xml_value(elem, path, name)
        if value is not None and name not in out:
            out[name] = value
    return out


def parse_opencv_text(text: str, path="calibration") -> dict:
    """Nodes of an OpenCV FileStorage file, YAML or XML chosen from its first characters."""
    head = text.lstrip()[:64]
    if head.startswith("<"):
        return parse_opencv_xml(text, path)
    return parse_opencv_yaml(text, path)


__all__ = ["parse_opencv_text", "parse_opencv_yaml", "parse_opencv_xml", "matrix_from_fields",
           "MATRIX_DTYPES"]
