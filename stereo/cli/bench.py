"""``stereo bench [DATASET_DIR]``: accuracy and speed of our matchers and OpenCV's.

Runs every method on every scene of a MiddEval3-style folder (default ``$STEREO_DATA`` or
the shared ``MiddEval3/trainingQ``), a KITTI-layout folder (image_2/, image_3/,
disp_occ_0/) or a folder of plain left/right pairs (speed only), and prints one row per
scene x method plus the means (plain, and the official weighted mean on MiddEval3
training scenes). With ``--out``, also writes results.json, results.md, disparity /
error-map PNGs and the results in the official layouts (Middlebury SDK, KITTI devkit),
all or nothing. Protocol: see :mod:`stereo.evaluation.bench`.
"""

from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers):
    from ..evaluation.bench import METHODS

    p = subparsers.add_parser(
        "bench", help="benchmark matchers on Middlebury-style scenes (accuracy, depth error, speed)",
        description="Benchmark stereo matchers on a MiddEval3-style dataset: Middlebury bad-pixel "
                    "rates (dense scoring), density, AbsRel of metric depth and wall time. Every method "
                    "searches the scene's ndisp rounded up to a multiple of 16 (OpenCV's requirement).")
    p.add_argument("dataset", nargs="?", metavar="DATASET_DIR",
                   help="folder of scene folders (im0.png, im1.png, calib.txt, disp0GT.pfm, mask0nocc.png), "
                        "a KITTI-layout folder (image_2/, image_3/, disp_occ_0/ [, disp_noc_0/, "
                        "calib_cam_to_cam/]) or a folder of left*/right* pairs (speed only); "
                        "default: $STEREO_DATA or ../shared/data/middlebury/MiddEval3/trainingQ")
    p.add_argument("--methods", nargs="+", metavar="METHOD",
                   help=f"methods (space or comma separated; default: all available): {', '.join(METHODS)}")
    p.add_argument("--scenes", nargs="+", metavar="SCENE", help="scene folder names (default: all)")
    p.add_argument("-o", "--out", help="write results.json, results.md and PNG pictures here")
    p.add_argument("--repeat", type=int, default=3, 
                   help="timed runs per method and scene (median; default 3)")
    p.add_argument("--resolution", metavar="F|H|Q",
                   help="MiddEval3 resolution of the dataset when its folder is not named trainingF/H/Q "
                        "(sets the official full-resolution pixel columns)")
    p.add_argument("--num-disparities", type=int, metavar="N",
                   help="search range length for KITTI / plain pairs (default 192) or to override ndisp")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--speed", action="store_true",
                   help="speed only, no ground truth (stereo.evaluation.speed): standard frame sizes made "
                        "from one scene (--scenes, default Adirondack); methods: ours-sgbm, ours-realtime, "
                        "opencv-sgbm, opencv-3way, opencv-hh, opencv-bm")
    p.add_argument("--quick", action="store_true", help="with --speed: skip the full-resolution run")
    p.set_defaults(func=run)


def _names(values):
    if not values:
        return None
    return [n.strip() for v in values for n in v.split(",") if n.strip()] or None


def _reclaim_dataset(args):
    # `stereo bench --methods a b DIR`: nargs="+" swallows DIR; take it back when it is a folder.
    for attr in ("scenes", "methods"):
        values = getattr(args, attr)
        if args.dataset is None and values and len(values) > 1 and Path(values[-1]).is_dir():
            args.dataset = values.pop()


def run(args):
    from ..evaluation.bench import format_table, run_benchmark, write_report
    from ..paths import middlebury_dir

    _reclaim_dataset(args)
    root = Path(args.dataset) if args.dataset else middlebury_dir()
    if args.speed:
        from ..evaluation.speed import run_cli
        return run_cli(args, root)
    report = run_benchmark(root, _names(args.methods), _names(args.scenes), repeat=args.repeat,
                           progress=not args.no_progress, images=bool(args.out), resolution=args.resolution,
                           num_disparities=args.num_disparities, keep_disparities=bool(args.out))
    print(format_table(report))
    if args.out:
        written = write_report(report, Path(args.out))
        print(f"wrote {len(written)} files to {args.out} (results.json, results.md, pictures, "
              f"results in the official layout)")
    sys.stdout.flush()
    return 0
