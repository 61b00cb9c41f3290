"""SGM with a disparity interval per pixel (tSGM-style), ragged volumes, two sweeps, fused selection.

Every pixel ``p`` searches its own interval ``[lo_p, lo_p + m_p)`` (``m_p`` real
disparities) stored in ``a_p = m_p`` rounded up to a multiple of 16 cells (whole vector
iterations). The cost and sum volumes are *ragged*: row ``y`` holds its pixels' cells one
after the other (``off[y, x]`` is pixel ``x``'s first cell in the row, ``off[y, W]`` the row
length), so memory and work grow with ``sum_p a_p``, not ``W * H * D``.

Path recursion (one direction r, predecessor ``q = p - r``), with ``L_r(q, d) = inf`` for
``d`` outside q's interval and ``m_q = min_k L_r(q, k)`` over q's interval::

    L_r(p, d) = C(p, d) + min(L_r(q, d), L_r(q, d +- 1) + P1, m_q + P2(p)) - m_q

so a path entering a disjoint interval pays ``P2`` from q's minimum. ``P2`` is the adaptive
``p2lut[|I(p) - I(q)|]`` of :mod:`stereo.kernels.sgm_sweep`. A pixel whose predecessor is
outside the image starts the path: ``L_r(p, d) = C(p, d)``. With the same interval for
every pixel this is exactly the recursion of :mod:`stereo.kernels.sgm_sweep`, and the
output is bit-identical to it (tested).

Predecessor buffers: each path keeps q's vector in a buffer of ``A + 2`` int16 entries
(``A`` the largest ``a_p``): entry ``1 + k`` holds ``L_r(q, lo_q + k)``, every other entry
is BIG (16383). That invariant is kept cheaply after each step (only the entries a
narrower pixel no longer covers are re-sealed). When ``lo_p == lo_q`` the step reads the
buffer directly; otherwise (interval edges: a small fraction of pixels) q's vector is
first copied, shifted by ``lo_p - lo_q``, into a spare slot padded with BIG, so the
step itself never branches per lane. Padding cells (``m_p <= k < a_p``) are only allowed
above the user's range (``lo_p + m_p = min_disparity + num_disparities``), cost 255 and
never hold a path minimum (argument in the code), so the minima are over real cells.

Parallelism and determinism: the two-sweep design of :mod:`stereo.kernels.sgm_sweep`. A
downward sweep (rows top to bottom, pixels left to right) carries left-to-right and the
three paths from above, an upward sweep the other four; they run on two threads and meet in
the middle (phase 1: each its half, storing the census cost rows and its partial sums (non-temporal
stores, one fence per row, as sgm_sweep);
phase 2: each continues into the other half, adds its paths to the stored partial sums in
place, and the final row is selected while in cache). Integer arithmetic, one barrier: same output for any
thread count. ``recompute``: each sweep computes the census cost rows itself into a row
buffer (2 instead of 3 bytes per cell stored).

Selection (:func:`select_row_ragged`): the rules of :mod:`stereo.kernels.select`
(:func:`~stereo.kernels.select.pixel_rules`) over the pixel's own interval: winner (ties to
the smallest d), ``OUT_OF_RANGE`` for a winner on either edge of the pixel's interval (a
narrowed edge, like the user's range edge, is not a confirmed minimum: invalid, never
clipped), ``BORDER`` next to a cell whose match leaves the right image, uniqueness over the
interval, equiangular/parabola sub-pixel, and the left-right check against the right
image's winner per right column over all left pixels whose interval reaches it (ties to the
smallest d). Nothing outside the pixel's interval, hence nothing outside the user's range,
is ever reported.

Memory per cell (one disparity of one pixel, ragged): uint16 sum 2 bytes, plus the uint8
census cost 1 byte unless ``recompute`` (as :mod:`stereo.kernels.sgm_sweep`: 6 bytes of
traffic per cell, 4 with ``recompute``). Per pixel of a stripe: ``off``/``lo``/``cnt`` 12
bytes; path buffers ``3 * 2 * (W + 3) * (A + 2) * 2`` bytes per sweep.

Reached (single thread, Adirondack-Q 718x496, 8 paths, whole kernel incl. census and
selection, process CPU, cached code, medians of 5): full range D = 80 48-52 ms vs 33 ms
for :mod:`~stereo.kernels.sgm_sweep`; 48, 32 and 16 cells per pixel 40-42, 34-39 and
31-34 ms (sweep at D = 32: 22-24 ms); 48 cells on 8x8 blocks with random starts (a
shift at every block edge) 43-46 ms. So about 0.7 ns per cell and 75-80 ns per pixel
whatever its width (the sweep: about 0.6 ns and 45 ns). The earlier version of this
kernel (scalar step loops on row views: LLVM's run-time alias checks per call, a
reference-count atomic per view) took 80-83 ms at D = 80 and 57-63 ms at 16 cells: the
path steps and selection reductions are now sgm_simd's explicit vector code on flat
buffers with element offsets, and the census and shift copies index with unsigned
offsets (a signed ``base + k`` index gets Numba's negative-index wraparound per element,
which kept LLVM from vectorising: 1.5x slower kernel, measured). At full resolution
(2872x1984, D = 288, about 60 cells per pixel, Adirondack x4, one thread) the kernel
takes about 0.95 s of CPU (was 1.6 s; the row buffers allocated by NumPy, which asks for
huge pages, instead of inside the kernel: 0.94 vs 1.06 s, median of 4); at 640x480 D = 64/128 the coarse level plus the
per-pixel overhead still make coarse-to-fine slower, at 1242x375 D = 192 it is now about
8 % faster (1 and 2 threads) but SGBM's "auto" leaves it off there (see sgbm.py: its 1/4
level is as small as the quarter-res scenes' one, where it lost accuracy).
Not kept: packing each row's path buffers like its cost row (``off[x] + 2 x``, instead
of fixed ``A + 2`` slots) removed the cost of a few full-range pixels inflating every
slot (one such column in a 64-cell stripe: +12 %), but made uniform intervals 25 %
slower (unexplained) and full resolution about equal (1.00 vs 1.0-1.1 s).
Code generation: a literal walking direction made the scalar ``_row4`` of the earlier
version 2.4x slower. Time edits in a second process: the process that compiles a kernel
ran it about 2x slower than a process that loads it from the cache (measured).
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit, prange

from .. import flags
from .census import CHUNK, popcount64, reverse_right_row
from .select import lr_column, lr_rule, pixel_rules
from .sgm import BIG
from .sgm_simd import (best_index_at, key_min_update_at, path_steps_1_add, path_steps_1_stream,
                       path_steps_2_add, path_steps_2_stream, path_steps_4_add,
                       path_steps_4_stream, prefetch_at, second_best_at, store_fence)
from .sgm_sweep import phase_rows

_BORDER = int(flags.BORDER)
_NO_RKEY = np.uint32(0xFFFFFFFF)
ALIGN = 16
"""Cells per pixel are a multiple of this (whole vector iterations)."""
INTERVAL_PATHS = (4, 5, 8)
_DIRS = {4: (1, 1), 5: (3, 0), 8: (3, 3)}


# ------------------------------------------------------------------------ census cost
@njit(cache=True)
def census_cost_row_ragged(y, code_l, code_r, grad_l, grad_r, lo, cnt, off, grad_weight, grad_cap,
                           invalid_cost, rev, grev, tmp, out):
    """Census costs of row ``y`` into the ragged row ``out`` (pixel x at ``off[x]:off[x+1]``,
    ``out[off[x] + k]`` the cost at ``d = lo[x] + k``): the values of
    :func:`stereo.kernels.census.census_cost_volume` on each pixel's interval (same loop as
    :func:`stereo.kernels.census.census_cost_row`, with a per-pixel start), 255 on padding
    cells. ``rev``/``grev``: scratch of length >= W + CHUNK; ``tmp``: >= A + CHUNK."""
    w = code_l.shape[1]
    reverse_right_row(y, code_r, grad_r, grad_weight, rev, grev)
    code_l_row = code_l[y]
    gl_row = grad_l[y] if grad_weight > 0 else grad_l[0]
    cap = np.int32(grad_cap)
    gw = np.int32(grad_weight)
    # the body of census_cost_row, kept in one loop (a per-pixel helper function ran 3x
    # slower, measured); indices, not per-pixel views (a view costs a reference-count
    # atomic shared by the two threads)
    for x in range(w):
        o = np.int64(off[x])
        nd_alloc = np.int64(off[x + 1]) - o
        nd = np.int64(cnt[x])
        base = x - np.int64(lo[x])
        j_lo = min(max(0, base - (w - 1)), nd)
        j_hi = max(min(nd - 1, base), j_lo - 1)
        for j in range(0, j_lo):
            out[o + j] = invalid_cost
        for j in range(j_hi + 1, nd):
            out[o + j] = invalid_cost
        for j in range(nd, nd_alloc):
            out[o + j] = 255
        n = j_hi - j_lo + 1
        if n <= 0:
            continue
        k0 = w - 1 - base + j_lo
        nc = (n + CHUNK - 1) // CHUNK * CHUNK
        cl = code_l_row[x]
        # unsigned indices: a signed one would get Numba's negative-index wraparound per
        # element, which keeps LLVM from vectorising (measured 1.5x slower kernel)
        ku = np.uint64(k0)
        if grad_weight > 0:
            gl = np.int32(gl_row[x])
            for k in range(nc):
                g = min(abs(gl - np.int32(grev[ku + np.uint64(k)])), cap)
                c = np.int32(popcount64(cl ^ rev[ku + np.uint64(k)])) + ((gw * g) >> 4)
                tmp[k] = min(c, 255)
        else:
            for k in range(nc):
                tmp[k] = np.int32(popcount64(cl ^ rev[ku + np.uint64(k)]))
        oj = np.uint64(o + j_lo)
        for k in range(n):
            out[oj + np.uint64(k)] = tmp[k]


# ------------------------------------------------------------------------ path steps
# The fused steps are sgm_simd's explicit vector code (path_steps_K_add/_stream: the
# arithmetic of sgm_sweep's steps on whole arrays plus element offsets). Every buffer is a
# flat int16 array addressed by offset, so the pixel loop builds no array views (a view
# per pixel costs a reference-count atomic on the parent's counter, shared by the two
# threads) and the steps carry no run-time alias checks.

# Why padding cells never hold a minimum: they lie above the user's range (d >= d0 + D),
# outside every interval, so a padding cell reads BIG from q except at its first entry,
# which may read q's top real cell t = d0 + D - 1 shifted by one: L(pad) >= 255 +
# min(L(q, t) + P1, m_q + P2) - m_q, while p's own top cell has L(p, t) <= C + min(L(q, t),
# m_q + P2) - m_q with C <= 255. So min over all a_p cells = min over the m_p real cells.


@njit(cache=True, inline="always")
def _seal(f, b, m, a, ext):
    # the step wrote entries 1..a of the buffer at f[b:]; entries >= ext were BIG before:
    # make every entry above m BIG again and return the new extent
    f[b + m + 1] = BIG
    for j in range(m + 2, max(ext, a + 1)):
        f[b + j] = BIG
    return m + 1


@njit(cache=True, inline="always")
def _shift_into(f, b, s, a, ext, t):
    # q's buffer f[b:] as seen from p (s = lo_p - lo_q != 0), copied to f[t:]: entry i is
    # q's entry i + s inside q's written extent [1, ext), BIG outside
    # (unsigned indices: no negative-index wraparound per element)
    i0 = max(0, 1 - s)
    i1 = max(min(a + 2, ext - s), i0)
    tu = np.uint64(t)
    su = np.uint64(b + s)
    for i in range(i0):
        f[tu + np.uint64(i)] = BIG
    for i in range(i0, i1):
        f[tu + np.uint64(i)] = f[su + np.uint64(i)]
    for i in range(i1, a + 2):
        f[tu + np.uint64(i)] = BIG


@njit(cache=True, inline="always")
def _reset(f, b, n):
    # a predecessor outside the image (n entries at f[b:]): zeros give L = C exactly (see
    # sgm_sweep._reset)
    f[b] = BIG
    bu = np.uint64(b)
    for j in range(1, n - 1):
        f[bu + np.uint64(j)] = 0
    f[b + n - 1] = BIG


# The row walks follow sgm_sweep's rules for speed: one function per path set, and a
# shifted predecessor is copied into a spare slot of the same buffer and picked by offset.
# Buffers (flat, S = A + 2 entries per slot): hb 3 slots: 0/1 by step parity, 2 the
# shifted copy; rb slot (path, row parity, column) at ((path * 2 + parity) * (W + 3) +
# column) * S, path 0 vertical, 1 diagonal a from x - dx, 2 diagonal b from x + dx; pixel x
# at column x + 1 (columns 0 and W + 1 stay reset: a path entering the image starts there;
# column W + 2 of the previous row's parity: the shifted copy); rm (3, 2, W + 2) their
# minima; hext/rext the buffers' extents (_seal). yp < 0: no row before (paths from it
# start here). ``stream``: phase 1, the row's sums are stored (non-temporal) instead of
# added to ``out_row``.


_AHEAD = 8


@njit(cache=True, inline="always")
def _prefetch(cost_row, out_row, off, x, stream):
    # the cost and sum rows of pixel x (a few ahead) come from memory (written by the
    # other sweep in phase 1); descending walks are followed less well by the hardware
    o = np.int64(off[x])
    a = np.int64(off[x + 1]) - o
    prefetch_at(cost_row, o, a)
    if not stream:
        prefetch_at(out_row, o, a)


def _row_walks(step1, step2, step4, stream):
    @njit(cache=True)
    def row1(cost_row, out_row, fwd, off, lo, cnt, g, p1, p2lut, hb, hext):
        w = g.shape[0]
        sz = hb.shape[0] // 3
        dx = 1 if fwd else -1
        _reset(hb, sz, sz)
        hext[1] = sz - 1
        hmin = np.int16(0)
        lq = np.int64(lo[0 if fwd else w - 1])
        for i in range(w):
            x = i if fwd else w - 1 - i
            if i + _AHEAD < w:
                _prefetch(cost_row, out_row, off, x + _AHEAD * dx, stream)
            o = np.int64(off[x])
            a = np.int64(off[x + 1]) - o
            m = np.int64(cnt[x])
            lp = np.int64(lo[x])
            hc = i & 1
            xqc = min(max(x - dx, 0), w - 1)
            p2h = p2lut[abs(np.int32(g[x]) - np.int32(g[xqc]))]
            hs = (hc ^ 1) * sz
            if lp != lq:
                _shift_into(hb, hs, lp - lq, a, hext[hc ^ 1], 2 * sz)
                hs = 2 * sz
            hd = hc * sz
            hmin = step1(cost_row, o, out_row, a, (hb,), (hs,), (hb,), (hd,), (hmin,), (p2h,), p1)
            hext[hc] = _seal(hb, hd, m, a, hext[hc])
            lq = lp

    @njit(cache=True)
    def row2(y, yp, fwd, cost_row, out_row, off, lo, cnt, lop, g, gp, p1, p2lut, hb, hext, rb,
             rext, rm):
        w = g.shape[0]
        sz = hb.shape[0] // 3
        cur = y & 1
        prv = cur ^ 1
        dx = 1 if fwd else -1
        has_prev = yp >= 0
        rs = (w + 3) * sz
        pb = prv * rs
        cb = cur * rs
        _reset(hb, sz, sz)
        hext[1] = sz - 1
        hmin = np.int16(0)
        lq = np.int64(lo[0 if fwd else w - 1])
        for i in range(w):
            x = i if fwd else w - 1 - i
            if i + _AHEAD < w:
                _prefetch(cost_row, out_row, off, x + _AHEAD * dx, stream)
            o = np.int64(off[x])
            a = np.int64(off[x + 1]) - o
            m = np.int64(cnt[x])
            lp = np.int64(lo[x])
            hc = i & 1
            xqc = min(max(x - dx, 0), w - 1)
            gx = np.int32(g[x])
            p2h = p2lut[abs(gx - np.int32(g[xqc]))]
            p2v = p2lut[abs(gx - np.int32(gp[x]))]
            hs = (hc ^ 1) * sz
            if lp != lq:
                _shift_into(hb, hs, lp - lq, a, hext[hc ^ 1], 2 * sz)
                hs = 2 * sz
            vs = pb + (x + 1) * sz
            if has_prev and lp != lop[x]:
                _shift_into(rb, vs, lp - lop[x], a, rext[0, prv, x + 1], pb + (w + 2) * sz)
                vs = pb + (w + 2) * sz
            hd = hc * sz
            vd = cb + (x + 1) * sz
            hmin, m1 = step2(cost_row, o, out_row, a, (hb, rb), (hs, vs), (hb, rb), (hd, vd),
                             (hmin, rm[0, prv, x + 1]), (p2h, p2v), p1)
            rm[0, cur, x + 1] = m1
            rext[0, cur, x + 1] = _seal(rb, vd, m, a, rext[0, cur, x + 1])
            hext[hc] = _seal(hb, hd, m, a, hext[hc])
            lq = lp

    @njit(cache=True)
    def row4(y, yp, fwd, cost_row, out_row, off, lo, cnt, lop, g, gp, p1, p2lut, hb, hext, rb,
             rext, rm):
        w = g.shape[0]
        sz = hb.shape[0] // 3
        cur = y & 1
        prv = cur ^ 1
        dx = 1 if fwd else -1
        has_prev = yp >= 0
        rs = (w + 3) * sz
        ps = 2 * rs
        pb = prv * rs
        cb = cur * rs
        _reset(hb, sz, sz)
        hext[1] = sz - 1
        hmin = np.int16(0)
        lq = np.int64(lo[0 if fwd else w - 1])
        for i in range(w):
            x = i if fwd else w - 1 - i
            if i + _AHEAD < w:
                _prefetch(cost_row, out_row, off, x + _AHEAD * dx, stream)
            o = np.int64(off[x])
            a = np.int64(off[x + 1]) - o
            m = np.int64(cnt[x])
            lp = np.int64(lo[x])
            hc = i & 1
            xq = x - dx
            xb = x + dx
            xqc = min(max(xq, 0), w - 1)
            xbc = min(max(xb, 0), w - 1)
            gx = np.int32(g[x])
            p2h = p2lut[abs(gx - np.int32(g[xqc]))]
            p2v = p2lut[abs(gx - np.int32(gp[x]))]
            p2a = p2lut[abs(gx - np.int32(gp[xqc]))]
            p2b = p2lut[abs(gx - np.int32(gp[xbc]))]
            hs = (hc ^ 1) * sz
            if lp != lq:
                _shift_into(hb, hs, lp - lq, a, hext[hc ^ 1], 2 * sz)
                hs = 2 * sz
            vs = pb + (x + 1) * sz
            as_ = ps + pb + (xq + 1) * sz
            bs = 2 * ps + pb + (xb + 1) * sz
            if has_prev:
                if lp != lop[x]:
                    t = pb + (w + 2) * sz
                    _shift_into(rb, vs, lp - lop[x], a, rext[0, prv, x + 1], t)
                    vs = t
                if 0 <= xq < w and lp != lop[xq]:
                    t = ps + pb + (w + 2) * sz
                    _shift_into(rb, as_, lp - lop[xq], a, rext[1, prv, xq + 1], t)
                    as_ = t
                if 0 <= xb < w and lp != lop[xb]:
                    t = 2 * ps + pb + (w + 2) * sz
                    _shift_into(rb, bs, lp - lop[xb], a, rext[2, prv, xb + 1], t)
                    bs = t
            hd = hc * sz
            vd = cb + (x + 1) * sz
            ad = ps + vd
            bd = 2 * ps + vd
            hmin, m1, m2, m3 = step4(cost_row, o, out_row, a, (hb, rb, rb, rb), (hs, vs, as_, bs),
                                     (hb, rb, rb, rb), (hd, vd, ad, bd),
                                     (hmin, rm[0, prv, x + 1], rm[1, prv, xq + 1],
                                      rm[2, prv, xb + 1]), (p2h, p2v, p2a, p2b), p1)
            rm[0, cur, x + 1] = m1
            rm[1, cur, x + 1] = m2
            rm[2, cur, x + 1] = m3
            rext[0, cur, x + 1] = _seal(rb, vd, m, a, rext[0, cur, x + 1])
            rext[1, cur, x + 1] = _seal(rb, ad, m, a, rext[1, cur, x + 1])
            rext[2, cur, x + 1] = _seal(rb, bd, m, a, rext[2, cur, x + 1])
            hext[hc] = _seal(hb, hd, m, a, hext[hc])
            lq = lp

    return row1, row2, row4


_row1_add, _row2_add, _row4_add = _row_walks(path_steps_1_add, path_steps_2_add, path_steps_4_add,
                                             False)
_row1_nt, _row2_nt, _row4_nt = _row_walks(path_steps_1_stream, path_steps_2_stream,
                                          path_steps_4_stream, True)


@njit(cache=True)
def _row(y, yp, fwd, dirs, stream, cost_row, out_row, off, lo, cnt, lop, g, gp, p1, p2lut, hb,
         hext, rb, rext, rm):
    # out_row: phase 1 (stream) the row's partial sums are stored; phase 2 this sweep's
    # paths are added in place to the other sweep's partial sums
    if stream:
        if dirs == 0:
            _row1_nt(cost_row, out_row, fwd, off, lo, cnt, g, p1, p2lut, hb, hext)
        elif dirs == 1:
            _row2_nt(y, yp, fwd, cost_row, out_row, off, lo, cnt, lop, g, gp, p1, p2lut, hb,
                     hext, rb, rext, rm)
        else:
            _row4_nt(y, yp, fwd, cost_row, out_row, off, lo, cnt, lop, g, gp, p1, p2lut, hb,
                     hext, rb, rext, rm)
        store_fence()
    else:
        if dirs == 0:
            _row1_add(cost_row, out_row, fwd, off, lo, cnt, g, p1, p2lut, hb, hext)
        elif dirs == 1:
            _row2_add(y, yp, fwd, cost_row, out_row, off, lo, cnt, lop, g, gp, p1, p2lut, hb,
                      hext, rb, rext, rm)
        else:
            _row4_add(y, yp, fwd, cost_row, out_row, off, lo, cnt, lop, g, gp, p1, p2lut, hb,
                      hext, rb, rext, rm)


# ------------------------------------------------------------------------ selection
@njit(cache=True)
def _mark_outside(row, lo, cnt, off, w):
    # cells whose match x - d leaves the right image get the sentinel: k > x - lo (x_r < 0)
    # or k < x - lo - (w - 1) (x_r >= w)
    for x in range(w):
        o = off[x]
        m = np.int64(cnt[x])
        base = x - np.int64(lo[x])
        for j in range(max(0, base + 1), m):
            row[o + j] = 65535
        for j in range(0, min(m, base - (w - 1))):
            row[o + j] = 65535


@njit(cache=True)
def select_row_ragged(costs, lo, cnt, off, min_disparity, ratio, subpixel, lr_max_diff, disp, mask,
                      best_out, second_out, lr_out, rkey):
    """The selection rules on one ragged row of uint16 sums (sentinel 65535); see module doc.

    ``costs``: the row's cells (pixel x at ``off[x]:off[x+1]``, ``cnt[x]`` real ones for
    ``d = lo[x] + k``; read only). ``min_disparity``: the user's range start (the
    right image's winner keys ``cost << 16 | (d - min_disparity)``: ties to the smallest
    d). Outputs as :func:`stereo.kernels.sgm_sweep.select_row_u16`; ``rkey``: uint32 (W,).
    """
    w = lo.shape[0]
    sent64 = np.int64(65535)
    do_lr = lr_max_diff >= 0.0
    if do_lr:
        for j in range(w):
            rkey[j] = _NO_RKEY
        for x in range(w):
            l = np.int64(lo[x])
            nd = np.int64(cnt[x])
            # right column x_r = x - l - k, stored reversed: rkey[w - 1 - x_r]
            k_lo = max(0, x - l - w + 1)
            k_hi = min(nd - 1, x - l)
            if k_hi < k_lo:
                continue
            j0 = w - 1 - x + l + k_lo
            n = k_hi - k_lo + 1
            o = np.int64(off[x]) + k_lo
            kb0 = l - min_disparity + k_lo
            # whole 16-lane blocks by the vector code, the rest here
            for i in range(key_min_update_at(costs, o, n, rkey, j0, kb0), n):
                rkey[j0 + i] = min(rkey[j0 + i], (np.uint32(costs[o + i]) << np.uint32(16)) |
                                   np.uint32(kb0 + i))
    for x in range(w):
        o = np.int64(off[x])
        a = np.int64(off[x + 1]) - o
        nd = np.int64(cnt[x])
        l = np.int64(lo[x])
        best, kb = best_index_at(costs, o, a, nd)
        lr_out[x] = np.nan
        if best == sent64:
            disp[x] = np.nan
            mask[x] = _BORDER
            best_out[x] = sent64
            second_out[x] = sent64
            continue
        cm = np.int64(costs[o + kb - 1]) if kb > 0 else sent64
        cp = np.int64(costs[o + kb + 1]) if kb < nd - 1 else sent64
        second = second_best_at(costs, o, a, nd, kb)
        best_out[x] = best
        second_out[x] = second
        d, m = pixel_rules(best, second, kb, cm, cp, nd, sent64, ratio, subpixel, l)
        if do_lr:
            xr = lr_column(x, d)
            if 0 <= xr < w:
                key = rkey[w - 1 - xr]
                if (key >> np.uint32(16)) != np.uint32(65535):
                    dist, bit = lr_rule(d, np.int64(key & np.uint32(0xFFFF)), min_disparity,
                                        lr_max_diff)
                    lr_out[x] = dist
                    m |= bit
        mask[x] = m
        disp[x] = np.nan if m != 0 else d


# ------------------------------------------------------------------------ sweeps
@njit(cache=True)
def _sweep(t, rows_from, rows_to, final, dirs, recompute, volume, rowstart, off, lo, cnt,
           code_l, code_r, grad_l, grad_r, guide, p1, p2lut, min_disparity, grad_weight, grad_cap,
           invalid_cost, rev, grev, ctmp, crow, hb, hext, rb, rext, rm, rkey, total,
           ratio, subpixel, lr_max_diff, disp, mask, best, second, lr_dist, sel_lo, sel_hi):
    h = guide.shape[0]
    w = guide.shape[1]
    dy = 1 if t == 0 else -1
    y = rows_from
    while y != rows_to:
        r0 = rowstart[y]
        r1 = rowstart[y + 1]
        n = r1 - r0
        if recompute:
            cost_row = crow[t, :n]
            census_cost_row_ragged(y, code_l, code_r, grad_l, grad_r, lo[y], cnt[y], off[y],
                                   grad_weight, grad_cap, invalid_cost, rev[t], grev[t], ctmp[t],
                                   cost_row)
        else:
            cost_row = volume[r0:r1]
            if not final:
                census_cost_row_ragged(y, code_l, code_r, grad_l, grad_r, lo[y], cnt[y], off[y],
                                       grad_weight, grad_cap, invalid_cost, rev[t], grev[t],
                                       ctmp[t], cost_row)
        yp = y - dy
        has = 0 <= yp < h
        ypp = yp if has else y
        out = total[r0:r1]
        _row(y, yp if has else -1, t == 0, dirs, not final, cost_row, out, off[y], lo[y], cnt[y],
             lo[ypp], guide[y], guide[ypp], p1, p2lut, hb[t], hext[t], rb[t], rext[t], rm[t])
        if final and sel_lo <= y < sel_hi:
            _mark_outside(out, lo[y], cnt[y], off[y], w)
            select_row_ragged(out, lo[y], cnt[y], off[y], min_disparity, ratio, subpixel,
                              lr_max_diff, disp[y], mask[y], best[y], second[y], lr_dist[y],
                              rkey[t])
        y += dy


@njit(cache=True, parallel=True)
def interval_sweep_select(recompute, volume, rowstart, off, lo, cnt, amax, code_l, code_r, grad_l,
                          grad_r, guide, p1, p2lut, dirs_down, dirs_up, min_disparity, grad_weight,
                          grad_cap, invalid_cost, total, ratio, subpixel, lr_max_diff, disp, mask,
                          best, second, lr_dist, core_lo, core_hi, rb):
    """Aggregate and select with per-pixel intervals in two concurrent sweeps (module doc).

    ``rowstart`` (H + 1,) int64: first cell of each row in the flat ``total`` (uint16) and,
    unless ``recompute``, ``volume`` (uint8) arrays (both scratch, may be uninitialised);
    ``off`` (H, W + 1) int32 cell offsets inside a row; ``lo``/``cnt`` (H, W) int32 interval
    start (px) and real count; ``amax``: the largest ``off[y, x+1] - off[y, x]``. Fills the
    selection outputs of rows ``core_lo:core_hi`` only (as sgm_sweep.sweep_select). ``rb``:
    the path row buffers, int16 (2, 3 * 2 * (W + 3) * (amax + 2)), zeros with BIG at entries
    0 and amax + 1 of every slot of amax + 2 entries (see :func:`interval_select_census`).
    """
    h, w = guide.shape
    maxrow = np.int64(0)
    for y in range(h):
        maxrow = max(maxrow, rowstart[y + 1] - rowstart[y])
    rev = np.zeros((2, w + CHUNK), np.uint64)
    grev = np.zeros((2, w + CHUNK), np.int16)
    ctmp = np.empty((2, amax + CHUNK), np.uint8)
    crow = np.empty((2, maxrow if recompute else 1), np.uint8)
    hb = np.full((2, 3 * (amax + 2)), BIG, np.int16)
    hext = np.full((2, 3), amax + 1, np.int64)
    rext = np.full((2, 3, 2, w + 3), amax + 1, np.int64)
    rm = np.zeros((2, 3, 2, w + 2), np.int16)
    rkey = np.empty((2, w), np.uint32)
    for phase in range(2):
        final = phase == 1
        for t in prange(2):
            dirs = dirs_down if t == 0 else dirs_up
            a, b = phase_rows(t, final, h, core_lo, core_hi)
            _sweep(np.int64(t), a, b, final, dirs, recompute, volume, rowstart, off, lo, cnt,
                   code_l, code_r, grad_l, grad_r, guide, p1, p2lut, min_disparity, grad_weight,
                   grad_cap, invalid_cost, rev, grev, ctmp, crow, hb, hext, rb, rext, rm,
                   rkey, total, ratio, subpixel, lr_max_diff, disp, mask, best, second, lr_dist,
                   core_lo, core_hi)


# ------------------------------------------------------------------------ Python API
_SCRATCH = threading.local()
WORKSPACE_MAX_BYTES = 256 << 20
"""Largest ragged volume kept between calls (per Python thread, see :func:`_scratch`)."""


def _scratch(name, n, dtype):
    # the ragged volumes, kept per Python thread between calls up to a size: fresh pages
    # cost about as much to fault in as the sweeps take to fill them (video frames)
    if n * np.dtype(dtype).itemsize > WORKSPACE_MAX_BYTES:
        return np.empty(n, dtype)
    buf = getattr(_SCRATCH, name, None)
    if buf is None or buf.size < n:
        # drop every reference to the old buffer before allocating the new one (else both
        # are alive at once: +1 stripe of volumes at the peak)
        buf = None
        setattr(_SCRATCH, name, None)
        buf = np.empty(n, dtype)
        setattr(_SCRATCH, name, buf)
    return buf[:n]


def release_workspaces() -> None:
    """Drop this thread's cached volumes of this module and of :mod:`stereo.kernels.sgm_sweep`."""
    from . import sgm_sweep
    sgm_sweep.release_workspaces()
    _SCRATCH.total = None
    _SCRATCH.volume = None


def ragged_layout(cnt: np.ndarray):
    """``(rowstart, off, amax)`` of the ragged volumes for real counts ``cnt`` (H, W)."""
    a = (np.asarray(cnt, np.int32) + ALIGN - 1) // ALIGN * ALIGN
    h, w = a.shape
    off = np.zeros((h, w + 1), np.int32)
    np.cumsum(a, axis=1, out=off[:, 1:])
    rowstart = np.zeros(h + 1, np.int64)
    np.cumsum(off[:, w], out=rowstart[1:])
    return rowstart, off, int(a.max()) if a.size else ALIGN


def interval_cells(cnt: np.ndarray) -> int:
    """Cells of the ragged volumes for real counts ``cnt``."""
    return int(((np.asarray(cnt, np.int64) + ALIGN - 1) // ALIGN * ALIGN).sum())


def check_intervals(lo, cnt, min_disparity, num_disparities):
    """Validate per-pixel intervals; returns int32 arrays. Raises ValueError."""
    if num_disparities > 4096 or abs(min_disparity) > (1 << 24) or np.shape(lo)[-1:] > (1 << 18,):
        raise ValueError("num_disparities <= 4096, |min_disparity| < 2**24 and W < 2**18 required")
    lo = np.ascontiguousarray(lo, np.int32)
    cnt = np.ascontiguousarray(cnt, np.int32)
    if lo.shape != cnt.shape or lo.ndim != 2:
        raise ValueError("lo and cnt must be (H, W) arrays of the same shape")
    top = min_disparity + num_disparities
    if (cnt < 1).any() or (lo < min_disparity).any() or (lo + cnt > top).any():
        raise ValueError("every interval must lie inside [min_disparity, min_disparity + "
                         "num_disparities) and hold at least one disparity")
    # padding cells must lie above the user's range (see the module doc)
    if ((cnt % ALIGN != 0) & (lo + cnt != top)).any():
        raise ValueError(f"an interval whose count is not a multiple of {ALIGN} must end at the "
                         "top of the range")
    return lo, cnt


def interval_select_census(code_l, code_r, grad_l, grad_r, grad_weight, grad_cap, invalid_cost,
                           guide, p1, p2lut, paths, min_disparity, num_disparities, lo, cnt, ratio,
                           subpixel, lr_max_diff, recompute=False, core=None):
    """Census costs on the fly, ``paths`` (4, 5, 8) SGM paths, per-pixel intervals, selection.

    ``lo``/``cnt`` (H, W): pixel p searches ``lo[p] .. lo[p] + cnt[p] - 1`` (inside the
    user's range ``[min_disparity, min_disparity + num_disparities)``; ``cnt`` a multiple of
    16 except for intervals that end at the top of the range). With ``lo = min_disparity``
    and ``cnt = num_disparities`` everywhere, bit-identical to
    :func:`stereo.kernels.sgm_sweep.sweep_select_census`. ``recompute``: census cost rows
    computed by each sweep (2 instead of 3 bytes per cell). ``core``: rows whose selection
    is wanted. Returns a :class:`stereo.kernels.select.Selection`.
    """
    from .select import Selection

    if paths not in _DIRS:
        raise ValueError(f"the interval kernel implements {INTERVAL_PATHS} paths, not {paths}")
    lo, cnt = check_intervals(lo, cnt, min_disparity, num_disparities)
    h, w = lo.shape
    rowstart, off, amax = ragged_layout(cnt)
    n = int(rowstart[-1])
    total = _scratch("total", n, np.uint16)
    volume = _scratch("volume", 1 if recompute else n, np.uint8)
    outs = (np.empty((h, w), np.float32), np.empty((h, w), np.uint8), np.empty((h, w), np.int32),
            np.empty((h, w), np.int32), np.empty((h, w), np.float32))
    if not grad_weight:
        grad_l = grad_r = np.zeros((1, 1), np.int16)
    down, up = _DIRS[paths]
    # the row buffers (see _row_walks), allocated here: NumPy asks the kernel for huge
    # pages for large arrays (several MiB per sweep at full resolution)
    rb = np.zeros((2, 3 * 2 * (w + 3) * (amax + 2)), np.int16)
    rb5 = rb.reshape(2, 3, 2, w + 3, amax + 2)
    rb5[..., 0] = BIG
    rb5[..., amax + 1] = BIG
    interval_sweep_select(bool(recompute), volume, rowstart, off, lo, cnt, np.int64(amax),
                          np.ascontiguousarray(code_l), np.ascontiguousarray(code_r),
                          np.ascontiguousarray(grad_l), np.ascontiguousarray(grad_r),
                          np.ascontiguousarray(guide), np.int32(p1), p2lut, np.int64(down),
                          np.int64(up), np.int64(min_disparity), np.int64(grad_weight),
                          np.int64(grad_cap), np.int64(invalid_cost), total, np.int64(ratio),
                          np.int64(subpixel), np.float64(lr_max_diff), *outs,
                          np.int64(0 if core is None else core[0]),
                          np.int64(h if core is None else core[1]), rb)
    return Selection(*outs)
