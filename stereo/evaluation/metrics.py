"""Accuracy metrics for disparity and depth maps, following the Middlebury v3 conventions.

Conventions: disparities are float pixels, NaN (or ``inf``) = invalid / unknown, in both
the prediction and the ground truth. A *mask* (bool, or uint8 with non-zero = selected)
restricts the evaluated pixels further; pixels without finite ground truth are never
evaluated.

Middlebury scoring (what :func:`disparity_errors` does by default, ``dense=True``):

* the prediction is made dense first with :func:`fill_invalid_like_sdk` (each run of
  invalid pixels on a row takes the smaller, i.e. farther, of its two valid neighbours),
  so a sparse method cannot win by leaving hard pixels out;
* ``badN`` is the percentage of evaluated pixels with ``|d - d_gt| > N`` px;
* ``avgerr`` is the mean absolute error and ``rms`` the root mean square error, pixels;
* ``density`` is reported separately: the percentage of evaluated pixels whose
  prediction was valid *before* filling.

The two standard regions are "nonocc" (``mask0nocc.png == 255``) and "all" (every pixel
with finite ground truth); :func:`middlebury_errors` returns both.

Nothing here modifies its inputs.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..validation import check_map

DEFAULT_THRESHOLDS = (0.5, 1.0, 2.0, 4.0)


def _selection(mask, shape, name: str = "mask") -> np.ndarray:
    """Boolean (H, W) pixel selection from ``mask`` (None = all pixels)."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    m = np.asarray(mask)
    if m.shape != tuple(shape):
        raise InputError(f"{name} has shape {m.shape} but the disparity is {tuple(shape)}")
    return m.astype(bool, copy=False)


def _same_shape(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if a.shape != b.shape:
        raise InputError(f"{names} differ in shape: {a.shape} vs {b.shape}")


def threshold_key(threshold: float) -> str:
    """Name of a bad-pixel metric: 0.5 -> ``"bad0.5"``, 2 -> ``"bad2"``."""
    return f"bad{float(threshold):g}"


# --------------------------------------------------------------------------------------
# Dense filling (Middlebury SDK rule)

def fill_invalid_like_sdk(disp) -> np.ndarray:
    """Dense float32 copy of ``disp``: invalid runs take their smaller scanline neighbour.

    On each row, a run of invalid (non-finite) pixels takes ``min(left, right)`` of the
    valid pixels that bound it (the background side of an occlusion); a run touching the
    image border takes its only neighbour; a row with no valid pixel becomes 0. This is
    the rule of the Middlebury evaluation SDK for scoring sparse results.

    The filling itself is the matcher's background fill
    (:func:`stereo.postprocess.fill.fill_background`): one rule, one implementation.
    """
    from ..postprocess.fill import fill_background

    d = check_map(disp, "disparity")
    d = np.where(np.isfinite(d), d, np.nan).astype(np.float32)  # inf counts as invalid too
    filled, _ = fill_background(d)
    filled[np.isnan(filled)] = 0.0
    return filled


# --------------------------------------------------------------------------------------
# Disparity errors

def disparity_errors(disp, gt, mask=None, *, thresholds=DEFAULT_THRESHOLDS, dense: bool = True) -> dict:
    """Middlebury-style error statistics of a disparity map against ground truth.

    Args:
        disp: (H, W) predicted disparity, pixels, NaN/inf = invalid.
        gt: (H, W) ground-truth disparity, pixels, NaN/inf = unknown (never evaluated).
        mask: optional (H, W) selection (bool or non-zero) of the pixels to evaluate.
        thresholds: error thresholds N of the ``badN`` metrics, pixels.
        dense: True (default, SDK rule): invalid predictions are filled with
            :func:`fill_invalid_like_sdk` before scoring, so every evaluated pixel counts.
            False: only evaluated pixels with a valid prediction are scored.

    Returns:
        dict with ``badN`` for each threshold (percent of scored pixels with
        ``|d - gt| > N``), ``avgerr`` (mean absolute error, px), ``rms`` (px),
        ``density`` (percent of evaluated pixels valid before filling) and ``n_pixels``
        (evaluated pixels). Statistics are NaN when no pixel is scored.
    """
    d = check_map(disp, "disparity")
    g = check_map(gt, "ground truth")
    _same_shape(d, g, "disparity and ground truth")
    evaluated = _selection(mask, g.shape) & np.isfinite(g)
    n = int(np.count_nonzero(evaluated))
    valid = np.isfinite(d)
    density = 100.0 * np.count_nonzero(valid & evaluated) / n if n else float("nan")
    if dense:
        scored = evaluated
        d = fill_invalid_like_sdk(d)
    else:
        scored = evaluated & valid
    err = np.abs(d[scored].astype(np.float64) - g[scored].astype(np.float64))
    out: dict = {}
    for t in thresholds:
        out[threshold_key(t)] = 100.0 * float(np.mean(err > float(t))) if err.size else float("nan")
    out["avgerr"] = float(err.mean()) if err.size else float("nan")
    out["rms"] = float(np.sqrt(np.mean(err * err))) if err.size else float("nan")
    out["density"] = float(density)
    out["n_pixels"] = n
    return out


def middlebury_errors(disp, gt, nonocc, *, thresholds=DEFAULT_THRESHOLDS, dense: bool = True) -> dict:
    """``{"nonocc": ..., "all": ...}``: :func:`disparity_errors` on both standard regions.

    ``nonocc`` is the boolean non-occluded mask (``mask0nocc.png == 255``); "all" is every
    pixel with finite ground truth.
    """
    return {"nonocc": disparity_errors(disp, gt, nonocc, thresholds=thresholds, dense=dense),
            "all": disparity_errors(disp, gt, None, thresholds=thresholds, dense=dense)}


# --------------------------------------------------------------------------------------
# Depth errors

def depth_errors(depth, gt_depth, mask=None) -> dict:
    """Standard monocular/stereo depth metrics (depths in metres, NaN = invalid).

    Scored on pixels selected by ``mask`` where the ground-truth depth is finite and
    > 0 *and* the prediction is finite and > 0 (give a dense prediction to score every
    pixel; ``density`` says how many were predicted).

    Returns:
        dict with ``abs_rel`` (mean ``|z - z_gt| / z_gt``, a fraction), ``rmse``
        (metres), ``delta1`` (percent of pixels with ``max(z/z_gt, z_gt/z) < 1.25``),
        ``density`` (percent of evaluated pixels with a valid prediction) and
        ``n_pixels`` (evaluated pixels). NaN statistics when nothing is scored.
    """
    z = check_map(depth, "depth")
    g = check_map(gt_depth, "ground-truth depth")
    _same_shape(z, g, "depth and ground-truth depth")
    with np.errstate(invalid="ignore"):
        evaluated = _selection(mask, g.shape) & np.isfinite(g) & (g > 0)
        scored = evaluated & np.isfinite(z) & (z > 0)
    n = int(np.count_nonzero(evaluated))
    zs = z[scored].astype(np.float64)
    gs = g[scored].astype(np.float64)
    if zs.size == 0:
        nan = float("nan")
        return {"abs_rel": nan, "rmse": nan, "delta1": nan,
                "density": 0.0 if n else nan, "n_pixels": n}
    ratio = np.maximum(zs / gs, gs / zs)
    return {"abs_rel": float(np.mean(np.abs(zs - gs) / gs)),
            "rmse": float(np.sqrt(np.mean((zs - gs) ** 2))),
            "delta1": 100.0 * float(np.mean(ratio < 1.25)),
            "density": 100.0 * zs.size / n,
            "n_pixels": n}


# --------------------------------------------------------------------------------------
# Alignment of up-to-affine disparities

def align_scale_shift(disp, gt, mask=None) -> tuple[np.ndarray, float, float]:
    """Least-squares ``scale * disp + shift`` fit of a disparity map to ground truth.

    For results known only up to an affine map in disparity (inverse-depth) space, e.g.
    an uncalibrated pair or a relative-depth network: minimises
    ``sum((scale * d + shift - gt)^2)`` over pixels selected by ``mask`` where both maps
    are finite.

    Returns:
        ``(aligned, scale, shift)``: aligned float32 map (NaN stays NaN), and the fit.

    Raises:
        InputError: fewer than 2 usable pixels, or a constant prediction (no scale fit).
    """
    d = check_map(disp, "disparity")
    g = check_map(gt, "ground truth")
    _same_shape(d, g, "disparity and ground truth")
    use = _selection(mask, g.shape) & np.isfinite(d) & np.isfinite(g)
    x = d[use].astype(np.float64)
    y = g[use].astype(np.float64)
    if x.size < 2:
        raise InputError(f"align_scale_shift needs at least 2 pixels valid in both maps, got {x.size}")
    xm, ym = x.mean(), y.mean()
    var = float(np.sum((x - xm) ** 2))
    if var <= 1e-12 * max(1.0, float(np.sum(x * x))):
        raise InputError("align_scale_shift: the prediction is constant on the used pixels; "
                         "scale and shift cannot both be fitted")
    scale = float(np.sum((x - xm) * (y - ym)) / var)
    shift = float(ym - scale * xm)
    aligned = (d.astype(np.float64) * scale + shift).astype(np.float32)
    return aligned, scale, shift


__all__ = ["DEFAULT_THRESHOLDS", "threshold_key", "fill_invalid_like_sdk", "disparity_errors",
           "middlebury_errors", "depth_errors", "align_scale_shift"]
