"""SAD block matching with running box sums, O(1) work per (pixel, disparity) cell.

Images are padded (edge replication) by the window radius so that every pixel gets a full
window, and the right image further so that ``x - d`` never indexes outside memory; cells
whose match centre ``x - d`` lies outside the right image hold the sentinel (the cost
dtype's maximum).

Two layouts, one per job:

* :func:`sad_volume` (the (H, W, D) volume, for tests and volume-based tools) keeps a
  column-sum table ``colsum[x, k]`` (window height) per band of rows, slides it down one
  row at a time and runs a box sum along x, vectorised over the disparities.
* :func:`bm_select` (what :class:`stereo.BlockMatcher` runs) never stores a volume and is
  *disparity-major*: per row, for each disparity, the column sums ``colsum[k, x]`` slide
  down, a box sum along x gives the row of costs ``t[k, x]``, and the selection is done
  with element-wise operations across those rows (running minimum and its index for the
  left image, and, shifted by ``d``, for the right image; then the best non-adjacent
  rival). Every inner loop runs along x (hundreds of pixels, SIMD-friendly, no
  horizontal reductions); the per-pixel rules come from :mod:`stereo.kernels.select`
  (:func:`~stereo.kernels.select.pixel_rules`, :func:`~stereo.kernels.select.lr_rule`)
  so they exist once, and the results equal ``select_disparities(sad_volume(...))`` bit
  for bit (tests check this).
"""

from __future__ import annotations

import cv2
import numba
import numpy as np
from numba import njit, prange

from .. import flags
from ..errors import ParameterError
from .select import lr_column, lr_rule, pixel_rules

_BORDER = int(flags.BORDER)
MAX_DISPARITIES = 65535
"""Largest ``num_disparities`` of :func:`bm_select` (winning indices are kept as uint16)."""


class PaddedPair:
    """Prefiltered images laid out for :func:`sad_volume`: right image reversed so that, for a
    fixed left column, consecutive disparities read consecutive bytes."""

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


# ----------------------------------------------------------------------------- disparity-major


@njit(cache=True)
def _ad_init(cs, lp, rp, y0, bs, sh):
    """cs[x] = sum over rows y0..y0+bs-1 of |lp[y, x] - rp[y, x + sh]|."""
    n = cs.shape[0]
    for x in range(n):
        cs[x] = 0
    for y in range(y0, y0 + bs):
        la = lp[y]
        ra = rp[y, sh:sh + n]
        for x in range(n):
            a = la[x]
            b = ra[x]
            cs[x] += max(a, b) - min(a, b)          # |a - b| without leaving uint8


@njit(cache=True, inline="always")
def _ad_slide(cs, la, ra, ls, rs, sh):
    """Slide the column sums down one row: add row ``a``, subtract row ``s``."""
    n = cs.shape[0]
    r1 = ra[sh:sh + n]
    r2 = rs[sh:sh + n]
    for x in range(n):
        a = la[x]
        b = r1[x]
        c = ls[x]
        d = r2[x]
        cs[x] += (max(a, b) - min(a, b)) - (max(c, d) - min(c, d))


@njit(cache=True, inline="always")
def _box(cs, p2, bs, t):
    """t[x] = sum_{i<bs} cs[x + i] for odd bs, as cs[x + bs - 1] + sum_{j<bs//2} p2[x + 2j]
    with p2[x] = cs[x] + cs[x + 1]: about half the loads of the plain sum. Pair terms are
    added four per pass so that every loop is a long, simple vector loop."""
    n = t.shape[0]
    for x in range(p2.shape[0]):
        p2[x] = cs[x] + cs[x + 1]
    m = bs // 2
    tail = cs[bs - 1:bs - 1 + n]
    q = min(4, m)
    a0 = p2[0:n]
    a1 = p2[2:2 + n]
    a2 = p2[4:4 + n]
    a3 = p2[6:6 + n]
    if q == 1:
        for x in range(n):
            t[x] = tail[x] + a0[x]
    elif q == 2:
        for x in range(n):
            t[x] = tail[x] + a0[x] + a1[x]
    elif q == 3:
        for x in range(n):
            t[x] = tail[x] + a0[x] + a1[x] + a2[x]
    else:
        for x in range(n):
            t[x] = tail[x] + a0[x] + a1[x] + a2[x] + a3[x]
    j = q
    while j < m:
        q = min(4, m - j)
        a0 = p2[2 * j:2 * j + n]
        a1 = p2[2 * j + 2:2 * j + 2 + n]
        a2 = p2[2 * j + 4:2 * j + 4 + n]
        a3 = p2[2 * j + 6:2 * j + 6 + n]
        if q == 1:
            for x in range(n):
                t[x] += a0[x]
        elif q == 2:
            for x in range(n):
                t[x] += a0[x] + a1[x]
        elif q == 3:
            for x in range(n):
                t[x] += a0[x] + a1[x] + a2[x]
        else:
            for x in range(n):
                t[x] += a0[x] + a1[x] + a2[x] + a3[x]
        j += q


@njit(cache=True)
def _update_best(t, bc, bk, k):
    """Running minimum ``bc`` and its index ``bk`` over cost rows; strict ``<`` with k
    ascending keeps the smallest k on ties."""
    k0 = np.uint16(k)
    for x in range(bc.shape[0]):
        c = t[x]
        b = bc[x]
        bk[x] = k0 if c < b else bk[x]
        bc[x] = min(c, b)


@njit(cache=True, inline="always")
def _update_best4(t0, t1, t2, t3, bc, bk, k):
    """:func:`_update_best` for rows k..k+3 at once (a quarter of the bc/bk traffic)."""
    k0 = np.uint16(k)
    k1 = np.uint16(k + 1)
    k2 = np.uint16(k + 2)
    k3 = np.uint16(k + 3)
    for x in range(bc.shape[0]):
        b = bc[x]
        i = bk[x]
        c = t0[x]
        i = k0 if c < b else i
        b = min(b, c)
        c = t1[x]
        i = k1 if c < b else i
        b = min(b, c)
        c = t2[x]
        i = k2 if c < b else i
        b = min(b, c)
        c = t3[x]
        i = k3 if c < b else i
        b = min(b, c)
        bk[x] = i
        bc[x] = b


# The rival (best cost with |k - bk| > 1) and the winner's neighbours cm = cost[bk - 1],
# cp = cost[bk + 1]: with u = uint16(bk - (k - 1)), u > 2 is |k - bk| > 1, u == 2 is
# k == bk - 1 and u == 0 is k == bk + 1, so the loops stay in 16-bit lanes without abs.

@njit(cache=True)
def _rival(t, bk, k, sent, sm, cm, cp):
    k0 = np.uint16(k - 1)
    for x in range(sm.shape[0]):
        u = np.uint16(bk[x] - k0)
        v = t[x]
        sm[x] = min(sm[x], v if u > 2 else sent)
        cm[x] = v if u == 2 else cm[x]
        cp[x] = v if u == 0 else cp[x]


@njit(cache=True, inline="always")
def _rival4(t0, t1, t2, t3, bk, k, sent, sm, cm, cp):
    k0 = np.uint16(k - 1)
    k1 = np.uint16(k)
    k2 = np.uint16(k + 1)
    k3 = np.uint16(k + 2)
    for x in range(sm.shape[0]):
        b = bk[x]
        m = sm[x]
        lo = cm[x]
        hi = cp[x]
        u = np.uint16(b - k0)
        v = t0[x]
        m = min(m, v if u > 2 else sent)
        lo = v if u == 2 else lo
        hi = v if u == 0 else hi
        u = np.uint16(b - k1)
        v = t1[x]
        m = min(m, v if u > 2 else sent)
        lo = v if u == 2 else lo
        hi = v if u == 0 else hi
        u = np.uint16(b - k2)
        v = t2[x]
        m = min(m, v if u > 2 else sent)
        lo = v if u == 2 else lo
        hi = v if u == 0 else hi
        u = np.uint16(b - k3)
        v = t3[x]
        m = min(m, v if u > 2 else sent)
        lo = v if u == 2 else lo
        hi = v if u == 0 else hi
        sm[x] = m
        cm[x] = lo
        cp[x] = hi


@njit(cache=True, error_model="numpy")
def _select_row(lp, rp, y_add, y_sub, first, bs, shift0, min_disparity, ratio, subpixel,
                lr_max_diff, sent, colsum, p2, tb, bc, bk, rc, rk, sm, cm, cp,
                disp, mask, best_out, second_out, lr_out):
    """One output row: slide/box the costs of every disparity, then select.

    ``tb[k, off + x]`` (``off = max(0, -min_disparity)``) is the cost of left column x at
    disparity index k, the sentinel where ``x - d`` is off the image and in the margins,
    so that the right image's costs ``tb[k, off + x_r + d]`` are plain shifted rows.
    """
    nd = colsum.shape[0]
    w = bc.shape[0]
    off = max(0, -min_disparity)
    do_lr = lr_max_diff >= 0.0
    for x in range(w):
        bc[x] = sent
        bk[x] = 0
        sm[x] = sent
        rc[x] = sent
        rk[x] = 0
        cm[x] = sent
        cp[x] = sent
    for k in range(nd):
        d = min_disparity + k
        cs = colsum[k]
        if first:
            _ad_init(cs, lp, rp, y_sub, bs, shift0 - d)
        else:
            _ad_slide(cs, lp[y_add], rp[y_add], lp[y_sub], rp[y_sub], shift0 - d)
        t = tb[k, off:off + w]
        x0 = min(max(0, d), w)              # candidates: 0 <= x - d <= w - 1
        x1 = max(min(w, w + d), x0)
        _box(cs[x0:x1 + bs - 1], p2[x0:x1 + bs - 2], bs, t[x0:x1])
        for x in range(0, x0):
            t[x] = sent
        for x in range(x1, w):
            t[x] = sent
        if k & 3 == 3:                      # running minima over the last four rows, still in cache
            j = k - 3
            _update_best4(tb[j, off:], tb[j + 1, off:], tb[j + 2, off:], tb[k, off:], bc, bk, j)
            if do_lr:
                o = off + min_disparity + j
                _update_best4(tb[j, o:], tb[j + 1, o + 1:], tb[j + 2, o + 2:], tb[k, o + 3:],
                              rc, rk, j)
    for k in range(nd & ~3, nd):
        _update_best(tb[k, off:], bc, bk, k)
        if do_lr:
            _update_best(tb[k, off + min_disparity + k:], rc, rk, k)
    k = 0
    while k + 4 <= nd:
        _rival4(tb[k, off:], tb[k + 1, off:], tb[k + 2, off:], tb[k + 3, off:], bk, k, sent, sm,
                cm, cp)
        k += 4
    while k < nd:
        _rival(tb[k, off:], bk, k, sent, sm, cm, cp)
        k += 1
    # The rules, branch-free over the row (vectorised); disp/mask hold d and the bits so far.
    s64 = np.int64(sent)
    for x in range(w):
        best = np.int64(bc[x])
        d, m = pixel_rules(best, np.int64(sm[x]), np.int64(bk[x]), np.int64(cm[x]),
                           np.int64(cp[x]), nd, s64, ratio, subpixel, min_disparity)
        best_out[x] = best
        second_out[x] = sm[x]
        disp[x] = d
        mask[x] = _BORDER if best == s64 else m      # no candidate at all
    # Left-right rule, then invalidation.
    for x in range(w):
        d = disp[x]
        m = mask[x]
        lr = np.float32(np.nan)
        if do_lr and bc[x] != sent:
            xr = lr_column(x, d)
            if 0 <= xr < w and rc[xr] != sent:
                lr, bit = lr_rule(d, np.int64(rk[xr]), min_disparity, lr_max_diff)
                m |= bit
        lr_out[x] = lr
        mask[x] = m
        disp[x] = np.nan if m != 0 else d


@njit(cache=True, parallel=True, error_model="numpy")
def _bm_select(lp, rp, bs, shift0, min_disparity, ratio, subpixel, lr_max_diff, sent, nbands,
               colsum_buf, p2_buf, tb_buf, cost_buf, idx_buf, disp, mask, best, second, lrd):
    h = disp.shape[0]
    for band in prange(nbands):
        y0 = band * h // nbands
        y1 = (band + 1) * h // nbands
        cb = cost_buf[band]
        ib = idx_buf[band]
        for y in range(y0, y1):
            # padded rows: the window of output row y is y..y+bs-1
            _select_row(lp, rp, y + bs - 1, y0 if y == y0 else y - 1, y == y0, bs, shift0,
                        min_disparity, ratio, subpixel, lr_max_diff, sent, colsum_buf[band],
                        p2_buf[band], tb_buf[band], cb[0], ib[0], cb[1], ib[1], cb[2], cb[3],
                        cb[4], disp[y], mask[y], best[y], second[y], lrd[y])


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
    """Fused SAD + selection on two prefiltered uint8 images; no volume is stored.

    Returns ``(disparity, mask, best_cost, second_cost, lr_distance)``, exactly the
    :class:`~stereo.kernels.select.Selection` of
    ``select_disparities(sad_volume(left, right, ...), ...)`` (``ratio``/``subpixel``/
    ``lr_max_diff`` as returned by ``check_selection_params``). ``dtype``: uint16 or int32
    costs (see :func:`cost_dtype`); ``num_disparities`` at most :data:`MAX_DISPARITIES`.
    """
    if num_disparities > MAX_DISPARITIES:
        raise ParameterError(f"num_disparities must be <= {MAX_DISPARITIES}, got {num_disparities}")
    r = block_size // 2
    h, w = left.shape
    max_d = min_disparity + num_disparities - 1
    shift0 = max(0, max_d)                  # right column of (left column x, d): x + shift0 - d
    lp = np.ascontiguousarray(cv2.copyMakeBorder(left, r, r, r, r, cv2.BORDER_REPLICATE))
    rp = np.ascontiguousarray(cv2.copyMakeBorder(right, r, r, r + shift0, r + max(0, -min_disparity),
                                                 cv2.BORDER_REPLICATE))
    nb = _bands(h)
    dtype = np.dtype(dtype)
    sent = dtype.type(np.iinfo(dtype).max)
    nd = num_disparities
    colsum = np.empty((nb, nd, w + block_size - 1), dtype)
    p2 = np.empty((nb, w + block_size - 2), dtype)
    tb = np.full((nb, nd, max(0, -min_disparity) + w + max(0, max_d)), sent, dtype)
    costs = np.empty((nb, 5, w), dtype)
    idx = np.empty((nb, 2, w), np.uint16)
    disp = np.empty((h, w), np.float32)
    mask = np.empty((h, w), np.uint8)
    best = np.empty((h, w), np.int32)
    second = np.empty((h, w), np.int32)
    lrd = np.empty((h, w), np.float32)
    _bm_select(lp, rp, block_size, shift0, min_disparity, ratio, subpixel, lr_max_diff, sent, nb,
               colsum, p2, tb, costs, idx, disp, mask, best, second, lrd)
    return disp, mask, best, second, lrd


__all__ = ["PaddedPair", "cost_dtype", "sad_volume", "bm_select", "MAX_DISPARITIES"]
