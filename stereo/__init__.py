"""stereo: classical stereo matching (Numba block matching and SGM), depth and evaluation.

Conventions used everywhere: the left image is the reference; disparity
``d = x_left - x_right`` in float32 pixels, NaN where invalid; depth in metres,
``Z = f * B / (d + doffs)``.
"""

import os as _os
import sys as _sys

if "cv2" not in _sys.modules:
    # OpenCV reads its decoder pixel limit once, when it loads: a second line of defence for
    # image formats whose header stereo.io.image_header does not parse (see stereo.limits).
    _limit = _os.environ.get("STEREO_MAX_IMAGE_PIXELS", "").strip()
    _os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", _limit if _limit.isdigit() else "100000000")

from ._numba_cache import ensure_numba_cache

# Before any kernel module is imported: Numba needs a writable cache location at decoration time.
ensure_numba_cache()

from .errors import (CalibrationError, FileFormatError, InputError, OutputError, ParameterError,
                     StereoError)
from .result import MatchResult
from .block_matcher import BlockMatcher
from .sgbm import SGBM
from .camera import StereoCamera, StereoFrame

__version__ = "0.1.0"

__all__ = ["StereoError", "InputError", "ParameterError", "FileFormatError", "OutputError", "CalibrationError",
           "MatchResult", "BlockMatcher", "SGBM", "StereoCamera", "StereoFrame", "__version__"]
