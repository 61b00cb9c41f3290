"""Middlebury calib.txt and rectified-model YAML: parsing, round trips, error messages."""

from __future__ import annotations

import re

import numpy as np
import pytest

from calib import StereoCalibration
from calib.middlebury import (format_middlebury_calib, parse_middlebury_calib, read_middlebury_calib,
                              write_middlebury_calib)
from calib.model_yaml import load_calibration_yaml, save_calibration_yaml
from stereo.errors import CalibrationError, FileFormatError
from stereo.paths import middlebury_dir


def _scenes():
    root = middlebury_dir()
    scenes = sorted(p for p in root.glob("*") if (p / "calib.txt").is_file()) if root.is_dir() else []
    if not scenes:
        pytest.skip(f"shared Middlebury data not found at {root} (set STEREO_DATA)")
    return scenes


ODD = ("\ufeff# a comment line\r\n"
       "  cam0 = [ 1000.5 , 0 , 300.25 ; 0 , 1001 , 200 ; 0 , 0 , 1 ]  \r\n"
       "\r\n"
       "cam1=[1000.5 0 310.75;0 1001 200;0 0 1]\r\n"
       "doffs =\t10.5\r\n"
       "baseline= 120.0\r\n"
       "width=640\r\nheight=480\r\n\r\n"
       "ndisp=128\r\nisint=0\r\nvmin=3\r\nvmax=99.5\r\ndyavg=0.1\r\nCustom_Key = hello world\r\n")


def test_parse_odd_spacing():
    c = parse_middlebury_calib(ODD, "odd.txt")
    assert c.focal_px == 1000.5 and c.focal_y_px == 1001.0
    assert (c.cx_left, c.cx_right, c.cy) == (300.25, 310.75, 200.0)
    assert c.doffs == pytest.approx(10.5) and c.baseline == 120.0 and c.baseline_unit == "mm"
    assert c.baseline_m == pytest.approx(0.12)
    assert (c.width, c.height, c.ndisp, c.vmin, c.vmax) == (640, 480, 128, 3.0, 99.5)
    assert c.extra == {"isint": "0", "dyavg": "0.1", "custom_key": "hello world"}


def test_shared_scenes_parse_and_round_trip(tmp_path):
    for scene in _scenes():
        text = (scene / "calib.txt").read_text()
        c = read_middlebury_calib(scene / "calib.txt")
        nums = {k: v for k, v in re.findall(r"^(\w+)=(.*)$", text, flags=re.M)}
        cam0 = [float(x) for x in re.split(r"[ ;]+", nums["cam0"].strip("[]"))]
        cam1 = [float(x) for x in re.split(r"[ ;]+", nums["cam1"].strip("[]"))]
        assert c.focal_px == cam0[0] and c.focal_y_px == cam0[4] and c.cx_left == cam0[2]
        assert c.cy == cam0[5]
        # The file's doffs defines depth; cam1's cx agrees with it to the printed precision.
        assert c.doffs == pytest.approx(float(nums["doffs"]), abs=1e-9)
        assert c.cx_right == pytest.approx(cam1[2], abs=0.0011)
        assert c.baseline == float(nums["baseline"]) and c.baseline_unit == "mm"
        assert (c.width, c.height, c.ndisp) == (int(nums["width"]), int(nums["height"]), int(nums["ndisp"]))
        assert c.vmin == float(nums["vmin"]) and c.vmax == float(nums["vmax"])
        assert c.extra["dyavg"] == nums["dyavg"].strip()
        # Writing gives back the original lines (same keys, order and numbers; cam1 may
        # differ in its last digit where the file's doffs and cam1 disagree).
        out = tmp_path / f"{scene.name}.txt"
        write_middlebury_calib(out, c)
        written = [ln.strip() for ln in out.read_text().splitlines() if ln.strip()]
        original = [ln.strip() for ln in text.splitlines() if ln.strip()]
        assert len(written) == len(original)
        for w, o in zip(written, original):
            if abs(c.cx_right - cam1[2]) > 1e-9 and w.startswith("cam1="):
                continue
            assert w == o
        back = read_middlebury_calib(out)
        assert back == c and back.extra == c.extra


def test_write_converts_baseline_to_mm(tmp_path):
    c = StereoCalibration(focal_px=700.123456789, cx_left=320.1, cx_right=331.7, cy=240.2,
                          baseline=0.1203, baseline_unit="m", width=640, height=480)
    write_middlebury_calib(tmp_path / "c.txt", c)
    text = (tmp_path / "c.txt").read_text()
    assert "baseline=120.3\n" in text and "doffs=11.6\n" in text
    back = read_middlebury_calib(tmp_path / "c.txt")
    assert back.baseline_unit == "mm" and back.baseline_m == pytest.approx(c.baseline_m, rel=1e-12)
    assert back.focal_px == c.focal_px and back.cx_left == c.cx_left and back.ndisp is None
    assert back.cx_right == pytest.approx(c.cx_right, abs=1e-12) and back.doffs == pytest.approx(11.6)
    no_size = StereoCalibration(focal_px=700, cx_left=320, cx_right=320, cy=240, baseline=50,
                                baseline_unit="mm")
    assert "width" not in format_middlebury_calib(no_size)


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace("baseline= 120.0\r\n", ""), r"odd.txt: missing key 'baseline'"),
    (lambda t: re.sub(r"cam1=.*\r\n", "", t), r"missing key 'cam1'"),
    (lambda t: t.replace("; 0 , 0 , 1 ]", "]"), r"cam0 must have 9 numbers"),
    (lambda t: t.replace("300.25", "abc"), r"cam0 must be a number, got 'abc'"),
    (lambda t: t.replace("[1000.5 0 310.75;0 1001 200;0 0 1]", "1000.5 0 310.75"), r"cam1 must be a 3x3 matrix"),
    (lambda t: t.replace("cam1=[1000.5", "cam1=[999"), r"not a rectified pair"),
    (lambda t: t.replace("10.5", "12.5"), r"doffs=12.5 disagrees"),
    (lambda t: t.replace("baseline= 120.0", "baseline=-5"), r"baseline must be > 0"),
    (lambda t: t.replace("width=640", "width=64.5"), r"width must be a non-negative integer"),
    (lambda t: t + "ndisp=3\n", r"key 'ndisp' appears twice"),
    (lambda t: t + "just words\n", r"line 16 is not 'key=value'"),
    (lambda t: t.replace("0 , 0 , 1 ]", "0 , 0 , 2 ]"), r"not an intrinsic matrix"),
])
def test_parse_errors(edit, match):
    with pytest.raises(CalibrationError, match=match):
        parse_middlebury_calib(edit(ODD), "odd.txt")


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(FileFormatError, match="nope.txt: no such calibration file"):
        read_middlebury_calib(tmp_path / "nope.txt")
    bad = tmp_path / "calib.txt"
    bad.write_text("cam0=[1 0 0; 0 1 0; 0 0 1]\ncam1=[1 0 0; 0 1 0; 0 0 1]\n")
    with pytest.raises(CalibrationError, match=r"calib.txt: missing key 'baseline'"):
        read_middlebury_calib(bad)
    bad.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(FileFormatError, match="not a text file"):
        read_middlebury_calib(bad)


def test_write_rejects_clashing_extra(tmp_path):
    c = parse_middlebury_calib(ODD, "odd.txt")
    object.__setattr__(c, "extra", {"baseline": "3"})
    with pytest.raises(CalibrationError, match="clashes"):
        write_middlebury_calib(tmp_path / "c.txt", c)
    assert not list(tmp_path.iterdir())


# ---- YAML -------------------------------------------------------------------------------------
def test_yaml_round_trip(tmp_path):
    c = parse_middlebury_calib(ODD, "odd.txt")
    save_calibration_yaml(tmp_path / "c.yaml", c)
    text = (tmp_path / "c.yaml").read_text()
    assert text.startswith("#") and "Units" in text and "pixels" in text
    back = load_calibration_yaml(tmp_path / "c.yaml")
    assert back == c and back.extra == c.extra and back.Q.tolist() == c.Q.tolist()
    # NumPy scalars (e.g. from cv2 results) are written as plain numbers.
    d = StereoCalibration(focal_px=np.float64(500.5), cx_left=np.float32(100), cx_right=100.0,
                          cy=80.0, baseline=0.1, ndisp=np.int64(64))
    save_calibration_yaml(tmp_path / "d.yaml", d)
    assert "!!python" not in (tmp_path / "d.yaml").read_text()
    assert load_calibration_yaml(tmp_path / "d.yaml") == d


def test_yaml_errors(tmp_path):
    with pytest.raises(FileFormatError, match="no such calibration file"):
        load_calibration_yaml(tmp_path / "none.yaml")
    p = tmp_path / "c.yaml"
    p.write_text("focal_px: [1, 2\n")
    with pytest.raises(FileFormatError, match="c.yaml: invalid YAML"):
        load_calibration_yaml(p)
    p.write_text("type: stereo_rig\nfocal_px: 1\n")
    with pytest.raises(CalibrationError, match="expected 'rectified_stereo'"):
        load_calibration_yaml(p)
    p.write_text("focal_px: 500\ncx_left_px: 1\ncx_right_px: 1\ncy_px: 1\nbaseline_unit: m\n")
    with pytest.raises(CalibrationError, match=r"c.yaml: missing key\(s\) baseline"):
        load_calibration_yaml(p)
    p.write_text("focal_px: 500\ncx_left_px: 1\ncx_right_px: 1\ncy_px: 1\nbaseline: -1\nbaseline_unit: m\n")
    with pytest.raises(CalibrationError, match=r"c.yaml: baseline must be > 0"):
        load_calibration_yaml(p)
