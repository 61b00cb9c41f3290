"""End-to-end tests of ``stereo match`` and ``stereo demo`` on the shipped samples."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from stereo.cli.main import main
from stereo.io import read_disparity, read_image, read_pfm, read_ply, write_image
from stereo.paths import samples_dir

SAMPLE = samples_dir() / "planes"


def _run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def planes():
    if not (SAMPLE / "im0.png").exists():
        pytest.skip(f"sample scene missing: {SAMPLE}")
    return SAMPLE


def test_match_with_calibration_writes_every_output(planes, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "match", planes / "im0.png", planes / "im1.png", "-o", out,
                             "--calib", planes / "calib.txt")
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["disparity.pfm", "disparity.png", "depth.pfm", "depth.png", "cloud.ply",
                            "confidence.pfm", "confidence.png"])
    disp = read_disparity(out / "disparity.pfm")
    gt = read_disparity(planes / "disp0GT.pfm")
    both = np.isfinite(disp) & np.isfinite(gt)
    assert both.mean() > 0.5
    assert np.median(np.abs(disp[both] - gt[both])) < 0.5
    depth = read_pfm(out / "depth.pfm")
    assert np.isinf(depth[~np.isfinite(disp)]).all()  # invalid written as inf, as Middlebury does
    points, colors = read_ply(out / "cloud.ply")
    assert len(points) == np.count_nonzero(np.isfinite(disp))
    assert colors is not None and colors.dtype == np.uint8
    assert "metric depth" in stdout


def test_match_without_calibration_is_disparity_only(planes, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "match", planes / "im0.png", planes / "im1.png", "-o", out,
                             "--method", "bm", "--num-disparities", 48)
    assert code == 0, err
    names = {p.name for p in out.iterdir()}
    assert {"disparity.pfm", "inverse_depth_relative.pfm"} <= names
    assert "depth.pfm" not in names and "cloud.ply" not in names
    assert "NOT metric" in stdout


@pytest.mark.parametrize("argv_tail, message", [
    (["--num-disparities", "0"], "num_disparities"),
    (["--near", "1m"], "--near and --far go together"),
    (["--near", "1m", "--far", "5m"], "need a calibration"),
    (["--method", "bm", "--block-size", "4"], "block_size"),
    (["--method", "bm", "--fill"], "--fill"),
])
def test_match_bad_options_one_line_error_nothing_written(planes, tmp_path, capsys, argv_tail, message):
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "match", planes / "im0.png", planes / "im1.png", "-o", out, *argv_tail)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_match_missing_and_mismatched_inputs(planes, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _run(capsys, "match", tmp_path / "nope.png", planes / "im1.png", "-o", out)
    assert code == 2 and "nope.png" in err and len(err.strip().splitlines()) == 1
    small = tmp_path / "small.png"
    write_image(small, read_image(planes / "im1.png")[:50, :60])
    code, _, err = _run(capsys, "match", planes / "im0.png", small, "-o", out)
    assert code == 2 and "differ in size" in err
    bad_calib = tmp_path / "calib.txt"
    bad_calib.write_text("cam0=[1 0 0; 0 1 0; 0 0 1]\n")
    code, _, err = _run(capsys, "match", planes / "im0.png", planes / "im1.png", "-o", out,
                        "--calib", bad_calib)
    assert code == 2 and "calib.txt" in err
    assert not out.exists()


def test_match_leaves_inputs_untouched(planes, tmp_path, capsys):
    copy = tmp_path / "scene"
    shutil.copytree(planes, copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    code, _, err = _run(capsys, "match", copy / "im0.png", copy / "im1.png", "-o", tmp_path / "o",
                        "--calib", copy / "calib.txt")
    assert code == 0, err
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before


def test_demo_runs_and_reports_accuracy(tmp_path, capsys):
    if not (samples_dir() / "negative" / "im0.png").exists():
        pytest.skip("sample scene 'negative' missing")
    code, stdout, err = _run(capsys, "demo", "-o", tmp_path / "demo", "--scenes", "negative")
    assert code == 0, err
    assert "bad2.0" in stdout
    bad2 = float(stdout.split("bad2.0 ")[1].split("%")[0])
    assert bad2 < 10.0
    assert (tmp_path / "demo" / "negative" / "cloud.ply").exists()


@pytest.mark.chessboard
def test_match_with_rig_rectifies_raw_pair_and_gives_metric_depth(shared_report, tmp_path, capsys):
    """Raw chessboard pair + rig YAML: `stereo match` rectifies, matches and triangulates.

    The reference depth of every board corner comes independently from the board's pose
    (solvePnP on the raw left corners, moved into the rectified left frame by R1); the
    matched depth at those corners must agree within 2 %.
    """
    import cv2

    from calib.chessboard import Board, detect
    from calib.rectify import Rectifier
    from stereo.paths import chessboard_dir

    rig = shared_report.rig
    rig_path = tmp_path / "rig.yaml"
    rig.save(rig_path)
    left_path, right_path = chessboard_dir() / "left000003.jpg", chessboard_dir() / "right000003.jpg"
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "match", left_path, right_path, "-o", out, "--calib", rig_path,
                             "--near", "0.3m", "--far", "5m")
    assert code == 0, err
    depth = read_pfm(out / "depth.pfm")
    assert depth.shape == (rig.height, rig.width)

    board = Board(11, 8, 0.03)
    det = detect(read_image(left_path), board)
    assert det.ok
    ok, rvec, tvec = cv2.solvePnP(board.object_points()[det.ids], det.corners, rig.K1, rig.D1)
    assert ok
    cam = cv2.Rodrigues(rvec)[0] @ board.object_points()[det.ids].T + tvec  # raw left camera frame
    z_ref = (rig.R1 @ cam)[2]  # rectified left camera frame
    xy = Rectifier(rig).rectify_points(det.corners, "left")
    z = depth[np.round(xy[:, 1]).astype(int), np.round(xy[:, 0]).astype(int)]
    z[~np.isfinite(z)] = np.nan
    assert np.mean(np.isfinite(z)) > 0.8
    rel = np.abs(z - z_ref) / z_ref
    assert np.nanmedian(rel) < 0.02


def test_unwritable_output_is_a_one_line_error(planes, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    for out in (blocker, blocker / "sub"):
        code, _, err = _run(capsys, "match", planes / "im0.png", planes / "im1.png", "-o", out,
                            "--method", "bm")
        assert code == 2, err
        assert str(blocker) in err and "internal" not in err
        assert len(err.strip().splitlines()) == 1
    assert blocker.read_text() == "not a folder"


@pytest.mark.chessboard
def test_match_uncalibrated_raw_pair(tmp_path, capsys):
    """A raw pair without calibration: rectified from features, disparity-only output."""
    from stereo.paths import chessboard_dir

    left, right = chessboard_dir() / "left000003.jpg", chessboard_dir() / "right000003.jpg"
    if not left.exists():
        pytest.skip(f"shared chessboard set missing: {chessboard_dir()}")
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "match", left, right, "-o", out, "--uncalibrated", "--method", "bm")
    assert code == 0, err
    dy = float(stdout.split("residual |dy| median ")[1].split(" px")[0])
    assert dy < 1.0
    assert "from the feature matches" in stdout and "NOT metric" in stdout
    names = {p.name for p in out.iterdir()}
    assert "inverse_depth_relative.pfm" in names and "depth.pfm" not in names
    assert np.mean(np.isfinite(read_disparity(out / "disparity.pfm"))) > 0.2
    code, _, err = _run(capsys, "match", left, right, "-o", tmp_path / "o2", "--uncalibrated",
                        "--calib", samples_dir() / "planes" / "calib.txt")
    assert code == 2 and "drop --calib or --uncalibrated" in err
