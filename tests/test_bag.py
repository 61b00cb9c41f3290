"""``stereo bag``: ROS 1 and ROS 2 bags written here from the shared chessboard pairs, round trip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("rosbags", reason="the [ros] extra (rosbags) is not installed")

from rosbags.highlevel import AnyReader  # noqa: E402

from stereo.camera import StereoCamera  # noqa: E402
from stereo.cli.main import main  # noqa: E402
from stereo.paths import chessboard_dir  # noqa: E402
from stereo.sinks.bag import write_raw_stereo_bag as write_input_bag  # noqa: E402
from stereo.sources.bag import stereo_pairs  # noqa: E402

N = 3
T0 = 1_700_000_000_000_000_000  # ns, the helper's first stamp
PERIOD = 100_000_000  # 10 Hz


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
    write_input_bag(src, kind, rig, pairs, skew_ns=2_000_000, extra_left=True)
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
