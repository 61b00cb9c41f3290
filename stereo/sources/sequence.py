"""One entry point for every sequence the CLI accepts: ``open_sequence(left, right)``.

* two folders, two quoted globs, or two image files -> pairs by sorted order (:mod:`.files`);
* two video files -> frame i with frame i (:mod:`.video`);
* ``side_by_side=True``: ``left`` is one video, or a folder/glob/file of images, whose
  frames hold both views (left half = left view), and ``right`` must be None.

Returns ``(count, iterator of FramePair)``; count is None when a container does not say.
"""

from __future__ import annotations

from ..errors import InputError
from .base import FramePair
from .files import pair_paths
from .video import frame_count, is_video, side_by_side_pairs, split_side_by_side, video_pairs


def _image_pairs(refs):
    from ..io import read_image
    for i, ref in enumerate(refs):
        yield FramePair(index=i, name=ref.name, left=read_image(ref.left), right=read_image(ref.right))


def _image_side_by_side(spec):
    import numpy as np

    from ..io import read_image
    from .files import _expand
    for i, path in enumerate(_expand(spec, "input")):
        left, right = split_side_by_side(read_image(path))
        yield FramePair(index=i, name=path.stem, left=np.ascontiguousarray(left),
                        right=np.ascontiguousarray(right))


def open_sequence(left, right=None, *, side_by_side: bool = False):
    """``(count, frames)`` for the CLI's LEFT [RIGHT] arguments (see module doc)."""
    if side_by_side:
        if right is not None:
            raise InputError("--side-by-side takes one input (each frame holds both views), not two")
        if is_video(left):
            return frame_count(left), side_by_side_pairs(left)
        from .files import _expand
        return len(_expand(left, "input")), _image_side_by_side(left)
    if right is None:
        raise InputError("give LEFT and RIGHT (or one side-by-side input with --side-by-side)")
    lv, rv = is_video(left), is_video(right)
    if lv != rv:
        raise InputError(f"{left if lv else right} is a video but {right if lv else left} is not: "
                         f"give two videos, or two image folders/globs")
    if lv:
        nl, nr = frame_count(left), frame_count(right)
        return (min(nl, nr) if nl and nr else None), video_pairs(left, right)
    refs = pair_paths(left, right)
    return len(refs), _image_pairs(refs)


def is_sequence(left, right=None, side_by_side: bool = False) -> bool:
    """True when LEFT or RIGHT names several frames (a folder, a quoted glob or a video)."""
    from pathlib import Path
    if side_by_side or right is None:
        return True

    def many(p):
        # a folder, a glob or a video holds frames; anything else (a missing file, a device)
        # is read as one image so that its own error message ("not a regular file") is shown
        text = str(p)
        path = Path(text)
        return bool(set("*?[") & set(text)) or path.is_dir() or (path.is_file() and is_video(p))
    return many(left) or many(right)


__all__ = ["open_sequence", "is_sequence"]
