"""Regression tests for the 17 failure classes of the hardening issue (one section each).

Cases that used to crash the interpreter natively (heap corruption, endless loop inside
OpenCV) or that depend on process state (Numba cache locations, FIFOs, SIGKILL) run in a
subprocess with a timeout; the rest run in-process through the API or ``stereo.cli.main``.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from calib.formats import load_calibration
from calib.middlebury import parse_middlebury_calib
from calib.model import StereoCalibration
from stereo.cli.main import main, one_line
from stereo.errors import (CalibrationError, FileFormatError, InputError, OutputError, ParameterError,
                           StereoError)

ROOT = Path(__file__).resolve().parent.parent
MIDDLEBURY = ("cam0=[994.978 0 311.193; 0 994.978 254.877; 0 0 1]\n"
              "cam1=[994.978 0 342.279; 0 994.978 254.877; 0 0 1]\ndoffs=31.086\nbaseline=193.001\n"
              "width=741\nheight=500\nndisp=64\nvmin=7\nvmax=60\n")


def run_cli(*args, timeout=120, env=None, cwd=None):
    """``python -m stereo.cli.main ARGS`` in a subprocess: (returncode, stdout, stderr)."""
    e = dict(os.environ, **(env or {}))
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    p = subprocess.run([sys.executable, "-m", "stereo.cli.main", *map(str, args)], capture_output=True,
                       text=True, timeout=timeout, env=e, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def assert_one_line_error(code, err, pattern=None):
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "error:" in lines[0] and "internal error" not in lines[0] and "Traceback" not in err
    if pattern:
        assert pattern in lines[0], lines[0]


def cli_in_process(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# ---- 1. native crash from an OpenCV YAML matrix -------------------------------------------
CRASHERS = {
    "no_cols": "%YAML:1.0\n---\nM1: !!opencv-matrix\n   rows: 3\n   dt: d\n   data: [ 1., 0., 0., 0., 1., 0., 0., 0., 1. ]\n",
    "cols_zero": "%YAML:1.0\nM1: !!opencv-matrix\n   rows: 3\n   cols: 0\n   dt: d\n   data: [ 1. ]\n",
    "short_data": "%YAML:1.0\nM1: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n   data: [ 1., 2. ]\n",
    "negative_rows": "%YAML:1.0\nM1: !!opencv-matrix\n   rows: -3\n   cols: 3\n   dt: d\n   data: [ 1. ]\n",
    "huge_rows": "%YAML:1.0\nM1: !!opencv-matrix\n   rows: 100000000\n   cols: 100000000\n   dt: d\n   data: [ 1. ]\n",
    "multichannel": "%YAML:1.0\nM1: !!opencv-matrix\n   rows: 1\n   cols: 1\n   dt: 3d\n   data: [ 1., 2., 3. ]\n",
    "xml_no_cols": '<?xml version="1.0"?>\n<opencv_storage>\n<M1 type_id="opencv-matrix"><rows>3</rows><dt>d</dt>'
                   "<data>1 0 0 0 1 0 0 0 1</data></M1>\n</opencv_storage>\n",
}


@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_1_opencv_matrix_that_corrupted_the_heap_is_a_calibration_error(name, tmp_path):
    p = tmp_path / ("bad.xml" if name.startswith("xml") else "bad.yml")
    p.write_text(CRASHERS[name])
    code, _, err = run_cli("range", "--calib", p, "--near", "1m", "--far", "10m", timeout=60)
    assert_one_line_error(code, err, str(p))


# ---- 2. endless loop inside cv2.FileStorage ------------------------------------------------
def test_2_flow_yaml_that_looped_forever_fails_fast(tmp_path):
    p = tmp_path / "loop.yml"
    p.write_text("%YAML:1.0\nQ:[.,!!binary A= .0., 0., 0., 7   0., 10., 0. ]\n")
    assert len(p.read_bytes()) == 58
    t0 = time.monotonic()
    code, _, err = run_cli("range", "--calib", p, "--near", "1m", "--far", "10m", timeout=60)
    assert_one_line_error(code, err, str(p))
    assert time.monotonic() - t0 < 60


# ---- 3. YAML alias bombs, deep nesting, file size -------------------------------------------
def _alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, levels + 1):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    return ("type: stereo_rig\n" + "\n".join(lines) + f"\nleft:\n  K_px: *a{levels}\n")


@pytest.mark.parametrize("levels", [9, 10])
def test_3_alias_bomb_is_refused_without_expanding(levels, tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(_alias_bomb(levels))
    assert p.stat().st_size < 2000
    t0 = time.monotonic()
    with pytest.raises(FileFormatError, match="aliases are not accepted"):
        load_calibration(p)
    assert time.monotonic() - t0 < 2


def test_3_deep_nesting_and_size_cap(tmp_path, monkeypatch):
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 50000)
    with pytest.raises(StereoError):
        load_calibration(deep)
    from calib.safe_yaml import load_yaml_text
    with pytest.raises(FileFormatError, match="nested deeper"):
        load_yaml_text("a: " + "[" * 40 + "]" * 40, "deep.yaml")
    big = tmp_path / "big.txt"
    big.write_text(MIDDLEBURY + "# pad\n" * 200_000)
    with pytest.raises(FileFormatError, match="STEREO_MAX_CALIB_BYTES"):
        load_calibration(big)
    monkeypatch.setenv("STEREO_MAX_CALIB_BYTES", str(4 << 20))
    assert isinstance(load_calibration(big), StereoCalibration)


# ---- 4. import stereo without a writable Numba cache ---------------------------------------
def _readonly_copy(tmp_path) -> Path:
    dst = tmp_path / "ro"
    for pkg in ("stereo", "calib"):
        shutil.copytree(ROOT / pkg, dst / pkg, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "_samples"))
    return dst


def test_4_import_without_writable_numba_cache_falls_back(tmp_path):
    """The package folder read-only, HOME and XDG_CACHE_HOME unusable, NUMBA_CACHE_DIR unset.

    As root (which ignores permissions) the read-only install is a read-only bind mount
    in a private mount namespace (``unshare -m``); otherwise plain ``chmod``. Without the
    fallback this reproduces ``RuntimeError: cannot cache function ...: no locator available``.
    """
    ro = _readonly_copy(tmp_path)
    nohome = ro / "nohome"
    # An editable install's import hook would find the writable source tree first: drop it.
    code = ("import sys\nsys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
            "import warnings, numba\nwarnings.simplefilter('always')\nimport stereo\n"

            "from stereo.kernels import census\nprint('imported', stereo.__file__, numba.config.CACHE_DIR)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(HOME=str(nohome), XDG_CACHE_HOME=str(ro / "nocache"), PYTHONPATH=str(ro))
    if os.geteuid() == 0:
        if not shutil.which("unshare"):
            pytest.skip("root without unshare: cannot make a read-only install to test with")
        script = (f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro} && "
                  f"exec {sys.executable} -c \"$0\"")
        cmd = ["unshare", "-m", "sh", "-c", script, code]
        probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
        if probe.returncode != 0:
            pytest.skip("unshare -m not permitted here (no private mount namespace)")
    else:
        for dirpath, dirnames, filenames in os.walk(ro):
            os.chmod(dirpath, 0o555)
        cmd = [sys.executable, "-c", code]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    finally:
        for dirpath, dirnames, filenames in os.walk(ro):
            os.chmod(dirpath, 0o755)
    assert p.returncode == 0, p.stderr
    assert f"imported {ro}" in p.stdout
    assert p.stderr.count("no writable Numba cache location") == 1, p.stderr


# ---- 5. unbounded reads: devices, FIFOs, size caps -----------------------------------------
def test_5_devices_and_fifos_are_refused(tmp_path):
    from stereo.io import read_disparity, read_image
    with pytest.raises(FileFormatError, match="not a regular file"):
        read_image("/dev/zero")
    with pytest.raises(FileFormatError, match="not a regular file"):
        load_calibration("/dev/zero")
    with pytest.raises(FileFormatError, match="not a regular file"):
        read_disparity("/dev/zero.pfm" if os.path.exists("/dev/zero.pfm") else _fifo(tmp_path, "d.pfm"))


def _fifo(tmp_path, name):
    p = tmp_path / name
    os.mkfifo(p)
    return p


def test_5_cli_on_dev_zero_and_a_fifo_is_one_line(tmp_path):
    fifo = _fifo(tmp_path, "left.png")
    code, _, err = run_cli("match", "/dev/zero", fifo, "-o", tmp_path / "o", timeout=60)
    assert_one_line_error(code, err, "not a regular file")
    code, _, err = run_cli("match", fifo, fifo, "-o", tmp_path / "o", "--calib", "/dev/zero", timeout=60)
    assert_one_line_error(code, err, "/dev/zero")
    assert not (tmp_path / "o").exists()


def test_5_image_file_size_cap(tmp_path, monkeypatch):
    from stereo.io import read_image
    p = tmp_path / "im.png"
    shutil.copy(ROOT / "data_samples" / "planes" / "im0.png", p)
    monkeypatch.setenv("STEREO_MAX_FILE_BYTES", "1000")
    with pytest.raises(FileFormatError, match="STEREO_MAX_FILE_BYTES"):
        read_image(p)
    monkeypatch.setenv("STEREO_MAX_FILE_BYTES", "nonsense")
    with pytest.raises(ParameterError, match="STEREO_MAX_FILE_BYTES"):
        read_image(p)


# ---- 6. decompression bombs ------------------------------------------------------------------
def _png_bomb(w, h) -> bytes:
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    raw = zlib.compress(b"\x00" * (w + 1) * 64, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def test_6_png_bomb_refused_from_its_header(tmp_path):
    from stereo.io import read_image
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_bomb(20000, 20000))
    t0 = time.monotonic()
    with pytest.raises(FileFormatError, match="20000x20000"):
        read_image(p)
    assert time.monotonic() - t0 < 1


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".ppm", ".pgm", ".tif", ".webp", ".hdr", ".pfm"])
def test_6_header_dimensions_agree_with_opencv(ext):
    from stereo.io.image_header import header_dimensions
    img = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)
    if ext == ".pgm":
        img = img[:, :, 0]
    if ext in (".hdr", ".pfm"):
        img = img.astype(np.float32)
    ok, buf = cv2.imencode(ext, img)
    if not ok:
        pytest.skip(f"this OpenCV build cannot encode {ext}")
    assert header_dimensions(buf.tobytes()) == (53, 37)


def test_6_pixel_limit_is_documented_and_overridable(tmp_path, monkeypatch):
    from stereo.io import read_image
    p = ROOT / "data_samples" / "planes" / "im0.png"
    monkeypatch.setenv("STEREO_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(FileFormatError, match="STEREO_MAX_IMAGE_PIXELS"):
        read_image(p)
    monkeypatch.delenv("STEREO_MAX_IMAGE_PIXELS")
    assert read_image(p).shape[:2] == (240, 320)


# ---- 7. memory before allocation; calibration size vs image size ----------------------------
@pytest.mark.parametrize("kwargs,pattern", [
    (dict(min_disparity=10_000_000), "min_disparity must be <= 100000"),
    (dict(min_disparity=4611686018427387904), "min_disparity must be <= 100000"),
    (dict(num_disparities=65535), "would need about"),
])
def test_7_bm_range_and_memory_refused_early(kwargs, pattern):
    from stereo import BlockMatcher
    img = np.zeros((500, 741), np.uint8)
    t0 = time.monotonic()
    with pytest.raises(ParameterError, match=pattern):
        BlockMatcher(**kwargs).compute(img, img)
    assert time.monotonic() - t0 < 1


def test_7_memory_budget_names_the_figure_and_the_fix(monkeypatch):
    from stereo.pipeline import make_matcher
    from stereo.diagnose import check_matcher_memory
    monkeypatch.setenv("STEREO_MAX_MEMORY_MB", "256")
    with pytest.raises(ParameterError, match=r"GiB.*STEREO_MAX_MEMORY_MB.*narrow the disparity range"):
        check_matcher_memory(make_matcher("sgbm", 0, 256), 6000, 8000)
    check_matcher_memory(make_matcher("sgbm", 0, 64), 100, 100)


def test_7_calibration_size_checked_before_matching():
    from stereo.pipeline import match_pair
    calib = parse_middlebury_calib(MIDDLEBURY)
    big = np.zeros((1500, 2223), np.uint8)
    t0 = time.monotonic()
    with pytest.raises(InputError, match=r"2223x1500 but the calibration is for 741x500.*3x"):
        match_pair(big, big, calibration=calib, method="bm")
    assert time.monotonic() - t0 < 1


def test_7_cli_huge_range_is_one_line(capsys, tmp_path):
    left = ROOT / "data_samples" / "planes" / "im0.png"
    for opt in (["--min-disparity", "4611686018427387904"], ["--num-disparities", "65535"]):
        code, _, err = cli_in_process(capsys, "match", left, left, "-o", tmp_path / "o", "--method", "bm", *opt)
        assert_one_line_error(code, err)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


# ---- 8. output sets: whole, consistent, locked, stale staging removed ------------------------
def _pair_result(calibrated: bool, h=24, w=32):
    from stereo.pipeline import PairResult
    from stereo.result import MatchResult
    disp = np.full((h, w), 5.0, np.float32)
    disp[0, 0] = np.nan
    m = MatchResult(disparity=disp, mask=np.zeros((h, w), np.uint8), min_disparity=0, num_disparities=16,
                    confidence=np.ones((h, w), np.float32))
    img = np.zeros((h, w, 3), np.uint8)
    if calibrated:
        calib = StereoCalibration(focal_px=100.0, cx_left=16, cx_right=16, cy=12, baseline=0.1, width=w, height=h)
        from stereo.triangulation import depth_from_disparity
        return PairResult(m, img, calib, depth_from_disparity(disp, calib), None, "given")
    return PairResult(m, img, None, None, disp / 5, "given")


def test_8_rerun_of_another_kind_leaves_no_stale_members(tmp_path):
    from stereo.io.pair_outputs import write_pair_outputs
    out = tmp_path / "o"
    (out).mkdir()
    (out / "notes.txt").write_text("mine")
    first = write_pair_outputs(_pair_result(True), out)
    assert {"depth.pfm", "cloud.ply"} <= set(first)
    second = write_pair_outputs(_pair_result(False), out)
    assert sorted(p.name for p in out.iterdir()) == sorted(second + ["notes.txt"])
    assert not (out / "depth.pfm").exists() and not (out / "cloud.ply").exists()


def test_8_folder_in_the_way_leaves_nothing_new(tmp_path):
    from stereo.io.pair_outputs import write_pair_outputs
    out = tmp_path / "o"
    (out / "disparity.pfm").mkdir(parents=True)
    with pytest.raises(OutputError, match="is a folder"):
        write_pair_outputs(_pair_result(True), out)
    assert [p.name for p in out.iterdir()] == ["disparity.pfm"]
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


def test_8_failed_commit_rolls_back_to_the_previous_set(tmp_path, monkeypatch):
    from stereo.io import atomic
    from stereo.io.pair_outputs import write_pair_outputs
    out = tmp_path / "o"
    write_pair_outputs(_pair_result(True), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = os.replace
    calls = {"n": 0}

    def flaky(src, dst):  # the move of the new disparity.png into place fails, once
        if Path(dst) == out / "disparity.png" and not calls["n"]:
            calls["n"] += 1
            raise PermissionError(13, "Permission denied")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", flaky)
    with pytest.raises(OutputError, match="left as it was"):
        write_pair_outputs(_pair_result(False), out)
    monkeypatch.setattr(atomic.os, "replace", real)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_8_concurrent_runs_wait_then_refuse(tmp_path, monkeypatch):
    from stereo.io.atomic import locked_directory
    from stereo.io.pair_outputs import write_pair_outputs
    out = tmp_path / "o"
    monkeypatch.setenv("STEREO_OUTPUT_LOCK_TIMEOUT", "0.3")
    with locked_directory(out):
        with pytest.raises(OutputError, match="another stereo run is writing"):
            write_pair_outputs(_pair_result(False), out)
    assert not any(out.iterdir())
    # a run that waits less than the timeout goes through once the holder is done
    monkeypatch.setenv("STEREO_OUTPUT_LOCK_TIMEOUT", "20")
    released = threading.Event()

    def hold():
        with locked_directory(out):
            released.wait(0.5)

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.1)
    written = write_pair_outputs(_pair_result(False), out)
    t.join()
    assert sorted(p.name for p in out.iterdir()) == sorted(written)


def test_8_killed_run_staging_is_cleaned_by_the_next_run(tmp_path):
    out = tmp_path / "o"
    code = (f"import os, signal\nfrom stereo.io.atomic import staged_directory\n"
            f"with staged_directory({str(out)!r}) as s:\n"
            f"    (s / 'disparity.pfm').write_bytes(b'x' * 100000)\n"
            f"    os.kill(os.getpid(), signal.SIGKILL)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-c", code], env=env, timeout=120)
    assert p.returncode == -signal.SIGKILL
    left_over = [e for e in tmp_path.iterdir() if ".staging." in e.name]
    assert len(left_over) == 1
    old = tmp_path / ".o.staging.oldformat"  # an older staging folder without a process id
    old.mkdir()
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    from stereo.io.pair_outputs import write_pair_outputs
    write_pair_outputs(_pair_result(False), out)
    assert [e.name for e in tmp_path.iterdir()] == ["o"]


# ---- 9. non-editable install carries the samples ------------------------------------------------
def test_9_samples_ship_inside_the_package():
    from stereo.paths import samples_dir
    link = ROOT / "stereo" / "_samples"
    assert link.is_symlink() and (link / "motorcycle" / "im0.png").is_file()
    assert (samples_dir() / "motorcycle" / "calib.txt").is_file()
    text = (ROOT / "pyproject.toml").read_text()
    assert '"_samples/*/*.png"' in text


def test_9_wheel_contains_the_samples(tmp_path):
    """Build a wheel (as ``pip install .`` does) and look inside; skipped when no build backend
    can be fetched (offline CI)."""
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    wheels = list(tmp_path.glob("*.whl"))
    if p.returncode != 0 or not wheels:
        pytest.skip(f"cannot build a wheel here (offline?): {p.stderr.strip().splitlines()[-1:]}")
    import zipfile
    names = zipfile.ZipFile(wheels[0]).namelist()
    for scene in ("motorcycle", "negative"):
        for f in ("im0.png", "im1.png", "calib.txt", "disp0GT.pfm", "mask0nocc.png"):
            assert f"stereo/_samples/{scene}/{f}" in names
    # Installed (not editable) into a fresh venv, the package finds its samples from anywhere.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheels[0])], check=True,
                   timeout=300, capture_output=True)
    code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
            "import stereo, stereo.paths as p\nfrom stereo.cli.demo import DEMO_SCENES\n"
            "print(stereo.__file__)\n"
            "print(all((p.samples_dir() / s / f).is_file() for s in DEMO_SCENES for f in ('im0.png', 'calib.txt')))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([str(py), "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    where, found = r.stdout.split()
    assert str(venv) in where and found == "True"


# ---- 10. wrongly typed or non-finite calibration fields ------------------------------------------
RECT = ("type: rectified_stereo\nfocal_px: 500\nfocal_y_px: 500\ncx_left_px: 320\ncx_right_px: 330\n"
        "cy_px: 240\nbaseline: 0.1\nbaseline_unit: m\nimage_width_px: 640\nimage_height_px: 480\n")


@pytest.mark.parametrize("bad", [
    ("rect.yaml", RECT.replace("image_width_px: 640", "image_width_px: abc")),
    ("rect.yaml", RECT.replace("image_width_px: 640", "image_width_px: .inf")),
    ("rect.yaml", RECT.replace("image_width_px: 640", "image_width_px: .nan")),
    ("rect.yaml", RECT.replace("baseline_unit: m", "baseline_unit: [m]")),
    ("rect.yaml", RECT.replace("focal_px: 500", "focal_px: true")),
    ("rect.yaml", RECT + "extra: [1, 2]\n"),
    ("cv.xml", '<?xml version="1.0"?>\n<opencv_storage>\n<image_width>wide</image_width><image_height>4</image_height>'
               '<M1 type_id="opencv-matrix"><rows>3</rows><cols>3</cols><dt>d</dt><data>1 0 0 0 1 0 0 0 1</data></M1>'
               '<D1>0 0 0 0 0</D1><M2 type_id="opencv-matrix"><rows>3</rows><cols>3</cols><dt>d</dt><data>1 0 0 0 1 0 0 0 1</data></M2>'
               '<D2>0 0 0 0 0</D2><R type_id="opencv-matrix"><rows>3</rows><cols>3</cols><dt>d</dt><data>1 0 0 0 1 0 0 0 1</data></R>'
               '<T type_id="opencv-matrix"><rows>3</rows><cols>1</cols><dt>d</dt><data>-0.1 0 0</data></T>\n</opencv_storage>\n'),
    ("kitti.txt", "S_rect_02: inf 375\nP_rect_02: 721 0 609 44 0 721 172 0.2 0 0 1 0.003\n"
                  "P_rect_03: 721 0 609 -339 0 721 172 2.2 0 0 1 0.003\n"),
])
def test_10_wrongly_typed_fields_are_calibration_errors(bad, tmp_path, capsys):
    name, text = bad
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises((CalibrationError, FileFormatError)):
        load_calibration(p)
    code, _, err = cli_in_process(capsys, "range", "--calib", p, "--near", "1m", "--far", "10m")
    assert_one_line_error(code, err)


def _rig_text():
    from calib.rig import StereoRig
    K = np.array([[410.0, 0, 318.0], [0, 411.0, 203.0], [0, 0, 1]])
    rig = StereoRig.from_extrinsics((64, 40), K, np.zeros(5), K, np.zeros(5), np.eye(3), [-0.1, 0, 0])
    import yaml
    return yaml.safe_dump(rig.to_dict(), sort_keys=False)


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("units:\n", "units: metres\nold_units:\n"),
    lambda t: t.replace("left:\n", "left: [1, 2]\nold_left:\n"),
    lambda t: t.replace("quality:\n", "quality: 5\nold_quality:\n"),
    lambda t: t.replace("rectification:\n", "rectification: [1]\nold_rectification:\n"),
    lambda t: t.replace("image_width_px: 64", "image_width_px: wide"),
    lambda t: t.replace("  rms_px: null", "  rms_px: [1]"),
])
def test_10_rig_sections_of_the_wrong_type(edit, tmp_path):
    p = tmp_path / "rig.yaml"
    text = edit(_rig_text())
    assert text != _rig_text()
    p.write_text(text)
    with pytest.raises((CalibrationError, FileFormatError)):
        load_calibration(p)


def test_10_ros_wrong_types(tmp_path):
    from tests.test_fuzz_parsers import ROS_LEFT, ROS_RIGHT
    right = tmp_path / "right.yaml"
    right.write_bytes(ROS_RIGHT)
    for bad in (ROS_LEFT.replace(b"image_width: 640", b"image_width: wide"),
                ROS_LEFT.replace(b"distortion_model: plumb_bob", b"distortion_model: [a]"),
                ROS_LEFT.replace(b"data: [410,", b"data: [.nan,")):
        left = tmp_path / "left.yaml"
        left.write_bytes(bad)
        with pytest.raises(CalibrationError):
            load_calibration(f"{left},{right}")


# ---- 11. NPY header claiming a huge array ------------------------------------------------------
def test_11_npy_header_checked_before_allocation(tmp_path):
    from stereo.io import read_disparity
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }"
    header = header.ljust(117) + "\n"
    p = tmp_path / "huge.npy"
    p.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
    with pytest.raises(FileFormatError, match="100000x100000"):
        read_disparity(p)
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([[object()]]), allow_pickle=True)
    with pytest.raises(FileFormatError):
        read_disparity(obj)


# ---- 12. implausible calibrations ----------------------------------------------------------
@pytest.mark.parametrize("old,new", [
    ("baseline=193.001", "baseline=1e308"),
    ("994.978 0 311.193; 0 994.978", "1e-300 0 311.193; 0 1e-300"),
    ("doffs=31.086", "doffs=-1e6"),
    ("vmin=7", "vmin=70"),
])
def test_12_implausible_middlebury_values(old, new):
    text = MIDDLEBURY.replace(old, new)
    if old.startswith("994"):
        text = text.replace("cam1=[994.978 0 342.279; 0 994.978", "cam1=[1e-300 0 342.279; 0 1e-300")
    if old.startswith("doffs"):
        text = text.replace("342.279", str(311.193 - 1e6))
    with pytest.raises(CalibrationError):
        parse_middlebury_calib(text)


def test_12_focal_y_zero_and_rig_geometry():
    with pytest.raises(CalibrationError, match="focal_y_px"):
        StereoCalibration(focal_px=500, focal_y_px=0, cx_left=1, cx_right=1, cy=1, baseline=0.1)
    from calib.rig import StereoRig
    K = np.array([[410.0, 0, 318.0], [0, 411.0, 203.0], [0, 0, 1]])
    with pytest.raises(CalibrationError, match="not a rotation"):
        StereoRig.from_extrinsics((64, 40), K, np.zeros(5), K, np.zeros(5), np.eye(3) * 2, [-0.1, 0, 0])
    with pytest.raises(CalibrationError, match="reflection"):
        StereoRig.from_extrinsics((64, 40), K, np.zeros(5), K, np.zeros(5), np.diag([1.0, 1, -1]), [-0.1, 0, 0])
    with pytest.raises(CalibrationError, match="baseline"):
        StereoRig.from_extrinsics((64, 40), K, np.zeros(5), K, np.zeros(5), np.eye(3), [0, 0, 0])
    singular = K.copy()
    singular[1, 1] = 0
    with pytest.raises(CalibrationError, match="fy"):
        StereoRig.from_extrinsics((64, 40), singular, np.zeros(5), K, np.zeros(5), np.eye(3), [-0.1, 0, 0])


# ---- 13. OpenCV files carry no units ------------------------------------------------------------
def _opencv_mm(tmp_path) -> Path:
    from tests.test_fuzz_parsers import OPENCV_YAML
    p = tmp_path / "stereo_mm.yml"
    p.write_bytes(OPENCV_YAML.replace(b"[ -0.095, 0., 0. ]", b"[ -119.8, 0., 0. ]"))
    return p


def test_13_ambiguous_translation_is_refused_and_units_can_be_stated(tmp_path, capsys):
    p = _opencv_mm(tmp_path)
    with pytest.raises(CalibrationError, match=r"\|T\| = 119.8.*--calib-units mm"):
        load_calibration(p)
    rig = load_calibration(p, units="mm")
    assert rig.baseline_m == pytest.approx(0.1198)
    code, out, err = cli_in_process(capsys, "range", "--calib", p, "--calib-units", "mm", "--near", "1m",
                                    "--far", "10m")
    assert code == 0 and "baseline 0.1198 m" in out, err
    code, _, err = cli_in_process(capsys, "range", "--calib", p, "--near", "1m", "--far", "10m")
    assert_one_line_error(code, err, "--calib-units")
    mb = tmp_path / "calib.txt"
    mb.write_text(MIDDLEBURY)
    with pytest.raises(ParameterError, match="states its own length unit"):
        load_calibration(mb, units="mm")


# ---- 14. -o "" / -o over an input / read-only -o ------------------------------------------------
def test_14_bad_output_folders(tmp_path, capsys, monkeypatch):
    left = tmp_path / "d" / "disparity.png"
    left.parent.mkdir()
    shutil.copy(ROOT / "data_samples" / "planes" / "im0.png", left)
    right = ROOT / "data_samples" / "planes" / "im1.png"
    before = left.read_bytes()
    monkeypatch.chdir(tmp_path)
    code, _, err = cli_in_process(capsys, "match", left, right, "-o", "")
    assert_one_line_error(code, err, "empty")
    code, _, err = cli_in_process(capsys, "match", left, right, "-o", left.parent)
    assert_one_line_error(code, err, "overwrite the input")
    assert left.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_14_read_only_output_folder_is_an_output_error(tmp_path, monkeypatch):
    from stereo.io.pair_outputs import write_pair_outputs
    out = tmp_path / "ro"
    out.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if Path(p) == out else real(p, mode, **k))
    with pytest.raises(OutputError, match="not writable"):
        write_pair_outputs(_pair_result(False), out)
    assert not any(out.iterdir())


# ---- 15. outputs honour the umask -----------------------------------------------------------
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_15_output_modes_follow_the_umask(mask, tmp_path):
    from stereo.io.pair_outputs import write_pair_outputs
    from calib.middlebury import write_middlebury_calib
    old = os.umask(mask)
    try:
        write_pair_outputs(_pair_result(True), tmp_path / "o")
        write_middlebury_calib(tmp_path / "calib.txt", parse_middlebury_calib(MIDDLEBURY))
    finally:
        os.umask(old)
    files = list((tmp_path / "o").iterdir()) + [tmp_path / "calib.txt"]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask, f


# ---- 16. one line on stderr ---------------------------------------------------------------------
def test_16_opencv_error_collapsed_to_its_last_line():
    try:
        cv2.copyMakeBorder(np.zeros((2, 2), np.uint8), -5, 0, 0, 0, cv2.BORDER_REPLICATE)
    except cv2.error as exc:
        text = one_line(exc)
    else:
        pytest.skip("OpenCV accepted the call")
    assert "\n" not in text and text


def test_16_libpng_warnings_do_not_reach_stderr(tmp_path):
    ok, buf = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (40, 60), dtype=np.uint8))
    b = buf.tobytes()
    bad_chunk = struct.pack(">I", 3) + b"tEXtk\x00v" + b"\x00\x00\x00\x00"  # wrong CRC: libpng warns
    p = tmp_path / "warn.png"
    p.write_bytes(b[:33] + bad_chunk + b[33:])
    code = f"from stereo.io import read_image; print(read_image({str(p)!r}).shape)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0 and "(40, 60, 3)" in r.stdout
    assert "libpng" not in r.stderr, r.stderr
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes(b[:60])
    code, _, err = run_cli("match", trunc, trunc, "-o", tmp_path / "o", timeout=120)
    assert_one_line_error(code, err, "trunc.png")


def test_16_huge_finite_float_pair_matches_without_warnings():
    from stereo import BlockMatcher, SGBM
    rng = np.random.default_rng(1)
    left = rng.uniform(-1, 1, (48, 64)) * 1e308
    right = np.roll(left, -3, axis=1)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for m in (SGBM(num_disparities=16), BlockMatcher(num_disparities=16, block_size=5)):
            d = m.compute(left, right)
            assert np.mean(np.isfinite(d)) > 0.5
            assert np.nanmedian(d) == pytest.approx(3, abs=0.5)
    with pytest.raises(InputError, match="NaN or inf"):
        SGBM().compute(np.full((8, 8), np.inf), np.zeros((8, 8)))


# ---- 17. degenerate results are explained -------------------------------------------------------
def test_17_bm_needs_three_disparities_like_sgbm():
    from stereo import BlockMatcher
    for n in (1, 2):
        with pytest.raises(ParameterError, match="num_disparities must be >= 3"):
            BlockMatcher(num_disparities=n)


def test_17_identical_images_say_which_edge_and_what_to_change():
    from stereo.pipeline import match_pair, summarize
    img = np.random.default_rng(2).integers(0, 255, (60, 80), dtype=np.uint8)
    res = match_pair(img, img, method="bm")
    assert res.match.density < 0.05
    text = "\n".join(summarize(res))
    assert "out_of_range" in text and "lower edge 0" in text and "--min-disparity -" in text


def test_8_sigterm_unwinds_and_removes_the_staging(tmp_path):
    out = tmp_path / "o"
    code = (f"import signal, time\nfrom stereo.cli import main as m\n"
            f"signal.signal(signal.SIGTERM, m._terminate)\n"
            f"from stereo.io.atomic import staged_directory\n"
            f"with staged_directory({str(out)!r}) as s:\n"
            f"    (s / 'disparity.pfm').write_bytes(b'x')\n"
            f"    print('ready', flush=True)\n"
            f"    time.sleep(60)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    assert p.returncode != 0
    assert [e.name for e in tmp_path.iterdir()] == ["o"] and not any(out.iterdir())


HUGE_INT = "9" * 350  # a YAML integer beyond the float range: float() raises OverflowError


@pytest.mark.parametrize("name,text", [
    ("rect.yaml", RECT.replace("focal_px: 500\n", f"focal_px: {HUGE_INT}\n", 1)),
    ("rect.yaml", RECT.replace("image_width_px: 640", f"image_width_px: {HUGE_INT}")),
    ("cv.yml", "%YAML:1.0\nimage_width: " + HUGE_INT + "\nimage_height: 4\n"
               "M1: !!opencv-matrix\n  rows: 1\n  cols: 1\n  dt: d\n  data: [" + HUGE_INT + "]\n"),
    ("cv2.yml", "%YAML:1.0\nM1: !!opencv-matrix\n  rows: " + HUGE_INT + "\n  cols: 1\n  dt: d\n  data: [1]\n"),
])
def test_10_integers_beyond_the_float_range(name, text, tmp_path):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises((CalibrationError, FileFormatError)):
        load_calibration(p)


def test_10_integers_beyond_the_float_range_rig_and_ros(tmp_path):
    from tests.test_fuzz_parsers import ROS_LEFT, ROS_RIGHT
    rig = tmp_path / "rig.yaml"
    rig.write_text(_rig_text().replace("- 410.0", f"- {HUGE_INT}", 1).replace("[410.0,", f"[{HUGE_INT},", 1))
    assert HUGE_INT in rig.read_text()
    with pytest.raises(CalibrationError):
        load_calibration(rig)
    right = tmp_path / "right.yaml"
    right.write_bytes(ROS_RIGHT)
    for old, new in ((b"[410, 0, 318", b"[410, 0, " + HUGE_INT.encode()),
                     (b"image_width: 640", b"image_width: " + HUGE_INT.encode())):
        left = tmp_path / "left.yaml"
        left.write_bytes(ROS_LEFT.replace(old, new))
        with pytest.raises(CalibrationError):
            load_calibration(f"{left},{right}")
