"""Say why a result is (almost) empty and what to change, and refuse runs that cannot work.

* :func:`check_calibration_size`: a calibration made for another image size gives wrong
  depth (and a raw rig cannot rectify): refused before any matching.
* :func:`check_matcher_memory`: the memory a matcher run needs, refused early above
  ``STEREO_MAX_MEMORY_MB`` (:mod:`stereo.limits`) with the figure and what to change.
* :func:`low_density_advice`: when fewer than :data:`LOW_DENSITY` of the pixels are valid,
  the top invalid reasons and, for range-edge rejections, which edge and the option to use.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

LOW_DENSITY = 0.05
"""Below this fraction of valid pixels a result is reported as degenerate."""


def check_calibration_size(width: int, height: int, calibration) -> None:
    """Refuse a pair whose size differs from the one the calibration states (when it does)."""
    if calibration is None:
        return
    size = getattr(calibration, "image_size", None)
    if not size or len(size) != 2:
        return
    cw, ch = (int(v) for v in size)
    if cw <= 0 or ch <= 0 or (cw, ch) == (width, height):
        return
    ratio = width / cw
    hint = (f"; the images look {ratio:g}x the calibrated size: resize them, or scale a rectified "
            f"calibration with calib.scaled({ratio:g})" if abs(height / ch - ratio) < 1e-3 else "")
    raise InputError(f"the images are {width}x{height} but the calibration is for {cw}x{ch} images "
                     f"(width x height){hint}")


def matcher_memory_bytes(matcher, height: int, width: int) -> int:
    """Estimated peak memory of one ``matcher.match`` on a ``width`` x ``height`` pair, bytes."""
    own = getattr(matcher, "memory_bytes", None)
    if callable(own):
        return int(own(height, width))
    # A matcher without its own figure (ours all have one): a generous SGM-like guess, cost
    # + path-sum volumes bounded by max_volume_mb, plus about 96 bytes per pixel of maps.
    nd = int(getattr(matcher, "num_disparities", 64))
    nd16 = -(-nd // 16) * 16
    volume = min(3 * 2 * height * width * nd16, int(getattr(matcher, "max_volume_mb", 768)) * (1 << 20)
                 + 3 * 2 * width * nd16 * 2 * int(getattr(matcher, "stripe_overlap", 48)))
    return int(volume + 96 * height * width)


def check_matcher_memory(matcher, height: int, width: int) -> None:
    """ParameterError when a run would need more than ``STEREO_MAX_MEMORY_MB``."""
    from .limits import check_memory

    lo = getattr(matcher, "min_disparity", 0)
    n = getattr(matcher, "num_disparities", 0)
    check_memory(matcher_memory_bytes(matcher, height, width),
                 f"matching {width}x{height} px with disparities [{lo}, {lo + n - 1}]",
                 "narrow the disparity range (--min-disparity/--num-disparities) or downscale the images")


def _edge_side(left_gray, right_gray, lo: int, hi: int) -> str | None:
    """'low' or 'high' when the images match best at/beyond that end of [lo, hi], else None."""
    h, w = left_gray.shape
    step = max(1, h // 64)
    a = left_gray[::step].astype(np.float32)
    b = right_gray[::step].astype(np.float32)

    def cost(d):
        if abs(d) >= w - 1:
            return np.inf
        if d >= 0:
            return float(np.mean(np.abs(a[:, d:] - b[:, :w - d])))
        return float(np.mean(np.abs(a[:, :w + d] - b[:, -d:])))

    c_lo, c_lo1, c_hi, c_hi1 = cost(lo), cost(lo + 1), cost(hi), cost(hi - 1)
    if c_lo <= c_lo1 and c_lo <= c_hi:
        return "low"
    if c_hi <= c_hi1:
        return "high"
    return None


_ADVICE = {
    "border": "the search range leaves no room inside the image: narrow it or use wider images",
    "lr_mismatch": "left and right disagree: are the images swapped, or not rectified?",
    "not_unique": "ambiguous matches (repetitive or flat texture): lower the uniqueness ratio",
    "low_texture": "too little texture: lower the texture threshold or use --method sgbm",
    "speckle": "only small isolated regions: check the rectification and the range",
    "outside_valid_region": "the rectified valid region is small: check the calibration",
}


def low_density_advice(match, left_gray=None, right_gray=None) -> list[str]:
    """Lines explaining a result with fewer than 5 % valid pixels (empty list otherwise)."""
    density = match.density
    if density >= LOW_DENSITY:
        return []
    lo = int(match.min_disparity)
    hi = lo + int(match.num_disparities) - 1
    counts = {k: v for k, v in match.reasons().items() if v and k != "filled"}
    total = max(1, match.disparity.size)
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    lines = [f"only {100 * density:.1f}% of the pixels are valid; main reasons: "
             + (", ".join(f"{k} {100 * v / total:.0f}%" for k, v in top) or "none recorded")]
    for name, count in top:
        if count < 0.1 * total:
            continue  # a minor reason: not what made the result empty
        if name == "out_of_range":
            side = None
            if left_gray is not None and right_gray is not None:
                side = _edge_side(left_gray, right_gray, lo, hi)
            margin = max(2, int(match.num_disparities) // 4)
            if side == "low":
                lines.append(f"the best matches lie at or below the lower edge {lo} of the range "
                             f"[{lo}, {hi}] (edge matches are invalid): use --min-disparity {lo - margin}")
            elif side == "high":
                lines.append(f"the best matches lie at or beyond the upper edge {hi} of the range "
                             f"[{lo}, {hi}]: use --num-disparities {int(match.num_disparities) + 2 * margin}")
            else:
                lines.append(f"the best matches lie on an edge of the range [{lo}, {hi}] (edge matches "
                             f"are invalid): widen it with --min-disparity/--num-disparities")
        elif name in _ADVICE:
            lines.append(_ADVICE[name])
    return lines


__all__ = ["check_calibration_size", "check_matcher_memory", "matcher_memory_bytes",
           "low_density_advice", "LOW_DENSITY"]
