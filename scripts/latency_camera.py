"""Per-frame latency of StereoCamera.process vs OpenCV (cv2.remap + StereoSGBM), same run.

The shared chessboard pairs (752x480, raw) are cropped to 640x480 (columns 56..695; the
calibration's principal points shift with the crop), calibrated once with
``calib.calibrate_stereo``, and processed frame by frame with the configurations below,
interleaved (A B C D A B C D ...) so that a busy machine slows them alike. Times are
wall-clock per frame, from raw pair to depth (ours) or to float disparity (OpenCV: two
remaps with the same maps, StereoSGBM compute, conversion to float px), milliseconds.

    python scripts/latency_camera.py [--repeat 3] [--num-disparities 64]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

X0, W, H = 56, 640, 480


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="passes over the 20 pairs")
    ap.add_argument("--num-disparities", type=int, default=64)
    args = ap.parse_args()

    from calib.calibrate import calibrate_stereo, pair_images
    from calib.chessboard import Board
    from calib.rig import StereoRig
    from stereo.camera import StereoCamera
    from stereo.latency import latency_summary
    from stereo.paths import chessboard_dir

    root = chessboard_dir()
    pairs = pair_images(str(root / "left*.jpg"), str(root / "right*.jpg"))
    full = calibrate_stereo([a for a, _ in pairs], [b for _, b in pairs], Board(11, 8, 0.03)).rig
    K1, K2 = full.K1.copy(), full.K2.copy()
    K1[0, 2] -= X0
    K2[0, 2] -= X0
    rig = StereoRig.from_extrinsics((W, H), K1, full.D1, K2, full.D2, full.R, full.T)
    images = [(np.ascontiguousarray(cv2.imread(str(a), 0)[:, X0:X0 + W]),
               np.ascontiguousarray(cv2.imread(str(b), 0)[:, X0:X0 + W])) for a, b in pairs]
    nd = args.num_disparities

    maps = [cv2.initUndistortRectifyMap(K, D, R, P, (W, H), cv2.CV_16SC2)
            for K, D, R, P in ((rig.K1, rig.D1, rig.R1, rig.P1), (rig.K2, rig.D2, rig.R2, rig.P2))]
    sgbm = cv2.StereoSGBM_create(minDisparity=0, numDisparities=(nd + 15) // 16 * 16, blockSize=5,
                                 P1=8 * 25, P2=32 * 25, disp12MaxDiff=1, uniquenessRatio=10,
                                 speckleWindowSize=100, speckleRange=2)

    def opencv(left, right):
        lr = cv2.remap(left, *maps[0], cv2.INTER_LINEAR)
        rr = cv2.remap(right, *maps[1], cv2.INTER_LINEAR)
        return sgbm.compute(lr, rr).astype(np.float32) / 16.0

    configs = {
        "StereoCamera sgbm": StereoCamera(rig, num_disparities=nd).process,
        "StereoCamera sgbm, threads=1": StereoCamera(rig, num_disparities=nd, threads=1).process,
        "StereoCamera sgbm, range_check=False": StereoCamera(rig, num_disparities=nd, range_check=False).process,
        "OpenCV remap + StereoSGBM": opencv,
    }
    for fn in configs.values():  # warm-up (compilation, caches)
        fn(*images[0])
    times = {k: [] for k in configs}
    for _ in range(args.repeat):
        for left, right in images:
            for name, fn in configs.items():
                t = time.perf_counter()
                fn(left, right)
                times[name].append(1000 * (time.perf_counter() - t))
    print(f"{W}x{H} raw chessboard pairs, {len(images)} pairs x {args.repeat}, disparities [0, {nd - 1}] px, "
          f"OpenCV {cv2.__version__}, cv2 threads {cv2.getNumThreads()}")
    print(f"{'configuration':<40} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'fps':>6}  p50 / OpenCV p50")
    ref = latency_summary(times["OpenCV remap + StereoSGBM"])["p50_ms"]
    for name, t in times.items():
        s = latency_summary(t)
        print(f"{name:<40} {s['p50_ms']:8.1f} {s['p95_ms']:8.1f} {s['p99_ms']:8.1f} {s['fps']:6.1f}  "
              f"{s['p50_ms'] / ref:.2f}")


if __name__ == "__main__":
    main()
