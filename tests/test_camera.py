"""StereoCamera: raw pair + rig -> metric depth, one path with stereo match."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stereo import flags
from stereo.camera import StereoCamera
from stereo.errors import InputError, ParameterError
from stereo.paths import chessboard_dir, samples_dir


def _pair(i):
    root = chessboard_dir()
    return (cv2.imread(str(root / f"left{i:06d}.jpg"), 0), cv2.imread(str(root / f"right{i:06d}.jpg"), 0))


@pytest.fixture(scope="module")
def rig_file(shared_report, tmp_path_factory):
    path = tmp_path_factory.mktemp("rig") / "rig.yaml"
    shared_report.rig.save(path)
    return path


def test_process_gives_depth_in_metres_and_applies_the_rectification_region(rig_file):
    cam = StereoCamera.from_file(rig_file, near="0.3m", far="20m")
    near, far = cam.depth_range_m
    assert near <= 0.3 and far >= 20  # the range covers what was asked (plus a margin)
    assert "depths" in cam.range_description and " m " in cam.range_description
    left, right = _pair(3)
    f = cam.process(left, right, stamp=12.5)
    assert f.stamp == 12.5
    assert f.depth.dtype == np.float32 and f.depth.shape == left.shape
    assert set(f.timings_ms) == {"rectify", "match", "depth", "total"}
    assert all(v >= 0 for v in f.timings_ms.values())
    # depth = f B / d on every valid pixel
    c = f.calibration
    v = f.valid
    assert v.mean() > 0.2
    np.testing.assert_allclose(f.depth[v], c.focal_px * c.baseline_m / (f.disparity[v] + c.doffs), rtol=1e-5)
    # the board of pair 3 is 0.5-0.7 m away (its corner disparities are 93..113 px)
    board = f.depth[v & (f.depth < 1.0)]
    assert board.size > 1000 and 0.45 < np.median(board) < 0.75
    # alpha = 1 keeps every source pixel, so the rectified images have black borders:
    # outside the rectification's valid region nothing is valid and the flag says why
    cam = StereoCamera.from_calibration(cam.rig.with_alpha(1.0), near="0.3m", far="20m")
    f = cam.process(left, right)
    v = f.valid
    region = cam._rectifier.valid_mask()
    assert (~region).mean() > 0.05
    assert not f.valid[~region].any()
    assert (f.mask[~region] & flags.OUTSIDE_VALID_REGION).all()
    # points: the left rectified camera frame, z = depth
    pts = f.points
    assert pts.shape == left.shape + (3,)
    np.testing.assert_array_equal(pts[..., 2][v], f.depth[v])
    assert np.isnan(pts[~v][:, 2]).all()
    np.testing.assert_allclose(f.K, f.calibration.K_left)


def test_maps_and_matcher_are_built_once(rig_file):
    cam = StereoCamera.from_file(rig_file, near="0.4m", far="inf", method="bm")
    matcher = cam.matcher
    a = cam.process(*_pair(0))
    maps = cam._rectifier._maps
    b = cam.process(*_pair(1))
    assert cam.matcher is matcher and cam._rectifier._maps is maps
    assert a.disparity.shape == b.disparity.shape


def test_match_pair_is_the_camera_path(rig_file):
    from calib.formats import load_calibration
    from stereo.pipeline import match_pair

    rig = load_calibration(rig_file)
    left, right = _pair(4)
    res = match_pair(left, right, calibration=rig, near_m=0.4, far_m=10.0)
    f = StereoCamera(rig, near=0.4, far=10.0).process(left, right)
    np.testing.assert_array_equal(res.match.disparity, f.disparity)
    np.testing.assert_array_equal(res.depth, f.depth)


def test_board_nearer_than_the_range_is_reported_and_invalid(rig_file):
    left, right = _pair(2)  # board disparities 96..102 px, default range is 0..63 px
    plain = StereoCamera.from_file(rig_file, range_check=False)
    assert plain.num_disparities == 64
    assert "0.965 m .. inf" in plain.range_description or "depths 0.9" in plain.range_description
    f0 = plain.process(left, right)
    f1 = StereoCamera.from_file(rig_file).process(left, right)
    assert f0.notes == ()
    assert len(f1.notes) == 1 and "nearer than the search range" in f1.notes[0]
    assert "--near" in f1.notes[0]
    # the board region (depth 0.55-0.65 m): aliased, plausible-looking depths without the probe
    beyond = (f1.mask & flags.OUT_OF_RANGE).astype(bool) & np.isfinite(f0.disparity)
    assert np.count_nonzero(beyond) > 2000
    assert f1.valid.sum() < f0.valid.sum()


def test_rectified_calibration_and_disparity_only(tmp_path):
    from calib.middlebury import read_middlebury_calib
    from stereo.io import read_image

    scene = samples_dir() / "planes"
    if not (scene / "im0.png").exists():
        pytest.skip("sample missing")
    left, right = read_image(scene / "im0.png"), read_image(scene / "im1.png")
    cam = StereoCamera(read_middlebury_calib(scene / "calib.txt"))
    f = cam.process(left, right)
    assert f.timings_ms["rectify"] < f.timings_ms["total"]
    assert f.rectified_left is not None and np.isfinite(f.depth[f.valid]).all()
    plain = StereoCamera(num_disparities=48).process(left, right)
    assert plain.depth is None and plain.calibration is None
    with pytest.raises(InputError, match="points need a calibration"):
        plain.points
    with pytest.raises(InputError, match="calibration is for"):
        cam.process(left[:-2], right[:-2])


def test_bad_parameters_are_typed():
    with pytest.raises(ParameterError, match="calibration must be"):
        StereoCamera("rig.yaml")
    with pytest.raises(ParameterError, match="near"):
        StereoCamera(num_disparities=16, near="close", far="2m")
    with pytest.raises(ParameterError, match="range_check"):
        StereoCamera(num_disparities=16, range_check="yes")


def test_cli_says_which_depths_the_range_covers(rig_file, tmp_path, capsys):
    from stereo.cli.main import main

    root = chessboard_dir()
    code = main(["match", str(root / "left000002.jpg"), str(root / "right000002.jpg"), "-o",
                 str(tmp_path / "out"), "--calib", str(rig_file)])
    out = capsys.readouterr().out
    assert code == 0
    assert "searched disparities [0, 63] px (default) = depths 0.96" in out
    assert "nearer than the search range" in out and "--near" in out
    code = main(["range", "--calib", str(rig_file), "--num-disparities", "64"])
    assert code == 0 and "= depths 0.96" in capsys.readouterr().out


def test_probe_leaves_a_scene_inside_the_range_alone():
    from calib.middlebury import read_middlebury_calib
    from stereo.io import read_image

    scene = samples_dir() / "planes"
    if not (scene / "im0.png").exists():
        pytest.skip("sample missing")
    left, right = read_image(scene / "im0.png"), read_image(scene / "im1.png")
    cal = read_middlebury_calib(scene / "calib.txt")
    on = StereoCamera(cal).process(left, right)
    off = StereoCamera(cal, range_check=False).process(left, right)
    assert on.notes == ()
    np.testing.assert_array_equal(on.disparity, off.disparity)


def test_threads_apply_to_either_method():
    import numba

    rng = np.random.default_rng(2)
    left = rng.integers(0, 255, (40, 80), dtype=np.uint8)
    right = np.roll(left, -3, axis=1)
    for method in ("bm", "sgbm"):
        a = StereoCamera(num_disparities=16, method=method, threads=1).process(left, right)
        b = StereoCamera(num_disparities=16, method=method).process(left, right)
        np.testing.assert_array_equal(a.disparity, b.disparity)
    with pytest.raises(ParameterError, match="threads"):
        StereoCamera(num_disparities=16, method="bm", threads=numba.config.NUMBA_NUM_THREADS + 1)
