"""stereo.evaluation.speed: frame making, method registry, table, CLI errors; SGBM presets."""

from __future__ import annotations

import numpy as np
import pytest

from stereo.evaluation.speed import SPEED_METHODS, SpeedRow, format_speed, make_frame, make_matcher
from stereo.errors import ParameterError
from stereo.sgbm import PRESETS, SGBM


def _pair(h=60, w=90):
    rng = np.random.default_rng(0)
    left = rng.integers(0, 256, (h, w)).astype(np.uint8)
    return left, np.roll(left, -3, axis=1)


def test_make_frame_resizes_and_crops_to_the_size():
    left, right = _pair()
    for w, h in [(120, 40), (64, 48), (200, 300)]:
        fl, fr = make_frame(left, right, w, h)
        assert fl.shape == (h, w) == fr.shape and fl.flags.c_contiguous and fl.dtype == np.uint8


def test_every_method_runs_on_a_small_frame():
    left, right = _pair()
    for name in SPEED_METHODS:
        out = make_matcher(name, 16)(left, right)
        assert out.shape == left.shape
    with pytest.raises(ParameterError, match="unknown speed method"):
        make_matcher("opencv-nope", 16)


def test_format_speed_ratios_and_units():
    rows = [SpeedRow("s", "ours-sgbm", 100, 10, 10, 0.02, 0.04), SpeedRow("s", "opencv-3way", 100, 10, 10, 0.01, 0.01),
            SpeedRow("f", "ours-sgbm", 100, 10, 10, 2.0, 3.0, 300.0)]
    text = format_speed(rows)
    line = next(ln for ln in text.splitlines() if ln.startswith("s ") and "ours-sgbm" in ln)
    assert "2.00" in line and "50.0" in line and " 0.5 " not in line   # vs 3way 2.00, fps 50
    assert rows[0].mcells_per_s == pytest.approx(0.5) and "300" in text.splitlines()[-1]


def test_cli_speed_reports_a_missing_scene(tmp_path, capsys):
    from stereo.cli.main import main
    assert main(["bench", str(tmp_path), "--speed", "--quick", "--scenes", "nowhere"]) == 2
    assert "scene folder not found" in capsys.readouterr().err


def test_presets():
    rt = SGBM.preset("realtime", num_disparities=32)
    assert (rt.paths, rt.census_window, rt.median, rt.num_disparities) == (4, (7, 5), False, 32)
    assert SGBM.preset("default", num_disparities=32) == SGBM(num_disparities=32)
    assert SGBM.preset("realtime", paths=8).paths == 8            # explicit parameters win
    with pytest.raises(ParameterError, match="unknown preset"):
        SGBM.preset("fastest")
    assert set(PRESETS) == {"default", "realtime"}
