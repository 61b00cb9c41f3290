"""``stereo calibrate``, ``stereo rectify`` and ``stereo range`` end to end, and their
one-line errors that leave nothing behind."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from calib.formats import load_calibration
from calib.rig import StereoRig
from stereo.cli.main import main
from stereo.depth_budget import disparity_range
from stereo.paths import chessboard_dir


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _assert_one_line_error(code, err, command, pattern):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"stereo {command}: error:"), err
    assert re.search(pattern, lines[0]), lines[0]


def _board_image(cols=9, rows=6, pps=24, size=(400, 300), offset=(40, 30)):
    """A fronto-parallel synthetic chessboard on grey: (cols x rows) inner corners."""
    sq = np.indices((rows + 1, cols + 1)).sum(axis=0) % 2
    board = np.kron(1 - sq, np.ones((pps, pps))).astype(np.uint8) * 255
    board = cv2.copyMakeBorder(board, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)
    img = np.full((size[1], size[0]), 110, np.uint8)
    y, x = offset
    img[y:y + board.shape[0], x:x + board.shape[1]] = board
    return img


def _write(path, img):
    assert cv2.imwrite(str(path), img)
    return path


# ---- success on the shared set -------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_rig(tmp_path_factory):
    root = chessboard_dir()
    if not (root / "left000000.jpg").exists():
        pytest.skip(f"shared chessboard set missing: {root}")
    work = tmp_path_factory.mktemp("cal")
    for side in ("left", "right"):
        (work / side).mkdir()
        for i in range(8):   # a subset keeps the test fast; the full set is in test_calibration
            (work / side / f"{side}{i:06d}.jpg").symlink_to(root / f"{side}{i:06d}.jpg")
    out = work / "rig.yaml"
    code = main(["calibrate", "--left", str(work / "left" / "*.jpg"), "--right", str(work / "right"),
                 "--board", "11x8", "--square", "3cm", "-o", str(out)])
    return code, out


@pytest.mark.chessboard
def test_calibrate_writes_rig_and_report(cli_rig, capsys):
    code, out = cli_rig
    assert code == 0
    rig = load_calibration(out)
    assert isinstance(rig, StereoRig) and rig.rms < 0.2
    assert 0.02 < rig.baseline_m < 0.5
    assert len(rig.per_view_errors) + len(rig.rejected_views) == 8


@pytest.mark.chessboard
def test_range_uses_depth_budget(cli_rig, capsys):
    _, rig_path = cli_rig
    code, out, err = _run(capsys, "range", "--calib", rig_path, "--near", "0.5m", "--far", "20m")
    assert code == 0, err
    lo = int(re.search(r"^min_disparity (-?\d+)$", out, re.M).group(1))
    n = int(re.search(r"^num_disparities (\d+)$", out, re.M).group(1))
    assert (lo, n) == disparity_range(load_calibration(rig_path).rectified(), 0.5, 20.0)
    code, out, err = _run(capsys, "range", "--calib", rig_path, "--near", "50cm", "--far", "inf")
    assert code == 0 and "num_disparities" in out


@pytest.mark.chessboard
def test_rectify_with_rig_and_uncalibrated(cli_rig, tmp_path, capsys):
    _, rig_path = cli_rig
    root = chessboard_dir()
    left, right = root / "left000003.jpg", root / "right000003.jpg"
    out = tmp_path / "rect"
    code, stdout, err = _run(capsys, "rectify", left, right, "--calib", rig_path, "-o", out)
    assert code == 0, err
    lr = cv2.imread(str(out / "left_rectified.png"), cv2.IMREAD_UNCHANGED)
    rr = cv2.imread(str(out / "right_rectified.png"), cv2.IMREAD_UNCHANGED)
    assert lr.shape == rr.shape == (480, 752)   # grey in, grey out
    assert "valid region" in stdout
    out2 = tmp_path / "rect2"
    code, stdout, err = _run(capsys, "rectify", left, right, "-o", out2)
    assert code == 0, err
    assert (out2 / "left_rectified.png").exists() and "NOT metric" in stdout


# ---- errors: one line, exit 2, nothing written ------------------------------------------------
def test_unequal_numbers(tmp_path, capsys):
    for name in ("l0.png", "l1.png", "l2.png", "r0.png", "r1.png"):
        _write(tmp_path / name, _board_image())
    out = tmp_path / "rig.yaml"
    code, _, err = _run(capsys, "calibrate", "--left", tmp_path / "l*.png", "--right", tmp_path / "r*.png",
                        "--board", "9x6", "--square", "24mm", "-o", out)
    _assert_one_line_error(code, err, "calibrate", r"unequal numbers of images: 3 left .* 2 right")
    assert not out.exists()


def test_no_board(tmp_path, capsys):
    blank = np.full((120, 160), 128, np.uint8)
    for i in range(3):
        _write(tmp_path / f"l{i}.png", blank)
        _write(tmp_path / f"r{i}.png", blank)
    out = tmp_path / "rig.yaml"
    code, _, err = _run(capsys, "calibrate", "--left", tmp_path / "l*.png", "--right", tmp_path / "r*.png",
                        "--board", "9x6", "--square", "24mm", "-o", out, "--min-views", "3")
    _assert_one_line_error(code, err, "calibrate", r"board not found in any of the 3 pair")
    assert not out.exists()


def test_wrong_board_size_counts_corners(tmp_path, capsys):
    _write(tmp_path / "l0.png", _board_image())
    _write(tmp_path / "r0.png", _board_image(offset=(30, 30)))
    out = tmp_path / "rig.yaml"
    code, _, err = _run(capsys, "calibrate", "--left", tmp_path / "l*.png", "--right", tmp_path / "r*.png",
                        "--board", "7x5", "--square", "24mm", "-o", out, "--min-views", "3")
    _assert_one_line_error(code, err, "calibrate", r"found a chessboard with 54 inner corners \(9x6\).*7x5")
    assert not out.exists()


def test_too_few_views(tmp_path, capsys):
    for i in range(2):
        _write(tmp_path / f"l{i}.png", _board_image(offset=(40 + 5 * i, 30)))
        _write(tmp_path / f"r{i}.png", _board_image(offset=(20 + 5 * i, 30)))
    out = tmp_path / "rig.yaml"
    code, _, err = _run(capsys, "calibrate", "--left", tmp_path / "l*.png", "--right", tmp_path / "r*.png",
                        "--board", "9x6", "--square", "24mm", "-o", out)
    _assert_one_line_error(code, err, "calibrate", r"too few good views.*2 of 2 pair.*at least 5")
    assert not out.exists()


def test_left_right_sizes_differ(tmp_path, capsys):
    _write(tmp_path / "l0.png", _board_image())
    _write(tmp_path / "r0.png", _board_image(size=(380, 300)))
    out = tmp_path / "rig.yaml"
    code, _, err = _run(capsys, "calibrate", "--left", tmp_path / "l0.png", "--right", tmp_path / "r0.png",
                        "--board", "9x6", "--square", "24mm", "-o", out)
    _assert_one_line_error(code, err, "calibrate", r"differ in size.*400x300.*380x300")
    assert not out.exists()


def test_unreadable_image(tmp_path, capsys):
    (tmp_path / "l0.png").write_bytes(b"\x89PNG garbage")
    _write(tmp_path / "r0.png", _board_image())
    out = tmp_path / "rig.yaml"
    code, _, err = _run(capsys, "calibrate", "--left", tmp_path / "l0.png", "--right", tmp_path / "r0.png",
                        "--board", "9x6", "--square", "24mm", "-o", out)
    _assert_one_line_error(code, err, "calibrate", r"l0.png: not a readable image")
    assert not out.exists()


@pytest.mark.parametrize("extra, pattern", [
    (["--square", "30"], r"--square: length '30' has no unit"),
    (["--square", "30mm", "--board", "11"], r"board size '11'"),
    (["--square", "30mm", "--charuco", "DICT_NOPE"], r"unknown ArUco dictionary"),
])
def test_bad_options(tmp_path, capsys, extra, pattern):
    _write(tmp_path / "l0.png", _board_image())
    out = tmp_path / "rig.yaml"
    argv = ["calibrate", "--left", tmp_path / "l0.png", "--right", tmp_path / "l0.png", "-o", out]
    if "--board" not in extra:
        argv += ["--board", "9x6"]
    code, _, err = _run(capsys, *argv, *extra)
    _assert_one_line_error(code, err, "calibrate", pattern)
    assert not out.exists()


def test_missing_output_folder(tmp_path, capsys):
    _write(tmp_path / "l0.png", _board_image())
    code, _, err = _run(capsys, "calibrate", "--left", tmp_path / "l0.png", "--right", tmp_path / "l0.png",
                        "--board", "9x6", "--square", "24mm", "-o", tmp_path / "nope" / "rig.yaml")
    _assert_one_line_error(code, err, "calibrate", r"output folder .*nope does not exist")


@pytest.fixture
def small_rig(tmp_path):
    K = np.array([[300.0, 0, 160], [0, 300, 120], [0, 0, 1]])
    rig = StereoRig.from_extrinsics((320, 240), K, np.zeros(5), K, np.zeros(5), np.eye(3), [-0.1, 0, 0])
    path = tmp_path / "rig.yaml"
    rig.save(path)
    return path


def test_rectify_size_mismatch(tmp_path, small_rig, capsys):
    img = _write(tmp_path / "a.png", np.zeros((80, 100), np.uint8))
    out = tmp_path / "out"
    code, _, err = _run(capsys, "rectify", img, img, "--calib", small_rig, "-o", out)
    _assert_one_line_error(code, err, "rectify", r"100x80 but the calibration is for 320x240")
    assert not out.exists()


def test_rectify_refuses_rectified_model(tmp_path, capsys):
    calib = tmp_path / "calib.txt"
    calib.write_text("cam0=[300 0 160; 0 300 120; 0 0 1]\ncam1=[300 0 160; 0 300 120; 0 0 1]\nbaseline=100\n")
    img = _write(tmp_path / "a.png", np.zeros((240, 320), np.uint8))
    out = tmp_path / "out"
    code, _, err = _run(capsys, "rectify", img, img, "--calib", calib, "-o", out)
    _assert_one_line_error(code, err, "rectify", r"already-rectified")
    assert not out.exists()


def test_range_errors(tmp_path, small_rig, capsys):
    code, _, err = _run(capsys, "range", "--calib", tmp_path / "none.yaml", "--near", "1m", "--far", "2m")
    _assert_one_line_error(code, err, "range", r"none.yaml: no such calibration file")
    code, _, err = _run(capsys, "range", "--calib", small_rig, "--near", "2m", "--far", "1m")
    _assert_one_line_error(code, err, "range", r"far .* must be greater than near")
    code, out, err = _run(capsys, "range", "--calib", small_rig, "--near", "1m", "--far", "10m")
    assert code == 0 and "min_disparity 2" in out   # f*B/far = 3 px, minus a 1 px margin
