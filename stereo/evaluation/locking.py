"""Pixel locking: the bias of sub-pixel disparities towards integers ("staircase" point clouds).

Measurement (what ``stereo bench`` reports per scene and method):

* Pixels used: ground truth known, inside the evaluated region (non-occluded in the
  bench), a *valid* prediction (before any dense filling: filled values are not
  estimates) and ``|d - d_gt| < 1`` px, so gross mismatches do not mask the sub-pixel bias.
* ``curve``: the mean signed error ``d - d_gt`` (px) in :data:`CURVE_BINS` equal bins of the
  fractional part of the *true* disparity, ``d_gt - floor(d_gt)``. An unbiased matcher
  gives a flat line at 0; a matcher that snaps to integers gives a sawtooth from 0 down to
  -0.5 (fraction just below 0.5) and from +0.5 back to 0 (fully locked: peak-to-peak 1).
* ``ptp``: peak-to-peak of that curve (max - min over bins holding at least
  :data:`MIN_BIN_PIXELS` pixels), px; 0 = no bias.
* ``frac_hist``: fraction of the valid estimates whose fractional part ``d - floor(d)``
  falls in each of :data:`HIST_BINS` equal bins (1/16 px wide, the resolution of OpenCV's
  fixed point, so its output is not aliased). Locking shows as peaks at 0 and 1.

All disparities in the pixels of the evaluated maps (for MiddEval3 "Q" scenes that is
quarter-resolution px: 0.01 px there is 0.04 px at full resolution).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

CURVE_BINS = 10
HIST_BINS = 16
MIN_BIN_PIXELS = 50


def locking_stats(disp, gt, region=None) -> dict:
    """Pixel-locking statistics of a disparity map against ground truth (see module doc).

    Args:
        disp: (H, W) predicted disparity, px, NaN/inf = invalid.
        gt: (H, W) ground truth, px, NaN/inf = unknown.
        region: optional (H, W) bool selection (e.g. non-occluded pixels).

    Returns:
        dict: ``ptp`` (px, NaN when fewer than two bins are populated), ``curve`` (list
        of CURVE_BINS mean signed errors, px, NaN for a bin with too few pixels),
        ``bin_fraction`` (mean true fraction of each bin's pixels), ``counts`` (pixels
        per bin), ``frac_hist`` (HIST_BINS fractions summing to 1, all 0 when no
        valid estimate), ``n_pixels`` (pixels used for the curve).
    """
    d = np.asarray(disp, np.float64)
    g = np.asarray(gt, np.float64)
    use = np.isfinite(d) & np.isfinite(g)
    if region is not None:
        use &= np.asarray(region, bool)
    err = np.where(use, d - g, np.inf)
    use &= np.abs(err) < 1.0
    e = err[use]
    frac = g[use] - np.floor(g[use])
    idx = np.minimum((frac * CURVE_BINS).astype(np.int64), CURVE_BINS - 1)
    counts = np.bincount(idx, minlength=CURVE_BINS)
    sums = np.bincount(idx, weights=e, minlength=CURVE_BINS)
    fsums = np.bincount(idx, weights=frac, minlength=CURVE_BINS)
    curve = [float(s / c) if c >= MIN_BIN_PIXELS else float("nan") for s, c in zip(sums, counts)]
    # where the bin's pixels really lie (older scenes have ground truth on a 1/4 px grid)
    centres = [float(f / c) if c >= MIN_BIN_PIXELS else float("nan") for f, c in zip(fsums, counts)]
    good = [v for v in curve if math.isfinite(v)]
    ptp = float(max(good) - min(good)) if len(good) >= 2 else float("nan")
    est = d[np.isfinite(d)]
    efrac = est - np.floor(est)
    hidx = np.minimum((efrac * HIST_BINS).astype(np.int64), HIST_BINS - 1)
    hist = np.bincount(hidx, minlength=HIST_BINS).astype(np.float64)
    hist = hist / hist.sum() if hist.sum() else hist
    return {"ptp": ptp, "curve": curve, "bin_fraction": centres, "counts": [int(c) for c in counts],
            "frac_hist": [float(v) for v in hist], "n_pixels": int(e.size)}


# ---- picture ----------------------------------------------------------------------------

_COLOURS = [(40, 40, 220), (40, 160, 40), (220, 120, 30), (160, 40, 160), (30, 160, 200),
            (90, 90, 90), (0, 200, 255)]
_PANEL_W, _PANEL_H, _MARGIN = 360, 220, 44


def _axes(img, x0, y0, title, ylabels):
    cv2.rectangle(img, (x0, y0), (x0 + _PANEL_W, y0 + _PANEL_H), (0, 0, 0), 1)
    cv2.putText(img, title, (x0, y0 - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for frac, text in ylabels:
        y = int(y0 + _PANEL_H * frac)
        cv2.line(img, (x0, y), (x0 + _PANEL_W, y), (210, 210, 210), 1)
        cv2.putText(img, text, (x0 - 36, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
    for i in range(6):
        x = int(x0 + _PANEL_W * i / 5)
        cv2.putText(img, f"{i / 5:.1f}", (x - 8, y0 + _PANEL_H + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                    (0, 0, 0), 1, cv2.LINE_AA)


def locking_png(stats_by_method: dict, title: str = "") -> np.ndarray:
    """uint8 BGR picture: mean signed error vs true fraction (left), estimated-fraction histogram (right).

    ``stats_by_method``: ``{method: locking_stats(...)}``. Left panel: y from -0.25 to
    +0.25 px (clipped), one polyline per method; right panel: share of estimates per
    1/16-px fraction bin, y from 0 to twice the uniform share (clipped).
    """
    n = len(stats_by_method)
    width = 2 * _PANEL_W + 3 * _MARGIN + 20
    height = _PANEL_H + 2 * _MARGIN + 30 + 18 * n
    img = np.full((height, width, 3), 255, np.uint8)
    top = _MARGIN + 10
    left0, left1 = _MARGIN + 10, 2 * _MARGIN + _PANEL_W + 20
    cv2.putText(img, title, (left0, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    span = 0.25
    _axes(img, left0, top, "mean signed error (px) vs fraction of true disparity",
          [(0.0, "+0.25"), (0.5, "0"), (1.0, "-0.25")])
    uniform = 1.0 / HIST_BINS
    _axes(img, left1, top, "share of estimates vs fraction of estimate",
          [(0.0, "2/16"), (0.5, "1/16"), (1.0, "0")])
    for i, (name, st) in enumerate(stats_by_method.items()):
        col = _COLOURS[i % len(_COLOURS)]
        pts = []
        for b, v in enumerate(st["curve"]):
            if not math.isfinite(v):
                continue
            x = left0 + _PANEL_W * st["bin_fraction"][b]
            y = top + _PANEL_H * (0.5 - max(-span, min(span, v)) / (2 * span))
            pts.append((int(round(x)), int(round(y))))
        if len(pts) > 1:
            cv2.polylines(img, [np.array(pts, np.int32)], False, col, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, p, 3, col, -1, cv2.LINE_AA)
        hist = st["frac_hist"]
        hp = []
        for b, v in enumerate(hist):
            xa = left1 + _PANEL_W * b / HIST_BINS
            xb = left1 + _PANEL_W * (b + 1) / HIST_BINS
            y = top + _PANEL_H * (1.0 - min(v / (2 * uniform), 1.0))
            hp += [(int(round(xa)), int(round(y))), (int(round(xb)), int(round(y)))]
        if hp:
            cv2.polylines(img, [np.array(hp, np.int32)], False, col, 2, cv2.LINE_AA)
        ptp = st["ptp"]
        label = f"{name}: peak-to-peak {ptp:.3f} px" if math.isfinite(ptp) else f"{name}: too few pixels"
        cv2.putText(img, label, (left0, top + _PANEL_H + 36 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    col, 1, cv2.LINE_AA)
    return img


def locking_markdown(rows: list) -> str:
    """Markdown table: locking peak-to-peak (px) per scene (rows) and method (columns), plus the mean."""
    methods = list(dict.fromkeys(r["method"] for r in rows if "locking" in r))
    scenes = list(dict.fromkeys(r["scene"] for r in rows if "locking" in r))
    if not methods:
        return ""
    val = {(r["scene"], r["method"]): r["locking"]["ptp"] for r in rows if "locking" in r}

    def fmt(v):
        return f"{v:.3f}" if v is not None and math.isfinite(v) else "-"

    lines = ["## Pixel locking (peak-to-peak of the mean signed error vs true fraction, px; 0 = none)", "",
             "| scene | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    for s in scenes:
        lines.append(f"| {s} | " + " | ".join(fmt(val.get((s, m))) for m in methods) + " |")
    means = []
    for m in methods:
        vals = [val[(s, m)] for s in scenes if (s, m) in val and math.isfinite(val[(s, m)])]
        means.append(sum(vals) / len(vals) if vals else None)
    lines.append("| **mean** | " + " | ".join(fmt(v) for v in means) + " |")
    lines += ["", "Pictures `<scene>_locking.png`: the curve and the histogram of estimated fractions.", ""]
    return "\n".join(lines)


__all__ = ["CURVE_BINS", "HIST_BINS", "MIN_BIN_PIXELS", "locking_stats", "locking_png", "locking_markdown"]
