"""Slow pure-NumPy twins of the Numba kernels, for exact comparison in tests.

Several modules contribute here; each section is independent. Keep them obvious rather
than fast: they define what the kernels must compute.
"""

from __future__ import annotations

import math

import numpy as np

# --------------------------------------------------------------------------------------
# Disparity selection (stereo/kernels/select.py)

BORDER, OUT_OF_RANGE, LR_MISMATCH, NOT_UNIQUE = 1, 2, 4, 8
_SUB = {"none": 0, "parabola": 1, "equiangular": 2}


def _naive_pixel_rules(c, sent, uniqueness_ratio, mode):
    """One pixel's winner and rules over its cost list ``c`` (ints; index k = disparity
    lo + k): (kb, best, second, mask bits without LR, sub-pixel offset)."""
    nd = len(c)
    kb = int(np.argmin(c))
    b = c[kb]
    others = [c[k] for k in range(nd) if abs(k - kb) > 1]
    second = min(others) if others else sent
    m = 0
    if kb == 0 or kb == nd - 1:
        m |= OUT_OF_RANGE
    if (kb > 0 and c[kb - 1] == sent) or (kb < nd - 1 and c[kb + 1] == sent):
        m |= BORDER
    if uniqueness_ratio > 0 and any(o != sent and o * (100 - uniqueness_ratio) < b * 100
                                     for o in others):
        m |= NOT_UNIQUE
    off = 0.0
    if mode and 0 < kb < nd - 1 and c[kb - 1] != sent and c[kb + 1] != sent:
        cm, cp = c[kb - 1], c[kb + 1]
        den = 2 * (cm - 2 * b + cp) if mode == 1 else 2 * (max(cm, cp) - b)
        if den > 0:
            off = min(0.5, max(-0.5, (cm - cp) / den))
    return kb, b, second, m, off


def _naive_lr(d, x, w, right_disparity, lr_max_diff, lrd_row):
    """Left-right rule for pixel ``x`` with disparity ``d``: ``right_disparity(xr)`` is the
    right image's winner at column ``xr`` (None: none). Writes the distance into
    ``lrd_row[x]`` when there is one; returns LR_MISMATCH or 0."""
    if lr_max_diff < 0:
        return 0
    xr = int(math.floor(x - float(d) + 0.5))
    dr = right_disparity(xr) if 0 <= xr < w else None
    if dr is None:
        return 0
    dist = abs(float(d) - float(dr))
    lrd_row[x] = np.float32(dist)
    return LR_MISMATCH if dist > lr_max_diff else 0


def naive_select(volume, min_disparity, uniqueness_ratio=10, subpixel="parabola", lr_max_diff=1.0):
    """Return (disparity, mask, best, second, lr_distance) following the documented rules."""
    vol = np.asarray(volume)
    h, w, nd = vol.shape
    sent = int(np.iinfo(vol.dtype).max)
    cost = vol.astype(np.int64)
    valid = cost != sent
    disp = np.full((h, w), np.nan, np.float32)
    mask = np.zeros((h, w), np.uint8)
    best_out = np.full((h, w), min(sent, 2**31 - 1), np.int32)
    second_out = np.full((h, w), min(sent, 2**31 - 1), np.int32)
    lrd = np.full((h, w), np.nan, np.float32)
    mode = _SUB[subpixel]
    for y in range(h):
        # right disparity per x_r: arg-min over k of cost[y, x_r + d_k, k], ties -> smallest k
        right_k = np.full(w, -1)
        for xr in range(w):
            best_c = None
            for k in range(nd):
                x = xr + min_disparity + k
                if 0 <= x < w and valid[y, x, k] and (best_c is None or cost[y, x, k] < best_c):
                    best_c, right_k[xr] = cost[y, x, k], k
        for x in range(w):
            c = cost[y, x]
            if not valid[y, x].any():
                mask[y, x] = BORDER
                continue
            kb, b, second, m, off = _naive_pixel_rules([int(v) for v in c], sent, uniqueness_ratio, mode)
            best_out[y, x] = min(b, 2**31 - 1)
            second_out[y, x] = min(second, 2**31 - 1)
            d = np.float32(float(min_disparity + kb) + off)
            m |= _naive_lr(d, x, w, lambda xr: min_disparity + right_k[xr] if right_k[xr] >= 0 else None,
                           lr_max_diff, lrd[y])
            mask[y, x] = m
            if m == 0:
                disp[y, x] = d
    return disp, mask, best_out, second_out, lrd


# --------------------------------------------------------------------------------------
# Block matching SAD volume (stereo/kernels/block_cost.py)

def naive_sad_volume(left, right, min_disparity, num_disparities, block_size, dtype=np.int32):
    """SAD over block_size^2 windows; images edge-replicated; dtype max where x - d is off-image."""
    r = block_size // 2
    h, w = left.shape
    L = left.astype(np.int64)
    R = right.astype(np.int64)
    sent = np.iinfo(dtype).max
    vol = np.full((h, w, num_disparities), sent, dtype)
    ys = np.clip(np.arange(-r, r + 1), None, None)
    for k in range(num_disparities):
        d = min_disparity + k
        # per-pixel absolute difference with replicated borders on both images
        for y in range(h):
            rows = np.clip(y + ys, 0, h - 1)
            for x in range(w):
                if not 0 <= x - d < w:
                    continue
                cols_l = np.clip(x + ys, 0, w - 1)
                cols_r = np.clip(x - d + ys, 0, w - 1)
                win_l = L[np.ix_(rows, cols_l)]
                win_r = R[np.ix_(rows, cols_r)]
                vol[y, x, k] = np.abs(win_l - win_r).sum()
    return vol


# --------------------------------------------------------------------------------------
# SGBM: census, window costs, SGM paths, fill, median (stereo/kernels/census.py,
# pixel_costs.py, sgm.py, stereo/postprocess/fill.py, median.py)

def naive_census(img, win_w, win_h):
    """uint64 census codes: bit 1 when a neighbour (raster order, centre skipped) < centre;
    replicated border."""
    img = np.asarray(img, dtype=np.int64)
    h, w = img.shape
    out = np.zeros((h, w), np.uint64)
    for y in range(h):
        for x in range(w):
            code = 0
            for v in range(-(win_h // 2), win_h // 2 + 1):
                for u in range(-(win_w // 2), win_w // 2 + 1):
                    if u == 0 and v == 0:
                        continue
                    yy, xx = min(max(y + v, 0), h - 1), min(max(x + u, 0), w - 1)
                    code = (code << 1) | int(img[yy, xx] < img[y, x])
            out[y, x] = code
    return out


def naive_census_volume(code_l, code_r, min_disparity, num_disparities, invalid_cost,
                        grad_l=None, grad_r=None, grad_weight=0, grad_cap=64):
    """(H, W, D) uint8: popcount(l ^ r) + (grad_weight * min(|gl - gr|, cap)) >> 4, saturated."""
    h, w = code_l.shape
    out = np.full((h, w, num_disparities), invalid_cost, np.uint8)
    for y in range(h):
        for x in range(w):
            for j in range(num_disparities):
                xr = x - min_disparity - j
                if 0 <= xr < w:
                    c = bin(int(code_l[y, x]) ^ int(code_r[y, xr])).count("1")
                    if grad_weight:
                        g = abs(int(grad_l[y, x]) - int(grad_r[y, xr]))
                        c += (grad_weight * min(g, grad_cap)) >> 4
                    out[y, x, j] = min(c, 255)
    return out


def naive_window_cost(left, right, min_disparity, num_disparities, block, mode, invalid_cost):
    """Window mean of |L - R| (mode 0) or Birchfield-Tomasi (mode 1), uint8, rounded half up.

    Pixel values are doubled so BT's half-way interpolation stays integer; window clipped
    at the border; pixels whose own match is outside contribute 0.
    """
    left = np.asarray(left, np.int64) * 2
    right = np.asarray(right, np.int64) * 2
    h, w = left.shape
    r = block // 2
    out = np.full((h, w, num_disparities), invalid_cost, np.uint8)
    for j in range(num_disparities):
        d = min_disparity + j
        pix = np.zeros((h, w), np.int64)
        for y in range(h):
            for x in range(w):
                xr = x - d
                if not 0 <= xr < w:
                    continue
                il, ir = left[y, x], right[y, xr]
                if mode == 0:
                    pix[y, x] = abs(il - ir)
                    continue
                rv = [ir, (ir + right[y, max(xr - 1, 0)]) // 2, (ir + right[y, min(xr + 1, w - 1)]) // 2]
                lv = [il, (il + left[y, max(x - 1, 0)]) // 2, (il + left[y, min(x + 1, w - 1)]) // 2]
                dl = max(0, il - max(rv), min(rv) - il)
                dr = max(0, ir - max(lv), min(lv) - ir)
                pix[y, x] = min(dl, dr)
        for y in range(h):
            for x in range(w):
                if not 0 <= x - d < w:
                    continue
                win = pix[max(y - r, 0):y + r + 1, max(x - r, 0):x + r + 1]
                out[y, x, j] = min(255, (int(win.sum()) + win.size) // (2 * win.size))
    return out


def naive_sgm_path(cost, guide, p1, p2lut, dy, dx):
    """L_r of one path direction (dy, dx) (the path comes from p - (dy, dx)), int64 (H, W, D).

    L(p, d) = C(p, d) + min(L(q, d), L(q, d +- 1) + P1, min_k L(q, k) + P2(p)) - min_k L(q, k)
    with q = p - (dy, dx) and P2(p) = p2lut[|I(p) - I(q)|]; L(p) = C(p) where q is outside.
    """
    cost = np.asarray(cost, np.int64)
    h, w, nd = cost.shape
    out = np.zeros((h, w, nd), np.int64)
    ys = range(h) if dy >= 0 else range(h - 1, -1, -1)
    xs = list(range(w)) if dx >= 0 else list(range(w - 1, -1, -1))
    for y in ys:
        for x in xs:
            qy, qx = y - dy, x - dx
            if not (0 <= qy < h and 0 <= qx < w):
                out[y, x] = cost[y, x]
                continue
            prev = out[qy, qx]
            pm = prev.min()
            p2 = int(p2lut[abs(int(guide[y, x]) - int(guide[qy, qx]))])
            for d in range(nd):
                best = prev[d]
                if d > 0:
                    best = min(best, prev[d - 1] + p1)
                if d < nd - 1:
                    best = min(best, prev[d + 1] + p1)
                best = min(best, pm + p2)
                out[y, x, d] = cost[y, x, d] + best - pm
    return out


SGM_DIRECTIONS = {
    4: [(0, 1), (0, -1), (1, 0), (-1, 0)],
    5: [(0, 1), (0, -1), (1, -1), (1, 0), (1, 1)],
    8: [(0, 1), (0, -1), (1, -1), (1, 0), (1, 1), (-1, 1), (-1, 0), (-1, -1)],
    16: [(0, 1), (0, -1)] + [(s * dy, s * dx) for s in (1, -1)
                             for dy, dx in ((1, -2), (1, -1), (1, 0), (1, 1), (1, 2), (2, -1), (2, 1))],
}


def naive_sgm(cost, guide, p1, p2lut, paths, min_disparity):
    """uint16 sum of the path costs of ``SGM_DIRECTIONS[paths]``; 65535 where x - d is outside."""
    total = sum(naive_sgm_path(cost, guide, p1, p2lut, dy, dx) for dy, dx in SGM_DIRECTIONS[paths])
    h, w, nd = cost.shape
    x = np.arange(w)[:, None] - min_disparity - np.arange(nd)[None, :]
    total[:, (x < 0) | (x >= w)] = 65535
    return total.astype(np.uint16)


def naive_fill_background(disp):
    """Each NaN run on a row takes min(left neighbour, right neighbour) (the one that exists)."""
    out = np.array(disp, np.float32)
    h, w = out.shape
    for y in range(h):
        x = 0
        while x < w:
            if np.isfinite(out[y, x]):
                x += 1
                continue
            s = x
            while x < w and not np.isfinite(disp[y, x]):
                x += 1
            cands = [disp[y, s - 1]] if s > 0 else []
            cands += [disp[y, x]] if x < w else []
            if cands:
                out[y, s:x] = min(cands)
    return out


def naive_median_valid(disp):
    """Median of the finite values of each finite pixel's 3x3 window; NaN stays NaN."""
    disp = np.asarray(disp, np.float32)
    out = disp.copy()
    h, w = disp.shape
    for y in range(h):
        for x in range(w):
            if np.isfinite(disp[y, x]):
                win = disp[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]
                out[y, x] = np.median(win[np.isfinite(win)])
    return out


# --------------------------------------------------------------------------------------
# Plane-fit sub-pixel refinement (stereo/kernels/refine.py)

def naive_plane_refine(disp, offsets, tau):
    """Each finite pixel: least-squares plane through the samples p + (i, j), i and j in
    0, +-offsets, inside the image, within tau of the centre; value at p.
    Samples spanning less than a plane (det <= 1e-3 * n**3): a line fit when they lie on one
    row or column, else their mean. NaN stays NaN."""
    disp = np.asarray(disp, np.float32)
    h, w = disp.shape
    out = disp.copy()
    offs = sorted({0} | {o for o in offsets} | {-o for o in offsets})
    for y in range(h):
        for x in range(w):
            dc = disp[y, x]
            if not np.isfinite(dc):
                continue
            rows = []
            for v in offs:
                for u in offs:
                    yy, xx = y + v, x + u
                    if 0 <= yy < h and 0 <= xx < w and abs(float(disp[yy, xx]) - float(dc)) <= tau:
                        rows.append((1.0, u, v, float(disp[yy, xx]) - float(dc)))
            a = np.array(rows)
            m = a[:, :3].T @ a[:, :3]
            n = len(rows)
            us, vs = a[:, 1], a[:, 2]
            if np.linalg.det(m) > 1e-3 * n ** 3:
                off = np.linalg.solve(m, a[:, :3].T @ a[:, 3])[0]
            elif np.var(us) > 1e-3 and np.var(vs) <= 1e-3:
                off = np.polyfit(us, a[:, 3], 1)[1]
            elif np.var(vs) > 1e-3 and np.var(us) <= 1e-3:
                off = np.polyfit(vs, a[:, 3], 1)[1]
            else:
                off = a[:, 3].mean()
            out[y, x] = np.float32(float(dc) + off)
    return out


# ---------------------------------------------------------------- surface-keeping scanline fill
def naive_surface_fill_rows(disp, same_surface):
    """Row pass of stereo.kernels.fill_surface: each NaN run bounded by L and R with
    |L - R| <= same_surface is linearly interpolated (kind 1), else the smaller bound or the
    only one (kind 2); rows without valid pixels stay NaN (kind 0). Also the run length
    on every NaN pixel (0 on valid ones)."""
    disp = np.asarray(disp, np.float32)
    out = disp.copy()
    kind = np.zeros(disp.shape, np.uint8)
    run = np.zeros(disp.shape, np.int32)
    h, w = disp.shape
    for y in range(h):
        x = 0
        while x < w:
            if not np.isnan(disp[y, x]):
                x += 1
                continue
            s = x
            while x < w and np.isnan(disp[y, x]):
                x += 1
            run[y, s:x] = x - s
            left = float(disp[y, s - 1]) if s > 0 else float("nan")
            right = float(disp[y, x]) if x < w else float("nan")
            if not np.isnan(left) and not np.isnan(right) and abs(left - right) <= same_surface:
                for i in range(s, x):
                    out[y, i] = np.float32(left + (right - left) * ((i - s + 1) / (x - s + 1)))
                    kind[y, i] = 1
                continue
            cands = [v for v in (left, right) if not np.isnan(v)]
            if cands:
                out[y, s:x] = np.float32(min(cands))
                kind[y, s:x] = 2
    return out, kind, run


def naive_fill_surface(disp, mask, same_surface, filled_flag=64):
    """stereo.postprocess.fill.fill_surface: row pass and column pass of
    naive_surface_fill_rows, merged per NaN pixel (both interpolated: mean; column
    interpolated or row empty: column; both background: the shorter run's, ties the row;
    else row), filled_flag ORed where a value came."""
    disp = np.asarray(disp, np.float32)
    rows, kr, sr = naive_surface_fill_rows(disp, same_surface)
    cols_t, kc_t, sc_t = naive_surface_fill_rows(np.ascontiguousarray(disp.T), same_surface)
    cols, kc, sc = cols_t.T, kc_t.T, sc_t.T
    out = rows.copy()
    mask = np.array(mask, np.uint8)
    for y, x in zip(*np.nonzero(np.isnan(disp))):
        if kr[y, x] == 1 and kc[y, x] == 1:
            out[y, x] = np.float32(0.5) * (rows[y, x] + cols[y, x])
        elif kc[y, x] == 1 or (kr[y, x] == 0 and kc[y, x] != 0):
            out[y, x] = cols[y, x]
        elif kr[y, x] == 2 and kc[y, x] == 2 and sc[y, x] < sr[y, x]:
            out[y, x] = cols[y, x]
        if not np.isnan(out[y, x]):
            mask[y, x] |= filled_flag
    return out, mask


# ---- guided weighted median (stereo.kernels.guided_median; s14-precision) ---------------

def naive_guided_median(disp, selected, guide, radius, step, scale, min_change=0.0, checker=False):
    """stereo.postprocess.guided_median.guided_median: at each selected pixel, the weighted
    median (smallest value whose weight of samples <= it reaches half the total, integer
    weights round(2**16 exp(-|dI| / scale)), weight-0 samples left out) of the finite
    samples p + (i, j), i, j in -(radius // step) * step .. radius by step."""
    disp = np.asarray(disp, np.float32)
    guide = np.asarray(guide, np.int64)
    table = np.rint(65536.0 * np.exp(-np.arange(256) / float(scale))).astype(np.int64)
    taps = range(-(radius // step) * step, radius + 1, step)
    out = disp.copy()
    h, w = disp.shape
    for y, x in zip(*np.nonzero(selected)):
        vals, wts = [], []
        for dy in taps:
            for dx in taps:
                if checker and ((dy + dx) // step) % 2:
                    continue
                yy, xx = y + dy, x + dx
                if 0 <= yy < h and 0 <= xx < w and np.isfinite(disp[yy, xx]):
                    wq = table[abs(guide[yy, xx] - guide[y, x])]
                    if wq > 0:
                        vals.append(disp[yy, xx])
                        wts.append(wq)
        if not vals:
            continue
        order = np.argsort(vals, kind="stable")
        cum = np.cumsum(np.array(wts)[order])
        m = np.array(vals, np.float32)[order][np.searchsorted(cum, (cum[-1] + 1) // 2)]
        if not abs(m - disp[y, x]) <= min_change:
            out[y, x] = m
    return out


def naive_jump_band(disp, jump):
    """stereo.postprocess.guided_median.jump_band: finite pixels within 3 x 3 of a pixel
    that differs from a 4-neighbour by more than jump px."""
    d = np.asarray(disp, np.float64)
    h, w = d.shape
    touch = np.zeros((h, w), bool)
    for y in range(h):
        for x in range(w):
            for yy, xx in ((y, x - 1), (y, x + 1), (y - 1, x), (y + 1, x)):
                if 0 <= yy < h and 0 <= xx < w and abs(d[y, x] - d[yy, xx]) > jump:
                    touch[y, x] = True
    band = np.zeros((h, w), bool)
    for y in range(h):
        for x in range(w):
            band[y, x] = touch[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2].any() and np.isfinite(d[y, x])
    return band


# --------------------------------------------------------------------------------------
# SGM with a disparity interval per pixel (stereo/kernels/sgm_interval.py)

def naive_sgm_interval_path(cost, guide, p1, p2lut, dy, dx, lo, cnt, min_disparity):
    """L_r of one path direction with per-pixel intervals, as a dict {(y, x): {d: L}}.

    ``cost``: (H, W, D) over the user's range; pixel p holds d in [lo[p], lo[p] + cnt[p]).
    L(p, d) = C(p, d) + min(L(q, d), L(q, d +- 1) + P1, m_q + P2(p)) - m_q, with L(q, d') =
    inf for d' outside q's interval and m_q the minimum over q's interval; L(p) = C(p)
    where q = p - (dy, dx) is outside the image.
    """
    h, w, _ = cost.shape
    out = {}
    ys = range(h) if dy >= 0 else range(h - 1, -1, -1)
    xs = list(range(w)) if dx >= 0 else list(range(w - 1, -1, -1))
    for y in ys:
        for x in xs:
            ds = range(int(lo[y, x]), int(lo[y, x]) + int(cnt[y, x]))
            c = {d: int(cost[y, x, d - min_disparity]) for d in ds}
            qy, qx = y - dy, x - dx
            if not (0 <= qy < h and 0 <= qx < w):
                out[y, x] = c
                continue
            prev = out[qy, qx]
            pm = min(prev.values())
            p2 = int(p2lut[abs(int(guide[y, x]) - int(guide[qy, qx]))])
            inf = float("inf")
            lv = {}
            for d in ds:
                best = min(prev.get(d, inf), prev.get(d - 1, inf) + p1, prev.get(d + 1, inf) + p1,
                           pm + p2)
                lv[d] = c[d] + int(best) - pm
            out[y, x] = lv
    return out


def naive_select_interval(cost, guide, p1, p2lut, paths, min_disparity, lo, cnt,
                          uniqueness_ratio=5, subpixel="equiangular", lr_max_diff=1.0):
    """Sum of the paths of SGM_DIRECTIONS[paths] with per-pixel intervals, then the selection
    rules over each pixel's interval (edges of the interval -> OUT_OF_RANGE; cells whose
    match leaves the right image are sentinels; the right image's winner per column over all
    left pixels whose interval reaches it, ties to the smallest d).
    Returns (disparity, mask, best, second, lr_distance) like naive_select."""
    h, w, _ = cost.shape
    paths_l = [naive_sgm_interval_path(cost, guide, p1, p2lut, dy, dx, lo, cnt, min_disparity)
               for dy, dx in SGM_DIRECTIONS[paths]]
    sent = 65535
    disp = np.full((h, w), np.nan, np.float32)
    mask = np.zeros((h, w), np.uint8)
    best_out = np.full((h, w), sent, np.int32)
    second_out = np.full((h, w), sent, np.int32)
    lrd = np.full((h, w), np.nan, np.float32)
    mode = _SUB[subpixel]
    for y in range(h):
        tot = {}
        for x in range(w):
            s = {}
            for d in range(int(lo[y, x]), int(lo[y, x]) + int(cnt[y, x])):
                s[d] = sent if not 0 <= x - d < w else sum(p[y, x][d] for p in paths_l) % 65536
            tot[x] = s
        right = {}
        for x in range(w):
            for d, c in tot[x].items():
                xr = x - d
                if 0 <= xr < w and (xr not in right or (c, d) < right[xr]):
                    right[xr] = (c, d)
        for x in range(w):
            l0, nd = int(lo[y, x]), int(cnt[y, x])
            c = [tot[x][l0 + k] for k in range(nd)]
            if min(c) == sent:
                mask[y, x] = BORDER
                continue
            kb, b, second, m, off = _naive_pixel_rules(c, sent, uniqueness_ratio, mode)
            best_out[y, x], second_out[y, x] = b, second
            d = np.float32(float(l0 + kb) + off)
            m |= _naive_lr(d, x, w, lambda xr: right[xr][1] if xr in right and right[xr][0] != sent else None,
                           lr_max_diff, lrd[y])
            mask[y, x] = m
            if m == 0:
                disp[y, x] = d
    return disp, mask, best_out, second_out, lrd


# ---------------------------------------------------------------- one fused SGM path step (s14-sweep)
def naive_path_steps(c, part, srcs, mins, p2s, p1):
    """The SGM path-step arithmetic of :mod:`stereo.kernels.sgm_simd` for one pixel (the row
    walks' steps add the sentinel: :func:`naive_walk_path_steps`; the interval kernel's
    offset steps are compared with this directly).

    ``srcs``: the paths' previous buffers (Dp + 2 entries, BIG at 0 and nd + 1); returns the
    new buffers' entries 1..Dp (int16, wrapping), ``out`` (uint16, wrapping) and the minima.
    """
    ndp = len(c)
    new = []
    for s, m, p2 in zip(srcs, mins, p2s):
        s = np.asarray(s, np.int64)
        best = np.minimum(np.minimum(s[1:ndp + 1], np.minimum(s[:ndp], s[2:]) + p1), int(m) + int(p2))
        v = (best - int(m) + np.asarray(c, np.int64)).astype(np.int16)    # wraps like the kernel
        new.append(v)
    out = (np.asarray(part, np.int64) + sum(v.astype(np.int64) for v in new)).astype(np.uint16)
    return new, out, [int(v.min()) for v in new]


# ---------------------------------------------------------------- symmetric sub-pixel estimate (s15-lock)
def naive_symmetric_subpixel(disp, left, right, r=2, span=12, max_move=0.5, max_step=1.0):
    """Twin of :func:`stereo.kernels.symmetric_subpixel.symmetric_subpixel` (pixel loops).

    ``left``/``right`` uint8; the half grid is ``H = right[:, j] + right[:, j + 1]`` (twice
    the half-way image: ZNCC does not see the factor); costs ``1 - ZNCC`` of the
    (2r+1)^2 window from exact integer sums.
    """
    d = np.asarray(disp, np.float32)
    L = np.asarray(left, np.int64)
    R = np.asarray(right, np.int64)
    H = np.empty_like(R)
    H[:, :-1] = R[:, :-1] + R[:, 1:]
    H[:, -1] = 2 * R[:, -1]
    h, w = d.shape
    n = (2 * r + 1) ** 2
    out = d.copy()

    def cost(img, y, x, c0):
        a = L[y - r:y + r + 1, x - r:x + r + 1]
        b = img[y - r:y + r + 1, c0:c0 + 2 * r + 1]
        sl, sll, sr, srr, slr = (int(a.sum()), int((a * a).sum()), int(b.sum()), int((b * b).sum()),
                                 int((a * b).sum()))
        vl = n * sll - sl * sl
        vr = n * srr - sr * sr
        if vl <= 0 or vr <= 0:
            return math.nan
        return 1.0 - float(n * slr - sl * sr) / math.sqrt(float(vl) * float(vr))

    def parab(cm, c0, cp):
        den = cm - 2.0 * c0 + cp
        if not den > 0.0:
            return math.nan
        return min(0.5, max(-0.5, (cm - cp) / (2.0 * den)))

    for y in range(h):
        for x in range(w):
            v = float(d[y, x])
            if math.isnan(v) or not (span <= y < h - span and span <= x < w - span and r <= y < h - r):
                continue
            # float32 differences and threshold, as in the kernel
            if not (abs(d[y, x + span] - d[y, x - span]) < np.float32(max_step)
                    and abs(d[y + span, x] - d[y - span, x]) < np.float32(max_step)):
                continue
            k = math.floor(v + 0.5)
            if not (x - r >= 0 and x + r < w and x - r - k - 2 >= 0 and x + r - k + 2 <= w - 1):
                continue
            b = x - r - k
            oi = parab(cost(R, y, x, b + 1), cost(R, y, x, b), cost(R, y, x, b - 1))
            if math.isnan(oi):
                continue
            hm, hp = cost(H, y, x, b), cost(H, y, x, b - 1)
            if math.isnan(hm) or math.isnan(hp):
                continue
            if hm < hp:
                oh = k - 0.5 + parab(cost(H, y, x, b + 1), hm, hp)
            else:
                oh = k + 0.5 + parab(hm, hp, cost(H, y, x, b - 2))
            if math.isnan(oh):
                continue
            est = 0.5 * ((k + oi) + oh)
            if abs(est - v) <= max_move:
                out[y, x] = np.float32(est)
    return out


# ---------------------------------------------------------------- speckle regions (s15-speckle)
def naive_speckle_mask(disp, max_size, max_diff):
    """Twin of :mod:`stereo.kernels.speckle_cc`: breadth-first flood fill of every 4-connected
    region of finite values whose neighbours differ by at most ``max_diff`` (float64
    difference); True on regions of at most ``max_size`` pixels."""
    from collections import deque
    d = np.asarray(disp, np.float32)
    h, w = d.shape
    fin = np.isfinite(d)
    seen = np.zeros((h, w), bool)
    out = np.zeros((h, w), bool)
    for sy in range(h):
        for sx in range(w):
            if not fin[sy, sx] or seen[sy, sx]:
                continue
            seen[sy, sx] = True
            region, queue = [], deque([(sy, sx)])
            while queue:
                y, x = queue.popleft()
                region.append((y, x))
                for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if (0 <= ny < h and 0 <= nx < w and fin[ny, nx] and not seen[ny, nx]
                            and abs(float(d[y, x]) - float(d[ny, nx])) <= max_diff):
                        seen[ny, nx] = True
                        queue.append((ny, nx))
            if len(region) <= max_size:
                for y, x in region:
                    out[y, x] = True
    return out


# ---------------------------------------------------------------- row-walk path step (s15-walk)
def naive_walk_path_steps(c, part, srcs, mins, p2s, p1, nd, stream):
    """Twin of :func:`stereo.kernels.sgm_simd.path_steps_4_s` (and _1, _2, ``_s_nt``).

    As :func:`naive_path_steps`, and then each new buffer gets the BIG sentinel at entry
    nd + 1 (when nd < Dp: the kernel stores it with the vector); ``stream`` (the ``_nt``
    variants): ``out`` is the sum of the paths alone (``part`` is not read). Returns the
    buffers' entries 1..Dp, ``out`` and the minima (taken before the sentinel is written).
    """
    new, out, mins_out = naive_path_steps(c, np.zeros_like(part) if stream else part, srcs, mins,
                                          p2s, p1)
    ndp = len(c)
    for v in new:
        if nd < ndp:
            v[nd] = 16383      # entry nd + 1 of the buffer
    return new, out, mins_out
