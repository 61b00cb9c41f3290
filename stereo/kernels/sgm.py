"""Semi-global path aggregation (Hirschmueller 2008) in narrow integer arithmetic.

For every path direction r the recursion is

    L_r(p, d) = C(p, d) + min(L_r(p-r, d), L_r(p-r, d-1) + P1, L_r(p-r, d+1) + P1,
                              min_k L_r(p-r, k) + P2(p)) - min_k L_r(p-r, k)

Subtracting the previous minimum keeps ``L_r <= C_max + P2``, so every path fits in 16
bits and the sum over all paths fits in uint16 when ``paths * (C_max + P2) < 65535``
(checked by the public API). ``P2(p)`` comes from a lookup table indexed by the grey
level step ``|I(p) - I(p-r)|`` along the path, so P2 can shrink across intensity edges.

Kernels, all adding into one uint16 sum volume ``out`` (H, W, D) (the first line family
stores instead of adding, so ``out`` starts uninitialised):
- :func:`aggregate_lines`: one direction that moves one or two rows down (or up) per
  step; its path lines are independent, so blocks of neighbouring lines run in parallel
  with no barrier inside the sweep.
- :func:`aggregate_horizontal_select` (last): left-to-right and right-to-left paths, rows
  in parallel; a finished row gets its sentinels and is selected while still in cache.
Results do not depend on the number of threads (pure integer arithmetic, no shared sums).

Volumes passed to the kernels have their disparity axis padded to a multiple of
:data:`DISPARITY_ALIGN` (see :func:`pad_cost`); ``nd`` is the real count.
"""

from __future__ import annotations

import threading

import numpy as np
import numba
from numba import njit, prange

from .select import Selection, select_row

BIG = np.int16(16383)
"""Stands for 'no such disparity' at both ends of the disparity axis of a path buffer."""

SENTINEL = np.uint16(65535)
"""Aggregated cost of a cell whose match falls outside the right image."""


@njit(cache=True, inline="always")
def _step(c, src, src_min, dst, p1, p2, nd):
    # c: the D costs of p (a 1-D view: 3-D indexing here would defeat vectorisation).
    # src/dst hold Dp+2 entries: index 0 and nd+1 are BIG so d-1 and d+1 need no branch.
    # Dp >= nd is the padded disparity count (a multiple of 16: whole vector iterations,
    # about 30% faster than a scalar tail); padded cells cost 255, so their path costs
    # never undercut the real minimum, and resetting entry nd+1 to BIG after each step
    # hides them from the last real disparity: the real cells are exactly unpadded SGM.
    # Every operand is cast back to int16 (Numba widens integer arithmetic to int64; the
    # casts let LLVM keep 16-bit lanes, 4x the SIMD width). No value overflows: path
    # costs are <= cost_max + P2 < BIG and BIG + P1 < 32767 (checked by the public API).
    ndp = dst.shape[0] - 2
    s_min = np.int16(src_min)
    jump = np.int16(s_min + p2)
    q1 = np.int16(p1)
    m = BIG
    for j in range(ndp):
        a = src[j + 1]
        b = np.int16(min(src[j], src[j + 2]) + q1)
        v = np.int16(np.int16(min(min(a, b), jump) - s_min) + np.int16(c[j]))
        dst[j + 1] = v
        m = min(m, v)
    dst[nd + 1] = BIG
    return m


@njit(cache=True, inline="always")
def _step_acc(c, src, src_min, dst, p1, p2, o, nd):
    # _step fused with the accumulation into the sum volume row ``o``
    ndp = dst.shape[0] - 2
    s_min = np.int16(src_min)
    jump = np.int16(s_min + p2)
    q1 = np.int16(p1)
    m = BIG
    for j in range(ndp):
        a = src[j + 1]
        b = np.int16(min(src[j], src[j + 2]) + q1)
        v = np.int16(np.int16(min(min(a, b), jump) - s_min) + np.int16(c[j]))
        dst[j + 1] = v
        o[j] = np.uint16(o[j] + np.uint16(v))
        m = min(m, v)
    dst[nd + 1] = BIG
    return m


@njit(cache=True, inline="always")
def _step_set(c, src, src_min, dst, p1, p2, o, nd):
    # _step fused with the first write of the sum volume row ``o`` (no read of ``o``: the
    # volume is allocated uninitialised, and its pages are then faulted in once, by this write)
    ndp = dst.shape[0] - 2
    s_min = np.int16(src_min)
    jump = np.int16(s_min + p2)
    q1 = np.int16(p1)
    m = BIG
    for j in range(ndp):
        a = src[j + 1]
        b = np.int16(min(src[j], src[j + 2]) + q1)
        v = np.int16(np.int16(min(min(a, b), jump) - s_min) + np.int16(c[j]))
        dst[j + 1] = v
        o[j] = np.uint16(v)
        m = min(m, v)
    dst[nd + 1] = BIG
    return m


@njit(cache=True, inline="always")
def _start(c, dst, nd):
    ndp = dst.shape[0] - 2
    m = BIG
    for j in range(ndp):
        v = np.int32(c[j])
        dst[j + 1] = v
        m = min(m, v)
    dst[nd + 1] = BIG
    return m


@njit(cache=True, inline="always")
def _mark_row_outside(o_row, min_disparity, nd):
    # cells whose match x - d falls outside the right image get the sentinel
    w = o_row.shape[0]
    for x in range(w):
        if x >= min_disparity + nd and x < w + min_disparity:
            continue
        for j in range(nd):
            xr = x - min_disparity - j
            if xr < 0 or xr >= w:
                o_row[x, j] = SENTINEL


@njit(cache=True, parallel=True)
def aggregate_horizontal_select(cost, guide, p1, p2lut, out, nd, min_disparity, do_select, ratio,
                                subpixel, lr_max_diff, disp, mask, best, second, lr_dist):
    """Add the left-to-right and right-to-left paths to ``out``, then finish each row.

    Runs last: once both horizontal paths of a row are added, the row's sums are final,
    so the sentinel is written and, with ``do_select``, the shared selection rules
    (:func:`stereo.kernels.select.select_row`) run on the row while it is still in
    cache, filling the (H, W) outputs ``disp, mask, best, second, lr_dist``.
    """
    h = cost.shape[0]
    for y in prange(h):
        _horizontal_row(cost, guide, p1, p2lut, out, nd, min_disparity, do_select, ratio, subpixel,
                        lr_max_diff, disp, mask, best, second, lr_dist, y)


@njit(cache=True, inline="always")
def _horizontal_row(cost, guide, p1, p2lut, out, nd, min_disparity, do_select, ratio, subpixel,
                    lr_max_diff, disp, mask, best, second, lr_dist, y):
    h, w, ndp = cost.shape
    a = np.full(ndp + 2, BIG, dtype=np.int16)
    b = np.full(ndp + 2, BIG, dtype=np.int16)
    g = guide[y]
    m = _start(cost[y, 0], a, nd)
    _accumulate(a, out[y, 0])
    for x in range(1, w):
        p2 = p2lut[abs(np.int32(g[x]) - np.int32(g[x - 1]))]
        # alternate the two buffers explicitly (swapping names hinders vectorisation)
        if x & 1:
            m = _step_acc(cost[y, x], a, m, b, p1, p2, out[y, x], nd)
        else:
            m = _step_acc(cost[y, x], b, m, a, p1, p2, out[y, x], nd)
    m = _start(cost[y, w - 1], a, nd)
    _accumulate(a, out[y, w - 1])
    for x in range(w - 2, -1, -1):
        p2 = p2lut[abs(np.int32(g[x]) - np.int32(g[x + 1]))]
        if (w - 1 - x) & 1:
            m = _step_acc(cost[y, x], a, m, b, p1, p2, out[y, x], nd)
        else:
            m = _step_acc(cost[y, x], b, m, a, p1, p2, out[y, x], nd)
    _mark_row_outside(out[y], min_disparity, nd)
    if do_select:
        rkey = np.empty(w, dtype=np.int64)
        # contiguous copy of the real disparities (the row is in cache): the selection
        # kernel vectorises on C-contiguous rows only
        row = np.empty((w, nd), dtype=np.uint16)
        o_row = out[y]
        for x in range(w):
            for j in range(nd):
                row[x, j] = o_row[x, j]
        select_row(row, SENTINEL, min_disparity, ratio, subpixel, lr_max_diff,
                   disp[y], mask[y], best[y], second[y], lr_dist[y], rkey)


@njit(cache=True, inline="always")
def _accumulate(buf, o):
    for j in range(o.shape[0]):
        o[j] += buf[j + 1]


@njit(cache=True, inline="always")
def _store(buf, o):
    for j in range(o.shape[0]):
        o[j] = buf[j + 1]


LINE_BLOCK = 16
"""Neighbouring path lines walked together by one thread (adjacent pixels share cache lines)."""


@njit(cache=True, inline="always")
def _walk(cost, guide, p1, p2lut, dx, row0, rowstep, s0, nb, i_first, i_last, sgn,
          bufa, bufb, mins, out, nd, store):
    # Visits rows i_first .. i_last (sgn = +1 down, -1 up); point of line l at row i is
    # x = s0 + l + dx * i and its predecessor on the path is (i - sgn, x - sgn * dx).
    # ``store``: write the path costs into ``out`` instead of adding them (first walk).
    h, w, _ = cost.shape
    n = (h - row0 + rowstep - 1) // rowstep
    i = i_first
    for _ in range(abs(i_last - i_first) + 1):
        y = row0 + i * rowstep
        yp = y - sgn * rowstep
        c_row = cost[y]
        o_row = out[y]
        g = guide[y]
        ip = i - sgn
        for l in range(nb):
            x = s0 + l + dx * i
            if x < 0 or x >= w:
                continue
            xp = x - sgn * dx
            o = o_row[x]
            # buffer roles alternate with the row parity; each branch names them
            # explicitly (a swapped array variable defeats vectorisation)
            if ip >= 0 and ip < n and xp >= 0 and xp < w:
                p2 = p2lut[abs(np.int32(g[x]) - np.int32(guide[yp, xp]))]
                if store:
                    if i & 1:
                        mins[l] = _step_set(c_row[x], bufa[l], mins[l], bufb[l], p1, p2, o, nd)
                    else:
                        mins[l] = _step_set(c_row[x], bufb[l], mins[l], bufa[l], p1, p2, o, nd)
                elif i & 1:
                    mins[l] = _step_acc(c_row[x], bufa[l], mins[l], bufb[l], p1, p2, o, nd)
                else:
                    mins[l] = _step_acc(c_row[x], bufb[l], mins[l], bufa[l], p1, p2, o, nd)
            else:
                # a line's first point: buffer per row parity, as above
                if i & 1:
                    mins[l] = _start(c_row[x], bufb[l], nd)
                else:
                    mins[l] = _start(c_row[x], bufa[l], nd)
                if store:
                    _store(bufb[l] if i & 1 else bufa[l], o)
                elif i & 1:
                    _accumulate(bufb[l], o)
                else:
                    _accumulate(bufa[l], o)
        i += sgn


@njit(cache=True, parallel=True)
def aggregate_lines(cost, guide, p1, p2lut, dx, row0, rowstep, downward, upward, out, nd, store):
    """Add to ``out`` the paths along lines that move ``rowstep`` rows and ``dx`` columns per step.

    With ``store`` the downward walk writes ``out`` instead of adding to it, so ``out``
    may be uninitialised (needs ``downward`` and ``rowstep == 1``: every cell is visited).

    ``downward`` adds the direction walked from the top (step ``(+rowstep, +dx)``),
    ``upward`` the opposite one (step ``(-rowstep, -dx)``). Only rows ``row0, row0 +
    rowstep, ...`` are visited (``rowstep`` 2 with ``row0`` 0 and 1 covers the steep
    16-path directions). Line ``s`` visits ``x = s + dx * i`` at its ``i``-th visited row.
    Each line is independent, so blocks of :data:`LINE_BLOCK` lines run in parallel with
    no synchronisation inside the sweep (robust when other processes share the cores).
    A block walks down and then straight back up, so the second walk finds the block's
    costs and sums still in cache: the sweep is memory-bound and this halves DRAM traffic.
    """
    h, w, _ = cost.shape
    n = (h - row0 + rowstep - 1) // rowstep
    if n <= 0:
        return
    s_min = -dx * (n - 1) if dx > 0 else 0
    s_max = w - 1 - dx * (n - 1) if dx < 0 else w - 1
    nlines = s_max - s_min + 1
    nblocks = (nlines + LINE_BLOCK - 1) // LINE_BLOCK
    for blk in prange(nblocks):
        _lines_block(cost, guide, p1, p2lut, dx, row0, rowstep, downward, upward, out,
                     s_min, s_max, n, blk, nd, store)


@njit(cache=True, inline="always")
def _lines_block(cost, guide, p1, p2lut, dx, row0, rowstep, downward, upward, out,
                 s_min, s_max, n, blk, nd, store):
    ndp = cost.shape[2]
    w = cost.shape[1]
    bufa = np.full((LINE_BLOCK, ndp + 2), BIG, dtype=np.int16)
    bufb = np.full((LINE_BLOCK, ndp + 2), BIG, dtype=np.int16)
    mins = np.zeros(LINE_BLOCK, dtype=np.int16)
    s0 = s_min + blk * LINE_BLOCK
    nb = min(LINE_BLOCK, s_max + 1 - s0)
    # rows where some line of the block is inside the image
    if dx > 0:
        i_lo = max(0, (-(s0 + nb - 1) + dx - 1) // dx)
        i_hi = min(n - 1, (w - 1 - s0) // dx)
    elif dx < 0:
        i_lo = max(0, (s0 - (w - 1) + (-dx) - 1) // (-dx))
        i_hi = min(n - 1, (s0 + nb - 1) // (-dx))
    else:
        i_lo = 0
        i_hi = n - 1
    if downward:
        _walk(cost, guide, p1, p2lut, dx, row0, rowstep, s0, nb, i_lo, i_hi, 1,
              bufa, bufb, mins, out, nd, store)
    if upward:
        _walk(cost, guide, p1, p2lut, dx, row0, rowstep, s0, nb, i_hi, i_lo, -1,
              bufa, bufb, mins, out, nd, False)


def p2_table(p1: int, p2: int, adapt: float) -> np.ndarray:
    """P2 for each grey-level step 0..255 along a path: ``max(P1+1, P2 / (1 + step/adapt))``.

    ``adapt`` (grey levels) is the step that halves P2; 0 keeps P2 constant.
    """
    steps = np.arange(256, dtype=np.float64)
    if adapt > 0:
        vals = np.floor(p2 / (1.0 + steps / adapt))
    else:
        vals = np.full(256, float(p2))
    return np.maximum(vals, p1 + 1 if p2 > p1 else p2).astype(np.int32)


# Path sets: line families (rows per step, columns per step) and whether both walking
# directions are used; the two horizontal paths are always included.
_PATHS = {
    4: [(1, 0, True)],
    5: [(1, -1, False), (1, 0, False), (1, 1, False)],
    8: [(1, -1, True), (1, 0, True), (1, 1, True)],
    16: [(1, -2, True), (1, -1, True), (1, 0, True), (1, 1, True), (1, 2, True),
         (2, -1, True), (2, 1, True)],
}
PATH_COUNTS = tuple(sorted(_PATHS))


DISPARITY_ALIGN = 16
"""Disparity axes of the internal volumes are padded to a multiple of this."""


def padded_count(num_disparities: int) -> int:
    """Padded disparity count of the internal cost and sum volumes."""
    return -(-num_disparities // DISPARITY_ALIGN) * DISPARITY_ALIGN


def pad_cost(cost: np.ndarray) -> np.ndarray:
    """(H, W, D) uint8 cost volume padded with 255 to :func:`padded_count` disparities."""
    nd = cost.shape[2]
    ndp = padded_count(nd)
    if ndp == nd:
        return np.ascontiguousarray(cost)
    return np.pad(cost, ((0, 0), (0, 0), (0, ndp - nd)), constant_values=255)


_WORKSPACE = threading.local()
WORKSPACE_MAX_BYTES = 256 << 20
"""Largest sum volume kept between calls (per Python thread) by :func:`aggregate_select`."""


def _sum_volume(shape, reuse):
    # Uninitialised: the first line family stores instead of adding. Fresh pages cost
    # about as much to fault in as a whole path family takes to run, so the fused path
    # keeps its volume for the next call of the same thread (the volume never escapes it).
    n = shape[0] * shape[1] * shape[2]
    if not reuse or 2 * n > WORKSPACE_MAX_BYTES:
        return np.empty(shape, dtype=np.uint16)
    buf = getattr(_WORKSPACE, "buf", None)
    if buf is None or buf.size < n:
        # release the old one before allocating (the local name held it too: both were
        # alive at once, raising the peak by the old volume's size)
        _WORKSPACE.buf = buf = None
        buf = np.empty(n, dtype=np.uint16)
        _WORKSPACE.buf = buf
    return buf[:n].reshape(shape)


def _aggregate(cost, guide, p1, p2lut, paths, nd, min_disparity, do_select, ratio, subpixel,
               lr_max_diff, outputs):
    out = _sum_volume(cost.shape, do_select)
    p1 = np.int32(p1)
    nd = np.int64(nd)
    # Small chunks handed out dynamically instead of one static half per thread: a thread
    # slowed down by another process on its core then does not hold up the whole sweep.
    # (Set from Python: inside a kernel it would prevent caching.) Work per item never
    # depends on the chunking, so results do not change.
    old = numba.set_parallel_chunksize(1)
    try:
        first = True
        for dy, dx, both in _PATHS[paths]:
            for row0 in range(dy):
                # every path set starts with a one-row-per-step family (covers every cell)
                assert not first or dy == 1
                aggregate_lines(cost, guide, p1, p2lut, np.int64(dx), np.int64(row0), np.int64(dy),
                                True, both, out, nd, first)
                first = False
        numba.set_parallel_chunksize(4)
        aggregate_horizontal_select(cost, guide, p1, p2lut, out, nd, np.int64(min_disparity),
                                    do_select, np.int64(ratio), np.int64(subpixel),
                                    np.float64(lr_max_diff), *outputs)
    finally:
        numba.set_parallel_chunksize(old)
    return out


def aggregate(cost: np.ndarray, guide: np.ndarray, p1: int, p2lut: np.ndarray, paths: int,
              min_disparity: int) -> np.ndarray:
    """Sum of ``paths`` SGM path costs: (H, W, D) uint16, :data:`SENTINEL` outside the right image.

    ``cost``: (H, W, D) uint8; ``guide``: (H, W) uint8 grey image for the adaptive P2;
    ``p2lut``: int32[256] from :func:`p2_table`. The 5-path set is the horizontal pair
    plus the three paths coming from above (OpenCV MODE_SGBM's single-pass set); the
    others use every line family in both directions.
    """
    nd = cost.shape[2]
    out = _aggregate(pad_cost(cost), guide, p1, p2lut, paths, nd, min_disparity, False, 0, 0, -1.0,
                     _selection_arrays(1, 1))
    return np.ascontiguousarray(out[:, :, :nd])


def aggregate_select(cost: np.ndarray, guide: np.ndarray, p1: int, p2lut: np.ndarray, paths: int,
                     min_disparity: int, ratio: int, subpixel: int, lr_max_diff: float,
                     num_disparities: int | None = None):
    """:func:`aggregate` fused with the shared selection rules, row by row.

    ``cost`` may already be padded (``num_disparities`` real disparities followed by
    cells of cost 255, see :func:`padded_count`); otherwise it is padded here.
    ``ratio``, ``subpixel`` (code) and ``lr_max_diff`` as returned by
    :func:`stereo.postprocess.select.check_selection_params`. Returns a
    :class:`~stereo.kernels.select.Selection` identical to
    ``select_disparities(aggregate(...), min_disparity, ...)`` without a second pass over
    the volume.
    """
    nd = cost.shape[2] if num_disparities is None else num_disparities
    if cost.shape[2] != padded_count(nd):
        cost = pad_cost(cost[:, :, :nd])
    h, w, _ = cost.shape
    outputs = _selection_arrays(h, w)
    _aggregate(cost, guide, p1, p2lut, paths, nd, min_disparity, True, ratio, subpixel,
               lr_max_diff, outputs)
    return Selection(*outputs)


def _selection_arrays(h, w):
    return (np.empty((h, w), np.float32), np.empty((h, w), np.uint8), np.empty((h, w), np.int32),
            np.empty((h, w), np.int32), np.empty((h, w), np.float32))
