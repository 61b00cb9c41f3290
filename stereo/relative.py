"""Disparity-only mode: relative inverse depth without a calibration.

For a rectified pinhole pair ``1/Z = (d + doffs) / (f B)``: inverse depth is an
*affine* function of disparity. Without the calibration the scale ``1/(f B)`` and
the shift ``doffs/(f B)`` are unknown, so a disparity map only gives inverse depth
**up to scale and shift** -- it orders pixels by distance and is NOT metric.
:func:`fit_scale_shift` recovers the two numbers from a few pixels of known depth
(e.g. a LiDAR, a tape measure, or known objects), after which
:func:`metric_depth_from_fit` gives depth in metres.

Stereo as the metric anchor: a monocular network's relative map (MiDaS, Depth Anything:
affine-invariant inverse depth) is dense but not metric; calibrated stereo is metric but
has holes. :func:`anchor_to_stereo` fits the relative map to ``1/Z`` of the confident,
valid stereo pixels (robust least squares in inverse-depth space, :mod:`stereo.evaluation.align`)
and returns a dense metric depth map, stereo's holes filled, with the fit's residual.
:func:`stereo_vs_relative` is the reverse check: stereo depth scored against the anchored
map, which shows where the two disagree. The fit can only undo an affine map in inverse
depth: a relative map whose error is not affine (a network's warped far field, say) keeps
that error after anchoring, and the residual says how large it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError, ParameterError
from .validation import check_disparity_map


def relative_inverse_depth(disp, *, percentiles=(1.0, 99.0)) -> np.ndarray:
    """Disparity rescaled to [0, 1] (1 = nearest), NaN where invalid. NOT metric.

    ``r = (d - p_lo) / (p_hi - p_lo)`` clipped to [0, 1], with ``p_lo``/``p_hi`` the given
    percentiles of the valid disparities (robust to a few outliers; the clipped tails
    lose their ordering). ``r`` is inverse depth up to an unknown scale and shift; to
    get metres use :func:`fit_scale_shift` on the disparity itself. A map whose valid
    disparities are all equal gives 0.5 everywhere valid.
    """
    d = check_disparity_map(disp)
    lo_pct, hi_pct = (float(p) for p in percentiles)
    if not (0.0 <= lo_pct < hi_pct <= 100.0):
        raise ParameterError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles}")
    valid = np.isfinite(d)
    out = np.full(d.shape, np.nan, dtype=np.float32)
    if not valid.any():
        return out
    vals = d[valid].astype(np.float64)
    lo, hi = np.percentile(vals, [lo_pct, hi_pct])
    if hi <= lo:
        out[valid] = 0.5
        return out
    out[valid] = np.clip((vals - lo) / (hi - lo), 0.0, 1.0)
    return out


def _samples(disp, points_yx, depths_m):
    d = check_disparity_map(disp)
    pts = np.asarray(points_yx)
    z = np.asarray(depths_m, dtype=np.float64).reshape(-1)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise InputError(f"points_yx must have shape (N, 2) as (y, x) pixels, got {pts.shape}")
    if pts.shape[0] != z.size:
        raise InputError(f"points_yx has {pts.shape[0]} rows but depths_m has {z.size} values")
    if pts.dtype.kind not in "iuf":
        raise InputError(f"points_yx must be integer pixel coordinates, got dtype {pts.dtype}")
    if pts.dtype.kind == "f":
        if not np.all(np.isfinite(pts)) or np.any(pts != np.round(pts)):
            raise InputError("points_yx must be integer pixel coordinates (y, x)")
    pts = pts.astype(np.int64)
    h, w = d.shape
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < h) & (pts[:, 1] >= 0) & (pts[:, 1] < w)
    if not inside.all():
        bad = pts[~inside][0]
        raise InputError(f"points_yx has pixel (y={bad[0]}, x={bad[1]}) outside the {w}x{h} disparity")
    ds = d[pts[:, 0], pts[:, 1]].astype(np.float64)
    ok = np.isfinite(ds) & np.isfinite(z) & (z > 0)
    return ds[ok], z[ok]


def fit_scale_shift(disp, points_yx, depths_m) -> tuple[float, float]:
    """Least-squares ``(scale, shift)`` with ``scale * d + shift ~= 1 / Z`` at given pixels.

    Args:
        disp: (H, W) float disparity, pixels (NaN = invalid).
        points_yx: (N, 2) integer ``(y, x)`` pixels where the depth is known.
        depths_m: (N,) known depths in metres (> 0).

    Returns:
        ``scale`` in 1/(m px) and ``shift`` in 1/m. For a calibrated pair these are
        ``1/(f B)`` and ``doffs/(f B)``. Samples with NaN disparity or a non-positive /
        non-finite depth are ignored.

    Raises:
        InputError: fewer than 2 usable samples, or all usable samples at one disparity.
    """
    ds, z = _samples(disp, points_yx, depths_m)
    if ds.size < 2:
        raise InputError(f"fit_scale_shift needs at least 2 samples with a valid disparity and a "
                         f"positive depth, got {ds.size}")
    if np.ptp(ds) == 0:
        raise InputError("fit_scale_shift: all usable samples have the same disparity; "
                         "the scale is undetermined (pick pixels at different depths)")
    A = np.stack([ds, np.ones_like(ds)], axis=1)
    (scale, shift), *_ = np.linalg.lstsq(A, 1.0 / z, rcond=None)
    return float(scale), float(shift)


def metric_depth_from_fit(disp, scale: float, shift: float) -> np.ndarray:
    """Depth in metres ``1 / (scale * d + shift)``; NaN where invalid or not in front."""
    d = check_disparity_map(disp)
    for name, v in (("scale", scale), ("shift", shift)):
        if not np.isfinite(v):
            raise ParameterError(f"{name} must be finite, got {v}")
    inv = scale * d.astype(np.float64) + shift
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(inv > 0, 1.0 / inv, np.nan)
    return depth.astype(np.float32)


@dataclass
class AnchorResult:
    """A relative inverse-depth map made metric by stereo.

    Attributes:
        depth: (H, W) float32 metres, ``1 / (scale * r + shift)`` everywhere the relative
            map is valid and the result is in front of the camera (NaN elsewhere).
        filled: (H, W) float32 metres: stereo depth on the anchor pixels, ``depth`` in
            stereo's holes (and where stereo was not confident).
        fit: the :class:`stereo.evaluation.align.AffineFit` (space: inverse depth, 1/m).
        anchor: (H, W) bool, the stereo pixels used as candidates for the fit.
        residual_abs_rel: AbsRel of ``depth`` against stereo on the anchor pixels (what the
            fit could not explain there, outliers included).
        coverage_stereo, coverage_filled: percent of pixels with a depth before / after.
    """

    depth: np.ndarray
    filled: np.ndarray
    fit: object
    anchor: np.ndarray
    residual_abs_rel: float
    coverage_stereo: float
    coverage_filled: float

    def summary(self) -> dict:
        return {"fit": self.fit.to_dict(), "description": self.fit.describe(),
                "residual_abs_rel": self.residual_abs_rel, "anchor_pixels": int(self.anchor.sum()),
                "coverage_stereo_percent": self.coverage_stereo, "coverage_filled_percent": self.coverage_filled}


def anchor_to_stereo(relative, stereo_depth, *, confidence=None, min_confidence: float = 0.5,
                     mode: str = "scale-shift", robust: bool = True, min_anchor_pixels: int = 100) -> AnchorResult:
    """Make a relative (affine-invariant) inverse-depth map metric with stereo depth.

    Args:
        relative: (H, W) relative inverse depth (larger = nearer, any scale and offset),
            NaN = invalid. A relative *depth* map must be inverted first.
        stereo_depth: (H, W) metric depth from calibrated stereo, metres, NaN = invalid.
        confidence: optional (H, W) stereo confidence in [0, 1]; only pixels with
            ``confidence >= min_confidence`` anchor the fit.
        mode: "scale-shift" (affine-invariant maps, default) or "scale".
        robust: MAD-trimmed iterated fit (default), so stereo's wrong matches and the
            relative map's local errors do not drag the scale.
        min_anchor_pixels: fewer usable anchor pixels is an error (the fit would be noise).

    Raises:
        InputError: shapes differ, too few anchor pixels, or a degenerate fit (the
            result is not in front of the camera on the anchor pixels).
    """
    from .evaluation.align import fit_affine

    r = check_disparity_map(relative, "relative inverse depth")
    z = check_disparity_map(stereo_depth, "stereo depth")
    if r.shape != z.shape:
        raise InputError(f"relative map {r.shape} and stereo depth {z.shape} differ in shape")
    anchor = np.isfinite(z) & (z > 0) & np.isfinite(r)
    if confidence is not None:
        c = check_disparity_map(confidence, "confidence")
        if c.shape != z.shape:
            raise InputError(f"confidence {c.shape} and stereo depth {z.shape} differ in shape")
        with np.errstate(invalid="ignore"):
            anchor &= c >= float(min_confidence)
    n = int(anchor.sum())
    if n < min_anchor_pixels:
        raise InputError(f"only {n} confident valid stereo pixels to anchor the relative map "
                         f"(need {min_anchor_pixels}); lower min_confidence or check the stereo result")
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_z = np.where(anchor, 1.0 / z, np.nan).astype(np.float32)
    fit = fit_affine(r, inv_z, anchor, mode=mode, robust=robust, space="inverse depth (1/m)")
    if not fit.scale > 0:
        raise InputError(f"the fit maps the relative map with scale {fit.scale:.4g} <= 0: it is not an "
                         f"inverse-depth map (larger = nearer) consistent with the stereo depth")
    inv = fit.scale * r.astype(np.float64) + fit.shift
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(np.isfinite(inv) & (inv > 0), 1.0 / inv, np.nan).astype(np.float32)
    filled = np.where(anchor, z, depth).astype(np.float32)
    used = anchor & np.isfinite(depth)
    rel_err = np.abs(depth[used].astype(np.float64) - z[used]) / z[used]
    return AnchorResult(depth=depth, filled=filled, fit=fit, anchor=anchor,
                        residual_abs_rel=float(np.mean(rel_err)) if rel_err.size else float("nan"),
                        coverage_stereo=100.0 * float(np.mean(np.isfinite(z) & (z > 0))),
                        coverage_filled=100.0 * float(np.mean(np.isfinite(filled))))


def stereo_vs_relative(stereo_depth, relative, **kwargs) -> dict:
    """Reverse check: stereo depth scored against the relative map anchored to it.

    The relative map has no metric scale of its own, so it is first anchored with
    :func:`anchor_to_stereo` (``kwargs`` go there); the depth metrics of stereo against
    that map then measure where stereo and the relative map disagree in *shape* (a
    low AbsRel says they agree up to an affine map in inverse depth). Returns the
    metrics (see :func:`stereo.evaluation.metrics.depth_errors`) and the fit summary.
    """
    from .evaluation.metrics import depth_errors

    res = anchor_to_stereo(relative, stereo_depth, **kwargs)
    return {"metrics": depth_errors(stereo_depth, res.depth), "anchor": res.summary()}


__all__ = ["relative_inverse_depth", "fit_scale_shift", "metric_depth_from_fit", "AnchorResult",
           "anchor_to_stereo", "stereo_vs_relative"]
