"""stereo.evaluation beyond Middlebury: KITTI layout and D1, `stereo eval`, stereo as metric anchor."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calib import StereoCalibration
from stereo.cli.main import main
from stereo.errors import InputError, ParameterError
from stereo.evaluation.align import fit_affine
from stereo.evaluation.evaluate import evaluate_map
from stereo.evaluation.metrics import fill_invalid_like_kitti, kitti_errors
from stereo.io import write_disparity, write_image, write_kitti_disparity
from stereo.paths import middlebury_dir
from stereo.relative import anchor_to_stereo, stereo_vs_relative

NAN = np.nan
CAL = StereoCalibration(focal_px=700.0, cx_left=100.0, cx_right=100.0, cy=60.0, baseline=0.5, width=160, height=120)


def _shared_scenes(*names):
    root = middlebury_dir()
    if not all((root / n / "disp0GT.pfm").is_file() for n in names):
        pytest.skip(f"MiddEval3 trainingQ scenes {names} not found at {root} (set STEREO_DATA)")
    from stereo.evaluation.middlebury import load_scene
    return [load_scene(root, n) for n in names]


# ---- KITTI rules --------------------------------------------------------------------------------

def naive_kitti_fill(disp):
    """The devkit's interpolateBackground written as its loops."""
    d = np.array(disp, dtype=np.float64)
    h, w = d.shape
    valid = np.isfinite(d)
    for y in range(h):
        count = 0
        for x in range(w):
            if valid[y, x]:
                if count >= 1:
                    u1, u2 = x - count, x - 1
                    if u1 > 0 and u2 < w - 1:
                        d[y, u1:u2 + 1] = min(d[y, u1 - 1], d[y, u2 + 1])
                count = 0
            else:
                count += 1
        row_valid = np.flatnonzero(valid[y])
        if row_valid.size:
            d[y, :row_valid[0]] = d[y, row_valid[0]]
            d[y, row_valid[-1] + 1:] = d[y, row_valid[-1]]
    valid = np.isfinite(d)
    for x in range(w):
        col = np.flatnonzero(valid[:, x])
        if col.size:
            d[:col[0], x] = d[col[0], x]
            d[col[-1] + 1:, x] = d[col[-1], x]
    return d.astype(np.float32)


@pytest.mark.parametrize("density", [0.1, 0.6, 0.97])
def test_kitti_fill_matches_devkit_loops(density):
    rng = np.random.default_rng(3)
    d = rng.uniform(1, 90, (17, 29)).astype(np.float32)
    d[rng.random(d.shape) > density] = NAN
    d[0] = NAN  # an all-invalid top row: filled from below, as the devkit's column pass does
    np.testing.assert_array_equal(fill_invalid_like_kitti(d), naive_kitti_fill(d))


def test_d1_hand_computed():
    gt = np.array([[10.0, 10.0, 100.0, 100.0, 50.0, NAN]], np.float32)
    # errors: 2 (small), 4 (> 3 px and > 5 % of 10), 4 (> 3 px but 4 % of 100), 6 (> 5 % of 100), missing
    disp = np.array([[12.0, 14.0, 104.0, 106.0, NAN, 7.0]], np.float32)
    e = kitti_errors(disp, gt)
    # the missing estimate at x=4 is interpolated with min(106, 7) = 7: error 43 -> outlier
    assert e["n_pixels"] == 5 and e["density"] == pytest.approx(80.0)
    assert e["d1"] == pytest.approx(60.0)  # pixels 1, 3, 4
    assert e["bad3"] == pytest.approx(80.0)
    assert e["epe"] == pytest.approx((2 + 4 + 4 + 6 + 43) / 5)


def _make_kitti(root, scenes):
    from stereo.evaluation.kitti import export_kitti_layout
    names = export_kitti_layout(middlebury_dir(), root, [s.name for s in scenes])
    assert names == ["000000_10", "000001_10"]
    (root / "image_2" / "000099_11.png").write_bytes((root / "image_2" / "000000_10.png").read_bytes())  # no GT
    # KITTI 2015 object map for the first frame: the near half of the GT is "foreground"
    gt0 = scenes[0].gt
    obj = (np.nan_to_num(gt0, nan=0.0) > np.nanmedian(gt0)).astype(np.uint8)
    (root / "obj_map").mkdir()
    write_image(root / "obj_map" / "000000_10.png", obj)


def test_kitti_layout_bench_scores_d1(tmp_path, capsys):
    scenes = _shared_scenes("ArtL", "Teddy")
    root = tmp_path / "kitti"
    _make_kitti(root, scenes)
    out = tmp_path / "out"
    rc = main(["bench", str(root), "--methods", "opencv-sgbm", "--repeat", "1", "--num-disparities", "64",
               "--no-progress", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "D1-all%" in text and "D1-noc%" in text and "000001_10" in text
    data = json.loads((out / "results.json").read_text())
    assert data["meta"]["layout"] == "kitti" and data["meta"]["scenes"] == ["000000_10", "000001_10"]
    for r, s in zip(data["results"], scenes):
        k = r["kitti"]
        # the GT round trip through 16-bit PNG keeps D1 within a hair of scoring the float GT
        disp = np.asarray(__import__("stereo.io", fromlist=["x"]).read_kitti_disparity(
            out / "kitti" / "opencv-sgbm" / "disp_0" / f"{r['scene']}.png"))
        direct = kitti_errors(disp, s.gt)
        assert k["all"]["d1"] == pytest.approx(direct["d1"], abs=0.3)
        assert 0 < k["noc"]["d1"] <= k["all"]["d1"] < 30  # occluded pixels are the hard ones
        assert 50 < k["all"]["density"] < 100 and k["all"]["n_pixels"] == int(np.isfinite(s.gt).sum())
        assert 0 < r["abs_rel"] < 0.2  # depth metrics from calib_cam_to_cam
    md = (out / "results.md").read_text()
    assert "## KITTI, all GT pixels" in md and "background / foreground" in md
    k0 = data["results"][0]["kitti"]
    assert k0["bg"]["n_pixels"] + k0["fg"]["n_pixels"] == k0["all"]["n_pixels"]
    assert k0["bg"]["d1"] * k0["bg"]["n_pixels"] + k0["fg"]["d1"] * k0["fg"]["n_pixels"] == pytest.approx(
        k0["all"]["d1"] * k0["all"]["n_pixels"])
    assert "bg" not in data["results"][1]["kitti"]  # no obj_map for that frame


def test_plain_pairs_are_timed_only(tmp_path, capsys):
    from stereo.paths import samples_dir
    from stereo.io import read_image
    for i, scene in enumerate(("planes", "motorcycle")):
        write_image(tmp_path / f"left{i}.png", read_image(samples_dir() / scene / "im0.png"))
        write_image(tmp_path / f"right{i}.png", read_image(samples_dir() / scene / "im1.png"))
    rc = main(["bench", str(tmp_path), "--methods", "opencv-bm", "--repeat", "1", "--num-disparities", "48",
               "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "speed only" in text and "left0" in text and "valid%" in text and "bad2" not in text


# ---- stereo eval ------------------------------------------------------------------------------

def _synthetic_depth(shape=(120, 160), seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:shape[0], :shape[1]]
    z = 2.0 + 6.0 * (x / shape[1]) + 1.5 * np.sin(y / 9.0) + rng.uniform(0, 0.3, shape)
    return z.astype(np.float32)


def test_eval_affine_relative_map_absrel_zero_after_scale_shift():
    z = _synthetic_depth()
    rel = (4.0 / z + 0.3).astype(np.float32)  # affine-invariant inverse depth, as MiDaS outputs
    r = evaluate_map(rel, z, kind="inverse-depth", gt_kind="depth", align="scale-shift")
    assert r["depth"]["abs_rel"] < 1e-5 and r["depth"]["delta1"] == 100.0
    assert r["alignment"]["scale"] == pytest.approx(0.25, rel=1e-5)
    assert r["alignment"]["shift"] == pytest.approx(-0.075, abs=1e-5)
    assert "scale-shift alignment in inverse depth (1/m)" in r["alignment"]["description"]
    # a scale alone cannot undo the shift
    assert evaluate_map(rel, z, kind="inverse-depth", gt_kind="depth", align="scale")["depth"]["abs_rel"] > 0.05


def test_eval_exact_values_without_alignment():
    z = _synthetic_depth()
    r = evaluate_map(z * 1.1, z, kind="depth", gt_kind="depth")
    d = r["depth"]
    assert d["abs_rel"] == pytest.approx(0.1, abs=1e-6)
    assert d["sq_rel"] == pytest.approx(float(np.mean(0.01 * z.astype(np.float64))), rel=1e-5)
    assert d["rmse"] == pytest.approx(0.1 * float(np.sqrt(np.mean(z.astype(np.float64) ** 2))), rel=1e-5)
    assert d["rmse_log"] == pytest.approx(np.log(1.1), rel=1e-5)
    assert d["log10"] == pytest.approx(np.log10(1.1), rel=1e-5)
    assert d["delta1"] == 100.0 and r["alignment"]["mode"] == "none" and r["disparity"] is None
    # caps: GT beyond max_depth is not scored; predictions are clipped
    capped = evaluate_map(z * 1.1, z, kind="depth", gt_kind="depth", max_depth=5.0)["depth"]
    assert capped["n_pixels"] == int((z <= 5.0).sum())


def test_eval_disparity_with_calibration_and_bad_n():
    z = _synthetic_depth()
    from stereo.triangulation import disparity_from_depth
    gt_d = disparity_from_depth(z, CAL)
    pred = gt_d.copy()
    pred[:, :16] += 2.5  # 10 % of the pixels off by 2.5 px
    pred[0, 0] = NAN
    r = evaluate_map(pred, gt_d, kind="disparity", gt_kind="disparity", calib=CAL)
    e = r["disparity"]
    n = gt_d.size - 1
    assert e["bad2"] == pytest.approx(100.0 * (16 * 120 - 1) / n) and e["bad3"] == 0.0
    assert e["density"] == pytest.approx(100.0 * n / gt_d.size)
    assert r["depth"]["abs_rel"] > 0 and r["depth"]["n_pixels"] == gt_d.size
    with pytest.raises(ParameterError, match="needs a calibration"):
        evaluate_map(z, gt_d, kind="depth", gt_kind="disparity")
    with pytest.raises(ParameterError, match="depth caps need a metric ground truth"):
        evaluate_map(pred, gt_d, max_depth=10.0)


def test_robust_fit_ignores_outliers():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, (60, 60)).astype(np.float32)
    y = 3.0 * x + 0.5
    y[rng.random(y.shape) < 0.2] += 5.0  # 20 % wild pixels
    plain = fit_affine(x, y)
    robust = fit_affine(x, y, robust=True)
    assert abs(plain.shift - 0.5) > 0.5
    assert robust.scale == pytest.approx(3.0, rel=1e-4) and robust.shift == pytest.approx(0.5, abs=1e-4)
    assert robust.n_used < robust.n_candidates
    with pytest.raises(ParameterError, match="align must be one of"):
        fit_affine(x, y, mode="affine")
    with pytest.raises(InputError, match="constant"):
        fit_affine(np.ones((4, 4), np.float32), y[:4, :4])


def test_cli_eval_file_json_and_markdown(tmp_path, capsys):
    z = _synthetic_depth()
    rel = (4.0 / z + 0.3).astype(np.float32)
    np.save(tmp_path / "rel.npy", rel)
    write_disparity(tmp_path / "gt.pfm", z)
    rc = main(["eval", str(tmp_path / "rel.npy"), "--gt", str(tmp_path / "gt.pfm"), "--gt-kind", "depth",
               "--kind", "inverse-depth", "--align", "scale-shift", "--json", str(tmp_path / "r.json")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "alignment: scale-shift" in out and "| abs_rel" not in out.split("\n")[0]
    data = json.loads((tmp_path / "r.json").read_text())
    (r,) = data["results"]
    assert r["depth"]["abs_rel"] < 1e-5 and r["alignment"]["mode"] == "scale-shift"
    assert {"abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "delta1", "delta2", "delta3"} <= set(r["depth"])
    # bad input: one line, exit 2, nothing written
    rc = main(["eval", str(tmp_path / "rel.npy"), "--gt", str(tmp_path / "gt.pfm"), "--kind", "depth",
               "--json", str(tmp_path / "never.json")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "needs a calibration" in err and err.count("\n") == 0
    assert not (tmp_path / "never.json").exists()


def test_cli_eval_folder_against_middlebury_dataset(tmp_path, capsys):
    from stereo.paths import samples_dir
    from stereo.io import read_disparity
    preds = tmp_path / "preds"
    for scene in ("planes", "motorcycle"):
        gt = read_disparity(samples_dir() / scene / "disp0GT.pfm")
        (preds / scene).mkdir(parents=True)
        write_disparity(preds / scene / "disp0Mine.pfm", gt + 0.25)
    rc = main(["eval", str(preds), "--gt", str(samples_dir()), "--json", str(tmp_path / "r.json")])
    assert rc == 0
    data = json.loads((tmp_path / "r.json").read_text())
    names = [r["name"] for r in data["results"]]
    assert names == ["motorcycle", "planes"]
    for r in data["results"]:
        assert r["disparity"]["avgerr"] == pytest.approx(0.25, abs=1e-4) and r["disparity"]["bad1"] == 0.0
        assert r["depth"]["abs_rel"] > 0  # calib.txt of each scene gives metric depth
    assert data["mean"]["disparity"]["avgerr"] == pytest.approx(0.25, abs=1e-4)
    rc = main(["eval", str(preds), "--gt", str(samples_dir()), "--region", "nonocc", "--json", str(tmp_path / "n.json")])
    nocc = json.loads((tmp_path / "n.json").read_text())["results"]
    assert rc == 0 and all(r["region"] == "nonocc" for r in nocc)
    assert all(n["disparity"]["n_pixels"] < a["disparity"]["n_pixels"] for n, a in zip(nocc, data["results"]))


# ---- stereo as the metric anchor --------------------------------------------------------------

def test_anchor_recovers_known_scale_and_shift_and_fills_holes():
    rng = np.random.default_rng(11)
    z = _synthetic_depth(seed=2)
    rel = (2.0 / z + 0.4 + rng.normal(0, 0.002, z.shape)).astype(np.float32)  # + noise
    stereo = z.copy()
    stereo[:, 100:] = NAN                     # a hole stereo could not match
    stereo[rng.random(z.shape) < 0.05] *= 3   # wrong matches, rejected by the robust fit
    conf = np.ones_like(z)
    res = anchor_to_stereo(rel, stereo, confidence=conf)
    assert res.fit.scale == pytest.approx(0.5, rel=0.01) and res.fit.shift == pytest.approx(-0.2, abs=0.005)
    hole = np.zeros(z.shape, bool)
    hole[:, 100:] = True
    err = np.abs(res.depth[hole] - z[hole]) / z[hole]
    assert np.mean(err) < 0.01                # the hole is filled with metric depth
    assert np.isfinite(res.filled).all() and res.coverage_filled == 100.0 < 100.0 + res.coverage_stereo
    np.testing.assert_array_equal(res.filled[~hole & np.isfinite(stereo)], stereo[~hole & np.isfinite(stereo)])
    check = stereo_vs_relative(stereo, rel)
    assert 0.05 < check["metrics"]["abs_rel"] < 0.2   # the wrong matches show up in the reverse check
    with pytest.raises(InputError, match="confident valid stereo pixels"):
        anchor_to_stereo(rel, stereo, confidence=np.zeros_like(z))


def test_anchor_on_real_scene_with_non_affine_distortion():
    (scene,) = _shared_scenes("Teddy")
    from stereo.triangulation import depth_from_disparity
    z = depth_from_disparity(scene.gt, scene.calib)   # Teddy: 1.15 .. 1.79 m
    inv = 1.0 / z
    x = np.arange(z.shape[1])[None, :] / z.shape[1]
    v = np.isfinite(z)

    def err(rel):
        res = anchor_to_stereo(rel.astype(np.float32), z, robust=False)
        return float(np.mean(np.abs(res.depth[v] - z[v]) / z[v])), res.residual_abs_rel

    ok, ok_res = err(7.0 * inv + 1.0)                     # affine: recovered exactly
    square, _ = err((inv / np.nanmax(inv)) ** 2)          # monotone warp: nearly affine over 1.15-1.79 m
    tilt, tilt_res = err(inv * (1.0 + 0.3 * x))           # spatial gain (a network's tilt): not recoverable
    assert ok < 1e-4 and ok_res < 1e-4
    assert 1e-3 < square < 0.01
    assert tilt > 0.03 and tilt_res == pytest.approx(tilt)  # the residual reports what stays wrong


def test_cli_match_pictures_and_view_montage(tmp_path, capsys):
    from stereo.io import read_image
    from stereo.paths import samples_dir
    planes = samples_dir() / "planes"
    out = tmp_path / "m"
    assert main(["match", str(planes / "im0.png"), str(planes / "im1.png"), "-o", str(out),
                 "--calib", str(planes / "calib.txt")]) == 0
    disp_png, depth_png = read_image(out / "disparity.png"), read_image(out / "depth.png")
    assert disp_png.shape[1] > 320 and depth_png.shape[1] > 320  # colour bars beside the 320 px maps
    assert not np.array_equal(disp_png[:, :320], depth_png[:, :320])  # depth is drawn as depth
    capsys.readouterr()
    assert main(["view", str(out), "--left", str(planes / "im0.png")]) == 0
    assert "view.png" in capsys.readouterr().out
    view = read_image(out / "view.png")
    assert view.shape[0] > 2 * 240 and view.shape[1] > 2 * 320
    assert main(["view", str(tmp_path)]) == 2
    assert "no disparity.pfm" in capsys.readouterr().err


def test_cli_eval_anchor(tmp_path, capsys):
    from stereo.io import read_disparity
    from stereo.paths import samples_dir
    from calib.middlebury import read_middlebury_calib
    from stereo.triangulation import depth_from_disparity
    scene = samples_dir() / "motorcycle"
    gt = read_disparity(scene / "disp0GT.pfm")
    z = depth_from_disparity(gt, read_middlebury_calib(scene / "calib.txt"))
    stereo = z.copy()
    stereo[:, : z.shape[1] // 3] = NAN
    write_disparity(tmp_path / "stereo.pfm", stereo)
    np.save(tmp_path / "rel.npy", (5.0 / z + 2.0).astype(np.float32))
    rc = main(["eval", str(tmp_path / "rel.npy"), "--kind", "inverse-depth", "--anchor", str(tmp_path / "stereo.pfm"),
               "--gt", str(scene / "disp0GT.pfm"), "--calib", str(scene / "calib.txt"), "-o", str(tmp_path / "a"),
               "--json", str(tmp_path / "a.json")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "scale-shift alignment in inverse depth (1/m)" in text and "coverage" in text
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["against_gt"]["anchored"]["depth"]["abs_rel"] < 1e-3
    assert data["against_gt"]["filled"]["depth"]["density"] > data["against_gt"]["stereo"]["depth"]["density"]
    filled = read_disparity(tmp_path / "a" / "depth_filled.pfm")
    assert np.isfinite(filled[np.isfinite(z)]).all() and (tmp_path / "a" / "depth.png").is_file()


def test_read_map_formats(tmp_path):
    import cv2
    from stereo.errors import FileFormatError
    from stereo.evaluation.mapio import read_map, read_mask
    png = np.array([[0, 256, 512], [1000, 65535, 7]], np.uint16)
    cv2.imwrite(str(tmp_path / "d.png"), png)
    m = read_map(tmp_path / "d.png")  # default scale 256 (KITTI); 0 = invalid
    assert np.isnan(m[0, 0]) and m[0, 1] == 1.0 and m[0, 2] == 2.0
    assert read_map(tmp_path / "d.png", scale=1000)[1, 0] == pytest.approx(1.0)  # e.g. millimetres
    (tmp_path / "bad.exr").write_bytes(b"not an exr")
    with pytest.raises(FileFormatError, match="cannot decode"):
        read_map(tmp_path / "bad.exr")
    with pytest.raises(FileFormatError, match="unsupported map extension"):
        read_map(tmp_path / "d.jpg")
    with pytest.raises(ParameterError, match="scale must be > 0"):
        read_map(tmp_path / "d.png", scale=0)
    mask = np.array([[255, 128, 0]], np.uint8)
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png", (1, 3)), [[True, False, False]])  # nocc rule
