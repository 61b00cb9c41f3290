"""Calibrations from robotics tools: ROS CameraInfo messages, Kalibr camchains, EuRoC sensors.

* :func:`rig_from_camera_infos`: two ``sensor_msgs/CameraInfo`` (as read from a bag) -> rig.
* Kalibr ``camchain.yaml`` (``cam0``/``cam1`` with ``intrinsics [fu, fv, pu, pv]``,
  ``distortion_model`` radtan or equidistant, ``T_cn_cnm1``: the 4x4 transform from cam0 to
  cam1 coordinates, metres) -> StereoRig (the rectification is computed).
* EuRoC ``sensor.yaml`` pair (``cam0/sensor.yaml,cam1/sensor.yaml``; ``T_BS``: the sensor
  pose in the body frame, i.e. body-from-sensor, metres) -> StereoRig with
  ``T_cam1_cam0 = inv(T_BS1) @ T_BS0``.

Equidistant (fisheye) distortion is converted to a plain pinhole rig by undistorting each
camera to its own pinhole model first: the returned rig's maps are built with OpenCV's
fisheye model (``cv2.fisheye``), see :func:`_fisheye_rig`.

Conventions of the returned rigs: those of :class:`calib.StereoRig` (X_right = R X_left + T,
T in metres). All YAML is read through :func:`_load_yaml` (one place to swap the loader).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stereo.errors import CalibrationError, FileFormatError

from .model import StereoCalibration
from .rig import StereoRig


def _parse_yaml(text: str, label: str):
    """Parse YAML text with the bounded safe loader (:mod:`calib.safe_yaml`: no aliases, depth
    and node caps, OpenCV's ``%YAML:1.0`` line understood): the one place this module parses YAML."""
    from .safe_yaml import load_yaml_text
    return load_yaml_text(text, label)


def _load_yaml(path: Path):
    from .safe_yaml import load_yaml_file   # bounded size, regular files only
    return load_yaml_file(path)


# ---- ROS CameraInfo messages ---------------------------------------------------------------
def _field(msg, *names):
    for n in names:
        if hasattr(msg, n):
            return getattr(msg, n)
    raise CalibrationError(f"CameraInfo message has none of the fields {', '.join(names)}")


def rig_from_camera_infos(left, right, label: str = "CameraInfo") -> StereoRig:
    """A rig from the left and right ``sensor_msgs/CameraInfo`` messages (ROS 1 or ROS 2).

    As for ROS camera_info YAML files: ``R = R_right^T R_left``, ``T = -R_right^T [B, 0, 0]``
    with the baseline ``B = -P_right[0,3] / P_right[0,0]`` (metres).
    """
    cams = []
    for side, msg in (("left", left), ("right", right)):
        K = np.asarray(_field(msg, "k", "K"), np.float64).reshape(3, 3)
        D = np.asarray(_field(msg, "d", "D"), np.float64).ravel()
        R = np.asarray(_field(msg, "r", "R"), np.float64).reshape(3, 3)
        P = np.asarray(_field(msg, "p", "P"), np.float64).reshape(3, 4)
        model = str(msg.distortion_model or "plumb_bob")
        if model not in ("plumb_bob", "rational_polynomial", ""):
            raise CalibrationError(f"{label}: {side} distortion_model {model!r} is not supported "
                                   f"(plumb_bob or rational_polynomial)")
        if D.size == 0:
            D = np.zeros(5)
        if K[0, 0] <= 0 or P[0, 0] <= 0:
            raise CalibrationError(f"{label}: the {side} CameraInfo is not calibrated (K or P is zero)")
        cams.append(dict(size=(int(msg.width), int(msg.height)), K=K, D=D, R=R, P=P))
    lc, rc = cams
    if lc["size"] != rc["size"]:
        raise CalibrationError(f"{label}: left is {lc['size']} but right is {rc['size']} (width, height)")
    baseline = -rc["P"][0, 3] / rc["P"][0, 0] + lc["P"][0, 3] / lc["P"][0, 0]
    if baseline <= 0:
        raise CalibrationError(f"{label}: the right P[0,3] must be -fx*B < 0 (got {rc['P'][0, 3]:g}); "
                               f"are left and right swapped, or is the right CameraInfo monocular?")
    R = rc["R"].T @ lc["R"]
    T = -rc["R"].T @ np.array([baseline, 0.0, 0.0])
    try:
        Q = StereoCalibration.from_projections(lc["P"], rc["P"]).Q
        return StereoRig(lc["size"], lc["K"], lc["D"], rc["K"], rc["D"], R, T, lc["R"], rc["R"],
                         lc["P"], rc["P"], Q, alpha=None, info={"source": label, "format": "ros_camera_info"})
    except CalibrationError as exc:
        raise CalibrationError(f"{label}: {exc}") from None


# ---- Kalibr and EuRoC -----------------------------------------------------------------------
ROBOTICS_FORMATS = ("kalibr", "euroc")


def detect_robotics_format(text: str) -> str | None:
    """"kalibr", "euroc" or None, from a file's text (the hook of :func:`calib.formats.detect_format`)."""
    if "intrinsics" not in text or ("cam0" not in text and "T_BS" not in text):
        return None
    try:
        data = _parse_yaml(text, "calibration")
    except FileFormatError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("cam0"), dict) and "intrinsics" in data["cam0"]:
        return "kalibr"
    if "T_BS" in data and "intrinsics" in data:
        return "euroc"
    return None


def _camera(node, label: str, where: str) -> dict:
    """Intrinsics of one Kalibr/EuRoC camera node: K, D, size and the distortion model."""
    if not isinstance(node, dict):
        raise CalibrationError(f"{label}: {where} is not a mapping")
    model = str(node.get("camera_model", "pinhole"))
    if model != "pinhole":
        raise CalibrationError(f"{label}: {where}.camera_model {model!r} is not supported (pinhole only)")
    for key in ("intrinsics", "resolution", "distortion_model"):
        if key not in node:
            raise CalibrationError(f"{label}: missing key '{where}.{key}'")
    try:
        fu, fv, pu, pv = (float(v) for v in node["intrinsics"])
        w, h = (int(v) for v in node["resolution"])
    except (TypeError, ValueError):
        raise CalibrationError(f"{label}: {where}.intrinsics must be [fu, fv, pu, pv] and "
                               f"{where}.resolution [width, height]") from None
    dist_key = "distortion_coeffs" if "distortion_coeffs" in node else "distortion_coefficients"
    if dist_key not in node:
        raise CalibrationError(f"{label}: missing key '{where}.distortion_coeffs'")
    D = np.asarray(node[dist_key], np.float64).ravel()
    dm = str(node["distortion_model"]).lower()
    if dm in ("radtan", "radial-tangential", "plumb_bob"):
        kind = "radtan"
    elif dm in ("equidistant", "fisheye", "equi"):
        kind = "equidistant"
    else:
        raise CalibrationError(f"{label}: {where}.distortion_model {dm!r} is not supported "
                               f"(radtan or equidistant)")
    if D.size != 4:
        raise CalibrationError(f"{label}: {where}.{dist_key} must have 4 values for {dm}, got {D.size}")
    K = np.array([[fu, 0, pu], [0, fv, pv], [0, 0, 1]], np.float64)
    return {"K": K, "D": D, "size": (w, h), "model": kind}


def _transform(value, label: str, where: str) -> np.ndarray:
    if isinstance(value, dict):  # EuRoC: {rows: 4, cols: 4, data: [...]}
        value = value.get("data")
    try:
        T = np.asarray(value, np.float64).reshape(4, 4)
    except (TypeError, ValueError):
        raise CalibrationError(f"{label}: {where} must be a 4x4 matrix") from None
    if not np.all(np.isfinite(T)) or not np.allclose(T[3], [0, 0, 0, 1]):
        raise CalibrationError(f"{label}: {where} is not a rigid 4x4 transform (last row 0 0 0 1)")
    R = T[:3, :3]
    if not np.allclose(R.T @ R, np.eye(3), atol=1e-4):
        raise CalibrationError(f"{label}: the rotation of {where} is not orthonormal")
    return T


def _stereo_rig(c0: dict, c1: dict, T_10: np.ndarray, label: str, fmt: str) -> StereoRig:
    """Rig from two cameras and the cam0 -> cam1 transform (X_1 = T_10 X_0, metres)."""
    if c0["size"] != c1["size"]:
        raise CalibrationError(f"{label}: cam0 is {c0['size']} but cam1 is {c1['size']} (width, height)")
    if c0["model"] != c1["model"]:
        raise CalibrationError(f"{label}: cam0 and cam1 use different distortion models")
    R, T = np.ascontiguousarray(T_10[:3, :3]), np.ascontiguousarray(T_10[:3, 3])
    info = {"source": label, "format": fmt}
    if c0["model"] == "radtan":
        return StereoRig.from_extrinsics(c0["size"], c0["K"], c0["D"], c1["K"], c1["D"], R, T, info=info)
    return _fisheye_rig(c0, c1, R, T, info)


def _fisheye_rig(c0, c1, R, T, info) -> StereoRig:
    """Equidistant cameras: rectification by ``cv2.fisheye.stereoRectify``; the rig is marked
    ``info["distortion_model"] = "equidistant"`` so that :class:`calib.Rectifier` builds its
    maps with ``cv2.fisheye.initUndistortRectifyMap``."""
    import cv2
    size = c0["size"]
    try:
        R1, R2, P1, P2, Q = cv2.fisheye.stereoRectify(
            c0["K"], c0["D"], c1["K"], c1["D"], size, R, T.reshape(3, 1), flags=cv2.CALIB_ZERO_DISPARITY,
            newImageSize=size, balance=0.0, fov_scale=1.0)
    except cv2.error as exc:
        raise CalibrationError(f"{info['source']}: fisheye rectification failed: "
                               f"{str(exc).strip().splitlines()[-1]}") from None
    info = dict(info, distortion_model="equidistant")
    return StereoRig(size, c0["K"], c0["D"], c1["K"], c1["D"], R, T, R1, R2, P1, P2, Q, alpha=None, info=info)


def load_kalibr_camchain(path) -> StereoRig:
    """Read a Kalibr ``camchain.yaml``: cam0 = left (reference), cam1 = right.

    ``cam1.T_cn_cnm1`` maps cam0 coordinates to cam1 coordinates (metres), which is this
    project's ``X_right = R X_left + T``.
    """
    p = Path(path)
    data = _load_yaml(p)
    label = str(p)
    if not isinstance(data, dict) or "cam0" not in data:
        raise CalibrationError(f"{label}: not a Kalibr camchain (no cam0)")
    if "cam1" not in data:
        raise CalibrationError(f"{label}: missing key 'cam1' (a stereo camchain needs two cameras)")
    c0 = _camera(data["cam0"], label, "cam0")
    c1 = _camera(data["cam1"], label, "cam1")
    if "T_cn_cnm1" not in data["cam1"]:
        raise CalibrationError(f"{label}: missing key 'cam1.T_cn_cnm1'")
    return _stereo_rig(c0, c1, _transform(data["cam1"]["T_cn_cnm1"], label, "cam1.T_cn_cnm1"), label, "kalibr")


def load_euroc_pair(cam0_path, cam1_path) -> StereoRig:
    """Read a EuRoC ``cam0/sensor.yaml,cam1/sensor.yaml`` pair (cam0 = left).

    ``T_BS`` is each sensor's pose in the body frame (``X_B = T_BS X_S``), so
    ``X_cam1 = inv(T_BS1) T_BS0 X_cam0``.
    """
    paths = (Path(cam0_path), Path(cam1_path))
    label = f"{paths[0]},{paths[1]}"
    cams, poses = [], []
    for i, p in enumerate(paths):
        data = _load_yaml(p)
        if not isinstance(data, dict) or "T_BS" not in data:
            raise CalibrationError(f"{p}: not a EuRoC sensor.yaml (no T_BS)")
        cams.append(_camera(data, str(p), f"cam{i}"))
        poses.append(_transform(data["T_BS"], str(p), "T_BS"))
    T_10 = np.linalg.inv(poses[1]) @ poses[0]
    return _stereo_rig(cams[0], cams[1], T_10, label, "euroc")


__all__ = ["rig_from_camera_infos", "detect_robotics_format", "load_kalibr_camchain", "load_euroc_pair",
           "ROBOTICS_FORMATS"]
