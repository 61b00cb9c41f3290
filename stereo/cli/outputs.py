"""Write the files of one matched pair, all or nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_pair_outputs(res, outdir: Path) -> list[str]:
    """Write disparity (+ depth, cloud, confidence) files for a ``PairResult``.

    Files: ``disparity.pfm`` (px, inf = invalid) and ``disparity.png`` (colour); with a
    calibration ``depth.pfm`` (metres, inf = invalid), ``depth.png`` (inverse depth,
    near = bright) and ``cloud.ply``; without one ``inverse_depth_relative.pfm/.png``
    (non-metric); with a confidence map ``confidence.pfm`` + ``confidence.png``.
    Everything is staged and moved into ``outdir`` only when all writes succeeded.
    """
    from ..io import write_disparity, write_image, write_pfm, write_ply
    from ..io.atomic import staged_directory
    from ..visualize import render_confidence, render_depth, render_disparity

    m = res.match
    written = []
    with staged_directory(outdir) as stage:
        def put(name, writer, data):
            writer(stage / name, data)
            written.append(name)

        put("disparity.pfm", write_disparity, m.disparity)
        put("disparity.png", write_image, render_disparity(m.disparity))
        if res.depth is not None:
            from ..triangulation import points_from_disparity
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
            put("confidence.pfm", write_pfm, m.confidence.astype(np.float32))
            put("confidence.png", write_image, render_confidence(m.confidence))
    return written

