"""``stereo match LEFT RIGHT -o OUTDIR``: disparity (and depth, cloud) for one pair."""

from __future__ import annotations

from pathlib import Path

from ..errors import ParameterError


def register(subparsers):
    p = subparsers.add_parser(
        "match", help="compute disparity (and metric depth with --calib) for one stereo pair",
        description="Compute disparity for a stereo pair (left = reference). With --calib, also "
                    "metric depth and a point cloud; raw pairs are rectified first when the "
                    "calibration is a full rig.")
    p.add_argument("left", help="left image (reference)")
    p.add_argument("right", help="right image")
    p.add_argument("-o", "--out", required=True, help="output folder")
    add_matching_arguments(p)
    p.set_defaults(func=run)


def add_matching_arguments(p):
    """Options shared by ``match`` and ``demo``."""
    p.add_argument("--calib", help="calibration file (Middlebury calib.txt, rig YAML, OpenCV YAML/XML, "
                                   "ROS 'left.yaml,right.yaml', KITTI calib_cam_to_cam.txt)")
    p.add_argument("--calib-units", choices=("m", "cm", "mm", "in"),
                   help="length unit of T in an OpenCV YAML/XML calibration (those files carry none; "
                        "|T| > 5 without a unit is refused)")
    p.add_argument("--method", choices=("sgbm", "bm"), default="sgbm", help="matcher (default: sgbm)")
    p.add_argument("--min-disparity", type=int, help="smallest disparity searched, px (may be negative)")
    p.add_argument("--num-disparities", type=int, help="number of disparities searched (any positive int)")
    p.add_argument("--near", help="nearest depth to resolve, e.g. 0.5m (needs --calib; sets the range)")
    p.add_argument("--far", help="farthest depth to resolve, e.g. 20m or inf (needs --calib)")
    p.add_argument("--block-size", type=int, help="bm: block size (odd); sgbm: census window (odd, 3..7)")
    p.add_argument("--fill", action="store_true", help="sgbm: fill invalid pixels (dense output, flagged)")
    p.add_argument("--uncalibrated", action="store_true",
                   help="raw pair without calibration: rectify it from feature matches first "
                        "(disparity-only output; residual vertical error reported)")


def matching_options(args) -> dict:
    """Translate CLI options into ``stereo.pipeline.match_pair`` keywords."""
    opts = dict(method=args.method, min_disparity=args.min_disparity,
                num_disparities=args.num_disparities, block_size=args.block_size)
    if args.near is not None or args.far is not None:
        opts["near_m"] = _length(args.near, "--near")
        opts["far_m"] = _length(args.far, "--far")
    if getattr(args, "uncalibrated", False):
        opts["uncalibrated"] = True
    if args.fill:
        if args.method != "sgbm":
            raise ParameterError("--fill is available with --method sgbm")
        opts["fill"] = True
    return opts


def _length(text, option):
    if text is None:
        return None
    if text.strip().lower() in ("inf", "infinity"):
        return float("inf")
    from calib.units import parse_length
    try:
        return parse_length(text)
    except ValueError as exc:
        raise ParameterError(f"{option}: {exc}") from None


def load_calibration_arg(path, units=None):
    if path is None:
        if units is not None:
            raise ParameterError("--calib-units needs --calib")
        return None
    from calib.formats import load_calibration
    return load_calibration(path, units=units)


def run(args):
    from ..io import read_image
    from ..pipeline import match_pair, summarize
    from .outputs import check_output_dir, write_pair_outputs

    check_output_dir(args.out, (args.left, args.right, args.calib))  # before any work
    opts = matching_options(args)
    calibration = load_calibration_arg(args.calib, getattr(args, "calib_units", None))
    left = read_image(args.left)
    right = read_image(args.right)
    res = match_pair(left, right, calibration=calibration, **opts)
    written = write_pair_outputs(res, Path(args.out))
    for line in summarize(res):
        print(line)
    print(f"wrote {', '.join(written)} to {args.out}")
    return 0
