"""Calling the matchers from several Python threads safely.

Threading model: every matcher object is immutable (a frozen dataclass), so one object may
be shared by any number of threads. The parallel Numba kernels inside a match run on Numba's
threading layer, and only some layers accept launches from several threads at once:

* ``tbb`` and ``omp`` are thread-safe: concurrent matches really run concurrently;
* ``workqueue`` (what Numba picks where neither TBB nor OpenMP is installed) aborts the
  whole process (SIGABRT, "Concurrent access has been detected") when two threads launch
  parallel kernels at the same time.

:func:`parallel_section` wraps one whole match (every parallel kernel it launches): under
``workqueue``, or while Numba has not chosen its layer yet, it holds one process-wide lock,
so concurrent matches run one after the other instead of aborting; under a thread-safe
layer it takes no lock. It also applies a matcher's ``threads=`` setting, which Numba keeps
per calling thread (``numba.set_num_threads`` is thread-local), and restores it afterwards.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numba

_SAFE_LAYERS = ("tbb", "omp")
_LOCK = threading.RLock()


def threading_layer() -> str | None:
    """Numba's threading layer, or None before the first parallel kernel has run."""
    try:
        return numba.threading_layer()
    except ValueError:  # not initialised yet: the first parallel launch chooses it
        return None


def needs_serialising() -> bool:
    """True when concurrent parallel launches could abort the process (see module doc)."""
    return threading_layer() not in _SAFE_LAYERS


@contextmanager
def parallel_section(threads: int | None = None):
    """Run the parallel kernels of one match; safe to enter from any number of threads.

    Args:
        threads: Numba threads for the section (None = leave the calling thread's setting).
    """
    locked = needs_serialising()
    if locked:
        _LOCK.acquire()
    try:
        if threads is None:
            yield
        else:
            before = numba.get_num_threads()
            numba.set_num_threads(threads)
            try:
                yield
            finally:
                numba.set_num_threads(before)
    finally:
        if locked:
            _LOCK.release()


__all__ = ["parallel_section", "threading_layer", "needs_serialising"]
