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


__all__ = ["BagSink"]
