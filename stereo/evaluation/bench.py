"""Benchmark stereo matchers on Middlebury, KITTI or plain pair folders: accuracy and speed.

Methods (registry :data:`METHODS`, names as on the command line):

====================  ===============================================================================
``ours-bm``           :class:`stereo.block_matcher.BlockMatcher`, block 9 (its defaults otherwise)
``ours-sgbm``         :class:`stereo.sgbm.SGBM` with its defaults (census 9x7, 8 paths) and
                      ``fill=True``: its own dense output is scored (a dense submission)
``ours-sgbm-sparse``  the same matcher without ``fill``: its NaN map, scored with the SDK fill
``opencv-bm``         ``cv2.StereoBM`` on grey images, same settings as ours-bm: block 9,
                      preFilterCap 31, textureThreshold 10, uniquenessRatio 15, speckle 100/2 px,
                      disp12MaxDiff 1
``opencv-sgbm``       ``cv2.StereoSGBM`` MODE_SGBM on BGR images (cn = 3): blockSize 5,
                      P1 = 8*cn*25, P2 = 32*cn*25, uniquenessRatio 10, speckle 100/2 px,
                      disp12MaxDiff 1, preFilterCap 63
``opencv-hh``         same, MODE_HH (full 8-path SGM)
``opencv-3way``       same, MODE_SGBM_3WAY
``pandora``           CNES Pandora (optional: ``pip install 'pandora[sgm]'``), see
                      :mod:`stereo.pandora_peer`: census 5x5, SGM with the libsgm plugin's
                      default penalties, WTA, vfit, median 3x3, cross-checking; grey input
====================  ===============================================================================

Protocol, per method and scene:

* Search range: ``[min_disparity, min_disparity + N - 1]`` where ``N`` is the scene's
  ``ndisp`` rounded up to a multiple of 16, because OpenCV requires it; *every* method,
  ours included, searches that same range so the comparison is fair.
* One untimed warm-up call (its wall time is reported apart as ``first_call_s``: for our
  Numba matchers it includes JIT compilation or cache loading), then ``repeat`` timed
  calls; ``time_s`` is their median. Times are wall clock, all threads, and include each
  method's own input conversion.
* Dense output: a method may submit a dense map with its own fill (``ours-sgbm``: SGBM's
  ``fill=True``, whose time includes the fill; the Middlebury table scores dense
  submissions). OpenCV's matchers have no fill of their own, so their NaN maps get the SDK
  fill below, and so does ``ours-sgbm-sparse``, the same SGBM without its fill. Density and
  pixel locking always count only the pixels a method estimated (its fills excluded).
* Accuracy, Middlebury rules (:mod:`stereo.evaluation.metrics`): the output is made dense with the
  SDK fill before scoring (nothing to do for a dense submission); bad0.5/1/2/4 (percent of pixels off by more than N px),
  avgerr, rms and the error quantiles A50/A90/A95/A99 on the "nonocc" and "all" regions;
  density (percent of valid output pixels, before filling) reported separately. Every
  row holds these twice: ``nonocc``/``all`` in the dataset's own (native) pixels, and
  ``official``, with thresholds and errors in *full-resolution* pixels as in the official
  MiddEval3 table (at quarter resolution, official bad 2.0 = native 0.5 px; the factor
  comes from the folder name ``trainingQ/H/F`` or ``resolution=``). Note the official
  SDK upsamples a Q result to full resolution and scores it against the full-resolution
  ground truth; scoring at Q with thresholds divided by 4 is the same test on the
  downsampled ground truth, close to but not identical with the official numbers.
* Means: the plain mean over scenes, and (Middlebury training scenes) the official
  weighted mean (:data:`stereo.evaluation.middlebury.OFFICIAL_TRAINING_WEIGHTS`,
  renormalised over the scenes run).
* KITTI layout: D1 (outlier: error > 3 px and > 5 % of the true disparity) on all GT
  pixels (``disp_occ_0``) and non-occluded ones (``disp_noc_0``), after the devkit's
  background interpolation; EPE; density. Plain pairs: speed only.
* Depth: ``abs_rel`` is the AbsRel of metric depth (``depth_from_disparity`` of the
  dense output vs of the ground truth) on non-occluded (Middlebury) / all GT (KITTI)
  pixels, when a calibration is known.
* Pixel locking (:mod:`stereo.evaluation.locking`, Middlebury): peak-to-peak of the mean
  signed error against the fractional part of the true disparity, non-occluded valid
  pixels off by less than 1 px (native px).
* Throughput: ``W * H * N / time_s`` disparity hypotheses per second (reported in
  millions, ``mdisp_per_s``).
* Results in the official layouts (``write_report``): Middlebury SDK
  ``training<R>/<scene>/disp0<ALG>.pfm`` + ``time<ALG>.txt``; KITTI
  ``kitti/<method>/disp_0/<frame>.png`` (16-bit, d*256).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from ..errors import ParameterError
from .metrics import (DEFAULT_THRESHOLDS, depth_errors, disparity_errors, fill_invalid_like_sdk, kitti_errors,
                      middlebury_errors)
from ..validation import check_int, to_gray
from .locking import locking_markdown, locking_png, locking_stats

BM_BLOCK_SIZE = 9
SGBM_BLOCK_SIZE = 5
OPENCV_MULTIPLE = 16
ERROR_MAP_MAX_PX = 4.0

# A matcher returns its disparity map (float32 px, NaN = invalid), or, for a dense
# submission, ``(disparity, filled)``: the dense map and a bool mask of the pixels it filled
# itself (not estimates; excluded from density and pixel locking).
Matcher = Callable[[np.ndarray, np.ndarray], "np.ndarray | tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class Method:
    """One benchmarked matcher.

    ``factory(min_disparity, num_disparities)`` returns a callable ``(left, right) ->
    disparity`` (BGR uint8 in; float32 pixels out, NaN = invalid). ``requires`` names the
    module (or modules) that must import for the method to be available; ``install_hint``
    is appended to the reason when one does not.
    """

    name: str
    description: str
    factory: Callable[[int, int], Matcher]
    requires: str | tuple[str, ...] | None = None
    install_hint: str | None = None

    def unavailable_reason(self) -> str | None:
        """None when the method can run, else why not."""
        if self.requires is None:
            return None
        import importlib

        for module in (self.requires,) if isinstance(self.requires, str) else self.requires:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                hint = f"; {self.install_hint}" if self.install_hint else ""
                return f"{module} cannot be imported ({exc}){hint}"
        return None


# ---- our matchers ---------------------------------------------------------------------

def _ours_bm(min_disparity: int, num_disparities: int) -> Matcher:
    from ..block_matcher import BlockMatcher

    matcher = BlockMatcher(min_disparity=min_disparity, num_disparities=num_disparities,
                           block_size=BM_BLOCK_SIZE)
    return matcher.compute


def _ours_sgbm(min_disparity: int, num_disparities: int) -> Matcher:
    from .. import flags
    from ..sgbm import SGBM

    matcher = SGBM(min_disparity=min_disparity, num_disparities=num_disparities, fill=True)

    def run(left, right):
        result = matcher.match(left, right, confidence=False)
        return result.disparity, (result.mask & flags.FILLED) != 0

    return run


def _ours_sgbm_sparse(min_disparity: int, num_disparities: int) -> Matcher:
    from ..sgbm import SGBM

    return SGBM(min_disparity=min_disparity, num_disparities=num_disparities).compute


def split_output(out) -> tuple[np.ndarray, np.ndarray | None]:
    """A matcher's return value as ``(disparity, filled)``; ``filled`` is None for a NaN map."""
    if isinstance(out, tuple):
        disp, filled = out
        filled = np.asarray(filled, dtype=bool)
        if filled.shape != np.shape(disp):
            raise ValueError(f"filled mask {filled.shape} and disparity {np.shape(disp)} differ in shape")
        return disp, filled
    return out, None


def _estimates(disp: np.ndarray, filled: np.ndarray | None) -> np.ndarray:
    """The map of what the method estimated: its own fills back to NaN."""
    return disp if filled is None else np.where(filled, np.float32(np.nan), disp).astype(np.float32)


def _density(estimates: np.ndarray, gt: np.ndarray, mask=None) -> float:
    """Percent of evaluated pixels (finite GT, inside ``mask``) the method estimated."""
    evaluated = np.isfinite(gt) if mask is None else (np.isfinite(gt) & np.asarray(mask, bool))
    n = int(np.count_nonzero(evaluated))
    return 100.0 * np.count_nonzero(np.isfinite(estimates) & evaluated) / n if n else float("nan")


def _restate_density(row: dict, item, estimates: np.ndarray) -> None:
    """Density of a dense submission: its estimates, not its fills (in place)."""
    regions = {"nonocc": getattr(item, "nonocc", None), "all": None}
    for key, region in (("nonocc", "nonocc"), ("all", "all")):
        if key in row:
            row[key]["density"] = _density(estimates, item.gt, regions[region])
            if "official" in row:
                row["official"][key]["density"] = row[key]["density"]
    if "kitti" in row:
        for key, gt in (("all", item.gt), ("noc", getattr(item, "gt_noc", None))):
            if row["kitti"].get(key) is not None and gt is not None:
                row["kitti"][key]["density"] = _density(estimates, gt)
        row["density"] = row["kitti"]["all"]["density"]
    elif "all" in row:
        row["density"] = row["all"]["density"]


# ---- OpenCV -------------------------------------------------------------------------------

def opencv_to_float(disp16: np.ndarray, min_disparity: int) -> np.ndarray:
    """OpenCV fixed-point disparity (int16, 1/16 px) to float32 pixels, NaN = invalid.

    OpenCV marks invalid pixels with ``(min_disparity - 1) * 16``; every value below
    ``min_disparity`` is treated as invalid.
    """
    d = np.asarray(disp16)
    out = d.astype(np.float32) / np.float32(16.0)
    out[d < min_disparity * 16] = np.nan
    return out


def _opencv_bm(min_disparity: int, num_disparities: int) -> Matcher:
    bm = cv2.StereoBM_create(numDisparities=num_disparities, blockSize=BM_BLOCK_SIZE)
    bm.setMinDisparity(min_disparity)
    bm.setPreFilterCap(31)
    bm.setTextureThreshold(10)
    bm.setUniquenessRatio(15)
    bm.setSpeckleWindowSize(100)
    bm.setSpeckleRange(2)  # OpenCV multiplies it by 16 internally: 2 px
    bm.setDisp12MaxDiff(1)
    return lambda left, right: opencv_to_float(bm.compute(to_gray(left), to_gray(right)), min_disparity)


def _opencv_sgbm(mode: int) -> Callable[[int, int], Matcher]:
    def factory(min_disparity: int, num_disparities: int) -> Matcher:
        cache = {}

        def run(left, right):
            cn = 1 if left.ndim == 2 else left.shape[2]
            if cn not in cache:  # P1/P2 depend on the channel count of the input
                area = SGBM_BLOCK_SIZE * SGBM_BLOCK_SIZE
                cache[cn] = cv2.StereoSGBM_create(
                    minDisparity=min_disparity, numDisparities=num_disparities,
                    blockSize=SGBM_BLOCK_SIZE, P1=8 * cn * area, P2=32 * cn * area, disp12MaxDiff=1,
                    preFilterCap=63, uniquenessRatio=10, speckleWindowSize=100, speckleRange=2,
                    mode=mode)
            return opencv_to_float(cache[cn].compute(left, right), min_disparity)

        return run

    return factory


# ---- peers (optional packages) ----------------------------------------------------------

def _pandora(min_disparity: int, num_disparities: int) -> Matcher:
    from ..pandora_peer import pandora_matcher

    return pandora_matcher(min_disparity, num_disparities)


_CV_PARAMS = ("blockSize 5, P1=8*cn*25, P2=32*cn*25, uniquenessRatio 10, speckle 100/2 px, "
              "disp12MaxDiff 1, preFilterCap 63, BGR input")

METHODS: dict[str, Method] = {m.name: m for m in (
    Method("ours-bm", f"stereo.BlockMatcher, block {BM_BLOCK_SIZE}, defaults otherwise", _ours_bm,
           "stereo.block_matcher"),
    Method("ours-sgbm", "stereo.SGBM defaults (census 9x7, 8 paths), fill=True: its own dense output",
           _ours_sgbm, "stereo.sgbm"),
    Method("ours-sgbm-sparse", "stereo.SGBM defaults, NaN map (scored with the SDK fill)", _ours_sgbm_sparse,
           "stereo.sgbm"),
    Method("opencv-bm", f"cv2.StereoBM block {BM_BLOCK_SIZE}, preFilterCap 31, textureThreshold 10, "
           "uniquenessRatio 15, speckle 100/2 px, disp12MaxDiff 1, grey input", _opencv_bm),
    Method("opencv-sgbm", f"cv2.StereoSGBM MODE_SGBM, {_CV_PARAMS}", _opencv_sgbm(cv2.STEREO_SGBM_MODE_SGBM)),
    Method("opencv-hh", f"cv2.StereoSGBM MODE_HH, {_CV_PARAMS}", _opencv_sgbm(cv2.STEREO_SGBM_MODE_HH)),
    Method("opencv-3way", f"cv2.StereoSGBM MODE_SGBM_3WAY, {_CV_PARAMS}",
           _opencv_sgbm(cv2.STEREO_SGBM_MODE_SGBM_3WAY)),
    Method("pandora", "CNES Pandora: census 5x5, SGM (libsgm default P1 4, P2 20), WTA, vfit, "
           "median 3x3, cross-checking 1 px, grey input", _pandora,
           ("pandora", "pandora_plugin_libsgm"), "install it with: pip install 'pandora[sgm]' (the project's [peers] extra)"),
)}


def available_methods() -> list[str]:
    """Names of the registered methods that can run here (registry order)."""
    return [name for name, m in METHODS.items() if m.unavailable_reason() is None]


def resolve_methods(names=None) -> list[str]:
    """Validate method names (None = all available); ParameterError names the valid ones."""
    if not names:
        return available_methods()
    out = []
    for name in names:
        if name not in METHODS:
            raise ParameterError(f"unknown method {name!r}; valid methods: {', '.join(METHODS)}")
        reason = METHODS[name].unavailable_reason()
        if reason:
            raise ParameterError(f"method {name!r} is not available: {reason}")
        if name not in out:
            out.append(name)
    return out


def resolve_scenes(root, names=None, layout: str | None = None) -> list[str]:
    """Validate scene (item) names against the dataset (None = every one)."""
    from .datasets import list_items

    valid = list_items(root, layout)
    if not names:
        return valid
    out = []
    for name in names:
        if name not in valid:
            raise ParameterError(f"unknown scene {name!r} in {root}; valid scenes: {', '.join(valid)}")
        if name not in out:
            out.append(name)
    return out


def opencv_range(min_disparity: int, ndisp: int) -> tuple[int, int]:
    """``(min_disparity, N)`` with ``N`` = ``ndisp`` rounded up to a multiple of 16."""
    return min_disparity, OPENCV_MULTIPLE * max(1, math.ceil(ndisp / OPENCV_MULTIPLE))


def sdk_algorithm_name(method: str) -> str:
    """Middlebury SDK algorithm tag of a method: ``ours-sgbm`` -> ``OursSgbm`` (letters, digits)."""
    import re

    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", method) if part)


# ---- running ------------------------------------------------------------------------------

@dataclass
class BenchReport:
    """Everything a benchmark run produced.

    ``rows``: one dict per (scene, method) (see :func:`run_benchmark`); ``mean``: per
    method, the mean over scenes of every numeric field; ``weighted_mean``: per method,
    the official MiddEval3 weighted mean (Middlebury training scenes only, else empty);
    ``meta``: dataset, protocol and environment; ``images``: PNG bytes by file name;
    ``disparities``: raw outputs by (scene, method), kept for the official layouts.
    """

    rows: list = field(default_factory=list)
    mean: dict = field(default_factory=dict)
    weighted_mean: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)
    disparities: dict = field(default_factory=dict)

    @property
    def layout(self) -> str:
        return self.meta.get("layout", "middlebury")

    def to_json(self) -> dict:
        return {"meta": self.meta, "results": self.rows, "mean": self.mean,
                "weighted_mean": self.weighted_mean}


def _environment() -> dict:
    import numba

    return {"python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__,
            "numba": numba.__version__, "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "opencv_threads": cv2.getNumThreads(), "numba_threads": numba.get_num_threads()}


def _png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 BGR
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def _timed(fn: Matcher, left, right) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    disp = fn(left, right)
    return disp, time.perf_counter() - t0


def _official(errors: dict, factor: int) -> dict:
    """Native-pixel errors restated in full-resolution pixels (thresholds were divided)."""
    out = {}
    for key, v in errors.items():
        if key.startswith("bad"):
            continue
        out[key] = v * factor if (key in ("avgerr", "rms") or key.startswith("A")) else v
    return out


def _score_middlebury(item, disp: np.ndarray, factor: int | None) -> dict:
    from ..triangulation import depth_from_disparity

    errors = middlebury_errors(disp, item.gt, item.nonocc)
    row = {"nonocc": errors["nonocc"], "all": errors["all"], "density": errors["all"]["density"]}
    if factor:
        official = {}
        for region, mask in (("nonocc", item.nonocc), ("all", None)):
            e = disparity_errors(disp, item.gt, mask, thresholds=[t / factor for t in DEFAULT_THRESHOLDS])
            o = _official(e, factor)
            for t in DEFAULT_THRESHOLDS:  # keys name the official (full-resolution) threshold
                o[f"bad{t:.1f}"] = e[f"bad{t / factor:g}"]
            official[region] = o
        row["official"] = official
    dense = fill_invalid_like_sdk(disp)
    gt_depth = depth_from_disparity(item.gt, item.calib)
    depth = depth_errors(depth_from_disparity(dense, item.calib), gt_depth, item.nonocc)
    row.update(abs_rel=depth["abs_rel"], depth_rmse_m=depth["rmse"], delta1=depth["delta1"])
    return row


def _score_kitti(item, disp: np.ndarray) -> dict:
    from .metrics import fill_invalid_like_kitti

    row = {"kitti": {"all": kitti_errors(disp, item.gt),
                     "noc": kitti_errors(disp, item.gt_noc) if item.gt_noc is not None else None}}
    if item.foreground is not None:  # KITTI 2015 obj_map: D1 on background / foreground (all GT pixels)
        row["kitti"]["bg"] = kitti_errors(disp, item.gt, ~item.foreground)
        row["kitti"]["fg"] = kitti_errors(disp, item.gt, item.foreground)
    row["density"] = row["kitti"]["all"]["density"]
    if item.calib is not None:
        from ..triangulation import depth_from_disparity
        depth = depth_errors(depth_from_disparity(fill_invalid_like_kitti(disp), item.calib),
                             depth_from_disparity(item.gt, item.calib))
        row.update(abs_rel=depth["abs_rel"], depth_rmse_m=depth["rmse"], delta1=depth["delta1"])
    return row


_SKIP_KEYS = ("scene", "method", "times_s", "min_disparity", "num_disparities", "ndisp", "width", "height",
              "resolution_factor")


def _numeric_means(rows: list, weights: dict | None = None) -> dict:
    """Mean of every numeric leaf over ``rows`` (nested dicts kept), NaN/None ignored.

    ``weights``: per-scene weights (a weighted mean, renormalised over the rows used).
    """
    def collect(keys, dicts, ws):
        out = {}
        for k in keys:
            vals = [d.get(k) for d in dicts]
            subs = [(v, w) for v, w in zip(vals, ws) if isinstance(v, dict)]
            if subs and len(subs) == len([v for v in vals if v is not None]):
                out[k] = collect(subs[0][0].keys(), [v for v, _ in subs], [w for _, w in subs])
            elif k != "n_pixels":
                num = [(float(v), w) for v, w in zip(vals, ws)
                       if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
                if num:
                    total = sum(w for _, w in num)
                    out[k] = sum(v * w for v, w in num) / total if total else float("nan")
        return out

    ws = [1.0 if weights is None else weights[r["scene"]] for r in rows]
    keys = [k for k in rows[0] if k not in _SKIP_KEYS]
    return collect(keys, rows, ws)


def run_benchmark(root, methods=None, scenes=None, *, repeat: int = 3, progress: bool = True,
                  images: bool = False, resolution=None, num_disparities: int | None = None,
                  keep_disparities: bool = False) -> BenchReport:
    """Run every method on every scene (pair) of a dataset at ``root``.

    Args:
        root: a MiddEval3-style folder (one sub-folder per scene, see
            :mod:`stereo.evaluation.middlebury`), a KITTI-layout folder or a folder of plain
            pairs (see :mod:`stereo.evaluation.datasets`).
        methods: method names (default: every available one); ``scenes``: scene names
            (default: all). Unknown names raise ParameterError listing the valid ones.
        repeat: timed runs per method and scene (>= 1); the median is reported.
        progress: show a tqdm bar on stderr.
        images: also render disparity and error-map PNGs into ``report.images``.
        resolution: Middlebury resolution ("F", "H", "Q" or a factor) when the folder name
            does not say it; it sets the full-resolution ("official") pixel columns.
        num_disparities: search range length for datasets without ``ndisp`` (KITTI, plain
            pairs; default 192) or to override it.
        keep_disparities: keep every output in ``report.disparities`` (for the official
            result layouts written by :func:`write_report`).

    Each row holds: scene, method, width, height, ndisp (from calib.txt), min_disparity,
    num_disparities (searched), first_call_s, time_s (median), times_s, mdisp_per_s,
    valid_fraction; with Middlebury GT: nonocc / all (dicts of bad0.5, bad1, bad2, bad4,
    avgerr, rms, A50, A90, A95, A99, density, n_pixels; native px), official (same in
    full-resolution px, keys bad0.5 .. bad4.0 naming the official thresholds),
    resolution_factor, density, abs_rel, depth_rmse_m, delta1; with KITTI GT: kitti
    (all / noc: d1, epe, bad3, density, n_pixels), density, and depth errors with a
    calibration.
    """
    from tqdm import tqdm

    from ..visualize import render_disparity, render_error_map
    from .datasets import detect_layout, load_item
    from .middlebury import OFFICIAL_TRAINING_WEIGHTS, resolution_factor

    repeat = check_int(repeat, "repeat", minimum=1, maximum=1000)
    if num_disparities is not None:
        num_disparities = check_int(num_disparities, "num_disparities", minimum=1, maximum=4096)
    layout = detect_layout(root)
    method_names = resolve_methods(methods)
    scene_names = resolve_scenes(root, scenes, layout)
    factor = resolution_factor(root, resolution) if layout == "middlebury" else None
    report = BenchReport()
    bar = tqdm(total=len(scene_names) * len(method_names) * (1 + repeat), desc="bench", unit="run",
               file=sys.stderr, disable=not progress, leave=False)
    scored = []
    try:
        for scene_name in scene_names:
            item = load_item(root, scene_name, layout, num_disparities=num_disparities)
            w, h = item.size
            lo, n = opencv_range(item.min_disparity, item.num_disparities)
            if item.has_gt:
                known = item.gt[np.isfinite(item.gt)]
                scored.append(scene_name)
            else:
                known = np.zeros(0, np.float32)
            vlo = float(np.floor(known.min())) if known.size else float(lo)
            vhi = float(np.ceil(known.max())) if known.size else float(lo + n - 1)
            if images and item.has_gt:
                report.images[f"{scene_name}_gt.png"] = _png(
                    render_disparity(item.gt, vmin=vlo, vmax=max(vhi, vlo + 1)))
            for name in method_names:
                bar.set_postfix_str(f"{scene_name} {name}")
                fn = METHODS[name].factory(lo, n)
                out, first = _timed(fn, item.left, item.right)
                bar.update(1)
                times = []
                for _ in range(repeat):
                    out, t = _timed(fn, item.left, item.right)
                    times.append(t)
                    bar.update(1)
                disp, filled = split_output(out)
                estimates = _estimates(disp, filled)
                median = statistics.median(times)
                row = {"scene": scene_name, "method": name, "width": w, "height": h,
                       "ndisp": item.ndisp, "min_disparity": lo, "num_disparities": n}
                if item.has_gt and layout == "middlebury":
                    row["resolution_factor"] = factor
                    row.update(_score_middlebury(item, disp, factor))
                    row["locking"] = locking_stats(estimates, item.gt, item.nonocc)
                elif item.has_gt:
                    row.update(_score_kitti(item, disp))
                if filled is not None and item.has_gt:
                    _restate_density(row, item, estimates)
                row.update({"dense_submission": filled is not None,
                            "valid_fraction": 100.0 * float(np.count_nonzero(np.isfinite(estimates))) / disp.size,
                            "first_call_s": first, "time_s": median, "times_s": times,
                            "mdisp_per_s": w * h * n / median / 1e6 if median > 0 else float("nan")})
                report.rows.append(row)
                if keep_disparities:
                    report.disparities[(scene_name, name)] = disp
                if images:
                    report.images[f"{scene_name}_{name}_disp.png"] = _png(
                        render_disparity(disp, vmin=vlo, vmax=max(vhi, vlo + 1)))
                    if item.has_gt:
                        if layout == "middlebury":
                            dense = fill_invalid_like_sdk(disp)
                        else:
                            from .metrics import fill_invalid_like_kitti
                            dense = fill_invalid_like_kitti(disp)
                        known_mask = np.isfinite(item.gt)
                        report.images[f"{scene_name}_{name}_error.png"] = _png(render_error_map(
                            dense, item.gt, known_mask, max_error=ERROR_MAP_MAX_PX,
                            filled=known_mask & ~np.isfinite(estimates), unit="native px"))
            if images and any("locking" in r for r in report.rows if r["scene"] == scene_name):
                report.images[f"{scene_name}_locking.png"] = _png(locking_png(
                    {r["method"]: r["locking"] for r in report.rows
                     if r["scene"] == scene_name and "locking" in r}, scene_name))
    finally:
        bar.close()
    weights = None
    if layout == "middlebury" and scored and all(s in OFFICIAL_TRAINING_WEIGHTS for s in scored):
        weights = OFFICIAL_TRAINING_WEIGHTS
    for name in method_names:
        rows = [r for r in report.rows if r["method"] == name]
        report.mean[name] = _numeric_means(rows)
        if weights is not None:
            report.weighted_mean[name] = _numeric_means([r for r in rows if r["scene"] in weights], weights)
    protocol = [
        f"search range [min_disparity, min_disparity + N - 1], N = ndisp rounded up to a multiple of "
        f"{OPENCV_MULTIPLE} (OpenCV's requirement), the same for every method",
        "time_s: median wall time of `repeat` runs after one untimed warm-up (first_call_s, "
        "includes Numba compilation/cache loading for ours)",
        "mdisp_per_s: W*H*N / time_s / 1e6",
    ]
    if layout == "middlebury":
        protocol += [
            "bad/avgerr/rms/A50..A99: Middlebury dense scoring (invalid pixels filled with the smaller "
            "scanline neighbour); density: percent of evaluated pixels valid before filling",
            "dense submissions (ours-sgbm: SGBM fill=True, time includes its fill) are scored as output; "
            "the others' NaN maps (OpenCV has no fill of its own; ours-sgbm-sparse = the same SGBM "
            "without fill) get the SDK fill; density and lock count estimated pixels only",
            "nonocc/all: native pixels of this dataset; official: the same in full-resolution pixels "
            + (f"(factor {factor}: official bad 2.0 = native bad{2.0 / factor:g})" if factor
               else "(not reported: resolution unknown, pass --resolution F|H|Q)"),
            "abs_rel: AbsRel of metric depth of the dense output vs ground-truth depth, nonocc pixels",
            "lock: pixel-locking peak-to-peak, native px (stereo.evaluation.locking): mean signed error "
            "binned by the fractional part of the true disparity, nonocc pixels off by < 1 px",
            "mean: plain mean over scenes; weighted_mean: official MiddEval3 training weights "
            "renormalised over the scenes run" + ("" if weights else " (not available for these scenes)"),
            f"error maps: |d - gt| of the scored (filled) output, green (0) to red (>= {ERROR_MAP_MAX_PX:g} "
            "native px), hatched with blue = filled (by the SDK rule or the method's own fill), "
            "black = no ground truth",
        ]
    elif layout == "kitti":
        protocol += [
            "D1: percent of GT pixels with error > 3 px and > 5 % of the true disparity, after KITTI's "
            "background interpolation of missing estimates; all = disp_occ_0, noc = disp_noc_0, "
            "bg/fg = all GT pixels outside/inside obj_map objects (when obj_map/ exists)",
            "epe: mean absolute error (px) after interpolation; density: percent of GT pixels estimated",
            f"search range 0..N-1 with N = {n if scene_names else '-'} (KITTI has no ndisp)",
        ]
    else:
        protocol += ["no ground truth: speed only"]
    report.meta = {
        "dataset": str(root), "layout": layout, "scenes": scene_names,
        "methods": {m: METHODS[m].description for m in method_names},
        "repeat": repeat, "resolution_factor": factor,
        "protocol": protocol,
        "environment": _environment(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return report


def json_safe(obj):
    """``obj`` with NaN/inf floats as None and NumPy scalars as Python ones (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    return obj


# ---- reporting -------------------------------------------------------------------------------

def _get(*keys, scale=1.0):
    def getter(r):
        v = r
        for k in keys:
            v = v[k]
        return None if v is None else v * scale
    return getter


_COMMON_COLUMNS = (
    ("ms", _get("time_s", scale=1000.0), "{:.1f}"),
    ("first_s", _get("first_call_s"), "{:.2f}"),
    ("Mdisp/s", _get("mdisp_per_s"), "{:.0f}"),
)

# Middlebury: "@F" columns are the official table's (full-resolution px, nonocc); the rest native.
_MIDDLEBURY_COLUMNS = (
    ("bad2.0@F", _get("official", "nonocc", "bad2.0"), "{:.2f}"),
    ("avgerr@F", _get("official", "nonocc", "avgerr"), "{:.2f}"),
    ("A90@F", _get("official", "nonocc", "A90"), "{:.2f}"),
    ("bad1", _get("nonocc", "bad1"), "{:.2f}"),
    ("bad2", _get("nonocc", "bad2"), "{:.2f}"),
    ("avgerr", _get("nonocc", "avgerr"), "{:.2f}"),
    ("lock", _get("locking", "ptp"), "{:.3f}"),
    ("bad2-all", _get("all", "bad2"), "{:.2f}"),
    ("dens%", _get("density"), "{:.1f}"),
    ("AbsRel%", _get("abs_rel", scale=100.0), "{:.2f}"),
) + _COMMON_COLUMNS

_KITTI_COLUMNS = (
    ("D1-all%", _get("kitti", "all", "d1"), "{:.2f}"),
    ("D1-noc%", _get("kitti", "noc", "d1"), "{:.2f}"),
    ("D1-bg%", _get("kitti", "bg", "d1"), "{:.2f}"),
    ("D1-fg%", _get("kitti", "fg", "d1"), "{:.2f}"),
    ("EPE", _get("kitti", "all", "epe"), "{:.2f}"),
    ("bad3%", _get("kitti", "all", "bad3"), "{:.2f}"),
    ("dens%", _get("density"), "{:.1f}"),
    ("AbsRel%", _get("abs_rel", scale=100.0), "{:.2f}"),
) + _COMMON_COLUMNS

_PAIRS_COLUMNS = (("valid%", _get("valid_fraction"), "{:.1f}"),) + _COMMON_COLUMNS


def _has_gt(report: BenchReport) -> bool:
    return any("nonocc" in r or "kitti" in r for r in report.rows)


def _columns(report: BenchReport):
    if not _has_gt(report):
        return _PAIRS_COLUMNS
    return {"middlebury": _MIDDLEBURY_COLUMNS, "kitti": _KITTI_COLUMNS}.get(report.layout, _PAIRS_COLUMNS)


def _fmt(fmt: str, value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return fmt.format(value)


def _range_text(r: dict) -> str:
    return f"{r['min_disparity']}..{r['min_disparity'] + r['num_disparities'] - 1}"


def _safe(getter, row):
    try:
        return getter(row)
    except (KeyError, TypeError):
        return None


def _table_rows(report: BenchReport) -> list[list[str]]:
    cols = _columns(report)
    rows = []
    for r in report.rows:
        rows.append([r["scene"], r["method"], _range_text(r)] + [_fmt(f, _safe(get, r)) for _, get, f in cols])
    for label, means in (("MEAN", report.mean), ("WMEAN", report.weighted_mean)):
        for name, m in means.items():
            rows.append([label, name, ""] + [_fmt(f, _safe(get, m)) for _, get, f in cols])
    return rows


def table_legend(report: BenchReport) -> str:
    """One or two lines saying which pixels and regions the table's columns are in."""
    if not _has_gt(report):
        return "no ground truth: speed only"
    if report.layout == "middlebury":
        factor = report.meta.get("resolution_factor")
        unit = (f"@F = official MiddEval3 columns: full-resolution px (1 px here = {factor} px there), "
                f"non-occluded" if factor else "@F columns need the resolution (--resolution F|H|Q)")
        return (f"{unit}; bad1/bad2/avgerr: native px, non-occluded; bad2-all: all GT pixels; "
                f"dens% = estimated pixels (before any fill; ours-sgbm scored dense with its own fill, "
                f"others with the SDK fill); MEAN = plain mean, WMEAN = official weights "
                f"(renormalised over these scenes)")
    if report.layout == "kitti":
        return ("D1: error > 3 px and > 5 % of true disparity, after KITTI background interpolation "
                "(all = disp_occ_0, noc = disp_noc_0); EPE px; dens% = pixels estimated")
    return "no ground truth: speed only"


def format_table(report: BenchReport) -> str:
    """Fixed-width text table: one row per scene x method, then the per-method means.

    Middlebury: ``@F`` columns are in official full-resolution pixels (non-occluded), as
    in the MiddEval3 table; bad1/bad2/avgerr in native pixels (non-occluded); bad2-all
    on every pixel with ground truth; dens% = valid output before filling; AbsRel% of
    metric depth; ms = median wall time; first_s = warm-up call; Mdisp/s = W*H*N per
    second / 1e6. KITTI: D1-all, D1-noc, EPE, bad3, density. Plain pairs: speed.
    """
    cols = _columns(report)
    header = ["scene", "method", "range"] + [c[0] for c in cols]
    body = _table_rows(report)
    widths = [max(len(header[i]), *(len(row[i]) for row in body)) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(widths[i]) if i < 3 else c.rjust(widths[i]) for i, c in enumerate(cells))

    out = [table_legend(report), line(header), "  ".join("-" * w for w in widths)]
    previous = None
    for row in body:
        if previous is not None and row[0] != previous:
            out.append("")
        out.append(line(row))
        previous = row[0]
    return "\n".join(out)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    align = "|".join("---" if i < 2 else "---:" for i in range(len(header)))
    lines = ["| " + " | ".join(header) + " |", "|" + align + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _region_table(report: BenchReport, region: str, keys, unit_key: str | None = None) -> str:
    def cells(r):
        base = r.get(unit_key, {}) if unit_key else r
        return [_fmt("{:.2f}", _safe(lambda x: x[region][k], base)) for k in keys]

    rows = [[r["scene"], r["method"]] + cells(r) for r in report.rows]
    for label, means in (("**mean**", report.mean), ("**weighted mean**", report.weighted_mean)):
        rows += [[label, name] + cells(m) for name, m in means.items()]
    return _md_table(["scene", "method", *keys], rows)


def markdown_report(report: BenchReport) -> str:
    """results.md: protocol, then accuracy tables (in both pixel units), depth and speed, and means."""
    meta = report.meta
    parts = ["# Stereo benchmark", "",
             f"Dataset: `{meta.get('dataset')}` ({meta.get('layout')} layout, {len(meta.get('scenes', []))} "
             f"scenes), {meta.get('repeat')} timed run(s) per method and scene, {meta.get('date')}.", "",
             "Methods:", ""]
    parts += [f"- `{name}`: {desc}" for name, desc in meta.get("methods", {}).items()]
    parts += ["", "Protocol:", ""] + [f"- {p}" for p in meta.get("protocol", [])]
    env = meta.get("environment", {})
    parts += ["", "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()), ""]
    if report.layout == "middlebury" and any("nonocc" in r for r in report.rows):
        native = ("bad0.5", "bad1", "bad2", "bad4", "avgerr", "rms", "A50", "A90", "A95", "A99", "density")
        official = ("bad0.5", "bad1.0", "bad2.0", "bad4.0", "avgerr", "rms", "A50", "A90", "A95", "A99")
        factor = meta.get("resolution_factor")
        dense = sorted({r["method"] for r in report.rows if r.get("dense_submission")})
        parts += ["Scored outputs are dense: " + (", ".join(f"`{m}`" for m in dense) + " submit(s) "
                  "their own dense output (time includes the fill); " if dense else "")
                  + "every NaN map gets the SDK fill (smaller scanline neighbour). `density` counts "
                  "the pixels each method estimated, before any fill.", ""]
        if factor:
            for region, title in (("nonocc", "non-occluded"), ("all", "all pixels with ground truth")):
                parts += [f"## Official units (full-resolution px, factor {factor}), {title}", "",
                          "Columns as in the MiddEval3 table: bad N.N = percent of pixels with error > N.N "
                          "full-resolution px; avgerr, rms, A50..A99 in full-resolution px.", "",
                          _region_table(report, region, official, "official"), ""]
        parts += ["## Native pixels, non-occluded (percent; avgerr, rms, A50..A99 in px)", "",
                  _region_table(report, "nonocc", native), "",
                  "## Native pixels, all pixels with ground truth", "", _region_table(report, "all", native), ""]
    if report.layout == "kitti" and any("kitti" in r for r in report.rows):
        keys = ("d1", "epe", "bad3", "density")
        parts += ["## KITTI, all GT pixels (disp_occ_0)", "", _region_table(report, "all", keys, "kitti"), "",
                  "## KITTI, non-occluded GT pixels (disp_noc_0)", "", _region_table(report, "noc", keys, "kitti"), ""]
        if any(r.get("kitti", {}).get("bg") for r in report.rows):
            parts += ["## KITTI, background / foreground (obj_map), all GT pixels", "",
                      _region_table(report, "bg", keys, "kitti"), "", _region_table(report, "fg", keys, "kitti"), ""]
    speed_rows = [[r["scene"], r["method"], _range_text(r),
                   _fmt("{:.2f}", _safe(_get("abs_rel", scale=100.0), r)), _fmt("{:.1f}", r.get("delta1")),
                   _fmt("{:.1f}", 1000.0 * r["time_s"]), _fmt("{:.2f}", r["first_call_s"]),
                   _fmt("{:.0f}", r["mdisp_per_s"])] for r in report.rows]
    speed_rows += [["**mean**", name, "", _fmt("{:.2f}", _safe(_get("abs_rel", scale=100.0), m)),
                    _fmt("{:.1f}", m.get("delta1")),
                    _fmt("{:.1f}", _safe(_get("time_s", scale=1000.0), m)),
                    _fmt("{:.2f}", m.get("first_call_s")),
                    _fmt("{:.0f}", m.get("mdisp_per_s"))] for name, m in report.mean.items()]
    parts += ["## Depth and speed", "",
              _md_table(["scene", "method", "range", "AbsRel %", "delta<1.25 %", "time ms", "first call s",
                         "Mdisp/s"], speed_rows), ""]
    if any("locking" in r for r in report.rows):
        parts += [locking_markdown(report.rows), ""]
    if report.images:
        parts += ["Pictures: `<scene>_<method>_disp.png`, `<scene>_<method>_error.png` (hatched blue = "
                  "filled by the scoring rule), `<scene>_gt.png`.", ""]
    if report.disparities:
        parts += ["Results in the official layouts: " + (
            "`training<R>/<scene>/disp0<ALG>.pfm` and `time<ALG>.txt` (copy into the MiddEval3 SDK folder "
            "and run its evaluation)" if report.layout == "middlebury" else
            "`kitti/<method>/disp_0/<frame>.png` (16-bit, d*256, 0 = no estimate)"), ""]
    return "\n".join(parts)


def _official_files(report: BenchReport, stage) -> list[str]:
    """Middlebury SDK / KITTI devkit result files for the kept disparities."""
    from ..io import write_disparity, write_kitti_disparity

    import re
    from pathlib import Path

    names = []
    factor = report.meta.get("resolution_factor")
    letter = {1: "F", 2: "H", 4: "Q"}.get(factor, "")
    # the SDK's own folder name (trainingQ, testH, ...) when the dataset has one
    sdk_dir = Path(report.meta.get("dataset", "")).resolve().name
    if not re.fullmatch(r"(training|test)[FHQ]", sdk_dir):
        sdk_dir = f"training{letter}"
    times = {(r["scene"], r["method"]): r["time_s"] for r in report.rows}
    for (scene, method), disp in sorted(report.disparities.items()):
        if report.layout == "middlebury":
            alg = sdk_algorithm_name(method)
            folder = stage / sdk_dir / scene
            folder.mkdir(parents=True, exist_ok=True)
            write_disparity(folder / f"disp0{alg}.pfm", disp)
            (folder / f"time{alg}.txt").write_text(f"{times[(scene, method)]:.6f}\n")
            names += [f"{sdk_dir}/{scene}/disp0{alg}.pfm", f"{sdk_dir}/{scene}/time{alg}.txt"]
        elif report.layout == "kitti":
            folder = stage / "kitti" / method / "disp_0"
            folder.mkdir(parents=True, exist_ok=True)
            d = np.where(np.isfinite(disp) & (disp >= 0), np.minimum(disp, 255.0), np.nan).astype(np.float32)
            write_kitti_disparity(folder / f"{scene}.png", d)
            names.append(f"kitti/{method}/disp_0/{scene}.png")
    return names


def write_report(report: BenchReport, outdir) -> list[str]:
    """Write results.json, results.md, the pictures and the official-layout results, all or nothing.

    Returns the file names written.
    """
    import json
    from pathlib import Path

    from ..io import staged_directory

    names = []
    with staged_directory(Path(outdir)) as stage:
        (stage / "results.json").write_text(json.dumps(json_safe(report.to_json()), indent=2) + "\n")
        (stage / "results.md").write_text(markdown_report(report))
        names += ["results.json", "results.md"]
        for fname, data in sorted(report.images.items()):
            (stage / fname).write_bytes(data)
            names.append(fname)
        names += _official_files(report, stage)
    return names


__all__ = ["Method", "METHODS", "BM_BLOCK_SIZE", "available_methods", "resolve_methods", "resolve_scenes",
           "opencv_range", "opencv_to_float", "sdk_algorithm_name", "BenchReport", "run_benchmark",
           "format_table", "table_legend", "markdown_report", "write_report"]
