"""``stereo bag``: ROS 1 and ROS 2 bags written here from the shared chessboard pairs, round trip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("rosbags", reason="the [ros] extra (rosbags) is not installed")

from rosbags.highlevel import AnyReader  # noqa: E402
from rosbags.typesys import Stores, get_typestore  # noqa: E402

from stereo.camera import StereoCamera  # noqa: E402
from stereo.cli.main import main  # noqa: E402
from stereo.paths import chessboard_dir  # noqa: E402
from stereo.sources.bag import image_from_msg, stereo_pairs  # noqa: E402

N = 3
T0 = 1_700_000_000_000_000_000  # ns
PERIOD = 100_000_000  # 10 Hz


def _time(ts, ns):
    return ts.types["builtin_interfaces/msg/Time"](sec=ns // 10**9, nanosec=ns % 10**9)


def _header(ts, kind, ns, frame, seq):
    H = ts.types["std_msgs/msg/Header"]
    return H(seq=seq, stamp=_time(ts, ns), frame_id=frame) if kind == "ros1" else H(stamp=_time(ts, ns), frame_id=frame)


def _info(ts, kind, header, rig, side):
    K, D, R, P = (rig.K1, rig.D1, rig.R1, rig.P1) if side == "left" else (rig.K2, rig.D2, rig.R2, rig.P2)
    roi = ts.types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    f = dict(header=header, height=rig.height, width=rig.width, distortion_model="plumb_bob", binning_x=0,
             binning_y=0, roi=roi)
    vals = (np.ravel(D).astype(float), np.ravel(K), np.ravel(R), np.ravel(P))
    f.update(zip(("D", "K", "R", "P") if kind == "ros1" else ("d", "k", "r", "p"), vals))
    return ts.types["sensor_msgs/msg/CameraInfo"](**f)


def write_input_bag(path: Path, kind: str, rig, pairs, *, skew_ns=2_000_000, extra_left=True):
    """Left as mono8 Image, right as PNG CompressedImage, CameraInfo beside both; right stamps
    lag by ``skew_ns``; one unpaired extra left frame at the end."""
    ts = get_typestore(Stores.ROS1_NOETIC if kind == "ros1" else Stores.ROS2_HUMBLE)
    if kind == "ros1":
        from rosbags.rosbag1 import Writer
        writer, ser = Writer(path), ts.serialize_ros1
    else:
        from rosbags.rosbag2 import Writer
        writer, ser = Writer(path, version=8), ts.serialize_cdr
    Image, Comp = ts.types["sensor_msgs/msg/Image"], ts.types["sensor_msgs/msg/CompressedImage"]
    with writer:
        conns = {t: writer.add_connection(t, mt, typestore=ts) for t, mt in (
            ("/cam/left/image_raw", "sensor_msgs/msg/Image"),
            ("/cam/right/image_raw/compressed", "sensor_msgs/msg/CompressedImage"),
            ("/cam/left/camera_info", "sensor_msgs/msg/CameraInfo"),
            ("/cam/right/camera_info", "sensor_msgs/msg/CameraInfo"))}
        frames = list(pairs) + ([pairs[0]] if extra_left else [])
        for i, (left, right) in enumerate(frames):
            ns = T0 + i * PERIOD
            hl = _header(ts, kind, ns, "cam_left_optical", i)
            hr = _header(ts, kind, ns + skew_ns, "cam_right_optical", i)
            writer.write(conns["/cam/left/camera_info"], ns, ser(_info(ts, kind, hl, rig, "left"), "sensor_msgs/msg/CameraInfo"))
            msg = Image(header=hl, height=left.shape[0], width=left.shape[1], encoding="mono8", is_bigendian=0,
                        step=left.shape[1], data=np.ascontiguousarray(left).reshape(-1))
            writer.write(conns["/cam/left/image_raw"], ns, ser(msg, "sensor_msgs/msg/Image"))
            if i < len(pairs):
                writer.write(conns["/cam/right/camera_info"], ns + skew_ns,
                             ser(_info(ts, kind, hr, rig, "right"), "sensor_msgs/msg/CameraInfo"))
                png = np.frombuffer(cv2.imencode(".png", right)[1].tobytes(), np.uint8)
                writer.write(conns["/cam/right/image_raw/compressed"], ns + skew_ns + 1,
                             ser(Comp(header=hr, format="png", data=png), "sensor_msgs/msg/CompressedImage"))


@pytest.fixture(scope="module")
def pairs(shared_report):
    root = chessboard_dir()
    return [(cv2.imread(str(root / f"left{i:06d}.jpg"), 0), cv2.imread(str(root / f"right{i:06d}.jpg"), 0))
            for i in range(N)]


def _read(path):
    out = {}
    with AnyReader([Path(path)]) as reader:
        for conn, t, raw in reader.messages():
            out.setdefault(conn.topic, []).append((conn.msgtype, t, reader.deserialize(raw, conn.msgtype)))
    return out


@pytest.mark.parametrize("kind", ["ros1", "ros2"])
def test_bag_round_trip_from_camera_info(kind, shared_report, pairs, tmp_path, capsys):
    rig = shared_report.rig
    src = tmp_path / ("in.bag" if kind == "ros1" else "in_bag")
    write_input_bag(src, kind, rig, pairs)
    # the reader pairs by header stamp within the tolerance and drops the unpaired frame
    got = list(stereo_pairs(src, "/cam/left/image_raw", "/cam/right/image_raw/compressed", tolerance=0.005))
    assert len(got) == N
    np.testing.assert_array_equal(got[1].left, pairs[1][0])
    np.testing.assert_array_equal(got[1].right, pairs[1][1])
    assert got[2].meta["stamp_ns"] == T0 + 2 * PERIOD and got[2].meta["frame_id"] == "cam_left_optical"
    assert list(stereo_pairs(src, "/cam/left/image_raw", "/cam/right/image_raw/compressed", tolerance=0.001)) == []

    out = tmp_path / ("out.bag" if kind == "ros1" else "out_bag")
    code = main(["bag", str(src), "-o", str(out), "--left-topic", "/cam/left/image_raw",
                 "--right-topic", "/cam/right/image_raw/compressed", "--near", "0.4m", "--far", "10m",
                 "--no-progress"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert "CameraInfo" in stdout and f"paired {N}" in stdout and "left 1, right 0" in stdout
    assert "p50" in stdout and "p99" in stdout
    msgs = _read(out)
    assert sorted(msgs) == ["/cam/camera_info", "/cam/depth", "/cam/disparity", "/cam/points"]
    assert msgs["/cam/disparity"][0][0] == "stereo_msgs/msg/DisparityImage"
    assert msgs["/cam/points"][0][0] == "sensor_msgs/msg/PointCloud2"
    for topic, items in msgs.items():
        assert len(items) == N
        for i, (_, t, m) in enumerate(items):
            assert m.header.stamp.sec * 10**9 + m.header.stamp.nanosec == T0 + i * PERIOD
            assert m.header.frame_id == "cam_left_optical"
            assert t == T0 + i * PERIOD
    # the depth image is what StereoCamera gives for the same rig, in metres, NaN invalid
    expect = StereoCamera(rig, near=0.4, far=10.0).process(*pairs[0])
    dm = msgs["/cam/depth"][0][2]
    assert dm.encoding == "32FC1" and (dm.height, dm.width) == pairs[0][0].shape
    depth = image_from_msg_f32(dm)
    both = np.isfinite(depth) & np.isfinite(expect.depth)
    assert both.sum() > 0.9 * np.isfinite(expect.depth).sum()
    np.testing.assert_allclose(depth[both], expect.depth[both], rtol=1e-3)
    disp = msgs["/cam/disparity"][0][2]
    assert disp.image.encoding == "32FC1"
    assert getattr(disp, "T" if kind == "ros1" else "t") == pytest.approx(rig.baseline_m, rel=1e-3)
    d = image_from_msg_f32(disp.image)
    assert (d[~np.isfinite(expect.depth)] < disp.min_disparity).all()
    cloud = msgs["/cam/points"][0][2]
    assert [f.name for f in cloud.fields] == ["x", "y", "z", "rgb"] and cloud.point_step == 16
    pts = np.frombuffer(bytes(cloud.data), np.float32).reshape(cloud.height, cloud.width, 4)
    np.testing.assert_allclose(pts[..., 2][both], depth[both], rtol=1e-6)


def image_from_msg_f32(msg):
    assert msg.encoding == "32FC1"
    return np.frombuffer(bytes(msg.data), "<f4").reshape(msg.height, msg.width)


def test_bag_errors_are_one_line(shared_report, pairs, tmp_path, capsys):
    src = tmp_path / "in.bag"
    write_input_bag(src, "ros1", shared_report.rig, pairs[:1])
    code = main(["bag", str(src), "-o", str(tmp_path / "o.bag"), "--left-topic", "/nope",
                 "--right-topic", "/cam/right/image_raw/compressed"])
    err = capsys.readouterr().err
    assert code == 2 and "no topic '/nope'" in err and "/cam/left/image_raw" in err
    assert not (tmp_path / "o.bag").exists()
    code = main(["bag", str(src), "-o", str(tmp_path / "o.bag"), "--left-topic", "/cam/left/camera_info",
                 "--right-topic", "/cam/right/image_raw/compressed"])
    assert code == 2 and "not an image" in capsys.readouterr().err
    # per-frame files instead of a bag
    code = main(["bag", str(src), "-o", str(tmp_path / "files"), "--files", "--left-topic", "/cam/left/image_raw",
                 "--right-topic", "/cam/right/image_raw/compressed", "--num-disparities", "64", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "files" / "000000" / "depth.pfm").exists()


def test_damaged_bag_and_missing_rosbags(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.bag"
    bad.write_bytes(b"#ROSBAG V2.0\nnot really")
    code = main(["bag", str(bad), "-o", str(tmp_path / "o.bag"), "--left-topic", "/l", "--right-topic", "/r"])
    assert code == 2 and "cannot read the bag" in capsys.readouterr().err
    import sys
    monkeypatch.setitem(sys.modules, "rosbags", None)
    code = main(["bag", str(bad), "-o", str(tmp_path / "o.bag"), "--left-topic", "/l", "--right-topic", "/r"])
    assert code == 2 and "pip install rosbags" in capsys.readouterr().err
