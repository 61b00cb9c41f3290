#!/usr/bin/env python3
"""Scaling of `stereo batch`: pairs per second with 1 and with 2 Dask workers.

The dataset is the MiddEval3 quarter-resolution training scenes (``$STEREO_DATA``, default
``../shared/data/middlebury/MiddEval3/trainingQ``; the shipped ``data_samples`` if absent),
each scene ``--repeat`` times under different names (symbolic links, so the pairs are
distinct for the manifest). Every run is a fresh local Dask cluster (processes, one matcher
thread per worker) writing to a fresh output folder; runs alternate 1, 2, 1, 2, ... workers
(``--rounds`` each) so both see the same machine load, and medians are reported.

Reported per worker count: pairs/s over the processing phase (first submission to last
result; cluster start and worker warm-up are reported apart as start-up), end-to-end
pairs/s, and CPU seconds per pair (each worker's process time for the pair: what a pair
costs whatever else runs on the machine). The speed-up is the ratio of the median
processing pairs/s. On a shared machine compare it with the load average printed beside
it: 2 workers can only reach 2x when 2 cores are free. Since other load only slows a run
down, the best run of each count and the CPU-time ratio are printed too.

    python scripts/bench_batch.py [DATASET] [--repeat 2] [--rounds 2] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stereo.batch import run_batch  # noqa: E402
from stereo.paths import middlebury_dir, samples_dir  # noqa: E402
from stereo.sources.datasets import middlebury_pairs  # noqa: E402


def make_dataset(src: Path, repeat: int, root: Path) -> Path:
    ds = root / "dataset"
    ds.mkdir()
    for ref in middlebury_pairs(src):
        for r in range(repeat):
            (ds / f"{ref.name}_r{r}").symlink_to(ref.left.parent.resolve(), target_is_directory=True)
    return ds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", nargs="?", help="MiddEval3-layout folder (default: trainingQ)")
    ap.add_argument("--repeat", type=int, default=2, help="copies of each scene (default 2)")
    ap.add_argument("--rounds", type=int, default=2, help="runs per worker count (default 2)")
    ap.add_argument("--workers", default="1,2", help="worker counts to alternate (default 1,2)")
    args = ap.parse_args()
    src = Path(args.dataset) if args.dataset else middlebury_dir()
    if not src.is_dir():
        src = samples_dir()
    counts = [int(w) for w in args.workers.split(",")]
    options = dict(method="sgbm", min_disparity=None, num_disparities=None, block_size=None)
    results = {w: [] for w in counts}
    with tempfile.TemporaryDirectory(prefix="bench_batch.") as tmp:
        ds = make_dataset(src, args.repeat, Path(tmp))
        pairs = middlebury_pairs(ds)
        print(f"dataset: {src} x {args.repeat} = {len(pairs)} pairs (sgbm defaults, range from calib.txt)")
        print(f"machine: {os.cpu_count()} cores; load average before: "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for rnd in range(args.rounds):
            for w in counts:
                out = Path(tmp) / f"out_{w}_{rnd}"
                load0 = os.getloadavg()[0]
                t0 = time.perf_counter()
                s = run_batch(pairs, out, options, workers=w, engine="dask", progress=False, log=None)
                total = time.perf_counter() - t0
                if s.failed:
                    print(f"  {s.failed} pair(s) failed: {s.failures[:3]}")
                row = dict(pps=s.pairs_per_second, e2e=s.done / total, startup=s.startup_s,
                           cpu=statistics.median(s.pair_cpu_seconds),
                           cpu_sum=sum(s.pair_cpu_seconds), wall=statistics.median(s.pair_seconds),
                           processing=s.processing_s, load=load0,
                           driver_cpu=s.driver_cpu_s / s.processing_s)
                results[w].append(row)
                print(f"  round {rnd + 1}, {w} worker(s): {row['pps']:.2f} pairs/s processing "
                      f"({s.processing_s:.1f} s), {row['e2e']:.2f} pairs/s end to end, start-up "
                      f"{s.startup_s:.1f} s, CPU per pair median {row['cpu']:.3f} s (sum "
                      f"{row['cpu_sum']:.1f} s), wall per pair median {row['wall']:.3f} s, "
                      f"load avg at start {load0:.2f}, driver process (client, manifest, local scheduler) "
                      f"{100 * row['driver_cpu']:.0f} % of a core")
    print()
    print("| workers | pairs/s (processing) | pairs/s (end to end) | start-up s | CPU s/pair | "
          "wall s/pair | ideal pairs/s = workers / CPU s/pair |")
    print("|---|---|---|---|---|---|---|")
    med = {}
    for w in counts:
        rows = results[w]
        m = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        med[w] = m
        spread = f" ({min(r['pps'] for r in rows):.2f}-{max(r['pps'] for r in rows):.2f})"
        print(f"| {w} | {m['pps']:.2f}{spread} | {m['e2e']:.2f} | {m['startup']:.1f} | {m['cpu']:.3f} | "
              f"{m['wall']:.3f} | {w / m['cpu']:.2f} |")
    if len(counts) >= 2:
        a, b = counts[0], counts[-1]
        best = {w: max(r["pps"] for r in results[w]) for w in (a, b)}
        print(f"\nspeed-up {b} vs {a} worker(s): medians {med[b]['pps'] / med[a]['pps']:.2f}x processing, "
              f"{med[b]['e2e'] / med[a]['e2e']:.2f}x end to end; best runs {best[b] / best[a]:.2f}x processing "
              f"(other load only slows a run down); from CPU time per pair (what free cores would "
              f"give) {(b / med[b]['cpu']) / (a / med[a]['cpu']):.2f}x; CPU per pair "
              f"{med[b]['cpu'] / med[a]['cpu']:.2f}x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
