"""The rectified-pair model, input validation and the CLI's error contract."""

from __future__ import annotations

import numpy as np
import pytest

from calib import StereoCalibration
from stereo import CalibrationError, InputError, ParameterError
from stereo.validation import (check_choice, check_float, check_image, check_int, check_pair,
                               pair_to_gray)


def _teddy_like(**changes):
    values = dict(focal_px=1000.0, cx_left=300.0, cx_right=340.0, cy=200.0, baseline=160.0,
                  baseline_unit="mm", width=640, height=480)
    values.update(changes)
    return StereoCalibration(**values)


# ---- StereoCalibration -------------------------------------------------------------------------
def test_model_derived_quantities():
    c = _teddy_like()
    assert c.doffs == 40.0 and c.baseline_m == pytest.approx(0.16)
    assert c.image_size == (640, 480)
    np.testing.assert_allclose(c.K_right @ [0, 0, 1], [340, 200, 1])
    assert c.P2[0, 3] == pytest.approx(-1000.0 * 0.16)
    # Q maps (x, y, d) to metres with Z = f B / (d + doffs).
    x, y, d = 400.0, 250.0, 60.0
    X, Y, Z, W = c.Q @ [x, y, d, 1.0]
    assert Z / W == pytest.approx(1000.0 * 0.16 / (d + 40.0))
    assert X / W == pytest.approx((x - 300.0) * (Z / W) / 1000.0)


@pytest.mark.parametrize("changes, message", [
    ({"focal_px": 0.0}, "focal_px must be > 0"),
    ({"baseline": -0.1}, "baseline must be > 0"),
    ({"baseline_unit": "furlong"}, "baseline_unit must be one of"),
    ({"cx_left": float("nan")}, "cx_left must be finite"),
    ({"cy": "abc"}, "cy must be a number"),
    ({"width": -3}, "width must be a non-negative integer"),
    ({"height": 2.5}, "height must be a non-negative integer"),
])
def test_model_rejects_bad_values(changes, message):
    with pytest.raises(CalibrationError, match=message):
        _teddy_like(**changes)


def test_model_round_trips_through_Q_projections_and_dict():
    c = _teddy_like()
    q = StereoCalibration.from_Q(c.Q, c.image_size)
    p = StereoCalibration.from_projections(c.P1, c.P2, c.image_size)
    d = StereoCalibration.from_dict(c.to_dict())
    for other in (q, p):
        assert other.baseline_unit == "m" and other.baseline == pytest.approx(c.baseline_m)
        assert (other.focal_px, other.cx_left, other.cx_right, other.cy) == pytest.approx(
            (c.focal_px, c.cx_left, c.cx_right, c.cy))
    assert d == c


def test_model_scaled_and_search_range():
    c = _teddy_like(ndisp=73, vmin=8.0, vmax=65.0)
    half = c.scaled(0.5)
    assert (half.focal_px, half.cx_left, half.width, half.ndisp) == (500.0, 150.0, 320, 37)
    assert half.baseline == c.baseline
    assert c.search_range() == (0, 73)
    assert _teddy_like(ndisp=32, vmin=-6.4).search_range() == (-9, 34)
    assert _teddy_like().search_range() is None
    with pytest.raises(CalibrationError, match="scale factor must be > 0"):
        c.scaled(0)


@pytest.mark.parametrize("build, message", [
    (lambda: StereoCalibration.from_Q(np.eye(3)), "finite 4x4"),
    (lambda: StereoCalibration.from_Q(np.zeros((4, 4))), "not a stereo Q"),
    (lambda: StereoCalibration.from_Q(_flip_q()), "negative baseline"),
    (lambda: StereoCalibration.from_projections(np.eye(3), np.eye(3)), "must be 3x4"),
    (lambda: StereoCalibration.from_projections(_teddy_like().P1, _teddy_like().P1), "non-positive baseline"),
    (lambda: StereoCalibration.from_projections(_teddy_like().P1, _teddy_like(cy=210.0).P2), "not a rectified pair"),
    (lambda: StereoCalibration.from_dict({"focal_px": 1.0}, "rig.yaml"), "rig.yaml: missing key"),
    (lambda: StereoCalibration.from_dict([1, 2], "rig.yaml"), "expected a mapping"),
])
def test_model_constructors_name_the_problem(build, message):
    with pytest.raises(CalibrationError, match=message):
        build()


def _flip_q():
    q = _teddy_like().Q.copy()
    q[3, 2] = -q[3, 2]
    return q


# ---- validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize("img, message", [
    (None, "is None"),
    (np.zeros((10, 10), bool), "dtype bool"),
    (np.zeros((10, 10), np.int64), "dtype int64"),
    (np.zeros((10, 10, 2), np.uint8), "1, 3 or 4 channels"),
    (np.zeros((2, 10, 10, 3), np.uint8), "expected \\(H, W\\) or \\(H, W, C\\)"),
    (np.zeros((1, 10), np.uint8), "too small"),
    (np.full((10, 10), np.nan, np.float32), "NaN or inf"),
])
def test_check_image_errors(img, message):
    with pytest.raises(InputError, match=message):
        check_image(img, "left image")


def test_check_pair_errors_and_float_scaling():
    grey = np.zeros((20, 30), np.uint8)
    with pytest.raises(InputError, match="1 channel\\(s\\) but right has 3"):
        check_pair(grey, np.zeros((20, 30, 3), np.uint8))
    with pytest.raises(InputError, match="left image is uint8 but right image is uint16"):
        check_pair(grey, np.zeros((20, 30), np.uint16))
    left = np.linspace(0, 1, 600, dtype=np.float32).reshape(20, 30)
    gl, gr = pair_to_gray(left, left * 0.5)
    assert gl.dtype == np.uint16 and gl.max() == 65535 and gr.max() == 32768  # one gain for both


@pytest.mark.parametrize("call, message", [
    (lambda: check_int(2.5, "block_size"), "block_size must be an integer"),
    (lambda: check_int(True, "block_size"), "block_size must be an integer"),
    (lambda: check_int(1, "block_size", minimum=3), "block_size must be >= 3"),
    (lambda: check_int(99, "block_size", maximum=51), "block_size must be <= 51"),
    (lambda: check_int(4, "block_size", odd=True), "block_size must be odd"),
    (lambda: check_float("x", "p2_adapt"), "p2_adapt must be a number"),
    (lambda: check_float(float("inf"), "p2_adapt"), "must be finite"),
    (lambda: check_float(0.0, "p2_adapt", minimum=0.0, allow_equal_min=False), "must be > 0"),
    (lambda: check_float(2.0, "ratio", maximum=1.0), "ratio must be <= 1"),
    (lambda: check_choice("x", "cost", ("census", "sad")), "cost must be one of 'census', 'sad'"),
])
def test_parameter_checks(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


# ---- the CLI error contract -----------------------------------------------------------------------
def _failing_command(exc):
    def run(args):
        raise exc
    return run


@pytest.mark.parametrize("exc, code, message", [
    (RuntimeError("boom"), 1, "internal error: RuntimeError: boom"),
    (KeyboardInterrupt(), 130, "interrupted"),
    (ParameterError("num_disparities must be >= 1"), 2, "error: num_disparities must be >= 1"),
])
def test_cli_turns_every_failure_into_one_line(monkeypatch, capsys, exc, code, message):
    from stereo.cli import main as cli_main

    original = cli_main.build_parser

    def parser_with_failing_range():
        parser = original()
        for action in parser._subparsers._group_actions:
            action.choices["range"].set_defaults(func=_failing_command(exc))
        return parser

    monkeypatch.setattr(cli_main, "build_parser", parser_with_failing_range)
    monkeypatch.delenv("STEREO_DEBUG", raising=False)
    assert cli_main.main(["range", "--calib", "x", "--near", "1m", "--far", "2m"]) == code
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
