"""Pair image files given as two folders, two quoted globs, or two files.

Pairs are formed by sorted order of the names on each side, so ``left/000001.png`` goes
with ``right/000001.png`` and ``cam0/*.png`` with ``cam1/*.png``. Different counts on the
two sides are an error (pairing by position would silently shift every later pair).
"""

from __future__ import annotations

import glob
from pathlib import Path

from ..errors import InputError
from .base import PairRef

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".ppm", ".pgm", ".pnm", ".bmp", ".webp")
_GLOB_CHARS = set("*?[")


def _expand(spec: str, side: str) -> list[Path]:
    text = str(spec)
    if _GLOB_CHARS & set(text):
        files = [Path(p) for p in glob.glob(text) if Path(p).is_file()]
        if not files:
            raise InputError(f"{side}: the pattern {text!r} matches no file")
    else:
        p = Path(text)
        if p.is_dir():
            files = [q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_EXTENSIONS]
            if not files:
                raise InputError(f"{side}: the folder {p} holds no image file "
                                 f"({', '.join(IMAGE_EXTENSIONS)})")
        elif p.is_file():
            files = [p]
        else:
            raise InputError(f"{side}: {p}: no such file, folder or matching pattern")
    return sorted(files, key=lambda q: str(q))


def pair_paths(left_spec, right_spec) -> list[PairRef]:
    """Pair the files named by two folder/glob/file arguments by sorted order.

    Each pair is named after its left file's stem; where stems repeat (the same name in
    two folders of a glob), the index is prefixed so that names stay unique.
    """
    lefts = _expand(left_spec, "left")
    rights = _expand(right_spec, "right")
    if len(lefts) != len(rights):
        raise InputError(f"left has {len(lefts)} image(s) and right {len(rights)}: the two sides "
                         f"must hold the same number of frames to pair them by sorted order")
    stems = [p.stem for p in lefts]
    unique = len(set(stems)) == len(stems)
    width = len(str(len(lefts)))
    return [PairRef(name=stem if unique else f"{i:0{width}d}_{stem}", left=l, right=r)
            for i, (stem, l, r) in enumerate(zip(stems, lefts, rights))]
