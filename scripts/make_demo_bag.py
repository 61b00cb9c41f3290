"""Write a ROS 1 or ROS 2 bag of the shared chessboard pairs (raw images + CameraInfo) for demos.

    python scripts/make_demo_bag.py OUT [--ros1] [--rig rig.yaml]

Topics: /cam/left/image_raw (mono8 Image), /cam/right/image_raw/compressed (PNG) and
/cam/{left,right}/camera_info, 10 Hz. Without --rig the set is calibrated first.
"""

from __future__ import annotations

import argparse

import cv2


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="bag to create (a .bag file with --ros1, else a folder)")
    ap.add_argument("--ros1", action="store_true")
    ap.add_argument("--rig", help="rig YAML (default: calibrate the chessboard set)")
    args = ap.parse_args()

    from calib.calibrate import calibrate_stereo, pair_images
    from calib.chessboard import Board
    from calib.formats import load_calibration
    from stereo.paths import chessboard_dir
    from stereo.sinks.bag import write_raw_stereo_bag

    root = chessboard_dir()
    files = pair_images(str(root / "left*.jpg"), str(root / "right*.jpg"))
    rig = (load_calibration(args.rig) if args.rig else
           calibrate_stereo([a for a, _ in files], [b for _, b in files], Board(11, 8, 0.03)).rig)
    pairs = [(cv2.imread(str(a), 0), cv2.imread(str(b), 0)) for a, b in files]
    write_raw_stereo_bag(args.out, "ros1" if args.ros1 else "ros2", rig, pairs)
    print(f"wrote {len(pairs)} pairs to {args.out}")


if __name__ == "__main__":
    main()
