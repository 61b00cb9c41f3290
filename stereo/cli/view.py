"""``stereo view OUT``: one montage of a `stereo match` output folder, with legends.

Tiles: the left image (``--left``, or ``OUT/left.png`` when present), disparity (colour bar
in px), metric depth (colour bar in m, robust 2-98 % range) or relative inverse depth, and
confidence (0..1), each captioned. Invalid pixels are white on colour maps, magenta on grey.
"""

from __future__ import annotations

from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser("view", help="one montage picture of a `stereo match` output folder",
                              description="Write one montage of left image, disparity, depth and confidence "
                                          "(with colour bars and units) from a `stereo match` output folder.")
    p.add_argument("out", metavar="OUT", help="a `stereo match` output folder (disparity.pfm, ...)")
    p.add_argument("--left", help="left image to show (default: OUT/left.png if present)")
    p.add_argument("-o", "--output", help="montage file (default: OUT/view.png)")
    p.add_argument("--near", type=float, help="depth colour range near end, m (default: 2nd percentile)")
    p.add_argument("--far", type=float, help="depth colour range far end, m (default: 98th percentile)")
    p.set_defaults(func=run)


def build_montage(folder, left=None, near=None, far=None):
    """The montage image (BGR uint8) of a `stereo match` output folder."""
    from ..errors import FileFormatError
    from ..io import read_disparity, read_image
    from ..io.pfm import read_pfm
    from ..visualize import montage, render_confidence, render_depth, render_disparity

    folder = Path(folder)
    disp_file = folder / "disparity.pfm"
    if not disp_file.is_file():
        raise FileFormatError(f"{folder}: not a `stereo match` output folder (no disparity.pfm)", str(folder))
    disp = read_disparity(disp_file)
    tiles = []
    left_file = Path(left) if left else (folder / "left.png")
    if left_file.is_file():
        tiles.append(("left image (reference)", read_image(left_file)))
    tiles.append(("disparity, px", render_disparity(disp)))
    if (folder / "depth.pfm").is_file():
        tiles.append(("metric depth, m", render_depth(read_disparity(folder / "depth.pfm"), near=near, far=far)))
    elif (folder / "inverse_depth_relative.pfm").is_file():
        rel = read_disparity(folder / "inverse_depth_relative.pfm")
        tiles.append(("relative inverse depth (NOT metric)", render_disparity(rel, label="relative 1/Z")))
    if (folder / "confidence.pfm").is_file():
        import numpy as np
        conf = read_pfm(folder / "confidence.pfm").astype(np.float32)
        tiles.append(("confidence", render_confidence(conf)))
    return montage(tiles, columns=2)


def run(args):
    from ..io import write_image

    img = build_montage(args.out, args.left, args.near, args.far)
    target = Path(args.output) if args.output else Path(args.out) / "view.png"
    write_image(target, img)
    print(f"wrote {target} ({img.shape[1]}x{img.shape[0]})")
    return 0
