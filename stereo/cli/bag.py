"""``stereo bag INPUT -o OUTPUT --left-topic T --right-topic T``: depth from a ROS bag, no ROS needed."""

from __future__ import annotations

import posixpath
from pathlib import Path

from ..errors import ParameterError


def register(subparsers):
    p = subparsers.add_parser(
        "bag", help="depth, disparity and point clouds from the stereo images of a ROS 1/2 bag",
        description="Read the left and right image topics (sensor_msgs/Image or CompressedImage) of "
                    "a ROS 1 .bag or a ROS 2 bag folder, pair them by header stamp, and write a new "
                    "bag of the same kind with PREFIX/depth (32FC1, metres), PREFIX/disparity "
                    "(stereo_msgs/DisparityImage), PREFIX/points (PointCloud2) and "
                    "PREFIX/camera_info, stamped and framed like the left images; or, with "
                    "--files, per-pair files in OUTPUT/NNNNNN/. Without --calib the CameraInfo "
                    "topics of the bag are used. Needs the 'rosbags' package (extra [ros]).")
    p.add_argument("input", help="ROS 1 .bag file or ROS 2 bag folder")
    p.add_argument("-o", "--out", required=True, help="output bag (a .bag file for ROS 1, a folder for ROS 2) "
                                                      "or, with --files, an output folder")
    p.add_argument("--left-topic", required=True, help="left image topic")
    p.add_argument("--right-topic", required=True, help="right image topic")
    p.add_argument("--left-info-topic", help="left CameraInfo topic (default: camera_info beside the image topic)")
    p.add_argument("--right-info-topic", help="right CameraInfo topic")
    p.add_argument("--tolerance", default="5ms",
                   help="largest left/right header-stamp difference of a pair (default 5ms; e.g. 0.01s, 10ms)")
    p.add_argument("--prefix", help="namespace of the output topics (default: the common namespace "
                                    "of the input topics, or /stereo)")
    p.add_argument("--files", action="store_true", help="write per-pair files instead of a bag")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from .match import add_matching_arguments
    add_matching_arguments(p)
    p.set_defaults(func=run)


def parse_duration(text) -> float:
    """Seconds from '5ms', '0.01s', '2000us' or a bare number of seconds."""
    s = str(text).strip().lower()
    for unit, scale in (("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1.0)):
        if s.endswith(unit):
            s, factor = s[: -len(unit)], scale
            break
    else:
        factor = 1.0
    try:
        value = float(s) * factor
    except ValueError:
        raise ParameterError(f"--tolerance: cannot parse {text!r} (e.g. 5ms, 0.01s)") from None
    if not value >= 0:
        raise ParameterError(f"--tolerance must be >= 0, got {text!r}")
    return value


def default_prefix(left_topic: str, right_topic: str) -> str:
    """Common namespace of the two camera namespaces, e.g. /cam/left/image_raw -> /cam."""
    def ns(t):
        parts = t.rstrip("/").split("/")
        if parts[-1] in ("compressed", "theora"):
            parts = parts[:-1]
        return posixpath.dirname(posixpath.dirname("/".join(parts)))
    common = posixpath.commonpath([ns(left_topic) or "/", ns(right_topic) or "/"])
    return common if common not in ("", "/") else "/stereo"


def run(args):
    import sys
    import time

    from tqdm import tqdm

    from ..camera import StereoCamera
    from ..latency import format_latency, latency_summary
    from ..sources.bag import (BagStereo, bag_kind, check_topics, count_messages, info_topic_for, read_camera_infos,
                               require_rosbags, stereo_pairs)
    from .match import camera_options, load_calibration_arg, matching_options

    require_rosbags()
    src = Path(args.input)
    kind = bag_kind(src)
    check_topics(src, args.left_topic, args.right_topic)
    tolerance = parse_duration(args.tolerance)
    opts = camera_options(matching_options(args))
    calibration = load_calibration_arg(args.calib)
    if calibration is None:
        from calib.formats_robotics import rig_from_camera_infos
        li = args.left_info_topic or info_topic_for(args.left_topic)
        ri = args.right_info_topic or info_topic_for(args.right_topic)
        infos = read_camera_infos(src, li, ri)
        if infos is None:
            raise ParameterError(f"{src}: no CameraInfo on {li} and {ri}; give --calib FILE "
                                 f"(or --left-info-topic/--right-info-topic)")
        calibration = rig_from_camera_infos(*infos, label=f"{src} CameraInfo {li}, {ri}")
        print(f"calibration from the bag's CameraInfo ({li}, {ri})")
    camera = StereoCamera(calibration, **opts)
    out = Path(args.out)
    state = BagStereo(src, kind, args.left_topic, args.right_topic, int(tolerance * 1e9))
    frames = stereo_pairs(src, args.left_topic, args.right_topic, tolerance=tolerance, state=state)
    total = count_messages(src, args.left_topic)
    times, near_notes = [], []
    start = time.perf_counter()
    bar_opts = dict(total=total, unit="pair", disable=args.no_progress or None, file=sys.stderr)
    if args.files:
        from ..pipeline import pair_result
        from ..io.pair_outputs import write_pair_outputs
        for fp in tqdm(frames, **bar_opts):
            frame = camera.process(fp.left, fp.right, stamp=fp.stamp)
            times.append(frame.timings_ms["total"])
            near_notes += frame.notes
            write_pair_outputs(pair_result(camera, frame), out / fp.name)
        where = f"{len(times)} folders in {out}"
    else:
        from ..sinks.bag import BagSink
        prefix = args.prefix or default_prefix(args.left_topic, args.right_topic)
        with BagSink(out, kind, prefix) as sink:
            for fp in tqdm(frames, **bar_opts):
                frame = camera.process(fp.left, fp.right, stamp=fp.stamp)
                times.append(frame.timings_ms["total"])
                near_notes += frame.notes
                sink.write(frame, fp.meta["stamp_ns"], fp.meta["frame_id"], fp.meta["bag_time_ns"])
            topics = ", ".join(sink.topics.values())
        where = f"{kind} bag {out} ({topics})"
    wall = time.perf_counter() - start
    print(camera.range_description)
    if near_notes:
        print(f"warning: in {len(near_notes)} of {len(times)} pairs, e.g. the last: {near_notes[-1]}")
    dropped = state.dropped
    print(f"paired {state.paired} left/right messages within {1000 * tolerance:g} ms; unpaired "
          f"dropped: left {dropped['left']}, right {dropped['right']}")
    print(format_latency(latency_summary(times, wall), "rectify + match + depth"))
    print(f"wrote {where}")
    return 0
