"""``stereo eval PRED --gt GT``: score any depth or disparity map against ground truth.

PRED is one map file or a folder of maps (matched to a MiddEval3 / KITTI / flat GT folder,
see :func:`stereo.evaluation.evaluate.match_predictions`). With ``--anchor STEREO``, PRED
is a relative inverse-depth map that stereo depth makes metric (see
:func:`stereo.relative.anchor_to_stereo`). The report (Markdown on stdout, ``--json``,
``--markdown``) always states the alignment. Rules: :mod:`stereo.evaluation.evaluate`.
"""

from __future__ import annotations

import json
from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser(
        "eval", help="score a depth/disparity map (stereo, monocular, any) against ground truth",
        description="Score a disparity, depth or inverse-depth map (PFM, NPY, 16-bit PNG/TIFF with --scale, "
                    "EXR where OpenCV reads it) against ground truth: AbsRel, SqRel, RMSE, RMSE log, log10, "
                    "delta<1.25^k, and bad-N/D1 for disparities. Relative maps are aligned in inverse-depth "
                    "space by least squares (MiDaS), optionally robustly. --anchor makes a relative map "
                    "metric with stereo depth.")
    p.add_argument("pred", metavar="PRED", help="prediction map, or a folder of them")
    p.add_argument("--gt", metavar="GT", help="ground-truth map, or a dataset folder (MiddEval3, KITTI, flat)")
    p.add_argument("--gt-kind", choices=("disparity", "depth"), default=None,
                   help="what GT holds (default: disparity; a dataset folder is always disparity)")
    p.add_argument("--calib", help="calibration linking disparity and depth (Middlebury calib.txt, KITTI, YAML)")
    p.add_argument("--mask", help="evaluation mask image (non-zero = evaluated; mask0nocc.png: 255 only)")
    p.add_argument("--region", choices=("all", "nonocc"), default="all",
                   help="folder against a MiddEval3 dataset: score all GT pixels (default) or only "
                        "non-occluded ones (mask0nocc.png == 255)")
    p.add_argument("--kind", choices=("disparity", "depth", "inverse-depth"), default="disparity",
                   help="what PRED holds (default: disparity)")
    p.add_argument("--align", choices=("none", "scale", "scale-shift"), default="none",
                   help="fit the prediction to GT in inverse-depth space first (default: none)")
    p.add_argument("--robust", action="store_true", help="robust (MAD-trimmed, iterated) fit")
    p.add_argument("--min-depth", type=float, help="depth cap, m: GT nearer is not scored, predictions clipped")
    p.add_argument("--max-depth", type=float, help="depth cap, m: GT farther is not scored, predictions clipped")
    p.add_argument("--scale", type=float, help="integer images: value = map * SCALE (default 256, KITTI)")
    p.add_argument("--gt-scale", type=float, help="integer GT images: value = map * GT_SCALE (default 256)")
    p.add_argument("--anchor", metavar="STEREO",
                   help="make PRED (relative inverse depth) metric with stereo depth: a depth map (m) or a "
                        "`stereo match` output folder (depth.pfm, confidence.pfm)")
    p.add_argument("--confidence", help="--anchor: stereo confidence map (default: STEREO/confidence.pfm if present)")
    p.add_argument("--min-confidence", type=float, default=0.5,
                   help="--anchor: confidence needed for a stereo pixel to anchor the fit (default 0.5)")
    p.add_argument("-o", "--out", help="--anchor: write depth.pfm, depth_filled.pfm, depth.png, anchor.json here")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--markdown", metavar="FILE", help="write the Markdown report to FILE too")
    p.set_defaults(func=run)


def _write_text(path, text: str):
    from ..io.images import write_bytes_atomic
    write_bytes_atomic(Path(path), text.encode())


def _calib(path):
    if path is None:
        return None
    from calib.formats import load_calibration
    from ..triangulation import _calibration
    return _calibration(load_calibration(path))


def _stereo_depth(spec, confidence):
    from ..evaluation.mapio import read_map
    p = Path(spec)
    if p.is_dir():
        depth = read_map(p / "depth.pfm")
        conf = confidence or (p / "confidence.pfm" if (p / "confidence.pfm").is_file() else None)
    else:
        depth = read_map(p)
        conf = confidence
    return depth, (read_map(conf) if conf is not None else None)


def run(args):
    from ..errors import ParameterError
    from ..evaluation.evaluate import evaluate_map, markdown, match_predictions, mean_results
    from ..evaluation.mapio import read_map, read_mask

    if args.anchor:
        return _run_anchor(args)
    if not args.gt:
        raise ParameterError("--gt is required (or --anchor to make a relative map metric with stereo)")
    opts = dict(kind=args.kind, align=args.align, robust=args.robust, min_depth=args.min_depth,
                max_depth=args.max_depth)
    pred, gt = Path(args.pred), Path(args.gt)
    results = []
    if pred.is_dir():
        for name, pf, gf, cf, mf in match_predictions(pred, gt):
            p = read_map(pf, scale=args.scale)
            g = read_map(gf, scale=args.gt_scale)
            calib = _calib(args.calib) if args.calib else _calib(cf)
            mask = read_mask(args.mask, g.shape) if args.mask else None
            if args.region == "nonocc" and mf is not None:
                nocc = read_mask(mf, g.shape)
                mask = nocc if mask is None else (mask & nocc)
            r = evaluate_map(p, g, gt_kind=args.gt_kind or "disparity", calib=calib, mask=mask, **opts)
            r["name"] = name
            r["region"] = args.region if mf is not None else "all"
            results.append(r)
    else:
        p = read_map(pred, scale=args.scale)
        g = read_map(gt, scale=args.gt_scale)
        mask = read_mask(args.mask, g.shape) if args.mask else None
        r = evaluate_map(p, g, gt_kind=args.gt_kind or "disparity", calib=_calib(args.calib), mask=mask, **opts)
        r["name"] = pred.name
        results.append(r)
    mean = mean_results(results)
    text = markdown(results, mean, title=f"Evaluation of {pred}")
    print(text, end="")
    if args.markdown:
        _write_text(args.markdown, text)
    if args.json:
        _write_text(args.json, json.dumps(_json_safe({"results": results, "mean": mean}), indent=2) + "\n")
    return 0


def _run_anchor(args):
    import numpy as np

    from ..evaluation.evaluate import evaluate_map, markdown
    from ..evaluation.mapio import read_map, read_mask
    from ..relative import anchor_to_stereo
    from ..evaluation.metrics import depth_errors

    rel = read_map(args.pred, scale=args.scale)
    if args.kind == "depth":  # a relative *depth* map: invert to inverse depth first
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(rel > 0, 1.0 / rel, np.nan).astype(np.float32)
    stereo, conf = _stereo_depth(args.anchor, args.confidence)
    res = anchor_to_stereo(rel, stereo, confidence=conf, min_confidence=args.min_confidence)
    summary = res.summary()
    summary["stereo_vs_anchored"] = depth_errors(stereo, res.depth)
    lines = ["# Relative map anchored to stereo", "",
             f"- {summary['description']}",
             f"- residual AbsRel against stereo on the {summary['anchor_pixels']} anchor pixels: "
             f"{res.residual_abs_rel:.4f}",
             f"- coverage: stereo {res.coverage_stereo:.1f} % of pixels -> filled {res.coverage_filled:.1f} %",
             f"- reverse check, stereo scored against the anchored map: AbsRel "
             f"{summary['stereo_vs_anchored']['abs_rel']:.4f}, delta1 {summary['stereo_vs_anchored']['delta1']:.1f} %"]
    out = {"anchor": summary}
    if args.gt:
        g = read_map(args.gt, scale=args.gt_scale)
        calib = _calib(args.calib)
        mask = read_mask(args.mask, g.shape) if args.mask else None
        caps = dict(min_depth=args.min_depth, max_depth=args.max_depth)
        scored = {}
        for label, z in (("anchored", res.depth), ("filled", res.filled), ("stereo", stereo)):
            r = evaluate_map(z, g, kind="depth", gt_kind=args.gt_kind or "disparity", calib=calib, mask=mask,
                             align="none", **caps)
            r["name"] = label
            scored[label] = r
        out["against_gt"] = scored
        lines += ["", markdown(list(scored.values()), title="Against ground truth (metric, no alignment)")]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        from ..io import staged_directory, write_disparity, write_image
        from ..visualize import render_depth
        with staged_directory(Path(args.out)) as stage:
            write_disparity(stage / "depth.pfm", res.depth)
            write_disparity(stage / "depth_filled.pfm", res.filled)
            write_image(stage / "depth.png", render_depth(res.filled))
            (stage / "anchor.json").write_text(json.dumps(_json_safe(out), indent=2) + "\n")
    if args.markdown:
        _write_text(args.markdown, text)
    if args.json:
        _write_text(args.json, json.dumps(_json_safe(out), indent=2) + "\n")
    return 0


def _json_safe(obj):
    from ..evaluation.bench import json_safe   # lazily: every CLI start imports this module
    return json_safe(obj)
