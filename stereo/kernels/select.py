"""Disparity selection kernels: one place for the rules every matcher uses (validated API:
:func:`stereo.postprocess.select.select_disparities`).

Volume layout: ``(H, W, D)`` C-contiguous, disparity innermost; index ``k`` stands for the
disparity ``d = min_disparity + k``. Supported dtypes: uint16, int32, uint32. A cell whose
match ``x_r = x - d`` falls outside the right image (or that the caller wants excluded)
holds the *sentinel*, the largest value of the dtype; real costs must be smaller.

Rules, per left pixel (the left image is the reference):

* Winner-takes-all: the smallest cost wins, ties go to the smallest ``k``. A pixel whose
  cells are all sentinels has no candidate: ``BORDER``.
* A winner on the edge of the search range (``k == 0`` or ``k == D - 1``) is not a
  confirmed minimum, the true match may lie beyond the range: ``OUT_OF_RANGE``. A winner
  next to a sentinel cell (the last candidate before the image edge) is likewise
  unconfirmed: ``BORDER``. This is how out-of-range matches become invalid instead of
  being clipped to the range edge. With ``D <= 2`` every pixel is therefore invalid.
* Uniqueness, with OpenCV StereoSGBM's meaning: the pixel is ``NOT_UNIQUE`` when some
  ``k`` with ``|k - k_best| > 1`` has ``cost * (100 - ratio) < best * 100``, i.e. a
  non-adjacent candidate is within ``ratio`` percent of the winner. ``ratio = 0`` disables.
* Sub-pixel: ``"parabola"`` fits a parabola through the winner and its two neighbours,
  ``d + (c- - c+) / (2 (c- - 2c + c+))``; ``"equiangular"`` fits a symmetric V
  (better for SAD and census costs), ``d + (c- - c+) / (2 (max(c-, c+) - c))``;
  ``"none"`` keeps integers. The offset is clamped to [-0.5, 0.5].
* Left-right check from the same volume (no second matching pass): the right image's
  disparity at column ``x_r`` is the arg-min over ``k`` of ``volume[y, x_r + d_k, k]``
  among non-sentinel cells (ties to the smallest ``k``). The left pixel is
  ``LR_MISMATCH`` when ``|d_left - d_right(x_r)| > lr_max_diff`` with
  ``x_r = floor(x - d_left + 0.5)`` and ``d_left`` the (sub-pixel) output disparity.
  Where the right disparity is unknown the check is skipped. ``lr_max_diff < 0`` disables.

The disparity is NaN wherever any invalid flag is set.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .. import flags


_BORDER = int(flags.BORDER)
_OUT_OF_RANGE = int(flags.OUT_OF_RANGE)
_LR_MISMATCH = int(flags.LR_MISMATCH)
_NOT_UNIQUE = int(flags.NOT_UNIQUE)
_INT32_MAX = 2147483647


class Selection(NamedTuple):
    """What :func:`select_disparities` returns; every array is (H, W).

    disparity: float32 pixels (``d = x_left - x_right``), NaN where invalid.
    mask: uint8 bit flags from :mod:`stereo.flags` (BORDER, OUT_OF_RANGE, NOT_UNIQUE,
        LR_MISMATCH), 0 = valid.
    best_cost: int32 winning cost (the sentinel where the pixel has no candidate).
    second_cost: int32 best cost among ``|k - k_best| > 1`` (the sentinel when none).
        Both saturate at 2**31 - 1, so a uint32 sentinel reads as 2**31 - 1.
    lr_distance: float32 ``|d_left - d_right(x - d_left)|``, NaN where not computed.
    """

    disparity: np.ndarray
    mask: np.ndarray
    best_cost: np.ndarray
    second_cost: np.ndarray
    lr_distance: np.ndarray


_NO_KEY = np.int64(0x7FFFFFFFFFFFFFFF)


@njit(cache=True)
def _right_keys(costs, sentinel, min_disparity, rkey_rev):
    """Right-image arg-min per column x_r, as keys ``cost << 32 | k`` (min key = min cost, then min k).

    Stored reversed, ``rkey_rev[w - 1 - x_r]``, so that for a fixed left column x the
    cells of consecutive k update consecutive entries (contiguous slices, vectorisable).
    """
    w, nd = costs.shape
    for j in range(w):
        rkey_rev[j] = _NO_KEY
    for x in range(w):
        # x_r = x - min_disparity - k must lie in [0, w - 1]
        k_lo = max(0, x - min_disparity - w + 1)
        k_hi = min(nd - 1, x - min_disparity)
        if k_hi < k_lo:
            continue
        j0 = w - 1 - x + min_disparity + k_lo
        n = k_hi - k_lo + 1
        seg = costs[x, k_lo:k_hi + 1]
        dst = rkey_rev[j0:j0 + n]
        for i in range(n):
            c = seg[i]
            key = (np.int64(c) << 32) | np.int64(k_lo + i)
            if c == sentinel:
                key = _NO_KEY
            dst[i] = min(dst[i], key)


@njit(cache=True, inline="always", error_model="numpy")
def pixel_rules(best, second, kb, cm, cp, nd, sentinel, ratio, subpixel, min_disparity):
    """The per-pixel rules once the costs are reduced: returns ``(d, mask_bits)``.

    ``best``/``second``: winning cost and best non-adjacent cost (``sentinel`` if none),
    ``kb``: winning index, ``cm``/``cp``: costs at ``kb - 1``/``kb + 1`` (``sentinel``
    when off the range or excluded), all as int64. ``d`` is the (sub-pixel) float32
    disparity before any invalidation; the left-right rule is :func:`lr_rule`.
    Branch-free (selects, no early exits) so that a loop over a row of pixels vectorises.
    """
    edge = (kb == 0) | (kb == nd - 1)
    border = ((kb > 0) & (cm == sentinel)) | ((kb < nd - 1) & (cp == sentinel))
    clash = (ratio > 0) & (second != sentinel) & (second * (100 - ratio) < best * 100)
    m = ((_OUT_OF_RANGE if edge else 0) | (_BORDER if border else 0)
         | (_NOT_UNIQUE if clash else 0))
    if subpixel == 1:
        den = 2 * (cm - 2 * best + cp)
    else:
        den = 2 * (max(cm, cp) - best)
    fit = (subpixel != 0) & (cm != sentinel) & (cp != sentinel) & (den > 0)
    off = (cm - cp) / (den if den > 0 else 1)
    off = min(max(off, -0.5), 0.5)
    return np.float32(float(min_disparity + kb) + (off if fit else 0.0)), m


@njit(cache=True, inline="always")
def lr_column(x, d):
    """Right-image column ``floor(x - d + 0.5)`` the left-right rule looks at."""
    return int(np.floor(x - np.float64(d) + 0.5))


@njit(cache=True, inline="always")
def lr_rule(d, kr, min_disparity, lr_max_diff):
    """``(|d - d_right|, LR_MISMATCH bit or 0)`` for the right image's winning index ``kr``."""
    dist = abs(np.float64(d) - np.float64(min_disparity + kr))
    return np.float32(dist), (_LR_MISMATCH if dist > lr_max_diff else 0)


@njit(cache=True)
def select_row(costs, sentinel, min_disparity, ratio, subpixel, lr_max_diff,
               disp, mask, best_out, second_out, lr_out, rkey):
    """Apply the selection rules to one image row of costs, shape (W, D).

    Shared by the volume kernel below and by fused matchers that never build a volume,
    so the rules exist once (:func:`pixel_rules`, :func:`lr_rule`). ``rkey`` is an int64
    scratch of length W. Outputs are 1-D rows (W,) of the :class:`Selection` arrays.
    """
    w, nd = costs.shape
    do_lr = lr_max_diff >= 0.0
    if do_lr:
        _right_keys(costs, sentinel, min_disparity, rkey)
    sent64 = np.int64(sentinel)
    for x in range(w):
        row = costs[x]
        # Two passes (min, then first index of it) vectorise better than one branchy arg-min.
        bmin = sentinel
        for k in range(nd):
            bmin = min(bmin, row[k])
        best = np.int64(bmin)
        lr_out[x] = np.nan
        if best == sent64:
            disp[x] = np.nan
            mask[x] = _BORDER
            best_out[x] = min(sent64, _INT32_MAX)
            second_out[x] = min(sent64, _INT32_MAX)
            continue
        kb = 0
        while np.int64(row[kb]) != best:
            kb += 1
        smin = sentinel
        for k in range(0, kb - 1):
            smin = min(smin, row[k])
        for k in range(kb + 2, nd):
            smin = min(smin, row[k])
        second = np.int64(smin)
        best_out[x] = min(best, _INT32_MAX)
        second_out[x] = min(second, _INT32_MAX)
        cm = sent64
        cp = sent64
        if kb > 0:
            cm = np.int64(row[kb - 1])
        if kb < nd - 1:
            cp = np.int64(row[kb + 1])
        d, m = pixel_rules(best, second, kb, cm, cp, nd, sent64, ratio, subpixel, min_disparity)
        if do_lr:
            xr = lr_column(x, d)
            if 0 <= xr < w and rkey[w - 1 - xr] != _NO_KEY:
                dist, bit = lr_rule(d, rkey[w - 1 - xr] & np.int64(0xFFFFFFFF), min_disparity,
                                    lr_max_diff)
                lr_out[x] = dist
                m |= bit
        mask[x] = m
        disp[x] = np.nan if m != 0 else d


@njit(cache=True, parallel=True)
def select_volume(volume, sentinel, min_disparity, ratio, subpixel, lr_max_diff,
                   disp, mask, best_out, second_out, lr_out, rkey):
    h = volume.shape[0]
    for y in prange(h):
        select_row(volume[y], sentinel, min_disparity, ratio, subpixel, lr_max_diff,
                   disp[y], mask[y], best_out[y], second_out[y], lr_out[y], rkey[y])


__all__ = ["Selection", "select_row", "pixel_rules", "lr_column", "lr_rule", "select_volume"]
