"""Benchmark of the book build and of the analysis package (beside metafor when R is present).

Builds: wall time and peak memory of a clean build (HTML, then the PDF), a rebuild with nothing
changed, a rebuild after one dataset changed, and a living-review update (a new Metapsy release read by
every chapter, scripts/bench_update.py), in a scratch copy of the repository; then every step of a
clean HTML + PDF build before (cold kernels, nothing shared) and after (warm kernels, shared
results), side by side.
Analysis: REML pooling at k = 1,000, 2,000 and 100,000 and leave-one-out at k = 1,000; the network
meta-analysis (scripts/bench_network.py).
Prints a table and writes it to _build/bench.md. Asserts nothing.
"""

from __future__ import annotations

import json
import os
import re
import resource
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

from analysis.meta.fit import rma  # noqa: E402
from analysis.meta import leave_one_out  # noqa: E402


def simulate(k: int, seed: int = 20261121):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.5, k)
    y = rng.normal(0.3, np.sqrt(v + 0.1))
    return y, v


def measure(fn, repeats: int = 3):
    """Best wall time of ``repeats`` runs, then peak traced memory of one more (tracing slows it down)."""
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, min(seconds), peak / 2**20


def metafor(task: str, y, v, timeout: int = 300):
    if shutil.which("Rscript") is None:
        return None, "R not installed"
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        np.savetxt(csv, np.column_stack([y, v]), delimiter=",", header="yi,vi", comments="", fmt="%.17g")
        call = "rma(d$yi, d$vi, method='REML')" if task == "reml" else "leave1out(rma(d$yi, d$vi, method='REML'))"
        script = (
            "suppressMessages(library(metafor)); d <- read.csv('%s'); t <- system.time(r <- %s)[['elapsed']];"
            "fit <- rma(d$yi, d$vi, method='REML'); cat(jsonlite::toJSON(list(seconds=t, estimate=c(fit$beta), tau2=fit$tau2,"
            "version=as.character(packageVersion('metafor'))), digits=NA, auto_unbox=TRUE))"
        ) % (csv, call)
        try:
            out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"over {timeout} s"
        if out.returncode != 0:
            return None, out.stderr.strip().splitlines()[-1][:80]
        return json.loads(out.stdout), ""


def build_rows() -> list[str]:
    """Time the book builds in a scratch copy (the environment is already installed)."""
    ignore = shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache", ".hypothesis", "__pycache__")
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(ROOT, repo, ignore=ignore)
        env = {**os.environ, "PYTHONPATH": str(repo)}

        def run(label, *args):
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "analysis", "build", *args], cwd=repo, env=env,
                                 capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
            status = "ok" if out.returncode == 0 else "FAILED"
            summary = next((l.strip() for l in out.stdout.splitlines() if l.startswith("notebooks:") or "nothing changed" in l), "")
            lines.append(f"| {label} | {seconds:.1f} | {peak:.0f} | {status}; {summary} |")
            return seconds

        clean = run("clean build, HTML")
        run("PDF added (notebooks reused)", "--pdf")
        nothing = run("rebuild, nothing changed", "--pdf")
        turner = repo / "data" / "trials" / "turner2008" / "trials.csv"
        turner.write_text(turner.read_text().replace("0.271542698", "0.281542698", 1))
        run("rebuild, one dataset changed (Turner)", "--pdf")
        sys.path.insert(0, str(ROOT / "scripts"))
        from bench_update import update_rows  # a living-review update: a new Metapsy release, every chapter

        lines += update_rows(repo, peak_column=True)
        lines.append(f"| nothing-changed rebuild / clean build | {100 * nothing / clean:.1f}% | | |")
        steps = step_rows(repo, env)
    return [
        "| build | wall time (s) | peak RSS of the largest process (MiB) | result |",
        "|---|---:|---:|---|",
        *lines,
        "",
        *steps,
    ]


STEP = re.compile(r"^\s+(?P<step>\S.*?): (?P<s>[0-9.]+) s$")


def _steps(repo: Path, env: dict, warm: bool) -> dict:
    """One clean HTML + PDF build in ``repo`` (its own build folder, no stored multiverse): seconds
    of each step it prints."""
    shutil.rmtree(repo / "_build" / "multiverse", ignore_errors=True)
    with tempfile.TemporaryDirectory() as out:
        code = ("import sys; from pathlib import Path; from analysis.book.pipeline import build; "
                f"build(pdf=True, build_dir=Path({out!r}), warm={warm}, share={warm})")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True)
        total = time.perf_counter() - t0
    steps = {}
    for line in proc.stdout.splitlines():
        if line.startswith("validated"):
            steps["validation (and, warm, the kernel server's imports meanwhile)"] = float(line.rsplit("(", 1)[1].split()[0])
        elif (m := STEP.match(line)):
            steps[m["step"]] = float(m["s"])
    steps["whole build (process wall time)" + ("" if proc.returncode == 0 else ", FAILED")] = total
    return steps


def step_rows(repo: Path, env: dict) -> list[str]:
    """A clean build's steps with cold kernels and every chapter computing for itself (before), and
    with forked warm kernels and shared results (after), side by side in one run. Notebooks run two
    at a time, so a notebook's time includes waiting for the core the other one uses."""
    before, after = _steps(repo, env, warm=False), _steps(repo, env, warm=True)
    rows = [f"| {step} | {before[step]:.1f} | {after.get(step, float('nan')):.1f} |" for step in before]
    rows += [f"| {step} | | {after[step]:.1f} |" for step in after if step not in before]
    return ["| clean build step (HTML + PDF) | before: cold kernels, nothing shared (s) | after: warm kernels, "
            "shared results (s) |", "|---|---:|---:|", *rows]


def cli_rows(k: int = 1_000) -> list[str]:
    """The whole ``python -m analysis pool`` process at ``k`` (REML), beside Rscript loading metafor
    and fitting the same model: best of five, cold imports but bytecode compiled."""
    y, v = simulate(k)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        np.savetxt(csv, np.column_stack([y, v]), delimiter=",", header="yi,vi", comments="", fmt="%.17g")

        def best(cmd):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                times.append(time.perf_counter() - t0)
            return min(times), out.returncode

        ours, code = best([sys.executable, "-m", "analysis", "pool", str(csv), "--measure", "GEN", "--json"])
        rows = [f"| python -m analysis pool (whole process) | {k:,} | {1000 * ours:.0f} | {'ok' if code == 0 else 'FAILED'} |"]
        if shutil.which("Rscript"):
            r, code = best(["Rscript", "-e", f"suppressMessages(library(metafor)); d <- read.csv('{csv}'); "
                            "print(rma(d$yi, d$vi, method='REML'))"])
            rows.append(f"| Rscript: load metafor and fit (whole process) | {k:,} | {1000 * r:.0f} | {'ok' if code == 0 else 'FAILED'} |")
    return ["| command | k | wall time (ms) | result |", "|---|---:|---:|---|", *rows]


def main():
    builds = [] if "--no-build" in sys.argv else build_rows()
    rows = []
    for k in (1_000, 2_000, 100_000):
        y, v = simulate(k)
        res, seconds, mib = measure(lambda: rma(y, v, method="REML"))
        if k <= 2_000:
            ref, note = metafor("reml", y, v)
        else:
            ref, note = None, f"not run: metafor forms a {k}x{k} matrix ({k * k * 8 / 2**30:.1f} GiB)"
        agree = ""
        if ref:
            agree = f"|est diff| {abs(ref['estimate'] - res.estimate):.1e}, |tau2 diff| {abs(ref['tau2'] - res.tau2):.1e}"
            note = f"metafor {ref['version']}: {ref['seconds']:.2f} s; {agree}"
        rows.append(("REML pooling", k, seconds, mib, note))
    y, v = simulate(1_000)
    _, seconds, mib = measure(lambda: leave_one_out(rma(y, v, method="REML")))
    rows.append(("leave-one-out (REML)", 1_000, seconds, mib, "metafor not run: 1,000 refits at its k = 1,000 REML cost"))
    lines = [
        "| task | k | wall time (ms) | peak MiB (Python) | metafor, same data |",
        "|---|---:|---:|---:|---|",
        *[f"| {t} | {k:,} | {1000 * s:.1f} | {m:.1f} | {n} |" for t, k, s, m, n in rows],
    ]
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_bias import bench_selmodel
    from bench_multilevel import bench_multilevel
    from bench_network import bench_network

    extra = [""] + cli_rows() + [""] + bench_multilevel() + [""] + bench_selmodel() + [""] + bench_network()
    table = "\n".join(builds + ([""] if builds else []) + lines + extra)
    print(table)
    out = ROOT / "_build" / "bench.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(table + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
