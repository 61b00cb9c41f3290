"""Invalidate pixels in place: NaN in the disparity, a reason flag in the mask."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _mark(disp, mask, where, flag):
    d = disp.ravel()
    m = mask.ravel()
    w = where.ravel()
    for i in range(d.size):
        if w[i]:
            d[i] = np.nan
            m[i] |= flag


def mark_invalid(disparity: np.ndarray, mask: np.ndarray, where: np.ndarray, flag: int) -> None:
    """In place: NaN in ``disparity`` and ``flag`` set in ``mask`` wherever ``where`` is True.

    One pass (boolean indexing twice costs several times more); arrays of the same shape.
    """
    if disparity.flags.c_contiguous and mask.flags.c_contiguous and where.flags.c_contiguous:
        _mark(disparity, mask, where, np.uint8(flag))
    else:
        disparity[where] = np.nan
        mask[where] |= np.uint8(flag)


__all__ = ["mark_invalid"]
