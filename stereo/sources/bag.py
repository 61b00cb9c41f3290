"""Stereo pairs from ROS 1 (``.bag``) and ROS 2 (folder with ``metadata.yaml``) bags, without ROS.

Uses the pure-Python ``rosbags`` package (optional extra ``stereodepth[ros]``), imported
lazily. Image topics may be ``sensor_msgs/Image`` (mono8, mono16, bgr8, rgb8, bgra8,
rgba8, 8UC1, 8UC3, 16UC1) or ``sensor_msgs/CompressedImage`` (any format OpenCV decodes).

Pairing: each view's messages are ordered by header stamp; a left and a right message pair
when their header stamps differ by at most ``tolerance`` seconds (approximate-time
synchronisation, as ROS's message_filters). Messages without a partner are dropped and
counted. A header stamp of zero falls back to the bag's receive time.

CameraInfo: the topic beside each image topic (``.../image_raw`` -> ``.../camera_info``, or
``.../image_raw/compressed`` -> ``.../camera_info``), or given explicitly; the first message
of each is used.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FileFormatError, InputError
from .base import FramePair

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"
INSTALL_HINT = ("reading ROS bags needs the 'rosbags' package: pip install rosbags "
                "(or install this project with the [ros] extra)")


def require_rosbags():
    """Import rosbags or raise a :class:`ParameterError`-like StereoError with the install hint."""
    try:
        import rosbags  # noqa: F401
    except ImportError:
        from ..errors import StereoError
        raise StereoError(INSTALL_HINT) from None


def bag_kind(path) -> str:
    """"ros1" for a ``.bag`` file, "ros2" for a bag folder (or its .db3/.mcap file)."""
    p = Path(path)
    if p.is_dir():
        if not (p / "metadata.yaml").exists():
            raise FileFormatError(f"{p}: a ROS 2 bag folder needs a metadata.yaml", str(p))
        return "ros2"
    if not p.exists():
        raise InputError(f"{p}: no such bag")
    if p.suffix == ".bag":
        return "ros1"
    if p.suffix in (".db3", ".mcap") and (p.parent / "metadata.yaml").exists():
        return "ros2"
    raise FileFormatError(f"{p}: not a ROS bag (expected a .bag file or a ROS 2 bag folder)", str(p))


def stamp_ns(header, fallback: int) -> int:
    """Header stamp in integer nanoseconds (``fallback`` when the stamp is zero)."""
    ns = int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)
    return ns if ns > 0 else int(fallback)


def image_from_msg(msg) -> np.ndarray:
    """An OpenCV-style array (grey or BGR) from a sensor_msgs Image or CompressedImage."""
    import cv2
    if hasattr(msg, "format"):  # CompressedImage
        img = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise FileFormatError(f"cannot decode a CompressedImage ({msg.format!r})")
        return img
    enc = str(msg.encoding).lower()
    table = {"mono8": (np.uint8, 1), "8uc1": (np.uint8, 1), "bgr8": (np.uint8, 3), "rgb8": (np.uint8, 3),
             "8uc3": (np.uint8, 3), "bgra8": (np.uint8, 4), "rgba8": (np.uint8, 4),
             "mono16": (np.uint16, 1), "16uc1": (np.uint16, 1)}
    if enc not in table:
        raise FileFormatError(f"image encoding {msg.encoding!r} is not supported "
                              f"({', '.join(sorted(table))})")
    dtype, ch = table[enc]
    dt = np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    raw = np.frombuffer(bytes(msg.data), np.uint8)
    if raw.size < h * step or step < w * ch * dt.itemsize:
        raise FileFormatError(f"Image message is truncated ({raw.size} bytes for {w}x{h} {msg.encoding})")
    rows = raw[:h * step].reshape(h, step)[:, :w * ch * dt.itemsize]
    img = np.ascontiguousarray(rows).view(dt).reshape((h, w, ch) if ch > 1 else (h, w)).astype(dtype)
    if enc == "rgb8":
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    elif enc == "rgba8":
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    return img


def info_topic_for(image_topic: str) -> str:
    """The CameraInfo topic beside an image topic (ROS camera driver convention)."""
    parts = image_topic.rstrip("/").split("/")
    if parts and parts[-1] in ("compressed", "theora", "compressedDepth"):
        parts = parts[:-1]
    return "/".join(parts[:-1] + ["camera_info"])


@dataclass
class BagStereo:
    """An open stereo bag: its kind, topics, camera infos and the pairing counters."""

    path: Path
    kind: str
    left_topic: str
    right_topic: str
    tolerance_ns: int
    camera_infos: tuple | None = None
    dropped: dict = field(default_factory=lambda: {"left": 0, "right": 0})
    paired: int = 0


def _connections(reader, topic, path):
    conns = [c for c in reader.connections if c.topic == topic]
    if not conns:
        topics = ", ".join(sorted({c.topic for c in reader.connections})) or "none"
        raise InputError(f"{path}: no topic {topic!r} in the bag (topics: {topics})")
    if conns[0].msgtype not in IMAGE_TYPES:
        raise InputError(f"{path}: topic {topic!r} is {conns[0].msgtype}, not an image "
                         f"({' or '.join(IMAGE_TYPES)})")
    return conns


def check_topics(path, left_topic: str, right_topic: str) -> None:
    """Raise :class:`InputError` unless both topics exist and carry images."""
    require_rosbags()
    from rosbags.highlevel import AnyReader
    try:
        reader = AnyReader([Path(path)])
        reader.open()
    except Exception as exc:  # rosbags' own reader errors: a damaged or foreign file
        raise FileFormatError(f"{path}: cannot read the bag ({type(exc).__name__}: {exc})", str(path)) from None
    try:
        _connections(reader, left_topic, path)
        _connections(reader, right_topic, path)
    finally:
        reader.close()


def read_camera_infos(path, left_info: str, right_info: str):
    """The first CameraInfo message of each topic, or None when either topic is absent."""
    require_rosbags()
    from rosbags.highlevel import AnyReader
    found = {}
    with AnyReader([Path(path)]) as reader:
        for side, topic in (("left", left_info), ("right", right_info)):
            conns = [c for c in reader.connections if c.topic == topic and c.msgtype == CAMERA_INFO_TYPE]
            if not conns:
                return None
            for conn, _, raw in reader.messages(connections=conns):
                found[side] = reader.deserialize(raw, conn.msgtype)
                break
    if len(found) != 2:
        return None
    return found["left"], found["right"]


def stereo_pairs(path, left_topic: str, right_topic: str, *, tolerance: float = 0.005, state=None):
    """Yield :class:`FramePair` s of a bag (see module doc), oldest first.

    Each pair's ``stamp`` is the left header stamp, seconds; ``meta`` holds
    ``stamp_ns`` (left header), ``right_stamp_ns``, ``frame_id`` (left), ``right_frame_id``
    and ``bag_time_ns`` (the left message's receive time in the bag).
    ``state`` (a :class:`BagStereo`) collects the counts of paired and dropped messages.
    """
    require_rosbags()
    from rosbags.highlevel import AnyReader
    tol = int(round(float(tolerance) * 1e9))
    pending = {"left": deque(), "right": deque()}
    index = 0
    with AnyReader([Path(path)]) as reader:
        conns = {"left": _connections(reader, left_topic, path), "right": _connections(reader, right_topic, path)}
        side_of = {c.id: side for side, cs in conns.items() for c in cs}
        for conn, t, raw in reader.messages(connections=conns["left"] + conns["right"]):
            side = side_of[conn.id]
            msg = reader.deserialize(raw, conn.msgtype)
            pending[side].append((stamp_ns(msg.header, t), t, msg))
            while pending["left"] and pending["right"]:
                (sl, tl, ml), (sr, _, mr) = pending["left"][0], pending["right"][0]
                if abs(sl - sr) <= tol:
                    pending["left"].popleft()
                    pending["right"].popleft()
                    meta = {"stamp_ns": sl, "right_stamp_ns": sr, "frame_id": str(ml.header.frame_id),
                            "right_frame_id": str(mr.header.frame_id), "bag_time_ns": tl}
                    if state is not None:
                        state.paired += 1
                    yield FramePair(index=index, name=f"{index:06d}", left=image_from_msg(ml),
                                    right=image_from_msg(mr), stamp=sl / 1e9, meta=meta)
                    index += 1
                else:  # the older one can no longer find a partner
                    drop = "left" if sl < sr else "right"
                    pending[drop].popleft()
                    if state is not None:
                        state.dropped[drop] += 1
    if state is not None:
        for side in pending:
            state.dropped[side] += len(pending[side])


def count_messages(path, topic: str) -> int | None:
    """Messages on ``topic`` (from the bag's index; None when unknown)."""
    require_rosbags()
    from rosbags.highlevel import AnyReader
    with AnyReader([Path(path)]) as reader:
        return sum(c.msgcount for c in reader.connections if c.topic == topic) or None


__all__ = ["stereo_pairs", "read_camera_infos", "info_topic_for", "image_from_msg", "bag_kind",
           "count_messages", "check_topics", "BagStereo", "INSTALL_HINT", "require_rosbags"]
