"""Benchmark datasets: which layout a folder has, and its items loaded for ``stereo bench``.

Layouts (:func:`detect_layout`):

* ``middlebury``: one folder per scene with ``im0.png``/``im1.png``/``calib.txt`` (and
  ``disp0GT.pfm``/``mask0nocc.png`` when scored; MiddEval3 ``test*`` scenes have none and
  are timed only). See :mod:`stereo.evaluation.middlebury`.
* ``kitti``: ``image_2/``, ``image_3/`` (and ``disp_occ_0/`` ...). See
  :mod:`stereo.evaluation.kitti`.
* ``pairs``: a flat folder of ``left*``/``right*`` files, or ``left/`` and ``right/``
  sub-folders, paired by sorted order: no ground truth, speed only.

Search range: Middlebury items use their ``calib.txt`` (``ndisp``); KITTI and plain pairs
have none, so ``num_disparities`` must be given or defaults to
:data:`DEFAULT_NUM_DISPARITIES` (KITTI's disparities at full resolution stay below ~230 px).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FileFormatError

LAYOUTS = ("middlebury", "kitti", "pairs")
DEFAULT_NUM_DISPARITIES = 192


@dataclass
class BenchItem:
    """One pair to benchmark: images (BGR uint8), optional ground truth and calibration.

    ``gt``: disparity, px, NaN = unknown ("all" region); ``nonocc``: bool mask of the
    non-occluded pixels with GT (Middlebury) or None; ``gt_noc``: KITTI's non-occluded
    GT map or None. ``min_disparity``/``num_disparities`` is the search range before the
    rounding the benchmark applies; ``ndisp`` the dataset's own number (or None).
    """

    name: str
    layout: str
    left: np.ndarray
    right: np.ndarray
    min_disparity: int
    num_disparities: int
    gt: np.ndarray | None = None
    nonocc: np.ndarray | None = None
    gt_noc: np.ndarray | None = None
    calib: object | None = None
    ndisp: int | None = None
    foreground: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.left.shape[1], self.left.shape[0]

    @property
    def has_gt(self) -> bool:
        return self.gt is not None


def detect_layout(root) -> str:
    """``"middlebury"``, ``"kitti"`` or ``"pairs"`` for the folder ``root``.

    Raises:
        FileFormatError: missing folder, or no layout recognised (the message lists them).
    """
    from .kitti import is_kitti_layout

    p = Path(root)
    if not p.is_dir():
        raise FileFormatError(
            f"{p}: dataset folder not found (pass DATASET_DIR or set STEREO_DATA to a MiddEval3 "
            f"training folder such as MiddEval3/trainingQ)", str(p))
    if is_kitti_layout(p):
        return "kitti"
    if any(c.is_dir() and (c / "im0.png").is_file() for c in p.iterdir()):
        return "middlebury"
    if _pair_specs(p) is not None:
        return "pairs"
    raise FileFormatError(
        f"{p}: no scenes found (expected sub-folders with im0.png, im1.png, calib.txt, disp0GT.pfm, "
        f"mask0nocc.png; or a KITTI folder with image_2/ and image_3/; or left*/right* image pairs)", str(p))


def _pair_specs(p: Path):
    if (p / "left").is_dir() and (p / "right").is_dir():
        return str(p / "left"), str(p / "right")
    files = [c.name.lower() for c in p.iterdir() if c.is_file()]
    if any(f.startswith("left") for f in files) and any(f.startswith("right") for f in files):
        return str(p / "left*"), str(p / "right*")
    return None


def list_items(root, layout: str | None = None) -> list[str]:
    """Sorted item names of the dataset at ``root`` (scenes, frames or pairs)."""
    layout = layout or detect_layout(root)
    if layout == "middlebury":
        from .middlebury import list_scenes
        return list_scenes(root)
    if layout == "kitti":
        from .kitti import list_frames
        return list_frames(root)
    from ..sources.files import pair_paths
    return [ref.name for ref in pair_paths(*_pair_specs(Path(root)))]


def load_item(root, name: str, layout: str | None = None, *, num_disparities: int | None = None) -> BenchItem:
    """Load item ``name`` of the dataset at ``root`` as a :class:`BenchItem`."""
    layout = layout or detect_layout(root)
    if layout == "middlebury":
        return _middlebury_item(Path(root), name, num_disparities)
    if layout == "kitti":
        from .kitti import load_frame
        f = load_frame(root, name)
        n = num_disparities or DEFAULT_NUM_DISPARITIES
        return BenchItem(name=name, layout=layout, left=f.left, right=f.right, min_disparity=0,
                         num_disparities=n, gt=f.gt, gt_noc=f.gt_noc, calib=f.calib,
                         foreground=f.foreground)
    from ..io import read_image
    from ..sources.files import pair_paths
    from .middlebury import _as_uint8_bgr
    refs = {r.name: r for r in pair_paths(*_pair_specs(Path(root)))}
    if name not in refs:
        raise FileFormatError(f"{root}: no pair named {name!r}", str(root))
    ref = refs[name]
    left = _as_uint8_bgr(read_image(ref.left), ref.left)
    right = _as_uint8_bgr(read_image(ref.right), ref.right)
    return BenchItem(name=name, layout=layout, left=left, right=right, min_disparity=0,
                     num_disparities=num_disparities or DEFAULT_NUM_DISPARITIES)


def _middlebury_item(root: Path, name: str, num_disparities) -> BenchItem:
    from .middlebury import load_scene
    folder = root / name
    if (folder / "disp0GT.pfm").is_file():
        s = load_scene(root, name)
        return BenchItem(name=name, layout="middlebury", left=s.left, right=s.right,
                         min_disparity=s.min_disparity, num_disparities=num_disparities or s.num_disparities,
                         gt=s.gt, nonocc=s.nonocc, calib=s.calib, ndisp=s.calib.ndisp)
    # A test scene: no ground truth, timed only.
    from calib.middlebury import read_middlebury_calib

    from ..io import read_image
    from .middlebury import _as_uint8_bgr
    for f in ("im0.png", "im1.png", "calib.txt"):
        if not (folder / f).is_file():
            raise FileFormatError(f"{folder / f}: missing scene file", str(folder / f))
    calib = read_middlebury_calib(folder / "calib.txt")
    hint = calib.search_range()
    lo, n = hint if hint is not None else (0, DEFAULT_NUM_DISPARITIES)
    return BenchItem(name=name, layout="middlebury", left=_as_uint8_bgr(read_image(folder / "im0.png"), folder),
                     right=_as_uint8_bgr(read_image(folder / "im1.png"), folder), min_disparity=lo,
                     num_disparities=num_disparities or n, calib=calib, ndisp=calib.ndisp)


__all__ = ["LAYOUTS", "DEFAULT_NUM_DISPARITIES", "BenchItem", "detect_layout", "list_items", "load_item"]
