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


def _load_yaml(path: Path):
    """Parse a YAML file (safe loader); the single place where this module reads YAML."""
    import yaml
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such calibration file", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: cannot read file ({exc})", str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FileFormatError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})", str(path)) from None


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


__all__ = ["rig_from_camera_infos"]
