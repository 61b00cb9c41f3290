"""The files of one matched pair, written as one whole set (API-level; the CLI uses it).

Files: ``disparity.pfm`` (px, inf = invalid) and ``disparity.png`` (colour); with a
calibration ``depth.pfm`` (metres, inf = invalid), ``depth.png`` (metric depth in colour,
near = warm, with a colour bar in metres) and ``cloud.ply``; without one ``inverse_depth_relative.pfm/.png`` (non-metric);
with a confidence map ``confidence.pfm`` + ``confidence.png``.

The set replaces the previous one as a whole (:func:`stereo.io.atomic.staged_directory`):
members of :data:`PAIR_OUTPUT_NAMES` left by an earlier run of another kind (a
``depth.pfm`` from a ``--calib`` run beside a new disparity-only set) are removed; other
files are left alone; the folder is locked while it is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import OutputError

PAIR_OUTPUT_NAMES = ("disparity.pfm", "disparity.png", "depth.pfm", "depth.png", "cloud.ply",
                     "inverse_depth_relative.pfm", "inverse_depth_relative.png", "confidence.pfm",
                     "confidence.png")
"""Every file name :func:`write_pair_outputs` may write (the output family it replaces)."""


def check_output_dir(outdir, inputs=(), names=PAIR_OUTPUT_NAMES) -> Path:
    """Refuse an output folder that is empty text, a file, or would overwrite an input.

    ``inputs``: paths the run reads (images, calibration; ``"a,b"`` pairs are split). An
    input inside ``outdir`` whose name is one of ``names`` would be replaced or removed by
    the output set, so the run is refused before any work.

    Raises:
        OutputError: naming the folder and the input.
    """
    text = str(outdir) if outdir is not None else ""
    if not text.strip():
        raise OutputError("output folder name is empty (give -o a folder, e.g. -o out)", text)
    if "\x00" in text:
        raise OutputError(f"{text!r}: a folder name cannot contain a NUL character", text)
    out = Path(os.path.abspath(text))
    if out.exists() and not out.is_dir():
        raise OutputError(f"{outdir}: exists and is not a folder", text)
    if out.is_dir():
        for name in names:
            if (out / name).is_dir() and not (out / name).is_symlink():
                raise OutputError(f"{out / name}: is a folder where an output file goes; remove or "
                                  f"rename it, or choose another -o", str(out / name))
    for item in inputs:
        if item is None:
            continue
        for part in str(item).split(","):
            if not part.strip():
                continue
            p = Path(os.path.abspath(part.strip()))
            if p.name in names and os.path.realpath(p.parent) == os.path.realpath(out):
                raise OutputError(f"{outdir}: writing the outputs there would overwrite the input "
                                  f"{part.strip()} ({p.name} is an output name); choose another -o",
                                  text)
    return out


def write_pair_outputs(res, outdir) -> list[str]:
    """Write disparity (+ depth, cloud, confidence) files for a ``PairResult``; return the names.

    Everything is staged and moved into ``outdir`` only when all writes succeeded; stale
    members of the family from an earlier run are removed (see the module docstring).

    Raises:
        OutputError: the folder cannot be written (read-only, a file, a folder where a
            file goes, another run holding it too long); nothing is changed then.
    """
    from ..triangulation import points_from_disparity
    from ..visualize import render_confidence, render_depth, render_disparity
    from .atomic import staged_directory
    from .disparity import write_disparity
    from .images import write_image
    from .pfm import write_pfm
    from .ply import write_ply

    outdir = check_output_dir(outdir)
    m = res.match
    written = []
    with staged_directory(outdir, replaces=PAIR_OUTPUT_NAMES) as stage:
        def put(name, writer, data):
            writer(stage / name, data)
            written.append(name)

        put("disparity.pfm", write_disparity, m.disparity)
        put("disparity.png", write_image, render_disparity(m.disparity))
        if res.depth is not None:
            put("depth.pfm", write_disparity, res.depth)  # same file convention: inf = invalid
            put("depth.png", write_image, render_depth(res.depth))
            points, colors, _ = points_from_disparity(m.disparity, res.calibration, res.left_image)
            write_ply(stage / "cloud.ply", points, colors)
            written.append("cloud.ply")
        else:
            put("inverse_depth_relative.pfm", write_disparity, res.relative_inverse_depth)
            put("inverse_depth_relative.png", write_image,
                render_disparity(res.relative_inverse_depth, label="relative 1/Z (not metric)"))
        if m.confidence is not None:
            put("confidence.pfm", write_pfm, np.asarray(m.confidence, dtype=np.float32))
            put("confidence.png", write_image, render_confidence(m.confidence))
    return written


__all__ = ["write_pair_outputs", "check_output_dir", "PAIR_OUTPUT_NAMES"]
