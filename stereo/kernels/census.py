"""Census transform and Hamming-distance matching cost (Numba kernels).

A census code describes the window around a pixel by one bit per neighbour: the bit is
1 when the neighbour is darker than the centre. Two codes are compared by the number of
differing bits (Hamming distance, a hardware popcount), which is robust to gain and bias
changes between the two cameras. Codes are 64-bit, so a window has at most 65 pixels
(the centre carries no bit): 9x7 (62 bits) is the largest standard window.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic


@intrinsic
def popcount64(typingctx, x):
    """Number of set bits of a uint64 (LLVM ``ctpop``: one instruction on x86-64)."""
    if not isinstance(x, types.Integer):
        return None
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [args[0].type])
        return builder.call(fn, [args[0]])

    return sig, codegen


@njit(cache=True, inline="always")
def _census_row(padded, y, win_w, win_h, out_row):
    """Row ``y`` of the codes of a padded image into ``out_row`` (uint64, W entries).

    Bits are gathered 8 at a time in a uint8 row (the comparisons and shifts then run on
    narrow lanes, 4-8x more per vector than uint64) and appended to the codes a byte at a
    time; the bit order is the same as one bit at a time. The loop over x is innermost so
    that it vectorises.
    """
    rh = win_h // 2
    rw = win_w // 2
    w = out_row.shape[0]
    code = out_row
    code[:] = 0
    acc = np.zeros(w, dtype=np.uint8)
    centre = padded[y + rh, rw:rw + w]
    count = 0
    for v in range(win_h):
        row = padded[y + v]
        for u in range(win_w):
            if v == rh and u == rw:
                continue
            src = row[u:u + w]
            for x in range(w):
                acc[x] = np.uint8((acc[x] << np.uint8(1)) | np.uint8(src[x] < centre[x]))
            count += 1
            if count == 8:
                for x in range(w):
                    code[x] = (code[x] << np.uint64(8)) | np.uint64(acc[x])
                    acc[x] = 0
                count = 0
    if count > 0:
        sh = np.uint64(count)
        for x in range(w):
            code[x] = (code[x] << sh) | np.uint64(acc[x])


@njit(cache=True, parallel=True)
def census_transform_padded(padded, win_w, win_h):
    """Census codes (H, W) uint64 of a grey uint8 or uint16 image padded by the half window.

    ``padded`` has ``win_h // 2`` extra rows above and below and ``win_w // 2`` extra
    columns left and right (see :func:`census_transform`). Bit order: neighbours in
    raster order (row by row), centre skipped; a bit is 1 when the neighbour is darker
    than the centre. The loop over x is innermost so that it vectorises.
    """
    h = padded.shape[0] - 2 * (win_h // 2)
    w = padded.shape[1] - 2 * (win_w // 2)
    out = np.empty((h, w), dtype=np.uint64)
    for y in prange(h):
        _census_row(padded, y, win_w, win_h, out[y])
    return out


@njit(cache=True, parallel=True)
def census_transform_padded_pair(padded_l, padded_r, win_w, win_h):
    """Census codes (2, H, W) uint64 of two padded images of one shape (left, right): one
    parallel loop over the rows of both, so a pair costs one launch and the threads share
    the 2H rows evenly. Same bits as :func:`census_transform_padded` on each."""
    h = padded_l.shape[0] - 2 * (win_h // 2)
    w = padded_l.shape[1] - 2 * (win_w // 2)
    out = np.empty((2, h, w), dtype=np.uint64)
    for i in prange(2 * h):
        if i < h:
            _census_row(padded_l, i, win_w, win_h, out[0, i])
        else:
            _census_row(padded_r, i - h, win_w, win_h, out[1, i - h])
    return out


def _pad_edges(img, win_w, win_h, dt):
    """``img`` as ``dt`` with the half window replicated around it. uint8 images stay uint8
    (callers pick ``dt``): the comparisons then run on twice as many vector lanes."""
    rh, rw = win_h // 2, win_w // 2
    return np.pad(np.asarray(img, dtype=dt), ((rh, rh), (rw, rw)), mode="edge")


def census_transform_pair(img_l: np.ndarray, img_r: np.ndarray, win_w: int, win_h: int):
    """``(census_transform(img_l), census_transform(img_r))`` in one parallel kernel; the
    images must have the same shape. Each result is a C-contiguous (H, W) uint64 view."""
    dt = np.uint8 if img_l.dtype == np.uint8 and img_r.dtype == np.uint8 else np.uint16
    pads = [_pad_edges(img, win_w, win_h, dt) for img in (img_l, img_r)]
    if pads[0].shape != pads[1].shape:
        raise ValueError(f"census_transform_pair: shapes differ, {img_l.shape} and {img_r.shape}")
    out = census_transform_padded_pair(pads[0], pads[1], np.int64(win_w), np.int64(win_h))
    return out[0], out[1]


def census_transform(img: np.ndarray, win_w: int, win_h: int) -> np.ndarray:
    """Census codes (H, W) uint64 of a grey image for a ``win_w x win_h`` window (uint8
    images are compared as uint8, anything else is cast to uint16).

    Outside the image the nearest edge pixel is used (replicated border) so border
    pixels still get a code.
    """
    dt = np.uint8 if img.dtype == np.uint8 else np.uint16
    padded = _pad_edges(img, win_w, win_h, dt)
    return census_transform_padded(padded, np.int64(win_w), np.int64(win_h))


CHUNK = 32
"""The disparity loop of :func:`census_cost_row` runs a multiple of this many cells (the
vectorised loop's full width: no scalar remainder, 3x faster measured); the reversed right
rows it reads must have ``CHUNK`` spare entries at the end."""


@njit(cache=True, inline="always")
def census_cost_row(code_l_row, rev, gl_row, grev, min_disparity, nd, grad_weight, grad_cap,
                    invalid_cost, out, tmp):
    """One image row of :func:`census_cost_volume` into ``out`` (W, nd_alloc) uint8.

    ``rev``/``grev``: the right row's codes / gradients reversed (``rev[w - 1 - x_r]``) and
    followed by at least :data:`CHUNK` spare entries (any value), so that for a fixed left
    pixel consecutive disparities read consecutive entries (the loop over disparities then
    vectorises, popcount included). ``gl_row``/``grev`` are not read when
    ``grad_weight == 0``. ``tmp``: uint8 scratch of ``nd + CHUNK`` entries. Shared by the
    volume kernel and the fused sweeps of :mod:`stereo.kernels.sgm_sweep`.
    """
    w = out.shape[0]
    nd_alloc = out.shape[1]
    cap = np.int32(grad_cap)
    gw = np.int32(grad_weight)
    for x in range(w):
        o = out[x]
        base = x - min_disparity
        j_lo = min(max(0, base - (w - 1)), nd)
        j_hi = max(min(nd - 1, base), j_lo - 1)
        for j in range(0, j_lo):
            o[j] = invalid_cost
        for j in range(j_hi + 1, nd):
            o[j] = invalid_cost
        for j in range(nd, nd_alloc):
            o[j] = 255
        n = j_hi - j_lo + 1
        if n <= 0:
            continue
        k0 = w - 1 - base + j_lo
        # whole chunks into tmp (the entries past n read the spare entries: discarded)
        nc = (n + CHUNK - 1) // CHUNK * CHUNK
        rv = rev[k0:k0 + nc]
        cl = code_l_row[x]
        if grad_weight > 0:
            gl = np.int32(gl_row[x])
            gv = grev[k0:k0 + nc]
            for k in range(nc):
                g = min(abs(gl - np.int32(gv[k])), cap)
                c = np.int32(popcount64(cl ^ rv[k])) + ((gw * g) >> 4)
                tmp[k] = min(c, 255)
        else:
            for k in range(nc):
                tmp[k] = np.int32(popcount64(cl ^ rv[k]))
        ov = o[j_lo:j_hi + 1]
        for k in range(n):
            ov[k] = tmp[k]


@njit(cache=True, parallel=True)
def census_cost_volume(code_l, code_r, grad_l, grad_r, min_disparity, num_disparities, nd_alloc,
                       grad_weight, grad_cap, invalid_cost):
    """Matching cost volume (H, W, D) uint8 from census codes, plus an optional gradient term.

    ``cost = hamming + (grad_weight * min(|gl - gr|, grad_cap)) >> 4`` saturated at 255,
    where ``gl``/``gr`` are horizontal intensity gradients (int16; ignored when
    ``grad_weight == 0``). Cells whose match ``x - d`` falls outside the right image get
    ``invalid_cost``. The disparity axis has ``nd_alloc >= num_disparities`` entries;
    the extra (padding) cells hold 255.
    """
    h, w = code_l.shape
    out = np.empty((h, w, nd_alloc), dtype=np.uint8)
    for y in prange(h):
        rev = np.zeros(w + CHUNK, dtype=np.uint64)
        grev = np.zeros(w + CHUNK, dtype=np.int16)
        tmp = np.empty(num_disparities + CHUNK, dtype=np.uint8)
        census_cost_row_at(y, code_l, code_r, grad_l, grad_r, min_disparity, num_disparities,
                           grad_weight, grad_cap, invalid_cost, rev, grev, tmp, out[y])
    return out


@njit(cache=True, inline="always")
def reverse_right_row(y, code_r, grad_r, grad_weight, rev, grev):
    """Row ``y`` of the right census codes (and gradients, with ``grad_weight > 0``)
    reversed into the scratch ``rev``/``grev``, so that the right pixels of increasing
    disparity are contiguous and increasing for every left pixel."""
    w = code_r.shape[1]
    for x in range(w):
        rev[x] = code_r[y, w - 1 - x]
    if grad_weight > 0:
        for x in range(w):
            grev[x] = grad_r[y, w - 1 - x]


@njit(cache=True)
def census_cost_row_at(y, code_l, code_r, grad_l, grad_r, min_disparity, nd, grad_weight, grad_cap,
                       invalid_cost, rev, grev, tmp, out):
    """Census cost row ``y`` into ``out`` (W, Dp) uint8: the right row reversed into the
    scratch ``rev``/``grev`` (length >= W + CHUNK), then :func:`census_cost_row`."""
    reverse_right_row(y, code_r, grad_r, grad_weight, rev, grev)
    gl_row = grad_l[y] if grad_weight > 0 else grad_l[0]
    census_cost_row(code_l[y], rev, gl_row, grev, min_disparity, nd, grad_weight, grad_cap,
                    invalid_cost, out, tmp)
