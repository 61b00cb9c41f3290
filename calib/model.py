"""The model of a rectified stereo pair: everything needed to turn disparity into depth.

Conventions: the left camera is the reference; images are rectified so that epipolar
lines are rows; disparity ``d = x_left - x_right`` in pixels; depth
``Z = f * B / (d + doffs)`` with ``doffs = cx_right - cx_left`` (Middlebury's meaning).
The baseline is stored in the unit it was given in (``baseline_unit``); ``baseline_m``
converts it to metres, which is what depth functions use.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from stereo.errors import CalibrationError

UNIT_TO_METRES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254}


def _finite(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise CalibrationError(f"{name} must be a number, got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        raise CalibrationError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(value):
        raise CalibrationError(f"{name} must be finite, got {value}")
    return value


@dataclass(frozen=True)
class StereoCalibration:
    """A rectified stereo pair (pinhole, no distortion), pixels and explicit length units.

    Attributes:
        focal_px: focal length fx of the rectified cameras, pixels.
        cx_left, cx_right: principal point x of each rectified camera, pixels.
        cy: principal point y (shared by both rectified cameras), pixels.
        baseline: distance between the optical centres, in ``baseline_unit`` (> 0).
        baseline_unit: one of "m", "cm", "mm", "in".
        width, height: image size in pixels (0 when unknown).
        focal_y_px: fy, pixels (defaults to ``focal_px``).
        ndisp, vmin, vmax: optional disparity hints (Middlebury ``calib.txt``).
        extra: any further key/value pairs read from a file, kept for round trips.
    """

    focal_px: float
    cx_left: float
    cx_right: float
    cy: float
    baseline: float
    baseline_unit: str = "m"
    width: int = 0
    height: int = 0
    focal_y_px: float | None = None
    ndisp: int | None = None
    vmin: float | None = None
    vmax: float | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        from .checks import (FOCAL_PX_RANGE, MAX_PRINCIPAL_POINT_PX, check_baseline_m, in_range,
                             whole)

        for name in ("focal_px", "cx_left", "cx_right", "cy", "baseline"):
            object.__setattr__(self, name, _finite(getattr(self, name), name))
        if self.focal_px <= 0:
            raise CalibrationError(f"focal_px must be > 0, got {self.focal_px}")
        if self.baseline <= 0:
            raise CalibrationError(
                f"baseline must be > 0 (left camera is the reference), got {self.baseline}")
        if not isinstance(self.baseline_unit, str) or self.baseline_unit not in UNIT_TO_METRES:
            raise CalibrationError(
                f"baseline_unit must be one of {sorted(UNIT_TO_METRES)}, got {self.baseline_unit!r}")
        if self.focal_y_px is None:
            object.__setattr__(self, "focal_y_px", self.focal_px)
        object.__setattr__(self, "focal_y_px", _finite(self.focal_y_px, "focal_y_px"))
        for name in ("width", "height"):
            object.__setattr__(self, name, whole(getattr(self, name), name, "calibration"))
        # Plausibility: values that would otherwise give silent nonsense depth.
        in_range(self.focal_px, "focal_px", *FOCAL_PX_RANGE, "px")
        in_range(self.focal_y_px, "focal_y_px", *FOCAL_PX_RANGE, "px")
        if not 0.1 <= self.focal_y_px / self.focal_px <= 10:
            raise CalibrationError(f"focal_y_px {self.focal_y_px:g} and focal_px {self.focal_px:g} "
                                   f"differ more than 10x")
        check_baseline_m(self.baseline * UNIT_TO_METRES[self.baseline_unit])
        for name in ("cx_left", "cx_right", "cy"):
            v = getattr(self, name)
            if abs(v) > MAX_PRINCIPAL_POINT_PX:
                raise CalibrationError(f"{name} = {v:g} px is implausible (expected |{name}| <= "
                                       f"{MAX_PRINCIPAL_POINT_PX:g} px)")
        if self.ndisp is not None:
            object.__setattr__(self, "ndisp", whole(self.ndisp, "ndisp", "calibration", maximum=100_000))
        for name in ("vmin", "vmax"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _finite(getattr(self, name), name))
        if self.vmin is not None and self.vmax is not None and self.vmin > self.vmax:
            raise CalibrationError(f"vmin ({self.vmin:g}) must be <= vmax ({self.vmax:g})")
        if not isinstance(self.extra, dict):
            raise CalibrationError(f"extra must be a mapping, got {type(self.extra).__name__}")

    # ---- derived quantities -------------------------------------------------------------
    @property
    def doffs(self) -> float:
        """x-difference of the principal points, ``cx_right - cx_left``, pixels."""
        return self.cx_right - self.cx_left

    @property
    def baseline_m(self) -> float:
        """Baseline in metres."""
        return self.baseline * UNIT_TO_METRES[self.baseline_unit]

    @property
    def image_size(self) -> tuple[int, int]:
        """(width, height) in pixels, OpenCV's order."""
        return (self.width, self.height)

    @property
    def K_left(self) -> np.ndarray:
        """3x3 intrinsics of the rectified left camera."""
        return np.array([[self.focal_px, 0, self.cx_left], [0, self.focal_y_px, self.cy], [0, 0, 1]])

    @property
    def K_right(self) -> np.ndarray:
        """3x3 intrinsics of the rectified right camera."""
        return np.array([[self.focal_px, 0, self.cx_right], [0, self.focal_y_px, self.cy], [0, 0, 1]])

    @property
    def P1(self) -> np.ndarray:
        """3x4 projection of the rectified left camera (OpenCV's P1), metres."""
        return np.hstack([self.K_left, np.zeros((3, 1))])

    @property
    def P2(self) -> np.ndarray:
        """3x4 projection of the rectified right camera (OpenCV's P2): P2[0,3] = -f*B, metres."""
        p = np.hstack([self.K_right, np.zeros((3, 1))])
        p[0, 3] = -self.focal_px * self.baseline_m
        return p

    @property
    def Q(self) -> np.ndarray:
        """4x4 disparity-to-depth matrix (OpenCV's convention), giving X, Y, Z in metres.

        ``[X Y Z W]^T = Q [x y d 1]^T``; with Tx = -B this is OpenCV's stereoRectify Q,
        so ``Z = f*B / (d + doffs)``.
        """
        f, b = self.focal_px, self.baseline_m
        return np.array([
            [1.0, 0.0, 0.0, -self.cx_left],
            [0.0, self.focal_px / self.focal_y_px, 0.0, -self.cy * self.focal_px / self.focal_y_px],
            [0.0, 0.0, 0.0, f],
            [0.0, 0.0, 1.0 / b, self.doffs / b],
        ])

    def search_range(self) -> tuple[int, int] | None:
        """Disparity search range ``(min_disparity, num_disparities)`` from the ndisp hint.

        Middlebury's ``ndisp`` bounds disparities from 0: the range is [0, ndisp). A file
        with a negative ``vmin`` (our negative-disparity sample) counts ndisp from
        ``floor(vmin)``, widened by 2 px because vmin is the tight bound and a match on the
        range edge is invalid. None when the file gives no ndisp.
        """
        if not self.ndisp:
            return None
        if self.vmin is not None and self.vmin < 0:
            margin = 2
            return int(np.floor(self.vmin)) - margin, int(self.ndisp) + margin
        return 0, int(self.ndisp)

    def scaled(self, factor: float) -> "StereoCalibration":
        """The model for images resized by ``factor`` (pixel quantities scale, baseline not)."""
        factor = _finite(factor, "factor")
        if factor <= 0:
            raise CalibrationError(f"scale factor must be > 0, got {factor}")
        return replace(
            self, focal_px=self.focal_px * factor, focal_y_px=self.focal_y_px * factor,
            cx_left=self.cx_left * factor, cx_right=self.cx_right * factor, cy=self.cy * factor,
            width=int(round(self.width * factor)), height=int(round(self.height * factor)),
            ndisp=None if self.ndisp is None else int(np.ceil(self.ndisp * factor)),
            vmin=None if self.vmin is None else self.vmin * factor,
            vmax=None if self.vmax is None else self.vmax * factor)

    # ---- constructors ---------------------------------------------------------------------
    @classmethod
    def from_Q(cls, Q, image_size: tuple[int, int] = (0, 0), unit: str = "m") -> "StereoCalibration":
        """Build from an OpenCV 4x4 Q matrix (as from ``cv2.stereoRectify``).

        ``unit`` is the length unit of the translation that produced Q (OpenCV keeps the
        unit of the calibration target); ``image_size`` is (width, height).
        """
        Q = np.asarray(Q, dtype=np.float64)
        if Q.shape != (4, 4) or not np.all(np.isfinite(Q)):
            raise CalibrationError(f"Q must be a finite 4x4 matrix, got shape {Q.shape}")
        f = Q[2, 3]
        if Q[3, 2] == 0 or f == 0:
            raise CalibrationError("Q has a zero focal length or zero 1/Tx term: not a stereo Q matrix")
        # OpenCV: Q[3,2] = -1/Tx with Tx = -B for a left-reference rig.
        baseline = 1.0 / Q[3, 2]
        if baseline < 0:
            raise CalibrationError(
                "Q implies a negative baseline: the right camera is to the left (swap the images?)")
        cx_left, cy = -Q[0, 3], -Q[1, 3]
        doffs = Q[3, 3] * baseline
        return cls(focal_px=abs(f), cx_left=cx_left, cx_right=cx_left + doffs, cy=cy,
                   baseline=baseline, baseline_unit=unit,
                   width=int(image_size[0]), height=int(image_size[1]))

    @classmethod
    def from_projections(cls, P1, P2, image_size: tuple[int, int] = (0, 0),
                         unit: str = "m") -> "StereoCalibration":
        """Build from the rectified 3x4 projections P1 (left) and P2 (right).

        The baseline is ``-P2[0,3] / P2[0,0]`` in the unit of the translation (``unit``).
        """
        P1 = np.asarray(P1, dtype=np.float64)
        P2 = np.asarray(P2, dtype=np.float64)
        if P1.shape != (3, 4) or P2.shape != (3, 4):
            raise CalibrationError(f"P1 and P2 must be 3x4, got {P1.shape} and {P2.shape}")
        if not (np.all(np.isfinite(P1)) and np.all(np.isfinite(P2))):
            raise CalibrationError("P1 or P2 contains NaN or inf")
        f = P1[0, 0]
        if f <= 0 or P2[0, 0] <= 0:
            raise CalibrationError("P1/P2 have a non-positive focal length")
        if not np.isclose(P1[0, 0], P2[0, 0], rtol=1e-6) or not np.isclose(P1[1, 2], P2[1, 2], atol=1e-6):
            raise CalibrationError("P1 and P2 are not a rectified pair (different f or cy)")
        baseline = -P2[0, 3] / P2[0, 0] + P1[0, 3] / P1[0, 0]
        if baseline <= 0:
            raise CalibrationError(
                "P2[0,3] must be negative (-f*B) for a left-reference rig; got a non-positive baseline")
        return cls(focal_px=f, cx_left=P1[0, 2], cx_right=P2[0, 2], cy=P1[1, 2],
                   focal_y_px=P1[1, 1], baseline=baseline, baseline_unit=unit,
                   width=int(image_size[0]), height=int(image_size[1]))

    # ---- YAML -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain-Python description (units named), as written to YAML."""
        d = {
            "type": "rectified_stereo",
            "focal_px": self.focal_px,
            "focal_y_px": self.focal_y_px,
            "cx_left_px": self.cx_left,
            "cx_right_px": self.cx_right,
            "cy_px": self.cy,
            "baseline": self.baseline,
            "baseline_unit": self.baseline_unit,
            "image_width_px": self.width,
            "image_height_px": self.height,
        }
        for key in ("ndisp", "vmin", "vmax"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.extra:
            d["extra"] = dict(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "calibration") -> "StereoCalibration":
        """Inverse of :meth:`to_dict`; errors name ``source`` and the missing key."""
        if not isinstance(d, dict):
            raise CalibrationError(f"{source}: expected a mapping, got {type(d).__name__}")
        required = ("focal_px", "cx_left_px", "cx_right_px", "cy_px", "baseline", "baseline_unit")
        missing = [k for k in required if k not in d]
        if missing:
            raise CalibrationError(f"{source}: missing key(s) {', '.join(missing)}")
        extra = d.get("extra") or {}
        if not isinstance(extra, dict):
            raise CalibrationError(f"{source}: extra must be a mapping, got {type(extra).__name__}")
        try:
            return cls(focal_px=d["focal_px"], focal_y_px=d.get("focal_y_px"), cx_left=d["cx_left_px"],
                       cx_right=d["cx_right_px"], cy=d["cy_px"], baseline=d["baseline"],
                       baseline_unit=d["baseline_unit"], width=d.get("image_width_px", 0),
                       height=d.get("image_height_px", 0), ndisp=d.get("ndisp"), vmin=d.get("vmin"),
                       vmax=d.get("vmax"), extra=dict(extra))
        except CalibrationError as exc:
            raise CalibrationError(f"{source}: {exc}") from None
