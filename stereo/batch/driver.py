"""The batch driver: plan from the manifest, run on an engine, record, summarise."""

from __future__ import annotations

import shutil
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, OutputError, ParameterError, StereoError
from . import engines
from .jobs import PairJob, absolute_calib, parameter_key
from .manifest import MANIFEST, Manifest, plan
from .worker import STAGE_SUFFIX, one_line, warm_numba

LOCK = ".batch.lock"


@dataclass
class BatchSummary:
    """What a batch did; times in seconds, metrics in the dataset's own pixels."""

    engine: str = ""
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped_done: int = 0
    skipped_failed: int = 0
    startup_s: float = 0.0
    warm_s: float = 0.0
    processing_s: float = 0.0
    driver_cpu_s: float = 0.0    # driver process CPU while processing (client, manifest, local scheduler)
    pair_seconds: list = field(default_factory=list)
    pair_cpu_seconds: list = field(default_factory=list)
    failures: list = field(default_factory=list)       # (pair, error) of this run and earlier
    metrics: dict = field(default_factory=dict)         # mean over every done pair with GT
    manifest: str = ""

    @property
    def pairs_per_second(self) -> float:
        n = self.done + self.failed
        return n / self.processing_s if self.processing_s > 0 else float("nan")

    @property
    def any_failed(self) -> bool:
        return bool(self.failures)

    def lines(self) -> list[str]:
        out = [f"{self.total} pair(s): {self.done} done, {self.failed} failed, {self.skipped_done} "
               f"skipped (done before), {self.skipped_failed} skipped (failed before; --retry-failed "
               f"redoes them)"]
        if self.done + self.failed:
            cpu = statistics.median(self.pair_cpu_seconds) if self.pair_cpu_seconds else float("nan")
            wall = statistics.median(self.pair_seconds) if self.pair_seconds else float("nan")
            out.append(f"throughput: {self.done + self.failed} pair(s) in {self.processing_s:.2f} s = "
                       f"{self.pairs_per_second:.2f} pairs/s after {self.startup_s:.2f} s start-up (Numba "
                       f"warm-up in the driver {self.warm_s:.2f} s, then workers); per pair median {wall:.3f} s wall, "
                       f"{cpu:.3f} s CPU")
        if self.metrics:
            m = self.metrics
            out.append(f"accuracy vs ground truth ({m['pairs']} pair(s), {m['region']}, dataset px, dense "
                       f"scoring): mean bad2.0 {m['bad2']:.2f} %, bad0.5 {m['bad0.5']:.2f} %, "
                       f"avgerr {m['avgerr']:.3f} px")
        for name, err in self.failures[:20]:
            out.append(f"FAILED {name}: {err}")
        if len(self.failures) > 20:
            out.append(f"... and {len(self.failures) - 20} more failed pair(s) (see {self.manifest})")
        out.append(f"manifest: {self.manifest}")
        return out


def _check_names(pairs) -> None:
    seen = set()
    for ref in pairs:
        if ref.name in seen:
            raise InputError(f"two pairs are named {ref.name!r}: pair names must be unique "
                             f"(each pair's outputs go to OUT/<name>/)")
        if ref.name in (MANIFEST, LOCK) or ref.name.startswith("."):
            raise InputError(f"pair name {ref.name!r} is reserved in the output folder")
        seen.add(ref.name)


@contextmanager
def _exclusive(out_root: Path):
    """One batch per output folder at a time (an advisory lock file)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    f = open(out_root / LOCK, "a")
    try:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError(f"{out_root}: another stereo batch is writing to this folder",
                              str(out_root)) from None
        yield
    finally:
        f.close()


def _clean_stale_stages(out_root: Path) -> None:
    for p in out_root.glob(f".*{STAGE_SUFFIX}"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def run_batch(pairs, out_root, options: dict, *, calib: str | None = None, workers: int = 2,
              scheduler: str | None = None, engine: str = "auto", retry_failed: bool = False,
              progress: bool | None = None, log=print, pairs_per_task: int = 1) -> BatchSummary:
    """Match every pair (``stereo.sources.PairRef``) into ``out_root/<name>/``, resumably.

    Args:
        pairs: the pairs, names unique.
        out_root: output folder (created); holds the manifest and one folder per pair.
        options: :func:`stereo.pipeline.match_pair` keywords (as ``stereo match`` makes them).
        calib: calibration file for every pair (else each pair's own ``calib``, if any).
        workers: processes of the local cluster / pool (ignored with ``scheduler``).
        scheduler: address of an existing Dask scheduler (``tcp://host:8786``).
        engine: "auto" (Dask if installed, else a process pool), "dask" or "processes".
        retry_failed: also redo pairs that failed before with unchanged inputs.
        progress: tqdm bar (None = only on a terminal).
        log: where the engine line goes before the run (``print``).
        pairs_per_task: pairs sent to a worker as one task (1 = one pair per task; more
            amortises the scheduler's ~1 ms per task on big clusters with small pairs; the
            records of a task arrive together).

    Returns:
        :class:`BatchSummary`. Pair failures are recorded, never raised.

    Raises:
        InputError, ParameterError, OutputError: before any pair is processed.
    """
    pairs = list(pairs)
    if not pairs:
        raise InputError("the dataset holds no pair")
    _check_names(pairs)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"--workers must be a positive integer, got {workers!r}")
    if isinstance(pairs_per_task, bool) or not isinstance(pairs_per_task, int) or pairs_per_task < 1:
        raise ParameterError(f"--pairs-per-task must be a positive integer, got {pairs_per_task!r}")
    out_root = Path(out_root)
    if out_root.exists() and not out_root.is_dir():
        raise OutputError(f"{out_root}: exists and is not a folder", str(out_root))
    try:
        out_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_root}: cannot create the output folder ({exc.strerror or exc})",
                          str(out_root)) from None
    if calib is not None:
        calib = absolute_calib(calib)
    key, _ = parameter_key(options, calib)
    summary = BatchSummary(total=len(pairs), manifest=str(out_root / MANIFEST))
    with _exclusive(out_root):
        _clean_stale_stages(out_root)
        manifest = Manifest(out_root)
        latest = manifest.load()
        if manifest.lines > 2 * max(16, len(latest)):  # mostly superseded records: rewrite
            manifest.compact(latest)
        todo, skip_done, skip_failed = plan(pairs, latest, out_root, key, calib, retry_failed)
        summary.skipped_done, summary.skipped_failed = len(skip_done), len(skip_failed)
        final = {ref.name: latest[ref.name] for ref in skip_done + skip_failed}
        try:
            if todo:
                _run(todo, out_root, options, calib, key, workers, scheduler, engine, progress,
                     log, manifest, summary, final, pairs_per_task)
        finally:
            manifest.close()
    for ref in pairs:
        rec = final.get(ref.name)
        if rec is not None and rec.get("status") == "failed":
            summary.failures.append((ref.name, rec.get("error", "unknown error")))
    summary.metrics = _mean_metrics(final.values())
    return summary


def _run(todo, out_root, options, calib, key, workers, scheduler, engine, progress, log, manifest,
         summary, final, pairs_per_task):
    from tqdm import tqdm

    t0 = time.perf_counter()
    summary.warm_s = warm_numba(options)
    eng = engines.make_engine(engine, workers, scheduler, options)
    summary.engine = eng.description
    try:
        eng.warm(options)
        summary.startup_s = time.perf_counter() - t0
        if log:
            log(f"engine: {eng.description}")
        window = max(2, 4 * eng.slots)  # tasks in flight, bounded: memory and a prompt resume
        jobs = [PairJob(ref=ref, out_root=str(out_root.absolute()), options=options, calib=calib,
                        key=key, inputs=sig) for ref, sig in todo]
        queue = [jobs[i:i + pairs_per_task] for i in range(0, len(jobs), pairs_per_task)]
        queue.reverse()
        running = {}
        broken = None
        t1 = time.perf_counter()
        c1 = time.process_time()
        disable = None if progress is None else not progress  # None: a bar only on a terminal
        with tqdm(total=len(jobs), unit="pair", disable=disable, desc="stereo batch") as bar:
            while (queue and broken is None) or running:
                while queue and broken is None and len(running) < window:
                    try:
                        running[eng.submit(queue[-1])] = queue[-1]
                        queue.pop()
                    except Exception as exc:  # e.g. a process pool broken by a crashed worker
                        broken = exc
                if not running:
                    break
                for fut in eng.wait_some(running):
                    chunk = running.pop(fut)
                    try:
                        recs = fut.result()
                    except Exception as exc:  # the worker died (killed, out of memory, ...)
                        recs = [{"pair": job.ref.name, "key": key, "inputs": job.inputs,
                                 "status": "failed", "lost": True,  # not the pair's fault: retried
                                 "error": one_line(f"worker lost: {type(exc).__name__}: {exc}")}
                                for job in chunk]
                    for rec in recs:
                        _account(rec, manifest, summary, final)
                    bar.update(len(recs))
        summary.processing_s = time.perf_counter() - t1
        summary.driver_cpu_s = time.process_time() - c1
        if broken is not None:
            raise StereoError(f"the workers cannot take more pairs ({type(broken).__name__}: "
                              f"{one_line(str(broken))}); {summary.done} pair(s) done are recorded in "
                              f"{summary.manifest}: rerun to continue")
    finally:
        eng.close()


def _account(rec, manifest, summary, final):
    manifest.append(rec)
    final[rec["pair"]] = rec
    if rec["status"] == "done":
        summary.done += 1
    else:
        summary.failed += 1
    if "seconds" in rec:
        summary.pair_seconds.append(rec["seconds"])
        summary.pair_cpu_seconds.append(rec["cpu_seconds"])


def _mean_metrics(records) -> dict:
    rows = [r["metrics"] for r in records
            if r.get("status") == "done" and isinstance(r.get("metrics"), dict) and "bad2" in r["metrics"]]
    if not rows:
        return {}
    regions = sorted({r.get("region", "all") for r in rows})
    out = {"pairs": len(rows), "region": "/".join(regions)}
    for k in ("bad0.5", "bad1", "bad2", "bad4", "avgerr", "rms", "density"):
        vals = [r[k] for r in rows if isinstance(r.get(k), (int, float)) and r[k] == r[k]]
        out[k] = statistics.fmean(vals) if vals else float("nan")
    return out


__all__ = ["run_batch", "BatchSummary", "LOCK"]
