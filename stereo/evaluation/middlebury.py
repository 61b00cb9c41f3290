"""Scenes laid out like Middlebury MiddEval3 training data: discovery and loading.

A dataset root holds one folder per scene::

    <root>/<Scene>/im0.png        left image (reference)
                   im1.png        right image
                   calib.txt      Middlebury calibration (cam0, cam1, doffs, baseline, ndisp, ...)
                   disp0GT.pfm    left ground-truth disparity, inf = unknown
                   mask0nocc.png  255 = non-occluded, 128 = occluded, 0 = no ground truth

The search range of a scene is ``min_disparity = 0`` and ``num_disparities = ndisp``
(MiddEval3's meaning: disparities lie in ``[0, ndisp)``). Scenes whose ``vmin`` is
negative (the synthetic ``data_samples/negative`` scene) start at ``floor(vmin)``
instead, and their ``ndisp`` counts from there.

Resolution: MiddEval3 ships each set at full (``F``), half (``H``) and quarter (``Q``)
resolution, in folders ``trainingF/H/Q``. The official table states every pixel quantity
(bad-N thresholds, avgerr, rms, A50..A99) in *full-resolution* pixels: one pixel at
quarter resolution is 4 official pixels, so the official "bad 2.0" is ``bad0.5`` on
``trainingQ``. :func:`resolution_factor` finds the factor from the folder name.

Weighted average: the official table's average over the 15 training scenes is weighted
(:data:`OFFICIAL_TRAINING_WEIGHTS`); :func:`official_weighted_mean` renormalises the
weights over the scenes present.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FileFormatError

SCENE_FILES = ("im0.png", "im1.png", "calib.txt", "disp0GT.pfm", "mask0nocc.png")

RESOLUTION_FACTORS = {"F": 1, "H": 2, "Q": 4}

# Weights (percent) of the official MiddEval3 training-set average: 8 % for the ten main
# scenes, half (4 %) for the three radiometric/rectification variants (E, L, P) and the two
# older, smaller scenes (ArtL, Teddy); 10 x 8 + 5 x 4 = 100. Source: the column headings of
# the official results table (vision.middlebury.edu/stereo/eval3/, "weight" under each
# training scene). We could not check them against a copy of the SDK from here: if the
# table shows other numbers, change them here (one place) and the weighted means follow.
OFFICIAL_TRAINING_WEIGHTS = {
    "Adirondack": 8.0, "ArtL": 4.0, "Jadeplant": 8.0, "Motorcycle": 8.0, "MotorcycleE": 4.0,
    "Piano": 8.0, "PianoL": 4.0, "Pipes": 8.0, "Playroom": 8.0, "Playtable": 8.0,
    "PlaytableP": 4.0, "Recycle": 8.0, "Shelves": 8.0, "Teddy": 4.0, "Vintage": 8.0,
}


@dataclass
class Scene:
    """One loaded scene.

    Attributes:
        name: folder name.
        left, right: (H, W, 3) BGR uint8 images (left = reference).
        calib: :class:`calib.StereoCalibration` from ``calib.txt`` (baseline in mm).
        gt: (H, W) float32 ground-truth disparity of the left view, pixels, NaN = unknown.
        nonocc: (H, W) bool, ``mask0nocc.png == 255`` and ground truth known.
        gt_known: (H, W) bool, ground truth finite ("all" region).
        path: the scene folder.
    """

    name: str
    left: np.ndarray
    right: np.ndarray
    calib: object
    gt: np.ndarray
    nonocc: np.ndarray
    gt_known: np.ndarray
    path: Path | None = None

    @property
    def min_disparity(self) -> int:
        """Start of the search range: ``calib.search_range()``, else 0."""
        hint = self.calib.search_range()
        return hint[0] if hint is not None else 0

    @property
    def num_disparities(self) -> int:
        """Length of the search range: from ``calib.txt`` (else enough to cover the ground truth)."""
        hint = self.calib.search_range()
        if hint is not None:
            return hint[1]
        known = self.gt[self.gt_known]
        top = float(known.max()) if known.size else 64.0
        return max(1, int(math.ceil(top)) - self.min_disparity + 1)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.left.shape[1], self.left.shape[0]


def resolution_factor(root, resolution=None) -> int | None:
    """Full-resolution pixels per pixel of the dataset at ``root`` (4 for ``trainingQ``).

    ``resolution`` ("F", "H", "Q" or a positive number) overrides the detection. Else the
    folder name (or a parent's) ``trainingQ``/``testH``/... decides; None when unknown
    (then no official-unit column is reported).
    """
    if resolution is not None:
        text = str(resolution).strip().upper()
        if text in RESOLUTION_FACTORS:
            return RESOLUTION_FACTORS[text]
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value > 0 and value == int(value)):
            from ..errors import ParameterError
            raise ParameterError(f"resolution must be F, H, Q or a positive integer factor, got {resolution!r}")
        return int(value)
    for part in reversed(Path(root).resolve().parts):
        m = re.fullmatch(r"(?:training|test)([FHQ])", part)
        if m:
            return RESOLUTION_FACTORS[m.group(1)]
    return None


def official_weighted_mean(values: dict) -> float | None:
    """Weighted mean of ``{scene: value}`` with the official training weights.

    The weights are renormalised over the scenes given (a subset of the 15 training
    scenes gives the average the official table would give on that subset). Returns None
    when a scene has no official weight (not a MiddEval3 training scene); NaN values
    are left out with their weight.
    """
    if not values or any(name not in OFFICIAL_TRAINING_WEIGHTS for name in values):
        return None
    pairs = [(OFFICIAL_TRAINING_WEIGHTS[k], float(v)) for k, v in values.items()
             if v is not None and math.isfinite(float(v))]
    total = sum(w for w, _ in pairs)
    return sum(w * v for w, v in pairs) / total if total else float("nan")


def _root(root) -> Path:
    p = Path(root)
    if not p.is_dir():
        raise FileFormatError(
            f"{p}: dataset folder not found (pass DATASET_DIR or set STEREO_DATA to a MiddEval3 "
            f"training folder such as MiddEval3/trainingQ)", str(p))
    return p


def list_scenes(root) -> list[str]:
    """Sorted names of the scene folders of ``root`` (folders holding an ``im0.png``).

    Raises:
        FileFormatError: ``root`` is not a folder or holds no scene.
    """
    p = _root(root)
    names = sorted(child.name for child in p.iterdir()
                   if child.is_dir() and not child.name.startswith(".") and (child / "im0.png").is_file())
    if not names:
        raise FileFormatError(
            f"{p}: no scenes found (expected sub-folders with {', '.join(SCENE_FILES)})", str(p))
    return names


def load_scene(root, name: str) -> Scene:
    """Load scene ``name`` of the dataset at ``root``.

    Raises:
        FileFormatError: a missing or unreadable file (named), or images whose sizes
            disagree with each other or with the ground truth.
        CalibrationError: an invalid ``calib.txt``.
    """
    from calib.middlebury import read_middlebury_calib

    from ..io import read_disparity, read_image
    from ..io.images import decode_image

    folder = _root(root) / name
    if not folder.is_dir():
        raise FileFormatError(f"{folder}: no such scene folder", str(folder))
    for fname in SCENE_FILES:
        if not (folder / fname).is_file():
            raise FileFormatError(f"{folder / fname}: missing scene file", str(folder / fname))
    left = _as_uint8_bgr(read_image(folder / "im0.png"), folder / "im0.png")
    right = _as_uint8_bgr(read_image(folder / "im1.png"), folder / "im1.png")
    calib = read_middlebury_calib(folder / "calib.txt")
    gt = read_disparity(folder / "disp0GT.pfm")
    mask = decode_image(folder / "mask0nocc.png")
    if mask.ndim == 3:
        mask = mask[:, :, 0]
    h, w = left.shape[:2]
    for arr, fname in ((right, "im1.png"), (gt, "disp0GT.pfm"), (mask, "mask0nocc.png")):
        if arr.shape[:2] != (h, w):
            raise FileFormatError(
                f"{folder / fname}: size {arr.shape[1]}x{arr.shape[0]} differs from im0.png "
                f"({w}x{h})", str(folder / fname))
    gt_known = np.isfinite(gt)
    nonocc = (mask == 255) & gt_known
    return Scene(name=name, left=left, right=right, calib=calib, gt=gt, nonocc=nonocc,
                 gt_known=gt_known, path=folder)


def _as_uint8_bgr(img: np.ndarray, path) -> np.ndarray:
    if img.dtype == np.uint16:  # 16-bit PNGs exist in other datasets; keep 8-bit semantics
        img = (img >> 8).astype(np.uint8)
    if img.dtype != np.uint8:
        raise FileFormatError(f"{path}: expected an 8- or 16-bit image, got {img.dtype}", str(path))
    return np.ascontiguousarray(img)


__all__ = ["Scene", "SCENE_FILES", "RESOLUTION_FACTORS", "OFFICIAL_TRAINING_WEIGHTS", "resolution_factor",
           "official_weighted_mean", "list_scenes", "load_scene"]
