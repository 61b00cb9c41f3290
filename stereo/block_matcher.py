"""Local block matching (BM): SAD over a square window on prefiltered images.

Pipeline per pair (left image is the reference, ``d = x_left - x_right``):

1. Grey conversion (:func:`stereo.validation.pair_to_gray`) and prefilter
   (:mod:`stereo.kernels.prefilter`, default: x-Sobel clipped to ``prefilter_cap``).
2. SAD over ``block_size`` x ``block_size`` windows with running box sums
   (:mod:`stereo.kernels.block_cost`), fused with the shared selection rules of
   :mod:`stereo.kernels.select` (winner-takes-all, range-edge and border rejection,
   uniqueness, equiangular sub-pixel, left-right check from the same costs); no cost
   volume is stored.
3. Low-texture rejection (:mod:`stereo.postprocess.texture`; with the default prefilter
   the clipped gradient is read back from the prefiltered image) and speckle removal
   (:mod:`stereo.postprocess.speckle`).
4. :meth:`BlockMatcher.match` adds a confidence map; :meth:`BlockMatcher.compute` skips it.

Speed: about OpenCV StereoBM's on MiddEval3 quarter-size scenes (``scripts/bench_bm.py``).

Differences from ``cv2.StereoBM`` worth knowing: any ``num_disparities >= 1`` (no multiple
of 16), negative ``min_disparity`` allowed, a best match on the edge of the range is
invalid (never clipped), windows at the image border use edge replication instead of
leaving a blank margin, the output is float pixels with NaN for invalid, and
``texture_threshold`` is a mean per pixel (see :func:`stereo.postprocess.texture.low_texture_mask`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import flags
from .concurrency import parallel_section
from .kernels.block_cost import MAX_DISPARITIES, bm_select, cost_dtype
from .kernels.prefilter import PREFILTERS, max_pixel_cost, prefilter, xsobel_magnitude
from .postprocess.confidence import confidence_map
from .postprocess.select import check_selection_params
from .postprocess.speckle import remove_speckles
from .postprocess.invalidate import mark_invalid
from .postprocess.texture import low_texture_from_magnitude
from .result import MatchResult
from .validation import check_choice, check_float, check_int, pair_to_gray

MAX_BLOCK_SIZE = 255
MAX_ABS_MIN_DISPARITY = 100000


@dataclass(frozen=True)
class BlockMatcher:
    """Block matcher configured once, then ``compute(left, right)`` on many pairs.

    Args:
        min_disparity: smallest disparity searched, pixels (may be negative; |.| <= 100000).
        num_disparities: number of disparities searched (any integer in 3..65535); valid output
            lies in ``[min_disparity, min_disparity + num_disparities - 1]``. Since a
            minimum on the range edge is rejected, give the range a pixel of margin.
        block_size: odd window side, 3..255 pixels.
        prefilter: "xsobel" (default, OpenCV's), "normalized" (intensity minus local
            mean) or "none" (raw intensity; only for well exposure-matched pairs).
        prefilter_cap: clip of the prefiltered response, 1..127 (8-bit intensity scale).
        texture_threshold: windows whose mean clipped |x-gradient| is below this are
            LOW_TEXTURE (0 disables). Per pixel, unlike OpenCV's window sum.
        uniqueness_ratio: percent margin the winner must have over every non-adjacent
            disparity (0..99, 0 disables; OpenCV's meaning).
        lr_max_diff: left-right consistency tolerance in pixels (negative disables).
        subpixel: True (equiangular fit, suited to SAD's V-shaped minima), False, or a
            mode name: "equiangular", "parabola", "none".
        speckle_window_size: regions of at most this many pixels whose disparities
            differ by at most ``speckle_range`` pixels between neighbours are removed
            (0 disables).
        speckle_range: pixels.
    """

    min_disparity: int = 0
    num_disparities: int = 64
    block_size: int = 9
    prefilter: str = "xsobel"
    prefilter_cap: int = 31
    texture_threshold: float = 3
    uniqueness_ratio: int = 15
    lr_max_diff: float = 1.0
    subpixel: bool | str = True
    speckle_window_size: int = 100
    speckle_range: float = 2

    def __post_init__(self):
        # Same bounds as SGBM: a range edge is always invalid, so fewer than 3 disparities
        # can never give a valid pixel, and |min_disparity| beyond any image width is a typo.
        check_int(self.min_disparity, "min_disparity", minimum=-MAX_ABS_MIN_DISPARITY,
                  maximum=MAX_ABS_MIN_DISPARITY)
        check_int(self.num_disparities, "num_disparities", minimum=3, maximum=MAX_DISPARITIES)
        check_int(self.block_size, "block_size", minimum=3, maximum=MAX_BLOCK_SIZE, odd=True)
        check_choice(self.prefilter, "prefilter", PREFILTERS)
        check_int(self.prefilter_cap, "prefilter_cap", minimum=1, maximum=127)
        check_float(self.texture_threshold, "texture_threshold", minimum=0.0)
        check_selection_params(self.uniqueness_ratio, self._subpixel_mode, self.lr_max_diff)
        check_int(self.speckle_window_size, "speckle_window_size", minimum=0)
        check_float(self.speckle_range, "speckle_range", minimum=0.0)

    @property
    def _subpixel_mode(self):
        if self.subpixel is True:
            return "equiangular"
        if self.subpixel is False:
            return "none"
        return self.subpixel

    @property
    def max_disparity(self) -> int:
        """Largest disparity searched (inclusive)."""
        return self.min_disparity + self.num_disparities - 1

    def compute(self, left, right) -> np.ndarray:
        """float32 (H, W) disparity of the left image, pixels, NaN where invalid.

        Same disparities as :meth:`match`, without building the confidence map.
        """
        return self._run(left, right)[0]

    def match(self, left, right) -> MatchResult:
        """Disparity, invalid-reason mask (:mod:`stereo.flags`) and confidence.

        ``left``/``right``: rectified images of the same size and dtype, grey or BGR(A),
        uint8/uint16/float (see :func:`stereo.validation.check_pair`). Not modified.
        """
        disp, mask, best, second, lrd, sentinel = self._run(left, right)
        conf = confidence_map(disp, best, second, lrd, max(self.lr_max_diff, 0.0), sentinel=sentinel)
        return MatchResult(disparity=disp, mask=mask, min_disparity=self.min_disparity,
                           num_disparities=self.num_disparities, confidence=conf)

    def memory_bytes(self, height: int, width: int) -> int:
        """Estimated peak memory of one run on a ``width`` x ``height`` pair, bytes."""
        from .kernels.block_cost import _bands

        r = self.block_size // 2
        lo, hi = self.min_disparity, self.max_disparity
        ext = max(0, hi) + max(0, -lo)
        item = np.dtype(cost_dtype(max_pixel_cost(self.prefilter, self.prefilter_cap), self.block_size)).itemsize
        nb = _bands(height)
        padded = (height + 2 * r) * (2 * width + 4 * r + ext)
        bands = nb * self.num_disparities * (2 * width + self.block_size + ext) * item
        # grey + prefiltered pairs, disparity/mask/costs/lr/confidence and post-processing
        per_pixel = 64 * height * width
        return int(padded + bands + per_pixel)

    def _run(self, left, right):
        from .limits import check_memory

        arr = left if hasattr(left, "shape") else np.asarray(left)
        if getattr(arr, "ndim", 0) >= 2:
            h, w = arr.shape[:2]
            check_memory(self.memory_bytes(h, w), f"block matching {w}x{h} px with disparities "
                         f"[{self.min_disparity}, {self.max_disparity}]",
                         "narrow the disparity range (--min-disparity/--num-disparities) or "
                         "downscale the images")
        gl, gr = pair_to_gray(left, right)
        with parallel_section():
            return self._run_gray(gl, gr)

    def _run_gray(self, gl, gr):
        cap = self.prefilter_cap
        pl = prefilter(gl, self.prefilter, cap)
        pr = prefilter(gr, self.prefilter, cap)
        dtype = cost_dtype(max_pixel_cost(self.prefilter, cap), self.block_size)
        ratio, sub, lr = check_selection_params(self.uniqueness_ratio, self._subpixel_mode,
                                                self.lr_max_diff)
        disp, mask, best, second, lrd = bm_select(pl, pr, self.min_disparity, self.num_disparities,
                                                  self.block_size, dtype, ratio, sub, lr)
        if self.texture_threshold > 0:
            # |xsobel prefilter - cap| is exactly the clipped gradient the texture test sums
            mag = (cv2.absdiff(pl, cap) if self.prefilter == "xsobel"
                   else xsobel_magnitude(gl, cap))
            low = low_texture_from_magnitude(mag, self.block_size, self.texture_threshold)
            mark_invalid(disp, mask, low, flags.LOW_TEXTURE)
        if self.speckle_window_size > 0:
            remove_speckles(disp, mask, self.speckle_window_size, self.speckle_range)
        return disp, mask, best, second, lrd, int(min(np.iinfo(dtype).max, 2**31 - 1))


__all__ = ["BlockMatcher"]
