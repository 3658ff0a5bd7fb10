"""Benchmark of the three-parameter selection model (3PSM) at k = 1,000, beside metafor when R is present.

Simulates k studies under one-sided selection (a non-significant study is published with
probability 0.5), times ``analysis.meta.selmodel`` (best of three runs) and metafor's
``selmodel(rma(yi, vi, method = "ML"), type = "stepfun", steps = 0.025)`` on the same data, and
prints a markdown table. Asserts nothing.

    python scripts/bench_bias.py [k]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.meta import selmodel


def simulate(k: int, seed: int = 20261121):
    """k published studies: true effect 0.2, tau² 0.05; p > .025 published with probability 0.5."""
    rng = np.random.default_rng(seed)
    ys, vs = [], []
    while len(ys) < k:
        v = rng.uniform(0.01, 0.5)
        y = rng.normal(0.2, np.sqrt(v + 0.05))
        if y / np.sqrt(v) > 1.959964 or rng.uniform() < 0.5:
            ys.append(y)
            vs.append(v)
    return np.array(ys), np.array(vs)


def metafor(y, v, timeout: int = 600):
    if shutil.which("Rscript") is None:
        return None, "R not installed"
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        np.savetxt(csv, np.column_stack([y, v]), delimiter=",", header="yi,vi", comments="", fmt="%.17g")
        script = (
            "suppressMessages(library(metafor)); d <- read.csv('%s');"
            "t <- system.time(s <- selmodel(rma(d$yi, d$vi, method='ML'), type='stepfun', steps=0.025))[['elapsed']];"
            "cat(jsonlite::toJSON(list(seconds=t, estimate=c(s$beta), se=s$se, tau2=s$tau2, delta=s$delta,"
            "lrt_p=s$LRTp, version=as.character(packageVersion('metafor'))), digits=NA, auto_unbox=TRUE))"
        ) % csv
        try:
            out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"over {timeout} s"
        if out.returncode != 0:
            return None, out.stderr.strip().splitlines()[-1][:80]
        return json.loads(out.stdout), ""


def bench_selmodel(k: int = 1_000) -> list[str]:
    """Markdown rows: the 3PSM selection model at ``k`` beside metafor's ``selmodel`` on the same data."""
    y, v = simulate(k)
    seconds = []
    for _ in range(3):
        t0 = time.perf_counter()
        res = selmodel(y, v, steps=(0.025,))
        seconds.append(time.perf_counter() - t0)
    ref, note = metafor(y, v)
    r_time, agree = "", note
    if ref:
        r_time = f"{ref['seconds']:.2f}"
        diffs = {
            "estimate": abs(ref["estimate"] - res.estimate),
            "se": abs(ref["se"] - res.se),
            "tau2": abs(ref["tau2"] - res.tau2),
            "delta": abs(ref["delta"][1] - res.delta[1]),
            "lrt_p": abs(ref["lrt_p"] - res.lrt_p),
        }
        agree = f"metafor {ref['version']}; abs. difference: " + ", ".join(f"{key} {d:.1e}" for key, d in diffs.items())
    return ["| task | k | python (s) | metafor (s) | notes |", "|---|---:|---:|---:|---|",
            f"| selmodel 3PSM (steps = .025) | {k:,} | {min(seconds):.3f} | {r_time} | {agree} |"]


if __name__ == "__main__":
    print("\n".join(bench_selmodel(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000)))
