"""SAD block-matching costs with running box sums, O(1) work per (pixel, disparity) cell.

Images are padded (edge replication) by the window radius so that every pixel gets a full
window, and the right image further so that ``x - d`` never indexes outside memory;
cells whose match centre ``x - d`` lies outside the right image are set to the sentinel
(the cost dtype's maximum) afterwards. The right image is stored reversed so that, for a
fixed left column, consecutive disparities read consecutive bytes (vectorisable).

For each horizontal band of rows a column-sum table ``colsum[x, k]`` (window height) is
slid down one row at a time (add the entering row, subtract the leaving one), and each
row's window sums come from a running sum of ``colsum`` along x. Two drivers share these
pieces: :func:`sad_volume` writes the (H, W, D) volume, :func:`bm_fused` hands each
cost row straight to :func:`stereo.postprocess.select.select_row` and never stores the
volume (so the selection rules still live in one place).
"""

from __future__ import annotations

import cv2
import numba
import numpy as np
from numba import njit, prange

from .. import flags
from ..postprocess.select import lr_column, lr_rule, pixel_rules, select_row


class PaddedPair:
    """Prefiltered images laid out for the kernels (see module doc)."""

    def __init__(self, left: np.ndarray, right: np.ndarray, min_disparity: int,
                 num_disparities: int, block_size: int):
        r = block_size // 2
        h, w = left.shape
        max_d = min_disparity + num_disparities - 1
        pad_l = r + max(0, max_d)
        pad_r = r + max(0, -min_disparity)
        self.left = np.ascontiguousarray(cv2.copyMakeBorder(left, r, r, r, r, cv2.BORDER_REPLICATE))
        rp = cv2.copyMakeBorder(right, r, r, pad_l, pad_r, cv2.BORDER_REPLICATE)
        self.right_rev = np.ascontiguousarray(rp[:, ::-1])
        # Reversed index of right pixel (x' - d) for padded left column xc = x' + r, d = min_d + k:
        #   base - xc + k
        self.base = rp.shape[1] - 1 + r + min_disparity - pad_l
        self.height, self.width = h, w


def cost_dtype(max_pixel_cost: int, block_size: int):
    """Narrowest cost dtype whose max (the sentinel) exceeds every real window cost."""
    return np.uint16 if max_pixel_cost * block_size * block_size < 65535 else np.int32


@njit(cache=True)
def _colsum_init(lp, rrev, y0, bs, base, colsum):
    # Row slices (not 2-D indexing with computed offsets) let LLVM drop negative-index
    # wrap-around checks and vectorise the disparity loops; max - min is |a - b| for uint8.
    wl, nd = colsum.shape
    for xc in range(wl):
        c = colsum[xc]
        for k in range(nd):
            c[k] = 0
    for yy in range(y0, y0 + bs):
        lrow = lp[yy]
        rrow = rrev[yy]
        for xc in range(wl):
            a = lrow[xc]
            b = base - xc
            r = rrow[b:b + nd]
            c = colsum[xc]
            for k in range(nd):
                v = r[k]
                c[k] += max(a, v) - min(a, v)


@njit(cache=True)
def _colsum_slide(lp, rrev, y_add, y_sub, base, colsum):
    wl, nd = colsum.shape
    la = lp[y_add]
    ls = lp[y_sub]
    ra = rrev[y_add]
    rs = rrev[y_sub]
    for xc in range(wl):
        a = la[xc]
        s = ls[xc]
        b = base - xc
        va = ra[b:b + nd]
        vs = rs[b:b + nd]
        c = colsum[xc]
        for k in range(nd):
            p = va[k]
            q = vs[k]
            c[k] += (max(a, p) - min(a, p)) - (max(s, q) - min(s, q))


@njit(cache=True)
def _cost_row(colsum, bs, min_disparity, sentinel, acc, out):
    """Window sums of one row into ``out`` (W, D); sentinel where x - d is off the image."""
    w, nd = out.shape
    o = out[0]
    for k in range(nd):
        o[k] = 0
    for xc in range(bs):
        c = colsum[xc]
        for k in range(nd):
            o[k] += c[k]
    # Running sum along x, reading the previous output row (faster than a separate accumulator).
    for x in range(1, w):
        cin = colsum[x + bs - 1]
        cout = colsum[x - 1]
        prev = out[x - 1]
        o = out[x]
        for k in range(nd):
            o[k] = prev[k] + cin[k] - cout[k]
    # Sentinels only near the image sides: valid k satisfy 0 <= x - min_disparity - k <= w - 1.
    for x in range(0, min(w, min_disparity + nd - 1)):
        o = out[x]
        for k in range(max(x - min_disparity + 1, 0), nd):
            o[k] = sentinel
    for x in range(max(0, w + min_disparity), w):
        o = out[x]
        for k in range(0, min(x - min_disparity - w + 1, nd)):
            o[k] = sentinel


@njit(cache=True, parallel=True)
def _sad_volume(lp, rrev, base, bs, min_disparity, sentinel, nbands, colsum_buf, acc_buf, volume):
    h = volume.shape[0]
    for band in prange(nbands):
        y0 = band * h // nbands
        y1 = (band + 1) * h // nbands
        if y1 <= y0:
            continue
        colsum = colsum_buf[band]
        _colsum_init(lp, rrev, y0, bs, base, colsum)
        for y in range(y0, y1):
            if y > y0:
                _colsum_slide(lp, rrev, y + bs - 1, y - 1, base, colsum)
            _cost_row(colsum, bs, min_disparity, sentinel, acc_buf[band], volume[y])


@njit(cache=True, parallel=True)
def _bm_fused(lp, rrev, base, bs, min_disparity, sentinel, ratio, subpixel, lr_max_diff, nbands,
              colsum_buf, acc_buf, row_buf, rkey_buf, disp, mask, best, second, lrd):
    h = disp.shape[0]
    for band in prange(nbands):
        y0 = band * h // nbands
        y1 = (band + 1) * h // nbands
        if y1 <= y0:
            continue
        colsum = colsum_buf[band]
        row = row_buf[band]
        _colsum_init(lp, rrev, y0, bs, base, colsum)
        for y in range(y0, y1):
            if y > y0:
                _colsum_slide(lp, rrev, y + bs - 1, y - 1, base, colsum)
            _cost_row(colsum, bs, min_disparity, sentinel, acc_buf[band], row)
            select_row(row, sentinel, min_disparity, ratio, subpixel, lr_max_diff,
                       disp[y], mask[y], best[y], second[y], lrd[y], rkey_buf[band])


_NOKEY32 = np.uint32(0xFFFFFFFF)
_BORDER = int(flags.BORDER)
_SENT16 = 65535


@njit(cache=True)
def _rkey_layout(w, min_disparity, nd):
    """(offset, length) of the reversed right-key row: index ``off - x_r`` for every
    ``x_r = x - min_disparity - k`` the kernel touches and every ``x_r`` in [0, w)."""
    off = max(w - 1, w - 1 - min_disparity)
    return off, off + max(0, min_disparity + nd - 1) + 1


@njit(cache=True)
def _select_row_u16(colsum, bs, min_disparity, ratio, subpixel, lr_max_diff, kidx, row, rkey,
                    dtmp, disp, mask, best_out, second_out, lr_out):
    """Window sums of one row, then the selection rules on them, for uint16 costs.

    Each candidate becomes a key ``cost << 16 | k`` so that a plain unsigned min gives
    both the left winner (smallest cost, then smallest k) and, along the diagonal
    ``x_r = x - d``, the right image's winner (``rkey[off - x_r]``, reversed and padded so
    that off-image cells need no test: their keys land in the padding, see
    :func:`_rkey_layout`).
    Same results as :func:`select_row` on this row of the volume.
    """
    w = disp.shape[0]
    nd = row.shape[1]
    do_lr = lr_max_diff >= 0.0
    sent = np.int64(_SENT16)
    _cost_row(colsum, bs, min_disparity, np.uint16(_SENT16), row, row)
    off = _rkey_layout(w, min_disparity, nd)[0]
    if do_lr:
        for j in range(rkey.shape[0]):
            rkey[j] = _NOKEY32
    for x in range(w):
        c = row[x]
        bmin = _NOKEY32
        if do_lr:
            j0 = off - x + min_disparity         # rkey index of (x, k): off - (x - min_d - k)
            rk = rkey[j0:j0 + nd]
            for k in range(nd):
                key = np.uint32((np.uint32(c[k]) << 16) | kidx[k])
                bmin = min(bmin, key)
                rk[k] = min(rk[k], key)
        else:
            for k in range(nd):
                key = np.uint32((np.uint32(c[k]) << 16) | kidx[k])
                bmin = min(bmin, key)
        best = np.int64(bmin >> 16)
        if best == sent:
            best_out[x] = sent
            second_out[x] = sent
            mask[x] = _BORDER
            dtmp[x] = np.nan
            continue
        kb = np.int64(bmin & 0xFFFF)
        cm = np.int64(c[kb - 1]) if kb > 0 else sent
        cp = np.int64(c[kb + 1]) if kb < nd - 1 else sent
        # the row is not needed any more: mask the winner and its neighbours for the rival
        for k in range(max(kb - 1, 0), min(kb + 2, nd)):
            c[k] = _SENT16
        smin = np.uint16(_SENT16)
        for k in range(nd):
            smin = min(smin, c[k])
        second = np.int64(smin)
        d, m = pixel_rules(best, second, kb, cm, cp, nd, sent, ratio, subpixel, min_disparity)
        best_out[x] = best
        second_out[x] = second
        mask[x] = m
        dtmp[x] = d
    # Left-right rule last: the right winner at x_r is final only once x_r + max_d is passed.
    for x in range(w):
        d = dtmp[x]
        m = mask[x]
        lr_out[x] = np.nan
        if do_lr and best_out[x] != sent:
            xr = lr_column(x, d)
            if 0 <= xr < w:
                rk = rkey[off - xr]
                if rk != _NOKEY32:
                    dist, bit = lr_rule(d, np.int64(rk & 0xFFFF), min_disparity, lr_max_diff)
                    lr_out[x] = dist
                    m |= bit
                    mask[x] = m
        disp[x] = np.nan if m != 0 else d


@njit(cache=True, parallel=True)
def _bm_fused_u16(lp, rrev, base, bs, min_disparity, ratio, subpixel, lr_max_diff, nbands,
                  kidx, colsum_buf, row_buf, rkey_buf, dtmp_buf, disp, mask, best, second, lrd):
    h = disp.shape[0]
    for band in prange(nbands):
        y0 = band * h // nbands
        y1 = (band + 1) * h // nbands
        if y1 <= y0:
            continue
        colsum = colsum_buf[band]
        _colsum_init(lp, rrev, y0, bs, base, colsum)
        for y in range(y0, y1):
            if y > y0:
                _colsum_slide(lp, rrev, y + bs - 1, y - 1, base, colsum)
            _select_row_u16(colsum, bs, min_disparity, ratio, subpixel, lr_max_diff, kidx, row_buf[band],
                            rkey_buf[band], dtmp_buf[band], disp[y], mask[y], best[y],
                            second[y], lrd[y])


def _bands(h: int) -> int:
    # A few bands per thread balance load; each band pays one window-height start-up.
    return max(1, min(h, 2 * numba.get_num_threads()))


def sad_volume(left: np.ndarray, right: np.ndarray, min_disparity: int, num_disparities: int,
               block_size: int, dtype=np.int32) -> np.ndarray:
    """(H, W, D) SAD volume of two prefiltered uint8 images (edge-replicated windows).

    ``volume[y, x, k]`` = sum over the window of ``|L(y', x') - R(y', x' - d)|`` with
    ``d = min_disparity + k``; the dtype max where ``x - d`` is outside the right image.
    """
    pair = PaddedPair(left, right, min_disparity, num_disparities, block_size)
    h, w = left.shape
    nb = _bands(h)
    dtype = np.dtype(dtype)
    sentinel = dtype.type(np.iinfo(dtype).max)
    colsum = np.empty((nb, w + block_size - 1, num_disparities), dtype)
    acc = np.empty((nb, num_disparities), dtype)
    volume = np.empty((h, w, num_disparities), dtype)
    _sad_volume(pair.left, pair.right_rev, pair.base, block_size, min_disparity, sentinel, nb,
                colsum, acc, volume)
    return volume


def bm_select(left: np.ndarray, right: np.ndarray, min_disparity: int, num_disparities: int,
              block_size: int, dtype, ratio: int, subpixel: int, lr_max_diff: float):
    """Fused SAD + selection; returns the arrays of a ``Selection`` (same rules, no volume)."""
    pair = PaddedPair(left, right, min_disparity, num_disparities, block_size)
    h, w = left.shape
    nb = _bands(h)
    dtype = np.dtype(dtype)
    sentinel = dtype.type(np.iinfo(dtype).max)
    colsum = np.empty((nb, w + block_size - 1, num_disparities), dtype)
    disp = np.empty((h, w), np.float32)
    mask = np.empty((h, w), np.uint8)
    best = np.empty((h, w), np.int32)
    second = np.empty((h, w), np.int32)
    lrd = np.empty((h, w), np.float32)
    if dtype == np.uint16 and num_disparities <= 0xFFFF:
        row = np.empty((nb, w, num_disparities), np.uint16)
        rkey = np.empty((nb, _rkey_layout(w, min_disparity, num_disparities)[1]), np.uint32)
        dtmp = np.empty((nb, w), np.float32)
        _bm_fused_u16(pair.left, pair.right_rev, pair.base, block_size, min_disparity, ratio,
                      subpixel, lr_max_diff, nb, np.arange(num_disparities, dtype=np.uint32),
                      colsum, row, rkey, dtmp, disp, mask, best,
                      second, lrd)
        return disp, mask, best, second, lrd
    acc = np.empty((nb, num_disparities), dtype)
    row = np.empty((nb, w, num_disparities), dtype)
    rkey = np.empty((nb, w), np.int64)
    _bm_fused(pair.left, pair.right_rev, pair.base, block_size, min_disparity, sentinel, ratio,
              subpixel, lr_max_diff, nb, colsum, acc, row, rkey, disp, mask, best, second, lrd)
    return disp, mask, best, second, lrd


__all__ = ["PaddedPair", "cost_dtype", "sad_volume", "bm_select"]
