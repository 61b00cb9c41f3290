"""Symmetric sub-pixel estimate (Shimizu-Okutomi half-pixel shift) on locally fronto-parallel surfaces.

:func:`symmetric_subpixel` re-estimates the sub-pixel part of valid disparities from the
images: the mean of two parabola fits of local ZNCC costs, one on the integer grid and
one on the grid shifted by half a pixel, whose integer biases are opposite (see
:mod:`stereo.kernels.symmetric_subpixel`). SGM's own estimate (equiangular fit of the
aggregated costs, which carry the P1 penalty at d +- 1) is biased towards integers
(pixel locking); the plane refinement (:mod:`stereo.postprocess.refine`) removes that on
slants whose window spans several integer plateaus, but not on fronto-parallel or gently
slanted surfaces, where all its samples share the bias. The symmetric estimate is noisier
per pixel (a 5 x 5 window) but nearly unbiased; run it after the median and before the
plane refinement, which averages the noise. Opt-in in :class:`stereo.sgbm.SGBM`
(``refine_symmetric``).

Gate: a pixel is re-estimated only where the disparities ``span`` px away on both sides,
on both axes, are valid and differ by less than ``max_step`` (1 px): with ``span`` = twice
the window radius (default 4 for the 5 x 5 window) the surface then moves by less than
half a pixel across the window, the fronto-parallel window's model. Depth edges, steep
slants and holes keep SGM's value.

Measured (10 MiddEval3 quarter-resolution training scenes, SGBM ``fill=True`` as in
``stereo bench``, with and without ``refine_symmetric``, non-occluded pixels,
quarter-resolution px): pixel-locking peak-to-peak mean 0.040 -> 0.027 px
(8 of 10 scenes <= 0.04, was 5; Motorcycle 0.054 -> 0.042; ArtL, whose ground truth is on a
1/4 px grid, 0.091 -> 0.067), mean bad0.5/bad1/bad2 within +-0.05 point (per scene
bad0.5 -0.4 to +0.4). It costs about 20 % of SGBM's time (ZNCC at 7
shifts per gated pixel), hence off by default. The gate distance trades locking against
noise: span 12 (only where the plane window spans less than one integer step) gave
locking 0.034, span 2 0.026 with bad0.5 +0.07 point.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..kernels.symmetric_subpixel import symmetric_subpixel as _kernel
from ..validation import check_float, check_int


def half_shift2(right: np.ndarray) -> np.ndarray:
    """Twice the uint8 image half-way between columns, uint16: ``out[:, j] = right[:, j] +
    right[:, j + 1]`` (the last column doubles the last pixel; the kernel never reads it)."""
    r = np.asarray(right, np.uint16)
    out = np.empty_like(r)
    out[:, :-1] = r[:, :-1] + r[:, 1:]
    out[:, -1] = 2 * r[:, -1]
    return out


def _as_uint8(img) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


def symmetric_subpixel(disparity, left, right, radius: int = 2, span: int | None = None,
                       max_step: float = 1.0, max_move: float = 0.5) -> np.ndarray:
    """Symmetric sub-pixel re-estimate of a disparity map; new float32 array.

    Args:
        disparity: (H, W) disparities, px (left x matches right x - d), NaN = invalid
            (stays NaN; invalid pixels are never filled).
        left, right: (H, W) grey images of the pair, uint8 (other dtypes are rounded and
            clipped to 0..255: the kernel's sums are exact integers).
        radius: ZNCC window radius, px (window (2 radius + 1)^2).
        span: a pixel is re-estimated only when the disparities ``span`` px away on both
            sides, on both axes, are valid and differ by less than ``max_step`` px (None:
            ``2 * radius``: with ``max_step`` 1 the surface then moves by less than half a
            pixel across the window).
        max_move: the new value is used only when within this many px of the old one.
    """
    radius = check_int(radius, "radius", minimum=1, maximum=16)
    span = 2 * radius if span is None else check_int(span, "span", minimum=1, maximum=256)
    max_step = check_float(max_step, "max_step", minimum=0.0)
    max_move = check_float(max_move, "max_move", minimum=0.0)
    d = np.ascontiguousarray(disparity, dtype=np.float32)
    gl = _as_uint8(left)
    gr = _as_uint8(right)
    if d.ndim != 2 or gl.shape != d.shape or gr.shape != d.shape:
        raise InputError(f"disparity {d.shape}, left {gl.shape} and right {gr.shape} must be "
                         "2-D of one shape")
    out = np.empty_like(d)
    _kernel(d, gl, gr, half_shift2(gr), np.int64(radius), np.int64(span), np.float32(max_step),
            np.float64(max_move), out)
    return out


__all__ = ["half_shift2", "symmetric_subpixel"]
