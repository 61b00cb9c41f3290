"""``stereo calibrate``: calibrate a stereo rig from chessboard (or ChArUco) image pairs."""

from __future__ import annotations

from pathlib import Path

from ..errors import FileFormatError, ParameterError


def register(subparsers):
    p = subparsers.add_parser(
        "calibrate", help="calibrate a stereo rig from chessboard image pairs",
        description="Detect the board in left/right image pairs (paired by sorted file name), "
                    "calibrate both cameras and the rig, reject outlier views, compute the "
                    "rectification and write everything to one YAML rig file (lengths in metres).")
    p.add_argument("--left", required=True, help="left images: a glob such as 'cal/left*.png' (quote it) or a folder")
    p.add_argument("--right", required=True, help="right images: a glob or a folder (same count as --left)")
    p.add_argument("--board", required=True, help="inner corners COLUMNSxROWS, e.g. 11x8 (a 12x9-square board)")
    p.add_argument("--square", required=True, help="square side with unit, e.g. 30mm, 3cm, 0.03m")
    p.add_argument("-o", "--out", required=True, help="rig YAML to write")
    p.add_argument("--charuco", metavar="DICT", help="the board is ChArUco with this ArUco dictionary "
                                                      "(e.g. DICT_5X5_100); --board still counts inner corners")
    p.add_argument("--marker", help="ChArUco marker side with unit (default 0.7 x square)")
    p.add_argument("--alpha", type=float, default=0.0,
                   help="rectification free scaling: 0 = only valid pixels (default), 1 = keep all pixels")
    p.add_argument("--intrinsics", choices=("refine", "fixed"), default="refine",
                   help="refine the per-camera intrinsics in the stereo fit (default) or keep them fixed")
    p.add_argument("--distortion", choices=("standard", "rational"), default="standard",
                   help="distortion model: standard k1 k2 p1 p2 k3 (default) or rational (8 coefficients)")
    p.add_argument("--outlier-k", type=float, default=3.0,
                   help="reject views with error > median + k * 1.4826 * MAD (default 3)")
    p.add_argument("--max-view-error", type=float, default=1.0,
                   help="reject views whose reprojection error exceeds this many pixels (default 1.0)")
    p.add_argument("--min-views", type=int, default=5, help="fewest usable pairs accepted (default 5)")
    p.set_defaults(func=run)


def run(args):
    from calib.calibrate import CalibrationOptions, calibrate_stereo, pair_images
    from calib.chessboard import Board, parse_board_size

    out = Path(args.out)
    if out.exists() and out.is_dir():
        raise FileFormatError(f"{out}: is a directory; give the rig YAML file name", str(out))
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise FileFormatError(f"{out}: output folder {out.parent} does not exist", str(out))
    cols, rows = parse_board_size(args.board)
    square = _length(args.square, "--square")
    marker = _length(args.marker, "--marker") if args.marker else None
    if marker is not None and not args.charuco:
        raise ParameterError("--marker is only meaningful with --charuco")
    board = Board(cols, rows, square, args.charuco, marker)
    options = CalibrationOptions(alpha=args.alpha, intrinsics=args.intrinsics,
                                 distortion_model=args.distortion, outlier_k=args.outlier_k,
                                 max_view_error_px=args.max_view_error, min_views=args.min_views)
    pairs = pair_images(args.left, args.right)
    report = calibrate_stereo([a for a, _ in pairs], [b for _, b in pairs], board, options, progress=True)
    report.rig.save(out)
    for line in report.lines():
        print(line)
    rect = report.rig.rectified()
    print(f"rectified model: f {rect.focal_px:.2f} px, cx {rect.cx_left:.2f} px, cy {rect.cy:.2f} px, "
          f"baseline {rect.baseline_m:.5f} m, image {rect.width}x{rect.height}")
    print(f"wrote {out}")
    return 0


def _length(text, option):
    from calib.units import parse_length
    try:
        return parse_length(text)
    except ValueError as exc:
        raise ParameterError(f"{option}: {exc}") from None
