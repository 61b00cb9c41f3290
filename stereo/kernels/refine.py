"""Sub-pixel refinement of a disparity map by local plane fits over consistent neighbours.

For every valid pixel p, a plane ``d(u, v) = d_p + a + b u + c v`` (u, v: column and row
offsets from p, pixels) is fitted by least squares to the valid window samples q whose
disparity lies within ``tau`` px of ``d_p`` ("consistent": the same surface; the other
side of a depth edge is left out). The samples are the pixels ``p + (o_i, o_j)`` for every
pair of entries of a symmetric offset list ``offsets`` (e.g. ``-12, -4, 0, 4, 12``: a
5 x 5 sample grid) that lie inside the image. The output is the plane's value at p,
``d_p + a``. When the samples do not span a plane (all on one line, e.g. on a
steep slant where only the samples across it stay within tau) a line is fitted along
that row or column, and along any other line their mean is used; invalid (NaN) pixels
stay NaN.

Why: SGM represents a slanted surface as integer plateaus joined by one-disparity steps
(the P1 penalty favours them) and its sub-pixel fit only partly undoes that, so values
are biased towards integers (pixel locking) and carry independent noise. A plane through
a window that spans several plateaus averages both out without bending the slant (a mean
or median filter would round the staircase instead). A sparse pattern spans more
plateaus for the same work; offsets growing geometrically (dense near p, far samples to
span the plateaus) beat evenly spaced ones on both bad0.5 and locking. The consistency
test is a hard gate: one growing with the distance from p (to keep steep slants) let
outliers into the least squares and cost 4 points of bad0.5 on the MiddEval3 training
scenes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _sample_column(src, c, tau, u, n_i, su_i, suu_i, sd_i, sdu_i):
    """Add one sample (column offset ``u``) to a row's five partial sums, for a run of pixels.

    ``src``: the sample row shifted by u, ``c``: the centre row, both aligned with the
    partial-sum slices. One flat loop over contiguous slices with branch-free selects:
    Numba/LLVM vectorise it (this layout made the kernel 4-5x faster than a per-pixel
    loop over the samples, same sums in the same order, so bit-identical output).
    """
    uu = u * u
    for i in range(c.shape[0]):
        dd = src[i] - c[i]
        ok = abs(dd) <= tau          # False for NaN samples
        wt = np.float32(1.0) if ok else np.float32(0.0)
        dd = dd if ok else np.float32(0.0)
        n_i[i] += wt
        su_i[i] += wt * u
        suu_i[i] += wt * uu
        sd_i[i] += dd
        sdu_i[i] += dd * u


_ROWS_PER_TASK = 8


# Reassociation lets the sums be reordered; no 'nnan': the NaN tests must stay.
@njit(cache=True, parallel=True, fastmath={"reassoc", "contract", "nsz"})
def plane_refine(disp, offsets, tau, out):
    """Write the refined map of ``disp`` (float32 (H, W), NaN invalid) into ``out``.

    ``offsets``: int64 sample offsets, pixels, used on both axes (symmetric, containing 0);
    ``tau``: consistency tolerance, px (float32). Sums are float32 (offsets are small
    integers, disparity differences at most ``tau``); the 3x3 solve is float64.
    """
    h, w = disp.shape
    m = offsets.shape[0]
    ntask = (h + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK
    for task in prange(ntask):
        # Per output row: for each sample row (offset v), five partial sums over the
        # sample columns (count, sum u, sum u^2, sum dd, sum dd*u, dd = sample - centre,
        # zero weight outside tau), then folded with v into the nine plane sums.
        acc = np.empty((9, w), np.float32)
        part = np.empty((5, w), np.float32)
        for y in range(task * _ROWS_PER_TASK, min(h, (task + 1) * _ROWS_PER_TASK)):
            crow = disp[y]
            acc[:] = 0.0
            for a in range(m):
                yy = y + offsets[a]
                if yy < 0 or yy >= h:
                    continue
                v = np.float32(offsets[a])
                part[:] = 0.0
                for b in range(m):
                    ob = offsets[b]
                    x0 = max(0, -ob)          # samples outside the image are left out
                    x1 = min(w, w - ob)
                    if x1 <= x0:
                        continue
                    _sample_column(disp[yy, x0 + ob:x1 + ob], crow[x0:x1], tau, np.float32(ob),
                                   part[0, x0:x1], part[1, x0:x1], part[2, x0:x1], part[3, x0:x1],
                                   part[4, x0:x1])
                vv = v * v
                for x in range(w):
                    n = part[0, x]
                    s1 = part[1, x]
                    s3 = part[3, x]
                    acc[0, x] += n                # s0
                    acc[1, x] += s1               # su
                    acc[2, x] += v * n            # sv
                    acc[3, x] += part[2, x]       # suu
                    acc[4, x] += vv * n           # svv
                    acc[5, x] += v * s1           # suv
                    acc[6, x] += s3               # sd
                    acc[7, x] += part[4, x]       # sdu
                    acc[8, x] += v * s3           # sdv
            for x in range(w):
                dc = crow[x]
                if np.isnan(dc):
                    out[y, x] = dc
                    continue
                out[y, x] = np.float32(dc + _plane_offset(acc[0, x], acc[1, x], acc[2, x], acc[3, x],
                                                          acc[4, x], acc[5, x], acc[6, x], acc[7, x],
                                                          acc[8, x]))


@njit(cache=True, inline="always")
def _plane_offset(s0, su, sv, suu, svv, suv, sd, sdu, sdv):
    """Value at the centre (u = v = 0) of the least-squares plane, relative to the centre."""
    # Cramer's rule on the symmetric 3x3 normal equations (the centre always counts)
    a11 = np.float64(s0)
    a12 = np.float64(su)
    a13 = np.float64(sv)
    a22 = np.float64(suu)
    a23 = np.float64(suv)
    a33 = np.float64(svv)
    c11 = a22 * a33 - a23 * a23
    c12 = a13 * a23 - a12 * a33
    c13 = a12 * a23 - a13 * a22
    det = a11 * c11 + a12 * c12 + a13 * c13
    # det = 0 exactly when the samples lie on one line (integer moments: no rounding
    # below 2**24); a relative threshold also rejects near-collinear sets
    if det > 1e-3 * a11 * a11 * a11:
        return (c11 * np.float64(sd) + c12 * np.float64(sdu) + c13 * np.float64(sdv)) / det
    # samples on one line: a line fit along it when it is a row or a column
    vu = a22 * a11 - a12 * a12
    vv = a33 * a11 - a13 * a13
    if vu > 1e-3 * a11 * a11 and vv <= 1e-3 * a11 * a11:
        return (a22 * np.float64(sd) - a12 * np.float64(sdu)) / vu
    if vv > 1e-3 * a11 * a11 and vu <= 1e-3 * a11 * a11:
        return (a33 * np.float64(sd) - a13 * np.float64(sdv)) / vv
    return np.float64(sd) / a11


__all__ = ["plane_refine"]
