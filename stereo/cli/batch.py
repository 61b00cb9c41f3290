"""``stereo batch DATASET -o OUT``: ``stereo match`` over many pairs, on Dask, resumable."""

from __future__ import annotations

from ..errors import ParameterError
from .match import add_matching_arguments, load_calibration_arg, matching_options

EXIT_PAIRS_FAILED = 3


def register(subparsers):
    p = subparsers.add_parser(
        "batch", help="match every pair of a dataset (Dask or a local process pool), resumably",
        description="Run `stereo match` on every pair of a dataset: a MiddEval3-layout folder "
                    "(scene folders with im0.png/im1.png, optional calib.txt and disp0GT.pfm), a "
                    "KITTI-layout folder (image_2/ and image_3/), a list file ('LEFT RIGHT [CALIB]' "
                    "per line), or --left/--right folders or quoted globs paired by sorted order. "
                    "Pair NAME's files go to OUT/NAME/, exactly as `stereo match` writes them. "
                    "OUT/manifest.jsonl records every pair; a rerun skips pairs already done with "
                    "the same inputs and options. Exit status 3 when any pair failed.")
    p.add_argument("dataset", nargs="?", help="dataset folder or list file (or use --left/--right)")
    p.add_argument("-o", "--out", required=True, help="output folder (one sub-folder per pair + manifest)")
    p.add_argument("--left", help="left images: folder or quoted glob (with --right, instead of DATASET)")
    p.add_argument("--right", help="right images: folder or quoted glob, paired with --left by sorted order")
    p.add_argument("--workers", type=int, default=2,
                   help="worker processes of the local cluster/pool, 1 matcher thread each (default 2)")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://host:8786 "
                                       "(inputs and OUT must be visible to every worker)")
    p.add_argument("--engine", choices=("auto", "dask", "processes"), default="auto",
                   help="auto (default): Dask if installed, else a local process pool")
    p.add_argument("--pairs-per-task", type=int, default=1,
                   help="pairs per Dask task (default 1; 10-100 for big clusters and small pairs)")
    p.add_argument("--retry-failed", action="store_true", help="also redo pairs that failed before")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_matching_arguments(p)
    p.set_defaults(func=run)


def list_dataset(args):
    from ..sources.datasets import folder_pairs, list_pairs

    if args.left or args.right:
        if not (args.left and args.right):
            raise ParameterError("--left and --right go together")
        if args.dataset:
            raise ParameterError("give either DATASET or --left/--right, not both")
        return folder_pairs(args.left, args.right)
    if not args.dataset:
        raise ParameterError("give a DATASET (folder or list file) or --left and --right")
    return list_pairs(args.dataset)


def run(args):
    from ..batch import run_batch

    options = matching_options(args)
    load_calibration_arg(args.calib)  # a bad --calib fails here, before any worker starts
    pairs = list_dataset(args)
    summary = run_batch(pairs, args.out, options, calib=args.calib, workers=args.workers,
                        scheduler=args.scheduler, engine=args.engine, retry_failed=args.retry_failed,
                        progress=False if args.no_progress else None,
                        pairs_per_task=args.pairs_per_task)
    for line in summary.lines():
        print(line)
    return EXIT_PAIRS_FAILED if summary.any_failed else 0
