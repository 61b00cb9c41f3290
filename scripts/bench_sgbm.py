#!/usr/bin/env python3
"""Benchmark our SGBM against OpenCV StereoSGBM (MODE_SGBM, MODE_HH, MODE_SGBM_3WAY).

On the MiddEval3 quarter-resolution training scenes (``stereo.paths.middlebury_dir()``):
per scene and mean of bad2.0 / bad1.0 (percent of non-occluded GT pixels off by more
than 2 / 1 pixels), avgerr (mean absolute error, pixels) and density (percent of valid
output pixels before filling). Scoring is dense, like the official SDK: invalid pixels
take the smaller of their two scanline neighbours (stereo.postprocess.fill).
Wall times are warm (one untimed run per method and scene first), best of ``--repeat``
runs, all threads (OpenCV's and Numba's defaults).

    python scripts/bench_sgbm.py [--scenes Adirondack,Teddy] [--colour] [--repeat 1]
           [--param p2=100 --param paths=16 ...]
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stereo.io.pfm import read_pfm  # noqa: E402
from stereo.paths import middlebury_dir  # noqa: E402
from stereo.postprocess.fill import fill_background  # noqa: E402
from stereo.sgbm import SGBM  # noqa: E402


def load_scene(root: Path, name: str, colour: bool):
    d = root / name
    flag = cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE
    left, right = cv2.imread(str(d / "im0.png"), flag), cv2.imread(str(d / "im1.png"), flag)
    calib = dict(line.strip().split("=", 1) for line in open(d / "calib.txt") if "=" in line)
    gt = read_pfm(d / "disp0GT.pfm")
    nocc = cv2.imread(str(d / "mask0nocc.png"), cv2.IMREAD_GRAYSCALE) == 255
    return left, right, int(calib["ndisp"]), gt, nocc & np.isfinite(gt)


def score(disp: np.ndarray, gt: np.ndarray, region: np.ndarray) -> dict:
    density = float(np.isfinite(disp).mean())
    dense, _ = fill_background(disp)
    dense = np.where(np.isfinite(dense), dense, 0.0)    # an all-invalid row scores as 0
    err = np.abs(dense[region] - gt[region])
    return {"bad2": 100.0 * float((err > 2.0).mean()), "bad1": 100.0 * float((err > 1.0).mean()),
            "avgerr": float(err.mean()), "density": 100.0 * density}


def opencv_matcher(mode: int, ndisp: int, cn: int):
    nd16 = (ndisp + 15) // 16 * 16
    return cv2.StereoSGBM_create(minDisparity=0, numDisparities=nd16, blockSize=5, P1=8 * cn * 25,
                                 P2=32 * cn * 25, disp12MaxDiff=1, uniquenessRatio=10,
                                 speckleWindowSize=100, speckleRange=2, mode=mode)


def opencv_run(matcher, left, right):
    raw = matcher.compute(left, right).astype(np.float32) / 16.0
    raw[raw < matcher.getMinDisparity()] = np.nan
    return raw


def timed(fn, repeat: int):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="trainingQ folder (default: stereo.paths)")
    ap.add_argument("--scenes", default=None, help="comma-separated scene names (default: all)")
    ap.add_argument("--colour", action="store_true", help="feed colour images (default grey)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per method and scene (best kept)")
    ap.add_argument("--no-opencv", action="store_true", help="only run our SGBM")
    ap.add_argument("--param", action="append", default=[], help="SGBM parameter NAME=VALUE (Python literal)")
    args = ap.parse_args(argv)
    root = args.data or middlebury_dir()
    if not root.is_dir():
        print(f"MiddEval3 data not found at {root}", file=sys.stderr)
        return 2
    names = args.scenes.split(",") if args.scenes else sorted(p.name for p in root.iterdir() if p.is_dir())
    params = {}
    for item in args.param:
        k, v = item.split("=", 1)
        try:
            params[k] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            params[k] = v
    methods = ["ours"] + ([] if args.no_opencv else ["SGBM", "HH", "3WAY"])
    modes = {"SGBM": cv2.STEREO_SGBM_MODE_SGBM, "HH": cv2.STEREO_SGBM_MODE_HH,
             "3WAY": cv2.STEREO_SGBM_MODE_SGBM_3WAY}
    rows = {m: [] for m in methods}
    times = {m: 0.0 for m in methods}
    print(f"data: {root}  images: {'colour' if args.colour else 'grey'}  params: {params or 'defaults'}")
    print(f"{'scene':<12}" + "".join(f"{m + ' bad2':>11}" for m in methods) + "".join(f"{m + ' s':>9}" for m in methods))
    for name in names:
        left, right, ndisp, gt, region = load_scene(root, name, args.colour)
        cn = 1 if left.ndim == 2 else left.shape[2]
        line_b, line_t = "", ""
        for m in methods:
            if m == "ours":
                matcher = SGBM(min_disparity=0, num_disparities=ndisp, **params)
                fn = lambda: matcher.compute(left, right)  # noqa: E731
            else:
                matcher = opencv_matcher(modes[m], ndisp, cn)
                fn = lambda: opencv_run(matcher, left, right)  # noqa: E731
            fn()  # warm-up: compilation / cache load, allocations
            disp, sec = timed(fn, args.repeat)
            s = score(disp, gt, region)
            rows[m].append(s)
            times[m] += sec
            line_b += f"{s['bad2']:11.2f}"
            line_t += f"{sec:9.3f}"
        print(f"{name:<12}{line_b}{line_t}", flush=True)
    print()
    print(f"{'method':<8}{'bad2.0':>9}{'bad1.0':>9}{'avgerr':>9}{'density':>9}{'time s':>9}{'ours/x':>8}")
    for m in methods:
        mean = {k: float(np.mean([r[k] for r in rows[m]])) for k in ("bad2", "bad1", "avgerr", "density")}
        ratio = times["ours"] / times[m] if times[m] > 0 else float("nan")
        print(f"{m:<8}{mean['bad2']:9.2f}{mean['bad1']:9.2f}{mean['avgerr']:9.2f}{mean['density']:9.1f}"
              f"{times[m]:9.3f}{ratio:8.2f}")
    if not args.no_opencv:
        worse = [n for i, n in enumerate(names) if rows["ours"][i]["bad2"] > rows["SGBM"][i]["bad2"]]
        print(f"scenes where ours is worse than OpenCV MODE_SGBM: {', '.join(worse) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
