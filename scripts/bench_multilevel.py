"""Benchmark of the three-level model (rma_mv), the CHE model and CR2 inference, beside metafor.

Python: ``rma_mv`` at k = 100,000 effects in 30,000 clusters (best wall time of three runs, then
peak traced memory of one more), the CHE model (vcalc + rma_mv + robust) on the same data.
R, when ``Rscript`` is on the PATH: metafor's ``rma.mv`` on data simulated the same way at a
size it fits quickly (k = 1,000 by default; metafor forms k-by-k matrices), with Python's fit of that data beside it.
Prints markdown table rows. Asserts nothing.

    PYTHONPATH=. python scripts/bench_multilevel.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.meta import che, rma_mv

R_SCRIPT = """
suppressMessages(library(metafor))
d <- read.csv(commandArgs(TRUE)[1])
t <- system.time(r <- rma.mv(yi, vi, random = ~ 1 | cl/es, data = d))[["elapsed"]]
cat(sprintf("%.6f %.12f %.12f %.12f", t, r$b[1], r$sigma2[1], r$sigma2[2]))
"""


def simulate(k: int, clusters: int, seed: int = 20261121):
    """Every cluster gets one effect, the rest are spread at random; true sigma2 0.09 and 0.04."""
    rng = np.random.default_rng(seed)
    cluster = np.sort(np.concatenate([np.arange(clusters), rng.integers(0, clusters, k - clusters)]))
    vi = rng.uniform(0.01, 0.5, k)
    yi = 0.3 + rng.normal(0, 0.3, clusters)[cluster] + rng.normal(0, 0.2, k) + rng.normal(0, np.sqrt(vi))
    return yi, vi, cluster


def measure(fn, repeats: int = 3) -> tuple[float, float]:
    """Best wall time of ``repeats`` runs (seconds) and peak traced memory of one more (MB)."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak / 1e6


def metafor_time(k: int, clusters: int) -> tuple[float, np.ndarray] | None:
    """metafor's rma.mv wall time and (estimate, sigma2 between, sigma2 within), or None without R."""
    if shutil.which("Rscript") is None:
        return None
    yi, vi, cluster = simulate(k, clusters)
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = Path(tmp) / "d.csv", Path(tmp) / "b.R"
        lines = ["yi,vi,cl,es"] + [f"{y:.17g},{v:.17g},{c},{i}" for i, (y, v, c) in enumerate(zip(yi, vi, cluster))]
        csv.write_text("\n".join(lines) + "\n")
        script.write_text(R_SCRIPT)
        out = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True, timeout=3600,
                             check=False)
    if out.returncode != 0:
        return None
    values = [float(x) for x in out.stdout.split()]
    return values[0], np.array(values[1:])


def bench_multilevel(k: int = 100_000, clusters: int = 30_000, r_k: int = 1_000, r_clusters: int = 300) -> list:
    """Markdown rows: what, k, clusters, seconds, peak MB (and agreement with metafor at r_k)."""
    yi, vi, cluster = simulate(k, clusters)
    rows = ["| model | k | clusters | seconds | peak traced MB | note |", "|---|---|---|---|---|---|"]
    sec, mb = measure(lambda: rma_mv(yi, vi, cluster))
    rows.append(f"| rma_mv REML (Python) | {k:,} | {clusters:,} | {sec:.3f} | {mb:.1f} | |")
    sec, mb = measure(lambda: che(yi, vi, cluster, rho=0.6))
    rows.append(f"| CHE: vcalc + rma_mv + robust CR2 (Python) | {k:,} | {clusters:,} | {sec:.3f} | {mb:.1f} | |")
    ry, rv, rc = simulate(r_k, r_clusters)
    sec, mb = measure(lambda: rma_mv(ry, rv, rc))
    mine = rma_mv(ry, rv, rc)
    rows.append(f"| rma_mv REML (Python) | {r_k:,} | {r_clusters:,} | {sec:.3f} | {mb:.1f} | |")
    res = metafor_time(r_k, r_clusters)
    if res is not None:
        diff = np.abs(res[1] - [mine.estimate, mine.sigma2_between, mine.sigma2_within]).max()
        rows.append(f"| metafor rma.mv REML (R, nlminb defaults) | {r_k:,} | {r_clusters:,} | {res[0]:.3f} | "
                    f"| max abs diff of estimate, sigma2s vs Python {diff:.1e} |")
    return rows


if __name__ == "__main__":
    print("\n".join(bench_multilevel()))
