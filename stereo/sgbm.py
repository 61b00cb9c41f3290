"""Semi-global block matching (SGBM): census cost, SGM path aggregation, shared selection.

Pipeline of :meth:`SGBM.match`:

1. Grey conversion (colour input is converted to grey with OpenCV's BGR weights; census,
   SAD and Birchfield-Tomasi all run on intensity).
2. Matching cost per pixel and disparity, uint8:
   ``"census"`` (default): Hamming distance between census codes of a ``census_window``
   (width x height, default 9x7 = 62 bits), optionally plus ``grad_weight/16`` times the
   absolute difference of horizontal Sobel gradients (capped at 64 grey levels);
   ``"sad"``: window-mean absolute difference; ``"bt"``: window-mean Birchfield-Tomasi
   dissimilarity (``block_size`` window for both).
3. SGM aggregation over ``paths`` directions (4, 5, 8 or 16) with penalties ``p1`` (one
   disparity step) and ``p2`` (larger jumps). ``p2_adapt`` (grey levels) lowers P2
   across intensity edges: ``P2(p) = max(P1 + 1, P2 / (1 + |I(p) - I(p - r)| / p2_adapt))``,
   so depth discontinuities, which mostly coincide with image edges, are cheaper.
   Narrow integers throughout: uint8 costs, int16 path buffers (16-bit SIMD lanes), uint16 sum.
   4, 5 and 8 paths run as two concurrent image sweeps with the census cost computed row
   by row (:mod:`stereo.kernels.sgm_sweep`, memory-traffic analysis there); 16 paths use
   the per-direction kernels of :mod:`stereo.kernels.sgm`. Both give the same sums.
4. Selection (:mod:`stereo.kernels.select`): winner-takes-all, OpenCV-style
   uniqueness, sub-pixel fit, left-right check from the same aggregated volume,
   out-of-range winners invalid.
5. Speckle filter, 3x3 median over valid pixels, sub-pixel plane-fit refinement
   (:mod:`stereo.postprocess.refine`), confidence, optional dense output (``fill``,
   ``fill_mode``: surface fill, then a guided median over the fills and at depth edges).

Memory: the cost (1 byte) and sum (2 bytes) volumes take ``3 * H * W * Dp`` bytes, where
``Dp`` is D rounded up to a multiple of 16 (whole vector iterations in the path loops; the
padding cells are neutral). When that
exceeds ``max_volume_mb`` the image is processed in horizontal stripes, each extended by
``stripe_overlap`` rows above and below that are aggregated but discarded. Trade-off:
vertical and diagonal paths then start at most ``stripe_overlap`` rows away instead of at
the image border, which loses a little regularisation in weakly textured areas
(horizontal paths, the strongest, are unaffected). Peak memory is then roughly
``3 * (core + 2 * overlap) * W * Dp`` bytes plus a few (H, W) maps (census codes and
gradients are made per stripe; the confidence's cost maps only for :meth:`match`).
Measured, 2872x1984 with D = 288 and coarse-to-fine off (9 stripes): 1.06 GiB peak RSS
(was 1.23 GiB before codes went per stripe), of which about 210 MiB is the Python, Numba
and OpenCV runtime; with coarse-to-fine (the "auto" default at that size) 469-500 MiB.

Coarse-to-fine (``coarse_to_fine``, tSGM-like). The pair is matched at 1/4 size with the
range scaled (same settings, no sub-pixel refinement). Census cost with 4, 5 or 8 paths:
every pixel then gets its own interval (:mod:`stereo.kernels.sgm_interval`, ragged volumes:
memory and work grow with the sum of the interval widths): the extreme valid coarse
disparities of its 5x5 coarse neighbourhood (15x15 where that is mostly invalid), scaled,
widened by 3 coarse px (12 px) each side, the start rounded down to 8 px and the width up to
a multiple of 16, at most one disparity beyond ``x`` (a match left of the right image is
never selectable); the full range where the neighbourhood is mostly invalid. Paths that
enter a different interval pay P2 from the predecessor's minimum. Stripes are cut so that
each fits ``min(max_volume_mb, C2F_PIXEL_MB)`` MiB counting volumes, per-pixel maps and row buffers.
Other costs and 16 paths use bands of 64 rows instead (each band the interval of its coarse
rows, bands grouped into stripes by an exact minimum of aggregated cells). Either way a
winner on a narrowed interval edge is ``OUT_OF_RANGE`` (invalid, never clipped) and nothing
outside ``[min_disparity, min_disparity + num_disparities)`` is reported.
Measured (scene upscaled x4 with its ground truth, bad8.0 nonocc in upscaled px = bad2.0
quarter-res px; per-pixel / bands / off): Teddy D=256 3.08 / 3.43 / 3.60 %; Adirondack
D=292 4.13 / 5.69 / 6.43 %; Pipes D=300 7.40 / 7.93 / 7.82 %; PianoL D=260 21.06 / 22.77 % / -.
Adirondack x4 with D=288 (2872x1984): 1.70 s CPU, 1.10 s wall (medians of 8 child runs)
and 490 MiB peak RSS (OpenCV 3WAY 1.60 s CPU, 0.85 s wall, 204 MiB; with bands: about
1.5x the per-pixel time under an earlier kernel, 501 MiB);
Pipes and PianoL x4 peak at 496 and 500 MiB. "auto" turns it on from 256 M cells
only: forced on for the 10 quarter-res scenes it is worse (7.92 % vs 7.57 % mean bad2.0,
Pipes 10.2 % vs 7.2 %: a 1/4-size level of a quarter-res image loses thin structures), and
at 640x480 it is slower, at 1242x375 D=192 about 8 % faster but its 1/4 level is as
small as the quarter-res scenes' one (README).

Defaults were chosen on the 10 MiddEval3 quarter-resolution training scenes
(scripts/bench_sgbm.py, dense bad2.0 on non-occluded pixels): census 9x7 + gradient term
(grad_weight 4), 8 paths, P1/P2 = 10/120 with p2_adapt 16, uniqueness 5, equiangular
sub-pixel, LR tolerance 1 px, speckle 50 px / 2 px, 3x3 median: 7.84 % mean vs 15.64 % for
OpenCV StereoSGBM (MODE_SGBM) and 14.22 % for MODE_HH. Each of adaptive P2 (-1.1 points),
the gradient term (-0.4), uniqueness 5 instead of 10 (-0.3) and speckle 50 instead of 100
(-0.05) helped; 16 paths gave no gain for twice the aggregation time. The plane-fit
refinement (issue 9) then took bad0.5 from 19.72 to 18.30 % and the pixel-locking
peak-to-peak from 0.073 to 0.040 px (bad2 7.63 -> 7.57 %) at no net cost in time (the
vectorised refinement takes ~3 ms per 718x496 frame, a faster median in the same change
gives as much back).

Presets (:meth:`SGBM.preset`, :data:`PRESETS`): ``"default"`` is the above;
``"realtime"`` is 4 paths, census 7x5, no median (8.16 % vs 7.84 % with raw ndisp, for
about 1.3-1.5x the frame rate; README speed table).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numba
import numpy as np

from .concurrency import parallel_section
from .errors import InputError, ParameterError
from .kernels.census import census_cost_volume, census_transform_pair
from .kernels.pixel_costs import window_cost_volume
from .kernels.sgm import PATH_COUNTS, aggregate_select, p2_table, padded_count
from .kernels import sgm_interval
from .kernels.sgm_interval import ALIGN as _ALIGN, interval_select_census
from .kernels.sgm_sweep import SWEEP_PATHS, release_workspaces, sweep_select_census, sweep_select_volume
from .postprocess.confidence import confidence_map
from .postprocess.fill import fill_background, fill_surface
from .postprocess.guided_median import guided_median, jump_band
from .postprocess.median import median3x3_valid
from .postprocess.refine import refine_planes, sample_offsets
from .postprocess.speckle import remove_speckles
from .postprocess.symmetric import symmetric_subpixel
from .postprocess.select import check_selection_params
from .result import MatchResult
from .validation import check_choice, check_float, check_int, pair_to_gray

COSTS = ("census", "sad", "bt")
FILL_MODES = ("surface", "background")
# holes whose two ends differ by at most this many px lie inside one surface (the speckle
# filter's default step inside one region)
_SAME_SURFACE_PX = 2.0
# guided median over the filled pixels: radius, step (px; 3 x 3 samples over 9 x 9 px),
# intensity scale (grey levels; a usual bilateral-weight scale for 8-bit images)
_FILL_MEDIAN = {"radius": 4, "step": 4, "scale": 10.0}
# the same at disparity jumps over estimates (13 samples: a checkerboard over 9 x 9 px; 5 %
# of the pixels), replacing a value only when the median is more than 1 px away
_EDGE_MEDIAN = {"radius": 4, "step": 2, "scale": 10.0, "min_change": 1.0, "checker": True}
_MAX_COST = {"census": 63, "sad": 255, "bt": 255}
# Penalty defaults per cost, in that cost's units (census: bits, sad/bt: grey levels).
_DEFAULT_P = {"census": (10, 120), "sad": (12, 140), "bt": (12, 140)}
_GRAD_CAP = 64
_MAP_BYTES = 64
# bytes per pixel of the full-image maps one match holds at its peak besides the volumes
# (measured 40-44 with confidence, fill=True adds ~1): see SGBM.memory_bytes


C2F_FACTOR = 4
"""Coarse-to-fine: the coarse level is matched at 1/C2F_FACTOR of the size (and range)."""
C2F_BAND = 64
"""Coarse-to-fine: rows per band that gets its own disparity interval (full resolution)."""
C2F_ROW_MARGIN = 2
"""Coarse rows above and below a band that also bound its interval."""
C2F_MARGIN = 12
"""Pixels added on both sides of a band's coarse interval (3 coarse pixels at 1/4)."""
C2F_VOLUME_MB = 224
"""Coarse-to-fine stripes are planned within ``min(max_volume_mb, C2F_VOLUME_MB)`` MiB of
volumes: with narrowed intervals, cutting stripes costs little (the grouping weighs overlap
against interval width), and it keeps a full-resolution pair (2872x1984, D = 288) under
512 MiB peak RSS (measured 500 MiB, about 210 MiB of which is the Python/Numba runtime)."""
_C2F_KEEP_BYTES = 256 << 20
# below this full-range volume size the kernels' cached volumes are kept after the coarse
# level (releasing them made the next frame fault in fresh pages: +90 ms at 640x480)
_C2F_PIXEL_BYTES = 16 + 4 + 12 + 17
# per pixel of a per-pixel-interval stripe besides its cells: census codes, gradients,
# lo/cnt/offsets, selection outputs
C2F_PIXEL_MB = 192
"""Per-pixel intervals: memory of one stripe (ragged volumes, per-pixel maps, row buffers),
MiB, capped by ``max_volume_mb``. With the runtime (about 210 MiB) and the full-image
outputs this keeps a full-resolution pair (2872x1984, D = 288) under 512 MiB peak RSS
(measured 466-500 MiB on 4 scenes)."""
C2F_AUTO_CELLS = 256_000_000
"""``coarse_to_fine="auto"`` is on from this many cells (W x H x num_disparities) on."""
C2F_PIXEL_FACTOR = 4
"""Per-pixel intervals: the coarse level is matched at 1/C2F_PIXEL_FACTOR of the size."""
C2F_WINDOW = 5
"""Per-pixel intervals: side of the coarse neighbourhood (coarse px) whose valid disparities
bound a pixel's interval."""
C2F_WIDE_WINDOW = 3
"""Per-pixel intervals: where the :data:`C2F_WINDOW` neighbourhood is mostly invalid, one this
many times wider bounds the interval (the full range where that is mostly invalid too)."""
C2F_MIN_VALID = 0.5
"""Per-pixel intervals: below this fraction of valid coarse pixels in the neighbourhood, the
pixel searches the full range."""
C2F_PIXEL_MARGIN = 3
"""Per-pixel intervals: coarse pixels added on both sides of the neighbourhood's interval
(x the factor in full-resolution px)."""
C2F_LO_STEP = 8
"""Per-pixel interval starts are multiples of this (px, from min_disparity): neighbours then
share their interval more often, and a shared interval needs no shifted predecessor copy."""


PRESETS = {
    "default": {},
    "realtime": {"paths": 4, "census_window": (7, 5), "median": False},
}
"""Named parameter sets for :meth:`SGBM.preset` (measured figures: README, speed table).

``"default"``: the most accurate settings (the dataclass defaults). ``"realtime"``: 4 paths
(horizontal and vertical, both senses), census 7x5, no median: about 0.3 points more dense
bad2.0 nonocc on the 10 MiddEval3-Q scenes (8.16 % vs 7.84 %, quarter-res px, raw ndisp)
for about 1.3-1.5x the frame rate (README speed table).
"""


@dataclass(frozen=True)
class SGBM:
    """Semi-global matcher; configure once, then call :meth:`compute` / :meth:`match` on pairs.

    Disparity ``d = x_left - x_right`` in pixels; valid results lie in
    ``[min_disparity, min_disparity + num_disparities - 1]``; everything else is NaN.

    Parameters (validated on construction; :class:`ParameterError` names the bad one):
        min_disparity: smallest disparity searched, pixels (may be negative).
        num_disparities: number of disparities searched (>= 3; any value, no multiple of 16).
        cost: "census" (default), "sad" or "bt" (Birchfield-Tomasi).
        census_window: (width, height) of the census window, odd, at most 65 pixels
            (9x7 max with 9 wide). Default (9, 7).
        block_size: odd window side for "sad"/"bt", pixels (default 5).
        grad_weight: census only; weight of the gradient term in 1/16 per grey level
            (0 = off; None = 4 for census: a quarter of a bit per grey level, capped at
            64 levels).
        paths: 4, 5, 8 (default) or 16 aggregation directions.
        p1, p2: SGM penalties in cost units (None = default for the cost: census 10/120,
            sad/bt 12/140). Need ``0 <= p1 <= p2`` and ``paths * (max cost + p2) < 65535``.
        p2_adapt: grey-level step along a path that halves P2 (0 = constant P2; default 16).
        uniqueness_ratio: percent (OpenCV meaning): invalid when a non-adjacent disparity
            costs less than ``best * 100 / (100 - ratio)``; 0 disables. Default 5.
        subpixel: "equiangular" (default, suits census), "parabola" or "none".
        lr_max_diff: left-right tolerance, pixels; negative disables the check.
        speckle_size: regions of at most this many pixels are invalidated (0 disables;
            default 50).
        speckle_range: max disparity step inside one speckle region, pixels.
        median: apply the 3x3 median over valid pixels.
        refine_offsets, refine_tau: sub-pixel refinement after the median
            (:mod:`stereo.postprocess.refine`): each valid disparity becomes the value of
            a least-squares plane through the samples ``p + (i, j)``, ``i, j`` in
            ``0, +-refine_offsets`` (px), whose disparity is within ``refine_tau`` px of
            it. Defaults ``(4, 12)`` (5 x 5 samples over 25 x 25 px) and 1.0; ``()``
            disables.
        refine_symmetric: before the plane refinement, re-estimate the sub-pixel part of
            the valid disparities by the half-pixel-shift symmetric estimate of
            :mod:`stereo.postprocess.symmetric` (less pixel locking) where the surface is
            close to fronto-parallel over its 5 x 5 window. Default False: it costs about
            20 % more time.
        fill: dense output: fill invalid pixels (they keep their invalid reason and gain
            ``FILLED``; :meth:`compute` then returns no NaN, so only :meth:`match`'s mask
            tells estimates from fills).
        fill_mode: ``"surface"`` (default): holes whose ends along a row or column lie
            within 2 px are interpolated, the others take the background of the shorter
            run (:func:`stereo.postprocess.fill.fill_surface`); then an intensity-guided
            weighted median (:mod:`stereo.postprocess.guided_median`) over the filled
            pixels (3 x 3 samples, 4 px apart) and over the estimates next to a
            disparity jump > 2 px (13 samples: a 5 x 5 checkerboard 2 px apart; an estimate moves only when
            the median is more than 1 px away: edge fattening); ``"background"``: the
            Middlebury SDK rule (smaller scanline neighbour), nothing else.
        threads: Numba threads for this matcher (None = Numba's current setting). The
            output does not depend on it.
        max_volume_mb: memory budget for the cost + sum volumes, MiB; larger images are
            processed in stripes (see module docstring).
        stripe_overlap: rows added above and below each stripe.
        coarse_to_fine: True, False or "auto" (default: on when W * H * num_disparities
            >= :data:`C2F_AUTO_CELLS`). Match at 1/4 size first, then search each pixel
            (census, 4/5/8 paths; other settings: each band of :data:`C2F_BAND` rows) only
            inside the interval its coarse neighbourhood gives (see module docstring).
            Nothing outside ``[min_disparity, min_disparity + num_disparities)`` is ever
            reported; a winner on a narrowed edge is invalid (``OUT_OF_RANGE``).
    """

    min_disparity: int = 0
    num_disparities: int = 64
    cost: str = "census"
    census_window: tuple = (9, 7)
    block_size: int = 5
    grad_weight: int | None = None
    paths: int = 8
    p1: int | None = None
    p2: int | None = None
    p2_adapt: float = 16.0
    uniqueness_ratio: int = 5
    subpixel: str = "equiangular"
    lr_max_diff: float = 1.0
    speckle_size: int = 50
    speckle_range: float = 2.0
    median: bool = True
    refine_offsets: tuple = (4, 12)
    refine_tau: float = 1.0
    refine_symmetric: bool = False
    fill: bool = False
    fill_mode: str = "surface"
    threads: int | None = None
    max_volume_mb: int = 768
    stripe_overlap: int = 48
    coarse_to_fine: bool | str = "auto"

    def __post_init__(self):
        check_int(self.min_disparity, "min_disparity", minimum=-100000, maximum=100000)
        check_int(self.num_disparities, "num_disparities", minimum=3, maximum=4096)
        check_choice(self.cost, "cost", COSTS)
        win = self.census_window
        if (not isinstance(win, (tuple, list)) or len(win) != 2):
            raise ParameterError(f"census_window must be a (width, height) pair, got {win!r}")
        cw = check_int(win[0], "census_window width", minimum=3, odd=True)
        ch = check_int(win[1], "census_window height", minimum=3, odd=True)
        if cw * ch - 1 > 64:
            raise ParameterError(f"census_window {cw}x{ch} needs {cw * ch - 1} bits; at most 64 "
                                 "fit in a census code (9x7 is the largest standard window)")
        object.__setattr__(self, "census_window", (cw, ch))
        check_int(self.block_size, "block_size", minimum=1, maximum=31, odd=True)
        if self.grad_weight is None:
            object.__setattr__(self, "grad_weight", 4 if self.cost == "census" else 0)
        check_int(self.grad_weight, "grad_weight", minimum=0, maximum=64)
        if self.grad_weight and self.cost != "census":
            raise ParameterError("grad_weight applies to cost='census' only")
        if self.paths not in PATH_COUNTS or isinstance(self.paths, bool):
            raise ParameterError(f"paths must be one of {', '.join(map(str, PATH_COUNTS))}; got {self.paths!r}")
        p1d, p2d = _DEFAULT_P[self.cost]
        p1 = p1d if self.p1 is None else check_int(self.p1, "p1", minimum=0)
        p2 = p2d if self.p2 is None else check_int(self.p2, "p2", minimum=0)
        if p2 < p1:
            raise ParameterError(f"p2 ({p2}) must be >= p1 ({p1})")
        cmax = self._max_cost()
        if self.paths * (cmax + p2) >= 65535 or p2 + 255 >= 16383:
            raise ParameterError(f"p2 = {p2} is too large for {self.paths} paths: need "
                                 f"paths * ({cmax} + p2) < 65535 so sums fit in 16 bits")
        object.__setattr__(self, "p1", p1)
        object.__setattr__(self, "p2", p2)
        check_float(self.p2_adapt, "p2_adapt", minimum=0.0)
        check_selection_params(self.uniqueness_ratio, self.subpixel, self.lr_max_diff)
        check_int(self.speckle_size, "speckle_size", minimum=0)
        check_float(self.speckle_range, "speckle_range", minimum=0.0)
        try:
            offs = sample_offsets(self.refine_offsets)
        except ParameterError as exc:
            raise ParameterError(f"refine_offsets: {exc}") from None
        object.__setattr__(self, "refine_offsets", tuple(int(o) for o in offs[offs > 0]))
        check_float(self.refine_tau, "refine_tau", minimum=0.0)
        check_choice(self.fill_mode, "fill_mode", FILL_MODES)
        for name in ("median", "fill", "refine_symmetric"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ParameterError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.threads is not None:
            check_int(self.threads, "threads", minimum=1, maximum=numba.config.NUMBA_NUM_THREADS)
        check_int(self.max_volume_mb, "max_volume_mb", minimum=16)
        check_int(self.stripe_overlap, "stripe_overlap", minimum=0)
        if not (self.coarse_to_fine == "auto" or isinstance(self.coarse_to_fine, (bool, np.bool_))):
            raise ParameterError(f"coarse_to_fine must be True, False or 'auto', got {self.coarse_to_fine!r}")

    @classmethod
    def preset(cls, name: str, **params) -> "SGBM":
        """Matcher with the named preset's parameters (:data:`PRESETS`); ``params`` override them.

        ``SGBM.preset("realtime", num_disparities=64)``.
        """
        if name not in PRESETS:
            raise ParameterError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **params})

    def _max_cost(self) -> int:
        if self.cost == "census":
            cw, ch = self.census_window
            return min(255, cw * ch - 1 + ((self.grad_weight * _GRAD_CAP) >> 4))
        return _MAX_COST[self.cost]

    def memory_bytes(self, height: int, width: int) -> int:
        """Estimated peak memory of one ``match`` on a ``width`` x ``height`` pair, bytes.

        Follows the plan the match would use: one stripe holding the whole cost + sum
        volumes (3 bytes per cell) when they fit ``max_volume_mb``, else stripes of that
        size; with coarse-to-fine, the per-stripe budget (``C2F_PIXEL_MB`` or
        ``C2F_VOLUME_MB``) or the coarse level, whichever is larger. Plus
        :data:`_MAP_BYTES` per pixel for the full-image maps (grey images, census codes,
        gradients, disparity, mask, costs, confidence, post-processing). An upper bound by
        design: measured peaks (growth of the resident set during the match) are 0.7-0.95x
        of it, e.g. 96 of 103 MiB at 718x496 D=80, 645 of 673 MiB at 1436x992 D=144, 384 of
        540 MiB at 2872x1984 D=288 (coarse-to-fine). The Python/Numba runtime (about 210
        MiB) is not included.
        """
        h, w = int(height), int(width)
        maps = _MAP_BYTES * h * w
        if self._use_c2f(h, w):
            census = self.cost == "census" and self.paths in SWEEP_PATHS
            fine = min(self.max_volume_mb, C2F_PIXEL_MB if census else C2F_VOLUME_MB) << 20
            f = C2F_PIXEL_FACTOR if census else C2F_FACTOR
            coarse = 3 * -(-h // f) * -(-w // f) * padded_count(max(1, -(-self.num_disparities // f)))
            return int(max(fine, coarse) + maps)
        rows = max(e1 - e0 for _, _, e0, e1 in self._stripes(h, w))
        return int(3 * rows * w * padded_count(self.num_disparities) + maps)

    # ------------------------------------------------------------------ public API
    def compute(self, left, right) -> np.ndarray:
        """Disparity map of the pair: float32 (H, W), pixels, NaN where invalid."""
        return self._run(left, right, False).disparity

    def match(self, left, right, confidence: bool = True) -> MatchResult:
        """Match a rectified pair (left = reference) and say why pixels are invalid.

        ``left``/``right``: (H, W) grey or (H, W, 3|4) BGR(A) colour, uint8/uint16/float,
        same size and type. Returns a :class:`MatchResult` with disparity (float32, NaN
        invalid unless ``fill``), mask (uint8 :mod:`stereo.flags`) and confidence
        (``None`` when ``confidence`` is False: it skips the costs behind it, about as
        fast as :meth:`compute`).
        """
        return self._run(left, right, bool(confidence))

    # ------------------------------------------------------------------ internals
    def _run(self, left, right, want_confidence: bool) -> MatchResult:
        gl, gr = pair_to_gray(left, right)
        if gl.shape[1] < 3:
            raise InputError(f"images are too narrow ({gl.shape[1]} pixels) to match")
        with parallel_section(self.threads):
            return self._match_gray(gl, gr, want_confidence)

    def _match_gray(self, gl: np.ndarray, gr: np.ndarray, want_confidence: bool = True) -> MatchResult:
        h, w = gl.shape
        nd = self.num_disparities
        guide_l, guide_r = _to_uint8_pair(gl, gr)
        lut = p2_table(self.p1, self.p2, self.p2_adapt)
        ratio, sub, lr = check_selection_params(self.uniqueness_ratio, self.subpixel, self.lr_max_diff)
        plan = self._plan(gl, gr, guide_l, guide_r)
        if len(plan) == 1 and plan[0][:4] == (0, h, 0, h):
            # one stripe, the whole image: the kernel's (fresh) output arrays are the result
            # (copying them cost ~0.5 ms per 640x480 frame)
            y0, y1, e0, e1, lo, n, recompute = plan[0]
            sel = self._aggregate_select(gl, gr, guide_l, guide_r, lut, e0, e1, lo, n, ratio, sub, lr,
                                         recompute, (0, h))
            disp, mask = sel.disparity, sel.mask
            best, second, lrd = sel.best_cost, sel.second_cost, sel.lr_distance
            plan = []
            del sel
        else:
            disp = np.empty((h, w), np.float32)
            mask = np.empty((h, w), np.uint8)
        # the costs behind the confidence only when it is wanted (compute() skips them:
        # 9 bytes per pixel, 50 MiB at full resolution)
        if want_confidence and plan:
            best = np.empty((h, w), np.int32)
            second = np.empty((h, w), np.int32)
            lrd = np.empty((h, w), np.float32)
        for y0, y1, e0, e1, lo, n, recompute in plan:
            if len(plan) > 1:
                # the kernels keep their volumes for the next call (speed for video);
                # between stripes that would hold two stripes' volumes at once
                release_workspaces()
            sel = self._aggregate_select(gl, gr, guide_l, guide_r, lut, e0, e1, lo, n, ratio, sub, lr,
                                         recompute, (y0 - e0, y1 - e0))
            a, b = y0 - e0, y1 - e0
            disp[y0:y1] = sel.disparity[a:b]
            mask[y0:y1] = sel.mask[a:b]
            if want_confidence:
                best[y0:y1] = sel.best_cost[a:b]
                second[y0:y1] = sel.second_cost[a:b]
                lrd[y0:y1] = sel.lr_distance[a:b]
            del sel
        if len(plan) > 1:
            release_workspaces()
        if self.speckle_size > 0:
            remove_speckles(disp, mask, self.speckle_size, self.speckle_range)
        if self.median:
            disp = median3x3_valid(disp)
        if self.refine_symmetric:
            disp = symmetric_subpixel(disp, guide_l, guide_r)
        if self.refine_offsets:
            disp = refine_planes(disp, self.refine_offsets, self.refine_tau)
            # the promise of the docstring: valid values lie inside the searched range
            np.clip(disp, self.min_disparity, self.min_disparity + nd - 1, out=disp)
        # compute() returns the disparity only: skip the confidence there
        conf = (confidence_map(disp, best, second, lrd, self.lr_max_diff, sentinel=65535)
                if want_confidence else None)
        if self.fill:
            disp = self._fill(disp, mask, guide_l)
        return MatchResult(disparity=disp, mask=mask, min_disparity=self.min_disparity,
                           num_disparities=nd, confidence=conf)

    def _fill(self, disp, mask, guide):
        """Dense map; ``mask`` (uint8 flags) gains FILLED in place on filled pixels.

        ``guide``: the uint8 left image (intensity weights of the guided median)."""
        if self.fill_mode == "background":
            out, new_mask = fill_background(disp, mask)
        else:
            out, new_mask = fill_surface(disp, mask, _SAME_SURFACE_PX)
            # the fill knows only the ends of each hole: the pixels of a hole that look like
            # a neighbouring surface take its disparity (weighted median, edges kept)
            holes = np.isnan(disp) & ~np.isnan(out)
            out = guided_median(out, holes, guide, **_FILL_MEDIAN)
            # edge fattening (the census window straddles depth edges): next to a disparity
            # jump, estimates that the intensity-weighted neighbourhood puts on the other
            # surface (more than 1 px away: gross errors, not sub-pixel noise) move to it
            band = jump_band(out, _SAME_SURFACE_PX)
            band &= ~holes
            out = guided_median(out, band, guide, **_EDGE_MEDIAN)
            np.clip(out, self.min_disparity, self.min_disparity + self.num_disparities - 1, out=out)
        mask[...] = new_mask
        return out

    def _plan(self, gl, gr, guide_l, guide_r):
        """Stripes ``(y0, y1, e0, e1, lo, n, recompute)``: core rows, extended rows, disparity
        interval ``lo .. lo + n - 1``, and whether census cost rows are recomputed per sweep."""
        h, w = gl.shape
        if self._use_c2f(h, w) and self.cost == "census" and self.paths in SWEEP_PATHS:
            iv = self._pixel_intervals(gl, gr)
            if iv is not None:
                return self._pixel_stripes(h, w, iv)
        if self._use_c2f(h, w):
            bands = self._coarse_intervals(gl, gr)
            if bands is not None:
                return self._c2f_stripes(h, w, bands)
        return [(y0, y1, e0, e1, self.min_disparity, self.num_disparities, False)
                for y0, y1, e0, e1 in self._stripes(h, w)]

    def _use_c2f(self, h: int, w: int) -> bool:
        if self.coarse_to_fine == "auto":
            return h * w * self.num_disparities >= C2F_AUTO_CELLS
        return bool(self.coarse_to_fine)

    def _coarse_intervals(self, gl, gr):
        """Disparity interval per band of :data:`C2F_BAND` rows from a match at 1/:data:`C2F_FACTOR`.

        Returns ``[(y0, y1, lo, hi), ...]`` (full-resolution rows and pixels, ``lo``/``hi``
        inclusive, inside the user's range) or None when the image is too small for a
        coarse level. Per band: the extreme valid coarse disparities of the band's coarse
        rows (plus :data:`C2F_ROW_MARGIN` coarse rows above and below), scaled up and
        widened by ``C2F_MARGIN`` px plus a quarter of the range times the band's fraction
        of invalid coarse pixels; the full range where fewer than half are valid. The
        coarse map is already cleaned (uniqueness, left-right check, speckles, median),
        so the extremes are not single outliers; an outlier only widens the interval.
        """
        f = C2F_FACTOR
        h, w = gl.shape
        hc, wc = -(-h // f), -(-w // f)
        if hc < 16 or wc < 32:
            return None
        small = [cv2.resize(img, (wc, hc), interpolation=cv2.INTER_AREA) for img in (gl, gr)]
        d0, nd = self.min_disparity, self.num_disparities
        clo = d0 // f
        chi = -(-(d0 + nd - 1) // f)
        coarse = replace(self, min_disparity=clo, num_disparities=max(3, chi - clo + 1),
                         coarse_to_fine=False, fill=False, refine_symmetric=False)
        cd = coarse._match_gray(small[0], small[1], want_confidence=False).disparity
        release_workspaces()
        sx = w / wc
        bands = []
        for y0 in range(0, h, C2F_BAND):
            y1 = min(h, y0 + C2F_BAND)
            r0 = max(0, y0 // f - C2F_ROW_MARGIN)
            r1 = min(hc, -(-y1 // f) + C2F_ROW_MARGIN)
            block = cd[r0:r1]
            vals = block[np.isfinite(block)]
            bad = 1.0 - vals.size / block.size
            if bad > 0.5:
                bands.append((y0, y1, d0, d0 + nd - 1))
                continue
            m = C2F_MARGIN + int(np.ceil(bad * nd / 4))
            lo = max(d0, int(np.floor(float(vals.min()) * sx)) - m)
            hi = min(d0 + nd - 1, int(np.ceil(float(vals.max()) * sx)) + m)
            if hi - lo < 2:                      # at least 3 disparities, inside the range
                hi = min(d0 + nd - 1, lo + 2)
                lo = hi - 2
            bands.append((y0, y1, lo, hi))
        return bands

    def _pixel_intervals(self, gl, gr):
        """Per-pixel disparity intervals from a match at 1/:data:`C2F_PIXEL_FACTOR` (tSGM-like).

        Per coarse pixel: the smallest and largest valid coarse disparity in its
        :data:`C2F_WINDOW` x :data:`C2F_WINDOW` neighbourhood, scaled to full resolution,
        widened by :data:`C2F_PIXEL_MARGIN` coarse px on each side, the start rounded down
        to :data:`C2F_LO_STEP`, the width up to a multiple of 16, moved inside the user's
        range; the full range where fewer than :data:`C2F_MIN_VALID` of the neighbourhood
        is valid. The coarse map is cleaned (uniqueness, left-right check, speckles, median),
        so an extreme is not a single outlier. Returns a :class:`_PixelIntervals` (coarse
        arrays, expanded per stripe) or None when the image is too small for a coarse level.
        """
        f = C2F_PIXEL_FACTOR
        h, w = gl.shape
        hc, wc = -(-h // f), -(-w // f)
        if hc < 16 or wc < 32:
            return None
        # the previous frame's ragged volumes (kept for its stripes and for video at small
        # sizes) must not stay allocated beside this frame's coarse level at large sizes
        if 3 * h * w * self.num_disparities > _C2F_KEEP_BYTES:
            sgm_interval.release_workspaces()
        small = [cv2.resize(img, (wc, hc), interpolation=cv2.INTER_AREA) for img in (gl, gr)]
        d0, nd = self.min_disparity, self.num_disparities
        clo = d0 // f
        chi = -(-(d0 + nd - 1) // f)
        # sub-pixel refinement off: only the extremes of a neighbourhood are used, widened
        # by whole coarse pixels
        coarse = replace(self, min_disparity=clo, num_disparities=max(3, chi - clo + 1),
                         coarse_to_fine=False, fill=False, refine_offsets=(), refine_symmetric=False)
        cd = coarse._match_gray(small[0], small[1], want_confidence=False).disparity
        if 3 * h * w * nd > _C2F_KEEP_BYTES:
            # the coarse level's cached volumes would stay allocated beside the fine ones
            release_workspaces()
        valid = np.isfinite(cd)
        big = np.float32(1e9)
        vmin = vmax = ok = None
        # a small neighbourhood first; where it is mostly invalid (occlusions, weak texture)
        # one C2F_WIDE_WINDOW times wider; the full range where that is mostly invalid too
        for side in (C2F_WINDOW, C2F_WINDOW * C2F_WIDE_WINDOW):
            k = np.ones((side, side), np.uint8)
            lo_s = cv2.erode(np.where(valid, cd, big).astype(np.float32), k, borderType=cv2.BORDER_REPLICATE)
            hi_s = cv2.dilate(np.where(valid, cd, -big).astype(np.float32), k, borderType=cv2.BORDER_REPLICATE)
            ok_s = cv2.blur(valid.astype(np.float32), (side, side), borderType=cv2.BORDER_REPLICATE) >= C2F_MIN_VALID
            if vmin is None:
                vmin, vmax, ok = lo_s, hi_s, ok_s
            else:
                vmin = np.where(ok, vmin, lo_s)
                vmax = np.where(ok, vmax, hi_s)
                ok = ok | ok_s
        sx = w / wc
        margin = C2F_PIXEL_MARGIN * sx
        top = d0 + nd
        lo = np.where(ok, np.floor(vmin * sx - margin), d0).astype(np.int64)
        hi = np.where(ok, np.ceil(vmax * sx + margin), top - 1).astype(np.int64)
        # a match x - d left of the right image is never selectable: search at most one
        # disparity beyond the largest x of the coarse column (that cell keeps the BORDER rule)
        xmax = (np.arange(wc) + 1) * w // wc
        hi = np.minimum(hi, xmax[None, :] + 1)
        lo = np.clip(lo, d0, top - 1)
        hi = np.clip(hi, lo, top - 1)
        lo = d0 + (lo - d0) // C2F_LO_STEP * C2F_LO_STEP
        width = -(-(hi - lo + 1) // _ALIGN) * _ALIGN
        # move an interval that sticks out of the top back inside; wider than the range: all
        lo = np.maximum(d0, np.minimum(lo, top - width))
        cnt = np.minimum(width, top - lo)
        return _PixelIntervals(lo.astype(np.int32), cnt.astype(np.int32), h, w)

    def _pixel_stripes(self, h: int, w: int, iv):
        """Stripes ``(y0, y1, e0, e1, iv, None, recompute)`` for per-pixel intervals.

        A stripe's memory is counted whole: ragged volumes (2 bytes per cell for the sums,
        +1 for stored census costs), :data:`_C2F_PIXEL_BYTES` per pixel (census codes,
        gradients, intervals and offsets, selection outputs) and the kernel's row buffers.
        One stripe with stored costs when that fits ``min(max_volume_mb, C2F_PIXEL_MB)``
        MiB, else one with cost rows
        recomputed per sweep, else stripes (recomputed costs) that each fit, extended by
        ``stripe_overlap`` rows.
        """
        # the kernel's row buffers: 2 sweeps x 3 paths x 2 rows x (W + 3) x (A + 2) int16
        amax = int(-(-int(iv.cnt.max()) // _ALIGN) * _ALIGN)
        budget = min(self.max_volume_mb, C2F_PIXEL_MB) * (1 << 20) - 24 * (w + 3) * (amax + 2)
        cells = iv.row_cells()
        per_px = _C2F_PIXEL_BYTES * w
        if int((3 * cells + per_px).sum()) <= budget:
            return [(0, h, 0, h, iv, None, False)]
        rows = 2 * cells + per_px
        if int(rows.sum()) <= budget:
            return [(0, h, 0, h, iv, None, True)]
        ov = self.stripe_overlap
        cum = np.concatenate([[0], np.cumsum(rows)])
        out = []
        y0 = 0
        while y0 < h:
            e0 = max(0, y0 - ov)
            # the largest core whose extended rows fit the budget (at least 16 rows)
            y1 = min(h, y0 + 16)
            while y1 < h and cum[min(h, y1 + 1 + ov)] - cum[e0] <= budget:
                y1 += 1
            out.append((y0, y1, e0, min(h, y1 + ov), iv, None, True))
            y0 = y1
        return out

    def _c2f_stripes(self, h: int, w: int, bands):
        """Group consecutive bands into stripes with the fewest aggregated cells.

        A group gets the union of its bands' intervals and is cut into stripes that fit
        the volume budget, each extended by ``stripe_overlap`` rows (aggregated, then
        discarded): grouping trades wider intervals against fewer overlaps. Exact
        minimum over all groupings (dynamic programming over the bands).
        """
        ov = self.stripe_overlap
        budget = min(self.max_volume_mb, C2F_VOLUME_MB) * (1 << 20)

        def split(g0, g1, lo, hi):
            n = hi - lo + 1
            ndp = padded_count(n)
            core = max(16, budget // (self._cell_bytes() * w * ndp) - 2 * ov)   # a band alone may exceed it
            out, cells = [], 0
            for y0 in range(g0, g1, core):
                y1 = min(g1, y0 + core)
                e0, e1 = max(0, y0 - ov), min(h, y1 + ov)
                # the census kernel recomputes cost rows instead of storing a cost volume
                # when cost + sum would exceed the budget; otherwise storing is faster
                # (13 % at 1242x375 D=192, measured). Same output either way.
                out.append((y0, y1, e0, e1, lo, n, 3 * (e1 - e0) * w * ndp > budget))
                # overlap rows are swept once (the sweeps stop at the core), kept rows twice
                cells += (2 * (y1 - y0) + (y0 - e0) + (e1 - y1)) * ndp
            return out, cells

        nb = len(bands)
        best = [0] + [None] * nb          # best[j]: (cells, stripes) for bands[:j]
        best[0] = (0, [])
        for j in range(1, nb + 1):
            lo, hi = bands[j - 1][2], bands[j - 1][3]
            for i in range(j - 1, -1, -1):
                lo, hi = min(lo, bands[i][2]), max(hi, bands[i][3])
                stripes, cells = split(bands[i][0], bands[j - 1][1], lo, hi)
                total = best[i][0] + cells
                if best[j] is None or total < best[j][0]:
                    best[j] = (total, best[i][1] + stripes)
        return best[nb][1]

    def _aggregate_select(self, gl, gr, guide_l, guide_r, lut, e0, e1, lo, n, ratio, sub, lr,
                          recompute=False, core=None):
        # rows e0:e1, disparities lo .. lo + n - 1: two-sweep kernel (no cost volume for
        # census) for 4/5/8 paths; 16 paths use the path-family kernels of stereo.kernels.sgm.
        # Per-pixel inputs (census codes, gradients) are made for the stripe only.
        guide = np.ascontiguousarray(guide_l[e0:e1])
        if isinstance(lo, _PixelIntervals):
            (cl, cr), (gxl, gxr) = self._census_inputs(gl, gr, guide_l, guide_r, e0, e1)
            los, cnts = lo.rows(e0, e1)
            return interval_select_census(cl, cr, gxl, gxr, self.grad_weight, _GRAD_CAP, self._max_cost(),
                                          guide, self.p1, lut, self.paths, self.min_disparity,
                                          self.num_disparities, los, cnts, ratio, sub, lr,
                                          recompute=recompute, core=core)
        if self.paths in SWEEP_PATHS and self.cost == "census":
            (cl, cr), (gxl, gxr) = self._census_inputs(gl, gr, guide_l, guide_r, e0, e1)
            return sweep_select_census(cl, cr, gxl, gxr, self.grad_weight, _GRAD_CAP, self._max_cost(),
                                       guide, self.p1, lut, self.paths, lo, n, ratio, sub, lr,
                                       recompute=recompute, core=core)
        cost = self._cost_volume(gl, gr, guide_l, guide_r, e0, e1, lo, n)
        if self.paths in SWEEP_PATHS:
            return sweep_select_volume(cost, guide, self.p1, lut, self.paths, lo, ratio, sub, lr,
                                       num_disparities=n, core=core)
        return aggregate_select(cost, guide, self.p1, lut, self.paths, lo, ratio, sub, lr,
                                num_disparities=n)

    def _cell_bytes(self) -> int:
        # volume bytes per cell of a large stripe: uint16 sums (+ uint8 costs unless recomputed)
        return 2 if (self.cost == "census" and self.paths in SWEEP_PATHS) else 3

    def _stripes(self, h: int, w: int):
        """(core start, core end, extended start, extended end) row ranges."""
        # bytes per row: uint8 cost and uint16 sum volumes (also for the two-sweep kernel,
        # which stores each census cost row for the other sweep)
        per_row = 3 * w * padded_count(self.num_disparities)
        budget = self.max_volume_mb * (1 << 20)
        if per_row * h <= budget:
            return [(0, h, 0, h)]
        ov = self.stripe_overlap
        core = max(16, budget // per_row - 2 * ov)
        out = []
        for y0 in range(0, h, core):
            y1 = min(h, y0 + core)
            out.append((y0, y1, max(0, y0 - ov), min(h, y1 + ov)))
        return out

    def _census_inputs(self, gl, gr, guide_l, guide_r, e0: int, e1: int):
        """Census codes (uint64) and Sobel x gradients (int16) of rows e0:e1 of both images.

        Made from the rows plus the window's half height (what the full-image transform
        would see), so a stripe's codes equal the full image's rows exactly.
        """
        cw, ch = self.census_window
        h = gl.shape[0]
        a, b = max(0, e0 - ch // 2), min(h, e1 + ch // 2)
        codes = tuple(np.ascontiguousarray(c[e0 - a:e1 - a])
                      for c in census_transform_pair(gl[a:b], gr[a:b], cw, ch))
        if self.grad_weight:
            # Sobel 3x3 reads one row beyond; the image border is OpenCV's reflect-101
            a, b = max(0, e0 - 1), min(h, e1 + 1)
            grads = tuple(np.ascontiguousarray(cv2.Sobel(g[a:b], cv2.CV_16S, 1, 0, ksize=3)[e0 - a:e1 - a])
                          for g in (guide_l, guide_r))
        else:
            z = np.zeros((1, 1), np.int16)   # not read when grad_weight == 0
            grads = (z, z)
        return codes, grads

    def _cost_volume(self, gl, gr, guide_l, guide_r, e0: int, e1: int, lo: int, n: int) -> np.ndarray:
        invalid = self._max_cost()
        ndp = np.int64(padded_count(n))
        if self.cost == "census":
            (cl, cr), (gxl, gxr) = self._census_inputs(gl, gr, guide_l, guide_r, e0, e1)
            return census_cost_volume(cl, cr, gxl, gxr, np.int64(lo), np.int64(n), ndp,
                                      np.int64(self.grad_weight), np.int64(_GRAD_CAP), np.int64(invalid))
        mode = 0 if self.cost == "sad" else 1
        # the window needs its rows: extend the slice by the half window, then crop
        r = self.block_size // 2
        a, b = max(0, e0 - r), min(guide_l.shape[0], e1 + r)
        vol = window_cost_volume(np.ascontiguousarray(guide_l[a:b]), np.ascontiguousarray(guide_r[a:b]),
                                 np.int64(lo), np.int64(n), ndp, np.int64(self.block_size),
                                 np.int64(self.block_size), np.int64(mode), np.int64(invalid))
        return np.ascontiguousarray(vol[e0 - a:e0 - a + (e1 - e0)])


def _to_uint8_pair(gl: np.ndarray, gr: np.ndarray):
    """8-bit versions of a grey pair for P2 adaptation, the gradient term and SAD/BT.

    uint16 input is shifted right by just enough bits for the brighter image to fit in
    8 bits (same shift for both views, so 12-bit data keeps its full 8-bit range and
    8-bit data scaled by 257 maps back exactly).
    """
    if gl.dtype == np.uint8:
        return gl, gr
    hi = max(int(gl.max()), int(gr.max()))
    shift = max(0, hi.bit_length() - 8)
    return (gl >> shift).astype(np.uint8), (gr >> shift).astype(np.uint8)


class _PixelIntervals:
    """Per-pixel disparity intervals kept at the coarse level and expanded per stripe.

    ``lo``/``cnt`` (Hc, Wc) int32: interval start (px) and real count of each coarse pixel;
    full-resolution pixel (y, x) takes coarse pixel (y * Hc // H, x * Wc // W).
    """

    def __init__(self, lo, cnt, h, w):
        self.lo, self.cnt, self.h, self.w = lo, cnt, h, w
        hc, wc = lo.shape
        self.ys = (np.arange(h) * hc // h).astype(np.intp)
        self.xs = (np.arange(w) * wc // w).astype(np.intp)

    def rows(self, y0: int, y1: int):
        """Full-resolution ``(lo, cnt)`` of rows y0:y1, (y1 - y0, W) int32."""
        ys = self.ys[y0:y1]
        return (np.ascontiguousarray(self.lo[ys][:, self.xs]),
                np.ascontiguousarray(self.cnt[ys][:, self.xs]))

    def row_cells(self) -> np.ndarray:
        """Ragged cells of each full-resolution row (H,) int64."""
        a = (self.cnt.astype(np.int64) + _ALIGN - 1) // _ALIGN * _ALIGN
        per_col = np.bincount(self.xs, minlength=self.lo.shape[1])
        return (a @ per_col)[self.ys]
