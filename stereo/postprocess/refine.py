"""Sub-pixel refinement of a finished disparity map (after speckle removal and median).

:func:`refine_planes` replaces every valid disparity by the value at that pixel of a
least-squares plane through the consistent neighbours of a sparse window (see
:mod:`stereo.kernels.refine` for the exact rule). It uses the disparity map only: no
cost volume, no images, so it runs after any matcher.

Measured on the 10 MiddEval3 quarter-resolution training scenes (``stereo bench``, SGBM
defaults otherwise, dense scoring, non-occluded pixels, quarter-resolution px, means over
scenes): with the defaults radius 6, step 3 (5 x 5 samples spanning 13 x 13 px), tau 1 px,
bad0.5 19.72 -> 18.28 %, bad1 11.59 -> 11.09 %, bad2 7.63 -> 7.57 %, avgerr 1.00 -> 0.98
px, pixel-locking peak-to-peak 0.073 -> 0.050 px, for about 12 % of SGBM's CPU time
(14 ms on a 718 x 496 map, one thread). The work grows with the number of samples, not
the span: 7 x 7 samples over 19 x 19 px gained 0.05 point of bad0.5 and 0.005 px of
locking more for twice the work; 5 x 5 samples over 9 x 9 px locked more (+0.006 px).
tau 0.5 px dropped samples on slants (bad1 +0.3 point), 2 px let depth edges bleed
(bad0.5 +1.2 points). Weighting samples by the matcher's confidence changed bad0.5 by
under 0.1 point and needs the confidence map, so samples are unweighted.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..kernels.refine import plane_refine
from ..validation import check_float, check_int


def refine_planes(disparity: np.ndarray, radius: int = 6, step: int = 3, tau: float = 1.0) -> np.ndarray:
    """Plane-fit refinement of a float disparity map (pixels, NaN = invalid); new float32 array.

    Args:
        disparity: (H, W) disparities, pixels, NaN where invalid (stays NaN).
        radius: window half size, pixels (0 returns a copy).
        step: spacing of the window samples, pixels (1 = every pixel).
        tau: a sample belongs to the centre's surface when its disparity is within tau px.
    """
    radius = check_int(radius, "radius", minimum=0)
    step = check_int(step, "step", minimum=1)
    tau = check_float(tau, "tau", minimum=0.0)
    src = np.ascontiguousarray(disparity, dtype=np.float32)
    if src.ndim != 2:
        raise InputError(f"disparity must be 2-D, got shape {src.shape}")
    if radius == 0:
        return src.copy()
    out = np.empty_like(src)
    plane_refine(src, np.int64(radius), np.int64(step), np.float32(tau), out)
    return out


__all__ = ["refine_planes"]
