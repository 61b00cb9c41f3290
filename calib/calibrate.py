"""Stereo calibration from views of a chessboard (or ChArUco board).

Pipeline: detect the board in every left/right image (pairs matched by sorted file
order), calibrate each camera alone, then jointly with ``cv2.stereoCalibrate``
(starting from the per-camera intrinsics and refining them: on the shared chessboard
set this lowers the stereo RMS and the rectified vertical error compared with keeping
them fixed; ``intrinsics="fixed"`` keeps them), reject outlier views and recalibrate,
and finally compute the rectification. Lengths are metres, errors pixels.
"""

from __future__ import annotations

import glob
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from stereo.errors import CalibrationError, InputError, ParameterError

from .chessboard import Board, Detection, describe_failure, detect, match_order, to_gray_u8
from .rig import StereoRig

_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-9)
_MAD_TO_SIGMA = 1.4826
DISTORTION_MODELS = {"standard": 0, "rational": cv2.CALIB_RATIONAL_MODEL}


@dataclass(frozen=True)
class CalibrationOptions:
    """Settings of :func:`calibrate_stereo`.

    Attributes:
        alpha: rectification free scaling (0 = only valid pixels, 1 = keep all pixels).
        intrinsics: "refine" (joint refinement in stereoCalibrate, default) or "fixed"
            (per-camera intrinsics kept as they are).
        distortion_model: "standard" (k1 k2 p1 p2 k3) or "rational" (8 coefficients).
        outlier_k: a view is an outlier when its error > median + k * 1.4826 * MAD ...
        outlier_floor_px: ... and > this floor (so tight sets do not lose good views) ...
        max_view_error_px: ... or whenever its error exceeds this absolute threshold.
        min_views: fewest usable view pairs accepted.
        max_rounds: rejection/recalibration rounds at most.
    """

    alpha: float = 0.0
    intrinsics: str = "refine"
    distortion_model: str = "standard"
    outlier_k: float = 3.0
    outlier_floor_px: float = 0.25
    max_view_error_px: float = 1.0
    min_views: int = 5
    max_rounds: int = 3

    def __post_init__(self):
        if self.intrinsics not in ("refine", "fixed"):
            raise ParameterError(f"intrinsics must be 'refine' or 'fixed', got {self.intrinsics!r}")
        if self.distortion_model not in DISTORTION_MODELS:
            raise ParameterError(f"distortion_model must be one of {', '.join(DISTORTION_MODELS)}, "
                                 f"got {self.distortion_model!r}")
        if not (self.alpha == -1 or 0 <= self.alpha <= 1):
            raise ParameterError(f"alpha must be in [0, 1] (or -1), got {self.alpha}")
        if self.min_views < 3:
            raise ParameterError(f"min_views must be >= 3, got {self.min_views}")


@dataclass
class ViewRecord:
    """One left/right pair: its files, errors (px) and whether it was used."""

    index: int
    left: str
    right: str
    left_px: float | None = None
    right_px: float | None = None
    rejected: str | None = None   # reason, None when kept
    left_method: str = ""
    right_method: str = ""

    @property
    def error_px(self) -> float | None:
        if self.left_px is None:
            return None
        return max(self.left_px, self.right_px)


@dataclass
class CalibrationReport:
    """Result of :func:`calibrate_stereo`: the rig plus what happened to each view."""

    rig: StereoRig
    views: list[ViewRecord]
    rms_fixed: float
    rms_refined: float | None
    intrinsics: str
    mono_rms: tuple[float, float]
    rounds: int = 1
    notes: list[str] = field(default_factory=list)
    corners: dict = field(default_factory=dict)   # view index -> (object pts, left px, right px)

    @property
    def kept(self) -> list[ViewRecord]:
        return [v for v in self.views if v.rejected is None]

    @property
    def rejected(self) -> list[ViewRecord]:
        return [v for v in self.views if v.rejected is not None]

    def lines(self) -> list[str]:
        """Human-readable report: summary, per-view table, rejected views."""
        rig = self.rig
        out = [f"stereo RMS reprojection error {rig.rms:.4f} px (intrinsics {self.intrinsics}; "
               f"fixed-intrinsics RMS {self.rms_fixed:.4f} px); per-camera RMS left "
               f"{self.mono_rms[0]:.4f} px, right {self.mono_rms[1]:.4f} px",
               f"baseline {rig.baseline_m * 1000:.2f} mm; left fx {rig.K1[0, 0]:.2f} px, right fx "
               f"{rig.K2[0, 0]:.2f} px; rectified f {rig.P1[0, 0]:.2f} px (alpha {rig.alpha:g})",
               f"views used {len(self.kept)} of {len(self.views)} ({self.rounds} round(s))",
               f"{'view':>4}  {'left':<24} {'right':<24} {'left px':>8} {'right px':>8}  status"]
        for v in self.views:
            el = "-" if v.left_px is None else f"{v.left_px:.4f}"
            er = "-" if v.right_px is None else f"{v.right_px:.4f}"
            status = "kept" if v.rejected is None else f"REJECTED: {v.rejected}"
            out.append(f"{v.index:>4}  {v.left:<24} {v.right:<24} {el:>8} {er:>8}  {status}")
        return out + self.notes


def expand_images(pattern: str, side: str) -> list[Path]:
    """Sorted files matching a glob (or a single file / folder); InputError when none."""
    p = Path(pattern)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in
                       (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".ppm"))
    else:
        files = sorted(Path(f) for f in glob.glob(os.path.expanduser(pattern)))
    files = [f for f in files if f.is_file()]
    if not files:
        raise InputError(f"no {side} images match {pattern!r}")
    return files


def pair_images(left_pattern: str, right_pattern: str) -> list[tuple[Path, Path]]:
    """Left/right files paired by sorted order; InputError when the counts differ."""
    left = expand_images(left_pattern, "left")
    right = expand_images(right_pattern, "right")
    if len(left) != len(right):
        raise InputError(f"unequal numbers of images: {len(left)} left ({left_pattern!r}) vs "
                         f"{len(right)} right ({right_pattern!r})")
    return list(zip(left, right))


def _load_gray(item, name):
    if isinstance(item, (str, Path)):
        from stereo.io.images import read_image
        return to_gray_u8(read_image(item, color=False))
    if item is None:
        raise InputError(f"{name} is None")
    return to_gray_u8(np.asarray(item))


def detect_pairs(lefts, rights, board: Board, *, names=None, progress: bool = False,
                 workers: int | None = None):
    """Read and detect the board in every pair; check image sizes.

    Returns (image_size, [(Detection_left, Detection_right)], names). Image reading and
    detection run in a small thread pool (OpenCV releases the GIL).
    """
    n = len(lefts)
    if n != len(rights):
        raise InputError(f"unequal numbers of images: {n} left vs {len(rights)} right")
    if n == 0:
        raise InputError("no calibration images given")
    if names is None:
        names = [(Path(a).name if isinstance(a, (str, Path)) else f"left[{i}]",
                  Path(b).name if isinstance(b, (str, Path)) else f"right[{i}]")
                 for i, (a, b) in enumerate(zip(lefts, rights))]

    def work(i):
        gl = _load_gray(lefts[i], names[i][0])
        gr = _load_gray(rights[i], names[i][1])
        if gl.shape != gr.shape:
            raise InputError(f"left and right images differ in size: {names[i][0]} is "
                             f"{gl.shape[1]}x{gl.shape[0]}, {names[i][1]} is {gr.shape[1]}x{gr.shape[0]}")
        return gl.shape, detect(gl, board), detect(gr, board), gl

    workers = workers or min(4, os.cpu_count() or 1)
    results = [None] * n
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(work, i): i for i in range(n)}
        iterator = _progress(futures, n, progress)
        for fut in iterator:
            results[futures[fut]] = fut.result()
    sizes = {r[0] for r in results}
    if len(sizes) > 1:
        first = results[0][0]
        other = next(i for i, r in enumerate(results) if r[0] != first)
        raise InputError(f"calibration images differ in size: {names[0][0]} is {first[1]}x{first[0]} but "
                         f"{names[other][0]} is {results[other][0][1]}x{results[other][0][0]}")
    h, w = results[0][0]
    first_fail = next((r[3] for r in results if not r[1].ok), None)
    return (w, h), [(r[1], r[2]) for r in results], names, first_fail


def _progress(futures, total, enabled):
    from concurrent.futures import as_completed
    it = as_completed(futures)
    if not enabled:
        return it
    from tqdm import tqdm
    return tqdm(it, total=total, desc="detecting board", unit="pair", disable=None, leave=False)


def _common(board: Board, dl: Detection, dr: Detection):
    """Object points and matching image points of the corners seen in both views."""
    obj = board.object_points()
    if not board.is_charuco:
        right = match_order(dl.corners, dr.corners, board.columns, board.rows)
        return obj, dl.corners, right
    ids, il, ir = np.intersect1d(dl.ids, dr.ids, return_indices=True)
    return obj[ids], dl.corners[il], dr.corners[ir]


def calibrate_stereo(lefts, rights, board: Board, options: CalibrationOptions | None = None, *,
                     names=None, progress: bool = False) -> CalibrationReport:
    """Calibrate a stereo rig from left/right views of ``board``.

    Args:
        lefts, rights: equal-length lists of image paths or arrays (pair i = lefts[i], rights[i]).
        board: the target (inner corners, square size in metres).
        options: see :class:`CalibrationOptions`.
        names: optional (left_name, right_name) per pair for the report.
        progress: show a tqdm progress bar on stderr (when it is a terminal).

    Returns:
        A :class:`CalibrationReport`; ``report.rig`` is the calibrated, rectified rig.

    Raises:
        InputError: unequal numbers of images, images of different sizes.
        FileFormatError: an unreadable image file.
        CalibrationError: board not found, too few usable views, calibration failure.
    """
    options = options or CalibrationOptions()
    size, dets, names, first_fail = detect_pairs(lefts, rights, board, names=names, progress=progress)
    views = []
    data = {}
    for i, ((dl, dr), (nl, nr)) in enumerate(zip(dets, names)):
        v = ViewRecord(i, nl, nr, left_method=dl.method, right_method=dr.method)
        if not dl.ok or not dr.ok:
            side, d = ("left", dl) if not dl.ok else ("right", dr)
            v.rejected = f"board not found in {side} image ({d.message})"
        else:
            obj, pl, pr = _common(board, dl, dr)
            if len(obj) < 6:
                v.rejected = f"only {len(obj)} ChArUco corners seen in both views (need 6)"
            else:
                data[i] = (obj.astype(np.float32), pl.astype(np.float32), pr.astype(np.float32))
        views.append(v)

    if len(data) < options.min_views:
        detected = sum(1 for dl, dr in dets if dl.ok and dr.ok)
        if detected == 0 and first_fail is not None and not board.is_charuco:
            raise CalibrationError(
                f"board not found in any of the {len(views)} pair(s); in {names[_first_failed(dets)]}: "
                f"{describe_failure(first_fail, board)}")
        raise CalibrationError(
            f"too few good views: the board was found in both images of {len(data)} of {len(views)} "
            f"pair(s), need at least {options.min_views}")

    all_corners = dict(data)
    flags = DISTORTION_MODELS[options.distortion_model]
    rounds = 0
    while True:
        rounds += 1
        result = _calibrate_once(data, size, flags, options)
        per_view = result["per_view"]
        keys = sorted(data)
        for k, (el, er) in zip(keys, per_view):
            views[k].left_px, views[k].right_px = float(el), float(er)
        outliers = _outliers([views[k] for k in keys], options)
        if not outliers or rounds >= options.max_rounds:
            break
        if len(data) - len(outliers) < options.min_views:
            raise CalibrationError(
                f"too few good views: {len(outliers)} of {len(data)} usable pair(s) are outliers "
                f"({'; '.join(views[k].left + ': ' + r for k, r in outliers.items())}), need at least "
                f"{options.min_views} good ones")
        for k, reason in outliers.items():
            views[k].rejected = reason
            del data[k]

    kept = [v for v in views if v.rejected is None]
    info = {"method": f"cv2.stereoCalibrate, intrinsics {result['intrinsics']} "
                      f"({options.distortion_model} distortion model)",
            "board": board.describe(), "rms_fixed_intrinsics_px": result["rms_fixed"],
            "rms_refined_intrinsics_px": result["rms_refined"],
            "per_camera_rms_px": list(result["mono_rms"])}
    rig = StereoRig.from_extrinsics(
        size, result["K1"], result["D1"], result["K2"], result["D2"], result["R"], result["T"],
        alpha=options.alpha, rms=result["rms"],
        per_view_errors=[{"view": v.index, "left": v.left, "right": v.right,
                          "left_px": round(v.left_px, 5), "right_px": round(v.right_px, 5)} for v in kept],
        rejected_views=[{"view": v.index, "left": v.left, "right": v.right, "reason": v.rejected}
                        for v in views if v.rejected is not None],
        info=info)
    if rig.T[0] >= 0:
        raise CalibrationError(
            "the right camera is to the LEFT of the left camera (T[0] >= 0): swap --left and --right")
    return CalibrationReport(rig, views, result["rms_fixed"], result["rms_refined"], result["intrinsics"],
                             result["mono_rms"], rounds, corners=all_corners)


def _first_failed(dets):
    i = next(i for i, (dl, _) in enumerate(dets) if not dl.ok)
    return i


def _calibrate_once(data: dict, size, flags: int, options: CalibrationOptions) -> dict:
    keys = sorted(data)
    obj = [data[k][0] for k in keys]
    pl = [data[k][1] for k in keys]
    pr = [data[k][2] for k in keys]
    try:
        rms1, K1, D1, *_ = cv2.calibrateCamera(obj, pl, size, None, None, flags=flags, criteria=_CRITERIA)
        rms2, K2, D2, *_ = cv2.calibrateCamera(obj, pr, size, None, None, flags=flags, criteria=_CRITERIA)
        fixed = cv2.stereoCalibrateExtended(obj, pl, pr, K1, D1, K2, D2, size, None, None,
                                            flags=flags | cv2.CALIB_FIX_INTRINSIC, criteria=_CRITERIA)
        refined = None
        if options.intrinsics == "refine":
            refined = cv2.stereoCalibrateExtended(
                obj, pl, pr, K1.copy(), D1.copy(), K2.copy(), D2.copy(), size, None, None,
                flags=flags | cv2.CALIB_USE_INTRINSIC_GUESS, criteria=_CRITERIA)
    except cv2.error as exc:
        raise CalibrationError(f"calibration failed: {str(exc).strip().splitlines()[-1]}") from None
    use = fixed
    chosen = "fixed"
    # Joint refinement can only lower the RMS; accept it unless it is not finite or it
    # moved a focal length implausibly far (a sign of a degenerate view set).
    if refined is not None and np.isfinite(refined[0]) and refined[0] <= fixed[0] and \
            abs(refined[1][0, 0] / K1[0, 0] - 1) < 0.05 and abs(refined[3][0, 0] / K2[0, 0] - 1) < 0.05:
        use, chosen = refined, "refined"
    rms, K1o, D1o, K2o, D2o, R, T, E, F = use[:9]
    per_view = use[-1]
    return dict(rms=float(rms), K1=K1o, D1=D1o, K2=K2o, D2=D2o, R=R, T=T.ravel(), E=E, F=F,
                per_view=np.asarray(per_view).reshape(-1, 2), rms_fixed=float(fixed[0]),
                rms_refined=None if refined is None else float(refined[0]), intrinsics=chosen,
                mono_rms=(float(rms1), float(rms2)))


def _outliers(views: list[ViewRecord], options: CalibrationOptions) -> dict:
    errs = np.array([v.error_px for v in views])
    med = float(np.median(errs))
    mad = float(np.median(np.abs(errs - med)))
    limit = max(med + options.outlier_k * _MAD_TO_SIGMA * mad, options.outlier_floor_px)
    out = {}
    for v, e in zip(views, errs):
        if e > options.max_view_error_px:
            out[v.index] = f"error {e:.3f} px > threshold {options.max_view_error_px:g} px"
        elif e > limit:
            out[v.index] = (f"error {e:.3f} px > median {med:.3f} + {options.outlier_k:g}*1.4826*MAD "
                            f"{mad:.3f} (= {limit:.3f} px)")
    return out


__all__ = ["CalibrationOptions", "CalibrationReport", "ViewRecord", "calibrate_stereo", "pair_images",
           "expand_images", "detect_pairs"]
