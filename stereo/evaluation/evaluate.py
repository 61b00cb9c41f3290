"""Score any depth or disparity map against ground truth (``stereo eval``).

A prediction is a disparity map (px), a metric depth map (m) or an inverse-depth map
(1/m, or relative when aligned). Ground truth is a disparity or a depth map. The fit of
``--align scale|scale-shift`` is done in inverse-depth space (:mod:`.align`): against the
GT disparity when the GT is a disparity (disparity is affine in inverse depth), else
against ``1/Z_gt``. After alignment the prediction is in the GT's units; depth metrics
need metric depth on both sides (a depth GT, or a disparity GT with a calibration), and
disparity metrics (bad-N, D1) need disparities on both sides.

Pixels scored: ground truth valid (and inside ``mask``, and within the depth caps for
depth metrics) *and* prediction valid; ``density`` says how many GT pixels had a
prediction. Unlike :func:`stereo.evaluation.metrics.middlebury_errors`, nothing is
filled: an external map is scored as given.

Every result carries its alignment (mode, space, fitted scale/shift, pixels used,
residual), because AbsRel after a scale-and-shift fit and AbsRel raw are different
numbers under the same name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError, ParameterError
from ..validation import check_map
from .align import ALIGN_MODES, fit_affine

KINDS = ("disparity", "depth", "inverse-depth")
GT_KINDS = ("disparity", "depth")
DISPARITY_THRESHOLDS = (1.0, 2.0, 3.0, 4.0)


def _inv(z):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(z) & (z > 0), 1.0 / z.astype(np.float64), np.nan)


def _fb(calib):
    from ..triangulation import _calibration
    c = _calibration(calib)
    return c.focal_px * c.baseline_m, c.doffs


def _need_calib(calib, why):
    if calib is None:
        raise ParameterError(f"{why} needs a calibration (--calib) or an alignment (--align scale|scale-shift)")


def evaluate_map(pred, gt, *, kind: str = "disparity", gt_kind: str = "disparity", calib=None, mask=None,
                 align: str = "none", robust: bool = False, min_depth: float | None = None,
                 max_depth: float | None = None, thresholds=DISPARITY_THRESHOLDS) -> dict:
    """Score one prediction against ground truth; see the module docstring for the rules.

    Args:
        pred: (H, W) prediction, NaN = invalid; ``kind`` says what it holds.
        gt: (H, W) ground truth, NaN = unknown; ``gt_kind`` "disparity" (px) or "depth" (m).
        calib: optional ``calib.StereoCalibration`` linking disparity and depth.
        mask: optional (H, W) bool selection of evaluated pixels.
        align: "none", "scale" or "scale-shift" (fit in inverse-depth space).
        robust: MAD-trimmed iterated fit instead of plain least squares.
        min_depth, max_depth: depth caps (m) for the depth metrics (GT outside is not
            scored; predictions are clipped), as in the monocular-depth literature.
        thresholds: bad-N thresholds (px) for the disparity metrics.

    Returns:
        dict: ``alignment`` (fit parameters and a sentence), ``depth`` (abs_rel, sq_rel,
        rmse, rmse_log, log10, delta1..3, density, n_pixels) or None, ``disparity``
        (badN, avgerr, rms, A50..A99, d1, density, n_pixels) or None, and the settings.
    """
    from ..triangulation import depth_from_disparity
    from .metrics import depth_errors, disparity_errors

    if kind not in KINDS:
        raise ParameterError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if gt_kind not in GT_KINDS:
        raise ParameterError(f"gt kind must be one of {', '.join(GT_KINDS)}; got {gt_kind!r}")
    if align not in ALIGN_MODES:
        raise ParameterError(f"align must be one of {', '.join(ALIGN_MODES)}; got {align!r}")
    for name, v in (("min_depth", min_depth), ("max_depth", max_depth)):
        if v is not None and not (np.isfinite(v) and v > 0):
            raise ParameterError(f"{name} must be > 0 m, got {v}")
    if min_depth is not None and max_depth is not None and min_depth >= max_depth:
        raise ParameterError(f"min_depth ({min_depth}) must be below max_depth ({max_depth})")
    p = check_map(pred, "prediction").astype(np.float64)
    g = check_map(gt, "ground truth").astype(np.float64)
    if p.shape != g.shape:
        raise InputError(f"prediction is {p.shape[1]}x{p.shape[0]} but the ground truth is "
                         f"{g.shape[1]}x{g.shape[0]} (width x height); resize the prediction first")
    p[~np.isfinite(p)] = np.nan
    g[~np.isfinite(g)] = np.nan
    if mask is not None:
        mask = np.asarray(mask).astype(bool)
        if mask.shape != g.shape:
            raise InputError(f"mask has shape {mask.shape} but the maps are {g.shape}")

    # Target of the fit, in inverse-depth space, and the GT in both units where possible.
    if gt_kind == "disparity":
        target, space = g, "disparity (px)"
        gt_disp = g
        gt_depth = depth_from_disparity(g.astype(np.float32), calib).astype(np.float64) if calib is not None else None
    else:
        gz = np.where(np.isfinite(g) & (g > 0), g, np.nan)
        target, space = _inv(gz), "inverse depth (1/m)"
        gt_depth = gz
        gt_disp = None
        if calib is not None:
            fb, doffs = _fb(calib)
            gt_disp = fb * target - doffs

    # The prediction in the target's space (identity fit) or in an inverse-depth-like one (fitted).
    if kind == "depth":
        x = _inv(p)
    else:
        x = p
    if align == "none":
        if gt_kind == "disparity" and kind != "disparity":
            _need_calib(calib, f"scoring a {kind} map against a disparity ground truth")
            fb, doffs = _fb(calib)
            x = fb * x - doffs  # inverse depth (1/m) -> disparity (px)
        elif gt_kind == "depth" and kind == "disparity":
            _need_calib(calib, "scoring a disparity map against a depth ground truth")
            fb, doffs = _fb(calib)
            x = (x + doffs) / fb
    fit_mask = mask.copy() if mask is not None else None
    if gt_depth is None and (min_depth is not None or max_depth is not None):
        raise ParameterError("depth caps need a metric ground truth: a depth GT (--gt-kind depth) or a "
                             "disparity GT with a calibration (--calib)")
    if gt_depth is not None and (min_depth is not None or max_depth is not None):
        inside = np.isfinite(gt_depth)
        if min_depth is not None:
            inside &= gt_depth >= min_depth
        if max_depth is not None:
            inside &= gt_depth <= max_depth
        fit_mask = inside if fit_mask is None else (fit_mask & inside)
    fit = fit_affine(x.astype(np.float32), target.astype(np.float32), fit_mask, mode=align, robust=robust,
                     space=space)
    aligned = fit.scale * x + fit.shift

    if gt_kind == "disparity":
        pred_disp = aligned
        pred_depth = (depth_from_disparity(aligned.astype(np.float32), calib).astype(np.float64)
                      if calib is not None else None)
    else:
        pred_depth = _inv(aligned)
        pred_disp = None
        if calib is not None:
            fb, doffs = _fb(calib)
            pred_disp = fb * aligned - doffs

    out = {"kind": kind, "gt_kind": gt_kind, "calibration": calib is not None,
           "depth_caps_m": [min_depth, max_depth],
           "alignment": dict(fit.to_dict(), description=fit.describe()),
           "depth": None, "disparity": None}
    if pred_depth is not None and gt_depth is not None:
        out["depth"] = depth_errors(pred_depth.astype(np.float32), gt_depth.astype(np.float32), mask,
                                    min_depth=min_depth, max_depth=max_depth)
    if pred_disp is not None and gt_disp is not None:
        pd_, gd = pred_disp.astype(np.float32), gt_disp.astype(np.float32)
        e = disparity_errors(pd_, gd, mask, thresholds=thresholds, dense=False)
        sel = np.isfinite(pd_) & np.isfinite(gd) & (mask if mask is not None else True)
        err = np.abs(pd_[sel] - gd[sel]).astype(np.float64)
        e["d1"] = (100.0 * float(np.mean((err > 3.0) & (err > 0.05 * np.abs(gd[sel]))))
                   if err.size else float("nan"))
        out["disparity"] = e
    return out


# ---- folders ----------------------------------------------------------------------------------

def match_predictions(pred_dir, gt_root) -> list[tuple[str, Path, Path, Path | None, Path | None]]:
    """Pair prediction files with ground truth: ``[(name, pred, gt, calib, mask), ...]``.

    ``gt_root`` may be a MiddEval3 folder (``<Scene>/disp0GT.pfm``; a prediction is
    ``<Scene>.<ext>`` or ``<Scene>/<anything>.<ext>``), a KITTI folder
    (``disp_occ_0/<frame>.png``; prediction ``<frame>.<ext>``) or a flat folder of GT maps
    matched by file stem. Predictions without ground truth are an error (named).
    """
    from .mapio import MAP_EXTENSIONS

    pred_dir, gt_root = Path(pred_dir), Path(gt_root)
    preds = []
    for f in sorted(pred_dir.iterdir()):
        if f.is_file() and f.suffix.lower() in MAP_EXTENSIONS:
            preds.append((f.stem, f))
        elif f.is_dir():
            inner = sorted(q for q in f.iterdir() if q.is_file() and q.suffix.lower() in MAP_EXTENSIONS)
            if len(inner) == 1:
                preds.append((f.name, inner[0]))
            elif inner:  # the SDK layout: <Scene>/disp0<ALG>.pfm; pick the disparity, not a GT copy
                cand = [q for q in inner if q.name.startswith("disp0") and "GT" not in q.name] or inner
                preds.append((f.name, cand[0]))
    if not preds:
        raise InputError(f"{pred_dir}: no prediction maps ({', '.join(MAP_EXTENSIONS)})")
    out = []
    for name, f in preds:
        if (gt_root / name / "disp0GT.pfm").is_file():
            mask = gt_root / name / "mask0nocc.png"
            out.append((name, f, gt_root / name / "disp0GT.pfm", gt_root / name / "calib.txt",
                        mask if mask.is_file() else None))
        elif (gt_root / "disp_occ_0" / f"{name}.png").is_file():
            from .kitti import calibration_file
            out.append((name, f, gt_root / "disp_occ_0" / f"{name}.png", calibration_file(gt_root, name), None))
        else:
            cands = [q for q in gt_root.glob(f"{name}.*") if q.suffix.lower() in MAP_EXTENSIONS] \
                if gt_root.is_dir() else []
            if not cands:
                raise InputError(f"{f}: no ground truth named {name!r} in {gt_root}")
            out.append((name, f, sorted(cands)[0], None, None))
    return out


def mean_results(results: list[dict]) -> dict:
    """Plain mean of every numeric metric over per-file results (NaN ignored)."""
    mean = {}
    for section in ("depth", "disparity"):
        rows = [r[section] for r in results if r.get(section)]
        if rows:
            mean[section] = {}
            for k in rows[0]:
                vals = [float(r[k]) for r in rows if isinstance(r.get(k), (int, float)) and np.isfinite(r[k])]
                if k != "n_pixels" and vals:
                    mean[section][k] = float(np.mean(vals))
    return mean


# ---- reports --------------------------------------------------------------------------------

DEPTH_KEYS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "delta1", "delta2", "delta3", "density")


def _fmt(v, digits=4):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return f"{v:.{digits}g}" if isinstance(v, float) else str(v)


def markdown(results: list[dict], mean: dict | None = None, title: str = "Evaluation") -> str:
    """Markdown report: the alignment rule first, then depth and disparity tables."""
    lines = [f"# {title}", ""]
    if results:
        r0 = results[0]
        a = r0["alignment"]
        caps = r0["depth_caps_m"]
        lines += [f"- prediction kind: {r0['kind']}; ground truth: {r0['gt_kind']}; calibration: "
                  f"{'yes' if r0['calibration'] else 'no'}",
                  f"- alignment: {a['mode']}" + (f" ({'robust, MAD-trimmed' if a['robust'] else 'least squares'}"
                                                 f", fitted in {a['space']}, per file)" if a["mode"] != "none" else
                                                 " (scored as given)"),
                  f"- depth caps: {_fmt(caps[0])} .. {_fmt(caps[1])} m; delta in percent; abs_rel, sq_rel, "
                  "rmse_log, log10 as fractions / metres as named", ""]
    depth_rows = [(r.get("name", f"#{i}"), r) for i, r in enumerate(results) if r.get("depth")]
    if depth_rows:
        lines += ["| map | " + " | ".join(DEPTH_KEYS) + " | scale | shift |",
                  "|---|" + "---:|" * (len(DEPTH_KEYS) + 2)]
        for name, r in depth_rows:
            lines.append(f"| {name} | " + " | ".join(_fmt(r["depth"].get(k)) for k in DEPTH_KEYS)
                         + f" | {_fmt(r['alignment']['scale'])} | {_fmt(r['alignment']['shift'])} |")
        if mean and mean.get("depth") and len(depth_rows) > 1:
            lines.append("| **mean** | " + " | ".join(_fmt(mean["depth"].get(k)) for k in DEPTH_KEYS) + " | | |")
        lines.append("")
    disp_rows = [(r.get("name", f"#{i}"), r) for i, r in enumerate(results) if r.get("disparity")]
    if disp_rows:
        keys = [k for k in disp_rows[0][1]["disparity"] if k != "n_pixels"]
        lines += ["Disparity (px; bad-N and d1 in percent of scored pixels):", "",
                  "| map | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
        for name, r in disp_rows:
            lines.append(f"| {name} | " + " | ".join(_fmt(r["disparity"].get(k)) for k in keys) + " |")
        if mean and mean.get("disparity") and len(disp_rows) > 1:
            lines.append("| **mean** | " + " | ".join(_fmt(mean["disparity"].get(k)) for k in keys) + " |")
        lines.append("")
    for name, r in ((r.get("name", f"#{i}"), r) for i, r in enumerate(results)):
        lines.append(f"- {name}: {r['alignment']['description']}")
    return "\n".join(lines) + "\n"


__all__ = ["KINDS", "GT_KINDS", "DISPARITY_THRESHOLDS", "evaluate_map", "match_predictions", "mean_results",
           "markdown"]
