"""Bounded, derandomized fuzzing of every file parser.

Property, for each reader: on any input it either returns or raises a ``StereoError``
subclass (never another exception type, never a native crash, no RuntimeWarning), within a
few seconds, and without allocating more than :data:`MEMORY_LIMIT` (Python/NumPy
allocations, traced).

Inputs are mutations of a valid file (byte flips, insertions, deletions, splices of
format keywords) and token soups over each format's vocabulary. ``derandomize=True``
makes CI stable; ``STEREO_FUZZ_EXAMPLES`` raises the count per parser for a long local
session (the default keeps the whole module to well under a minute on 2 cores).
"""

from __future__ import annotations

import os
import time
import tracemalloc
import warnings

import cv2
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from stereo.errors import StereoError  # noqa: E402

EXAMPLES = int(os.environ.get("STEREO_FUZZ_EXAMPLES", "400"))
MEMORY_LIMIT = 64 << 20
TIME_LIMIT_S = 10.0
SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


# ---- valid seeds --------------------------------------------------------------------------
def _pfm_seed() -> bytes:
    from stereo.io.pfm import encode_pfm
    return encode_pfm(np.arange(12, dtype=np.float32).reshape(3, 4))


def _kitti_seed() -> bytes:
    ok, buf = cv2.imencode(".png", (np.arange(12, dtype=np.uint16).reshape(3, 4) * 300))
    return buf.tobytes()


def _npy_seed() -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, np.arange(12, dtype=np.float32).reshape(3, 4))
    return buf.getvalue()


MIDDLEBURY = (b"cam0=[994.978 0 311.193; 0 994.978 254.877; 0 0 1]\n"
              b"cam1=[994.978 0 342.279; 0 994.978 254.877; 0 0 1]\ndoffs=31.086\nbaseline=193.001\n"
              b"width=741\nheight=500\nndisp=64\nvmin=7\nvmax=60\n")
KITTI = (b"calib_time: 09-Jan-2012 13:57:47\nS_rect_02: 1.242000e+03 3.750000e+02\n"
         b"P_rect_02: 7.215377e+02 0.000000e+00 6.095593e+02 4.485728e+01 0.000000e+00 7.215377e+02 "
         b"1.728540e+02 2.163791e-01 0.000000e+00 0.000000e+00 1.000000e+00 2.745884e-03\n"
         b"P_rect_03: 7.215377e+02 0.000000e+00 6.095593e+02 -3.395242e+02 0.000000e+00 7.215377e+02 "
         b"1.728540e+02 2.199936e+00 0.000000e+00 0.000000e+00 1.000000e+00 2.729905e-03\n")
OPENCV_YAML = (b"%YAML:1.0\n---\nimage_width: 640\nimage_height: 400\n"
               b"M1: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n   data: [ 410., 0., 318., 0., 411., 203., 0., 0., 1. ]\n"
               b"D1: !!opencv-matrix\n   rows: 1\n   cols: 5\n   dt: d\n   data: [ -0.2, 0.05, 0., 0., 0. ]\n"
               b"M2: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n   data: [ 412., 0., 325., 0., 412., 198., 0., 0., 1. ]\n"
               b"D2: !!opencv-matrix\n   rows: 1\n   cols: 5\n   dt: d\n   data: [ -0.2, 0.06, 0., 0., 0. ]\n"
               b"R: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n   data: [ 1., 0., 0., 0., 1., 0., 0., 0., 1. ]\n"
               b"T: !!opencv-matrix\n   rows: 3\n   cols: 1\n   dt: d\n   data: [ -0.095, 0., 0. ]\n")
OPENCV_XML = (b'<?xml version="1.0"?>\n<opencv_storage>\n<image_width>640</image_width>\n'
              b"<image_height>400</image_height>\n"
              b'<M1 type_id="opencv-matrix"><rows>3</rows><cols>3</cols><dt>d</dt>\n'
              b"<data>410. 0. 318. 0. 411. 203. 0. 0. 1.</data></M1>\n"
              b'<D1 type_id="opencv-matrix"><rows>1</rows><cols>5</cols><dt>d</dt><data>-0.2 0.05 0. 0. 0.</data></D1>\n'
              b'<M2 type_id="opencv-matrix"><rows>3</rows><cols>3</cols><dt>d</dt>\n'
              b"<data>412. 0. 325. 0. 412. 198. 0. 0. 1.</data></M2>\n"
              b'<D2 type_id="opencv-matrix"><rows>1</rows><cols>5</cols><dt>d</dt><data>-0.2 0.06 0. 0. 0.</data></D2>\n'
              b'<R type_id="opencv-matrix"><rows>3</rows><cols>3</cols><dt>d</dt><data>1. 0. 0. 0. 1. 0. 0. 0. 1.</data></R>\n'
              b'<T type_id="opencv-matrix"><rows>3</rows><cols>1</cols><dt>d</dt><data>-0.095 0. 0.</data></T>\n'
              b"<imageSize>640 400</imageSize>\n</opencv_storage>\n")
ROS_LEFT = (b"image_width: 640\nimage_height: 400\ncamera_name: left\n"
            b"camera_matrix: {rows: 3, cols: 3, data: [410, 0, 318, 0, 411, 203, 0, 0, 1]}\n"
            b"distortion_model: plumb_bob\ndistortion_coefficients: {rows: 1, cols: 5, data: [0, 0, 0, 0, 0]}\n"
            b"rectification_matrix: {rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}\n"
            b"projection_matrix: {rows: 3, cols: 4, data: [400, 0, 320, 0, 0, 400, 200, 0, 0, 0, 1, 0]}\n")
ROS_RIGHT = ROS_LEFT.replace(b"camera_name: left", b"camera_name: right").replace(
    b"[400, 0, 320, 0, 0, 400", b"[400, 0, 320, -40, 0, 400")


def _rig_seed() -> bytes:
    from calib.rig import StereoRig
    K = np.array([[410.0, 0, 318.0], [0, 411.0, 203.0], [0, 0, 1]])
    rig = StereoRig.from_extrinsics((64, 40), K, np.zeros(5), K, np.zeros(5), np.eye(3), [-0.1, 0, 0])
    import yaml
    return yaml.safe_dump(rig.to_dict(), sort_keys=False, default_flow_style=None).encode()


TOKENS = [b"\n", b" ", b"  ", b":", b"=", b"[", b"]", b"{", b"}", b",", b";", b"-", b"&a ", b"*a", b"!!opencv-matrix",
          b"!!binary ", b"%YAML:1.0\n", b"---\n", b"rows: ", b"cols: ", b"dt: ", b"d", b"f", b"data: ", b"1", b"0",
          b"-1", b"3", b"1e308", b"-1e308", b"1e-300", b".nan", b".inf", b"nan", b"inf", b"abc", b"M1", b"T", b"R",
          b"Q", b"P1", b"P_rect_02:", b"S_rect_02:", b"cam0=", b"baseline=", b"image_width", b"<", b">", b"</",
          b"<opencv_storage>", b'type_id="opencv-matrix"', b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"\x00", b"\xff",
          b"9" * 50, b"9" * 400, b"[[[[[[[[", b"PF\n", b"Pf\n", b"\x93NUMPY", b"\x89PNG\r\n\x1a\n"]


@st.composite
def mutated(draw, seed: bytes):
    """``seed`` with a few byte-level edits, or a token soup (one in five)."""
    if draw(st.integers(0, 4)) == 0:
        return b"".join(draw(st.lists(st.sampled_from(TOKENS), max_size=60)))
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(("flip", "insert", "delete", "token", "truncate", "dup")))
        pos = draw(st.integers(0, max(0, len(data))))
        if op == "flip" and data:
            data[min(pos, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 16))]
        elif op == "token":
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif op == "truncate":
            del data[pos:]
        elif op == "dup" and data:
            end = min(len(data), pos + draw(st.integers(1, 64)))
            data[pos:pos] = data[pos:end] * draw(st.integers(1, 20))
    return bytes(data)


def _check(reader, path, data: bytes):
    """Write ``data`` to ``path``, run ``reader(path)``: only StereoError, in time and memory."""
    path.write_bytes(data)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no numeric warning may leak either
            reader(path)
    except StereoError:
        pass
    finally:
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < TIME_LIMIT_S, f"{elapsed:.1f} s on {data[:200]!r}"
    assert peak < MEMORY_LIMIT, f"{peak / 2**20:.0f} MiB on {data[:200]!r}"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _pair_reader(right_path):
    from calib.formats import load_ros_camera_info_pair
    return lambda p: load_ros_camera_info_pair(p, right_path)


def _readers():
    from calib.formats import load_calibration, load_kitti_calibration, load_opencv_calibration
    from calib.middlebury import read_middlebury_calib
    from calib.rig import StereoRig
    from stereo.io import read_disparity, read_pfm
    from stereo.io.kitti import read_kitti_disparity

    return {
        "pfm": (".pfm", _pfm_seed(), [read_pfm, read_disparity]),
        "kitti_png": (".png", _kitti_seed(), [read_kitti_disparity]),
        "npy": (".npy", _npy_seed(), [read_disparity]),
        "middlebury": (".txt", MIDDLEBURY, [read_middlebury_calib, load_calibration]),
        "rig_yaml": (".yaml", _rig_seed(), [StereoRig.load, load_calibration]),
        "opencv_yaml": (".yml", OPENCV_YAML, [load_opencv_calibration, load_calibration]),
        "opencv_xml": (".xml", OPENCV_XML, [load_opencv_calibration, load_calibration]),
        "kitti_calib": (".txt", KITTI, [load_kitti_calibration, load_calibration]),
    }


@pytest.mark.parametrize("name", ["pfm", "kitti_png", "npy", "middlebury", "rig_yaml", "opencv_yaml",
                                  "opencv_xml", "kitti_calib"])
def test_parser_fuzz(name, work):
    suffix, seed, readers = _readers()[name]
    for reader in readers:  # the seed itself must parse: the mutations start from a valid file
        reader_ok = work / f"seed_{name}{suffix}"
        reader_ok.write_bytes(seed)
        reader(reader_ok)
    path = work / f"fuzz_{name}{suffix}"

    @SETTINGS
    @given(data=mutated(seed))
    def run(data):
        for reader in readers:
            _check(reader, path, data)

    run()


def test_ros_camera_info_fuzz(work):
    right = work / "right.yaml"
    right.write_bytes(ROS_RIGHT)
    reader = _pair_reader(right)
    seed_path = work / "left_seed.yaml"
    seed_path.write_bytes(ROS_LEFT)
    reader(seed_path)
    path = work / "left.yaml"

    @SETTINGS
    @given(data=mutated(ROS_LEFT))
    def run(data):
        _check(reader, path, data)

    run()
