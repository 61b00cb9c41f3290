"""data_samples: the generator is deterministic and its ground truth is consistent."""

import importlib.util
import math
import sys

import cv2
import numpy as np
import pytest

from calib.middlebury import read_middlebury_calib
from stereo.io import read_disparity, read_pfm
from stereo.evaluation.middlebury import list_scenes, load_scene
from stereo.paths import samples_dir

SAMPLES = samples_dir()
SYNTHETIC = ("planes", "negative")


def _make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def make_samples():
    return _make_samples()


def _png(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img


def test_committed_samples_are_small_and_complete():
    assert {"planes", "negative", "motorcycle"} <= set(list_scenes(SAMPLES))
    total = 0
    for name in SYNTHETIC:
        for f in ("im0.png", "im1.png", "disp0GT.pfm", "mask0nocc.png", "calib.txt"):
            total += (SAMPLES / name / f).stat().st_size
    assert total < 2_000_000


@pytest.mark.parametrize("name", SYNTHETIC)
def test_generator_reproduces_committed_scene(make_samples, tmp_path, name):
    make_samples.write_scene(name, tmp_path)
    new, old = tmp_path / name, SAMPLES / name
    for f in ("im0.png", "im1.png", "mask0nocc.png"):
        # arrays, not bytes: PNG bytes depend on the zlib build
        np.testing.assert_array_equal(_png(new / f), _png(old / f), err_msg=f)
    assert (new / "disp0GT.pfm").read_bytes() == (old / "disp0GT.pfm").read_bytes()
    assert (new / "calib.txt").read_text() == (old / "calib.txt").read_text()


def _warp_residuals(left, right, gt, mask, offset=0.0):
    """|left - a*right(x - d) - b| on non-occluded pixels, after a least-squares gain/bias fit."""
    h, w = gt.shape
    mx = (np.arange(w, dtype=np.float32)[None, :] - np.nan_to_num(gt) - offset).astype(np.float32)
    my = np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)
    warped = cv2.remap(right.astype(np.float32), mx, my, cv2.INTER_LINEAR)
    sel = mask & (mx >= 0) & (mx <= w - 1)
    x = warped[sel].ravel().astype(np.float64)
    y = left.astype(np.float32)[sel].ravel().astype(np.float64)
    a, b = np.linalg.lstsq(np.stack([x, np.ones_like(x)], 1), y, rcond=None)[0]
    return np.abs(y - a * x - b), a


@pytest.mark.parametrize("name", SYNTHETIC)
def test_ground_truth_warps_left_onto_right(name):
    scene = load_scene(SAMPLES, name)
    res, gain = _warp_residuals(scene.left, scene.right, scene.gt, scene.nonocc)
    # noise sigma 1.5 in each view (~2.1 combined) plus bilinear resampling of the texture
    assert np.median(res) < 2.5
    assert np.percentile(res, 90) < 6.0
    assert 0.8 < gain < 1.0  # the right view has a gain of 1.12 (left = right / 1.12 + ...)
    wrong, _ = _warp_residuals(scene.left, scene.right, scene.gt, scene.nonocc, offset=1.0)
    assert np.median(wrong) > 3 * np.median(res)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_occlusion_mask_is_consistent(make_samples, name):
    scene = load_scene(SAMPLES, name)
    mask = _png(SAMPLES / name / "mask0nocc.png")
    assert set(np.unique(mask)) <= {128, 255}
    assert scene.gt_known.all()  # the left view is fully known
    occluded = (mask == 128).mean()
    assert 0.02 < occluded < 0.2
    # the exact z-buffer mask agrees with the left-disparity-only derivation (used for Motorcycle)
    derived = make_samples.occlusion_mask_from_gt(scene.gt)
    assert (derived == mask).mean() > 0.99


def test_negative_scene_range():
    scene = load_scene(SAMPLES, "negative")
    calib = read_middlebury_calib(SAMPLES / "negative" / "calib.txt")
    assert calib.vmin < 0 and scene.gt.min() < 0 < scene.gt.max()
    assert scene.min_disparity == math.floor(calib.vmin) - 2 <= scene.gt.min()
    assert scene.gt.max() <= scene.min_disparity + scene.num_disparities - 2  # a pixel of margin
    assert np.all(scene.gt + calib.doffs > 0)  # every point in front of the camera


def test_planes_scene_has_slant_and_several_depths():
    gt = load_scene(SAMPLES, "planes").gt
    levels = np.unique(np.round(gt, 3))
    assert len(levels) > 100  # the slanted ramp
    for d in (6.0, 28.0, 40.0):
        assert (np.abs(gt - d) < 1e-6).mean() > 0.03


def test_motorcycle_sample():
    folder = SAMPLES / "motorcycle"
    calib = read_middlebury_calib(folder / "calib.txt")
    assert calib.focal_px == pytest.approx(994.978) and calib.cx_left == pytest.approx(311.193)
    assert calib.cy == pytest.approx(254.877) and calib.doffs == pytest.approx(31.086)
    assert calib.baseline == pytest.approx(193.001) and calib.baseline_unit == "mm"
    scene = load_scene(SAMPLES, "motorcycle")
    assert scene.size == (calib.width, calib.height)
    assert 0.85 < scene.gt_known.mean() < 0.99
    assert np.nanmax(scene.gt) < calib.ndisp and np.nanmin(scene.gt) > 0
    assert np.isinf(read_pfm(folder / "disp0GT.pfm")).any()  # unknown stored as inf
    assert (folder / "README.md").is_file()


def test_motorcycle_copy_matches_scikit_image(make_samples, tmp_path):
    skdata = pytest.importorskip("skimage.data")
    from pathlib import Path

    src = Path(skdata.__file__).resolve().parent
    if not (src / "motorcycle_disp.npz").is_file():
        pytest.skip("scikit-image ships no motorcycle files here")
    out = make_samples.copy_motorcycle(tmp_path)
    committed = SAMPLES / "motorcycle"
    for f in ("im0.png", "im1.png"):
        assert (out / f).read_bytes() == (committed / f).read_bytes()
    np.testing.assert_array_equal(read_disparity(out / "disp0GT.pfm"),
                                  read_disparity(committed / "disp0GT.pfm"))
    np.testing.assert_array_equal(_png(out / "mask0nocc.png"), _png(committed / "mask0nocc.png"))
    assert (out / "calib.txt").read_text() == (committed / "calib.txt").read_text()
