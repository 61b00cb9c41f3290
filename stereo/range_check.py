"""Is the scene nearer than the search range? A coarse probe beyond the near edge.

A matcher only searches ``[min_disparity, min_disparity + num_disparities - 1]``. A surface
nearer than the near edge (disparity above the range) has no true match inside it; on
repetitive texture (a chessboard, a fence, tiles) a wrong match one texture period away
then often wins with a plausible disparity, and the surface comes out too far.

The probe matches the pair again at a quarter of the resolution with a range that reaches
four times the largest searched disparity (about 1/16 of the full match's work: 1/16 of
the pixels, as many disparities). Pixels whose probe disparity lies clearly above the
range are *beyond the near edge*:

* their full-resolution disparities are made invalid (flag ``OUT_OF_RANGE``) when
  ``invalidate`` is set: whatever the matcher found for them is an alias;
* when they cover at least ``warn_fraction`` of the matched area, a message names the
  nearest depth seen and the range that would cover it.

Units: disparities in full-resolution pixels; depths in metres (with a calibration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from . import flags

#: the probe matches at 1/SCALE of the resolution ...
SCALE = 4
#: ... up to REACH times the range's largest disparity (REACH / SCALE of the match's disparities)
REACH = 4
#: probe disparities more than this above the range's top (full-res px) count as beyond it
MARGIN_PX = 1.5 * SCALE
#: default share of the matched area beyond the near edge that triggers a message
WARN_FRACTION = 0.01


@dataclass(frozen=True)
class RangeCheck:
    """What the probe found (disparities in full-resolution pixels, depths in metres).

    ``fraction``: share of the probe's valid pixels that lie beyond the near edge;
    ``beyond``: bool (H, W) mask of those pixels; ``nearest_disparity``: 95th percentile
    of their disparities (None when none); ``nearest_m``: its depth (None without a
    calibration); ``message``: a warning for people, or None.
    """

    fraction: float
    beyond: np.ndarray
    nearest_disparity: float | None
    nearest_m: float | None
    message: str | None


def _probe_matcher(min_disparity: int, num_disparities: int):
    from .sgbm import SGBM
    top = min_disparity + num_disparities - 1
    lo = math.floor(min_disparity / SCALE) - 1
    hi = math.ceil(REACH * max(top, 1) / SCALE) + 1
    # 4 paths and no median: the probe only needs a coarse, cheap answer
    return SGBM(min_disparity=lo, num_disparities=max(3, hi - lo + 1), paths=4, median=False)


def probe_beyond_near_edge(left, right, min_disparity: int, num_disparities: int, *,
                           calibration=None, valid_region=None, warn_fraction: float = WARN_FRACTION,
                           matcher=None) -> RangeCheck:
    """Find the pixels nearer than the search range (see module doc).

    Args:
        left, right: the rectified pair as matched (grey or colour).
        min_disparity, num_disparities: the full-resolution search range.
        calibration: rectified ``StereoCalibration`` for depths in metres (optional).
        valid_region: bool (H, W) rectification mask; pixels outside are ignored.
        matcher: a probe matcher built by an earlier call (to reuse); None builds one.
    """
    h, w = left.shape[:2]
    if w < 16 * SCALE or h < 8 * SCALE:  # too small for a coarse look: nothing to say
        return RangeCheck(0.0, np.zeros((h, w), bool), None, None, None)
    matcher = matcher or _probe_matcher(min_disparity, num_disparities)
    sw, sh = max(3, w // SCALE), max(2, h // SCALE)
    small = [cv2.resize(np.ascontiguousarray(im), (sw, sh), interpolation=cv2.INTER_AREA)
             for im in (left, right)]
    # everything below runs at the probe's resolution; only the final mask is upsampled
    d = matcher.compute(*small) * np.float32(w / sw)
    top = min_disparity + num_disparities - 1
    valid = np.isfinite(d)
    if valid_region is not None:
        valid &= cv2.resize(valid_region.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST) > 0
    with np.errstate(invalid="ignore"):
        beyond_small = valid & (d > top + MARGIN_PX)
    n_valid = int(np.count_nonzero(valid))
    n_beyond = int(np.count_nonzero(beyond_small))
    fraction = n_beyond / n_valid if n_valid else 0.0
    nearest_d = float(np.percentile(d[beyond_small], 95)) if n_beyond else None
    beyond = (cv2.resize(beyond_small.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
              if n_beyond else np.zeros((h, w), bool))
    nearest_m = None
    if nearest_d is not None and calibration is not None:
        denom = nearest_d + calibration.doffs
        nearest_m = calibration.focal_px * calibration.baseline_m / denom if denom > 0 else None
    message = None
    if n_beyond and fraction >= warn_fraction:
        need = int(math.ceil(nearest_d)) + 2 - min_disparity
        if nearest_m is not None:
            edge_m = calibration.focal_px * calibration.baseline_m / (top + calibration.doffs)
            message = (f"{100 * fraction:.1f}% of the matched pixels are nearer than the search range "
                       f"covers ({edge_m:.3g} m, disparity {top} px), down to about {nearest_m:.3g} m: "
                       f"set --near {0.9 * nearest_m:.2g}m (or num_disparities >= {need}); "
                       f"those pixels are marked invalid (out_of_range)")
        else:
            message = (f"{100 * fraction:.1f}% of the matched pixels have disparities above the "
                       f"search range (top {top} px), up to about {nearest_d:.0f} px: raise "
                       f"num_disparities to at least {need}; those pixels are marked invalid "
                       f"(out_of_range)")
    return RangeCheck(fraction=fraction, beyond=beyond, nearest_disparity=nearest_d,
                      nearest_m=nearest_m, message=message)


def invalidate_beyond(result, check: RangeCheck) -> int:
    """Mark the pixels of ``result`` (a MatchResult) beyond the near edge invalid; returns how many."""
    hit = check.beyond & np.isfinite(result.disparity)
    if not result.disparity.flags.writeable:
        result.disparity = result.disparity.copy()
    result.disparity[check.beyond] = np.nan
    result.mask[check.beyond] |= flags.OUT_OF_RANGE
    if result.confidence is not None:
        result.confidence[check.beyond] = 0.0
    return int(np.count_nonzero(hit))


__all__ = ["RangeCheck", "probe_beyond_near_edge", "invalidate_beyond", "WARN_FRACTION", "MARGIN_PX", "SCALE", "REACH"]
