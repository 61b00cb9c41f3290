"""Write depth, disparity and point clouds into a new ROS 1 or ROS 2 bag (``rosbags``, no ROS).

Per matched pair, stamped with the LEFT image's header stamp and framed with its frame_id
(the points and depth are in the left *rectified* camera frame, which differs from the raw
left optical frame by the rectification rotation R1; with CameraInfo from the bag that is
the frame its ``R`` describes):

* ``PREFIX/depth`` sensor_msgs/Image, ``32FC1``, metres, NaN = invalid (REP 118);
* ``PREFIX/disparity`` stereo_msgs/DisparityImage: ``32FC1`` disparity with ROS's
  convention ``d_msg = x_l - x_r - (cx_l - cx_r)`` (= ours + doffs), invalid pixels set
  below ``min_disparity`` (to ``min_disparity - 1``, as stereo_image_proc does), ``f`` px,
  ``t`` metres;
* ``PREFIX/points`` sensor_msgs/PointCloud2, organised (H x W), fields x y z (float32, m)
  and rgb (float32-packed), NaN points where invalid (``is_dense`` false);
* ``PREFIX/camera_info`` sensor_msgs/CameraInfo of the left rectified image (K, P; no
  distortion), for consumers of the depth image.

The bag is written under a temporary name beside OUTPUT and renamed when complete.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from ..errors import OutputError

FLOAT32 = 7  # sensor_msgs/PointField.FLOAT32


class BagSink:
    """A new bag at ``path`` of ``kind`` "ros1" or "ros2"; use as a context manager."""

    def __init__(self, path, kind: str, prefix: str = "/stereo"):
        from ..sources.bag import require_rosbags
        require_rosbags()
        from rosbags.typesys import Stores, get_typestore

        self.path = Path(path)
        if self.path.exists():
            raise OutputError(f"{self.path}: already exists; bags are never overwritten", str(self.path))
        if not self.path.parent.exists():
            raise OutputError(f"{self.path}: the folder {self.path.parent} does not exist", str(self.path))
        self.kind = kind
        self.prefix = "/" + prefix.strip("/")
        self.ts = get_typestore(Stores.ROS1_NOETIC if kind == "ros1" else Stores.ROS2_HUMBLE)
        self.topics = {k: f"{self.prefix}/{k}" for k in ("depth", "disparity", "points", "camera_info")}
        self._tmp = self.path.with_name(f".{self.path.name}.partial-{uuid.uuid4().hex[:8]}")
        self._writer = None
        self._conns = {}
        self._seq = 0

    # ---- lifecycle ------------------------------------------------------------------------
    def __enter__(self):
        if self.kind == "ros1":
            from rosbags.rosbag1 import Writer
            self._writer = Writer(self._tmp)
        else:
            from rosbags.rosbag2 import Writer
            self._writer = Writer(self._tmp, version=8)
        self._writer.open()
        types = {"depth": "sensor_msgs/msg/Image", "disparity": "stereo_msgs/msg/DisparityImage",
                 "points": "sensor_msgs/msg/PointCloud2", "camera_info": "sensor_msgs/msg/CameraInfo"}
        for key, msgtype in types.items():
            self._conns[key] = self._writer.add_connection(self.topics[key], msgtype, typestore=self.ts)
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self._writer.close()
        finally:
            if exc_type is None:
                os.replace(self._tmp, self.path)
            elif self._tmp.is_dir():
                shutil.rmtree(self._tmp, ignore_errors=True)
            else:
                self._tmp.unlink(missing_ok=True)
        return False

    # ---- messages -------------------------------------------------------------------------
    def _header(self, stamp_ns: int, frame_id: str):
        T = self.ts.types
        stamp = T["builtin_interfaces/msg/Time"](sec=int(stamp_ns // 1_000_000_000),
                                                  nanosec=int(stamp_ns % 1_000_000_000))
        if self.kind == "ros1":
            return T["std_msgs/msg/Header"](seq=self._seq, stamp=stamp, frame_id=frame_id)
        return T["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)

    def _image32(self, header, arr):
        a = np.ascontiguousarray(arr, dtype="<f4")
        h, w = a.shape
        return self.ts.types["sensor_msgs/msg/Image"](
            header=header, height=h, width=w, encoding="32FC1", is_bigendian=0, step=w * 4,
            data=a.view(np.uint8).reshape(-1).copy())

    def _camera_info(self, header, calib):
        T = self.ts.types
        K = np.asarray(calib.K_left, np.float64).ravel()
        P = np.asarray(calib.P1, np.float64).ravel()
        roi = T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
        fields = dict(header=header, height=int(calib.height), width=int(calib.width),
                      distortion_model="plumb_bob", binning_x=0, binning_y=0, roi=roi)
        if self.kind == "ros1":
            fields.update(D=np.zeros(5), K=K, R=np.eye(3).ravel(), P=P)
        else:
            fields.update(d=np.zeros(5), k=K, r=np.eye(3).ravel(), p=P)
        return T["sensor_msgs/msg/CameraInfo"](**fields)

    def _cloud(self, header, points, image):
        T = self.ts.types
        h, w = points.shape[:2]
        buf = np.empty((h, w, 4), np.float32)
        buf[..., :3] = points
        buf[..., 3] = _packed_rgb(image).view(np.float32)
        fields = [T["sensor_msgs/msg/PointField"](name=n, offset=4 * i, datatype=FLOAT32, count=1)
                  for i, n in enumerate(("x", "y", "z", "rgb"))]
        return T["sensor_msgs/msg/PointCloud2"](
            header=header, height=h, width=w, fields=fields, is_bigendian=False, point_step=16,
            row_step=16 * w, data=buf.view(np.uint8).reshape(-1).copy(), is_dense=False)

    def _disparity(self, header, frame):
        T = self.ts.types
        c = frame.calibration
        m = frame.match
        lo = float(m.min_disparity + c.doffs)
        d = np.where(np.isfinite(m.disparity), m.disparity + np.float32(c.doffs), np.float32(lo - 1.0))
        h, w = d.shape
        roi = T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=h, width=w, do_rectify=False)
        baseline = {"T" if self.kind == "ros1" else "t": float(c.baseline_m)}  # ROS 1 spells it T
        return T["stereo_msgs/msg/DisparityImage"](
            header=header, image=self._image32(header, d), f=float(c.focal_px), valid_window=roi,
            min_disparity=lo, max_disparity=lo + m.num_disparities - 1, delta_d=1.0 / 16, **baseline)

    def write(self, frame, stamp_ns: int, frame_id: str, bag_time_ns: int | None = None) -> None:
        """Write one :class:`stereo.camera.StereoFrame` (needs a calibration)."""
        if frame.calibration is None:
            raise OutputError("a bag needs metric output: give a calibration (or CameraInfo in the bag)")
        header = self._header(stamp_ns, frame_id)
        t = int(bag_time_ns if bag_time_ns is not None else stamp_ns)
        ser = self.ts.serialize_ros1 if self.kind == "ros1" else self.ts.serialize_cdr
        msgs = {"depth": self._image32(header, frame.depth),
                "disparity": self._disparity(header, frame),
                "points": self._cloud(header, frame.points, frame.rectified_left),
                "camera_info": self._camera_info(header, frame.calibration)}
        for key, msg in msgs.items():
            self._writer.write(self._conns[key], t, ser(msg, msg.__msgtype__))
        self._seq += 1


def _packed_rgb(image) -> np.ndarray:
    """uint32 (H, W) 0x00RRGGBB of a grey/BGR(A) 8- or 16-bit image (PCL's packed rgb)."""
    img = np.asarray(image)
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        b = g = r = img
    else:
        b, g, r = img[..., 0], img[..., 1], img[..., 2]
    return (r.astype(np.uint32) << 16) | (g.astype(np.uint32) << 8) | b.astype(np.uint32)


# ---- raw input bags (tests, demos) ---------------------------------------------------------
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


def write_raw_stereo_bag(path, kind: str, rig, pairs, *, skew_ns: int = 0, extra_left: bool = False,
                         t0_ns: int = 1_700_000_000_000_000_000, period_ns: int = 100_000_000) -> None:
    """Write raw stereo pairs and their CameraInfo into a new bag (for tests and demos).

    Topics: ``/cam/left/image_raw`` (sensor_msgs/Image, mono8 or bgr8),
    ``/cam/right/image_raw/compressed`` (CompressedImage, PNG) and ``/cam/{left,right}/camera_info``
    from ``rig`` (a StereoRig); frame ids ``cam_left_optical`` / ``cam_right_optical``.
    Pair i is stamped ``t0_ns + i * period_ns``; right stamps lag by ``skew_ns``;
    ``extra_left`` adds one unpaired left frame at the end.
    """
    import cv2

    from ..sources.bag import require_rosbags
    require_rosbags()
    from rosbags.typesys import Stores, get_typestore
    path = Path(path)
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
            ns = t0_ns + i * period_ns
            hl = _header(ts, kind, ns, "cam_left_optical", i)
            hr = _header(ts, kind, ns + skew_ns, "cam_right_optical", i)
            writer.write(conns["/cam/left/camera_info"], ns, ser(_info(ts, kind, hl, rig, "left"), "sensor_msgs/msg/CameraInfo"))
            ch = 1 if left.ndim == 2 else left.shape[2]
            msg = Image(header=hl, height=left.shape[0], width=left.shape[1],
                        encoding="mono8" if ch == 1 else "bgr8", is_bigendian=0,
                        step=left.shape[1] * ch, data=np.ascontiguousarray(left, np.uint8).reshape(-1))
            writer.write(conns["/cam/left/image_raw"], ns, ser(msg, "sensor_msgs/msg/Image"))
            if i < len(pairs):
                writer.write(conns["/cam/right/camera_info"], ns + skew_ns,
                             ser(_info(ts, kind, hr, rig, "right"), "sensor_msgs/msg/CameraInfo"))
                png = np.frombuffer(cv2.imencode(".png", right)[1].tobytes(), np.uint8)
                writer.write(conns["/cam/right/image_raw/compressed"], ns + skew_ns + 1,
                             ser(Comp(header=hr, format="png", data=png), "sensor_msgs/msg/CompressedImage"))


__all__ = ["BagSink", "write_raw_stereo_bag"]
