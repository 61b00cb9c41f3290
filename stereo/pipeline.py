"""One stereo pair in, disparity and (when calibrated) metric depth out.

This is the orchestration shared by ``stereo match`` and ``stereo demo``: rectify a raw
pair when given a full rig, choose the disparity search range, run a matcher, and turn
disparity into depth and points. Matchers, rectification and triangulation each live in
their own module; this file only decides which to call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ParameterError
from .result import MatchResult
from .validation import check_pair

METHODS = ("bm", "sgbm")
DEFAULT_NUM_DISPARITIES = 64


@dataclass
class PairResult:
    """Everything ``match_pair`` produced.

    ``calibration`` is the rectified model used for depth (None in disparity-only mode).
    ``depth`` is metres (NaN invalid) when calibrated, else None. ``relative_inverse_depth``
    is set in disparity-only mode: disparity normalised to [0, 1], known only up to scale
    and shift (NOT metric). ``left_image`` is the (rectified) left view, for point colours.
    """

    match: MatchResult
    left_image: np.ndarray
    calibration: object | None
    depth: np.ndarray | None
    relative_inverse_depth: np.ndarray | None
    range_source: str
    notes: tuple = ()
    range_description: str = ""
    advice: tuple = ()  # why almost every pixel is invalid and what to change (stereo.diagnose)

    @property
    def metric(self) -> bool:
        return self.depth is not None


def make_matcher(method: str, min_disparity: int, num_disparities: int, block_size: int | None = None,
                 **params):
    """Build the matcher named ``method`` ("bm" or "sgbm") for the given range."""
    if method == "bm":
        from .block_matcher import BlockMatcher
        if block_size is not None:
            params["block_size"] = block_size
        return BlockMatcher(min_disparity=min_disparity, num_disparities=num_disparities, **params)
    if method == "sgbm":
        from .sgbm import SGBM
        if block_size is not None:
            params["census_window"] = _census_window_for(block_size)
        return SGBM(min_disparity=min_disparity, num_disparities=num_disparities, **params)
    raise ParameterError(f"method must be one of {', '.join(METHODS)}; got {method!r}")


def _census_window_for(block_size: int):
    # --block-size for SGBM sets the census window (square, odd, at most 9x7 for 64-bit codes).
    if block_size < 3 or block_size % 2 == 0 or block_size > 7:
        raise ParameterError(f"--block-size for sgbm sets the census window: an odd size 3..7, got {block_size}")
    return (block_size, block_size)


def choose_range(width: int, calibration=None, *, min_disparity=None, num_disparities=None,
                 near_m=None, far_m=None) -> tuple[int, int, str]:
    """Decide the search range and say where it came from.

    Priority: explicit numbers; then near/far depths through the calibration; then a
    Middlebury ``ndisp`` hint (``StereoCalibration.search_range``); then a default of 64 disparities from 0
    (at most the image width).
    """
    if (near_m is not None or far_m is not None) and (min_disparity is not None or num_disparities is not None):
        raise ParameterError("give either --near/--far or --min-disparity/--num-disparities, not both")
    if near_m is not None or far_m is not None:
        if near_m is None or far_m is None:
            raise ParameterError("--near and --far go together")
        if calibration is None:
            raise ParameterError("--near/--far need a calibration (--calib) to convert depth to disparity")
        from .depth_budget import disparity_range
        lo, n = disparity_range(_rectified(calibration), near_m, far_m)
        return int(lo), int(n), f"near {near_m:g} m / far {far_m:g} m"
    rect = _rectified(calibration) if calibration is not None else None
    hint = rect.search_range() if rect is not None else None
    if num_disparities is None and hint is not None:
        lo = hint[0] if min_disparity is None else int(min_disparity)
        return lo, hint[1], "calibration ndisp"
    lo = 0 if min_disparity is None else int(min_disparity)
    n = num_disparities if num_disparities is not None else min(DEFAULT_NUM_DISPARITIES, max(1, width - 1))
    return lo, int(n), "given" if num_disparities is not None else "default"


def _rectified(calibration):
    """The rectified StereoCalibration of a model or of a full rig."""
    return calibration.rectified() if hasattr(calibration, "rectified") else calibration


def match_pair(left, right, *, method: str = "sgbm", calibration=None, min_disparity=None,
               num_disparities=None, near_m=None, far_m=None, block_size=None,
               uncalibrated: bool = False, range_check: bool = True, matcher_factory=None,
               **params) -> PairResult:
    """Match one stereo pair and, when calibrated, triangulate it.

    A one-pair :class:`stereo.camera.StereoCamera` (the same path a robot node uses); for
    many pairs build the camera once instead.

    Args:
        left, right: images (grey or BGR colour, uint8/uint16/float). Raw when
            ``calibration`` is a full rig (they are rectified first), already rectified
            otherwise.
        method: "sgbm" (default, most accurate) or "bm".
        calibration: a ``calib.StereoCalibration`` (rectified), a ``calib.StereoRig`` (raw
            images), or None for disparity-only output.
        min_disparity, num_disparities, near_m, far_m: the search range, see :func:`choose_range`.
        uncalibrated: rectify a raw pair without calibration first (features + fundamental
            matrix + homographies); the output is disparity-only and the residual
            vertical error of the matched features is reported in ``notes``.
        range_check: probe beyond the near edge of the range (:mod:`stereo.range_check`).
        matcher_factory: replaces :func:`make_matcher` (same arguments); a long-lived
            worker passes a cached one to keep its matchers between pairs.
        **params: further matcher parameters (``fill=True`` for dense SGBM output, ...).
    """
    from .camera import StereoCamera

    left, right = check_pair(left, right)
    notes = ()
    range_note = None
    if uncalibrated:
        if calibration is not None:
            raise ParameterError("uncalibrated rectification is for pairs without a calibration; "
                                 "drop --calib or --uncalibrated")
        left, right, notes, hint = _rectify_uncalibrated(left, right)
        if min_disparity is None and num_disparities is None and near_m is None:
            min_disparity, num_disparities = hint
            range_note = "from the feature matches, with a margin"
    camera = StereoCamera(calibration, near=near_m, far=far_m, min_disparity=min_disparity,
                          num_disparities=num_disparities, method=method, block_size=block_size,
                          range_check=range_check, range_note=range_note,
                          matcher_factory=matcher_factory, **params)
    return pair_result(camera, camera.process(left, right), notes)


def pair_result(camera, frame, notes=()) -> PairResult:
    """The ``PairResult`` of one ``StereoCamera`` frame (what the CLI writers take)."""
    relative = None
    if frame.depth is None:
        from .relative import relative_inverse_depth
        relative = relative_inverse_depth(frame.disparity)
    return PairResult(match=frame.match, left_image=frame.rectified_left, calibration=frame.calibration,
                      depth=frame.depth, relative_inverse_depth=relative,
                      range_source=camera.range_source, notes=tuple(notes) + tuple(frame.notes),
                      range_description=camera.range_description, advice=tuple(frame.advice))


def _rectify_uncalibrated(left, right):
    """Homography rectification; returns images, report lines and a search-range hint."""
    from calib.uncalibrated import rectify_uncalibrated

    rect = rectify_uncalibrated(left, right)
    lo, hi = rect.disparity_range
    # The hint spans the 1st..99th percentile of the inlier matches; widen it so that the
    # nearest and farthest surfaces do not land on the range edge (where matches are invalid).
    margin = max(4, int(math.ceil(0.25 * (hi - lo))))
    start = int(math.floor(lo)) - margin
    count = int(math.ceil(hi)) + margin - start + 1
    notes = (f"uncalibrated rectification from {rect.n_inliers} inlier matches: residual |dy| "
             f"median {rect.residual_dy_median:.2f} px, p95 {rect.residual_dy_p95:.2f} px",)
    return rect.left_r, rect.right_r, notes, (start, count)


def summarize(res: PairResult) -> list[str]:
    """Short human-readable lines about a result (used by the CLI)."""
    m = res.match
    hi = m.min_disparity + m.num_disparities - 1
    rng = res.range_description or f"disparity range [{m.min_disparity}, {hi}] px ({res.range_source})"
    lines = [rng] + list(res.notes) + [f"density {100 * m.density:.1f}%"]
    reasons = {k: v for k, v in m.reasons().items() if v}
    if reasons:
        lines.append("invalid pixels by reason: " + ", ".join(f"{k} {v}" for k, v in reasons.items()))
    lines += list(res.advice)
    if res.depth is not None:
        finite = res.depth[np.isfinite(res.depth)]
        if finite.size:
            lines.append(f"metric depth: median {np.median(finite):.3f} m, "
                         f"5-95% [{np.percentile(finite, 5):.3f}, {np.percentile(finite, 95):.3f}] m")
    else:
        lines.append("no calibration: disparity-only output (relative inverse depth, NOT metric)")
    return lines
