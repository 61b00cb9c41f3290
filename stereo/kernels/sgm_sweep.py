"""8-path (and 4/5-path) SGM in two image sweeps, costs computed row by row, fused selection.

Same recursion, penalties and padding rules as :mod:`stereo.kernels.sgm` (see there), so
the sums, and therefore the selected disparities, are bit-identical to
:func:`stereo.kernels.sgm.aggregate_select`: every path cost is exact integer arithmetic
and the uint16 sum of the paths does not depend on the order it is added in.

Design (one kernel call per image or stripe):

* A *downward* sweep visits rows top to bottom and, per row, walks the pixels left to
  right carrying four paths at once in one pass over the disparities
  (:func:`stereo.kernels.sgm_simd.path_steps_4_s`, explicit 16-bit vector code):
  left-to-right on a one-pixel buffer, and the three paths coming from the row above
  (vertical, both diagonals) on two row buffers (previous and current row, by row
  parity). An *upward* sweep does the mirror image (right-to-left and the three paths
  from below). 4 paths: horizontal + vertical in each sweep; 5 paths: the downward sweep
  carries four, the upward one only right-to-left.
* The two sweeps run concurrently, one per thread, and meet in the middle: in phase 1 the
  downward sweep does rows ``[0, H/2)`` and the upward sweep rows ``[H/2, H)``, each
  computing the census cost of its rows (:func:`stereo.kernels.census.census_cost_row`,
  stored in the uint8 cost volume for the other sweep) and *storing* its 4-path partial
  sum into the uint16 sum volume; in phase 2 each sweep continues into the other half,
  reads the stored costs, adds the partial sum stored there by the other sweep, and the
  row is final: sentinels are written and the selection rules run on it while it is in
  cache (:func:`select_row_u16`: the shared per-pixel rules of
  :mod:`stereo.kernels.select` with 16-bit reductions). One barrier, no locks, no
  shared accumulators: the output does not depend on the number of threads (with one
  thread the halves simply run one after the other).
* The upward sweep walks its rows right to left in place. (Earlier versions, with the
  step loops left to LLVM's vectoriser, ran it on mirrored row copies: the compiled
  right-to-left loop was several times slower. The explicit vector steps do not care.)
* The row walks prefetch the cost, partial-sum and output rows a few pixels ahead (the
  right-to-left walk was ~20 % slower without: the hardware prefetcher follows
  descending streams less well).
* SAD/BT costs come as a precomputed volume, read row by row.
* Memory-bound mode (``recompute``, used by SGBM's coarse-to-fine stripes when cost + sum
  would not fit the volume budget): each sweep computes the census cost rows itself
  into a row buffer, so only the uint16 sum volume is stored (2 instead of 3 bytes per
  cell; about 13 % slower at 1242x375 D=192, measured). Same output.

Memory traffic per cell (one disparity of one pixel; the H x W x Dp volumes):

* cost volume: written once (phase 1), read once (phase 2): 2 bytes;
* sum volume: written once (phase 1), read once (phase 2): 4 bytes;
* nothing else scales with H * W * D: census codes and gradients are 20 bytes per
  *pixel*; path buffers are ``3 * 2 * (W + 2) * S * 2`` bytes per sweep, S = Dp + 2
  rounded up to 32 entries so that the steps' 64-byte stores are aligned (740 KiB at
  W = 640, Dp = 64; they mostly stay in each core's L2; measured ~2 % faster than S = Dp + 2
  at 640x480 D = 64).

Floor on this machine (2 cores, AMD EPYC with AVX-512, about 25 GB/s DRAM bandwidth):
6 B/cell / 25 GB/s = 0.24 ns per cell, i.e. 4.2 Gcells/s for the whole machine: the 10
MiddEval3-Q scenes (238 M cells) cannot take less than 57 ms, a 640x480 D=64 frame
(19.7 M cells) 4.7 ms. (Recomputing the census cost in phase 2 instead of storing it
would lower the floor to 4 B/cell but costs more compute than the 2 bytes save.) The
previous design (kernels of :mod:`stereo.kernels.sgm`: cost volume written once and read
by the three line families and the horizontal kernel, sum volume written once and
read-modify-written three times) moves at least 1 + 4 + 2 + 3 * 4 = 19 B/cell: a floor of
0.18 s for the 10 scenes.

Reached (single thread, process CPU time, Adirondack-Q 718x496, D = 80, per cell, time
stamps per stage in a debug build, session 14): census cost 0.25 ns (0.15-0.18 ns of it
compute, the rest writing the cost volume), the two sweeps' path steps 0.66 ns (0.08 ns
per path and cell), selection 0.29 ns: 1.29 ns per cell for the whole kernel (was 1.9 ns
before the explicit vector steps and reductions), some 5x the memory floor. Since then
the row walks take their row buffers as views once per row, the steps store the sentinel
with the vector and phase 1 no longer reads a zero partial-sum row (kernel alone, median
CPU of 25 runs, 5 alternated pairs: 1.25 -> 1.20 ns per cell; 640x480 D = 64: 1.44 ->
1.31). Still compute-bound: a 32-lane block of the four fused paths is ~40 vector
instructions, and the in-cache row walk costs ~6 ns per pixel plus ~5.7 ns per 32-lane
block (D = 16 ... 256), whose vector operations run at about 2 per cycle here (removing
loads, the minima accumulators or the loop-carried path minimum changed little;
removing the three row-buffer stores saved ~10 %). The selection is per pixel three
reductions (one over 32-bit keys for the winner and its index, the second best, the
right image's winners) plus the scalar rules. Two threads: the sweeps are balanced
(phase 1 census + steps, phase 2 steps + selection, the upward sweep within ~10 % of the
downward one); whole pipeline: see the README speed table.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit, prange

from .. import flags
from .select import lr_column, lr_rule, pixel_rules
from .census import CHUNK, census_cost_row_at
from .sgm import BIG, DISPARITY_ALIGN, _mark_row_outside, padded_count
from .sgm_simd import (best_index, path_steps_1_s, path_steps_1_s_nt, path_steps_2_s,
                       path_steps_2_s_nt, path_steps_4_s, path_steps_4_s_nt, prefetch_row,
                       right_winners_update, second_best, store_fence)

_BORDER = int(flags.BORDER)

# the walk steps (sgm_simd.path_steps_K_s) store the sentinel of entry nd + 1 in their
# last 32-lane block only: the padded count may exceed nd by at most 32
if DISPARITY_ALIGN > 32:
    raise RuntimeError("sgm_sweep needs DISPARITY_ALIGN <= 32 (path_steps_K_s sentinel)")

SWEEP_PATHS = (4, 5, 8)
"""Path counts the sweep kernel implements (16 paths use :mod:`stereo.kernels.sgm`)."""

# Directions carried by each sweep besides its horizontal path: bit 0 vertical, bit 1 both
# diagonals. Downward sweep: from above; upward sweep: from below.
_DIRS = {4: (1, 1), 5: (3, 0), 8: (3, 3)}


@njit(cache=True, inline="always")
def _reset(buf, ndp):
    # a path buffer that makes the next step start the path: zeros (with previous minimum
    # 0, min(L(d), L(d+-1) + P1, 0 + P2) - 0 = 0, so L = C exactly), BIG at both ends
    buf[:] = 0
    buf[0] = BIG
    buf[ndp + 1] = BIG


@njit(cache=True)
def _path_buffers(lead, ndp):
    """Path buffers of shape ``lead + (S,)`` (int16): entries 0 .. ndp + 1 of each, zero
    with BIG at 0 and ndp + 1, where S (a multiple of 32) puts entry 1 of every buffer on
    a 64-byte boundary: the steps store 32-lane vectors from entry 1 (an unaligned 64-byte
    store spans two cache lines)."""
    stride = (ndp + 2 + 31) // 32 * 32
    n = 1
    for e in lead:
        n *= e
    flat = np.zeros(n * stride + 32, np.int16)
    off = ((-(flat.ctypes.data + 2)) // 2) % 32
    buf = flat[off:off + n * stride].reshape(lead + (stride,))
    return buf


@njit(cache=True)
def _sweep_row(y, dy, final, dirs, cost_row, guide, p1, p2lut, hb, rb, rm, zero, part_row,
               out_row, nd):
    # One row of a sweep whose rows are visited in the sense dy (+1 downward, -1 upward);
    # the downward sweep walks the pixels left to right, the upward one right to left
    # (sense sx = dy). Path buffers: hb (2, Dp+2) for the horizontal path (by step
    # parity); rb (3, 2, W+2, Dp+2) row buffers of the vertical / diagonal a (from x - sx)
    # / diagonal b (from x + sx) paths, by row parity, pixel x at index x+1 (columns 0 and
    # W+1 stay reset: a diagonal entering the image starts there); rm (3, 2, W+2) their
    # minima. With ``final``, ``part_row`` (W, Dp) is added to this sweep's sums;
    # otherwise ``zero`` (1, Dp) is. The result goes to ``out_row`` (W, Dp). One loop per
    # path set, no array variable reassigned and no branch on the path set inside the
    # pixel loop: both defeated vectorisation or added per-pixel cost (measured).
    h = guide.shape[0]
    g = guide[y]
    yp = y - dy
    gp = guide[yp] if 0 <= yp < h else guide[y]
    _reset(hb[1], cost_row.shape[1])
    if final:
        if dy > 0:
            if dirs == 0:
                _row1_lr(cost_row, g, p1, p2lut, hb, part_row, 1, out_row, nd)
            elif dirs == 1:
                _row2_lr(y, cost_row, g, gp, p1, p2lut, hb, rb, rm, part_row, 1, out_row, nd)
            else:
                _row4_lr(y, cost_row, g, gp, p1, p2lut, hb, rb, rm, part_row, 1, out_row, nd)
        else:
            if dirs == 0:
                _row1_rl(cost_row, g, p1, p2lut, hb, part_row, 1, out_row, nd)
            elif dirs == 1:
                _row2_rl(y, cost_row, g, gp, p1, p2lut, hb, rb, rm, part_row, 1, out_row, nd)
            else:
                _row4_rl(y, cost_row, g, gp, p1, p2lut, hb, rb, rm, part_row, 1, out_row, nd)
    else:
        # phase 1: the partial sums go to the volume for the other sweep (streamed)
        if dy > 0:
            if dirs == 0:
                _row1_lr_nt(cost_row, g, p1, p2lut, hb, zero, 0, out_row, nd)
            elif dirs == 1:
                _row2_lr_nt(y, cost_row, g, gp, p1, p2lut, hb, rb, rm, zero, 0, out_row, nd)
            else:
                _row4_lr_nt(y, cost_row, g, gp, p1, p2lut, hb, rb, rm, zero, 0, out_row, nd)
        else:
            if dirs == 0:
                _row1_rl_nt(cost_row, g, p1, p2lut, hb, zero, 0, out_row, nd)
            elif dirs == 1:
                _row2_rl_nt(y, cost_row, g, gp, p1, p2lut, hb, rb, rm, zero, 0, out_row, nd)
            else:
                _row4_rl_nt(y, cost_row, g, gp, p1, p2lut, hb, rb, rm, zero, 0, out_row, nd)
        store_fence()


# The row walks: step i visits pixel x = i (sx = 1) or W - 1 - i (sx = -1); the
# horizontal path comes from x - sx. (With the scalar step loops of earlier versions the
# right-to-left walk compiled several times slower and the upward sweep ran on mirrored
# row copies; the explicit vector steps of sgm_simd do not care.)

_AHEAD = 8


def _row_walks(sx, stream):
    # the three row walks for a literal sense sx (a compile-time constant: the index
    # arithmetic folds; measured faster than a run-time sense); with ``stream`` the sums
    # go out with non-temporal stores (phase 1: partial sums for the other sweep)
    # (the _s steps store the BIG sentinel of entry nd + 1 themselves, and read the
    # horizontal source in a form the store buffer can forward)
    step1 = path_steps_1_s_nt if stream else path_steps_1_s
    step2 = path_steps_2_s_nt if stream else path_steps_2_s
    step4 = path_steps_4_s_nt if stream else path_steps_4_s
    @njit(cache=True)
    def row1(cost_row, g, p1, p2lut, hb, part, pmul, out_row, nd):
        w = cost_row.shape[0]
        hmin = np.int16(0)
        h0 = hb[0]
        h1 = hb[1]
        for i in range(w):
            x = i if sx > 0 else w - 1 - i
            p2h = p2lut[abs(np.int32(g[x]) - np.int32(g[min(max(x - sx, 0), w - 1)]))]
            hs, hd = (h0, h1) if i & 1 else (h1, h0)
            hmin = step1(cost_row[x], part[x * pmul], out_row[x], (hs,), (hd,), (hmin,), (p2h,),
                         p1, nd)

    @njit(cache=True)
    def row2(y, cost_row, g, gp, p1, p2lut, hb, rb, rm, part, pmul, out_row, nd):
        w = cost_row.shape[0]
        cur = y & 1
        prv = cur ^ 1
        hmin = np.int16(0)
        # the row's buffers as views taken once (per pixel, multi-dimensional indexing
        # recomputed every address from the array strides)
        h0 = hb[0]
        h1 = hb[1]
        vc = rb[0, cur]
        vp = rb[0, prv]
        mvc = rm[0, cur]
        mvp = rm[0, prv]
        for i in range(w):
            x = i if sx > 0 else w - 1 - i
            gx = np.int32(g[x])
            p2h = p2lut[abs(gx - np.int32(g[min(max(x - sx, 0), w - 1)]))]
            p2v = p2lut[abs(gx - np.int32(gp[x]))]
            hs, hd = (h0, h1) if i & 1 else (h1, h0)
            hmin, m1 = step2(cost_row[x], part[x * pmul], out_row[x], (hs, vp[x + 1]),
                             (hd, vc[x + 1]), (hmin, mvp[x + 1]), (p2h, p2v), p1, nd)
            mvc[x + 1] = m1

    @njit(cache=True)
    def row4(y, cost_row, g, gp, p1, p2lut, hb, rb, rm, part, pmul, out_row, nd):
        w = cost_row.shape[0]
        cur = y & 1
        prv = cur ^ 1
        hmin = np.int16(0)
        h0 = hb[0]
        h1 = hb[1]
        vc = rb[0, cur]
        ac = rb[1, cur]
        bc = rb[2, cur]
        vp = rb[0, prv]
        ap = rb[1, prv]
        bp = rb[2, prv]
        mvc = rm[0, cur]
        mac = rm[1, cur]
        mbc = rm[2, cur]
        mvp = rm[0, prv]
        mapv = rm[1, prv]
        mbp = rm[2, prv]
        for i in range(w):
            x = i if sx > 0 else w - 1 - i
            if i + _AHEAD < w:
                # the cost and partial-sum rows come from memory: fetch a few pixels ahead
                # (phase 1 reads no partial sums and streams its output)
                xf = x + _AHEAD * sx
                prefetch_row(cost_row, xf)
                if not stream:
                    prefetch_row(part, xf * pmul)
                    prefetch_row(out_row, xf)
            xa = x - sx                     # diagonal a comes from (y - dy, xa), b from (y - dy, xb)
            xb = x + sx
            gx = np.int32(g[x])
            p2h = p2lut[abs(gx - np.int32(g[min(max(xa, 0), w - 1)]))]
            p2v = p2lut[abs(gx - np.int32(gp[x]))]
            p2a = p2lut[abs(gx - np.int32(gp[min(max(xa, 0), w - 1)]))]
            p2b = p2lut[abs(gx - np.int32(gp[min(max(xb, 0), w - 1)]))]
            hs, hd = (h0, h1) if i & 1 else (h1, h0)
            hmin, m1, m2, m3 = step4(
                cost_row[x], part[x * pmul], out_row[x],
                (hs, vp[x + 1], ap[xa + 1], bp[xb + 1]),
                (hd, vc[x + 1], ac[x + 1], bc[x + 1]),
                (hmin, mvp[x + 1], mapv[xa + 1], mbp[xb + 1]),
                (p2h, p2v, p2a, p2b), p1, nd)
            mvc[x + 1] = m1
            mac[x + 1] = m2
            mbc[x + 1] = m3

    return row1, row2, row4


_row1_lr, _row2_lr, _row4_lr = _row_walks(1, False)
_row1_rl, _row2_rl, _row4_rl = _row_walks(-1, False)
_row1_lr_nt, _row2_lr_nt, _row4_lr_nt = _row_walks(1, True)
_row1_rl_nt, _row2_rl_nt, _row4_rl_nt = _row_walks(-1, True)


@njit(cache=True)
def _sweep(t, rows_from, rows_to, final, dirs, use_volume, volume, code_l, code_r, grad_l, grad_r,
           guide, p1, p2lut, min_disparity, nd, grad_weight, grad_cap, invalid_cost,
           rev, grev, ctmp, crow, hb, rb, rm, zero, fin, rwin, total,
           ratio, subpixel, lr_max_diff, disp, mask, best, second, lr_dist, sel_lo, sel_hi):
    # Rows rows_from, ..., rows_to - dy of sweep t (t = 0 downward, 1 upward). Census
    # costs are computed in phase 1 only, by whichever sweep reaches the row first, and
    # stored in ``volume`` for the other sweep (1 byte per cell written and read back is
    # cheaper than computing the census cost twice).
    # use_volume: 1 read the given cost volume; 0 census costs stored in phase 1, read in
    # phase 2; 2 census costs recomputed by each sweep into its row buffer crow[t] (no
    # volume: a third less memory per cell for about 0.15 ns more per cell).
    dy = 1 if t == 0 else -1
    y = rows_from
    while y != rows_to:
        if use_volume == 2:
            census_cost_row_at(y, code_l, code_r, grad_l, grad_r, min_disparity, nd, grad_weight,
                        grad_cap, invalid_cost, rev[t], grev[t], ctmp[t], crow[t])
            cost_row = crow[t]
        else:
            if not final and use_volume == 0:
                census_cost_row_at(y, code_l, code_r, grad_l, grad_r, min_disparity, nd, grad_weight,
                            grad_cap, invalid_cost, rev[t], grev[t], ctmp[t], volume[y])
            cost_row = volume[y]
        if final:
            _sweep_row(y, dy, True, dirs, cost_row, guide, p1, p2lut, hb[t], rb[t], rm[t], zero,
                       total[y], fin[t], nd)
        else:
            _sweep_row(y, dy, False, dirs, cost_row, guide, p1, p2lut, hb[t], rb[t], rm[t], zero,
                       total[y], total[y], nd)
        if final and sel_lo <= y < sel_hi:
            _mark_row_outside(fin[t], min_disparity, nd)
            select_row_u16(fin[t], nd, min_disparity, ratio, subpixel, lr_max_diff, disp[y],
                           mask[y], best[y], second[y], lr_dist[y], rwin[t])
        y += dy


@njit(cache=True)
def select_row_u16(costs, nd, min_disparity, ratio, subpixel, lr_max_diff, disp, mask, best_out,
                   second_out, lr_out, rwin):
    """:func:`stereo.kernels.select.select_row` for a uint16 row (W, Dp) with ``nd`` real
    disparities (sentinel 65535), same outputs, with 16-bit vector reductions.

    The per-pixel rules are the shared ones (:func:`~stereo.kernels.select.pixel_rules`,
    :func:`~stereo.kernels.select.lr_rule`); only the reductions differ
    (:mod:`stereo.kernels.sgm_simd`): the winner is the smallest cost, ties to the
    smallest k (as in select_row), the second the smallest cost with ``|k - kb| > 1``,
    the right image's winners are folded in per left pixel into a cost and an index row
    (smallest cost, then smallest k). ``rwin``: uint16 scratch (3, W + Dp). The padding
    cells k >= nd are never read as costs; ``costs`` is not modified.
    Tested equal to select_row (tests/test_sgm_kernels.py).
    """
    w = costs.shape[0]
    sent64 = np.int64(65535)
    do_lr = lr_max_diff >= 0.0
    rcost = rwin[0]
    ridx = rwin[1]
    if do_lr:
        rcost[:] = 65535
        # entry w - 1 - x + k holds right column x_r = x - min_disparity - k (reversed, so
        # that a left pixel's cells update consecutive entries); sentinel cells (outside
        # the right image) never update
        # pixels in strides wider than a cost vector: consecutive updates then touch
        # disjoint entries (pixel x + 1's loads would otherwise overlap x's stores at a
        # 2-byte offset and wait for them to reach the cache); the result does not
        # depend on the order
        stride = costs.shape[1] + 32
        for x0 in range(min(stride, w)):
            for x in range(x0, w, stride):
                right_winners_update(costs, x, nd, rcost, ridx, w - 1 - x)
    # The reductions run as separate passes over the row: each pixel's chain (minimum,
    # then the second minimum, which needs the winner's index) is latency-bound, and
    # independent pixels in a loop of their own overlap (measured faster than one loop).
    kbs = rwin[2]
    for x in range(w):
        best, kb = best_index(costs, x, nd)
        best_out[x] = best
        kbs[x] = kb
    for x in range(w):
        second_out[x] = second_best(costs, x, nd, np.int64(kbs[x]))
    for x in range(w):
        best = np.int64(best_out[x])
        lr_out[x] = np.nan
        if best == sent64:
            disp[x] = np.nan
            mask[x] = _BORDER
            second_out[x] = sent64
            continue
        kb = np.int64(kbs[x])
        second = np.int64(second_out[x])
        cm = np.int64(costs[x, kb - 1]) if kb > 0 else sent64
        cp = np.int64(costs[x, kb + 1]) if kb < nd - 1 else sent64
        d, m = pixel_rules(best, second, kb, cm, cp, nd, sent64, ratio, subpixel, min_disparity)
        if do_lr:
            xr = lr_column(x, d)
            if 0 <= xr < w:
                e = w - 1 - xr - min_disparity
                if 0 <= e < rcost.shape[0] and rcost[e] != 65535:
                    dist, bit = lr_rule(d, np.int64(ridx[e]), min_disparity, lr_max_diff)
                    lr_out[x] = dist
                    m |= bit
        mask[x] = m
        disp[x] = np.nan if m != 0 else d


@njit(cache=True, inline="always")
def phase_rows(t, final, h, core_lo, core_hi):
    """Rows ``a, a + dy, ..., b - dy`` that sweep ``t`` (0 downward, 1 upward) visits in
    phase 1 (``final`` False: its own half of the ``h`` rows) or phase 2 (the other half).
    Phase 2 continues only as far as the core rows ``[core_lo, core_hi)``: beyond them a
    sweep's paths no longer reach a row that is kept."""
    mid = h // 2
    if t == 0:
        return (0, mid) if not final else (mid, max(mid, core_hi))
    return (h - 1, mid - 1) if not final else (mid - 1, min(mid, core_lo) - 1)


@njit(cache=True, parallel=True)
def sweep_select(use_volume, volume, code_l, code_r, grad_l, grad_r, guide, p1, p2lut, dirs_down,
                 dirs_up, min_disparity, nd, ndp, grad_weight, grad_cap, invalid_cost, total,
                 ratio, subpixel, lr_max_diff, disp, mask, best, second, lr_dist, core_lo, core_hi):
    """Aggregate and select an image (or stripe) in two concurrent sweeps; see the module doc.

    Cost: ``volume`` (H, W, Dp) uint8, padded like :func:`stereo.kernels.sgm.pad_cost`;
    with ``use_volume == 1`` it is read as given; with 0 it is scratch (may be uninitialised)
    and census costs are computed into it from ``code_l``/``code_r`` (H, W) uint64 and, with
    ``grad_weight > 0``, ``grad_l``/``grad_r`` (H, W) int16 (exactly as
    :func:`stereo.kernels.census.census_cost_volume` with ``nd`` disparities).
    ``guide``: (H, W) uint8 for the adaptive P2 (``p2lut``). ``dirs_down``/``dirs_up``:
    paths carried besides the horizontal one (0 none, 1 vertical, 3 vertical and both
    diagonals). With ``use_volume == 2`` the census costs are computed by each sweep
    into a row buffer and ``volume`` is not read (pass any (1, 1, 16) uint8 array).
    ``total``: (H, W, Dp) uint16 scratch, may be uninitialised. Fills the
    (H, W) selection outputs ``disp`` ... ``lr_dist`` for rows ``core_lo:core_hi`` (other
    rows are left untouched: a stripe's overlap rows only carry the paths into the core,
    so phase 2 stops where the core ends, and they are not selected). Rows of the core
    are the same whatever ``core_lo``/``core_hi``.
    """
    h, w = guide.shape
    rev = np.zeros((2, w + CHUNK), np.uint64)     # reversed right rows + spare entries
    grev = np.zeros((2, w + CHUNK), np.int16)
    ctmp = np.empty((2, nd + CHUNK), np.uint8)
    crow = np.empty((2, w if use_volume == 2 else 1, ndp), np.uint8)
    hb = _path_buffers((2, 2), ndp)     # entries 0 and Dp+1 are never written
    hb[:, :, :] = BIG
    rb = _path_buffers((2, 3, 2, w + 2), ndp)
    rb[:, :, :, :, 0] = BIG
    rb[:, :, :, :, ndp + 1] = BIG
    rm = np.zeros((2, 3, 2, w + 2), np.int16)
    zero = np.zeros((1, ndp), np.uint16)
    fin = np.empty((2, w, ndp), np.uint16)
    rwin = np.empty((2, 3, w + ndp), np.uint16)
    for phase in range(2):
        final = phase == 1
        for t in prange(2):
            dirs = dirs_down if t == 0 else dirs_up
            a, b = phase_rows(t, final, h, core_lo, core_hi)
            _sweep(np.int64(t), a, b, final, dirs, use_volume, volume, code_l, code_r, grad_l,
                   grad_r, guide, p1, p2lut, min_disparity, nd, grad_weight, grad_cap,
                   invalid_cost, rev, grev, ctmp, crow, hb, rb, rm, zero, fin, rwin, total,
                   ratio, subpixel, lr_max_diff, disp, mask, best, second, lr_dist, core_lo, core_hi)


def sweep_padded_count(num_disparities: int) -> int:
    """Padded disparity count of the sweeps' volumes (as :func:`stereo.kernels.sgm.padded_count`)."""
    return padded_count(num_disparities)


def _run(use_volume, volume, codes, grads, grad_weight, grad_cap, invalid_cost, guide, p1, p2lut,
         paths, min_disparity, nd, ratio, subpixel, lr_max_diff, core=None):
    from .sgm import _selection_arrays, _sum_volume
    from .select import Selection

    if paths not in _DIRS:
        raise ValueError(f"the sweep kernel implements {SWEEP_PATHS} paths, not {paths}")
    h, w = guide.shape
    ndp = sweep_padded_count(nd)
    total = _sum_volume((h, w, ndp), True)
    outputs = _selection_arrays(h, w)
    down, up = _DIRS[paths]
    if use_volume == 0:
        volume = _cost_scratch((h, w, ndp))
    sweep_select(np.int64(use_volume), volume, codes[0], codes[1], grads[0], grads[1],
                 np.ascontiguousarray(guide), np.int32(p1), p2lut, np.int64(down), np.int64(up),
                 np.int64(min_disparity), np.int64(nd), np.int64(ndp), np.int64(grad_weight),
                 np.int64(grad_cap), np.int64(invalid_cost), total, np.int64(ratio),
                 np.int64(subpixel), np.float64(lr_max_diff), *outputs,
                 np.int64(0 if core is None else core[0]), np.int64(h if core is None else core[1]))
    return Selection(*outputs)


_NO_CODES = np.zeros((1, 1), np.uint64)
_NO_GRADS = np.zeros((1, 1), np.int16)
_NO_VOLUME = np.zeros((1, 1, 16), np.uint8)
_SCRATCH = threading.local()


def _cost_scratch(shape):
    # the census cost volume, kept per Python thread between calls up to a size (fresh
    # pages cost about as much to fault in as the sweeps take to fill them)
    n = shape[0] * shape[1] * shape[2]
    from .sgm import WORKSPACE_MAX_BYTES
    if n > WORKSPACE_MAX_BYTES // 2:
        return np.empty(shape, np.uint8)
    buf = getattr(_SCRATCH, 'buf', None)
    if buf is None or buf.size < n:
        _SCRATCH.buf = buf = None    # the old volume must not be alive during the allocation
        buf = np.empty(n, np.uint8)
        _SCRATCH.buf = buf
    return buf[:n].reshape(shape)


def sweep_select_census(code_l, code_r, grad_l, grad_r, grad_weight, grad_cap, invalid_cost, guide,
                        p1, p2lut, paths, min_disparity, num_disparities, ratio, subpixel,
                        lr_max_diff, recompute=False, core=None):
    """Census costs computed on the fly, ``paths`` (4, 5, 8) SGM paths, shared selection.

    Same result as ``aggregate_select(census_cost_volume(...), guide, ...)`` of
    :mod:`stereo.kernels.sgm` (bit for bit) without the cost volume. ``grad_l``/``grad_r``
    are not read when ``grad_weight == 0`` (pass any int16 2-D arrays). ``recompute``:
    each sweep computes the census cost rows itself instead of storing them for the other
    (2 instead of 3 bytes per cell of memory, same output). ``core``: ``(row0, row1)``,
    the rows whose selection is wanted (a stripe's kept rows; default all); the outputs
    of other rows are undefined.
    Returns a :class:`stereo.kernels.select.Selection`.
    """
    if not grad_weight:
        grad_l = grad_r = _NO_GRADS
    return _run(2 if recompute else 0, _NO_VOLUME, (np.ascontiguousarray(code_l), np.ascontiguousarray(code_r)),
                (np.ascontiguousarray(grad_l), np.ascontiguousarray(grad_r)), grad_weight, grad_cap,
                invalid_cost, guide, p1, p2lut, paths, min_disparity, num_disparities, ratio,
                subpixel, lr_max_diff, core)


def sweep_select_volume(cost, guide, p1, p2lut, paths, min_disparity, ratio, subpixel, lr_max_diff,
                        num_disparities=None, core=None):
    """:func:`stereo.kernels.sgm.aggregate_select` (4, 5 or 8 paths) in two sweeps: same output.

    ``cost``: (H, W, D) uint8, or already padded with ``num_disparities`` real ones.
    """
    nd = cost.shape[2] if num_disparities is None else num_disparities
    ndp = sweep_padded_count(nd)
    if cost.shape[2] != ndp:
        cost = np.pad(cost[:, :, :nd], ((0, 0), (0, 0), (0, ndp - nd)), constant_values=255)
    return _run(1, np.ascontiguousarray(cost), (_NO_CODES, _NO_CODES), (_NO_GRADS, _NO_GRADS), 0,
                0, 0, guide, p1, p2lut, paths, min_disparity, nd, ratio, subpixel, lr_max_diff, core)


def release_workspaces() -> None:
    """Drop this thread's cached cost and sum volumes (kept between calls for speed).

    Called after a coarse-to-fine coarse level: its volumes would otherwise stay
    allocated while the full-resolution stripes run.
    """
    from .sgm import _WORKSPACE
    _SCRATCH.buf = None
    _WORKSPACE.buf = None
