"""Optional Rerun recording (extra: rerun-sdk); skipped where it is not installed."""

from __future__ import annotations

import sys

import cv2
import pytest

from stereo.cli.main import main
from stereo.paths import chessboard_dir


def _pair_dirs(tmp_path):
    root = chessboard_dir()
    if not (root / "left000000.jpg").exists():
        pytest.skip("shared chessboard set missing")
    for side in ("left", "right"):
        (tmp_path / side).mkdir()
        for i in range(2):
            img = cv2.imread(str(root / f"{side}{i:06d}.jpg"), 0)[::2, ::2]
            cv2.imwrite(str(tmp_path / side / f"{i:02d}.png"), img)
    return tmp_path / "left", tmp_path / "right"


def test_recording_file_is_written(tmp_path, capsys):
    pytest.importorskip("rerun", reason="optional extra rerun-sdk not installed")
    left, right = _pair_dirs(tmp_path)
    rrd = tmp_path / "view.rrd"
    code = main(["match", str(left), str(right), "-o", str(tmp_path / "out"), "--num-disparities", "48",
                 "--rerun", str(rrd), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    data = rrd.read_bytes()
    assert data[:4] == b"RRF2" and len(data) > 50_000  # images of two frames are in it
    assert b"world/camera/image" in data


def test_missing_rerun_is_a_one_line_hint(tmp_path, capsys, monkeypatch):
    left, right = _pair_dirs(tmp_path)
    monkeypatch.setitem(sys.modules, "rerun", None)
    code = main(["match", str(left), str(right), "-o", str(tmp_path / "out"), "--num-disparities", "48",
                 "--rerun", str(tmp_path / "v.rrd")])
    assert code == 2 and "pip install rerun-sdk" in capsys.readouterr().err


def test_calibrated_pair_logs_depth_and_points(tmp_path, capsys):
    pytest.importorskip("rerun", reason="optional extra rerun-sdk not installed")
    from stereo.paths import samples_dir
    scene = samples_dir() / "planes"
    rrd = tmp_path / "one.rrd"
    code = main(["match", str(scene / "im0.png"), str(scene / "im1.png"), "-o", str(tmp_path / "out"),
                 "--calib", str(scene / "calib.txt"), "--rerun", str(rrd), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    data = rrd.read_bytes()
    assert b"world/points" in data and b"world/camera/depth" in data
    assert (tmp_path / "out" / "im0" / "depth.pfm").exists()
