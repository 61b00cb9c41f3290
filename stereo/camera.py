"""The camera-level object a robot node holds: raw pair in, metric depth out.

``StereoCamera`` is configured once from a calibration (any format ``stereo match --calib``
accepts) and a depth range; it builds the rectification maps and the matcher once, then
:meth:`StereoCamera.process` turns each raw pair into a :class:`StereoFrame`::

    cam = StereoCamera.from_file("rig.yaml", near="0.3m", far="20m")
    frame = cam.process(left_raw, right_raw)
    frame.depth            # float32 (H, W) metres, NaN invalid
    frame.timings_ms       # {"rectify": .., "match": .., "depth": .., "total": ..}

Stages: rectify (two ``cv2.remap`` with cached maps; skipped for an already rectified
calibration such as Middlebury's or KITTI's) -> match (the configured matcher) -> the
rectification's invalid region and, by default, the near-range probe
(:mod:`stereo.range_check`) -> depth ``Z = f * B / (d + doffs)``.
``stereo match`` and :func:`stereo.pipeline.match_pair` use this same object.

Conventions: left = reference, disparity ``d = x_left - x_right`` float32 pixels, NaN =
invalid; depth and points in metres in the LEFT RECTIFIED camera frame (x right, y down,
z forward). Thread safety: a camera may be shared by threads (see
:mod:`stereo.concurrency`); its only mutable state (the matcher when the range waits for the
image width, the rectification's valid region) is filled once, under a lock.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from . import flags
from .concurrency import parallel_section
from .errors import InputError, ParameterError
from .result import MatchResult
from .validation import check_pair


@dataclass
class StereoFrame:
    """The result of one :meth:`StereoCamera.process` call.

    Attributes:
        rectified_left, rectified_right: the rectified pair as matched (input dtype/channels).
        match: the matcher's :class:`MatchResult` (disparity px, ``mask`` flags, confidence).
        depth: float32 (H, W) metres, NaN invalid; None without a calibration.
        calibration: the rectified model (``calib.StereoCalibration``) or None.
        timings_ms: milliseconds per stage: "rectify", "match" (incl. the range probe),
            "depth" and "total".
        notes: human-readable remarks (e.g. the near-range warning).
        stamp: the caller's timestamp, seconds (passed through).
        advice: when almost every pixel is invalid (density < 5 %), why and what to change.
    """

    rectified_left: np.ndarray
    rectified_right: np.ndarray
    match: MatchResult
    depth: np.ndarray | None
    calibration: object | None
    timings_ms: dict
    notes: tuple = ()
    stamp: float | None = None
    advice: tuple = ()
    _points: np.ndarray | None = field(default=None, repr=False)

    @property
    def disparity(self) -> np.ndarray:
        """float32 (H, W) disparity, pixels, NaN invalid."""
        return self.match.disparity

    @property
    def confidence(self) -> np.ndarray | None:
        """float32 (H, W) in [0, 1], 0 where invalid."""
        return self.match.confidence

    @property
    def mask(self) -> np.ndarray:
        """uint8 (H, W) invalid-reason flags (:mod:`stereo.flags`), 0 = valid."""
        return self.match.mask

    @property
    def valid(self) -> np.ndarray:
        """bool (H, W): a finite disparity (and depth, when calibrated) inside the
        rectification's valid region."""
        ok = np.isfinite(self.match.disparity) & ((self.match.mask & flags.INVALID) == 0)
        if self.depth is not None:
            ok &= np.isfinite(self.depth)
        return ok

    @property
    def K(self) -> np.ndarray | None:
        """3x3 intrinsics of the left rectified image (pixels), or None."""
        return None if self.calibration is None else self.calibration.K_left

    @property
    def baseline_m(self) -> float | None:
        return None if self.calibration is None else self.calibration.baseline_m

    @property
    def points(self) -> np.ndarray:
        """float32 (H, W, 3) points in metres, left rectified camera frame; NaN invalid.

        Computed on first access (not part of ``timings_ms``).
        """
        if self.calibration is None:
            raise InputError("points need a calibration (this camera is disparity-only)")
        if self._points is None:
            c = self.calibration
            h, w = self.depth.shape
            z = self.depth
            xs = (np.arange(w, dtype=np.float32) - np.float32(c.cx_left)) / np.float32(c.focal_px)
            ys = (np.arange(h, dtype=np.float32) - np.float32(c.cy)) / np.float32(c.focal_y_px)
            pts = np.empty((h, w, 3), np.float32)
            pts[..., 0] = z * xs[None, :]
            pts[..., 1] = z * ys[:, None]
            pts[..., 2] = z
            self._points = pts
        return self._points


def _metres(value, name):
    """A depth given as metres (number) or a length with unit ("0.3m", "30cm", "inf")."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() in ("inf", "infinity"):
            return math.inf
        from calib.units import parse_length
        try:
            return parse_length(value)
        except ValueError as exc:
            raise ParameterError(f"{name}: {exc}") from None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be metres or a length such as '0.3m', got {value!r}") from None
    return v


class StereoCamera:
    """A calibrated stereo camera: raw pairs in, disparity, depth and points out.

    Args:
        calibration: a ``calib.StereoRig`` (raw images; rectified here), a rectified
            ``calib.StereoCalibration`` (images already rectified), or None
            (disparity only; images already rectified).
        near, far: depth range to search, metres or lengths ("0.3m", "20m", "inf").
            Alternative: ``min_disparity``/``num_disparities`` in pixels. Neither: the
            calibration's hint (Middlebury ndisp) or 64 disparities from 0.
        method: "sgbm" (default) or "bm".
        block_size: bm block size / sgbm census window (odd).
        range_check: probe beyond the near edge every frame (see :mod:`stereo.range_check`):
            pixels nearer than the range become invalid (``OUT_OF_RANGE``) instead of
            aliasing to a wrong depth, and a note says how near the scene is. About a
            quarter of the match's time; False disables.
        matcher_factory: replaces :func:`stereo.pipeline.make_matcher` (same arguments), so
            a long-lived worker can keep its matchers between cameras.
        **params: further matcher parameters (``fill=True``, ``p2=...``); ``threads=N`` sets
            Numba's thread count for this camera's calls (any method; see README "Threads").

    Attributes (after construction): ``rig`` (or None), ``calibration`` (rectified),
    ``matcher``, ``min_disparity``, ``num_disparities``, ``range_source``,
    ``depth_range_m`` ((near, far) metres the searched range covers; None uncalibrated)
    and ``range_description`` (one line for people).
    """

    def __init__(self, calibration=None, *, near=None, far=None, min_disparity=None,
                 num_disparities=None, method: str = "sgbm", block_size=None,
                 range_check: bool = True, range_note: str | None = None, matcher_factory=None,
                 **params):
        from calib.model import StereoCalibration
        from calib.rig import StereoRig

        if calibration is not None and not isinstance(calibration, (StereoRig, StereoCalibration)):
            raise ParameterError(f"calibration must be a calib.StereoRig, a calib.StereoCalibration or "
                                 f"None, got {type(calibration).__name__}")
        if not isinstance(range_check, (bool, np.bool_)):
            raise ParameterError(f"range_check must be True or False, got {range_check!r}")
        self.rig = calibration if isinstance(calibration, StereoRig) else None
        self.calibration = calibration.rectified() if self.rig is not None else calibration
        self.method = method
        self.range_check = bool(range_check)
        self._near = _metres(near, "near")
        self._far = _metres(far, "far")
        self._range_args = dict(min_disparity=min_disparity, num_disparities=num_disparities)
        self._block_size = block_size
        self.threads = params.pop("threads", None)
        if self.threads is not None:  # applied around match + probe, so it works for bm too
            import numba

            from .validation import check_int
            check_int(self.threads, "threads", minimum=1, maximum=numba.config.NUMBA_NUM_THREADS)
        self._params = params
        self._range_note = range_note
        self._matcher_factory = matcher_factory
        self._rectifier = None
        if self.rig is not None:
            from calib.rectify import Rectifier
            self._rectifier = Rectifier(self.rig)
        self._valid_region = None
        self._lock = threading.Lock()
        self.matcher = None
        self._probe = None
        width = self.calibration.width if self.calibration is not None else 0
        if width or num_disparities is not None:
            self._build(width or 1 << 30)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_file(cls, path, **kwargs) -> "StereoCamera":
        """Read a calibration file (any format ``stereo match --calib`` accepts) and build a camera."""
        from calib.formats import load_calibration
        return cls(load_calibration(path), **kwargs)

    @classmethod
    def from_calibration(cls, calibration, **kwargs) -> "StereoCamera":
        """Build a camera from a ``StereoRig`` or a rectified ``StereoCalibration``."""
        return cls(calibration, **kwargs)

    def _build(self, width: int) -> None:
        from .pipeline import choose_range, make_matcher
        lo, n, source = choose_range(width, self.calibration, near_m=self._near, far_m=self._far,
                                     **self._range_args)
        factory = self._matcher_factory or make_matcher
        matcher = factory(self.method, lo, n, self._block_size, **dict(self._params))
        self.min_disparity, self.num_disparities = lo, n
        self.range_source = self._range_note or source
        self.depth_range_m = None
        if self.calibration is not None:
            from .depth_budget import depth_limits
            try:
                self.depth_range_m = depth_limits(self.calibration, lo, n)
            except ParameterError:
                self.depth_range_m = None
        from .depth_budget import describe_range
        self.range_description = describe_range(self.calibration, lo, n, self.range_source)
        if self.range_check:
            from .range_check import _probe_matcher
            self._probe = _probe_matcher(lo, n)
        self.matcher = matcher

    # ---- per frame ----------------------------------------------------------------------
    def process(self, left, right, stamp: float | None = None) -> StereoFrame:
        """Rectify (when the calibration is a raw rig), match and triangulate one pair.

        Args:
            left, right: raw images (rectified ones for a rectified calibration or None),
                grey or BGR colour, uint8/uint16/float, same size and type; not modified.
            stamp: optional timestamp, seconds, copied to the frame.

        Raises:
            InputError: bad images, or a size other than the calibration's.
        """
        t0 = time.perf_counter()
        left, right = check_pair(left, right)
        if self.rig is not None or (self.calibration is not None and self.calibration.width):
            # before any work: a 2223x1500 pair with a 741x500 calibration must fail at once
            from .diagnose import check_calibration_size
            check_calibration_size(left.shape[1], left.shape[0], self.rig or self.calibration)
        if self._rectifier is not None:
            left, right = self._rectifier.rectify_pair(left, right)
            if self._valid_region is None:
                with self._lock:
                    if self._valid_region is None:
                        self._valid_region = self._rectifier.valid_mask()
        if self.matcher is None:
            with self._lock:
                if self.matcher is None:
                    self._build(left.shape[1])
        from .diagnose import check_matcher_memory
        check_matcher_memory(self.matcher, left.shape[0], left.shape[1])   # refuse before allocating
        t1 = time.perf_counter()
        with parallel_section(self.threads):
            result, notes = self._match(left, right)
        t2 = time.perf_counter()
        depth = None
        if self.calibration is not None:
            from .triangulation import depth_from_disparity
            depth = depth_from_disparity(result.disparity, self.calibration)
        t3 = time.perf_counter()
        ms = lambda a, b: 1000.0 * (b - a)  # noqa: E731
        timings = {"rectify": ms(t0, t1), "match": ms(t1, t2), "depth": ms(t2, t3), "total": ms(t0, t3)}
        advice = ()
        from .diagnose import LOW_DENSITY, low_density_advice
        if result.density < LOW_DENSITY:
            from .validation import pair_to_gray
            advice = tuple(low_density_advice(result, *pair_to_gray(left, right)))
        return StereoFrame(rectified_left=left, rectified_right=right, match=result, depth=depth,
                           calibration=self.calibration, timings_ms=timings, notes=notes, stamp=stamp,
                           advice=advice)

    def _match(self, left, right):
        result = self.matcher.match(left, right)
        region = self._valid_region
        if region is not None:
            outside = ~region
            result.disparity[outside] = np.nan
            result.mask[outside] |= flags.OUTSIDE_VALID_REGION
            if result.confidence is not None:
                result.confidence[outside] = 0.0
        notes = ()
        if self._probe is not None:
            from .range_check import invalidate_beyond, probe_beyond_near_edge
            check = probe_beyond_near_edge(left, right, self.min_disparity, self.num_disparities,
                                           calibration=self.calibration, valid_region=region,
                                           matcher=self._probe)
            invalidate_beyond(result, check)
            if check.message:
                notes = (check.message,)
        return result, notes

    def __repr__(self):
        rng = (f"[{self.min_disparity}, {self.min_disparity + self.num_disparities - 1}] px"
               if self.matcher is not None else "range on first frame")
        return f"StereoCamera(method={self.method!r}, {rng}, rectify={self._rectifier is not None})"


__all__ = ["StereoCamera", "StereoFrame"]
