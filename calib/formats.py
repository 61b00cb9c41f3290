"""Calibration files of several tools, read into one model.

:func:`load_calibration` recognises the format from the file content:

* our rig YAML (``type: stereo_rig``, :mod:`calib.rig`)          -> StereoRig (raw images)
* our rectified-model YAML (``type: rectified_stereo``)          -> StereoCalibration
* OpenCV FileStorage YAML/XML as written by OpenCV's stereo_calib sample: intrinsics
  (M1 D1 M2 D2) and extrinsics (R T R1 R2 P1 P2 Q), in one file or given as
  ``"intrinsics.yml,extrinsics.yml"``                              -> StereoRig
* a ROS ``camera_info`` YAML pair ``"left.yaml,right.yaml"``       -> StereoRig
* Middlebury ``calib.txt``                                         -> StereoCalibration
* KITTI ``calib_cam_to_cam.txt`` (P_rect_02 / P_rect_03)           -> StereoCalibration

Units: our files say theirs. OpenCV files carry none: T is in the unit of a string node
``T_unit`` (m, cm, mm, in) when the file has one, else in the unit the caller states
(``units=``, the CLI's ``--calib-units``), else metres when ``|T| <= 5`` and refused when
larger (a calibration in millimetres would otherwise give kilometre depths). ROS
projection matrices are metres (``P_right[0,3] = -fx * B``). KITTI is metres.

Safety: files are read as bounded text (regular files only, ``STEREO_MAX_CALIB_BYTES``);
YAML goes through :mod:`calib.safe_yaml` (no aliases, bounded depth) and OpenCV files are
parsed in Python (:mod:`calib.opencv_files`), never by ``cv2.FileStorage``. Every
malformed or implausible value raises :class:`CalibrationError` (or FileFormatError).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np
import yaml

from stereo.errors import CalibrationError, FileFormatError, ParameterError

from .model import UNIT_TO_METRES, StereoCalibration
from .opencv_files import parse_opencv_text
from .safe_yaml import UnsafeYamlError, load_yaml_text
from .rig import RIG_TYPE, StereoRig

FORMATS = ("rig", "rectified_yaml", "opencv", "ros", "middlebury", "kitti", "kalibr", "euroc")
AMBIGUOUS_T_METRES = 5.0
"""An OpenCV |T| above this, with no unit stated, is refused (likely mm or cm, not m)."""


# ---- entry point ------------------------------------------------------------------------
def load_calibration(path, units: str | None = None) -> StereoRig | StereoCalibration:
    """Read any supported calibration file (format detected from content).

    Args:
        path: a file, or two files joined by a comma (``"intrinsics.yml,extrinsics.yml"``
            for OpenCV, ``"left.yaml,right.yaml"`` for ROS camera_info).
        units: the length unit of T in an OpenCV FileStorage file ("m", "cm", "mm", "in"),
            which carries none; other formats state their unit and refuse this argument.

    Returns:
        A :class:`StereoRig` for formats describing raw cameras (images get rectified),
        a :class:`StereoCalibration` for already-rectified pairs (Middlebury, KITTI).

    Raises:
        FileFormatError: a missing or unreadable file, or an unrecognised format.
        CalibrationError: a recognised file with a missing key or bad value (named).
    """
    text = str(path)
    if not text.strip():
        raise FileFormatError("empty calibration path", text)
    if units is not None and units not in UNIT_TO_METRES:
        raise ParameterError(f"calibration units must be one of {', '.join(UNIT_TO_METRES)}, got {units!r}")
    if "," in text and not Path(text).exists():
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or not all(parts):
            raise FileFormatError(f"{text}: expected one file or two files separated by one comma", text)
        first, second = (Path(p) for p in parts)
        kind = detect_format(first)
        if kind == "opencv":
            return load_opencv_calibration(first, second, units=units)
        _no_units(units, first, kind)
        if kind == "ros":
            return load_ros_camera_info_pair(first, second)
        if kind == "euroc":
            from .formats_robotics import load_euroc_pair
            return load_euroc_pair(first, second)
        raise FileFormatError(f"{first}: a two-file calibration must be an OpenCV intrinsics/extrinsics "
                              f"pair or a ROS camera_info pair, but this file is {kind!r}", str(first))
    p = Path(text)
    kind = detect_format(p)
    if kind == "opencv":
        return load_opencv_calibration(p, units=units)
    _no_units(units, p, kind)
    if kind == "rig":
        return StereoRig.load(p)
    if kind == "rectified_yaml":
        from .model_yaml import load_calibration_yaml
        return load_calibration_yaml(p)
    if kind == "ros":
        raise CalibrationError(f"{p}: a ROS camera_info file describes one camera; give both as "
                               f"'left.yaml,right.yaml'")
    if kind in ("kalibr", "euroc"):
        from .formats_robotics import load_kalibr_camchain
        if kind == "euroc":
            raise CalibrationError(f"{p}: a EuRoC sensor.yaml describes one camera; give both as "
                                   f"'cam0/sensor.yaml,cam1/sensor.yaml'")
        return load_kalibr_camchain(p)
    if kind == "middlebury":
        from .middlebury import read_middlebury_calib
        return read_middlebury_calib(p)
    return load_kitti_calibration(p)


def _no_units(units, path, kind) -> None:
    if units is not None:
        raise ParameterError(f"{path}: a {kind} calibration states its own length unit; "
                             f"--calib-units (units=) is only for OpenCV FileStorage files")


def _read_text(path: Path) -> str:
    """Bounded text of a calibration file (regular file, ``STEREO_MAX_CALIB_BYTES``)."""
    from stereo.io.files import read_calibration_text
    return read_calibration_text(path)


def _load_yaml(text: str, path):
    return load_yaml_text(text, path)


def detect_format(path) -> str:
    """Name the format of a calibration file from its content (one of :data:`FORMATS`)."""
    p = Path(path)
    text = _read_text(p)
    head = text.lstrip()[:4096]
    if head.startswith("%YAML") and ("opencv" in head or re.search(r"^\s*(M1|R1|P1|Q)\s*:", head, re.M)):
        return "opencv"
    if head.startswith("<?xml") or "<opencv_storage>" in head:
        return "opencv"
    try:
        data = _load_yaml(text, p)
    except UnsafeYamlError:
        raise  # aliases or absurd nesting: say so rather than "unrecognised format"
    except FileFormatError:
        data = None
    if isinstance(data, dict):
        kind = data.get("type")
        if kind == RIG_TYPE:
            return "rig"
        if kind == "rectified_stereo" or "focal_px" in data:
            return "rectified_yaml"
        if "camera_matrix" in data or "projection_matrix" in data:
            return "ros"
    from .formats_robotics import detect_robotics_format  # Kalibr camchain, EuRoC sensor.yaml
    robotics = detect_robotics_format(text)
    if robotics:
        return robotics
    if re.search(r"^\s*cam0\s*=", text, re.M):
        return "middlebury"
    if re.search(r"^\s*(P_rect_0[23]|P[23])\s*:(\s+[-+0-9.eE]+){12}\s*$", text, re.M):
        return "kitti"
    raise FileFormatError(
        f"{p}: unrecognised calibration format (expected a stereo rig YAML, rectified-model YAML, "
        f"OpenCV YAML/XML, ROS camera_info pair, Middlebury calib.txt, KITTI calib_cam_to_cam.txt, "
        f"Kalibr camchain or EuRoC sensor.yaml pair)",
        str(p))


# ---- OpenCV FileStorage ------------------------------------------------------------------
_OPENCV_INTRINSICS = ("M1", "D1", "M2", "D2")
_OPENCV_EXTRINSICS = ("R", "T")
_OPENCV_RECT = ("R1", "R2", "P1", "P2", "Q")


def _storage_nodes(path: Path) -> dict:
    """Top-level nodes of an OpenCV FileStorage file, parsed in Python (never cv2.FileStorage)."""
    return parse_opencv_text(_read_text(path), path)


def load_opencv_calibration(intrinsics, extrinsics=None, *, units: str | None = None) -> StereoRig:
    """Read OpenCV stereo_calib output: ``intrinsics`` (M1 D1 M2 D2) and ``extrinsics``
    (R T, optionally R1 R2 P1 P2 Q); one file may hold both.

    Optional nodes: ``image_width``/``image_height`` (or ``imageSize`` / ``image_size``
    = [w, h]) and ``T_unit``. Without R1..Q the rectification is computed (needs the size).
    ``units`` states the unit of T when the file has no ``T_unit`` (see the module docstring).
    """
    files = [Path(intrinsics)] + ([Path(extrinsics)] if extrinsics is not None else [])
    nodes, where = {}, {}
    for f in files:
        for k, v in _storage_nodes(f).items():
            nodes.setdefault(k, v)
            where.setdefault(k, f)
    label = ",".join(str(f) for f in files)
    for key in _OPENCV_INTRINSICS + _OPENCV_EXTRINSICS:
        if key not in nodes:
            src = files[0] if key in _OPENCV_INTRINSICS or len(files) == 1 else files[1]
            raise CalibrationError(f"{src}: missing key '{key}' (OpenCV stereo calibration needs "
                                   f"M1 D1 M2 D2 R T)")
    for key in ("M1", "D1", "M2", "D2", "R", "T") + _OPENCV_RECT:
        if key in nodes and not isinstance(nodes[key], np.ndarray):
            raise CalibrationError(f"{where[key]}: '{key}' must be a matrix, got {str(nodes[key])[:40]!r}")
    size = _opencv_size(nodes, where, label)
    file_unit = nodes.get("T_unit")
    if file_unit is not None:
        if not isinstance(file_unit, str):
            raise CalibrationError(f"{where['T_unit']}: T_unit must be a string (m, cm, mm, in), "
                                   f"got {file_unit!r}")
        file_unit = file_unit.strip().lower()
        if file_unit not in UNIT_TO_METRES:
            raise CalibrationError(f"{where['T_unit']}: T_unit must be one of "
                                   f"{', '.join(UNIT_TO_METRES)}, got {file_unit!r}")
        if units is not None and units != file_unit:
            raise CalibrationError(f"{where['T_unit']}: the file says T_unit: {file_unit} but "
                                   f"{units} was given (--calib-units)")
    unit = file_unit or units
    T_raw = np.asarray(nodes["T"], np.float64).ravel()
    if not np.all(np.isfinite(T_raw)):
        raise CalibrationError(f"{where['T']}: T contains NaN or inf")
    from .checks import vector_norm
    norm = vector_norm(T_raw)
    if unit is None:
        if norm > AMBIGUOUS_T_METRES:
            raise CalibrationError(
                f"{label}: |T| = {norm:g} and the file does not say its unit (OpenCV files carry "
                f"none); as metres that is a {norm:g} m baseline. State the unit of the "
                f"calibration target: --calib-units mm|cm|m (API: units='mm'), or add a string "
                f"node 'T_unit: mm' to the file")
        unit = "m"
    s = UNIT_TO_METRES[unit]
    T = T_raw * s
    info = {"source": label, "format": "opencv", "T_unit": unit}
    try:
        if all(k in nodes for k in _OPENCV_RECT):
            P1 = np.asarray(nodes["P1"], np.float64).copy()
            P2 = np.asarray(nodes["P2"], np.float64).copy()
            Q = np.asarray(nodes["Q"], np.float64).copy()
            P1[:, 3] *= s
            P2[:, 3] *= s
            Q[3, :] /= s
            roi1 = nodes.get("roi1", nodes.get("validRoi1"))
            roi2 = nodes.get("roi2", nodes.get("validRoi2"))
            return StereoRig(size, nodes["M1"], nodes["D1"], nodes["M2"], nodes["D2"], nodes["R"], T,
                             nodes["R1"], nodes["R2"], P1, P2, Q, roi1, roi2, alpha=None, info=info)
        if size == (0, 0):
            missing = next(k for k in _OPENCV_RECT if k not in nodes)
            raise CalibrationError(f"{label}: missing key '{missing}' and no image_width/image_height "
                                   f"to compute the rectification from")
        return StereoRig.from_extrinsics(size, nodes["M1"], nodes["D1"], nodes["M2"], nodes["D2"],
                                         nodes["R"], T, info=info)
    except CalibrationError as exc:
        msg = str(exc)
        raise CalibrationError(msg if msg.startswith(label) else f"{label}: {msg}") from None


def _opencv_size(nodes, where, label) -> tuple[int, int]:
    if "image_width" in nodes and "image_height" in nodes:
        return (_pixels(nodes["image_width"], "image_width", where.get("image_width", label)),
                _pixels(nodes["image_height"], "image_height", where.get("image_height", label)))
    for key in ("imageSize", "image_size"):
        if key in nodes:
            v = nodes[key]
            if not isinstance(v, np.ndarray) or v.size != 2:
                raise CalibrationError(f"{where.get(key, label)}: {key} must be [width, height]")
            v = v.ravel()
            return (_pixels(v[0], f"{key} width", where.get(key, label)),
                    _pixels(v[1], f"{key} height", where.get(key, label)))
    return (0, 0)


MAX_IMAGE_SIDE = 100_000
"""Largest image width or height a calibration file may state, pixels."""


def _pixels(value, name, source) -> int:
    """A checked image dimension (a non-negative integer number of pixels)."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, str) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise CalibrationError(f"{source}: {name} must be a whole number of pixels, got {str(value)[:40]!r}")
    try:
        v = float(value)
    except OverflowError:
        v = math.inf
    if not math.isfinite(v) or v != int(v) or v < 0 or v > MAX_IMAGE_SIDE:
        raise CalibrationError(f"{source}: {name} must be a whole number of pixels in 0..{MAX_IMAGE_SIDE}, "
                               f"got {value!r}")
    return int(v)


def save_opencv_calibration(rig: StereoRig, intrinsics_path, extrinsics_path=None) -> None:
    """Write ``rig`` as OpenCV stereo_calib files (YAML or XML from the extension).

    With one path both groups go into it. T and the P/Q translation terms are metres
    (``T_unit: m`` is written); the image size is written as image_width/image_height.
    """
    from stereo.io.atomic import atomic_path

    groups = [(Path(intrinsics_path), ("M1", "D1", "M2", "D2"))]
    ext_keys = ("R", "T", "R1", "R2", "P1", "P2", "Q")
    if extrinsics_path is None:
        groups[0] = (groups[0][0], groups[0][1] + ext_keys)
    else:
        groups.append((Path(extrinsics_path), ext_keys))
    values = {"M1": rig.K1, "D1": rig.D1.reshape(1, -1), "M2": rig.K2, "D2": rig.D2.reshape(1, -1),
              "R": rig.R, "T": rig.T.reshape(3, 1), "R1": rig.R1, "R2": rig.R2, "P1": rig.P1,
              "P2": rig.P2, "Q": rig.Q}
    for path, keys in groups:
        with atomic_path(path) as tmp:
            fs = cv2.FileStorage(str(tmp), cv2.FILE_STORAGE_WRITE)
            if not fs.isOpened():
                raise FileFormatError(f"{path}: cannot write an OpenCV FileStorage file", str(path))
            fs.write("image_width", int(rig.width))
            fs.write("image_height", int(rig.height))
            for k in keys:
                fs.write(k, np.asarray(values[k], np.float64))
            if "T" in keys:
                fs.write("T_unit", "m")
            fs.release()


# ---- ROS camera_info ---------------------------------------------------------------------
_ROS_DIST_MODELS = {"plumb_bob": (5,), "rational_polynomial": (8,)}


def _ros_matrix(data: dict, key: str, shape, path: Path) -> np.ndarray:
    if key not in data:
        raise CalibrationError(f"{path}: missing key '{key}'")
    node = data[key]
    values = node.get("data") if isinstance(node, dict) else node
    if values is None:
        raise CalibrationError(f"{path}: missing key '{key}.data'")
    if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise CalibrationError(f"{path}: {key}.data is not a list of numbers")
    try:
        arr = np.asarray(values, np.float64).ravel()
    except OverflowError:  # an integer beyond 1e308
        raise CalibrationError(f"{path}: {key}.data holds a number too large for a float") from None
    if not np.all(np.isfinite(arr)):
        raise CalibrationError(f"{path}: {key}.data contains NaN or inf")
    if shape is not None:
        if arr.size != int(np.prod(shape)):
            raise CalibrationError(f"{path}: {key} must have {int(np.prod(shape))} values, got {arr.size}")
        arr = arr.reshape(shape)
    return arr


def _read_ros(path: Path) -> dict:
    data = _load_yaml(_read_text(path), path)
    if not isinstance(data, dict):
        raise CalibrationError(f"{path}: expected a ROS camera_info mapping")
    model = data.get("distortion_model", "plumb_bob")
    if not isinstance(model, str) or model not in _ROS_DIST_MODELS:
        raise CalibrationError(f"{path}: distortion_model {model!r} is not supported (use plumb_bob or "
                               f"rational_polynomial)")
    for key in ("image_width", "image_height"):
        if key not in data:
            raise CalibrationError(f"{path}: missing key '{key}'")
    return {
        "size": (_pixels(data["image_width"], "image_width", path),
                 _pixels(data["image_height"], "image_height", path)),
        "K": _ros_matrix(data, "camera_matrix", (3, 3), path),
        "D": _ros_matrix(data, "distortion_coefficients", None, path),
        "R": _ros_matrix(data, "rectification_matrix", (3, 3), path),
        "P": _ros_matrix(data, "projection_matrix", (3, 4), path),
    }


def load_ros_camera_info_pair(left_path, right_path) -> StereoRig:
    """Read a ROS camera_info YAML pair (left, right) into a rig.

    The rectified frames of both cameras share their orientation, so the extrinsics are
    ``R = R_right^T R_left`` and ``T = -R_right^T [B, 0, 0]`` with the baseline
    ``B = -P_right[0,3] / P_right[0,0]`` (metres).
    """
    lp, rp = Path(left_path), Path(right_path)
    left, right = _read_ros(lp), _read_ros(rp)
    if left["size"] != right["size"]:
        raise CalibrationError(f"{lp} is for {left['size'][0]}x{left['size'][1]} images but {rp} for "
                               f"{right['size'][0]}x{right['size'][1]}")
    P1, P2 = left["P"], right["P"]
    if P2[0, 0] <= 0:
        raise CalibrationError(f"{rp}: projection_matrix has a non-positive fx")
    if P1[0, 0] <= 0:
        raise CalibrationError(f"{lp}: projection_matrix has a non-positive fx")
    baseline = -P2[0, 3] / P2[0, 0] + P1[0, 3] / P1[0, 0]
    if baseline <= 0:
        raise CalibrationError(f"{rp}: projection_matrix P[0,3] must be -fx*B < 0 for the right camera "
                               f"(got {P2[0, 3]:g}); are left and right swapped?")
    R = right["R"].T @ left["R"]
    T = -right["R"].T @ np.array([baseline, 0.0, 0.0])
    label = f"{lp},{rp}"
    try:
        Q = StereoCalibration.from_projections(P1, P2).Q
        return StereoRig(left["size"], left["K"], left["D"], right["K"], right["D"], R, T,
                         left["R"], right["R"], P1, P2, Q, alpha=None,
                         info={"source": label, "format": "ros_camera_info"})
    except CalibrationError as exc:
        raise CalibrationError(f"{label}: {exc}") from None


def save_ros_camera_info_pair(rig: StereoRig, left_path, right_path) -> None:
    """Write ``rig`` as two ROS camera_info YAML files (P translation in metres)."""
    from stereo.io.images import write_bytes_atomic

    def doc(name, K, D, R, P):
        d = np.asarray(D, np.float64).ravel()
        return {"image_width": int(rig.width), "image_height": int(rig.height), "camera_name": name,
                "camera_matrix": {"rows": 3, "cols": 3, "data": np.asarray(K).ravel().tolist()},
                "distortion_model": "plumb_bob" if d.size <= 5 else "rational_polynomial",
                "distortion_coefficients": {"rows": 1, "cols": int(d.size), "data": d.tolist()},
                "rectification_matrix": {"rows": 3, "cols": 3, "data": np.asarray(R).ravel().tolist()},
                "projection_matrix": {"rows": 3, "cols": 4, "data": np.asarray(P).ravel().tolist()}}

    for path, content in ((left_path, doc("left", rig.K1, rig.D1, rig.R1, rig.P1)),
                          (right_path, doc("right", rig.K2, rig.D2, rig.R2, rig.P2))):
        write_bytes_atomic(Path(path), yaml.safe_dump(content, sort_keys=False).encode())


# ---- KITTI ---------------------------------------------------------------------------------
def _kitti_values(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, _, rest = line.partition(":")
        try:
            out[key.strip()] = np.array([float(v) for v in rest.split()[:64]])
        except ValueError:
            out[key.strip()] = rest.strip()  # e.g. calib_time
    return out


def load_kitti_calibration(path) -> StereoCalibration:
    """Read KITTI ``calib_cam_to_cam.txt`` (colour cameras 02 = left, 03 = right).

    Returns the rectified model: f, cx, cy from ``P_rect_02``; the baseline, metres,
    from the x-translations ``B = (P_rect_02[0,3] - P_rect_03[0,3]) / f`` (the
    projections are relative to camera 0, so ``P_rect_03[0,3]`` alone would give the
    0-3 distance); image size from ``S_rect_02``. The object-benchmark layout
    (``P2:``/``P3:`` lines) is accepted too.
    """
    p = Path(path)
    values = _kitti_values(_read_text(p))
    if "P_rect_02" in values or "P_rect_03" in values:
        keys = ("P_rect_02", "P_rect_03")
    else:
        keys = ("P2", "P3")
    mats = []
    for key in keys:
        v = values.get(key)
        if v is None:
            raise CalibrationError(f"{p}: missing key '{key}'")
        if isinstance(v, str) or v.size != 12:
            raise CalibrationError(f"{p}: {key} must have 12 numbers")
        mats.append(v.reshape(3, 4))
    size = (0, 0)
    s = values.get("S_rect_02")
    if s is not None:
        if not isinstance(s, np.ndarray) or s.size != 2:
            raise CalibrationError(f"{p}: S_rect_02 must be 'width height'")
        size = (_pixels(round(s[0]) if np.isfinite(s[0]) else s[0], "S_rect_02 width", p),
                _pixels(round(s[1]) if np.isfinite(s[1]) else s[1], "S_rect_02 height", p))
    try:
        return StereoCalibration.from_projections(mats[0], mats[1], size, unit="m")
    except CalibrationError as exc:
        raise CalibrationError(f"{p}: {exc}") from None


__all__ = ["load_calibration", "detect_format", "load_opencv_calibration", "save_opencv_calibration",
           "load_ros_camera_info_pair", "save_ros_camera_info_pair", "load_kitti_calibration", "FORMATS"]
