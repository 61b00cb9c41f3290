#!/usr/bin/env python3
"""Benchmark our BlockMatcher against cv2.StereoBM on the MiddEval3 quarter-res training scenes.

Same block size and range for both: [0, ndisp rounded up to 16) from calib.txt (OpenCV
needs a multiple of 16), grey uint8 input, uniqueness 15, speckles 100 px / 2 px,
left-right tolerance 1 px. Per scene and mean: bad2.0 on non-occluded GT pixels scored
sparse (valid pixels only) and dense (invalid runs on a scanline take the smaller of
their two neighbours, like the Middlebury SDK), and density. Throughput is
W*H*D / second, warm, median of ``--repeat`` runs in this process, ours and OpenCV
alternating so that both see the same machine load (quote the ratio, not the absolute
numbers, on a shared machine). The first call of ours (Numba compile or cache load) is
reported separately as cold time; ``--warm-start`` also times a fresh process from
``import stereo`` to the first disparity map (Numba cache already filled).

    python scripts/bench_bm.py [--block-size 9] [--repeat 5] [--scenes Teddy,ArtL]
                               [--threads N] [--warm-start]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stereo import BlockMatcher  # noqa: E402
from stereo.io.pfm import read_pfm  # noqa: E402
from stereo.paths import middlebury_dir  # noqa: E402
from stereo.postprocess.fill import fill_background  # noqa: E402

SCENES = ("Adirondack", "ArtL", "Motorcycle", "MotorcycleE", "Piano", "PianoL", "Pipes",
          "Playtable", "PlaytableP", "Teddy")


def load(name: str):
    d = middlebury_dir() / name
    left = cv2.imread(str(d / "im0.png"), cv2.IMREAD_GRAYSCALE)
    right = cv2.imread(str(d / "im1.png"), cv2.IMREAD_GRAYSCALE)
    calib = dict(line.strip().split("=", 1) for line in open(d / "calib.txt") if "=" in line)
    gt = read_pfm(d / "disp0GT.pfm")
    nocc = (cv2.imread(str(d / "mask0nocc.png"), cv2.IMREAD_GRAYSCALE) == 255) & np.isfinite(gt)
    return left, right, int(calib["ndisp"]), gt, nocc


def scores(disp, gt, region):
    valid = region & np.isfinite(disp)
    sparse = 100.0 * float(np.mean(np.abs(disp[valid] - gt[valid]) > 2.0)) if valid.any() else float("nan")
    dense, _ = fill_background(disp)
    dense = np.where(np.isfinite(dense), dense, 0.0)
    return sparse, 100.0 * float(np.mean(np.abs(dense[region] - gt[region]) > 2.0)), \
        100.0 * float(np.isfinite(disp).mean())


def median_times(fns, repeat):
    """Median seconds of each function, called in turn ``repeat`` times; last outputs."""
    times = [[] for _ in fns]
    outs = [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - t)
    return [float(np.median(t)) for t in times], outs


_WARM = """
import time
t0 = time.perf_counter()
import cv2
from stereo import BlockMatcher
left = cv2.imread({left!r}, cv2.IMREAD_GRAYSCALE)
right = cv2.imread({right!r}, cv2.IMREAD_GRAYSCALE)
t1 = time.perf_counter()
BlockMatcher(num_disparities={nd}, block_size={bs}).compute(left, right)
t2 = time.perf_counter()
print(f"{{t1 - t0:.3f}} {{t2 - t1:.3f}}")
"""


def warm_start(name: str, nd: int, bs: int) -> tuple[float, float]:
    """(import + image load, first compute) seconds in a fresh interpreter."""
    d = middlebury_dir() / name
    code = _WARM.format(left=str(d / "im0.png"), right=str(d / "im1.png"), nd=nd, bs=bs)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).resolve().parent.parent))
    a, b = out.stdout.split()
    return float(a), float(b)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block-size", type=int, default=9)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for both (Numba and OpenCV); 0 = their defaults")
    ap.add_argument("--warm-start", action="store_true",
                    help="also time import + first compute in a fresh process")
    args = ap.parse_args(argv)
    if args.threads > 0:
        import numba
        numba.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    if not (middlebury_dir() / "Teddy").exists():
        sys.exit(f"Middlebury data not found under {middlebury_dir()} (set STEREO_DATA)")
    bs = args.block_size
    rows = []
    cold = None
    print(f"{'scene':12s} {'ours sp':>8s} {'ours dn':>8s} {'dens':>6s} | {'cv sp':>7s} {'cv dn':>7s} "
          f"{'dens':>6s} | {'ours Mc/s':>9s} {'cv Mc/s':>8s} {'ratio':>6s}")
    for name in args.scenes.split(","):
        left, right, ndisp, gt, nocc = load(name)
        nd = (ndisp + 15) // 16 * 16
        ours = BlockMatcher(min_disparity=0, num_disparities=nd, block_size=bs, uniqueness_ratio=15,
                            lr_max_diff=1.0, speckle_window_size=100, speckle_range=2)
        cvbm = cv2.StereoBM_create(numDisparities=nd, blockSize=bs)
        cvbm.setUniquenessRatio(15)
        cvbm.setSpeckleWindowSize(100)
        cvbm.setSpeckleRange(32)              # 2 px in OpenCV's 1/16-pixel units
        cvbm.setDisp12MaxDiff(1)
        if cold is None:
            t = time.perf_counter()
            ours.compute(left, right)
            cold = time.perf_counter() - t
        ours.compute(left, right)
        cvbm.compute(left, right)
        (t_ours, t_cv), (d_ours, raw) = median_times(
            [lambda: ours.compute(left, right), lambda: cvbm.compute(left, right)], args.repeat)
        d_cv = raw.astype(np.float32) / 16.0
        d_cv[raw < 0] = np.nan                # OpenCV marks invalid with (minDisparity - 1) * 16
        cells = left.size * nd
        row = (scores(d_ours, gt, nocc) + scores(d_cv, gt, nocc)
               + (cells / t_ours / 1e6, cells / t_cv / 1e6, t_cv / t_ours))
        rows.append(row)
        print(f"{name:12s} {row[0]:8.2f} {row[1]:8.2f} {row[2]:6.1f} | {row[3]:7.2f} {row[4]:7.2f} "
              f"{row[5]:6.1f} | {row[6]:9.0f} {row[7]:8.0f} {row[8]:6.2f}")
    arr = np.array(rows)
    m = np.nanmean(arr, axis=0)
    print(f"{'mean':12s} {m[0]:8.2f} {m[1]:8.2f} {m[2]:6.1f} | {m[3]:7.2f} {m[4]:7.2f} {m[5]:6.1f} | "
          f"{m[6]:9.0f} {m[7]:8.0f} {m[8]:6.2f}")
    print(f"throughput ratio ours/OpenCV: {m[6] / m[7]:.2f} (ratio of means), "
          f"{float(np.median(arr[:, 8])):.2f} (median per scene); "
          f"first call (compile or cache load): {cold:.2f} s")
    if args.warm_start:
        name = args.scenes.split(",")[0]
        nd = (load(name)[2] + 15) // 16 * 16
        imp, first = warm_start(name, nd, bs)
        print(f"warm start (fresh process, {name}): import + load {imp:.2f} s, first compute "
              f"{first:.2f} s, total {imp + first:.2f} s")


if __name__ == "__main__":
    main()
