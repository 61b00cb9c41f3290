"""Speed benchmark without ground truth: ``stereo bench --speed``.

Standard frame sizes are made from one shared MiddEval3 scene (``im0.png``/``im1.png``,
grey) by resizing and cropping, so no ground truth is needed:

==================  ==========================================================================
``640x480 D=64``    scene resized to 640x480 (VGA robot camera), 64 disparities
``640x480 D=128``   same frame, 128 disparities
``1242x375 D=192``  scene resized to width 1242, central 375 rows (KITTI frame), 192 disparities
``full x4 D=288``   scene upscaled 4x (about 2900x2000, MiddEval3 full resolution), 288
                    disparities; run once per method in a child process that reports its
                    peak resident memory (VmHWM); opencv-hh is left out (tens of
                    seconds and about 6 GB)
==================  ==========================================================================

Per method and size: median wall time and median process CPU time (all threads) over
``repeat`` runs after one untimed warm-up, methods interleaved run by run so that a noisy
machine hits them alike; Mcells/s = W * H * D / wall time; fps = 1 / wall time. All
methods use all cores (Numba's and OpenCV's defaults). Compare methods within one run
(ratios), not across runs: timings on a shared machine drift.

Methods: ``ours-sgbm`` (:class:`stereo.sgbm.SGBM` defaults, ``compute()``: the NaN map a
robot uses, without the dense fill that the accuracy bench's ``ours-sgbm`` adds; that
bench's ``ours-sgbm-sparse`` is this matcher), ``ours-realtime``
(``SGBM.preset("realtime")``), ``opencv-sgbm`` / ``opencv-3way`` / ``opencv-hh``
(``cv2.StereoSGBM`` block 5, P1 = 8*25, P2 = 32*25, uniqueness 10, speckle 100/2,
disp12MaxDiff 1, grey input) and ``opencv-bm`` (``cv2.StereoBM`` block 9).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, ParameterError

SPEED_METHODS = ("ours-sgbm", "ours-realtime", "opencv-sgbm", "opencv-3way", "opencv-hh", "opencv-bm")
SIZES = (("640x480 D=64", 640, 480, 64), ("640x480 D=128", 640, 480, 128),
         ("1242x375 D=192", 1242, 375, 192))
FULL = ("full x4 D=288", 4, 288)
FULL_SKIP = ("opencv-hh",)
DEFAULT_SCENE = "Adirondack"


def make_matcher(name: str, num_disparities: int):
    """``(left, right) -> result`` callable for a method name of :data:`SPEED_METHODS`."""
    if name == "ours-sgbm":
        from ..sgbm import SGBM
        return SGBM(0, num_disparities).compute
    if name == "ours-realtime":
        from ..sgbm import SGBM
        return SGBM.preset("realtime", min_disparity=0, num_disparities=num_disparities).compute
    nd16 = -(-num_disparities // 16) * 16
    if name == "opencv-bm":
        bm = cv2.StereoBM_create(numDisparities=nd16, blockSize=9)
        return bm.compute
    modes = {"opencv-sgbm": cv2.STEREO_SGBM_MODE_SGBM, "opencv-3way": cv2.STEREO_SGBM_MODE_SGBM_3WAY,
             "opencv-hh": cv2.STEREO_SGBM_MODE_HH}
    if name not in modes:
        raise ParameterError(f"unknown speed method {name!r}; choose from {', '.join(SPEED_METHODS)}")
    m = cv2.StereoSGBM_create(minDisparity=0, numDisparities=nd16, blockSize=5, P1=8 * 25, P2=32 * 25,
                              disp12MaxDiff=1, preFilterCap=63, uniquenessRatio=10,
                              speckleWindowSize=100, speckleRange=2, mode=modes[name])
    return m.compute


def load_pair(scene_dir) -> tuple[np.ndarray, np.ndarray]:
    d = Path(scene_dir)
    left = cv2.imread(str(d / "im0.png"), cv2.IMREAD_GRAYSCALE)
    right = cv2.imread(str(d / "im1.png"), cv2.IMREAD_GRAYSCALE)
    if left is None or right is None:
        raise InputError(f"no readable im0.png/im1.png in {d}")
    return left, right


def make_frame(left, right, width: int, height: int):
    """Resize the pair to ``width`` and crop (or resize) to ``height`` rows, centred."""
    h0, w0 = left.shape
    new_h = max(height, round(h0 * width / w0))
    out = []
    for img in (left, right):
        r = cv2.resize(img, (width, new_h), interpolation=cv2.INTER_AREA if width < w0 else cv2.INTER_LINEAR)
        top = (new_h - height) // 2
        out.append(np.ascontiguousarray(r[top:top + height]))
    return out[0], out[1]


@dataclass
class SpeedRow:
    size: str
    method: str
    width: int
    height: int
    num_disparities: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float | None = None

    @property
    def mcells_per_s(self) -> float:
        return self.width * self.height * self.num_disparities / self.wall_s / 1e6

    @property
    def fps(self) -> float:
        return 1.0 / self.wall_s


def _time_sizes(left, right, methods, repeat: int, progress) -> list[SpeedRow]:
    rows = []
    for label, w, h, nd in SIZES:
        fl, fr = make_frame(left, right, w, h)
        fns = {m: make_matcher(m, nd) for m in methods}
        for fn in fns.values():
            fn(fl, fr)                               # warm-up: JIT cache load, allocations
        samples = {m: [] for m in methods}
        for _ in range(repeat):
            for m, fn in fns.items():
                t, c = time.perf_counter(), time.process_time()
                fn(fl, fr)
                samples[m].append((time.perf_counter() - t, time.process_time() - c))
        for m in methods:
            rows.append(SpeedRow(label, m, w, h, nd, statistics.median(s[0] for s in samples[m]),
                                 statistics.median(s[1] for s in samples[m])))
        if progress:
            print(f"  {label}: done", file=sys.stderr, flush=True)
    return rows


def _peak_rss_kib() -> float:
    # VmHWM (Linux): the high-water mark of this process image only. getrusage's ru_maxrss
    # is kept across exec, so a child would report its parent's peak when that is larger.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    import resource
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)   # KiB on Linux


def _child_full(method: str, scene_dir: str, scale: int, nd: int) -> dict:
    """Run in a fresh process: one warm-up on a small frame, one timed full-size run."""
    left, right = load_pair(scene_dir)
    small = make_frame(left, right, 320, 240)
    make_matcher(method, 32)(*small)                 # JIT cache load outside the timing
    h0, w0 = left.shape
    big = [cv2.resize(img, (w0 * scale, h0 * scale), interpolation=cv2.INTER_CUBIC) for img in (left, right)]
    fn = make_matcher(method, nd)
    t, c = time.perf_counter(), time.process_time()
    fn(*big)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": _peak_rss_kib() / 1024.0,
            "width": w0 * scale, "height": h0 * scale}


def _time_full(methods, scene_dir, progress) -> list[SpeedRow]:
    label, scale, nd = FULL
    rows = []
    for m in methods:
        if m in FULL_SKIP:
            continue
        cmd = [sys.executable, "-m", "stereo.evaluation.speed", "--child", m, str(scene_dir), str(scale), str(nd)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
        if proc.returncode != 0:
            raise RuntimeError(f"full-resolution run of {m} failed: {proc.stderr.strip()[-500:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(SpeedRow(label, m, r["width"], r["height"], nd, r["wall_s"], r["cpu_s"], r["peak_rss_mib"]))
        if progress:
            print(f"  {label} {m}: {r['wall_s']:.2f} s", file=sys.stderr, flush=True)
    return rows


def run_speed(scene_dir, methods=None, *, repeat: int = 5, full: bool = True,
              progress: bool = True) -> list[SpeedRow]:
    """Time every method at every standard size; see the module docstring."""
    methods = list(methods or SPEED_METHODS)
    for m in methods:
        if m not in SPEED_METHODS:
            raise ParameterError(f"unknown speed method {m!r}; choose from {', '.join(SPEED_METHODS)}")
    if repeat < 1:
        raise ParameterError(f"repeat must be >= 1, got {repeat}")
    left, right = load_pair(scene_dir)
    rows = _time_sizes(left, right, methods, repeat, progress)
    if full:
        rows += _time_full(methods, scene_dir, progress)
    return rows


def format_speed(rows: list[SpeedRow]) -> str:
    """Plain-text table; ``vs 3way`` is wall time over opencv-3way's at the same size."""
    ref = {r.size: r.wall_s for r in rows if r.method == "opencv-3way"}
    head = (f"{'size':<16}{'method':<15}{'wall ms':>9}{'cpu ms':>9}{'Mcells/s':>10}{'fps':>8}"
            f"{'vs 3way':>9}{'peak MiB':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        rel = f"{r.wall_s / ref[r.size]:9.2f}" if r.size in ref else f"{'-':>9}"
        rss = f"{r.peak_rss_mib:10.0f}" if r.peak_rss_mib is not None else f"{'-':>10}"
        lines.append(f"{r.size:<16}{r.method:<15}{r.wall_s * 1e3:9.1f}{r.cpu_s * 1e3:9.1f}"
                     f"{r.mcells_per_s:10.0f}{r.fps:8.1f}{rel}{rss}")
    return "\n".join(lines)


def run_cli(args, root: Path) -> int:
    """``stereo bench --speed``: ``args.methods`` (names), ``args.repeat``, ``args.scenes``
    (first one used; default Adirondack), ``args.no_progress``; ``root`` the dataset."""
    names = [n.strip() for v in (args.methods or []) for n in v.split(",") if n.strip()]
    scene = (args.scenes or [DEFAULT_SCENE])[0]
    scene_dir = root / scene
    if not scene_dir.is_dir():
        print(f"error: scene folder not found: {scene_dir}", file=sys.stderr)
        return 2
    try:
        rows = run_speed(scene_dir, names or None, repeat=args.repeat, full=not args.quick,
                         progress=not args.no_progress)
    except (ParameterError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"scene: {scene_dir}  (times: median of {args.repeat}; full resolution: one run in a child process)")
    print(format_speed(rows))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        print(json.dumps(_child_full(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))
        sys.exit(0)
    print("usage: stereo bench --speed", file=sys.stderr)
    sys.exit(2)
