"""``stereo range --calib rig.yaml --near 0.5m --far 20m``: the disparity search range."""

from __future__ import annotations

import math

from ..errors import ParameterError


def register(subparsers):
    p = subparsers.add_parser(
        "range", help="disparity search range for a depth interval",
        description="Print the disparity search range (min_disparity, num_disparities) that covers "
                    "depths from --near to --far for a calibration (any format stereo match accepts).")
    p.add_argument("--calib", required=True, help="calibration file")
    p.add_argument("--calib-units", choices=("m", "cm", "mm", "in"),
                   help="length unit of T in an OpenCV YAML/XML calibration (those files carry none)")
    p.add_argument("--near", help="nearest depth, e.g. 0.5m or 50cm")
    p.add_argument("--far", help="farthest depth, e.g. 20m, or inf")
    p.add_argument("--min-disparity", type=int, default=0,
                   help="with --num-disparities instead of --near/--far: say which depths it covers")
    p.add_argument("--num-disparities", type=int,
                   help="number of disparities searched: print the depths this range covers")
    p.add_argument("--margin", type=int, default=1, help="extra disparities on both ends (default 1)")
    p.set_defaults(func=run)


def _length(text, option, allow_inf=False):
    from calib.units import parse_length
    if allow_inf and str(text).strip().lower() in ("inf", "infinity"):
        return math.inf
    try:
        return parse_length(text)
    except ValueError as exc:
        raise ParameterError(f"{option}: {exc}") from None


def run(args):
    from calib.formats import load_calibration
    from ..depth_budget import describe_range, disparity_range

    calibration = load_calibration(args.calib, units=args.calib_units)
    rect = calibration.rectified() if hasattr(calibration, "rectified") else calibration
    if args.num_disparities is not None:
        if args.near is not None or args.far is not None:
            raise ParameterError("give either --near/--far or --num-disparities, not both")
        print(describe_range(rect, args.min_disparity, args.num_disparities))
        return 0
    if args.near is None or args.far is None:
        raise ParameterError("give --near and --far (or --num-disparities)")
    near = _length(args.near, "--near")
    far = _length(args.far, "--far", allow_inf=True)
    lo, n = disparity_range(rect, near, far, margin_px=args.margin)
    fb = rect.focal_px * rect.baseline_m
    print(f"min_disparity {lo}")
    print(f"num_disparities {n}")
    print(f"searched disparities [{lo}, {lo + n - 1}] px for depths {near:g} m .. {far:g} m "
          f"(f {rect.focal_px:.2f} px, baseline {rect.baseline_m:.5g} m, doffs {rect.doffs:.3g} px)")
    if math.isfinite(far):
        print(f"depth step at the far end: {far * far / fb:.3g} m per pixel of disparity")
    print(f"stereo match options: --min-disparity {lo} --num-disparities {n}")
    return 0
