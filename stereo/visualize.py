"""Pictures of disparity, depth, confidence and errors (uint8 BGR, ready for cv2.imwrite).

Colour maps run from cold/dark (far: small disparity, large depth) to warm/bright (near).
Invalid pixels get a colour the map never uses, so they cannot be mistaken for values:
white (:data:`INVALID_BGR`) on colour maps (TURBO's far end is almost black, so black
would be ambiguous) and magenta (:data:`INVALID_GREY_BGR`) on grey maps.

``colorize_*`` return the bare picture (same size as the map); ``render_*`` add a colour
bar with tick values and units to the right (pixels for disparity, metres for depth),
with the range stated: a fixed one, or robust percentiles of the valid values.
:func:`montage` tiles several captioned pictures into one image.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import InputError, ParameterError
from .validation import check_map

# Colour of pixels with ground truth but no prediction in error_map (BGR: blue).
MISSING_PREDICTION_BGR = (255, 0, 0)
# Invalid pixels: white on colour maps (not in TURBO), magenta on grey maps.
INVALID_BGR = (255, 255, 255)
INVALID_GREY_BGR = (255, 0, 255)
DEPTH_PERCENTILES = (2.0, 98.0)


def _invalid_colour(colormap):
    return INVALID_GREY_BGR if colormap is None else INVALID_BGR


def _lut(colormap) -> np.ndarray:
    idx = np.arange(256, dtype=np.uint8)[None, :]
    if colormap is None:
        return cv2.cvtColor(idx, cv2.COLOR_GRAY2BGR)[0]
    return cv2.applyColorMap(idx, colormap)[0]


def _colorize(values: np.ndarray, valid: np.ndarray, lo: float, hi: float, colormap,
              reverse: bool = False) -> np.ndarray:
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    idx = np.zeros(values.shape, dtype=np.uint8)
    v = values[valid].astype(np.float64)
    t = np.clip(np.round((v - lo) * scale) if scale else 255.0, 0, 255)
    idx[valid] = (255 - t if reverse else t).astype(np.uint8)
    if colormap is None:
        out = cv2.cvtColor(idx, cv2.COLOR_GRAY2BGR)
    else:
        out = cv2.applyColorMap(idx, colormap)
    out[~valid] = _invalid_colour(colormap)
    return out


def _range(values: np.ndarray, valid: np.ndarray, vmin, vmax, percentile) -> tuple[float, float]:
    if vmin is not None and vmax is not None:
        lo, hi = float(vmin), float(vmax)
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
            raise ParameterError(f"need finite vmin < vmax, got vmin={vmin}, vmax={vmax}")
        return lo, hi
    p_lo, p_hi = (float(p) for p in percentile)
    if not (0.0 <= p_lo < p_hi <= 100.0):
        raise ParameterError(f"percentile must satisfy 0 <= low < high <= 100, got {percentile}")
    if valid.any():
        lo, hi = (float(x) for x in np.percentile(values[valid], [p_lo, p_hi]))
    else:
        lo, hi = 0.0, 1.0
    lo = float(vmin) if vmin is not None else lo
    hi = float(vmax) if vmax is not None else hi
    return lo, hi


def disparity_range(disp, *, vmin=None, vmax=None, percentile=(1, 99)) -> tuple[float, float]:
    """The colour range (px) :func:`colorize_disparity` uses for these arguments."""
    d = check_map(disp, "disparity")
    return _range(d, np.isfinite(d), vmin, vmax, percentile)


def colorize_disparity(disp, *, vmin=None, vmax=None, percentile=(1, 99),
                       colormap=cv2.COLORMAP_TURBO) -> np.ndarray:
    """(H, W, 3) uint8 BGR picture of a disparity map; near (large d) warm, invalid white.

    The colour range is ``[vmin, vmax]`` when both are given (fixed, for comparing
    several maps), else the ``percentile`` range of the valid values. ``colormap=None``
    gives grey (invalid magenta).
    """
    d = check_map(disp, "disparity")
    valid = np.isfinite(d)
    lo, hi = _range(d, valid, vmin, vmax, percentile)
    return _colorize(d, valid, lo, hi, colormap)


def _depth_valid(z):
    return np.isfinite(z) & (z > 0)


def depth_range(depth, *, near=None, far=None, percentile=DEPTH_PERCENTILES) -> tuple[float, float]:
    """``(near, far)`` in metres that :func:`colorize_depth` maps: given, or robust percentiles."""
    z = check_map(depth, "depth")
    if (near is not None and not near > 0) or (far is not None and not far > 0):
        raise ParameterError(f"near/far depths must be > 0 m, got {near}, {far}")
    return _range(z, _depth_valid(z), near, far, percentile)


def colorize_depth(depth, *, near=None, far=None, percentile=DEPTH_PERCENTILES,
                   colormap=cv2.COLORMAP_TURBO) -> np.ndarray:
    """Picture of a metric depth map (metres), linear in depth: near warm, far cold.

    The colour range is ``[near, far]`` metres when given, else the ``percentile``
    range of the valid depths (robust to a few wild pixels); depths outside are drawn
    at the ends. Invalid (NaN, <= 0 or infinite) pixels are white (magenta on grey).
    """
    z = check_map(depth, "depth")
    valid = _depth_valid(z)
    lo, hi = depth_range(z, near=near, far=far, percentile=percentile)
    return _colorize(z, valid, lo, hi, colormap, reverse=True)


def colorize_confidence(conf, *, colormap=None) -> np.ndarray:
    """Picture of a confidence map in [0, 1] (grey by default: 1 = white); NaN magenta."""
    c = check_map(conf, "confidence")
    valid = np.isfinite(c)
    return _colorize(np.clip(c, 0.0, 1.0), valid, 0.0, 1.0, colormap)


def error_map(disp, gt, mask=None, *, max_error: float = 4.0, filled=None) -> np.ndarray:
    """Picture of |disp - gt|: green (0) -> yellow -> red (>= ``max_error`` px).

    Black where there is no ground truth (non-finite ``gt``, or ``mask`` False/0);
    blue (:data:`MISSING_PREDICTION_BGR`) where the ground truth is known but the
    prediction is invalid (NaN). ``filled`` (bool map) marks pixels whose value was
    filled in by a scoring rule (not output by the matcher): they show their error
    colour hatched with blue (every other pixel of a checkerboard), so a map of the
    *scored* disparity still shows which pixels the matcher left out.
    """
    d = check_map(disp, "disparity")
    g = check_map(gt, "ground truth")
    if d.shape != g.shape:
        raise InputError(f"disparity {d.shape} and ground truth {g.shape} differ in shape")
    if not (np.isfinite(max_error) and max_error > 0):
        raise ParameterError(f"max_error must be > 0 px, got {max_error}")
    known = np.isfinite(g)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != g.shape:
            raise InputError(f"mask {m.shape} and ground truth {g.shape} differ in shape")
        known &= m.astype(bool)
    predicted = known & np.isfinite(d)
    t = np.zeros(d.shape, dtype=np.float32)
    t[predicted] = np.minimum(np.abs(d[predicted] - g[predicted]) / np.float32(max_error), 1.0)
    out = np.zeros(d.shape + (3,), dtype=np.uint8)
    red = np.clip(510.0 * t, 0, 255)
    green = np.clip(510.0 * (1.0 - t), 0, 255)
    out[..., 1] = np.where(predicted, np.round(green), 0).astype(np.uint8)
    out[..., 2] = np.where(predicted, np.round(red), 0).astype(np.uint8)  # same ramp as error_lut()
    out[known & ~predicted] = MISSING_PREDICTION_BGR
    if filled is not None:
        f = np.asarray(filled)
        if f.shape != g.shape:
            raise InputError(f"filled {f.shape} and ground truth {g.shape} differ in shape")
        yy, xx = np.indices(g.shape)
        out[f.astype(bool) & known & ((yy + xx) % 2 == 0)] = MISSING_PREDICTION_BGR
    return out


# ---- colour bars and montages ---------------------------------------------------------------

def _font_scale(height: int) -> float:
    return float(np.clip(height / 700.0, 0.35, 0.8))


def _tick_text(v: float, span: float) -> str:
    if span >= 20:
        return f"{v:.0f}"
    if span >= 2:
        return f"{v:.1f}"
    return f"{v:.2f}"


def error_lut() -> np.ndarray:
    """(256, 3) BGR colours of :func:`error_map`: green (0) -> yellow -> red (max error)."""
    t = np.arange(256) / 255.0
    lut = np.zeros((256, 3), np.uint8)
    lut[:, 1] = np.round(np.clip(510.0 * (1.0 - t), 0, 255))
    lut[:, 2] = np.round(np.clip(510.0 * t, 0, 255))
    return lut


def add_colorbar(img, lo: float, hi: float, label: str, *, colormap=cv2.COLORMAP_TURBO,
                 reverse: bool = False, ticks: int = 5, invalid_color=None, lut=None,
                 invalid_label: str = "invalid", swatches=()) -> np.ndarray:
    """``img`` with a vertical colour bar on its right: values ``lo`` (bottom) to ``hi`` (top).

    ``label`` (e.g. "disparity [px]") is written above the bar and tick values beside it;
    ``reverse`` when the picture maps ``lo`` to the warm end (depth: near = warm);
    ``invalid_color`` adds a swatch saying which colour marks invalid pixels
    (``invalid_label``); ``swatches`` more ``(label, colour)`` pairs; ``lut`` a (256, 3)
    colour table instead of ``colormap``.
    """
    img = np.asarray(img)
    h, w = img.shape[:2]
    fs = _font_scale(max(h, 240))
    th = max(1, int(round(fs * 2)))
    (tw, tht), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, fs, th)
    span = hi - lo
    labels = [_tick_text(lo + span * i / (ticks - 1), abs(span)) for i in range(ticks)]
    lw = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, fs, th)[0][0] for t in labels)
    bar_w = max(12, int(round(18 * fs / 0.5)))
    pad = 8
    keys = list(swatches) + ([(invalid_label, invalid_color)] if invalid_color is not None else [])
    lw = max([lw] + [bar_w // 2 + cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, fs, th)[0][0] for t, _ in keys])
    panel_w = max(tw + 2 * pad, bar_w + lw + 3 * pad)
    top = 2 * tht + 2 * pad  # room for the label and half a tick label above the bar
    # a picture too short for a legible bar (a thumbnail, a test image) gets white rows
    # below it rather than a bar squeezed to nothing
    h = max(h, top + 48 + len(keys) * (tht + 2 * pad) + pad)
    panel = np.full((h, panel_w, 3), 255, np.uint8)
    bottom = h - pad - len(keys) * (tht + 2 * pad)
    bar_h = max(2, bottom - top)
    lut = _lut(colormap) if lut is None else np.asarray(lut, np.uint8)
    pos = np.linspace(1.0, 0.0, bar_h)  # top of the bar = hi
    idx = np.round((1.0 - pos if reverse else pos) * 255).astype(int)
    panel[top:top + bar_h, pad:pad + bar_w] = lut[idx][:, None, :]
    cv2.rectangle(panel, (pad - 1, top - 1), (pad + bar_w, top + bar_h), (0, 0, 0), 1)  # frame outside the bar
    cv2.putText(panel, label, (pad, tht + pad), cv2.FONT_HERSHEY_SIMPLEX, fs, (0, 0, 0), th, cv2.LINE_AA)
    for i, text in enumerate(labels):
        y = int(round(top + bar_h - 1 - (bar_h - 1) * i / (ticks - 1)))
        cv2.line(panel, (pad + bar_w, y), (pad + bar_w + 4, y), (0, 0, 0), 1)
        cv2.putText(panel, text, (pad + bar_w + 6, min(h - 2, max(tht, y + tht // 2))),
                    cv2.FONT_HERSHEY_SIMPLEX, fs, (0, 0, 0), th, cv2.LINE_AA)
    for i, (text, colour) in enumerate(reversed(keys)):
        y0 = h - pad - tht - 4 - i * (tht + 2 * pad)
        cv2.rectangle(panel, (pad, y0), (pad + bar_w - 1, y0 + tht + 2), tuple(int(c) for c in colour), -1)
        cv2.rectangle(panel, (pad, y0), (pad + bar_w - 1, y0 + tht + 2), (0, 0, 0), 1)
        cv2.putText(panel, text, (pad + bar_w + 6, y0 + tht), cv2.FONT_HERSHEY_SIMPLEX, fs,
                    (0, 0, 0), th, cv2.LINE_AA)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[0] < h:
        img = np.concatenate([img, np.full((h - img.shape[0],) + img.shape[1:], 255, np.uint8)], axis=0)
    return np.concatenate([img, panel], axis=1)


def render_disparity(disp, *, vmin=None, vmax=None, percentile=(1, 99), colormap=cv2.COLORMAP_TURBO,
                     label: str = "disparity [px]") -> np.ndarray:
    """:func:`colorize_disparity` with a colour bar in pixels (and the invalid colour)."""
    lo, hi = disparity_range(disp, vmin=vmin, vmax=vmax, percentile=percentile)
    img = colorize_disparity(disp, vmin=lo, vmax=hi if hi > lo else lo + 1, colormap=colormap)
    return add_colorbar(img, lo, hi if hi > lo else lo + 1, label, colormap=colormap,
                        invalid_color=_invalid_colour(colormap))


def render_depth(depth, *, near=None, far=None, percentile=DEPTH_PERCENTILES,
                 colormap=cv2.COLORMAP_TURBO) -> np.ndarray:
    """:func:`colorize_depth` with a colour bar in metres; the label states the range rule."""
    lo, hi = depth_range(depth, near=near, far=far, percentile=percentile)
    if not hi > lo:
        hi = lo * 1.01 + 1e-3
    how = "fixed" if (near is not None and far is not None) else f"p{percentile[0]:g}-p{percentile[1]:g}"
    img = colorize_depth(depth, near=lo, far=hi, colormap=colormap)
    return add_colorbar(img, lo, hi, f"depth [m] ({how})", colormap=colormap, reverse=True,
                        invalid_color=_invalid_colour(colormap))


def render_error_map(disp, gt, mask=None, *, max_error: float = 4.0, filled=None,
                     unit: str = "px") -> np.ndarray:
    """:func:`error_map` with its legend: error bar 0..``max_error`` and the special colours."""
    img = error_map(disp, gt, mask, max_error=max_error, filled=filled)
    keys = [("no output", MISSING_PREDICTION_BGR)]
    if filled is not None:
        keys = [("filled (hatched)", MISSING_PREDICTION_BGR)]
    keys.append(("no GT", (0, 0, 0)))
    return add_colorbar(img, 0.0, float(max_error), f"|d - gt| [{unit}]", lut=error_lut(), swatches=keys)


def render_confidence(conf) -> np.ndarray:
    """:func:`colorize_confidence` with a 0..1 grey bar."""
    return add_colorbar(colorize_confidence(conf), 0.0, 1.0, "confidence", colormap=None,
                        invalid_color=INVALID_GREY_BGR)


def montage(tiles, *, columns: int = 2, caption_height: int | None = None) -> np.ndarray:
    """Tile ``[(caption, image), ...]`` (BGR or grey uint8) into one picture, captions on top.

    Tiles are scaled to the height of the first one and padded to a common width.
    """
    if not tiles:
        raise InputError("montage needs at least one tile")
    h0 = tiles[0][1].shape[0]
    fs = _font_scale(max(h0, 240))
    ch = caption_height or int(round(40 * fs / 0.5))
    cells = []
    for caption, img in tiles:
        img = np.asarray(img)
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        if img.dtype != np.uint8:
            raise InputError(f"montage tile {caption!r} must be uint8, got {img.dtype}")
        if img.shape[0] != h0:
            img = cv2.resize(img, (int(round(img.shape[1] * h0 / img.shape[0])), h0), interpolation=cv2.INTER_AREA)
        cap = np.full((ch, img.shape[1], 3), 255, np.uint8)
        cv2.putText(cap, caption, (6, int(ch * 0.7)), cv2.FONT_HERSHEY_SIMPLEX, fs, (0, 0, 0),
                    max(1, int(round(fs * 2))), cv2.LINE_AA)
        cells.append(np.concatenate([cap, img], axis=0))
    width = max(c.shape[1] for c in cells)
    cells = [np.pad(c, ((0, 0), (0, width - c.shape[1]), (0, 0)), constant_values=255) for c in cells]
    rows = []
    for i in range(0, len(cells), columns):
        row = cells[i:i + columns]
        row += [np.full_like(cells[0], 255)] * (columns - len(row))
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


__all__ = ["colorize_disparity", "colorize_depth", "colorize_confidence", "error_map", "disparity_range",
           "depth_range", "add_colorbar", "error_lut", "render_disparity", "render_depth", "render_confidence",
           "render_error_map",
           "montage", "MISSING_PREDICTION_BGR", "INVALID_BGR", "INVALID_GREY_BGR"]
