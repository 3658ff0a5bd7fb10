"""Benchmark of the multiverse: 10,000 CBT specifications on the embedded Dask cluster with one and
with two workers: wall time, speed-up, and peak memory summed over the driver and every process it
started (scheduler, nannies, workers), sampled every 50 ms with psutil. Prints a markdown table and
checks that both runs give the same hash. Targets: under 60 s and under 1 GB.

    python scripts/bench_multiverse.py [n_specs [repeats]]
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil

from analysis.multiverse.run import run


class PeakMemory:
    """The largest sum of resident memory over this process and its descendants while running."""

    def __init__(self, interval: float = 0.05):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main(n_specs: int = 10_000, repeats: int = 2) -> int:
    """Each configuration ``repeats`` times, alternating; the best wall time and the largest peak."""
    grid = ROOT / "params" / "multiverse.yml"
    best, hashes = {}, set()
    for _ in range(repeats):
        for workers in (1, 2):
            with PeakMemory() as mem:
                result = run(grid, only=["cbt"], root=ROOT, workers=workers, limit=n_specs, progress=False)
            hashes.add(result.hash)
            seconds, peak = best[workers][1:] if workers in best else (float("inf"), 0)
            best[workers] = (len(result.frame), min(seconds, result.seconds), max(peak, mem.peak / 2**20))
    rows = [(w, *best[w]) for w in (1, 2)]
    base = rows[0][2]
    print(f"Multiverse benchmark: {rows[0][1]:,} CBT specifications, embedded LocalCluster, best of {repeats} "
          f"runs ({psutil.cpu_count()} cores; wall time from start to sorted rows, cluster start included)\n")
    print("| workers | specifications | seconds | speed-up | peak memory (MB, all processes) |")
    print("|---:|---:|---:|---:|---:|")
    for workers, n, seconds, mb in rows:
        print(f"| {workers} | {n:,} | {seconds:.1f} | {base / seconds:.2f} | {mb:.0f} |")
    print(f"\nsame hash with 1 and 2 workers: {'yes' if len(hashes) == 1 else 'NO'} ({next(iter(hashes))[:16]})")
    ok = len(hashes) == 1 and all(s < 60 and mb < 1024 for _, _, s, mb in rows)
    print(f"targets (< 60 s, < 1 GB): {'met' if ok else 'not met'}")
    return 0 if len(hashes) == 1 else 1


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    sys.exit(main(*args))
