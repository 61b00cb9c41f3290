"""Folders laid out like the KITTI stereo benchmark: discovery and loading.

Layout (KITTI 2015 names; only ``image_2``, ``image_3`` and ``disp_occ_0`` are required
for scoring)::

    <root>/image_2/<id>_10.png          left colour image (reference)
           image_3/<id>_10.png          right colour image
           disp_occ_0/<id>_10.png       ground truth, all pixels (uint16 d*256, 0 = unknown)
           disp_noc_0/<id>_10.png       optional: non-occluded pixels only
           calib_cam_to_cam/<id>.txt    optional: P_rect_02/P_rect_03 (metres) -> depth metrics
           calib/<id>.txt               optional alternative (P2:/P3: lines)
           obj_map/<id>_10.png          optional: 0 = background, > 0 = foreground object
                                        (KITTI 2015) -> D1-bg / D1-fg

A frame is listed when its left image has a right image (and ground truth, when the
folder has a ``disp_occ_0``). Scoring rules (D1, background interpolation) live in
:func:`stereo.evaluation.metrics.kitti_errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FileFormatError

IMAGE_EXTS = (".png", ".jpg", ".jpeg")


@dataclass
class KittiFrame:
    """One loaded frame: BGR uint8 images, GT disparities (px, NaN = unknown), calibration."""

    name: str
    left: np.ndarray
    right: np.ndarray
    gt: np.ndarray | None
    gt_noc: np.ndarray | None
    calib: object | None
    path: Path
    foreground: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.left.shape[1], self.left.shape[0]


def is_kitti_layout(root) -> bool:
    """True when ``root`` holds ``image_2/`` and ``image_3/`` folders."""
    p = Path(root)
    return (p / "image_2").is_dir() and (p / "image_3").is_dir()


def _find(folder: Path, stem: str) -> Path | None:
    for ext in IMAGE_EXTS:
        f = folder / f"{stem}{ext}"
        if f.is_file():
            return f
    return None


def list_frames(root) -> list[str]:
    """Sorted frame names (file stems of ``image_2``) that can be loaded (and scored).

    Raises:
        FileFormatError: not a KITTI-layout folder, or no frame has both images (and GT).
    """
    p = Path(root)
    if not is_kitti_layout(p):
        raise FileFormatError(f"{p}: not a KITTI-layout folder (needs image_2/ and image_3/)", str(p))
    gt_dir = p / "disp_occ_0"
    names = []
    for f in sorted((p / "image_2").iterdir()):
        if f.suffix.lower() not in IMAGE_EXTS or not f.is_file():
            continue
        if _find(p / "image_3", f.stem) is None:
            continue
        if gt_dir.is_dir() and not (gt_dir / f"{f.stem}.png").is_file():
            continue
        names.append(f.stem)
    if not names:
        raise FileFormatError(f"{p}: no frame with image_2, image_3"
                              + (" and disp_occ_0 files" if gt_dir.is_dir() else " files"), str(p))
    return names


def calibration_file(root, name: str) -> Path | None:
    """The calibration file of frame ``name`` (``000000_10`` -> ``000000.txt``), if any."""
    p = Path(root)
    seq = name.split("_")[0]
    for folder in ("calib_cam_to_cam", "calib"):
        for stem in (seq, name):
            f = p / folder / f"{stem}.txt"
            if f.is_file():
                return f
    return None


def load_frame(root, name: str) -> KittiFrame:
    """Load frame ``name``: images, GT (all and non-occluded) and calibration when present.

    Raises:
        FileFormatError: a missing or unreadable file, or sizes that disagree.
    """
    from calib.formats import load_kitti_calibration

    from ..io import read_image, read_kitti_disparity
    from .middlebury import _as_uint8_bgr

    p = Path(root)
    lf, rf = _find(p / "image_2", name), _find(p / "image_3", name)
    if lf is None or rf is None:
        raise FileFormatError(f"{p}: frame {name!r} needs image_2/{name}.png and image_3/{name}.png", str(p))
    left = _as_uint8_bgr(read_image(lf), lf)
    right = _as_uint8_bgr(read_image(rf), rf)
    gt = gt_noc = None
    occ = p / "disp_occ_0" / f"{name}.png"
    noc = p / "disp_noc_0" / f"{name}.png"
    if occ.is_file():
        gt = read_kitti_disparity(occ)
    if noc.is_file():
        gt_noc = read_kitti_disparity(noc)
    h, w = left.shape[:2]
    for arr, f in ((right, rf), (gt, occ), (gt_noc, noc)):
        if arr is not None and arr.shape[:2] != (h, w):
            raise FileFormatError(f"{f}: size {arr.shape[1]}x{arr.shape[0]} differs from {lf.name} ({w}x{h})",
                                  str(f))
    foreground = None
    obj = p / "obj_map" / f"{name}.png"
    if obj.is_file():
        from ..io.images import decode_image
        m = decode_image(obj)
        m = m[..., 0] if m.ndim == 3 else m
        if m.shape != (h, w):
            raise FileFormatError(f"{obj}: size {m.shape[1]}x{m.shape[0]} differs from {lf.name} ({w}x{h})", str(obj))
        foreground = m > 0
    cf = calibration_file(p, name)
    calib = load_kitti_calibration(cf) if cf is not None else None
    if calib is not None and not calib.width:
        from dataclasses import replace
        calib = replace(calib, width=w, height=h)
    return KittiFrame(name=name, left=left, right=right, gt=gt, gt_noc=gt_noc, calib=calib, path=p,
                      foreground=foreground)


def export_kitti_layout(middlebury_root, out, scenes=None) -> list[str]:
    """Write MiddEval3 scenes as a KITTI-layout folder (for testing KITTI scoring on known data).

    Scene ``i`` (sorted) becomes frame ``{i:06d}_10``: ``image_2``/``image_3`` from
    ``im0``/``im1``, ``disp_occ_0`` from ``disp0GT.pfm`` (16-bit, d*256; NaN -> 0),
    ``disp_noc_0`` from it masked by ``mask0nocc.png == 255``, and
    ``calib_cam_to_cam/{i:06d}.txt`` with ``P_rect_02``/``P_rect_03`` (metres; Middlebury's
    ``doffs`` is kept as the principal-point difference). Returns the frame names.
    """
    from ..io import write_image, write_kitti_disparity
    from .middlebury import list_scenes, load_scene

    out = Path(out)
    names = []
    for i, scene_name in enumerate(scenes or list_scenes(middlebury_root)):
        s = load_scene(middlebury_root, scene_name)
        name = f"{i:06d}_10"
        for folder in ("image_2", "image_3", "disp_occ_0", "disp_noc_0", "calib_cam_to_cam"):
            (out / folder).mkdir(parents=True, exist_ok=True)
        write_image(out / "image_2" / f"{name}.png", s.left)
        write_image(out / "image_3" / f"{name}.png", s.right)
        write_kitti_disparity(out / "disp_occ_0" / f"{name}.png", s.gt)
        write_kitti_disparity(out / "disp_noc_0" / f"{name}.png", np.where(s.nonocc, s.gt, np.nan))
        c = s.calib
        p2 = f"{c.focal_px} 0 {c.cx_left} 0 0 {c.focal_px} {c.cy} 0 0 0 1 0"
        p3 = f"{c.focal_px} 0 {c.cx_right} {-c.focal_px * c.baseline_m} 0 {c.focal_px} {c.cy} 0 0 0 1 0"
        (out / "calib_cam_to_cam" / f"{i:06d}.txt").write_text(
            f"P_rect_02: {p2}\nP_rect_03: {p3}\nS_rect_02: {s.size[0]} {s.size[1]}\n")
        names.append(name)
    return names


__all__ = ["KittiFrame", "is_kitti_layout", "list_frames", "calibration_file", "load_frame", "export_kitti_layout"]
