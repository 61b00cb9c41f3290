"""``stereo match LEFT RIGHT -o OUTDIR``: disparity (and depth, cloud) for one pair."""

from __future__ import annotations

from pathlib import Path

from ..errors import ParameterError


def register(subparsers):
    p = subparsers.add_parser(
        "match", help="compute disparity (and metric depth with --calib) for a pair or a sequence",
        description="Compute disparity for a stereo pair (left = reference). With --calib, also "
                    "metric depth and a point cloud; raw pairs are rectified first when the "
                    "calibration is a full rig. LEFT and RIGHT may also be two folders, two quoted "
                    "globs or two videos (paired by sorted order / frame number), or one "
                    "side-by-side video with --side-by-side: each pair's files then go to "
                    "OUT/<name>/ and a latency summary ends the run.")
    p.add_argument("left", help="left image, folder, quoted glob or video (reference)")
    p.add_argument("right", nargs="?", help="right image, folder, glob or video (omit with --side-by-side)")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--side-by-side", action="store_true",
                   help="LEFT is a video (or images) whose frames hold both views, left half = left view")
    p.add_argument("--no-progress", action="store_true", help="sequences: no progress bar")
    p.add_argument("--rerun", metavar="FILE.rrd",
                   help="also record image, depth and points per frame for the Rerun viewer "
                        "(optional: pip install rerun-sdk; open with `rerun FILE.rrd`)")
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
    from ..sources import is_sequence

    if is_sequence(args.left, args.right, args.side_by_side) or args.rerun:
        return run_sequence(args)
    from ..io import read_image
    from ..pipeline import match_pair, summarize
    from ..io.pair_outputs import check_output_dir, write_pair_outputs

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


def camera_options(opts: dict) -> dict:
    """``matching_options`` renamed for :class:`stereo.camera.StereoCamera`."""
    opts = dict(opts)
    if "near_m" in opts:
        opts["near"] = opts.pop("near_m")
        opts["far"] = opts.pop("far_m")
    if opts.pop("uncalibrated", False):
        raise ParameterError("--uncalibrated works on single pairs only")
    return opts


def run_sequence(args):
    """Match every pair of a sequence with one camera; files in OUT/<name>/."""
    import sys
    import time

    from tqdm import tqdm

    from ..camera import StereoCamera
    from ..latency import format_latency, latency_summary
    from ..pipeline import pair_result
    from ..sources import open_sequence
    from ..io.pair_outputs import write_pair_outputs

    camera = StereoCamera(load_calibration_arg(args.calib), **camera_options(matching_options(args)))
    count, frames = open_sequence(args.left, args.right, side_by_side=args.side_by_side)
    out = Path(args.out)
    viewer = None
    if args.rerun:
        from ..sinks.rerun_view import RerunSink
        viewer = RerunSink(args.rerun)
    times, near_notes = [], []
    start = time.perf_counter()
    bar = tqdm(frames, total=count, unit="pair", disable=args.no_progress or None, file=sys.stderr)
    for fp in bar:
        frame = camera.process(fp.left, fp.right, stamp=fp.stamp)
        times.append(frame.timings_ms["total"])
        if frame.notes:
            near_notes.append(frame.notes[-1])
        write_pair_outputs(pair_result(camera, frame), out / fp.name)
        if viewer is not None:
            viewer.log(frame, fp.index)
    bar.close()
    if viewer is not None:
        viewer.close()
    wall = time.perf_counter() - start
    if camera.matcher is not None:
        print(camera.range_description)
    if near_notes:
        print(f"warning: in {len(near_notes)} of {len(times)} pairs, e.g. the last: {near_notes[-1]}")
    summary = latency_summary(times, wall)
    print(format_latency(summary, "rectify + match + depth"))
    print(f"wrote {summary['frames']} folders of outputs to {out}")
    return 0
