"""Disparity-only mode: relative inverse depth without a calibration.

For a rectified pinhole pair ``1/Z = (d + doffs) / (f B)``: inverse depth is an
*affine* function of disparity. Without the calibration the scale ``1/(f B)`` and
the shift ``doffs/(f B)`` are unknown, so a disparity map only gives inverse depth
**up to scale and shift** -- it orders pixels by distance and is NOT metric.
:func:`fit_scale_shift` recovers the two numbers from a few pixels of known depth
(e.g. a LiDAR, a tape measure, or known objects), after which
:func:`metric_depth_from_fit` gives depth in metres.
"""

from __future__ import annotations

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


__all__ = ["relative_inverse_depth", "fit_scale_shift", "metric_depth_from_fit"]
