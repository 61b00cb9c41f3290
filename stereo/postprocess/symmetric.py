"""Symmetric sub-pixel estimate (Shimizu-Okutomi half-pixel shift) on nearly fronto-parallel surfaces.

:func:`symmetric_subpixel` re-estimates the sub-pixel part of valid disparities where the
plane refinement (:mod:`stereo.postprocess.refine`) cannot remove pixel locking: where the
disparity changes by less than 1 px across the plane fit's window, every sample shares the
same integer bias. There it replaces d by the mean of two parabola fits of local ZNCC
costs, one on the integer grid and one on the grid shifted by half a pixel, whose biases
are opposite (see :mod:`stereo.kernels.symmetric_subpixel`). Run it after the median and
before the plane refinement, which then averages its per-pixel noise. Opt-in in
:class:`stereo.sgbm.SGBM` (``refine_symmetric``).

Measured (10 MiddEval3 quarter-resolution training scenes, SGBM defaults, non-occluded
pixels, quarter-resolution px; see the module's note in the project notes for the
commands): the pixel-locking peak-to-peak falls where the default leaves it (Teddy 0.041 ->
~0.017, Motorcycle 0.055 -> ~0.049, Pipes 0.053 -> ~0.044, mean 0.040 -> ~0.034), bad0.5,
bad1 and bad2 unchanged within 0.05 point; ArtL stays ~0.085 (its ground truth is on a
1/4 px grid and one fronto-parallel wall carries a +0.18 px offset there). It costs extra
time (ZNCC at 6-7 shifts per gated pixel), hence off by default.
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


def symmetric_subpixel(disparity, left, right, radius: int = 2, span: int = 12,
                       max_step: float = 1.0, max_move: float = 0.5) -> np.ndarray:
    """Symmetric sub-pixel re-estimate of a disparity map; new float32 array.

    Args:
        disparity: (H, W) disparities, px (left x matches right x - d), NaN = invalid
            (stays NaN; invalid pixels are never filled).
        left, right: (H, W) grey images of the pair, uint8 (other dtypes are rounded and
            clipped to 0..255: the kernel's sums are exact integers).
        radius: ZNCC window radius, px (window (2 radius + 1)^2).
        span: a pixel is re-estimated only when the disparities ``span`` px away on both
            sides, on both axes, are valid and differ by less than ``max_step`` px (use the
            plane refinement's largest offset: with ``max_step`` 1 the plane window then
            spans less than one integer step, the case the plane fit cannot de-lock).
        max_move: the new value is used only when within this many px of the old one.
    """
    radius = check_int(radius, "radius", minimum=1, maximum=16)
    span = check_int(span, "span", minimum=1, maximum=256)
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
