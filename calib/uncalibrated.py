"""Rectify a pair without a calibration (Hartley's method through OpenCV).

Features (SIFT, ORB as fallback) are matched with Lowe's ratio test, the fundamental
matrix is fitted with RANSAC, and ``cv2.stereoRectifyUncalibrated`` gives one homography
per image that makes epipolar lines horizontal. The result supports DISPARITY ONLY: the
scale and shift of disparity are unknown (no focal length, no baseline), and lens
distortion is not removed, so rows are aligned only as well as a homography allows
(the residual vertical error of the inlier matches is reported).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from stereo.errors import CalibrationError
from stereo.validation import check_pair

from .chessboard import to_gray_u8


@dataclass
class UncalibratedRectification:
    """Rectified pair and how well rows line up.

    Attributes:
        left_r, right_r: rectified images (same size and dtype as the inputs).
        H1, H2: 3x3 homographies mapping raw left/right pixels to rectified pixels.
        F: fundamental matrix of the raw pair (x_right^T F x_left = 0).
        residual_dy_median, residual_dy_p95: |y_left - y_right| of the inlier matches after
            rectification, pixels.
        n_inliers: number of RANSAC inlier matches.
        disparity_range: (1st, 99th) percentile of the inlier disparities after
            rectification, pixels (the 1st is 0 by construction): a search range hint.
    """

    left_r: np.ndarray
    right_r: np.ndarray
    H1: np.ndarray
    H2: np.ndarray
    F: np.ndarray
    residual_dy_median: float
    residual_dy_p95: float
    n_inliers: int
    disparity_range: tuple = (0.0, 0.0)


def _features(gray_l, gray_r, max_features):
    try:
        det = cv2.SIFT_create(nfeatures=max_features)
        norm, ratio = cv2.NORM_L2, 0.75
    except (AttributeError, cv2.error):  # builds without SIFT
        det = cv2.ORB_create(nfeatures=max_features)
        norm, ratio = cv2.NORM_HAMMING, 0.8
    kl, dl = det.detectAndCompute(gray_l, None)
    kr, dr = det.detectAndCompute(gray_r, None)
    if dl is None or dr is None or len(kl) < 8 or len(kr) < 8:
        raise CalibrationError("too few features to rectify an uncalibrated pair (textureless images?)")
    matches = cv2.BFMatcher(norm).knnMatch(dl, dr, k=2)
    good = [m[0] for m in matches if len(m) == 2 and m[0].distance < ratio * m[1].distance]
    pl = np.float64([kl[m.queryIdx].pt for m in good])
    pr = np.float64([kr[m.trainIdx].pt for m in good])
    return pl, pr


def _align_disparity(H1, H2, pl, pr) -> np.ndarray:
    """Fix the x-affine freedom of Hartley rectification on the left image.

    Any row-preserving map ``x' = a*x + b*y + c`` applied to one image keeps the rows
    aligned but tilts and shifts the disparity field; OpenCV picks it to make disparities
    small. We choose it so rectified disparities best match (least squares) the raw
    horizontal offsets of the inlier matches: near points keep large positive
    disparities, as in the raw pair, and no spurious gradient across the image remains.
    """
    rl = cv2.perspectiveTransform(pl.reshape(-1, 1, 2), H1).reshape(-1, 2)
    rr = cv2.perspectiveTransform(pr.reshape(-1, 1, 2), H2).reshape(-1, 2)
    A = np.column_stack([rl[:, 0], rl[:, 1], np.ones(len(rl))])
    target = (pl[:, 0] - pr[:, 0]) + rr[:, 0]
    coef, *_ = np.linalg.lstsq(A, target, rcond=None)
    if not np.all(np.isfinite(coef)) or coef[0] <= 0:
        return H1
    M = np.array([[coef[0], coef[1], coef[2]], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return M @ H1


def _shear_correction(H, size) -> np.ndarray:
    """Row-preserving shear (x' = a*x + b*y) that restores right angles and aspect ratio
    of the image midlines under ``H`` (Loop & Zhang, 1999). Applied to both images, it
    keeps rows aligned and only scales disparity."""
    w, h = size
    mids = np.float64([[(w - 1) / 2, 0], [w - 1, (h - 1) / 2], [(w - 1) / 2, h - 1],
                       [0, (h - 1) / 2]]).reshape(-1, 1, 2)
    a, b, c, d = cv2.perspectiveTransform(mids, H).reshape(-1, 2)
    x, y = b - d, c - a
    den = h * w * (x[1] * y[0] - x[0] * y[1])
    if abs(den) < 1e-12:
        return np.eye(3)
    sa = (h * h * x[1] ** 2 + w * w * y[1] ** 2) / den
    sb = (h * h * x[0] * x[1] + w * w * y[0] * y[1]) / -den
    S = np.array([[sa, sb, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    if not np.all(np.isfinite(S)) or abs(sa) < 1e-6:
        return np.eye(3)
    return S


def _fit_to_frame(H1, H2, size):
    """One similarity for both homographies so the left rectified image fills the frame.

    The same scale and shift are applied to both images, so rows stay aligned and the
    disparity keeps its sign (only its unknown scale changes).
    """
    w, h = size
    corners = np.float64([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]).reshape(-1, 1, 2)
    c1 = cv2.perspectiveTransform(corners, H1).reshape(-1, 2)
    lo, hi = c1.min(axis=0), c1.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    s = min((w - 1) / span[0], (h - 1) / span[1])
    off = (np.array([w - 1, h - 1]) - s * span) / 2 - s * lo
    S = np.array([[s, 0, off[0]], [0, s, off[1]], [0, 0, 1.0]])
    return S @ H1, S @ H2


def rectify_uncalibrated(left, right, *, max_features: int = 4000, ransac_threshold_px: float = 1.0,
                         min_inliers: int = 30) -> UncalibratedRectification:
    """Rectify a raw pair from feature matches alone (non-metric, disparity only).

    Args:
        left, right: images of the same size (grey or BGR; uint8/uint16/float).
        max_features: features detected per image.
        ransac_threshold_px: RANSAC distance to the epipolar line, pixels.
        min_inliers: fewest inlier matches accepted.

    Returns:
        :class:`UncalibratedRectification`. Disparities ``x_left - x_right`` follow the raw
        pair's horizontal offsets (near = larger) up to scale, shifted so the inlier
        matches start at 0 (see ``disparity_range``).

    Raises:
        CalibrationError: not enough matches / inliers, or a degenerate geometry.
    """
    left, right = check_pair(left, right)
    gl, gr = to_gray_u8(left), to_gray_u8(right)
    pl, pr = _features(gl, gr, max_features)
    if len(pl) < max(8, min_inliers):
        raise CalibrationError(f"only {len(pl)} feature matches between the images (need {min_inliers})")
    F, inl = cv2.findFundamentalMat(pl, pr, cv2.FM_RANSAC, ransac_threshold_px, 0.999, 5000)
    if F is None or F.shape != (3, 3):
        raise CalibrationError("could not estimate the fundamental matrix (degenerate matches)")
    inl = inl.ravel().astype(bool)
    if inl.sum() < min_inliers:
        raise CalibrationError(f"only {int(inl.sum())} RANSAC inliers (need {min_inliers}): the views "
                               f"overlap too little or the scene is degenerate")
    pl, pr = pl[inl], pr[inl]
    h, w = gl.shape
    ok, H1, H2 = cv2.stereoRectifyUncalibrated(pl.reshape(-1, 1, 2), pr.reshape(-1, 1, 2), F, (w, h))
    if not ok:
        raise CalibrationError("cv2.stereoRectifyUncalibrated failed (epipole inside the image?)")
    H1 = _align_disparity(H1, H2, pl, pr)
    S = _shear_correction(H1, (w, h))
    H1, H2 = S @ H1, S @ H2
    H1, H2 = _unmirror(H1, H2, (w, h))
    # Disparity is known only up to scale and shift: shift it so that the inlier matches
    # start at 0 (1st percentile), which lets a matcher search from min_disparity = 0.
    d = _map(pl, H1)[:, 0] - _map(pr, H2)[:, 0]
    shift = np.array([[1.0, 0.0, -np.percentile(d, 1)], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    H1, H2 = _fit_to_frame(shift @ H1, H2, (w, h))
    rl, rr = _map(pl, H1), _map(pr, H2)
    dy = np.abs(rl[:, 1] - rr[:, 1])
    d = rl[:, 0] - rr[:, 0]
    return UncalibratedRectification(_warp(left, H1, (w, h)), _warp(right, H2, (w, h)), H1, H2, F,
                                     float(np.median(dy)), float(np.percentile(dy, 95)), int(inl.sum()),
                                     (float(np.percentile(d, 1)), float(np.percentile(d, 99))))


def _warp(img, H, size):
    return cv2.warpPerspective(np.ascontiguousarray(img), H, size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _map(points, H):
    return cv2.perspectiveTransform(np.asarray(points, np.float64).reshape(-1, 1, 2), H).reshape(-1, 2)


def _unmirror(H1, H2, size):
    """Undo an x or y mirror introduced by the homographies (applied to both images, so
    left stays left, up stays up and rows stay aligned)."""
    w, h = size
    mids = np.float64([[0, (h - 1) / 2], [w - 1, (h - 1) / 2], [(w - 1) / 2, 0], [(w - 1) / 2, h - 1]])
    left_mid, right_mid, top_mid, bottom_mid = _map(mids, H1)
    flip = np.diag([-1.0 if right_mid[0] < left_mid[0] else 1.0,
                    -1.0 if bottom_mid[1] < top_mid[1] else 1.0, 1.0])
    return flip @ H1, flip @ H2


__all__ = ["UncalibratedRectification", "rectify_uncalibrated"]
