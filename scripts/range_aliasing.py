"""Chessboard nearer than the search range: how many board pixels come out wrong vs invalid.

Calibrates the shared chessboard set (``calib.calibrate_stereo``), then for every pair whose
board lies (partly) nearer than the searched range matches the rectified pair with the
default range (0..63 px) with and without the near-range probe (``stereo.range_check``).
Ground truth on the board: a plane ``d = a x + b y + c`` fitted to the disparities of the
detected corners (rectified left/right, px), evaluated inside the corners' convex hull.
A board pixel is *wrong* when valid and ``|d - d_gt| > 2`` px (rectified full-res px).

    python scripts/range_aliasing.py [--num-disparities 64]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-disparities", type=int, default=64)
    ap.add_argument("--tolerance", type=float, default=2.0, help="px")
    args = ap.parse_args()

    from calib.calibrate import calibrate_stereo, pair_images
    from calib.chessboard import Board
    from stereo.camera import StereoCamera
    from stereo.paths import chessboard_dir

    root = chessboard_dir()
    pairs = pair_images(str(root / "left*.jpg"), str(root / "right*.jpg"))
    rig = calibrate_stereo([a for a, _ in pairs], [b for _, b in pairs], Board(11, 8, 0.03)).rig
    cams = {flag: StereoCamera(rig, num_disparities=args.num_disparities, range_check=flag)
            for flag in (False, True)}
    print(cams[False].range_description)
    totals = {flag: np.zeros(3, np.int64) for flag in cams}  # correct, wrong, invalid
    used = 0
    for lp, rp in pairs:
        L, R = cv2.imread(str(lp), 0), cv2.imread(str(rp), 0)
        frames = {flag: cam.process(L, R) for flag, cam in cams.items()}
        lr, rr = frames[False].rectified_left, frames[False].rectified_right
        ok_l, cl = cv2.findChessboardCorners(lr, (11, 8))
        ok_r, cr = cv2.findChessboardCorners(rr, (11, 8))
        if not (ok_l and ok_r):
            continue
        cl, cr = cl.reshape(-1, 2), cr.reshape(-1, 2)
        if np.linalg.norm(cl[0] - cr[0]) > np.linalg.norm(cl[0] - cr[-1]):
            cr = cr[::-1]  # same corner order on both sides
        d = cl[:, 0] - cr[:, 0]
        A = np.c_[cl, np.ones(len(cl))]
        coef, *_ = np.linalg.lstsq(A, d, rcond=None)
        top = args.num_disparities - 1
        if d.max() <= top:
            continue  # the board is inside the range: not the case measured here
        used += 1
        hull = np.zeros(lr.shape, np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(cl.astype(np.int32)), 1)
        ys, xs = np.nonzero(hull)
        gt = coef[0] * xs + coef[1] * ys + coef[2]
        for flag, f in frames.items():
            got = f.disparity[ys, xs]
            valid = np.isfinite(got)
            wrong = valid & (np.abs(got - gt) > args.tolerance)
            totals[flag] += [np.count_nonzero(valid & ~wrong), np.count_nonzero(wrong),
                             np.count_nonzero(~valid)]
        print(f"{lp.name}: board disparity {d.min():.0f}..{d.max():.0f} px; "
              + "; ".join(f"probe {'on' if k else 'off'}: wrong {100 * np.mean(np.isfinite(f.disparity[ys, xs]) & (np.abs(f.disparity[ys, xs] - gt) > args.tolerance)):.1f}%"
                          for k, f in frames.items()))
    print(f"\n{used} pairs with the board nearer than the range (board disparities above {top} px)")
    print(f"{'probe':<6} {'correct':>8} {'wrong':>8} {'invalid':>8}   (% of board pixels, tolerance {args.tolerance} px)")
    for flag, t in totals.items():
        p = 100 * t / max(1, t.sum())
        print(f"{'on' if flag else 'off':<6} {p[0]:8.1f} {p[1]:8.1f} {p[2]:8.1f}")


if __name__ == "__main__":
    main()
