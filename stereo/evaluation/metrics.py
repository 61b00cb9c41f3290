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
  prediction was valid *before* filling;
* ``A50``/``A90``/``A95``/``A99`` are the 50/90/95/99 % quantiles of ``|d - d_gt|``, px
  (the "A" columns of the official table).

Units: every threshold and error here is in the pixels of the maps given. The official
MiddEval3 table states its thresholds in *full-resolution* pixels; at quarter resolution
(``trainingQ``) an official "bad 2.0" is ``bad0.5`` here (see
:mod:`stereo.evaluation.middlebury` for the factor).

KITTI scoring (:func:`kitti_errors`): a pixel is a D1 outlier when its error is > 3 px
*and* > 5 % of the true disparity; missing estimates are first filled with KITTI's
background interpolation (:func:`fill_invalid_like_kitti`).

The two standard regions are "nonocc" (``mask0nocc.png == 255``) and "all" (every pixel
with finite ground truth); :func:`middlebury_errors` returns both.

Nothing here modifies its inputs.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..validation import check_map

DEFAULT_THRESHOLDS = (0.5, 1.0, 2.0, 4.0)
DEFAULT_QUANTILES = (50, 90, 95, 99)
KITTI_ABS_PX = 3.0
KITTI_REL = 0.05


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

def disparity_errors(disp, gt, mask=None, *, thresholds=DEFAULT_THRESHOLDS, dense: bool = True,
                     quantiles=DEFAULT_QUANTILES) -> dict:
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
        ``density`` (percent of evaluated pixels valid before filling), ``A<q>`` for
        each quantile q (the q % quantile of ``|d - gt|``, px) and ``n_pixels``
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
    if quantiles:
        qs = np.percentile(err, list(quantiles)) if err.size else [float("nan")] * len(quantiles)
        for q, v in zip(quantiles, qs):
            out[f"A{q:g}"] = float(v)
    out["density"] = float(density)
    out["n_pixels"] = n
    return out


def middlebury_errors(disp, gt, nonocc, *, thresholds=DEFAULT_THRESHOLDS, dense: bool = True,
                      quantiles=DEFAULT_QUANTILES) -> dict:
    """``{"nonocc": ..., "all": ...}``: :func:`disparity_errors` on both standard regions.

    ``nonocc`` is the boolean non-occluded mask (``mask0nocc.png == 255``); "all" is every
    pixel with finite ground truth.
    """
    return {"nonocc": disparity_errors(disp, gt, nonocc, thresholds=thresholds, dense=dense,
                                       quantiles=quantiles),
            "all": disparity_errors(disp, gt, None, thresholds=thresholds, dense=dense,
                                    quantiles=quantiles)}


# --------------------------------------------------------------------------------------
# KITTI

def fill_invalid_like_kitti(disp) -> np.ndarray:
    """Dense float32 copy of ``disp`` filled with the KITTI devkit's background interpolation.

    As in the devkit's ``interpolateBackground``: on each row, a run of invalid pixels
    between two valid ones takes the smaller (farther) of the two; runs touching the
    left/right border take the nearest valid value of the row; then, per column, pixels
    above the first / below the last valid one take that value. A pixel that is still
    invalid (an all-invalid row between valid rows) stays NaN and counts as wrong.
    """
    from ..postprocess.fill import fill_background

    d = check_map(disp, "disparity")
    d = np.where(np.isfinite(d), d, np.nan).astype(np.float32)
    filled, _ = fill_background(d)  # the row pass: same rule as Middlebury's for rows
    valid = np.isfinite(filled)
    h = filled.shape[0]
    if valid.any() and not valid.all():
        rows = np.arange(h)[:, None]
        has = valid.any(axis=0)
        first = np.where(has, valid.argmax(axis=0), 0)
        last = np.where(has, h - 1 - valid[::-1].argmax(axis=0), h - 1)
        cols = np.arange(filled.shape[1])
        top = filled[first, cols]
        bottom = filled[last, cols]
        above = (rows < first[None, :]) & has[None, :]
        below = (rows > last[None, :]) & has[None, :]
        filled = np.where(above, top[None, :], filled)
        filled = np.where(below, bottom[None, :], filled)
    return filled.astype(np.float32)


def kitti_errors(disp, gt, mask=None, *, abs_px: float = KITTI_ABS_PX, rel: float = KITTI_REL) -> dict:
    """KITTI stereo scores of a disparity map (pixels, NaN = invalid) against ground truth.

    Missing estimates are filled with :func:`fill_invalid_like_kitti` first (as the
    devkit does, so a sparse result cannot win by leaving pixels out).

    Returns:
        dict with ``d1`` (percent of evaluated pixels with ``|d - gt| > abs_px`` *and*
        ``|d - gt| > rel * gt``), ``epe`` (mean absolute error, px), ``bad3`` (percent
        with error > 3 px, no relative test), ``density`` (percent of evaluated pixels
        with an estimate before filling) and ``n_pixels``.
    """
    d = check_map(disp, "disparity")
    g = check_map(gt, "ground truth")
    _same_shape(d, g, "disparity and ground truth")
    evaluated = _selection(mask, g.shape) & np.isfinite(g)
    n = int(np.count_nonzero(evaluated))
    if n == 0:
        nan = float("nan")
        return {"d1": nan, "epe": nan, "bad3": nan, "density": nan, "n_pixels": 0}
    density = 100.0 * np.count_nonzero(np.isfinite(d) & evaluated) / n
    filled = fill_invalid_like_kitti(d)
    gv = g[evaluated].astype(np.float64)
    dv = filled[evaluated].astype(np.float64)
    err = np.abs(dv - gv)
    err[~np.isfinite(err)] = np.inf  # still missing after interpolation: an outlier
    outlier = (err > abs_px) & (err > rel * np.abs(gv))
    finite = np.isfinite(err)
    return {"d1": 100.0 * float(np.mean(outlier)),
            "epe": float(err[finite].mean()) if finite.any() else float("nan"),
            "bad3": 100.0 * float(np.mean(err > 3.0)),
            "density": float(density), "n_pixels": n}


# --------------------------------------------------------------------------------------
# Depth errors

def depth_errors(depth, gt_depth, mask=None, *, min_depth: float | None = None,
                 max_depth: float | None = None) -> dict:
    """Standard monocular/stereo depth metrics (depths in metres, NaN = invalid).

    Scored on pixels selected by ``mask`` where the ground-truth depth is finite and
    > 0 (and inside ``[min_depth, max_depth]`` when given) *and* the prediction is
    finite and > 0 (give a dense prediction to score every pixel; ``density`` says how
    many were predicted). With caps, predictions are clipped to ``[min_depth,
    max_depth]`` as in the monocular-depth literature (Eigen et al. 2014, Monodepth).

    Returns:
        dict with ``abs_rel`` (mean ``|z - z_gt| / z_gt``, a fraction), ``sq_rel`` (mean
        ``(z - z_gt)^2 / z_gt``, metres), ``rmse`` (metres), ``rmse_log`` (RMS of
        ``ln z - ln z_gt``), ``log10`` (mean ``|log10 z - log10 z_gt|``), ``delta1``,
        ``delta2``, ``delta3`` (percent of pixels with ``max(z/z_gt, z_gt/z)`` below
        1.25, 1.25^2, 1.25^3), ``density`` (percent of evaluated pixels with a valid
        prediction) and ``n_pixels`` (evaluated pixels). NaN statistics when nothing
        is scored.
    """
    z = check_map(depth, "depth")
    g = check_map(gt_depth, "ground-truth depth")
    _same_shape(z, g, "depth and ground-truth depth")
    with np.errstate(invalid="ignore"):
        evaluated = _selection(mask, g.shape) & np.isfinite(g) & (g > 0)
        if min_depth is not None:
            evaluated &= g >= float(min_depth)
        if max_depth is not None:
            evaluated &= g <= float(max_depth)
        scored = evaluated & np.isfinite(z) & (z > 0)
    n = int(np.count_nonzero(evaluated))
    zs = z[scored].astype(np.float64)
    gs = g[scored].astype(np.float64)
    if min_depth is not None or max_depth is not None:
        zs = np.clip(zs, min_depth if min_depth is not None else 0.0,
                     max_depth if max_depth is not None else np.inf)
    keys = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "delta1", "delta2", "delta3")
    if zs.size == 0:
        out = {k: float("nan") for k in keys}
        out.update(density=0.0 if n else float("nan"), n_pixels=n)
        return out
    ratio = np.maximum(zs / gs, gs / zs)
    diff = zs - gs
    return {"abs_rel": float(np.mean(np.abs(diff) / gs)),
            "sq_rel": float(np.mean(diff * diff / gs)),
            "rmse": float(np.sqrt(np.mean(diff * diff))),
            "rmse_log": float(np.sqrt(np.mean((np.log(zs) - np.log(gs)) ** 2))),
            "log10": float(np.mean(np.abs(np.log10(zs) - np.log10(gs)))),
            "delta1": 100.0 * float(np.mean(ratio < 1.25)),
            "delta2": 100.0 * float(np.mean(ratio < 1.25 ** 2)),
            "delta3": 100.0 * float(np.mean(ratio < 1.25 ** 3)),
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


__all__ = ["DEFAULT_THRESHOLDS", "DEFAULT_QUANTILES", "threshold_key", "fill_invalid_like_sdk",
           "disparity_errors", "middlebury_errors", "fill_invalid_like_kitti", "kitti_errors",
           "depth_errors", "align_scale_shift"]
