"""Kalibr camchain and EuRoC sensor.yaml calibrations, detected from content."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from calib.formats import detect_format, load_calibration
from calib.rectify import Rectifier
from stereo.errors import CalibrationError

SIZE = (752, 480)
K0 = [458.654, 457.296, 367.215, 248.375]
K1 = [457.587, 456.134, 379.999, 255.238]
# EuRoC MH_01 (ASL dataset) body-from-sensor poses of cam0 and cam1, metres
T_BS0 = [0.0148655429818, -0.999880929698, 0.00414029679422, -0.0216401454975,
         0.999557249008, 0.0149672133247, 0.025715529948, -0.064676986768,
         -0.0257744366974, 0.00375618835797, 0.999660727178, 0.00981073058949, 0.0, 0.0, 0.0, 1.0]
T_BS1 = [0.0125552670891, -0.999755099723, 0.0182237714554, -0.0198435579556,
         0.999598781151, 0.0130119051815, 0.0251588363115, 0.0453689425024,
         -0.0253898008918, 0.0179005838253, 0.999517347078, 0.00786212447038, 0.0, 0.0, 0.0, 1.0]
RADTAN0 = [-0.28340811, 0.07395907, 0.00019359, 1.76187114e-05]
RADTAN1 = [-0.28368365, 0.07451284, -0.00010473, -3.55590700e-05]
EQUI = [-0.01, 0.005, -0.002, 0.0005]


def _T10():
    return np.linalg.inv(np.reshape(T_BS1, (4, 4))) @ np.reshape(T_BS0, (4, 4))


def _camchain(path, model="radtan", d0=RADTAN0, d1=RADTAN1):
    # fresh lists per camera: a shared one would be dumped as a YAML alias, which the
    # calibration readers refuse (alias bombs)
    cam = lambda k, d: {"camera_model": "pinhole", "intrinsics": list(k), "distortion_model": model,  # noqa: E731
                        "distortion_coeffs": list(d), "resolution": list(SIZE), "rostopic": "/cam/image_raw"}
    doc = {"cam0": cam(K0, d0), "cam1": dict(cam(K1, d1), T_cn_cnm1=_T10().tolist(), cam_overlaps=[0])}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _euroc(folder, i, k, d, T):
    folder.mkdir(parents=True, exist_ok=True)
    text = ("%YAML:1.0\n# General sensor definitions.\nsensor_type: camera\ncomment: VI-Sensor cam\n"
            f"T_BS:\n  cols: 4\n  rows: 4\n  data: {list(T)}\nrate_hz: 20\n"
            f"resolution: {list(SIZE)}\ncamera_model: pinhole\nintrinsics: {k} #fu, fv, cu, cv\n"
            f"distortion_model: radial-tangential\ndistortion_coefficients: {d}\n")
    (folder / "sensor.yaml").write_text(text)
    return folder / "sensor.yaml"


def test_kalibr_radtan_matches_the_rig_built_from_the_same_numbers(tmp_path):
    from calib.rig import StereoRig

    path = _camchain(tmp_path / "my-camchain.yaml")
    assert detect_format(path) == "kalibr"
    rig = load_calibration(path)
    T = _T10()
    np.testing.assert_allclose(rig.R, T[:3, :3])
    np.testing.assert_allclose(rig.T, T[:3, 3])
    assert rig.K1[0, 0] == K0[0] and rig.K2[1, 2] == K1[3]
    ref = StereoRig.from_extrinsics(SIZE, rig.K1, RADTAN0, rig.K2, RADTAN1, T[:3, :3], T[:3, 3])
    np.testing.assert_allclose(rig.P2, ref.P2)
    assert 0.105 < rig.rectified().baseline_m < 0.115  # EuRoC's stereo baseline is about 11 cm


def test_euroc_pair_gives_the_same_rig_as_kalibr(tmp_path):
    a = _euroc(tmp_path / "cam0", 0, K0, RADTAN0, T_BS0)
    b = _euroc(tmp_path / "cam1", 1, K1, RADTAN1, T_BS1)
    assert detect_format(a) == "euroc"
    rig = load_calibration(f"{a},{b}")
    kal = load_calibration(_camchain(tmp_path / "c.yaml"))
    np.testing.assert_allclose(rig.T, kal.T, atol=1e-12)
    np.testing.assert_allclose(rig.P1, kal.P1, atol=1e-9)
    with pytest.raises(CalibrationError, match="describes one camera"):
        load_calibration(a)


def test_kalibr_equidistant_rectifies_to_equal_rows_and_true_disparity(tmp_path):
    rig = load_calibration(_camchain(tmp_path / "fish.yaml", "equidistant", EQUI, EQUI))
    assert rig.info["distortion_model"] == "equidistant"
    rect = rig.rectified()
    rng = np.random.default_rng(1)
    X0 = np.c_[rng.uniform(-0.5, 0.5, 40), rng.uniform(-0.3, 0.3, 40), rng.uniform(1.5, 4.0, 40)]
    T = _T10()
    X1 = X0 @ T[:3, :3].T + T[:3, 3]
    p0, _ = cv2.fisheye.projectPoints(X0.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), rig.K1, rig.D1)
    p1, _ = cv2.fisheye.projectPoints(X1.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), rig.K2, rig.D2)
    r = Rectifier(rig)
    q0, q1 = r.rectify_points(p0.reshape(-1, 2), "left"), r.rectify_points(p1.reshape(-1, 2), "right")
    assert np.abs(q0[:, 1] - q1[:, 1]).max() < 0.05  # same rows after rectification
    # depth along the rectified left axis from the disparity
    z_rect = (X0 @ rig.R1.T)[:, 2]
    d = q0[:, 0] - q1[:, 0]
    np.testing.assert_allclose(rect.focal_px * rect.baseline_m / (d + rect.doffs), z_rect, rtol=2e-3)
    # and the maps come from the fisheye model (a raw image remaps without error)
    out = r.rectify(np.zeros(SIZE[::-1], np.uint8), "left")
    assert out.shape == SIZE[::-1]


def test_bad_robotics_files_name_the_key(tmp_path):
    doc = {"cam0": {"camera_model": "pinhole", "intrinsics": K0, "distortion_model": "radtan",
                    "distortion_coeffs": RADTAN0, "resolution": list(SIZE)},
           "cam1": {"camera_model": "pinhole", "intrinsics": K1, "distortion_model": "radtan",
                    "distortion_coeffs": RADTAN1, "resolution": list(SIZE)}}
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(CalibrationError, match="cam1.T_cn_cnm1"):
        load_calibration(p)
    doc["cam1"]["T_cn_cnm1"] = np.eye(4).tolist()
    doc["cam1"]["distortion_model"] = "fov"
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(CalibrationError, match="'fov' is not supported"):
        load_calibration(p)


def test_cli_accepts_a_camchain(tmp_path, capsys):
    from stereo.cli.main import main

    code = main(["range", "--calib", str(_camchain(tmp_path / "k.yaml")), "--near", "0.5m", "--far", "inf"])
    assert code == 0 and "num_disparities" in capsys.readouterr().out
