"""Pictures of disparity, depth, confidence and errors (uint8 BGR, ready for cv2.imwrite).

Invalid pixels are always black; colour maps run from cold/dark (far, small
disparity) to warm/bright (near, large disparity).
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import InputError, ParameterError
from .validation import check_map

# Colour of pixels with ground truth but no prediction in error_map (BGR: blue).
MISSING_PREDICTION_BGR = (255, 0, 0)


def _colorize(values: np.ndarray, valid: np.ndarray, lo: float, hi: float, colormap) -> np.ndarray:
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    idx = np.zeros(values.shape, dtype=np.uint8)
    v = values[valid].astype(np.float64)
    idx[valid] = np.clip(np.round((v - lo) * scale) if scale else 255.0, 0, 255).astype(np.uint8)
    if colormap is None:
        out = cv2.cvtColor(idx, cv2.COLOR_GRAY2BGR)
    else:
        out = cv2.applyColorMap(idx, colormap)
    out[~valid] = 0
    return out


def _range(values: np.ndarray, valid: np.ndarray, vmin, vmax, percentile) -> tuple[float, float]:
    if vmin is not None and vmax is not None:
        lo, hi = float(vmin), float(vmax)
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
            raise ParameterError(f"need finite vmin < vmax, got vmin={vmin}, vmax={vmax}")
        return lo, hi
    p_lo, p_hi = (float(p) for p in percentile)
    if not (0.0 <= p_lo < p_hi <= 100.0):
        raise ParameterError(f"percentile must satisfy 0 <= low < high <= 100, got {percentile}")
    if valid.any():
        lo, hi = (float(x) for x in np.percentile(values[valid], [p_lo, p_hi]))
    else:
        lo, hi = 0.0, 1.0
    lo = float(vmin) if vmin is not None else lo
    hi = float(vmax) if vmax is not None else hi
    return lo, hi


def colorize_disparity(disp, *, vmin=None, vmax=None, percentile=(1, 99),
                       colormap=cv2.COLORMAP_TURBO) -> np.ndarray:
    """(H, W, 3) uint8 BGR picture of a disparity map; near (large d) warm, invalid black.

    The colour range is ``[vmin, vmax]`` when both are given (fixed, for comparing
    several maps), else the ``percentile`` range of the valid values. ``colormap=None``
    gives grey.
    """
    d = check_map(disp, "disparity")
    valid = np.isfinite(d)
    lo, hi = _range(d, valid, vmin, vmax, percentile)
    return _colorize(d, valid, lo, hi, colormap)


def colorize_depth(depth, *, vmin=None, vmax=None, percentile=(1, 99),
                   colormap=cv2.COLORMAP_TURBO) -> np.ndarray:
    """Picture of a depth map (metres) drawn as inverse depth: near bright/warm, invalid black.

    ``vmin``/``vmax`` are *depths* in metres (near and far ends) when given; ``inf``
    depth (infinitely far) is valid and drawn at the far end.
    """
    z = check_map(depth, "depth")
    valid = ~np.isnan(z) & (z > 0)
    with np.errstate(divide="ignore"):
        inv = np.where(valid, 1.0 / np.where(valid, z, 1.0), np.nan).astype(np.float32)
    if (vmin is not None and not vmin > 0) or (vmax is not None and not vmax > 0):
        raise ParameterError(f"vmin/vmax depths must be > 0, got {vmin}, {vmax}")
    lo = None if vmax is None else (0.0 if np.isinf(vmax) else 1.0 / float(vmax))
    hi = None if vmin is None else 1.0 / float(vmin)
    valid_inv = np.isfinite(inv)
    lo, hi = _range(inv, valid_inv, lo, hi, percentile)
    return _colorize(inv, valid_inv, lo, hi, colormap)


def colorize_confidence(conf, *, colormap=None) -> np.ndarray:
    """Picture of a confidence map in [0, 1] (grey by default: 1 = white); NaN black."""
    c = check_map(conf, "confidence")
    valid = np.isfinite(c)
    return _colorize(np.clip(c, 0.0, 1.0), valid, 0.0, 1.0, colormap)


def error_map(disp, gt, mask=None, *, max_error: float = 4.0) -> np.ndarray:
    """Picture of |disp - gt|: green (0) -> yellow -> red (>= ``max_error`` px).

    Black where there is no ground truth (non-finite ``gt``, or ``mask`` False/0);
    blue (:data:`MISSING_PREDICTION_BGR`) where the ground truth is known but the
    prediction is invalid (NaN).
    """
    d = check_map(disp, "disparity")
    g = check_map(gt, "ground truth")
    if d.shape != g.shape:
        raise InputError(f"disparity {d.shape} and ground truth {g.shape} differ in shape")
    if not (np.isfinite(max_error) and max_error > 0):
        raise ParameterError(f"max_error must be > 0 px, got {max_error}")
    known = np.isfinite(g)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != g.shape:
            raise InputError(f"mask {m.shape} and ground truth {g.shape} differ in shape")
        known &= m.astype(bool)
    predicted = known & np.isfinite(d)
    t = np.zeros(d.shape, dtype=np.float32)
    t[predicted] = np.minimum(np.abs(d[predicted] - g[predicted]) / np.float32(max_error), 1.0)
    out = np.zeros(d.shape + (3,), dtype=np.uint8)
    red = np.clip(510.0 * t, 0, 255)
    green = np.clip(510.0 * (1.0 - t), 0, 255)
    out[..., 1] = np.where(predicted, np.round(green), 0).astype(np.uint8)
    out[..., 2] = np.where(predicted, np.round(red), 0).astype(np.uint8)
    out[known & ~predicted] = MISSING_PREDICTION_BGR
    return out


__all__ = ["colorize_disparity", "colorize_depth", "colorize_confidence", "error_map",
           "MISSING_PREDICTION_BGR"]
