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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FileFormatError

SCENE_FILES = ("im0.png", "im1.png", "calib.txt", "disp0GT.pfm", "mask0nocc.png")


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


__all__ = ["Scene", "SCENE_FILES", "list_scenes", "load_scene"]
