"""Rectify raw stereo pairs with a calibrated rig (OpenCV maps, computed once).

After rectification the epipolar lines are image rows, both views share the focal
length and cy, and the rectified model is ``rig.rectified()`` (a StereoCalibration).
"""

from __future__ import annotations

import cv2
import numpy as np

from stereo.errors import CalibrationError, InputError
from stereo.validation import check_image

from .model import StereoCalibration
from .rig import StereoRig


class Rectifier:
    """Remapping of raw pairs of one rig into the rectified geometry.

    The four ``cv2.initUndistortRectifyMap`` maps are built on first use and kept, so
    rectifying a video stream costs two ``cv2.remap`` calls per pair.
    """

    def __init__(self, rig: StereoRig, interpolation: int = cv2.INTER_LINEAR):
        if not isinstance(rig, StereoRig):
            raise CalibrationError(f"Rectifier needs a StereoRig, got {type(rig).__name__}")
        self.rig = rig
        self.interpolation = interpolation
        self._maps = None
        self._valid = None
        self._size = rig.image_size if rig.image_size[0] > 0 else None

    @property
    def image_size(self) -> tuple[int, int]:
        """(width, height) of the raw and rectified images ((0, 0) until known)."""
        return self._size or (0, 0)

    def maps(self):
        """((map1x, map1y), (map2x, map2y)) in OpenCV's fixed-point CV_16SC2 form."""
        if self._maps is None:
            r = self.rig
            out = []
            if self._size is None:
                raise CalibrationError("the calibration does not give the image size; rectify a pair first")
            # equidistant (fisheye) rigs come from Kalibr/EuRoC files (calib.formats_robotics)
            init = (cv2.fisheye.initUndistortRectifyMap if _is_fisheye(r) else cv2.initUndistortRectifyMap)
            for K, D, R, P in ((r.K1, r.D1, r.R1, r.P1), (r.K2, r.D2, r.R2, r.P2)):
                out.append(init(K, D, R, P, self._size, cv2.CV_16SC2))
            self._maps = tuple(out)
        return self._maps

    def _check(self, img, name):
        img = check_image(img, name)
        if self._size is None:  # calibration file without an image size: adopt the first one
            self._size = (img.shape[1], img.shape[0])
        w, h = self.image_size
        if img.shape[1] != w or img.shape[0] != h:
            raise InputError(f"{name} is {img.shape[1]}x{img.shape[0]} but the calibration is for "
                             f"{w}x{h} images (width x height)")
        return img

    def rectify(self, img, side: str = "left") -> np.ndarray:
        """Rectify one raw image of the ``side`` ("left" or "right") camera."""
        if side not in ("left", "right"):
            raise InputError(f"side must be 'left' or 'right', got {side!r}")
        img = self._check(img, f"{side} image")
        m1, m2 = self.maps()[0 if side == "left" else 1]
        return cv2.remap(np.ascontiguousarray(img), m1, m2, self.interpolation,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    def rectify_pair(self, left, right) -> tuple[np.ndarray, np.ndarray]:
        """Rectify a raw pair; returns (left_rectified, right_rectified), same dtype."""
        left = self._check(left, "left image")
        right = self._check(right, "right image")
        return self.rectify(left, "left"), self.rectify(right, "right")

    def valid_mask(self) -> np.ndarray:
        """Bool (H, W) mask of left rectified pixels that can have a real match.

        True where the left rectified pixel comes entirely from inside the raw left image
        AND the right rectified image has real pixels somewhere at or left of that
        column on the same row (a match ``x_right = x - d`` with ``d >= 0`` exists).
        """
        if self._valid is None:
            w, h = self.image_size
            ones = np.full((h, w), 255, np.uint8)
            (l1, l2), (r1, r2) = self.maps()
            vl = cv2.remap(ones, l1, l2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0) == 255
            vr = cv2.remap(ones, r1, r2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0) == 255
            self._valid = vl & np.maximum.accumulate(vr, axis=1)
        return self._valid.copy()

    def rectify_points(self, points, side: str = "left") -> np.ndarray:
        """Map raw pixel coordinates (N, 2) of one camera to rectified pixel coordinates."""
        r = self.rig
        K, D, R, P = (r.K1, r.D1, r.R1, r.P1) if side == "left" else (r.K2, r.D2, r.R2, r.P2)
        pts = np.asarray(points, np.float64).reshape(-1, 1, 2)
        if _is_fisheye(r):
            return cv2.fisheye.undistortPoints(pts, K, D, R=R, P=P).reshape(-1, 2)
        return cv2.undistortPoints(pts, K, D, R=R, P=P).reshape(-1, 2)


def _is_fisheye(rig: StereoRig) -> bool:
    return (rig.info or {}).get("distortion_model") == "equidistant"


def _rectifier_for(rig: StereoRig) -> Rectifier:
    # Cached on the rig object so repeated prepare_pair calls reuse the maps.
    cached = getattr(rig, "_rectifier_cache", None)
    if cached is None or cached.rig is not rig:
        cached = Rectifier(rig)
        object.__setattr__(rig, "_rectifier_cache", cached)
    return cached


def rectify_pair(left, right, rig: StereoRig) -> tuple[np.ndarray, np.ndarray]:
    """Rectify a raw pair with ``rig`` (maps cached on the rig)."""
    return _rectifier_for(rig).rectify_pair(left, right)


def prepare_pair(left, right, calibration):
    """Bring a pair into the rectified geometry the matchers expect.

    Args:
        left, right: images (raw when ``calibration`` is a StereoRig, else rectified).
        calibration: a :class:`StereoRig` (the pair is rectified), a rectified
            :class:`StereoCalibration` (Middlebury, KITTI...: returned unchanged) or None.

    Returns:
        (left_r, right_r, rectified StereoCalibration or None, valid mask (bool HxW) or None)

    Raises:
        InputError: the images are not the size the rig was calibrated for.
    """
    if calibration is None:
        return left, right, None, None
    if isinstance(calibration, StereoRig):
        rect = _rectifier_for(calibration)
        left_r, right_r = rect.rectify_pair(left, right)
        return left_r, right_r, calibration.rectified(), rect.valid_mask()
    if isinstance(calibration, StereoCalibration):
        return left, right, calibration, None
    raise CalibrationError(
        f"calibration must be a StereoRig or a StereoCalibration, got {type(calibration).__name__}")


__all__ = ["Rectifier", "rectify_pair", "prepare_pair"]
