"""Where stereo pairs come from: files, folders, globs, videos, side-by-side videos (bags: stereo.bag).

One small interface for the CLI, the camera object and the batch driver:

- :class:`PairRef` names one pair on disk (paths only, cheap to send to another process).
- :class:`FramePair` is one loaded pair with its index, name and timestamp.
- :func:`pair_paths` turns two folder/glob/file arguments into sorted ``PairRef`` s.
"""

from .base import FramePair, PairRef
from .files import IMAGE_EXTENSIONS, pair_paths
from .sequence import is_sequence, open_sequence
from .video import VIDEO_EXTENSIONS, side_by_side_pairs, video_pairs

__all__ = ["FramePair", "PairRef", "pair_paths", "IMAGE_EXTENSIONS", "open_sequence", "is_sequence",
           "video_pairs", "side_by_side_pairs", "VIDEO_EXTENSIONS"]
