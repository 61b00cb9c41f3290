"""Where the pairs run: Dask (local cluster or an existing one) or a local process pool.

Both engines offer the same calls (``warm``, ``submit``, ``wait_some``, ``close``), so the
driver does not care which one runs. Every worker process is limited to one matcher thread.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from ..errors import InputError, ParameterError
from .worker import init_worker, process_pairs, warm_worker

# One matcher thread per worker process: these are read when the libraries start.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}
INSTALL_HINT = 'pip install "stereodepth[batch]"'
ENGINES = ("auto", "dask", "processes")


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
        # Processes start on demand and warm themselves in their initializer: one empty task
        # per process (submitted together, so each lands on a new process) starts them all now.
        from concurrent.futures import wait
        wait([self.pool.submit(process_pairs, []) for _ in range(self.slots)])

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


__all__ = ["DaskEngine", "PoolEngine", "make_engine", "dask_available", "WORKER_ENV",
           "INSTALL_HINT", "ENGINES"]
