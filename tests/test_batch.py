"""`stereo batch` on a real local Dask cluster (2 worker processes, one per module).

The dataset is made from the shipped samples: the two synthetic scenes with calib.txt and
ground truth, crops of the Motorcycle pair without calibration, one pair whose left image
is corrupt and one whose images differ in size. Speed-up is measured by
scripts/bench_batch.py, not here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from stereo.batch import MANIFEST, Manifest, run_batch
from stereo.cli.main import main
from stereo.paths import PROJECT_ROOT, samples_dir
from stereo.sources.datasets import (detect_layout, folder_pairs, kitti_pairs, list_file_pairs,
                                     list_pairs, middlebury_pairs)

SAMPLES = samples_dir()
GOOD_CALIBRATED = ("negative", "planes")
N_CROPS = 8


def _run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def _records(out):
    return [json.loads(line) for line in (Path(out) / MANIFEST).read_text().splitlines() if line.strip()]


def _tree(folder):
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed", reason="Dask (the [batch] extra) is not installed")
    from distributed import LocalCluster

    from stereo.batch import WORKER_ENV

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                     env=dict(WORKER_ENV))
    yield c.scheduler_address
    c.close()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """MiddEval3-layout folder: 2 calibrated scenes, N_CROPS uncalibrated crops, 2 bad pairs."""
    if not (SAMPLES / "motorcycle" / "im0.png").exists():
        pytest.skip(f"samples missing: {SAMPLES}")
    root = tmp_path_factory.mktemp("dataset")
    for name in GOOD_CALIBRATED:
        shutil.copytree(SAMPLES / name, root / name)
    l0 = cv2.imread(str(SAMPLES / "motorcycle" / "im0.png"))
    r0 = cv2.imread(str(SAMPLES / "motorcycle" / "im1.png"))
    for i in range(N_CROPS):  # same rows and columns on both sides: still a rectified pair
        y, x = 20 * i, 30 * i
        (root / f"crop{i}").mkdir()
        cv2.imwrite(str(root / f"crop{i}" / "im0.png"), l0[y:y + 160, x:x + 240])
        cv2.imwrite(str(root / f"crop{i}" / "im1.png"), r0[y:y + 160, x:x + 240])
    (root / "broken").mkdir()
    (root / "broken" / "im0.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    shutil.copy(root / "crop0" / "im1.png", root / "broken" / "im1.png")
    (root / "mismatch").mkdir()
    shutil.copy(root / "crop0" / "im0.png", root / "mismatch" / "im0.png")
    cv2.imwrite(str(root / "mismatch" / "im1.png"), r0[:150, :200])
    return root


# --------------------------------------------------------------------------------------
# Listing (no cluster)

def test_middlebury_listing_attaches_calib_and_ground_truth(dataset):
    assert detect_layout(dataset) == "middlebury"
    pairs = {p.name: p for p in middlebury_pairs(dataset)}
    assert sorted(pairs) == sorted(["broken", "mismatch", *GOOD_CALIBRATED, *(f"crop{i}" for i in range(N_CROPS))])
    assert pairs["planes"].calib.name == "calib.txt" and pairs["planes"].gt.name == "disp0GT.pfm"
    assert pairs["crop0"].calib is None and pairs["crop0"].gt is None


def test_kitti_listing_pairs_by_name_and_refuses_a_missing_view(tmp_path):
    for d in ("image_2", "image_3", "disp_occ_0"):
        (tmp_path / d).mkdir()
    for n in ("000001_10.png", "000000_10.png", "000000_11.png"):
        (tmp_path / "image_2" / n).write_bytes(b"x")
        (tmp_path / "image_3" / n).write_bytes(b"x")
    (tmp_path / "disp_occ_0" / "000000_10.png").write_bytes(b"x")
    assert detect_layout(tmp_path) == "kitti"
    pairs = list_pairs(tmp_path)
    assert [p.name for p in pairs] == ["000000_10", "000000_11", "000001_10"]
    assert pairs[0].right == tmp_path / "image_3" / "000000_10.png"
    assert pairs[0].gt == tmp_path / "disp_occ_0" / "000000_10.png" and pairs[1].gt is None
    (tmp_path / "image_3" / "000001_10.png").unlink()
    with pytest.raises(Exception, match="lack their other view.*000001_10"):
        kitti_pairs(tmp_path)


def test_list_file_relative_paths_comments_quotes_and_errors(tmp_path):
    (tmp_path / "a b").mkdir()
    text = ("# left right [calib]\n\n"
            "'a b/l.png' 'a b/r.png'   # quoted, with a space\n"
            "/abs/x/l.png /abs/x/r.png calib.txt\n"
            "other/l.png other/r.png\n")
    lst = tmp_path / "pairs.txt"
    lst.write_text(text)
    assert detect_layout(lst) == "list"
    pairs = list_file_pairs(lst)
    # left stems "l" collide: named after their folders ("a b" made safe)
    assert [p.name for p in pairs] == ["a_b_l", "x_l", "other_l"]
    assert pairs[0].left == tmp_path / "a b" / "l.png"
    assert pairs[1].left == Path("/abs/x/l.png") and pairs[1].calib == tmp_path / "calib.txt"
    lst.write_text("a/l.png a/r.png\nb/a/l.png b/a/r.png\n")  # folder names collide too: indices
    assert [p.name for p in list_file_pairs(lst)] == ["0_a_l", "1_a_l"]
    lst.write_text("only_one_field.png\n")
    with pytest.raises(Exception, match=r"pairs.txt:1: expected 'LEFT RIGHT \[CALIB\]'"):
        list_file_pairs(lst)


def test_folder_pairs_and_unknown_layout(tmp_path):
    for side in ("L", "R"):
        (tmp_path / side).mkdir()
        for n in ("f1.png", "f2.png"):
            (tmp_path / side / n).write_bytes(b"x")
    pairs = folder_pairs(str(tmp_path / "L" / "*.png"), str(tmp_path / "R"))
    assert [(p.name, p.left.name, p.right.parent.name) for p in pairs] == [("f1", "f1.png", "R"),
                                                                          ("f2", "f2.png", "R")]
    with pytest.raises(Exception, match="not a dataset"):
        detect_layout(tmp_path)


def test_cli_argument_errors_are_one_line(tmp_path, capsys):
    code, _, err = _run(capsys, "batch", "-o", tmp_path / "o")
    assert code == 2 and "give a DATASET" in err and err.count("\n") == 1
    code, _, err = _run(capsys, "batch", "--left", tmp_path, "-o", tmp_path / "o")
    assert code == 2 and "--left and --right go together" in err
    code, _, err = _run(capsys, "batch", tmp_path / "nowhere", "-o", tmp_path / "o")
    assert code == 2 and "no such dataset" in err


def test_scheduler_without_dask_names_the_extra(dataset, tmp_path, capsys, monkeypatch):
    import stereo.batch.engines as engines

    monkeypatch.setattr(engines, "dask_available", lambda: False)
    code, _, err = _run(capsys, "batch", dataset, "-o", tmp_path / "o", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and 'pip install "stereodepth[batch]"' in err


def test_manifest_ignores_a_cut_line_and_appends_on_a_new_one(tmp_path):
    m = Manifest(tmp_path)
    m.append({"pair": "a", "status": "done"})
    m.close()
    with open(tmp_path / MANIFEST, "ab") as f:
        f.write(b'{"pair": "b", "sta')  # killed in the middle of a write
    m = Manifest(tmp_path)
    assert list(m.load()) == ["a"] and m.broken_lines == 1
    m.append({"pair": "c", "status": "failed"})
    m.close()
    latest = Manifest(tmp_path).load()
    assert list(latest) == ["a", "c"]
    m.compact(latest)
    assert len((tmp_path / MANIFEST).read_text().splitlines()) == 2


# --------------------------------------------------------------------------------------
# On the cluster

@pytest.fixture(scope="module")
def first_run(dataset, cluster, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch") / "out"
    code = main(["batch", str(dataset), "-o", str(out), "--scheduler", cluster, "--no-progress"])
    return code, out


def test_batch_outputs_are_byte_identical_to_stereo_match(first_run, dataset, tmp_path, capsys):
    code, out = first_run
    assert code == 3  # two bad pairs
    for name in ("planes", "crop3"):
        ref = tmp_path / name
        argv = ["match", dataset / name / "im0.png", dataset / name / "im1.png", "-o", ref]
        if (dataset / name / "calib.txt").exists():
            argv += ["--calib", dataset / name / "calib.txt"]
        assert _run(capsys, *argv)[0] == 0
        assert _tree(out / name) == _tree(ref)
    assert "depth.pfm" in _tree(out / "planes") and "depth.pfm" not in _tree(out / "crop3")


def test_bad_pairs_are_recorded_and_the_others_done(first_run):
    _, out = first_run
    recs = {r["pair"]: r for r in _records(out)}
    assert len(recs) == len(_records(out)) == 2 + 2 + N_CROPS
    assert recs["broken"]["status"] == "failed"
    assert "broken/im0.png: not a readable image" in recs["broken"]["error"]
    assert recs["mismatch"]["status"] == "failed" and "\n" not in recs["mismatch"]["error"]
    assert "240x160" in recs["mismatch"]["error"].replace(" ", "") or "size" in recs["mismatch"]["error"]
    assert not (out / "broken").exists() and not (out / "mismatch").exists()
    done = [r for r in recs.values() if r["status"] == "done"]
    assert len(done) == len(recs) - 2
    from stereo.batch import sha256_file
    for r in done:
        for f, v in r["outputs"].items():
            assert sha256_file(out / r["pair"] / f) == v["sha256"]
    # metrics only where ground truth exists, in the scene's pixels (synthetic: sub-pixel accurate)
    assert recs["planes"]["metrics"]["region"] == "nonocc" and recs["planes"]["metrics"]["bad2"] < 5
    assert "metrics" not in recs["crop0"]
    assert not list(out.glob(".*.partial"))


def test_rerun_skips_done_redoes_changed_and_retries_failed_on_request(first_run, dataset, cluster, capsys):
    _, out = first_run
    before = len(_records(out))
    code, stdout, _ = _run(capsys, "batch", dataset, "-o", out, "--scheduler", cluster, "--no-progress")
    assert code == 3 and "0 done, 0 failed" in stdout and f"{N_CROPS + 2} skipped (done before)" in stdout
    assert "FAILED broken" in stdout
    assert len(_records(out)) == before  # nothing processed, nothing appended
    # repair the corrupt pair: its input changed, so it alone is redone; mismatch still failed
    shutil.copy(dataset / "crop1" / "im0.png", dataset / "broken" / "im0.png")
    code, stdout, _ = _run(capsys, "batch", dataset, "-o", out, "--scheduler", cluster, "--no-progress")
    assert code == 3 and "1 done, 0 failed" in stdout
    new = _records(out)[before:]
    assert [(r["pair"], r["status"]) for r in new] == [("broken", "done")]
    code, stdout, _ = _run(capsys, "batch", dataset, "-o", out, "--scheduler", cluster, "--no-progress",
                           "--retry-failed")
    assert code == 3 and "0 done, 1 failed" in stdout
    assert [r["pair"] for r in _records(out)[before + 1:]] == ["mismatch"]
    # a folder of only superseded records gets compacted: the latest record of each pair stays
    latest = Manifest(out).load()
    Manifest(out).compact(latest)
    assert [r["pair"] for r in _records(out)] == list(latest) and len(latest) == before


def test_changed_parameters_redo_the_pairs(dataset, cluster, tmp_path, capsys):
    lst = tmp_path / "pairs.txt"
    lst.write_text(f"{dataset}/crop1/im0.png {dataset}/crop1/im1.png\n")
    out = tmp_path / "out"
    assert _run(capsys, "batch", lst, "-o", out, "--scheduler", cluster, "--no-progress")[0] == 0
    # the same pair given as --left/--right files (same name "im0"), with another range
    code, stdout, _ = _run(capsys, "batch", "--left", dataset / "crop1" / "im0.png", "--right",
                           dataset / "crop1" / "im1.png", "-o", out, "--scheduler", cluster,
                           "--no-progress", "--num-disparities", "48")
    assert code == 0 and "1 done" in stdout
    recs = _records(out)
    assert len(recs) == 2 and recs[0]["key"] != recs[1]["key"]


def test_killed_batch_resumes_with_only_the_remaining_pairs(dataset, cluster, tmp_path):
    """SIGKILL the driver (own local cluster) after its first record; rerun finishes the rest."""
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    cmd = [sys.executable, "-m", "stereo.cli.main", "batch", str(dataset), "-o", str(out),
           "--workers", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    manifest = out / MANIFEST
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:
            if manifest.exists() and manifest.read_text().count("\n") >= 1:
                break
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the cluster it started
        proc.wait()
    before = {r["pair"] for r in _records(out)}
    total = 2 + 2 + N_CROPS
    assert 1 <= len(before) < total, "the batch ended before it was killed; make the dataset larger"
    code = main(["batch", str(dataset), "-o", str(out), "--scheduler", cluster, "--no-progress",
                 "--pairs-per-task", "3"])  # tasks of several pairs: same records
    assert code == 3
    recs = _records(out)
    after = [r["pair"] for r in recs[len(before):]]
    assert sorted(after) == sorted(set(r.name for r in list_pairs(dataset)) - before)
    assert {r["pair"] for r in recs} == {r.name for r in list_pairs(dataset)}
    assert not list(out.glob(".*.partial"))


def test_process_pool_fallback_says_so_and_gives_the_same_files(dataset, first_run, tmp_path, monkeypatch):
    import stereo.batch.engines as engines
    from stereo.cli.match import matching_options

    monkeypatch.setattr(engines, "dask_available", lambda: False)
    lines = []
    pairs = [p for p in middlebury_pairs(dataset) if p.name in ("planes", "crop2")]
    import argparse
    args = argparse.Namespace(method="sgbm", min_disparity=None, num_disparities=None, block_size=None,
                              near=None, far=None, fill=False, uncalibrated=False)
    summary = run_batch(pairs, tmp_path / "out", matching_options(args), workers=1, progress=False,
                        log=lines.append, pairs_per_task=2)  # both pairs in one task
    assert "process pool" in lines[0] and 'pip install "stereodepth[batch]"' in lines[0]
    assert summary.done == 2 and not summary.any_failed
    assert [r["pair"] for r in _records(tmp_path / "out")] == ["crop2", "planes"]
    _, out = first_run
    for name in ("planes", "crop2"):
        assert _tree(tmp_path / "out" / name) == _tree(out / name)


def test_a_lost_worker_is_recorded_and_retried_and_a_broken_pool_stops_cleanly(dataset, tmp_path, monkeypatch):
    """Driver logic with a fake engine: a task whose worker died, then a pool that refuses work."""
    from concurrent.futures import FIRST_COMPLETED, Future, wait

    import stereo.batch as batch
    from stereo.errors import StereoError

    class Dying:
        slots, description = 1, "fake"

        def __init__(self):
            self.calls = 0

        def warm(self, options):
            pass

        def submit(self, job):
            self.calls += 1
            if self.calls > 1:
                raise RuntimeError("pool is broken")
            fut = Future()
            fut.set_exception(RuntimeError("worker process died"))
            return fut

        def wait_some(self, futures):
            return wait(list(futures), return_when=FIRST_COMPLETED).done

        def close(self):
            pass

    monkeypatch.setattr(batch.engines, "make_engine", lambda *a, **k: Dying())
    pairs = [p for p in middlebury_pairs(dataset) if p.name in ("crop4", "crop5")]
    out = tmp_path / "out"
    options = dict(method="sgbm", min_disparity=None, num_disparities=None, block_size=None)
    with pytest.raises(StereoError, match="cannot take more pairs.*rerun to continue"):
        run_batch(pairs, out, options, progress=False, log=None)
    (rec,) = _records(out)
    assert rec["status"] == "failed" and rec["lost"] and "worker lost" in rec["error"]
    # the lost pair is not skipped as a failure of its own: both pairs are to do again
    todo, skipped_done, skipped_failed = batch.plan(pairs, Manifest(out).load(), out,
                                                    rec["key"], None, retry_failed=False)
    assert [r.name for r, _ in todo] == ["crop4", "crop5"] and not skipped_failed


def test_a_worker_keeps_its_matcher_between_pairs(dataset, tmp_path):
    """process_pair in this process: two pairs with the same range share one matcher."""
    import stereo.batch as batch

    import numba

    import stereo.batch.worker as worker

    worker._MATCHERS.clear()
    pairs = [p for p in middlebury_pairs(dataset) if p.name in ("crop5", "crop6")]
    options = dict(method="sgbm", min_disparity=None, num_disparities=None, block_size=None)
    key, _ = batch.parameter_key(options, None)
    threads = numba.get_num_threads(), cv2.getNumThreads(), worker._cv2_limited
    try:  # process_pair limits the calling process to one thread, as a worker should be
        recs = [batch.process_pair(batch.PairJob(ref=p, out_root=str(tmp_path), options=options,
                                                 calib=None, key=key,
                                                 inputs=batch.input_signature(p, None)))
                for p in pairs]
    finally:
        numba.set_num_threads(threads[0])
        cv2.setNumThreads(threads[1])
        worker._cv2_limited = threads[2]
    assert [r["status"] for r in recs] == ["done", "done"]
    assert len(worker._MATCHERS) == 1
    (m,) = worker._MATCHERS.values()
    assert worker.cached_matcher("sgbm", 0, 64) is m and worker.cached_matcher("sgbm", 0, 48) is not m


def test_kitti_layout_end_to_end_scores_against_its_png_ground_truth(cluster, tmp_path, capsys):
    """image_2/image_3 + disp_occ_0 (KITTI 16-bit PNG) made from the planes scene."""
    from stereo.io import read_disparity, write_kitti_disparity

    src = SAMPLES / "planes"
    for d in ("image_2", "image_3", "disp_occ_0"):
        (tmp_path / "kitti" / d).mkdir(parents=True)
    shutil.copy(src / "im0.png", tmp_path / "kitti" / "image_2" / "000000_10.png")
    shutil.copy(src / "im1.png", tmp_path / "kitti" / "image_3" / "000000_10.png")
    write_kitti_disparity(tmp_path / "kitti" / "disp_occ_0" / "000000_10.png", read_disparity(src / "disp0GT.pfm"))
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "batch", tmp_path / "kitti", "-o", out, "--scheduler", cluster,
                             "--no-progress", "--num-disparities", "48")
    assert code == 0, err
    (rec,) = _records(out)
    assert rec["pair"] == "000000_10" and rec["metrics"]["region"] == "all"
    assert rec["metrics"]["bad2"] < 5 and "accuracy vs ground truth (1 pair(s), all" in stdout
