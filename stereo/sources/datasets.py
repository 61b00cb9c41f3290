"""Datasets of many stereo pairs on disk, listed as :class:`~stereo.sources.PairRef` s.

Three layouts are recognised (nothing is read but folder listings and the list file):

- **MiddEval3**: ``ROOT/<Scene>/im0.png`` (left), ``im1.png`` (right), optional
  ``calib.txt`` (Middlebury calibration, gives depth and the search range) and
  ``disp0GT.pfm`` (ground truth, px). A pair is named after its scene folder.
- **KITTI**: ``ROOT/image_2/*.png`` (left colour) and ``ROOT/image_3/*.png`` (right),
  or ``image_0``/``image_1`` (grey) when there is no ``image_2``; the files are paired
  by name (``000000_10.png`` with ``000000_10.png``), never by position. Ground truth
  ``disp_occ_0/<name>.png`` (KITTI 2015) or ``disp_occ/<name>.png`` (2012), KITTI 16-bit
  PNG, is attached when present. KITTI calibration files are not attached (their layout
  differs between the KITTI benchmarks; pass ``--calib`` for metric depth).
- **List file**: one pair per line, ``LEFT RIGHT [CALIB]``, whitespace-separated (quote
  paths holding spaces, shell style); relative paths are relative to the list file's
  folder; blank lines and ``#`` comments are skipped. A pair is named after its left
  file's stem, or ``<folder>_<stem>`` when stems repeat (``scene/im0.png``), or with its
  line's index as a prefix when those repeat too.

Two folders or globs paired by sorted order are :func:`stereo.sources.pair_paths`.
Pair names are unique and safe as folder names (outputs of pair ``n`` go to ``OUT/n/``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from ..errors import InputError
from .base import PairRef
from .files import IMAGE_EXTENSIONS, pair_paths

LAYOUTS = ("middlebury", "kitti", "list")
_KITTI_SIDES = (("image_2", "image_3"), ("image_0", "image_1"))
_KITTI_GT = ("disp_occ_0", "disp_occ")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def detect_layout(root) -> str:
    """``"middlebury"``, ``"kitti"`` or ``"list"`` for a dataset argument.

    Raises:
        InputError: ``root`` does not exist or matches none of the layouts.
    """
    p = Path(root)
    if p.is_file():
        return "list"
    if not p.is_dir():
        raise InputError(f"{p}: no such dataset folder or list file")
    if any((p / a).is_dir() and (p / b).is_dir() for a, b in _KITTI_SIDES):
        return "kitti"
    if any(c.is_dir() and (c / "im0.png").is_file() for c in p.iterdir()):
        return "middlebury"
    raise InputError(f"{p}: not a dataset: expected scene folders with im0.png/im1.png (MiddEval3), "
                     f"image_2/ and image_3/ (KITTI), or a list file of pairs; for two folders or "
                     f"globs use --left/--right")


def list_pairs(root, layout: str | None = None) -> list[PairRef]:
    """The pairs of the dataset at ``root`` (layout detected when None), sorted by name."""
    layout = layout or detect_layout(root)
    if layout == "middlebury":
        return middlebury_pairs(root)
    if layout == "kitti":
        return kitti_pairs(root)
    if layout == "list":
        return list_file_pairs(root)
    raise InputError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")


def middlebury_pairs(root) -> list[PairRef]:
    """Scene folders of ``root`` holding ``im0.png`` (a missing ``im1.png`` is the pair's
    own failure when it is matched, not a listing error)."""
    p = Path(root)
    scenes = sorted(c for c in p.iterdir()
                    if c.is_dir() and not c.name.startswith(".") and (c / "im0.png").is_file())
    if not scenes:
        raise InputError(f"{p}: no scene folders with im0.png (MiddEval3 layout)")
    return [PairRef(name=_safe(c.name), left=c / "im0.png", right=c / "im1.png",
                    calib=_if_file(c / "calib.txt"), gt=_if_file(c / "disp0GT.pfm"))
            for c in scenes]


def kitti_pairs(root) -> list[PairRef]:
    """``image_2``/``image_3`` (or ``image_0``/``image_1``) files paired by name."""
    p = Path(root)
    for a, b in _KITTI_SIDES:
        if (p / a).is_dir() and (p / b).is_dir():
            left_dir, right_dir = p / a, p / b
            break
    else:
        raise InputError(f"{p}: no image_2/image_3 (or image_0/image_1) folders (KITTI layout)")
    lefts = {f.name: f for f in left_dir.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS}
    rights = {f.name: f for f in right_dir.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS}
    if not lefts:
        raise InputError(f"{left_dir}: no image files")
    missing = sorted(set(lefts) ^ set(rights))
    if missing:
        raise InputError(f"{p}: {len(missing)} image(s) lack their other view in {left_dir.name}/ "
                         f"or {right_dir.name}/, e.g. {missing[0]}")
    gt_dir = next((p / g for g in _KITTI_GT if (p / g).is_dir()), None)
    return [PairRef(name=_safe(Path(n).stem), left=lefts[n], right=rights[n],
                    gt=_if_file(gt_dir / n) if gt_dir is not None else None)
            for n in sorted(lefts)]


def list_file_pairs(path) -> list[PairRef]:
    """Pairs named in a list file (``LEFT RIGHT [CALIB]`` per line, see module docstring)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read the list file ({exc})") from None
    base = p.parent
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            fields = shlex.split(line, comments=True)
        except ValueError as exc:
            raise InputError(f"{p}:{number}: {exc}") from None
        if not fields:
            continue
        if len(fields) not in (2, 3):
            raise InputError(f"{p}:{number}: expected 'LEFT RIGHT [CALIB]', got {len(fields)} field(s)")
        paths = [f if Path(f).is_absolute() else base / f for f in map(Path, fields)]
        rows.append(paths + [None] * (3 - len(paths)))
    if not rows:
        raise InputError(f"{p}: the list file names no pair")
    stems = [r[0].stem for r in rows]
    if len(set(stems)) < len(stems):  # scene/im0.png lines: name the pair after its folder
        stems = [f"{r[0].parent.name}_{r[0].stem}" for r in rows]
    names = unique_names(stems)
    return [PairRef(name=n, left=l, right=r, calib=c) for n, (l, r, c) in zip(names, rows)]


def folder_pairs(left_spec, right_spec) -> list[PairRef]:
    """Two folders/globs paired by sorted order (:func:`stereo.sources.pair_paths`), names made safe."""
    refs = pair_paths(left_spec, right_spec)
    names = unique_names([r.name for r in refs])
    return [PairRef(name=n, left=r.left, right=r.right, calib=r.calib, gt=r.gt)
            for n, r in zip(names, refs)]


def unique_names(stems: list[str]) -> list[str]:
    """Folder-safe names; when two stems collide, every name gets its index as a prefix."""
    safe = [_safe(s) for s in stems]
    if len(set(safe)) == len(safe):
        return safe
    width = len(str(len(safe)))
    return [f"{i:0{width}d}_{s}" for i, s in enumerate(safe)]


def _safe(name: str) -> str:
    # Names become folders under OUT: no separators, no leading dot (hidden, or "..").
    s = _UNSAFE.sub("_", name).lstrip(".")
    return s or "pair"


def _if_file(path: Path):
    return path if path.is_file() else None


__all__ = ["LAYOUTS", "detect_layout", "list_pairs", "middlebury_pairs", "kitti_pairs",
           "list_file_pairs", "folder_pairs", "unique_names"]
