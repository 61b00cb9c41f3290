"""Match many stereo pairs on a Dask cluster (or a local process pool), resumably.

The driver (:func:`run_batch`) reuses the pieces ``stereo match`` uses and nothing of its
own: pairs come from :mod:`stereo.sources` (:class:`~stereo.sources.PairRef`, paths only,
cheap to send), each worker runs :func:`stereo.pipeline.match_pair` and
:func:`stereo.io.pair_outputs.write_pair_outputs`, so ``OUT/<pair>/`` holds exactly the files
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
already retried it on other workers, but the death may not be the pair's fault). Outputs
of a pair are staged in a hidden folder in ``OUT`` and swapped into ``OUT/<pair>/`` whole,
so a pair's folder never mixes two runs.

Modules: :mod:`.jobs` (work orders, parameter keys, input signatures), :mod:`.worker` (what
runs in a worker), :mod:`.manifest`, :mod:`.engines` (Dask / process pool), :mod:`.driver`.
"""

from .driver import LOCK, BatchSummary, run_batch
from .engines import ENGINES, INSTALL_HINT, WORKER_ENV, dask_available, make_engine
from .jobs import PairJob, file_signature, input_signature, parameter_key
from .manifest import MANIFEST, Manifest, plan
from .worker import process_pair, process_pairs, sha256_file, warm_numba, write_pair_atomically

__all__ = ["run_batch", "BatchSummary", "PairJob", "process_pair", "process_pairs", "Manifest", "plan",
           "parameter_key", "input_signature", "file_signature", "warm_numba", "write_pair_atomically",
           "make_engine", "dask_available", "sha256_file", "MANIFEST", "LOCK", "INSTALL_HINT", "ENGINES",
           "WORKER_ENV"]
