"""Benchmark of the network meta-analysis engine (analysis.meta.nma), beside metafor.

Python: the GRISELDA network (21 drugs and placebo) on response and all-cause dropout (contrasts,
REML fit, league table and P-scores; best wall time of three runs, then peak traced memory of one
more), its coherence checks, and a simulated network of 1,000 treatments in 100,000 arms.
R, when ``Rscript`` is on the PATH: metafor's ``rma.mv`` on the GRISELDA response contrasts.
Prints markdown table rows. Asserts nothing.

    PYTHONPATH=. python scripts/bench_network.py
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
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.meta.nma import nma  # noqa: E402
from analysis.meta.nma_coherence import design_by_treatment, node_split, q_decomposition  # noqa: E402
from analysis.meta.nma_data import arm_contrasts  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_multilevel import measure  # noqa: E402  (best wall time of three, then peak traced MB)

R_SCRIPT = """
suppressMessages(library(metafor))
d <- read.csv(commandArgs(TRUE)[1]); V <- as.matrix(read.csv(commandArgs(TRUE)[2]))
X <- as.matrix(d[, grep("^x", names(d))])
t <- system.time(r <- rma.mv(d$yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2,
                             data = d))[["elapsed"]]
cat(sprintf("%.6f %.12f", t, r$tau2))
"""


def griselda(column: str) -> pd.DataFrame:
    gr = pd.read_csv(ROOT / "data/trials/cipriani2018/arms.csv")
    return pd.DataFrame({"study": gr["StudyID"], "treatment": gr["drug_base"], "events": gr[column],
                         "n": gr["No_randomised_num"]})


def simulate(treatments: int, arms: int, seed: int = 20261206) -> pd.DataFrame:
    """Two- and three-arm trials (four in five two-arm) among ``treatments`` with true log ORs ~ N(0, 0.3^2)."""
    rng = np.random.default_rng(seed)
    sizes, total = [], 0
    while total < arms:
        s = 2 if rng.random() < 0.8 else 3
        sizes.append(s)
        total += s
    effect = np.concatenate([[0.0], rng.normal(0, 0.3, treatments - 1)])
    rows = []
    for i, s in enumerate(sizes):
        trt = rng.choice(treatments, size=s, replace=False)
        if i < treatments - 1:  # a spanning chain keeps the network connected
            trt[0], trt[1] = i, i + 1
        n = rng.integers(30, 300, size=s)
        p = 1 / (1 + np.exp(-(-0.5 + effect[trt] + rng.normal(0, 0.1))))
        rows.append(pd.DataFrame({"study": f"s{i}", "treatment": [f"t{t:04d}" for t in trt], "n": n,
                                  "events": rng.binomial(n, p)}))
    return pd.concat(rows, ignore_index=True)


def whole(arms):
    fit = nma(arm_contrasts(arms, "OR", reference="placebo" if "placebo" in set(arms["treatment"]) else None))
    fit.league()
    fit.pscores()
    return fit


def metafor_row(arms) -> str:
    if shutil.which("Rscript") is None:
        return "| metafor rma.mv, GRISELDA response | R not installed | |"
    data = arm_contrasts(arms, "OR", reference="placebo")
    X = data.design_matrix()
    with tempfile.TemporaryDirectory() as tmp:
        d = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        d.insert(0, "yi", data.yi)
        d.insert(0, "comp", data.comparison)
        d.insert(0, "study", data.study)
        d.to_csv(Path(tmp) / "d.csv", index=False)
        pd.DataFrame(data.V.to_dense()).to_csv(Path(tmp) / "V.csv", index=False)
        (Path(tmp) / "fit.R").write_text(R_SCRIPT)
        out = subprocess.run(["Rscript", str(Path(tmp) / "fit.R"), str(Path(tmp) / "d.csv"), str(Path(tmp) / "V.csv")],
                             capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return f"| metafor rma.mv, GRISELDA response | failed: {out.stderr.strip()[-60:]} | |"
    seconds, tau2 = out.stdout.split()
    return f"| metafor rma.mv, GRISELDA response (tau² {float(tau2):.6f}) | {float(seconds):.3f} | |"


def bench_network() -> list[str]:
    rows = ["| network meta-analysis | seconds | peak MB |", "|---|---:|---:|"]
    response, dropout = griselda("Responders_num"), griselda("Dropouts_total_num")
    s, m = measure(lambda: (whole(response), whole(dropout)))
    rows.append(f"| GRISELDA, both outcomes: contrasts, REML fit, league table, P-scores | {s:.3f} | {m:.0f} |")
    data = arm_contrasts(response, "OR", reference="placebo")
    s, m = measure(lambda: (design_by_treatment(data), q_decomposition(data)), repeats=1)
    rows.append(f"| GRISELDA response: design-by-treatment test and Q decomposition | {s:.2f} | {m:.0f} |")
    s, m = measure(lambda: node_split(data), repeats=1)
    rows.append(f"| GRISELDA response: node-splitting ({len(node_split(data))} comparisons) | {s:.2f} | {m:.0f} |")
    rows.append(metafor_row(response))
    big = simulate(1000, 100_000)
    start = time.perf_counter()
    tracemalloc.start()
    fit = whole(big)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    rows.append(f"| simulated: 1,000 treatments, {len(big):,} arms, {fit.k:,} contrasts: fit, league "
                f"({len(fit.league()):,} pairs), P-scores | {time.perf_counter() - start:.1f} | {peak:.0f} |")
    return rows


if __name__ == "__main__":
    print("\n".join(bench_network()))
