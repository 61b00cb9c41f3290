"""What runs in a worker process: one matcher thread, kept matchers, one pair -> one record.

:func:`process_pair` reads the pair, runs :func:`stereo.pipeline.match_pair` (the same call
as ``stereo match``) with a per-process matcher cache, writes ``stereo match``'s files into a
staging folder in ``OUT`` and swaps the finished folder into ``OUT/<pair>/``, and returns its
manifest record (it never raises: a bad pair is a ``failed`` record with a one-line error).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from ..errors import OutputError, StereoError
from .jobs import PairJob, calib_signature

STAGE_SUFFIX = ".partial"
_MATCHERS: dict = {}
_CALIBRATIONS: dict = {}
_cv2_limited = False


def _one_thread():
    """Limit this worker to one matcher thread (Numba's setting is per calling thread)."""
    global _cv2_limited
    import numba
    numba.set_num_threads(1)
    if not _cv2_limited:
        import cv2
        cv2.setNumThreads(1)
        _cv2_limited = True


def init_worker(options=None):
    """Process-pool initializer: the same limits as in a Dask worker, kernels loaded."""
    warm_worker(options or {})


def warm_worker(options: dict) -> float:
    """One matcher thread, then the tiny match of :func:`warm_numba`: the kernels are
    loaded from the on-disk cache once, at start-up, not during the first pair."""
    _one_thread()
    return warm_numba(options)


def cached_matcher(method, min_disparity, num_disparities, block_size=None, **params):
    """:func:`stereo.pipeline.make_matcher`, kept per worker process and keyed by parameters.

    Matchers are immutable (frozen dataclasses), so one instance serves every pair with
    the same range and settings.
    """
    from ..pipeline import make_matcher

    try:
        key = (method, min_disparity, num_disparities, block_size, tuple(sorted(params.items())))
        hash(key)
    except TypeError:  # an unhashable parameter value: build it every time
        return make_matcher(method, min_disparity, num_disparities, block_size, **params)
    m = _MATCHERS.get(key)
    if m is None:
        if len(_MATCHERS) > 64:  # per-scene ranges differ: keep the cache bounded
            _MATCHERS.clear()
        m = _MATCHERS[key] = make_matcher(method, min_disparity, num_disparities, block_size, **params)
    return m


def _calibration(path):
    if path is None:
        return None
    key = json.dumps(calib_signature(path), sort_keys=True)
    cal = _CALIBRATIONS.get(key)
    if cal is None:
        from ..cli.match import load_calibration_arg
        if len(_CALIBRATIONS) > 64:
            _CALIBRATIONS.clear()
        cal = _CALIBRATIONS[key] = load_calibration_arg(str(path))
    return cal


def process_pair(job: PairJob) -> dict:
    """Match one pair and write its outputs; never raises: returns its manifest record."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    ref = job.ref
    rec = {"pair": ref.name, "key": job.key, "inputs": job.inputs,
           "worker": f"{socket.gethostname()}:{os.getpid()}", "started": time.time()}
    try:
        _one_thread()
        from ..io import read_image
        from ..pipeline import match_pair

        left = read_image(ref.left)
        right = read_image(ref.right)
        calibration = _calibration(job.calib or ref.calib)
        # the matchers serialise themselves where Numba's threading layer needs it
        # (stereo.concurrency.parallel_section), so a multi-threaded worker is safe
        res = match_pair(left, right, calibration=calibration, matcher_factory=cached_matcher,
                         **job.options)
        rec["outputs"] = write_pair_atomically(res, Path(job.out_root), ref.name)
        rec["status"] = "done"
        if ref.gt:
            rec["metrics"] = _metrics(res.match.disparity, ref)
    except StereoError as exc:
        rec.update(status="failed", error=one_line(f"{type(exc).__name__}: {exc}"))
    except MemoryError:
        rec.update(status="failed", error="MemoryError: the pair does not fit in this worker's memory")
    except Exception as exc:  # a bug of ours: record it, keep the batch going
        rec.update(status="failed", error=one_line(f"internal error: {type(exc).__name__}: {exc}"))
    rec["seconds"] = round(time.perf_counter() - t0, 4)
    rec["cpu_seconds"] = round(time.process_time() - c0, 4)
    return rec


def process_pairs(jobs: list) -> list:
    """A task of several pairs, in order: their records (fewer scheduler round trips)."""
    return [process_pair(job) for job in jobs]


def write_pair_atomically(res, out_root: Path, name: str) -> dict:
    """Write ``stereo match``'s files for ``res`` into ``out_root/name`` as a whole folder.

    Returns ``{file: {"sha256", "bytes"}}``. The files are written (by
    :func:`stereo.io.pair_outputs.write_pair_outputs`) into a hidden staging folder in
    ``out_root`` and the finished folder replaces ``out_root/name``; an interrupted swap
    leaves only a hidden ``*.partial`` folder, removed by the next batch.
    """
    from ..io.pair_outputs import write_pair_outputs

    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=STAGE_SUFFIX, dir=out_root))
    except OSError as exc:
        raise OutputError(f"{out_root}: cannot write here ({exc.strerror or exc})", str(out_root)) from None
    try:
        staged = stage / name
        written = write_pair_outputs(res, staged)
        sums = {f: {"sha256": sha256_file(staged / f), "bytes": (staged / f).stat().st_size}
                for f in sorted(written)}
        final = out_root / name
        if final.exists() or final.is_symlink():
            os.replace(final, stage / "previous")
        os.replace(staged, final)
        return sums
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _metrics(disparity, ref) -> dict:
    """Errors against the pair's ground truth, in the dataset's own pixels.

    Middlebury rules (:func:`stereo.evaluation.metrics.disparity_errors`, dense scoring); region
    "nonocc" when the scene has ``mask0nocc.png`` beside its ground truth, else "all".
    A ground truth that cannot be used is reported, not fatal for the pair.
    """
    try:
        from ..evaluation.metrics import disparity_errors
        from ..io import read_disparity

        gt = read_disparity(ref.gt)
        mask_path = Path(ref.gt).parent / "mask0nocc.png"
        region, mask = "all", None
        if mask_path.is_file():
            from ..io.images import decode_image
            m = decode_image(mask_path)
            mask = (m[:, :, 0] if m.ndim == 3 else m) == 255
            region = "nonocc"
        errs = disparity_errors(disparity, gt, mask)
        return {"region": region, **{k: v for k, v in errs.items()}}
    except StereoError as exc:
        return {"error": one_line(str(exc))}


def one_line(text: str, limit: int = 300) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[:limit - 3] + "..."


def warm_numba(options: dict) -> float:
    """Compile (or load from the on-disk cache) the kernels of ``options``: one tiny match.

    Returns its wall time, seconds. Also validates the matcher options before any worker
    starts (a bad option raises :class:`ParameterError` here).
    """
    import numpy as np

    from ..pipeline import make_matcher

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    left = (rng.random((24, 48)) * 255).astype(np.uint8)
    right = np.roll(left, -3, axis=1)
    params = {k: v for k, v in options.items()
              if k not in ("method", "min_disparity", "num_disparities", "block_size", "near_m", "far_m",
                           "uncalibrated")}
    matcher = make_matcher(options.get("method", "sgbm"), 0, 8, options.get("block_size"), **params)
    matcher.match(left, right)
    return time.perf_counter() - t0


__all__ = ["process_pair", "process_pairs", "write_pair_atomically", "cached_matcher", "warm_numba",
           "warm_worker", "init_worker", "sha256_file", "one_line", "STAGE_SUFFIX"]
