"""A calibrated (raw, distorted) stereo rig and its YAML file.

The rig file holds everything needed to rectify and match raw pairs: both cameras'
intrinsics and distortion, the extrinsics, calibration quality figures, and the
rectification (R1, R2, P1, P2, Q, valid regions) computed once at calibration time.

Conventions: the left camera is the reference. ``R``, ``T`` map left-camera coordinates
to right-camera coordinates, ``X_right = R @ X_left + T``; ``T`` is in METRES (so a
horizontal rig with the right camera on the right has ``T[0] ~ -baseline``). Pixel
quantities (K, P's principal points, errors) are pixels; P1/P2/Q translation terms are
metres. ROIs are ``[x, y, width, height]`` in rectified pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import yaml

from stereo.errors import CalibrationError, FileFormatError

from .model import StereoCalibration

RIG_TYPE = "stereo_rig"
RIG_VERSION = 1


def _mat(value, shape, name, source="rig"):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise CalibrationError(f"{source}: {name} is not a numeric matrix") from None
    if shape is not None and arr.size == int(np.prod(shape)):
        arr = arr.reshape(shape)
    if shape is not None and arr.shape != tuple(shape):
        raise CalibrationError(f"{source}: {name} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise CalibrationError(f"{source}: {name} contains NaN or inf")
    return arr


def _dist(value, name, source="rig"):
    arr = _mat(value, None, name, source).ravel()
    if arr.size not in (4, 5, 8, 12, 14):
        raise CalibrationError(f"{source}: {name} must have 4, 5, 8, 12 or 14 coefficients, got {arr.size}")
    return arr


def _roi(value):
    if value is None:
        return None
    try:
        r = [int(v) for v in np.asarray(value, dtype=np.float64).ravel()]
    except (TypeError, ValueError, OverflowError):
        raise CalibrationError(f"a valid-region ROI must be [x, y, width, height], got {str(value)[:40]!r}") from None
    if len(r) != 4:
        raise CalibrationError(f"a valid-region ROI must be [x, y, width, height], got {value!r}")
    return tuple(r)


@dataclass
class StereoRig:
    """Raw stereo rig: per-camera intrinsics + distortion, extrinsics and rectification.

    Attributes:
        image_size: (width, height) of the raw images, pixels; (0, 0) when a file did not
            say (the rectifier then takes the size of the first pair it sees).
        K1, D1, K2, D2: left/right 3x3 camera matrices (pixels) and OpenCV distortion vectors.
        R, T: rotation and translation (metres) from left to right camera coordinates.
        E, F: essential and fundamental matrices (E with T in metres).
        R1, R2, P1, P2, Q: rectification as returned by ``cv2.stereoRectify`` (metres).
        roi1, roi2: rectified regions where each image has only valid pixels, [x, y, w, h].
        alpha: free-scaling parameter the rectification was computed with (0 = only valid
            pixels visible, 1 = all source pixels kept).
        rms: RMS reprojection error of the stereo calibration, pixels (None if unknown).
        per_view_errors: [{"view": name, "left_px": e, "right_px": e}] of the kept views.
        rejected_views: [{"view": name, "reason": text}].
        info: free-form provenance (method, board, source file...).
    """

    image_size: tuple[int, int]
    K1: np.ndarray
    D1: np.ndarray
    K2: np.ndarray
    D2: np.ndarray
    R: np.ndarray
    T: np.ndarray
    R1: np.ndarray
    R2: np.ndarray
    P1: np.ndarray
    P2: np.ndarray
    Q: np.ndarray
    roi1: tuple | None = None
    roi2: tuple | None = None
    alpha: float | None = 0.0
    E: np.ndarray | None = None
    F: np.ndarray | None = None
    rms: float | None = None
    per_view_errors: list = field(default_factory=list)
    rejected_views: list = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        from .checks import whole
        try:
            w, h = (whole(v, "image size", "rig") for v in self.image_size)
        except (TypeError, ValueError):
            raise CalibrationError(f"rig: image_size must be (width, height), got {self.image_size!r}") from None
        if w < 0 or h < 0 or (w == 0) != (h == 0):
            raise CalibrationError(f"rig: image size must be positive (or 0x0 = unknown), got {w}x{h}")
        self.image_size = (w, h)
        for name in ("K1", "K2", "R", "R1", "R2"):
            setattr(self, name, _mat(getattr(self, name), (3, 3), name))
        for name in ("P1", "P2"):
            setattr(self, name, _mat(getattr(self, name), (3, 4), name))
        self.Q = _mat(self.Q, (4, 4), "Q")
        self.T = _mat(self.T, (3,), "T")
        self.D1 = _dist(self.D1, "D1")
        self.D2 = _dist(self.D2, "D2")
        self._check_plausible()  # before E and F: a singular K would fail inside inv()
        if self.E is None or self.F is None:
            self.E, self.F = essential_fundamental(self.K1, self.K2, self.R, self.T)
        self.E = _mat(self.E, (3, 3), "E")
        self.F = _mat(self.F, (3, 3), "F")
        self.roi1, self.roi2 = _roi(self.roi1), _roi(self.roi2)
        if self.K1[0, 0] <= 0 or self.K2[0, 0] <= 0:
            raise CalibrationError("rig: camera matrices must have a positive focal length")

    def _check_plausible(self) -> None:
        """Reject rigs that would give silent nonsense (see :mod:`calib.checks`)."""
        from .checks import (FOCAL_PX_RANGE, check_baseline_m, check_intrinsics, check_rotation, in_range,
                             number, vector_norm)
        check_intrinsics(self.K1, "K1 (left camera matrix)", "rig")
        check_intrinsics(self.K2, "K2 (right camera matrix)", "rig")
        for name in ("R", "R1", "R2"):
            check_rotation(getattr(self, name), name, "rig")
        check_baseline_m(vector_norm(self.T), "|T| (baseline)", "rig")
        for name in ("P1", "P2"):
            P = getattr(self, name)
            in_range(float(P[0, 0]), f"{name} fx", *FOCAL_PX_RANGE, "px", "rig")
            in_range(float(P[1, 1]), f"{name} fy", *FOCAL_PX_RANGE, "px", "rig")
        for name in ("rms", "alpha"):
            v = getattr(self, name)
            if v is not None:
                number(v, name, "rig")

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def from_extrinsics(cls, image_size, K1, D1, K2, D2, R, T, *, alpha: float = 0.0,
                        **kwargs) -> "StereoRig":
        """Build a rig and compute its rectification with ``cv2.stereoRectify``.

        ``T`` in metres. ``alpha`` in [0, 1] (or -1 for OpenCV's default scaling); 0 keeps
        only valid pixels (no black borders), which suits matching.
        """
        from .checks import check_baseline_m, check_intrinsics, check_rotation, number, vector_norm, whole
        w, h = (whole(v, "image size", "rig") for v in image_size)
        if w <= 0 or h <= 0:
            raise CalibrationError(f"rectification needs the image size, got {w}x{h}")
        K1, K2, R = (_mat(m, (3, 3), n) for m, n in ((K1, "K1"), (K2, "K2"), (R, "R")))
        T = _mat(T, (3,), "T")
        D1, D2 = _dist(D1, "D1"), _dist(D2, "D2")
        # Checked before OpenCV sees them: a singular K or a zero T makes stereoRectify
        # return NaNs or fail deep inside.
        check_intrinsics(K1, "K1 (left camera matrix)", "rig")
        check_intrinsics(K2, "K2 (right camera matrix)", "rig")
        check_rotation(R, "R", "rig")
        check_baseline_m(vector_norm(T), "|T| (baseline)", "rig")
        alpha = number(alpha, "rectification alpha", "rig")
        try:
            R1, R2, P1, P2, Q, roi1, roi2 = cv2.stereoRectify(
                K1, D1, K2, D2, (w, h), R, T.reshape(3, 1), flags=cv2.CALIB_ZERO_DISPARITY,
                alpha=float(alpha))
        except cv2.error as exc:
            raise CalibrationError(f"rectification failed: {str(exc).strip().splitlines()[-1]}") from None
        return cls((w, h), K1, D1, K2, D2, R, T, R1, R2, P1, P2, Q, roi1, roi2, float(alpha), **kwargs)

    def with_alpha(self, alpha: float) -> "StereoRig":
        """The same rig rectified with another free-scaling ``alpha``."""
        keep = {k: getattr(self, k) for k in ("E", "F", "rms", "per_view_errors", "rejected_views", "info")}
        return StereoRig.from_extrinsics(self.image_size, self.K1, self.D1, self.K2, self.D2,
                                         self.R, self.T, alpha=alpha, **keep)

    # ---- derived ------------------------------------------------------------------------------
    @property
    def baseline_m(self) -> float:
        """Distance between the optical centres, metres."""
        return float(np.linalg.norm(self.T))

    @property
    def width(self) -> int:
        return self.image_size[0]

    @property
    def height(self) -> int:
        return self.image_size[1]

    def rectified(self) -> StereoCalibration:
        """The rectified-pair model (pinhole, no distortion) that matching and depth use."""
        if abs(self.P2[1, 3]) > abs(self.P2[0, 3]):
            raise CalibrationError(
                "the rig is vertical (cameras one above the other); only horizontal rigs are supported")
        return StereoCalibration.from_projections(self.P1, self.P2, self.image_size, unit="m")

    # ---- YAML ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain-Python description with explicit units, as written to YAML."""
        def m(a):
            return np.asarray(a, dtype=np.float64).tolist()

        cam = lambda K, D: {"K_px": m(K), "distortion": m(np.ravel(D)),  # noqa: E731
                            "distortion_model": "opencv"}
        return {
            "type": RIG_TYPE,
            "version": RIG_VERSION,
            "units": {"T": "m", "P1_P2_translation": "m", "Q_output": "m", "K": "px",
                      "errors": "px", "roi": "px [x, y, width, height]"},
            "image_width_px": self.width,
            "image_height_px": self.height,
            "left": cam(self.K1, self.D1),
            "right": cam(self.K2, self.D2),
            "extrinsics": {"convention": "X_right = R @ X_left + T", "R": m(self.R),
                           "T_m": m(self.T), "baseline_m": self.baseline_m,
                           "E": m(self.E), "F": m(self.F)},
            "quality": {"rms_px": None if self.rms is None else float(self.rms),
                        "per_view_errors_px": [dict(v) for v in self.per_view_errors],
                        "rejected_views": [dict(v) for v in self.rejected_views]},
            "rectification": {"alpha": None if self.alpha is None else float(self.alpha),
                              "R1": m(self.R1), "R2": m(self.R2), "P1": m(self.P1), "P2": m(self.P2),
                              "Q": m(self.Q),
                              "roi_left": None if self.roi1 is None else list(self.roi1),
                              "roi_right": None if self.roi2 is None else list(self.roi2)},
            "info": _plain(self.info),
        }

    @classmethod
    def from_dict(cls, d: dict, source: str = "rig") -> "StereoRig":
        """Inverse of :meth:`to_dict`; errors name ``source`` and the missing key.

        Every malformed value gives a :class:`CalibrationError` naming ``source``.
        """
        try:
            return cls._from_dict(d, source)
        except (TypeError, ValueError, OverflowError, AttributeError, np.linalg.LinAlgError) as exc:
            if isinstance(exc, CalibrationError):
                raise
            raise CalibrationError(f"{source}: malformed rig ({type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0][:100] if str(exc) else ''})") from None

    @classmethod
    def _from_dict(cls, d: dict, source: str) -> "StereoRig":
        if not isinstance(d, dict):
            raise CalibrationError(f"{source}: expected a mapping, got {type(d).__name__}")

        def get(mapping, key, where):
            if not isinstance(mapping, dict) or key not in mapping:
                raise CalibrationError(f"{source}: missing key '{where}{key}'")
            return mapping[key]

        for section in ("units", "quality", "rectification", "info", "left", "right", "extrinsics"):
            if d.get(section) is not None and not isinstance(d.get(section), dict):
                raise CalibrationError(f"{source}: '{section}' must be a mapping, got "
                                       f"{type(d.get(section)).__name__}")
        units = d.get("units") or {}
        if units.get("T", "m") != "m":
            raise CalibrationError(f"{source}: T must be stored in metres (units.T: m), got {units.get('T')!r}")
        left, right = get(d, "left", ""), get(d, "right", "")
        ext = get(d, "extrinsics", "")
        size = (get(d, "image_width_px", ""), get(d, "image_height_px", ""))
        K1, D1 = get(left, "K_px", "left."), get(left, "distortion", "left.")
        K2, D2 = get(right, "K_px", "right."), get(right, "distortion", "right.")
        R, T = get(ext, "R", "extrinsics."), get(ext, "T_m", "extrinsics.")
        quality = d.get("quality") or {}
        common = dict(E=ext.get("E"), F=ext.get("F"), rms=quality.get("rms_px"),
                      per_view_errors=list(quality.get("per_view_errors_px") or []),
                      rejected_views=list(quality.get("rejected_views") or []),
                      info=dict(d.get("info") or {}))
        for key in ("per_view_errors", "rejected_views"):
            if not all(isinstance(v, dict) for v in common[key]):
                raise CalibrationError(f"{source}: quality.{key}_px entries must be mappings")
        rect = d.get("rectification")
        try:
            if not rect or any(rect.get(k) is None for k in ("R1", "R2", "P1", "P2", "Q")):
                return cls.from_extrinsics(size, K1, D1, K2, D2, R, T,
                                           alpha=(rect or {}).get("alpha") or 0.0, **common)
            return cls(size, K1, D1, K2, D2, R, T, rect["R1"], rect["R2"], rect["P1"], rect["P2"],
                       rect["Q"], rect.get("roi_left"), rect.get("roi_right"), rect.get("alpha"), **common)
        except CalibrationError as exc:
            msg = str(exc)
            raise CalibrationError(msg if msg.startswith(source) else f"{source}: {msg}") from None

    def save(self, path) -> None:
        """Write the rig YAML to ``path`` atomically."""
        from stereo.io.atomic import atomic_path
        path = Path(path)
        if path.parent and not path.parent.exists():
            raise FileFormatError(f"{path}: output folder {path.parent} does not exist", str(path))
        text = "# Stereo rig calibration (stereodepth). Lengths in metres, pixel quantities in px.\n"
        text += yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=120)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text)

    @classmethod
    def load(cls, path) -> "StereoRig":
        """Read a rig YAML written by :meth:`save`."""
        from .safe_yaml import load_yaml_file  # bounded: no aliases, depth and size limits

        path = Path(path)
        d = load_yaml_file(path)
        if not isinstance(d, dict) or d.get("type") != RIG_TYPE:
            raise CalibrationError(f"{path}: not a stereo rig file (missing 'type: {RIG_TYPE}')")
        return cls.from_dict(d, source=str(path))

    def replace(self, **changes) -> "StereoRig":
        return replace(self, **changes)


def essential_fundamental(K1, K2, R, T) -> tuple[np.ndarray, np.ndarray]:
    """E = [T]x R and F = K2^-T E K1^-1 (F normalised to ||F|| = 1)."""
    t = np.asarray(T, np.float64).ravel()
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    E = tx @ np.asarray(R, np.float64)
    F = np.linalg.inv(np.asarray(K2, np.float64)).T @ E @ np.linalg.inv(np.asarray(K1, np.float64))
    n = np.linalg.norm(F)
    return E, (F / n if n > 0 else F)


def _plain(obj):
    """Convert numpy scalars/arrays inside ``obj`` to plain Python for YAML."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


__all__ = ["StereoRig", "essential_fundamental", "RIG_TYPE"]
