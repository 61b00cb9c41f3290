"""Match many stereo pairs on a Dask cluster (or a local process pool), resumably.

The driver (:func:`run_batch`) reuses the pieces ``stereo match`` uses and nothing of its
own: pairs come from :mod:`stereo.sources` (:class:`~stereo.sources.PairRef`, paths only,
cheap to send), each worker runs :func:`stereo.pipeline.match_pair` and
:func:`stereo.cli.outputs.write_pair_outputs`, so ``OUT/<pair>/`` holds exactly the files
``stereo match LEFT RIGHT -o OUT/<pair>`` writes, byte for byte.

Execution:

- Dask (the optional extra ``stereodepth[batch]``): a local cluster of ``workers``
  processes with one thread each by default, or an existing cluster (``scheduler``
  address). Without Dask, a local ``concurrent.futures`` process pool (said in the output).
- One matcher thread per worker process (Numba, OpenCV and OpenMP limited to 1) so that
  ``workers`` processes use ``workers`` cores without oversubscription.
- The Numba kernels are compiled (or loaded) once in the driver by a tiny match before any
  worker starts, so workers load them from the on-disk cache instead of compiling (or
  racing to write the cache). Each worker keeps its matchers between pairs (keyed by
  their parameters) and the ``--calib`` model it loaded.
- Workers read their inputs and write their outputs themselves; only the pair's paths go
  to a worker and a small record comes back. On a cluster, inputs and ``OUT`` must
  therefore be on a file system every worker sees.

Resuming: ``OUT/manifest.jsonl`` holds one JSON record per processed pair (appended and
fsync'ed one at a time, so a killed batch loses at most the pairs in flight; the last
record of a pair wins): the inputs (absolute path, bytes, mtime in ns), the parameter
key, status ``done``/``failed``, wall and CPU seconds, a one-line error, SHA-256 and size
of every output file, and metrics against ground truth when the pair has some. A rerun
skips pairs done with the same parameters and inputs whose output files are still there,
redoes pairs whose inputs or parameters changed, and skips pairs that failed with
unchanged inputs unless ``retry_failed`` (a pair whose worker died is retried anyway: Dask
already retried it on other workers, but the death may not be the pair's fault). Outputs of a pair are staged in a hidden folder
in ``OUT`` and swapped into ``OUT/<pair>/`` whole, so a pair's folder never mixes two runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, OutputError, ParameterError, StereoError

MANIFEST = "manifest.jsonl"
LOCK = ".batch.lock"
_STAGE_SUFFIX = ".partial"
# One matcher thread per worker process: these are read when the libraries start.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}
INSTALL_HINT = 'pip install "stereodepth[batch]"'
ENGINES = ("auto", "dask", "processes")


# ======================================================================================
# What travels to a worker and what comes back

@dataclass(frozen=True)
class PairJob:
    """One pair's work order: paths and options only (pickled to a worker)."""

    ref: object            # stereo.sources.PairRef
    out_root: str          # OUT; the pair's files go to OUT/<ref.name>/
    options: dict          # stereo.pipeline.match_pair keywords
    calib: str | None      # --calib (overrides the pair's own calib file)
    key: str               # parameter key recorded in the manifest
    inputs: dict           # input signature recorded in the manifest


def parameter_key(options: dict, calib: str | None) -> tuple[str, dict]:
    """(key, parameters): what makes two runs of a pair give the same outputs.

    The parameters are the ``match_pair`` options, the ``--calib`` file's signature and
    the package version; the key is a short hash of them.
    """
    from . import __version__

    params = {"options": {k: options[k] for k in sorted(options)},
              "calib": calib_signature(calib) if calib else None, "version": __version__}
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16], params


def file_signature(path) -> dict:
    """``{"path", "bytes", "mtime_ns"}`` of a file (``"missing": True`` when absent)."""
    p = Path(path).absolute()
    try:
        st = p.stat()
    except OSError:
        return {"path": str(p), "missing": True}
    return {"path": str(p), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def calib_signature(calib):
    """Signature of a calibration argument; ``left.yaml,right.yaml`` (ROS) names two files."""
    parts = str(calib).split(",")
    return file_signature(calib) if len(parts) == 1 else [file_signature(p) for p in parts]


def absolute_calib(calib: str) -> str:
    """The calibration argument with absolute paths (workers may run elsewhere)."""
    return ",".join(str(Path(p).absolute()) for p in str(calib).split(","))


def input_signature(ref, calib: str | None) -> dict:
    """Signatures of the files a pair reads (left, right, the calibration used, ground truth)."""
    sig = {"left": file_signature(ref.left), "right": file_signature(ref.right)}
    cal = calib or ref.calib
    if cal:
        sig["calib"] = calib_signature(cal)
    if ref.gt:
        sig["gt"] = file_signature(ref.gt)
    return sig


# ======================================================================================
# Worker side

_MATCHERS: dict = {}
_CALIBRATIONS: dict = {}
_cv2_limited = False
_WORKQUEUE_LOCK = threading.Lock()


def _match_guard():
    """A lock when Numba runs on its ``workqueue`` layer, which aborts on concurrent use
    (a Dask worker with several threads); OpenMP and TBB layers run tasks side by side."""
    import numba
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet in this process
        return _WORKQUEUE_LOCK
    return _WORKQUEUE_LOCK if layer == "workqueue" else nullcontext()


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
    from .pipeline import make_matcher

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
        from .cli.match import load_calibration_arg
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
        from .io import read_image
        from .pipeline import match_pair

        left = read_image(ref.left)
        right = read_image(ref.right)
        calibration = _calibration(job.calib or ref.calib)
        with _match_guard():
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
    :func:`stereo.cli.outputs.write_pair_outputs`) into a hidden staging folder in
    ``out_root`` and the finished folder replaces ``out_root/name``; an interrupted swap
    leaves only a hidden ``*.partial`` folder, removed by the next batch.
    """
    try:  # its new home (issue 7); stereo.cli.outputs until then
        from .io.pair_outputs import write_pair_outputs
    except ImportError:
        from .cli.outputs import write_pair_outputs

    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=_STAGE_SUFFIX, dir=out_root))
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

    Middlebury rules (:func:`stereo.metrics.disparity_errors`, dense scoring); region
    "nonocc" when the scene has ``mask0nocc.png`` beside its ground truth, else "all".
    A ground truth that cannot be used is reported, not fatal for the pair.
    """
    try:
        try:
            from .evaluation.metrics import disparity_errors  # after the evaluation package move
        except ImportError:
            from .metrics import disparity_errors
        from .io import read_disparity

        gt = read_disparity(ref.gt)
        mask_path = Path(ref.gt).parent / "mask0nocc.png"
        region, mask = "all", None
        if mask_path.is_file():
            from .io.images import decode_image
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


# ======================================================================================
# The manifest

class Manifest:
    """``OUT/manifest.jsonl``: one JSON record per line, the last one of a pair wins.

    Records are appended, flushed and fsync'ed one by one; a line cut short by a kill is
    ignored when reading (and the next append starts on a new line).
    """

    def __init__(self, out_root: Path):
        self.path = Path(out_root) / MANIFEST
        self._file = None
        self.broken_lines = 0

    def load(self) -> dict:
        latest: dict = {}
        self.broken_lines = 0
        self.lines = 0
        if not self.path.exists():
            return latest
        with open(self.path, "rb") as f:
            for raw in f:
                self.lines += 1
                try:
                    rec = json.loads(raw)
                    latest[rec["pair"]] = rec
                except (ValueError, KeyError, TypeError):
                    self.broken_lines += 1
        return latest

    def compact(self, latest: dict) -> None:
        """Rewrite the file with only the latest record of each pair (atomic replace)."""
        fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                for rec in latest.values():
                    f.write(json.dumps(rec, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)

    def append(self, rec: dict) -> None:
        if self._file is None:
            new = not self.path.exists()
            self._file = open(self.path, "ab")
            if not new and self.path.stat().st_size:
                with open(self.path, "rb") as f:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        self._file.write(b"\n")
            if new:
                _fsync_dir(self.path.parent)
        self._file.write((json.dumps(rec, sort_keys=True) + "\n").encode())
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def outputs_present(out_root: Path, rec: dict) -> bool:
    """The pair's recorded output files exist with their recorded sizes (cheap check)."""
    outs = rec.get("outputs") or {}
    folder = out_root / rec["pair"]
    try:
        return bool(outs) and all((folder / f).stat().st_size == v["bytes"] for f, v in outs.items())
    except OSError:
        return False


def plan(pairs, latest: dict, out_root: Path, key: str, calib, retry_failed: bool):
    """Split pairs into (todo jobs' refs with signatures, skipped done, skipped failed)."""
    todo, skip_done, skip_failed = [], [], []
    for ref in pairs:
        sig = input_signature(ref, calib)
        rec = latest.get(ref.name)
        same = rec is not None and rec.get("key") == key and rec.get("inputs") == sig
        if same and rec.get("status") == "done" and outputs_present(out_root, rec):
            skip_done.append(ref)
        elif same and rec.get("status") == "failed" and not rec.get("lost") and not retry_failed:
            skip_failed.append(ref)
        else:
            todo.append((ref, sig))
    return todo, skip_done, skip_failed


# ======================================================================================
# Engines: the same three calls on Dask and on a process pool

@contextmanager
def _environment(values: dict):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def dask_available() -> bool:
    import importlib.util
    return importlib.util.find_spec("distributed") is not None


class DaskEngine:
    """A Dask client on a new local cluster (processes, 1 thread each) or an existing one."""

    def __init__(self, workers: int, scheduler: str | None = None):
        import logging

        from distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="20s")
            except OSError as exc:
                raise InputError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
            info = self.client.scheduler_info()
            n = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values())
            self.slots = max(1, n)
            self.description = (f"Dask cluster at {scheduler}: {len(info.get('workers', {}))} worker(s), "
                                f"{n} thread(s) in all, 1 matcher thread per task")
        else:
            with _environment(WORKER_ENV):
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.ERROR,
                                            env=dict(WORKER_ENV))
            self.client = Client(self.cluster)
            self.slots = workers
            self.description = (f"Dask local cluster: {workers} worker process(es) x 1 matcher thread")

    def warm(self, options: dict) -> None:
        self.client.run(warm_worker, options)

    def submit(self, jobs: list):
        return self.client.submit(process_pairs, jobs, pure=False)

    def wait_some(self, futures):
        from distributed import wait
        return wait(list(futures), return_when="FIRST_COMPLETED").done

    def close(self):
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


class PoolEngine:
    """A local process pool (no Dask): ``workers`` spawned processes, 1 matcher thread each."""

    def __init__(self, workers: int, options: dict | None = None):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Spawn, not fork: forking a process whose Numba/OpenMP threads already run can hang.
        self._env = _environment(WORKER_ENV)
        self._env.__enter__()
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=init_worker, initargs=(options or {},))
        self.slots = workers
        self.description = f"local process pool: {workers} process(es) x 1 matcher thread"


    def warm(self, options: dict) -> None:
        pass  # each process warms itself in its initializer, when it starts (on first use)

    def submit(self, jobs: list):
        return self.pool.submit(process_pairs, jobs)

    def wait_some(self, futures):
        from concurrent.futures import FIRST_COMPLETED, wait
        return wait(list(futures), return_when=FIRST_COMPLETED).done

    def close(self):
        try:
            self.pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self._env.__exit__(None, None, None)


def make_engine(engine: str, workers: int, scheduler: str | None, options: dict | None = None):
    if engine not in ENGINES:
        raise ParameterError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    have_dask = dask_available()
    if engine == "dask" or scheduler:
        if not have_dask:
            raise ParameterError(f"Dask is not installed (needed for --scheduler / --engine dask): "
                                 f"{INSTALL_HINT}")
        return DaskEngine(workers, scheduler)
    if engine == "auto" and have_dask:
        return DaskEngine(workers, None)
    if engine == "auto":
        eng = PoolEngine(workers, options)
        eng.description = (f"Dask is not installed: running on a local process pool instead "
                           f"({workers} process(es) x 1 matcher thread); for Dask and clusters: "
                           f"{INSTALL_HINT}")
        return eng
    return PoolEngine(workers, options)


# ======================================================================================
# Driver

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


def warm_numba(options: dict) -> float:
    """Compile (or load from the on-disk cache) the kernels of ``options``: one tiny match.

    Returns its wall time, seconds. Also validates the matcher options before any worker
    starts (a bad option raises :class:`ParameterError` here).
    """
    import numpy as np

    from .pipeline import make_matcher

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
    for p in out_root.glob(f".*{_STAGE_SUFFIX}"):
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
    eng = make_engine(engine, workers, scheduler, options)
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


__all__ = ["run_batch", "BatchSummary", "PairJob", "process_pair", "process_pairs", "Manifest", "plan", "parameter_key",
           "input_signature", "file_signature", "warm_numba", "write_pair_atomically", "make_engine",
           "dask_available", "MANIFEST", "INSTALL_HINT", "ENGINES"]
