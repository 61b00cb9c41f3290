"""Calibration file formats: round trips and known values for every reader, detection
from content, and errors that name the file and the missing key."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calib.formats import (detect_format, load_calibration, load_kitti_calibration, save_opencv_calibration,
                           save_ros_camera_info_pair)
from calib.model import StereoCalibration
from calib.model_yaml import save_calibration_yaml
from calib.rig import StereoRig
from stereo.errors import CalibrationError, FileFormatError

SIZE = (640, 400)


@pytest.fixture(scope="module")
def rig():
    K1 = np.array([[410.0, 0, 318.0], [0, 411.0, 203.0], [0, 0, 1]])
    K2 = np.array([[412.0, 0, 325.0], [0, 412.5, 198.0], [0, 0, 1]])
    R, _ = cv2.Rodrigues(np.array([0.004, -0.01, 0.002]))
    return StereoRig.from_extrinsics(SIZE, K1, [-0.2, 0.05, 0.001, 0.0, 0.0], K2, [-0.21, 0.06, 0.0, 0.001, 0.0],
                                     R, [-0.095, 0.001, 0.0005], rms=0.12,
                                     per_view_errors=[{"view": 0, "left_px": 0.1, "right_px": 0.11}],
                                     rejected_views=[{"view": 3, "reason": "error 0.9 px > threshold"}])


def assert_same_rig(a: StereoRig, b: StereoRig, rtol=1e-9):
    for name in ("K1", "K2", "R", "T", "R1", "R2", "P1", "P2", "Q"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(a.D1[:5], b.D1[:5], rtol=rtol, atol=1e-12)
    assert a.rectified().baseline_m == pytest.approx(b.rectified().baseline_m, rel=1e-9)


def test_rig_yaml_round_trip(rig, tmp_path):
    path = tmp_path / "rig.yaml"
    rig.save(path)
    assert detect_format(path) == "rig"
    back = load_calibration(path)
    assert isinstance(back, StereoRig)
    assert_same_rig(rig, back)
    assert back.rms == rig.rms and back.rejected_views == rig.rejected_views and back.image_size == SIZE


def test_rig_yaml_missing_key_is_named(rig, tmp_path):
    rig.save(tmp_path / "rig.yaml")
    text = (tmp_path / "rig.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  T_m:", "  T_mm:"))
    with pytest.raises(CalibrationError, match=r"bad.yaml: missing key 'extrinsics.T_m'"):
        load_calibration(bad)


@pytest.mark.parametrize("files", [("intrinsics.yml", "extrinsics.yml"), ("stereo.xml",), ("both.yaml",)])
def test_opencv_round_trip(rig, tmp_path, files):
    paths = [tmp_path / f for f in files]
    save_opencv_calibration(rig, *paths)
    assert detect_format(paths[0]) == "opencv"
    back = load_calibration(",".join(map(str, paths)))
    assert isinstance(back, StereoRig)
    assert_same_rig(rig, back)
    assert back.image_size == SIZE


def test_opencv_sample_files_in_millimetres_without_size(rig, tmp_path):
    """As OpenCV's stereo_calib sample writes them (no size), with T_unit: mm added."""
    intr, extr = tmp_path / "intrinsics.yml", tmp_path / "extrinsics.yml"
    fs = cv2.FileStorage(str(intr), cv2.FILE_STORAGE_WRITE)
    for k, v in (("M1", rig.K1), ("D1", rig.D1), ("M2", rig.K2), ("D2", rig.D2)):
        fs.write(k, v)
    fs.release()
    fs = cv2.FileStorage(str(extr), cv2.FILE_STORAGE_WRITE)
    P1, P2, Q = rig.P1.copy(), rig.P2.copy(), rig.Q.copy()
    P2[:, 3] *= 1000
    Q[3, :] /= 1000
    for k, v in (("R", rig.R), ("T", rig.T * 1000), ("R1", rig.R1), ("R2", rig.R2), ("P1", P1), ("P2", P2), ("Q", Q)):
        fs.write(k, v)
    fs.write("T_unit", "mm")
    fs.release()
    back = load_calibration(f"{intr},{extr}")
    assert back.image_size == (0, 0)
    np.testing.assert_allclose(back.T, rig.T, rtol=1e-12)
    np.testing.assert_allclose(back.Q, rig.Q, rtol=1e-9)
    assert back.rectified().baseline_m == pytest.approx(rig.baseline_m, rel=1e-6)


def test_opencv_missing_key_names_file_and_key(rig, tmp_path):
    intr, extr = tmp_path / "intrinsics.yml", tmp_path / "extrinsics.yml"
    save_opencv_calibration(rig, intr, extr)
    fs = cv2.FileStorage(str(intr), cv2.FILE_STORAGE_WRITE)
    fs.write("M1", rig.K1)
    fs.write("D1", rig.D1)
    fs.write("M2", rig.K2)   # no D2
    fs.release()
    with pytest.raises(CalibrationError, match=r"intrinsics.yml: missing key 'D2'"):
        load_calibration(f"{intr},{extr}")


def test_ros_camera_info_pair_known_values(tmp_path):
    left = tmp_path / "left.yaml"
    right = tmp_path / "right.yaml"
    common = """image_width: 752
image_height: 480
distortion_model: plumb_bob
rectification_matrix: {rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}
"""
    left.write_text(common + """camera_name: left
camera_matrix: {rows: 3, cols: 3, data: [450, 0, 370, 0, 450, 240, 0, 0, 1]}
distortion_coefficients: {rows: 1, cols: 5, data: [0, 0, 0, 0, 0]}
projection_matrix: {rows: 3, cols: 4, data: [450, 0, 370, 0, 0, 450, 240, 0, 0, 0, 1, 0]}
""")
    right.write_text(common + """camera_name: right
camera_matrix: {rows: 3, cols: 3, data: [450, 0, 370, 0, 450, 240, 0, 0, 1]}
distortion_coefficients: {rows: 1, cols: 5, data: [0, 0, 0, 0, 0]}
projection_matrix: {rows: 3, cols: 4, data: [450, 0, 370, -54.0, 0, 450, 240, 0, 0, 0, 1, 0]}
""")
    assert detect_format(left) == "ros"
    rig = load_calibration(f"{left},{right}")
    assert isinstance(rig, StereoRig)
    model = rig.rectified()
    assert model.baseline_m == pytest.approx(0.12)       # -P[0,3] / fx = 54 / 450
    assert (model.focal_px, model.cx_left, model.cy) == (450, 370, 240)
    np.testing.assert_allclose(rig.T, [-0.12, 0, 0])
    # Identity rectification and no distortion: rectifying changes nothing.
    img = np.random.default_rng(0).integers(0, 255, (480, 752), dtype=np.uint8)
    from calib.rectify import rectify_pair
    lr, _ = rectify_pair(img, img, rig)
    np.testing.assert_array_equal(lr[1:-1, 1:-1], img[1:-1, 1:-1])
    with pytest.raises(CalibrationError, match="describes one camera"):
        load_calibration(left)
    right.write_text(right.read_text().replace("projection_matrix", "projection"))
    with pytest.raises(CalibrationError, match=r"right.yaml: missing key 'projection_matrix'"):
        load_calibration(f"{left},{right}")


def test_ros_round_trip(rig, tmp_path):
    save_ros_camera_info_pair(rig, tmp_path / "l.yaml", tmp_path / "r.yaml")
    back = load_calibration(f"{tmp_path / 'l.yaml'},{tmp_path / 'r.yaml'}")
    for name in ("K1", "K2", "R1", "R2", "P1", "P2", "R", "T"):
        np.testing.assert_allclose(getattr(back, name), getattr(rig, name), rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(back.Q, rig.Q, rtol=1e-9, atol=1e-9)


KITTI = """calib_time: 09-Jan-2012 13:57:47
corner_dist: 9.950000e-02
S_00: 1.392000e+03 5.120000e+02
P_rect_00: 7.000000e+02 0.000000e+00 6.000000e+02 0.000000e+00 0.000000e+00 7.000000e+02 1.800000e+02 0.000000e+00 0.000000e+00 0.000000e+00 1.000000e+00 0.000000e+00
S_rect_02: 1.242000e+03 3.750000e+02
P_rect_02: 7.000000e+02 0.000000e+00 6.000000e+02 4.200000e+01 0.000000e+00 7.000000e+02 1.800000e+02 1.000000e-01 0.000000e+00 0.000000e+00 1.000000e+00 2.000000e-03
S_rect_03: 1.242000e+03 3.750000e+02
P_rect_03: 7.000000e+02 0.000000e+00 6.000000e+02 -3.360000e+02 0.000000e+00 7.000000e+02 1.800000e+02 2.000000e-01 0.000000e+00 0.000000e+00 1.000000e+00 3.000000e-03
"""


def test_kitti_known_values(tmp_path):
    path = tmp_path / "calib_cam_to_cam.txt"
    path.write_text(KITTI)
    assert detect_format(path) == "kitti"
    model = load_calibration(path)
    assert isinstance(model, StereoCalibration)
    assert model.baseline_m == pytest.approx((42 + 336) / 700)   # 0.54 m between cameras 2 and 3
    assert (model.focal_px, model.cx_left, model.cy, model.doffs) == (700, 600, 180, 0)
    assert model.image_size == (1242, 375)
    obj = tmp_path / "000000.txt"   # object-benchmark layout
    obj.write_text("P2: 700 0 600 42 0 700 180 0 0 0 1 0\nP3: 700 0 600 -336 0 700 180 0 0 0 1 0\n")
    assert load_kitti_calibration(obj).baseline_m == pytest.approx(0.54)
    path.write_text("\n".join(l for l in KITTI.splitlines() if not l.startswith("P_rect_03")))
    with pytest.raises(CalibrationError, match=r"calib_cam_to_cam.txt: missing key 'P_rect_03'"):
        load_calibration(path)


def test_middlebury_and_rectified_yaml(tmp_path):
    mb = tmp_path / "calib.txt"
    mb.write_text("cam0=[1000 0 300; 0 1000 200; 0 0 1]\ncam1=[1000 0 320; 0 1000 200; 0 0 1]\n"
                  "doffs=20\nbaseline=150\nwidth=640\nheight=480\nndisp=100\n")
    assert detect_format(mb) == "middlebury"
    model = load_calibration(mb)
    assert model.baseline_m == pytest.approx(0.15) and model.doffs == 20 and model.ndisp == 100
    yml = tmp_path / "model.yaml"
    save_calibration_yaml(yml, model)
    assert detect_format(yml) == "rectified_yaml"
    assert load_calibration(yml) == model


def test_unknown_missing_and_binary_files(tmp_path):
    with pytest.raises(FileFormatError, match="nope.yaml: no such calibration file"):
        load_calibration(tmp_path / "nope.yaml")
    odd = tmp_path / "odd.txt"
    odd.write_text("hello: world\n")
    with pytest.raises(FileFormatError, match="odd.txt: unrecognised calibration format"):
        load_calibration(odd)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)))
    with pytest.raises(FileFormatError, match="blob.bin"):
        load_calibration(blob)
    with pytest.raises(FileFormatError, match="one comma"):
        load_calibration("a.yaml,b.yaml,c.yaml")
    broken = tmp_path / "broken.yml"
    broken.write_text("%YAML:1.0\n---\nM1: !!opencv-matrix\n   rows: 3\n   cols: [\n")
    with pytest.raises((FileFormatError, CalibrationError), match="broken.yml"):
        load_calibration(broken)
