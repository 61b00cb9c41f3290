"""Fixtures shared by several test modules."""

from __future__ import annotations

import pytest

from stereo.paths import chessboard_dir


@pytest.fixture(scope="session")
def shared_report():
    """Stereo calibration of the whole shared chessboard set, computed once per session."""
    from calib.calibrate import calibrate_stereo, pair_images
    from calib.chessboard import Board

    root = chessboard_dir()
    if not (root / "left000000.jpg").exists():
        pytest.skip(f"shared chessboard set missing: {root}")
    pairs = pair_images(str(root / "left*.jpg"), str(root / "right*.jpg"))
    return calibrate_stereo([a for a, _ in pairs], [b for _, b in pairs], Board(11, 8, 0.03))
