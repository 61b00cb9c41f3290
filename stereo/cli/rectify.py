"""``stereo rectify LEFT RIGHT --calib rig.yaml -o OUTDIR``: write the rectified pair."""

from __future__ import annotations

from pathlib import Path

from ..errors import CalibrationError


def register(subparsers):
    p = subparsers.add_parser(
        "rectify", help="rectify a raw stereo pair (with a rig calibration, or uncalibrated)",
        description="Rectify a raw pair so that epipolar lines are rows. With --calib (a rig YAML, "
                    "OpenCV YAML/XML or ROS 'left.yaml,right.yaml') the rig's maps are used; without "
                    "it the pair is rectified from feature matches (disparity-only, NOT metric).")
    p.add_argument("left", help="raw left image")
    p.add_argument("right", help="raw right image")
    p.add_argument("--calib", help="calibration of the raw cameras")
    p.add_argument("--calib-units", choices=("m", "cm", "mm", "in"),
                   help="length unit of T in an OpenCV YAML/XML calibration (those files carry none)")
    p.add_argument("-o", "--out", required=True, help="output folder (left_rectified.png, right_rectified.png)")
    p.set_defaults(func=run)


def _read(path):
    from ..io.images import decode_image, read_image
    import cv2
    raw = decode_image(path, cv2.IMREAD_UNCHANGED)
    return read_image(path, color=raw.ndim == 3 and raw.shape[2] >= 3)


def run(args):
    from calib.model import StereoCalibration
    from ..io.atomic import staged_directory
    from ..io.images import write_image
    from ..validation import check_pair

    calibration = None
    if args.calib:
        from calib.formats import load_calibration
        calibration = load_calibration(args.calib, units=args.calib_units)
        if isinstance(calibration, StereoCalibration):
            raise CalibrationError(f"{args.calib} describes an already-rectified pair (no distortion or "
                                   f"rotation to undo): the images need no rectification")
    left, right = check_pair(_read(args.left), _read(args.right))
    if calibration is not None:
        from calib.rectify import Rectifier
        rect = Rectifier(calibration)
        left_r, right_r = rect.rectify_pair(left, right)
        valid = rect.valid_mask()
        model = calibration.rectified()
        summary = [f"rectified with {args.calib}: f {model.focal_px:.2f} px, baseline {model.baseline_m:.5f} m, "
                   f"valid region {100 * valid.mean():.1f}% of the image"]
    else:
        from calib.uncalibrated import rectify_uncalibrated
        res = rectify_uncalibrated(left, right)
        left_r, right_r = res.left_r, res.right_r
        summary = [f"uncalibrated rectification from {res.n_inliers} inlier matches: residual |dy| median "
                   f"{res.residual_dy_median:.3f} px, p95 {res.residual_dy_p95:.3f} px",
                   "no calibration: disparities of this pair are NOT metric"]
    out = Path(args.out)
    with staged_directory(out) as stage:
        write_image(stage / "left_rectified.png", left_r)
        write_image(stage / "right_rectified.png", right_r)
    for line in summary:
        print(line)
    print(f"wrote left_rectified.png, right_rectified.png to {out}")
    return 0
