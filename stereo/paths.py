"""Where the built-in samples and the shared benchmark data live."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def samples_dir() -> Path:
    """The built-in samples: ``data_samples/`` of a source tree, else the copy installed
    inside the package (``stereo/_samples``, a symlink in the source tree)."""
    in_tree = PROJECT_ROOT / "data_samples"
    if (in_tree / "motorcycle").is_dir():
        return in_tree
    return Path(__file__).resolve().parent / "_samples"


def shared_data_dir() -> Path:
    """Root of the shared data: ``$STEREO_SHARED_DATA`` or ``../shared/data`` beside the project."""
    env = os.environ.get("STEREO_SHARED_DATA")
    if env:
        return Path(env)
    beside_project = PROJECT_ROOT.parent / "shared" / "data"
    if beside_project.exists():
        return beside_project
    # A non-editable install puts the package elsewhere: fall back to the working folder.
    return Path.cwd().parent / "shared" / "data"


def middlebury_dir() -> Path:
    """MiddEval3 quarter-resolution training scenes: ``$STEREO_DATA`` or the shared copy."""
    env = os.environ.get("STEREO_DATA")
    if env:
        return Path(env)
    return shared_data_dir() / "middlebury" / "MiddEval3" / "trainingQ"


def chessboard_dir() -> Path:
    """The shared chessboard stereo set: ``$STEREO_CHESSBOARD`` or the shared copy."""
    env = os.environ.get("STEREO_CHESSBOARD")
    if env:
        return Path(env)
    return shared_data_dir() / "chessboard_stereo"
