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
    for y in prange(h):
        for x in range(w):
            dc = disp[y, x]
            if np.isnan(dc):
                out[y, x] = dc
                continue
            # Per sample row, five branch-free sums (count, sum u, sum u^2, sum dd,
            # sum dd*u); the row's v multiplies them into the nine plane sums once per row.
            s0 = np.float32(0.0)
            su = np.float32(0.0)
            sv = np.float32(0.0)
            suu = np.float32(0.0)
            svv = np.float32(0.0)
            suv = np.float32(0.0)
            sd = np.float32(0.0)
            sdu = np.float32(0.0)
            sdv = np.float32(0.0)
            for a in range(m):
                yy = y + offsets[a]
                if yy < 0 or yy >= h:
                    continue
                v = np.float32(offsets[a])
                drow = disp[yy]
                n_i = np.float32(0.0)
                su_i = np.float32(0.0)
                suu_i = np.float32(0.0)
                sd_i = np.float32(0.0)
                sdu_i = np.float32(0.0)
                for b in range(m):
                    xx = x + offsets[b]
                    inside = xx >= 0 and xx < w
                    u = np.float32(offsets[b])
                    dd = drow[min(max(xx, 0), w - 1)] - dc
                    dd = dd if inside else np.float32(np.nan)
                    ok = abs(dd) <= tau          # False for NaN samples
                    wt = np.float32(1.0) if ok else np.float32(0.0)
                    dd = dd if ok else np.float32(0.0)
                    wu = wt * u
                    n_i += wt
                    su_i += wu
                    suu_i += wu * u
                    sd_i += dd
                    sdu_i += dd * u
                s0 += n_i
                su += su_i
                sv += v * n_i
                suu += suu_i
                svv += v * v * n_i
                suv += v * su_i
                sd += sd_i
                sdu += sdu_i
                sdv += v * sd_i
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
                off = (c11 * np.float64(sd) + c12 * np.float64(sdu) + c13 * np.float64(sdv)) / det
            else:
                # samples on one line: a line fit along it when it is a row or a column
                vu = a22 * a11 - a12 * a12
                vv = a33 * a11 - a13 * a13
                if vu > 1e-3 * a11 * a11 and vv <= 1e-3 * a11 * a11:
                    off = (a22 * np.float64(sd) - a12 * np.float64(sdu)) / vu
                elif vv > 1e-3 * a11 * a11 and vu <= 1e-3 * a11 * a11:
                    off = (a33 * np.float64(sd) - a13 * np.float64(sdv)) / vv
                else:
                    off = np.float64(sd) / a11
            out[y, x] = np.float32(dc + off)


__all__ = ["plane_refine"]
