"""Alignment of depth maps known only up to scale (and shift) before scoring them.

Relative depth (a monocular network such as MiDaS or Depth Anything, an uncalibrated
stereo pair) is *affine-invariant inverse depth*: ``1/Z ~ s * r + t`` with unknown ``s``
and ``t``. Following MiDaS (Ranftl et al., TPAMI 2022, eq. 4), the fit is done in
inverse-depth (disparity) space by least squares; ``scale`` mode fits ``s`` alone
(``t = 0``), for predictions that are metric up to one factor.

A robust fit (``robust=True``) repeats the least-squares fit on the pixels whose
residual is within ``k * 1.4826 * MAD`` of the residual median (``k = 3``; MAD = median
absolute deviation), a few times: outliers (sky, reflections, wrong matches) then do
not drag the fit. Both fits are deterministic.

Every function returns an :class:`AffineFit` stating what was done, so reports can say
it: "AbsRel" after a scale-and-shift fit is a different number from "AbsRel" raw.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InputError, ParameterError
from ..validation import check_map

ALIGN_MODES = ("none", "scale", "scale-shift")
ROBUST_K = 3.0
ROBUST_ITERATIONS = 5


@dataclass(frozen=True)
class AffineFit:
    """``target ~= scale * x + shift`` fitted on ``n_used`` of ``n_candidates`` pixels.

    ``residual_rms`` and ``residual_median_abs`` are in the target's unit, over the used
    pixels after the fit; ``space`` names the target's space (e.g. "disparity (px)").
    """

    mode: str
    scale: float
    shift: float
    robust: bool
    n_candidates: int
    n_used: int
    residual_rms: float
    residual_median_abs: float
    space: str = ""

    def apply(self, x) -> np.ndarray:
        """``scale * x + shift`` as float32 (NaN stays NaN)."""
        return (np.asarray(x, dtype=np.float64) * self.scale + self.shift).astype(np.float32)

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if self.mode == "none":
            return "no alignment (prediction scored as given)"
        how = "robust (MAD-trimmed, iterated) least squares" if self.robust else "least squares"
        fit = f"scale {self.scale:.6g}" + (f", shift {self.shift:.6g}" if self.mode == "scale-shift" else "")
        return (f"{self.mode} alignment in {self.space or 'inverse-depth space'} by {how} on "
                f"{self.n_used} of {self.n_candidates} pixels: {fit}; residual RMS {self.residual_rms:.4g}")


def _lstsq(x, y, mode):
    if mode == "scale":
        xx = float(np.dot(x, x))
        if xx <= 0:
            raise InputError("scale alignment: the prediction is zero on every used pixel")
        return float(np.dot(x, y) / xx), 0.0
    xm, ym = x.mean(), y.mean()
    var = float(np.sum((x - xm) ** 2))
    if var <= 1e-12 * max(1.0, float(np.sum(x * x))):
        raise InputError("scale-shift alignment: the prediction is constant on the used pixels; "
                         "scale and shift cannot both be fitted")
    s = float(np.sum((x - xm) * (y - ym)) / var)
    return s, float(ym - s * xm)


def fit_affine(pred, target, mask=None, *, mode: str = "scale-shift", robust: bool = False,
               space: str = "") -> AffineFit:
    """Fit ``target ~= scale * pred + shift`` (or ``scale * pred``) on valid pixels.

    Args:
        pred: (H, W) prediction in an inverse-depth-like space (disparity, 1/depth,
            relative inverse depth), NaN = invalid.
        target: (H, W) reference in inverse-depth space (disparity px, or 1/m), NaN = unknown.
        mask: optional (H, W) selection of the pixels allowed in the fit.
        mode: "scale-shift", "scale" or "none" (identity, still reports residuals).
        robust: iterate the fit on MAD-trimmed inliers.
        space: name of the target's space, for reports.

    Raises:
        ParameterError: unknown mode. InputError: fewer than 2 usable pixels, shape
            mismatch, or a degenerate (constant) prediction.
    """
    if mode not in ALIGN_MODES:
        raise ParameterError(f"align must be one of {', '.join(ALIGN_MODES)}; got {mode!r}")
    x_map = check_map(pred, "prediction")
    y_map = check_map(target, "target")
    if x_map.shape != y_map.shape:
        raise InputError(f"prediction {x_map.shape} and target {y_map.shape} differ in shape")
    use = np.isfinite(x_map) & np.isfinite(y_map)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != x_map.shape:
            raise InputError(f"mask has shape {m.shape} but the maps are {x_map.shape}")
        use &= m.astype(bool)
    x = x_map[use].astype(np.float64)
    y = y_map[use].astype(np.float64)
    n = x.size
    if n < 2:
        raise InputError(f"alignment needs at least 2 pixels valid in both maps, got {n}")
    if mode == "none":
        s, t = 1.0, 0.0
        inl = np.ones(n, bool)
    else:
        inl = np.ones(n, bool)
        s, t = _lstsq(x, y, mode)
        for _ in range(ROBUST_ITERATIONS if robust else 0):
            r = y - (s * x + t)
            med = np.median(r)
            mad = 1.4826 * np.median(np.abs(r - med))
            if mad <= 0:
                break
            new = np.abs(r - med) <= ROBUST_K * mad
            if new.sum() < 2 or np.array_equal(new, inl):
                break
            inl = new
            s, t = _lstsq(x[inl], y[inl], mode)
    r = (y - (s * x + t))[inl]
    return AffineFit(mode=mode, scale=s, shift=t, robust=bool(robust), n_candidates=n,
                     n_used=int(inl.sum()), residual_rms=float(np.sqrt(np.mean(r * r))),
                     residual_median_abs=float(np.median(np.abs(r))), space=space)


__all__ = ["ALIGN_MODES", "AffineFit", "fit_affine"]
