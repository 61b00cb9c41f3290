"""Stereo pairs from two video files, or from one side-by-side video (OpenCV VideoCapture).

Frames are paired by position (frame i of the left video with frame i of the right one);
the stamp is the left video's position in seconds (``CAP_PROP_POS_MSEC``). A side-by-side
frame holds the left view in its left half and the right view in its right half (an odd
width drops the middle column). Frames are BGR uint8 as OpenCV decodes them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import FileFormatError, InputError
from .base import FramePair

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def is_video(path) -> bool:
    """True for an existing file with a video extension."""
    p = Path(str(path))
    return p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()


def _open(path):
    import cv2
    p = Path(str(path))
    if not p.is_file():
        raise InputError(f"{p}: no such video file")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise FileFormatError(f"{p}: OpenCV cannot open this video (unknown codec or not a video)", str(p))
    return cap


def frame_count(path) -> int | None:
    """Frames announced by the container (may be approximate; None when unknown)."""
    import cv2
    cap = _open(path)
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        return n if n > 0 else None
    finally:
        cap.release()


def video_pairs(left_video, right_video, start: int = 0):
    """Yield :class:`FramePair` s from two videos until either ends (a length mismatch
    beyond that raises :class:`InputError` at the end, after the common frames)."""
    import cv2
    cl, cr = _open(left_video), _open(right_video)
    try:
        i = 0
        while True:
            ok_l, fl = cl.read()
            ok_r, fr = cr.read()
            if not ok_l or not ok_r:
                if ok_l != ok_r:
                    raise InputError(f"{left_video if ok_l else right_video} has more frames than "
                                     f"{right_video if ok_l else left_video} (stopped after {i} pairs)")
                return
            if i >= start:
                stamp = cl.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                yield FramePair(index=i, name=f"{i:06d}", left=fl, right=fr, stamp=stamp)
            i += 1
    finally:
        cl.release()
        cr.release()


def split_side_by_side(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) halves of a side-by-side frame (views, not copies)."""
    w = frame.shape[1]
    if w < 4:
        raise InputError(f"a side-by-side frame must be at least 4 pixels wide, got {w}")
    half = w // 2
    return frame[:, :half], frame[:, w - half:]


def side_by_side_pairs(video):
    """Yield :class:`FramePair` s from one side-by-side video."""
    import cv2
    cap = _open(video)
    try:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            left, right = split_side_by_side(frame)
            yield FramePair(index=i, name=f"{i:06d}", left=np.ascontiguousarray(left),
                            right=np.ascontiguousarray(right), stamp=cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
            i += 1
    finally:
        cap.release()


__all__ = ["VIDEO_EXTENSIONS", "is_video", "frame_count", "video_pairs", "side_by_side_pairs",
           "split_side_by_side"]
