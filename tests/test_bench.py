"""`stereo bench`, stereo.evaluation.bench and stereo.evaluation.middlebury, end to end on small scenes."""

import json
import math
import shutil
import sys
import types

import numpy as np
import pytest

from stereo.evaluation.bench import (METHODS, available_methods, opencv_range, opencv_to_float, resolve_methods,
                          markdown_report, run_benchmark)
from stereo.cli.main import main
from stereo.errors import FileFormatError, ParameterError
from stereo.evaluation.middlebury import list_scenes, load_scene
from stereo.paths import middlebury_dir, samples_dir

OPENCV = ["opencv-bm", "opencv-sgbm"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A MiddEval3-style folder with the two synthetic sample scenes (and a stray file)."""
    root = tmp_path_factory.mktemp("midd")
    for name in ("planes", "negative"):
        shutil.copytree(samples_dir() / name, root / name)
    (root / "README.txt").write_text("not a scene")
    (root / "empty").mkdir()
    return root


def test_list_and_load_scene(dataset):
    assert list_scenes(dataset) == ["negative", "planes"]
    scene = load_scene(dataset, "planes")
    assert scene.left.dtype == np.uint8 and scene.left.shape == (240, 320, 3)
    assert scene.gt.dtype == np.float32 and scene.nonocc.dtype == bool
    assert scene.min_disparity == 0 and scene.num_disparities == 48
    assert scene.nonocc.sum() < scene.gt_known.sum() == scene.gt.size
    neg = load_scene(dataset, "negative")
    assert (neg.min_disparity, neg.num_disparities) == neg.calib.search_range() == (-9, 34)


def test_load_scene_missing_file_names_it(dataset, tmp_path):
    broken = tmp_path / "data"
    shutil.copytree(dataset / "planes", broken / "planes")
    (broken / "planes" / "mask0nocc.png").unlink()
    with pytest.raises(FileFormatError, match="mask0nocc.png: missing scene file"):
        load_scene(broken, "planes")
    with pytest.raises(FileFormatError, match="no such scene folder"):
        load_scene(broken, "Teddy")
    with pytest.raises(FileFormatError, match="no scenes found"):
        list_scenes(tmp_path / "data" / "planes")
    with pytest.raises(FileFormatError, match="dataset folder not found"):
        list_scenes(tmp_path / "nowhere")


def test_opencv_conversions():
    assert opencv_range(0, 70) == (0, 80)
    assert opencv_range(-7, 32) == (-7, 32)
    assert opencv_range(3, 1) == (3, 16)
    d16 = np.array([[-8 * 16, -7 * 16, 0, 37, 24 * 16]], np.int16)  # -8*16 = OpenCV's invalid for min -7
    out = opencv_to_float(d16, -7)
    assert np.isnan(out[0, 0]) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 1:], [-7.0, 0.0, 37 / 16, 24.0])


def test_method_registry():
    assert list(METHODS) == ["ours-bm", "ours-sgbm", "ours-sgbm-sparse", "opencv-bm", "opencv-sgbm", "opencv-hh",
                             "opencv-3way", "pandora"]
    assert set(OPENCV + ["opencv-hh", "opencv-3way"]) <= set(available_methods())
    assert resolve_methods(None) == available_methods()
    with pytest.raises(ParameterError, match="unknown method 'foo'; valid methods: ours-bm, ours-sgbm"):
        resolve_methods(["foo"])


def test_cli_end_to_end(dataset, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    monkeypatch.setenv("STEREO_DATA", str(dataset))  # no DATASET_DIR: the default comes from the env
    rc = main(["bench", "--methods", ",".join(OPENCV), "--scenes", "planes", "negative", "--repeat", "2",
               "--out", str(out), "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "MEAN" in text and "opencv-sgbm" in text and "-9..38" in text
    data = json.loads((out / "results.json").read_text())
    assert data["meta"]["repeat"] == 2 and data["meta"]["scenes"] == ["planes", "negative"]
    rows = {(r["scene"], r["method"]): r for r in data["results"]}
    assert set(rows) == {(s, m) for s in ("planes", "negative") for m in OPENCV}
    for (scene, _), r in rows.items():
        assert (r["min_disparity"], r["num_disparities"]) == ((0, 48) if scene == "planes" else (-9, 48))
        assert (r["width"], r["height"]) == (320, 240) and len(r["times_s"]) == 2
        assert r["time_s"] == pytest.approx(float(np.median(r["times_s"])))
        assert r["mdisp_per_s"] == pytest.approx(320 * 240 * r["num_disparities"] / r["time_s"] / 1e6)
        for region in ("nonocc", "all"):
            m = r[region]
            assert m["bad0.5"] >= m["bad1"] >= m["bad2"] >= m["bad4"] >= 0
            assert 0 < m["density"] <= 100 and m["avgerr"] <= m["rms"]
        assert r["nonocc"]["n_pixels"] < r["all"]["n_pixels"] == 320 * 240
        assert 0 < r["abs_rel"] < 0.2 and r["first_call_s"] > 0
    # SGBM on clean synthetic planes must be accurate; BM worse but sane.
    assert rows["planes", "opencv-sgbm"]["nonocc"]["bad2"] < 15
    assert rows["negative", "opencv-sgbm"]["nonocc"]["bad2"] < 15
    assert rows["planes", "opencv-bm"]["nonocc"]["bad4"] < 30
    mean = data["mean"]["opencv-sgbm"]["nonocc"]["bad2"]
    assert mean == pytest.approx((rows["planes", "opencv-sgbm"]["nonocc"]["bad2"]
                                  + rows["negative", "opencv-sgbm"]["nonocc"]["bad2"]) / 2)
    md = (out / "results.md").read_text()
    assert "| planes | opencv-bm |" in md and "## Depth and speed" in md
    for scene in ("planes", "negative"):
        assert (out / f"{scene}_gt.png").is_file()
        for m in OPENCV:
            assert (out / f"{scene}_{m}_disp.png").stat().st_size > 0
            assert (out / f"{scene}_{m}_error.png").stat().st_size > 0
    assert not [p for p in tmp_path.iterdir() if ".staging." in p.name]  # atomic output cleaned up


@pytest.mark.parametrize("name", ["ours-bm", "ours-sgbm", "ours-sgbm-sparse"])
def test_our_matchers_in_bench(dataset, name):
    if name not in available_methods():
        pytest.skip(f"{name} not available: {METHODS[name].unavailable_reason()}")
    report = run_benchmark(dataset, [name, "opencv-sgbm"], ["planes"], repeat=1, progress=False)
    ours, cv = report.rows
    assert ours["method"] == name and (ours["min_disparity"], ours["num_disparities"]) == (0, 48)
    # our matchers search the same (rounded) range and must beat OpenCV SGBM on exact planes
    assert ours["nonocc"]["bad2"] < cv["nonocc"]["bad2"]
    assert ours["nonocc"]["bad2"] < 5.0
    assert ours["dense_submission"] == (name == "ours-sgbm")


def test_dense_submission_scoring(dataset):
    """ours-sgbm submits SGBM's dense output; density and locking still count its estimates only."""
    from stereo import flags
    from stereo.evaluation.datasets import load_item
    from stereo.sgbm import SGBM

    report = run_benchmark(dataset, ["ours-sgbm", "ours-sgbm-sparse"], ["planes"], repeat=1, progress=False)
    dense, sparse = report.rows
    item = load_item(dataset, "planes", None)
    res = SGBM(0, 48, fill=True).match(item.left, item.right, confidence=False)
    assert res.confidence is None and not np.isnan(res.disparity).any()
    estimated = (res.mask & flags.FILLED) == 0
    # the plain NaN map is the dense map's estimates
    nan_map = SGBM(0, 48).compute(item.left, item.right)
    np.testing.assert_array_equal(np.isfinite(nan_map), estimated)
    assert dense["density"] == pytest.approx(sparse["density"]) and dense["density"] < 100.0
    assert dense["valid_fraction"] == pytest.approx(sparse["valid_fraction"])
    # locking: estimates only (the dense output's edge median moves a few of them > 1 px)
    assert abs(dense["locking"]["n_pixels"] - sparse["locking"]["n_pixels"]) <= 0.01 * sparse["locking"]["n_pixels"]
    # the scored maps differ only where SGBM filled
    assert dense["nonocc"]["bad0.5"] != sparse["nonocc"]["bad0.5"] or estimated.all()
    assert "ours-sgbm" in markdown_report(report) and "own dense output" in markdown_report(report)


def test_split_output_errors():
    from stereo.evaluation.bench import split_output

    d = np.zeros((2, 3), np.float32)
    assert split_output(d)[1] is None
    with pytest.raises(ValueError, match="filled mask"):
        split_output((d, np.zeros((3, 2), bool)))


def test_cli_errors(dataset, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["bench", str(tmp_path / "missing"), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "dataset folder not found" in err and "missing" in err
    assert not out.exists()

    assert main(["bench", str(dataset), "--methods", "opencv-bm", "nope", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "unknown method 'nope'" in err and "opencv-3way" in err

    assert main(["bench", str(dataset), "--scenes", "Teddy", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "unknown scene 'Teddy'" in err and "negative, planes" in err

    assert main(["bench", str(dataset), "--repeat", "0", "--no-progress"]) == 2
    assert "repeat must be >= 1" in capsys.readouterr().err


@pytest.mark.middlebury
def test_bench_on_middlebury_artl():
    root = middlebury_dir()
    if not (root / "ArtL" / "disp0GT.pfm").is_file():
        pytest.skip(f"MiddEval3 trainingQ not found at {root} (set STEREO_DATA)")
    assert len(list_scenes(root)) >= 10
    report = run_benchmark(root, ["opencv-sgbm"], ["ArtL"], repeat=1, progress=False)
    (row,) = report.rows
    assert (row["min_disparity"], row["num_disparities"]) == (0, 64)  # ndisp 64
    assert row["resolution_factor"] == 4 and row["official"]["nonocc"]["bad2.0"] == row["nonocc"]["bad0.5"]
    assert report.weighted_mean["opencv-sgbm"]["nonocc"]["bad2"] == pytest.approx(row["nonocc"]["bad2"])
    # OpenCV SGBM (blockSize 5) on ArtL quarter-res: ~18 % bad2 nonocc, dense scoring
    assert 8.0 < row["nonocc"]["bad2"] < 30.0
    assert row["all"]["bad2"] > row["nonocc"]["bad2"]
    assert math.isfinite(row["abs_rel"]) and row["abs_rel"] < 0.1


def test_cli_dataset_after_list_options(dataset, capsys):
    # `--scenes planes DIR`: argparse's nargs="+" swallows DIR; the command takes it back.
    rc = main(["bench", "--methods", "opencv-bm", "--scenes", "planes", str(dataset), "--repeat", "1",
               "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "planes" in out and "negative" not in out


def test_pandora_unavailable_without_pandora(dataset, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pandora", None)  # `import pandora` now raises ImportError
    reason = METHODS["pandora"].unavailable_reason()
    assert reason.startswith("pandora cannot be imported") and "pip install 'pandora[sgm]'" in reason
    assert "pandora" not in available_methods() and "pandora" not in resolve_methods(None)
    with pytest.raises(ParameterError, match=r"method 'pandora' is not available: pandora cannot be imported"):
        resolve_methods(["opencv-bm", "pandora"])
    assert main(["bench", str(dataset), "--methods", "pandora", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pandora cannot be imported" in err
    # Pandora without its SGM plugin is not enough either: the reason names the plugin.
    monkeypatch.setitem(sys.modules, "pandora", types.ModuleType("pandora"))
    monkeypatch.setitem(sys.modules, "pandora_plugin_libsgm", None)
    assert METHODS["pandora"].unavailable_reason().startswith("pandora_plugin_libsgm cannot be imported")


def test_pandora_on_synthetic_scenes(dataset):
    pytest.importorskip("pandora")
    pytest.importorskip("pandora_plugin_libsgm")
    from stereo.pandora_peer import pandora_matcher

    scene = load_scene(dataset, "negative")  # range -9..24: checks Pandora's opposite sign convention
    dmin, n = scene.min_disparity, scene.num_disparities
    disp = pandora_matcher(dmin, n)(scene.left, scene.right)
    assert disp.dtype == np.float32 and disp.shape == scene.gt.shape
    valid = np.isfinite(disp)
    assert 0.5 < valid.mean() < 0.995  # cross-check and borders invalidate some pixels, not most
    assert disp[valid].min() >= dmin and disp[valid].max() <= dmin + n - 1
    # Pandora keeps values at pixels its validity_mask flags (occlusion, mismatch): they must come
    # back NaN. Ignoring the mask leaves ~90 % of the occluded pixels valid; honouring it, ~6 %.
    assert (~valid[~scene.nonocc]).mean() > 0.5 > (~valid[scene.nonocc]).mean()
    err = np.abs(disp - scene.gt)[valid & scene.nonocc]
    assert np.median(err) < 0.5 and (err > 2).mean() < 0.05

    report = run_benchmark(dataset, ["pandora"], ["planes"], repeat=1, progress=False)
    (row,) = report.rows
    assert row["method"] == "pandora" and (row["min_disparity"], row["num_disparities"]) == (0, 48)
    assert row["nonocc"]["bad2"] < 10 and row["first_call_s"] > 0


def test_official_units_quantiles_and_sdk_layout(dataset, tmp_path):
    from stereo.evaluation.bench import write_report
    from stereo.io import read_disparity

    report = run_benchmark(dataset, ["opencv-sgbm"], ["planes"], repeat=1, progress=False, resolution="Q",
                           keep_disparities=True)
    (row,) = report.rows
    assert row["resolution_factor"] == 4
    for region in ("nonocc", "all"):
        native, official = row[region], row["official"][region]
        # quarter resolution: official bad 2.0 (full-res px) is native bad 0.5
        assert official["bad2.0"] == native["bad0.5"]
        assert official["avgerr"] == pytest.approx(4 * native["avgerr"])
        assert official["A90"] == pytest.approx(4 * native["A90"])
        assert native["A50"] <= native["A90"] <= native["A95"] <= native["A99"]
        assert official["bad0.5"] >= official["bad1.0"] >= official["bad2.0"] >= official["bad4.0"]
    assert report.weighted_mean == {}  # "planes" is not a MiddEval3 training scene: no official weight
    names = write_report(report, tmp_path / "out")
    pfm = tmp_path / "out" / "trainingQ" / "planes" / "disp0OpencvSgbm.pfm"
    assert "trainingQ/planes/disp0OpencvSgbm.pfm" in names and pfm.is_file()
    np.testing.assert_array_equal(np.isnan(read_disparity(pfm)), np.isnan(report.disparities["planes", "opencv-sgbm"]))
    t = float((tmp_path / "out" / "trainingQ" / "planes" / "timeOpencvSgbm.txt").read_text())
    assert t == pytest.approx(row["time_s"], rel=1e-4)
    md = (tmp_path / "out" / "results.md").read_text()
    assert "## Official units (full-resolution px, factor 4), non-occluded" in md


def test_resolution_factor_and_official_weights(tmp_path):
    from stereo.evaluation.middlebury import OFFICIAL_TRAINING_WEIGHTS, official_weighted_mean, resolution_factor

    assert resolution_factor(tmp_path / "MiddEval3" / "trainingQ") == 4
    assert resolution_factor(tmp_path / "trainingH" / "sub") == 2
    assert resolution_factor(tmp_path / "trainingQ", "F") == 1
    assert resolution_factor(tmp_path / "somewhere") is None
    with pytest.raises(ParameterError, match="resolution must be F, H, Q"):
        resolution_factor(tmp_path, "X")
    assert len(OFFICIAL_TRAINING_WEIGHTS) == 15 and sum(OFFICIAL_TRAINING_WEIGHTS.values()) == 100
    # renormalised over the scenes given: (4 * 10 + 8 * 40) / 12
    assert official_weighted_mean({"ArtL": 10.0, "Adirondack": 40.0}) == pytest.approx(30.0)
    assert official_weighted_mean({"ArtL": 10.0, "planes": 40.0}) is None


def test_weighted_mean_in_report_on_middlebury_names(tmp_path):
    # two sample scenes under MiddEval3 training names: the report gives the weighted mean beside the plain one
    from stereo.evaluation.bench import format_table
    for src, name in (("planes", "ArtL"), ("motorcycle", "Adirondack")):
        shutil.copytree(samples_dir() / src, tmp_path / name)
    report = run_benchmark(tmp_path, ["opencv-bm"], repeat=1, progress=False)
    bad = {r["scene"]: r["nonocc"]["bad2"] for r in report.rows}
    w = report.weighted_mean["opencv-bm"]["nonocc"]["bad2"]
    assert w == pytest.approx((4 * bad["ArtL"] + 8 * bad["Adirondack"]) / 12)
    assert report.mean["opencv-bm"]["nonocc"]["bad2"] == pytest.approx((bad["ArtL"] + bad["Adirondack"]) / 2)
    text = format_table(report)
    assert "WMEAN" in text and "@F columns need the resolution" in text


def test_test_scenes_without_ground_truth_are_timed_and_written_for_the_sdk(tmp_path, capsys):
    root = tmp_path / "testQ"
    shutil.copytree(samples_dir() / "planes", root / "planes")
    for f in ("disp0GT.pfm", "mask0nocc.png"):
        (root / "planes" / f).unlink()
    assert main(["bench", str(root), "--methods", "opencv-bm", "--repeat", "1", "--no-progress",
                 "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "speed only" in text and "bad2" not in text
    assert (tmp_path / "out" / "testQ" / "planes" / "disp0OpencvBm.pfm").is_file()
    assert not (tmp_path / "out" / "planes_opencv-bm_error.png").exists()
