"""Live view or recording of frames with Rerun (optional extra ``view``: ``pip install rerun-sdk``).

Per frame, on the timeline ``frame`` (and ``stamp`` seconds when known): the left rectified
camera's pinhole model at the origin (``world/camera``, x right, y down, z forward), its
image (``world/camera/image``) and depth in metres (``world/camera/depth``), and the
coloured point cloud (``world/points``, metres, left rectified camera frame). Either
saved to an ``.rrd`` file (open it with ``rerun FILE.rrd``) or streamed to a viewer started
with ``spawn=True``. Never imported by the core: only when asked for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

INSTALL_HINT = "the live view needs the 'rerun-sdk' package: pip install rerun-sdk"


def _rerun():
    try:
        import rerun
    except ImportError:
        from ..errors import StereoError
        raise StereoError(INSTALL_HINT) from None
    return rerun


class RerunSink:
    """Log :class:`stereo.camera.StereoFrame` s to an ``.rrd`` file (``path``) or a viewer (``spawn``)."""

    def __init__(self, path=None, *, spawn: bool = False, max_points: int = 200_000):
        rr = _rerun()
        if (path is None) == (not spawn):
            from ..errors import ParameterError
            raise ParameterError("give either a recording path (.rrd) or spawn=True")
        self.rr = rr
        self.rec = rr.RecordingStream("stereodepth")
        if path is not None:
            path = Path(path)
            if not path.parent.exists():
                from ..errors import OutputError
                raise OutputError(f"{path}: the folder {path.parent} does not exist", str(path))
            self.rec.save(str(path))
        else:
            self.rec.spawn()
        self.rec.log("world", rr.ViewCoordinates.RDF, static=True)
        self.max_points = int(max_points)
        self._count = 0

    def log(self, frame, index: int | None = None) -> None:
        """Log one frame (rectified left, depth, points); needs a calibrated camera."""
        rr, rec = self.rr, self.rec
        index = self._count if index is None else int(index)
        self._count += 1
        rec.set_time("frame", sequence=index)
        if frame.stamp is not None:
            rec.set_time("stamp", duration=float(frame.stamp))
        img = frame.rectified_left
        if img.ndim == 3 and img.shape[2] >= 3:
            img = img[..., 2::-1]  # BGR -> RGB
        rec.log("world/camera/image", rr.Image(np.ascontiguousarray(img)))
        if frame.calibration is None:
            rec.log("world/camera/disparity", rr.DepthImage(np.nan_to_num(frame.disparity, nan=0.0)))
            return
        h, w = frame.depth.shape
        rec.log("world/camera", rr.Pinhole(image_from_camera=frame.K, resolution=[w, h]))
        rec.log("world/camera/depth", rr.DepthImage(np.nan_to_num(frame.depth, nan=0.0), meter=1.0))
        valid = frame.valid
        pts = frame.points[valid]
        grey = frame.rectified_left
        colors = (grey[valid] if grey.ndim == 2 else grey[valid][:, 2::-1])
        if len(pts) > self.max_points:  # keep the viewer responsive: a regular subsample
            step = int(np.ceil(len(pts) / self.max_points))
            pts, colors = pts[::step], colors[::step]
        if colors.ndim == 1:
            colors = np.repeat(colors[:, None], 3, axis=1)
        if colors.dtype != np.uint8:
            colors = np.clip(colors / (257.0 if colors.dtype == np.uint16 else 1.0), 0, 255).astype(np.uint8)
        rec.log("world/points", rr.Points3D(pts, colors=colors))

    def close(self) -> None:
        self.rec.flush()
        self.rec.disconnect()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


__all__ = ["RerunSink", "INSTALL_HINT"]
