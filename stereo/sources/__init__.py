"""Where stereo pairs come from: files, folders, globs (and, as they arrive, videos and bags).

One small interface for the CLI, the camera object and the batch driver:

- :class:`PairRef` names one pair on disk (paths only, cheap to send to another process).
- :class:`FramePair` is one loaded pair with its index, name and timestamp.
- :func:`pair_paths` turns two folder/glob/file arguments into sorted ``PairRef`` s.
"""

from .base import FramePair, PairRef
from .files import IMAGE_EXTENSIONS, pair_paths

__all__ = ["FramePair", "PairRef", "pair_paths", "IMAGE_EXTENSIONS"]
