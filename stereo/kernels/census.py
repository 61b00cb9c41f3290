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


@njit(cache=True, parallel=True)
def census_transform_padded(padded, win_w, win_h):
    """Census codes (H, W) uint64 of a grey uint16 image padded by the half window.

    ``padded`` has ``win_h // 2`` extra rows above and below and ``win_w // 2`` extra
    columns left and right (see :func:`census_transform`). Bit order: neighbours in
    raster order (row by row), centre skipped; a bit is 1 when the neighbour is darker
    than the centre. The loop over x is innermost so that it vectorises.
    """
    rh = win_h // 2
    rw = win_w // 2
    h = padded.shape[0] - 2 * rh
    w = padded.shape[1] - 2 * rw
    out = np.empty((h, w), dtype=np.uint64)
    for y in prange(h):
        code = np.zeros(w, dtype=np.uint64)
        centre = padded[y + rh, rw:rw + w]
        for v in range(win_h):
            row = padded[y + v]
            for u in range(win_w):
                if v == rh and u == rw:
                    continue
                for x in range(w):
                    bit = np.uint64(1) if row[x + u] < centre[x] else np.uint64(0)
                    code[x] = (code[x] << np.uint64(1)) | bit
        out[y] = code
    return out


def census_transform(img: np.ndarray, win_w: int, win_h: int) -> np.ndarray:
    """Census codes (H, W) uint64 of a grey image (cast to uint16) for a ``win_w x win_h`` window.

    Outside the image the nearest edge pixel is used (replicated border) so border
    pixels still get a code.
    """
    rh, rw = win_h // 2, win_w // 2
    padded = np.pad(np.asarray(img, dtype=np.uint16), ((rh, rh), (rw, rw)), mode="edge")
    return census_transform_padded(padded, np.int64(win_w), np.int64(win_h))


@njit(cache=True, parallel=True)
def census_cost_volume(code_l, code_r, grad_l, grad_r, min_disparity, num_disparities,
                       grad_weight, grad_cap, invalid_cost):
    """Matching cost volume (H, W, D) uint8 from census codes, plus an optional gradient term.

    ``cost = hamming + (grad_weight * min(|gl - gr|, grad_cap)) >> 4`` saturated at 255,
    where ``gl``/``gr`` are horizontal intensity gradients (int16; ignored when
    ``grad_weight == 0``). Cells whose match ``x - d`` falls outside the right image get
    ``invalid_cost``.
    """
    h, w = code_l.shape
    nd = num_disparities
    out = np.empty((h, w, nd), dtype=np.uint8)
    use_grad = grad_weight > 0
    for y in prange(h):
        for x in range(w):
            cl = code_l[y, x]
            base = x - min_disparity
            for j in range(nd):
                xr = base - j
                if xr < 0 or xr >= w:
                    out[y, x, j] = invalid_cost
                else:
                    c = np.int64(popcount64(cl ^ code_r[y, xr]))
                    if use_grad:
                        g = abs(np.int64(grad_l[y, x]) - np.int64(grad_r[y, xr]))
                        c += (grad_weight * min(g, grad_cap)) >> 4
                    out[y, x, j] = min(c, 255)
    return out
