"""Per-frame latency statistics for sequences (milliseconds, frames per second)."""

from __future__ import annotations

import numpy as np


def latency_summary(ms, wall_s: float | None = None) -> dict:
    """p50/p95/p99/max of per-frame times (ms) and the throughput.

    ``fps`` is frames per second of the per-frame times alone (1000 / mean); with
    ``wall_s`` (the whole run's wall time, including reading and writing) also
    ``fps_wall``.
    """
    a = np.asarray(ms, np.float64)
    if a.size == 0:
        return {"frames": 0}
    out = {"frames": int(a.size), "p50_ms": float(np.percentile(a, 50)),
           "p95_ms": float(np.percentile(a, 95)), "p99_ms": float(np.percentile(a, 99)),
           "max_ms": float(a.max()), "fps": float(1000.0 / a.mean())}
    if wall_s:
        out["fps_wall"] = float(a.size / wall_s)
    return out


def format_latency(summary: dict, what: str = "per-frame processing") -> str:
    """One line for people, e.g. ``20 frames: per-frame processing p50 41.2 ms ...``."""
    if not summary.get("frames"):
        return "no frames processed"
    text = (f"{summary['frames']} frames: {what} p50 {summary['p50_ms']:.1f} ms, p95 "
            f"{summary['p95_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms (max {summary['max_ms']:.1f} ms), "
            f"{summary['fps']:.1f} fps")
    if "fps_wall" in summary:
        text += f"; {summary['fps_wall']:.1f} fps including reading and writing"
    return text


__all__ = ["latency_summary", "format_latency"]
