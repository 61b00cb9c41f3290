"""Matchers called from several threads: no abort under any Numba threading layer."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from stereo.paths import PROJECT_ROOT

_SCRIPT = textwrap.dedent("""
    import threading
    import numpy as np
    from stereo import SGBM, BlockMatcher, StereoCamera
    rng = np.random.default_rng(0)
    L = rng.integers(0, 255, (64, 128), dtype=np.uint8)
    R = np.roll(L, -4, axis=1)
    cam = StereoCamera(num_disparities=16)  # with the near-range probe (a second matcher)
    matchers = [SGBM(num_disparities=16), BlockMatcher(num_disparities=16), SGBM(num_disparities=16, threads=1)]
    run = [m.compute for m in matchers] + [lambda a, b: cam.process(a, b).disparity]
    ref = [f(L, R) for f in run]
    bad = []
    def work(i):
        k = i % len(run)
        for _ in range(10):
            d = matchers[k].match(L, R).disparity if (i // len(run)) % 2 and k < 3 else run[k](L, R)
            if not np.array_equal(d, ref[k], equal_nan=True):
                bad.append(i)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    import numba
    print(numba.threading_layer(), len(bad))
""")


@pytest.mark.parametrize("layer", ["workqueue", "omp"])
def test_threads_share_matchers_without_abort(layer):
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer, PYTHONPATH=str(PROJECT_ROOT))
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True,
                          timeout=600)
    if layer != "workqueue" and "No threading layer could be loaded" in proc.stderr:
        pytest.skip(f"Numba threading layer {layer} not available here")
    assert proc.returncode == 0, proc.stderr[-2000:]
    got_layer, mismatches = proc.stdout.split()
    assert got_layer == layer
    assert mismatches == "0"


def test_parallel_section_restores_thread_count():
    import numba

    from stereo.concurrency import parallel_section

    before = numba.get_num_threads()
    with parallel_section(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
