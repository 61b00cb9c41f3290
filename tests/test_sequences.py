"""Sequences: folders, globs, two videos and side-by-side video through ``stereo match``."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stereo.cli.main import main
from stereo.errors import InputError
from stereo.paths import chessboard_dir
from stereo.sources import open_sequence

N = 3


@pytest.fixture(scope="module")
def frames():
    root = chessboard_dir()
    if not (root / "left000000.jpg").exists():
        pytest.skip(f"shared chessboard set missing: {root}")
    # every other row/column: the videos stay small and the tests fast
    return [(cv2.imread(str(root / f"left{i:06d}.jpg"))[::2, ::2].copy(),
             cv2.imread(str(root / f"right{i:06d}.jpg"))[::2, ::2].copy()) for i in range(N)]


def _write_video(path, images):
    h, w = images[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
    assert vw.isOpened()
    for im in images:
        vw.write(im)
    vw.release()


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_folders_and_globs_pair_by_sorted_order(frames, tmp_path, capsys):
    for side, k in (("left", 0), ("right", 1)):
        (tmp_path / side).mkdir()
        for i, pair in enumerate(frames):
            cv2.imwrite(str(tmp_path / side / f"{i:04d}.png"), pair[k])
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "match", tmp_path / "left", tmp_path / "right", "-o", out,
                             "--num-disparities", 48, "--no-progress")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["0000", "0001", "0002"]
    assert (out / "0001" / "disparity.pfm").exists()
    assert "3 frames:" in stdout and "p50" in stdout and "p99" in stdout and "fps" in stdout
    code, stdout, err = _run(capsys, "match", tmp_path / "left" / "000[01].png", tmp_path / "right" / "*.png",
                             "-o", tmp_path / "g", "--num-disparities", 48)
    assert code == 2 and "left has 2 image(s) and right 3" in err


def test_two_videos_and_side_by_side_give_the_same_pairs(frames, tmp_path, capsys):
    _write_video(tmp_path / "l.avi", [a for a, _ in frames])
    _write_video(tmp_path / "r.avi", [b for _, b in frames])
    _write_video(tmp_path / "sbs.avi", [np.hstack([a, b]) for a, b in frames])
    n, seq = open_sequence(tmp_path / "l.avi", tmp_path / "r.avi")
    pairs = list(seq)
    assert n == N and [p.name for p in pairs] == ["000000", "000001", "000002"]
    assert pairs[1].stamp == pytest.approx(0.1, abs=1e-6)  # 10 fps
    n2, seq2 = open_sequence(tmp_path / "sbs.avi", side_by_side=True)
    sbs = list(seq2)
    assert len(sbs) == N and sbs[0].left.shape == frames[0][0].shape
    # MJPG is lossy: the same frames, up to compression noise
    assert np.mean(np.abs(sbs[2].right.astype(int) - pairs[2].right.astype(int))) < 6
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "match", tmp_path / "sbs.avi", "--side-by-side", "-o", out,
                             "--num-disparities", 48, "--no-progress")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["000000", "000001", "000002"]
    assert "3 frames:" in stdout


def test_mixed_or_missing_inputs_are_one_line_errors(frames, tmp_path, capsys):
    _write_video(tmp_path / "l.avi", [a for a, _ in frames])
    (tmp_path / "imgs").mkdir()
    cv2.imwrite(str(tmp_path / "imgs" / "a.png"), frames[0][1])
    code, _, err = _run(capsys, "match", tmp_path / "l.avi", tmp_path / "imgs", "-o", tmp_path / "o")
    assert code == 2 and "is a video but" in err
    code, _, err = _run(capsys, "match", tmp_path / "l.avi", "-o", tmp_path / "o")
    assert code == 2 and "give LEFT and RIGHT" in err
    with pytest.raises(InputError, match="--side-by-side takes one input"):
        open_sequence(tmp_path / "l.avi", tmp_path / "l.avi", side_by_side=True)
    assert not (tmp_path / "o").exists()
