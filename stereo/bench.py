"""Benchmark stereo matchers on Middlebury-style scenes: accuracy, depth error and speed.

Methods (registry :data:`METHODS`, names as on the command line):

==============  ===============================================================================
``ours-bm``     :class:`stereo.block_matcher.BlockMatcher`, block 9 (its defaults otherwise)
``ours-sgbm``   :class:`stereo.sgbm.SGBM` with its defaults (census 9x7, 8 paths)
``opencv-bm``   ``cv2.StereoBM`` on grey images, same settings as ours-bm: block 9,
                preFilterCap 31, textureThreshold 10, uniquenessRatio 15, speckle 100/2 px,
                disp12MaxDiff 1
``opencv-sgbm`` ``cv2.StereoSGBM`` MODE_SGBM on BGR images (cn = 3): blockSize 5,
                P1 = 8*cn*25, P2 = 32*cn*25, uniquenessRatio 10, speckle 100/2 px,
                disp12MaxDiff 1, preFilterCap 63
``opencv-hh``   same, MODE_HH (full 8-path SGM)
``opencv-3way`` same, MODE_SGBM_3WAY
``pandora``     CNES Pandora (optional: ``pip install 'pandora[sgm]'``), see
                :mod:`stereo.pandora_peer`: census 5x5, SGM with the libsgm plugin's
                default penalties, WTA, vfit, median 3x3, cross-checking; grey input
==============  ===============================================================================

Protocol, per method and scene:

* Search range: ``[min_disparity, min_disparity + N - 1]`` where ``N`` is the scene's
  ``ndisp`` rounded up to a multiple of 16, because OpenCV requires it; *every* method,
  ours included, searches that same range so the comparison is fair.
* One untimed warm-up call (its wall time is reported apart as ``first_call_s``: for our
  Numba matchers it includes JIT compilation or cache loading), then ``repeat`` timed
  calls; ``time_s`` is their median. Times are wall clock, all threads, and include each
  method's own input conversion.
* Accuracy, Middlebury rules (:mod:`stereo.metrics`): the output is made dense with the
  SDK fill before scoring; bad0.5/1/2/4 (percent of pixels off by more than N px),
  avgerr and rms on the "nonocc" and "all" regions; density (percent of valid output
  pixels, before filling) reported separately.
* Depth: ``abs_rel`` is the AbsRel of metric depth (``depth_from_disparity`` of the
  dense output vs of the ground truth) on non-occluded pixels.
* Pixel locking (:mod:`stereo.locking`): peak-to-peak of the mean signed error against the
  fractional part of the true disparity, non-occluded valid pixels off by less than 1 px.
* Throughput: ``W * H * N / time_s`` disparity hypotheses per second (reported in
  millions, ``mdisp_per_s``).

Means over scenes are plain (unweighted) averages.
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

from .errors import ParameterError
from .locking import locking_markdown, locking_png, locking_stats
from .metrics import depth_errors, fill_invalid_like_sdk, middlebury_errors
from .validation import check_int, to_gray

BM_BLOCK_SIZE = 9
SGBM_BLOCK_SIZE = 5
OPENCV_MULTIPLE = 16
ERROR_MAP_MAX_PX = 4.0

Matcher = Callable[[np.ndarray, np.ndarray], np.ndarray]


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
    from .block_matcher import BlockMatcher

    matcher = BlockMatcher(min_disparity=min_disparity, num_disparities=num_disparities,
                           block_size=BM_BLOCK_SIZE)
    return matcher.compute


def _ours_sgbm(min_disparity: int, num_disparities: int) -> Matcher:
    from .sgbm import SGBM

    matcher = SGBM(min_disparity=min_disparity, num_disparities=num_disparities)
    return matcher.compute


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
    from .pandora_peer import pandora_matcher

    return pandora_matcher(min_disparity, num_disparities)


_CV_PARAMS = ("blockSize 5, P1=8*cn*25, P2=32*cn*25, uniquenessRatio 10, speckle 100/2 px, "
              "disp12MaxDiff 1, preFilterCap 63, BGR input")

METHODS: dict[str, Method] = {m.name: m for m in (
    Method("ours-bm", f"stereo.BlockMatcher, block {BM_BLOCK_SIZE}, defaults otherwise", _ours_bm,
           "stereo.block_matcher"),
    Method("ours-sgbm", "stereo.SGBM defaults (census 9x7, 8 paths)", _ours_sgbm, "stereo.sgbm"),
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


def resolve_scenes(root, names=None) -> list[str]:
    """Validate scene names against the dataset (None = every scene)."""
    from .middlebury_dataset import list_scenes

    valid = list_scenes(root)
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


# ---- running ------------------------------------------------------------------------------

@dataclass
class BenchReport:
    """Everything a benchmark run produced.

    ``rows``: one dict per (scene, method) (see :func:`run_benchmark`); ``mean``: per
    method, the mean over scenes of every numeric field; ``meta``: dataset, protocol and
    environment; ``images``: PNG bytes by file name (disparity and error pictures),
    only when requested.
    """

    rows: list = field(default_factory=list)
    mean: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"meta": self.meta, "results": self.rows, "mean": self.mean}


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


def _score(scene, disp: np.ndarray, gt_depth: np.ndarray) -> dict:
    from .triangulation import depth_from_disparity

    errors = middlebury_errors(disp, scene.gt, scene.nonocc)
    dense = fill_invalid_like_sdk(disp)
    depth = depth_errors(depth_from_disparity(dense, scene.calib), gt_depth, scene.nonocc)
    return {"nonocc": errors["nonocc"], "all": errors["all"], "density": errors["all"]["density"],
            "valid_fraction": 100.0 * float(np.count_nonzero(np.isfinite(disp))) / disp.size,
            "abs_rel": depth["abs_rel"], "depth_rmse_m": depth["rmse"], "delta1": depth["delta1"]}


def _numeric_means(rows: list) -> dict:
    """Mean of every numeric leaf over ``rows`` (nested dicts kept), NaN ignored."""
    def collect(keys, dicts):
        out = {}
        for k in keys:
            vals = [d[k] for d in dicts]
            if all(isinstance(v, dict) for v in vals):
                out[k] = collect(vals[0].keys(), vals)
            elif k != "n_pixels" and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                         for v in vals):
                finite = [float(v) for v in vals if math.isfinite(v)]
                out[k] = sum(finite) / len(finite) if finite else float("nan")
        return out

    keys = [k for k in rows[0] if k not in ("scene", "method", "times_s", "min_disparity",
                                             "num_disparities", "ndisp", "width", "height")]
    return collect(keys, rows)


def run_benchmark(root, methods=None, scenes=None, *, repeat: int = 3, progress: bool = True,
                  images: bool = False) -> BenchReport:
    """Run every method on every scene of a MiddEval3-style dataset at ``root``.

    Args:
        root: dataset folder (one sub-folder per scene, see :mod:`stereo.middlebury_dataset`).
        methods: method names (default: every available one); ``scenes``: scene names
            (default: all). Unknown names raise ParameterError listing the valid ones.
        repeat: timed runs per method and scene (>= 1); the median is reported.
        progress: show a tqdm bar on stderr.
        images: also render disparity and error-map PNGs into ``report.images``.

    Each row holds: scene, method, width, height, ndisp (from calib.txt), min_disparity,
    num_disparities (searched), nonocc / all (dicts of bad0.5, bad1, bad2, bad4, avgerr,
    rms, density, n_pixels), density, valid_fraction, abs_rel, depth_rmse_m, delta1,
    first_call_s, time_s (median), times_s, mdisp_per_s.
    """
    from tqdm import tqdm

    from .middlebury_dataset import load_scene
    from .triangulation import depth_from_disparity
    from .visualize import colorize_disparity, error_map

    repeat = check_int(repeat, "repeat", minimum=1, maximum=1000)
    method_names = resolve_methods(methods)
    scene_names = resolve_scenes(root, scenes)
    report = BenchReport()
    bar = tqdm(total=len(scene_names) * len(method_names) * (1 + repeat), desc="bench", unit="run",
               file=sys.stderr, disable=not progress, leave=False)
    try:
        for scene_name in scene_names:
            scene = load_scene(root, scene_name)
            w, h = scene.size
            lo, n = opencv_range(scene.min_disparity, scene.num_disparities)
            gt_depth = depth_from_disparity(scene.gt, scene.calib)
            known = scene.gt[scene.gt_known]
            vlo = float(np.floor(known.min())) if known.size else lo
            vhi = float(np.ceil(known.max())) if known.size else lo + n - 1
            if images:
                report.images[f"{scene_name}_gt.png"] = _png(
                    colorize_disparity(scene.gt, vmin=vlo, vmax=max(vhi, vlo + 1)))
            for name in method_names:
                bar.set_postfix_str(f"{scene_name} {name}")
                fn = METHODS[name].factory(lo, n)
                disp, first = _timed(fn, scene.left, scene.right)
                bar.update(1)
                times = []
                for _ in range(repeat):
                    disp, t = _timed(fn, scene.left, scene.right)
                    times.append(t)
                    bar.update(1)
                median = statistics.median(times)
                row = {"scene": scene_name, "method": name, "width": w, "height": h,
                       "ndisp": scene.calib.ndisp, "min_disparity": lo, "num_disparities": n}
                row.update(_score(scene, disp, gt_depth))
                row["locking"] = locking_stats(disp, scene.gt, scene.nonocc)
                row.update({"first_call_s": first, "time_s": median, "times_s": times,
                            "mdisp_per_s": w * h * n / median / 1e6 if median > 0 else float("nan")})
                report.rows.append(row)
                if images:
                    report.images[f"{scene_name}_{name}_disp.png"] = _png(
                        colorize_disparity(disp, vmin=vlo, vmax=max(vhi, vlo + 1)))
                    report.images[f"{scene_name}_{name}_error.png"] = _png(
                        error_map(disp, scene.gt, scene.gt_known, max_error=ERROR_MAP_MAX_PX))
            if images:
                report.images[f"{scene_name}_locking.png"] = _png(locking_png(
                    {r["method"]: r["locking"] for r in report.rows if r["scene"] == scene_name}, scene_name))
    finally:
        bar.close()
    for name in method_names:
        rows = [r for r in report.rows if r["method"] == name]
        report.mean[name] = _numeric_means(rows)
    report.meta = {
        "dataset": str(root), "scenes": scene_names,
        "methods": {m: METHODS[m].description for m in method_names},
        "repeat": repeat,
        "protocol": [
            f"search range [min_disparity, min_disparity + N - 1], N = ndisp rounded up to a multiple of "
            f"{OPENCV_MULTIPLE} (OpenCV's requirement), the same for every method",
            "time_s: median wall time of `repeat` runs after one untimed warm-up (first_call_s, "
            "includes Numba compilation/cache loading for ours)",
            "bad/avgerr/rms: Middlebury dense scoring (invalid pixels filled with the smaller scanline "
            "neighbour); density: percent of evaluated pixels valid before filling",
            "abs_rel: AbsRel of metric depth of the dense output vs ground-truth depth, nonocc pixels",
            "px are the pixels of the maps (MiddEval3 Q: quarter resolution; quarter-res bad0.5 = "
            "official full-res bad 2.0); lock: pixel-locking peak-to-peak, px (stereo.locking)",
            "mdisp_per_s: W*H*N / time_s / 1e6; means are unweighted over scenes",
            "error maps: |d - gt| green (0) to red (>= 4 px), blue = no output, black = no ground truth",
        ],
        "environment": _environment(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return report


# ---- reporting -------------------------------------------------------------------------------

_TABLE_COLUMNS = (
    # header, getter, format
    ("bad0.5", lambda r: r["nonocc"]["bad0.5"], "{:.2f}"),
    ("bad1", lambda r: r["nonocc"]["bad1"], "{:.2f}"),
    ("bad2", lambda r: r["nonocc"]["bad2"], "{:.2f}"),
    ("avgerr", lambda r: r["nonocc"]["avgerr"], "{:.2f}"),
    ("lock", lambda r: r["locking"]["ptp"], "{:.3f}"),
    ("bad2-all", lambda r: r["all"]["bad2"], "{:.2f}"),
    ("dens%", lambda r: r["density"], "{:.1f}"),
    ("AbsRel%", lambda r: 100.0 * r["abs_rel"], "{:.2f}"),
    ("ms", lambda r: 1000.0 * r["time_s"], "{:.1f}"),
    ("first_s", lambda r: r["first_call_s"], "{:.2f}"),
    ("Mdisp/s", lambda r: r["mdisp_per_s"], "{:.0f}"),
)


def _fmt(fmt: str, value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return fmt.format(value)


def _range_text(r: dict) -> str:
    return f"{r['min_disparity']}..{r['min_disparity'] + r['num_disparities'] - 1}"


def _table_rows(report: BenchReport) -> list[list[str]]:
    rows = []
    for r in report.rows:
        rows.append([r["scene"], r["method"], _range_text(r)]
                    + [_fmt(f, get(r)) for _, get, f in _TABLE_COLUMNS])
    for name, m in report.mean.items():
        rows.append(["MEAN", name, ""] + [_fmt(f, _safe(get, m)) for _, get, f in _TABLE_COLUMNS])
    return rows


def _safe(getter, row):
    try:
        return getter(row)
    except (KeyError, TypeError):
        return None


def format_table(report: BenchReport) -> str:
    """Fixed-width text table: one row per scene x method, then the per-method means.

    bad0.5/bad1/bad2/avgerr are on non-occluded pixels (percent, px of the maps: for
    MiddEval3 "Q" scenes quarter-resolution px, so bad0.5 there is the official full-res
    "bad 2.0"); lock = pixel-locking peak-to-peak (px, :mod:`stereo.locking`); bad2-all on every
    pixel with ground truth; dens% = valid output before filling; AbsRel% of metric
    depth; ms = median wall time; first_s = warm-up call; Mdisp/s = W*H*N per second / 1e6.
    """
    header = ["scene", "method", "range"] + [c[0] for c in _TABLE_COLUMNS]
    body = _table_rows(report)
    widths = [max(len(header[i]), *(len(row[i]) for row in body)) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(widths[i]) if i < 3 else c.rjust(widths[i]) for i, c in enumerate(cells))

    out = [line(header), "  ".join("-" * w for w in widths)]
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


def markdown_report(report: BenchReport) -> str:
    """results.md: protocol, then accuracy (nonocc, all), depth and speed, and means."""
    meta = report.meta
    metric_keys = ("bad0.5", "bad1", "bad2", "bad4", "avgerr", "rms", "density")
    parts = ["# Stereo benchmark", "",
             f"Dataset: `{meta.get('dataset')}` ({len(meta.get('scenes', []))} scenes), "
             f"{meta.get('repeat')} timed run(s) per method and scene, {meta.get('date')}.", "",
             "Methods:", ""]
    parts += [f"- `{name}`: {desc}" for name, desc in meta.get("methods", {}).items()]
    parts += ["", "Protocol:", ""] + [f"- {p}" for p in meta.get("protocol", [])]
    env = meta.get("environment", {})
    parts += ["", "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()), ""]

    def accuracy(region: str) -> str:
        rows = [[r["scene"], r["method"]] + [_fmt("{:.2f}", r[region][k]) for k in metric_keys]
                for r in report.rows]
        rows += [["**mean**", name] + [_fmt("{:.2f}", _safe(lambda m: m[region][k], m)) for k in metric_keys]
                 for name, m in report.mean.items()]
        return _md_table(["scene", "method", *metric_keys], rows)

    parts += ["## Accuracy, non-occluded pixels (percent; avgerr and rms in px)", "", accuracy("nonocc"), "",
              "## Accuracy, all pixels with ground truth", "", accuracy("all"), ""]
    speed_rows = [[r["scene"], r["method"], _range_text(r),
                   _fmt("{:.2f}", 100.0 * r["abs_rel"]), _fmt("{:.1f}", r["delta1"]),
                   _fmt("{:.1f}", 1000.0 * r["time_s"]), _fmt("{:.2f}", r["first_call_s"]),
                   _fmt("{:.0f}", r["mdisp_per_s"])] for r in report.rows]
    speed_rows += [["**mean**", name, "", _fmt("{:.2f}", _safe(lambda m: 100.0 * m["abs_rel"], m)),
                    _fmt("{:.1f}", _safe(lambda m: m["delta1"], m)),
                    _fmt("{:.1f}", _safe(lambda m: 1000.0 * m["time_s"], m)),
                    _fmt("{:.2f}", _safe(lambda m: m["first_call_s"], m)),
                    _fmt("{:.0f}", _safe(lambda m: m["mdisp_per_s"], m))] for name, m in report.mean.items()]
    parts += ["## Depth and speed", "",
              _md_table(["scene", "method", "range", "AbsRel %", "delta<1.25 %", "time ms", "first call s",
                         "Mdisp/s"], speed_rows), ""]
    parts += [locking_markdown(report.rows)]
    if report.images:
        parts += ["Pictures: `<scene>_<method>_disp.png`, `<scene>_<method>_error.png`, "
                  "`<scene>_gt.png`.", ""]
    return "\n".join(parts)


def write_report(report: BenchReport, outdir) -> list[str]:
    """Write results.json, results.md and the pictures into ``outdir``, all or nothing.

    Returns the file names written.
    """
    import json
    from pathlib import Path

    from .io import staged_directory

    def clean(obj):  # JSON has no NaN/inf: write null
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else None
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [clean(v) for v in obj]
        if isinstance(obj, np.generic):
            return clean(obj.item())
        return obj

    names = []
    with staged_directory(Path(outdir)) as stage:
        (stage / "results.json").write_text(json.dumps(clean(report.to_json()), indent=2) + "\n")
        (stage / "results.md").write_text(markdown_report(report))
        names += ["results.json", "results.md"]
        for fname, data in sorted(report.images.items()):
            (stage / fname).write_bytes(data)
            names.append(fname)
    return names


__all__ = ["Method", "METHODS", "BM_BLOCK_SIZE", "available_methods", "resolve_methods", "resolve_scenes",
           "opencv_range", "opencv_to_float", "BenchReport", "run_benchmark", "format_table",
           "markdown_report", "write_report"]
