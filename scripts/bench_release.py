"""Benchmark a whole book build on a very large Metapsy release (about 10^5 comparisons).

Makes a release of ``--rows`` rows from the committed v22.0.2 file (every row copied with a new
study name, ``study N, year``, and its g moved by N(0, 0.1²); ``--cbt-only`` copies only the CBT
rows, so that every row is a CBT comparison), points every chapter that reads ``psyctr`` at it, and
builds the book (HTML and PDF) in a scratch copy of the repository. Reports the wall time of each
step (the build's own lines) and the peak memory of the whole process tree (the build, its notebook
kernels and the multiverse's Dask workers, summed, sampled every 0.2 s), and writes them to
``_build/bench-release.md``. Asserts nothing.

    python scripts/bench_release.py --rows 100000 --cbt-only
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data/trials/metapsy-psyctr/data_v22.0.2_raw.csv"
READERS = ("cbt-control", "multiverse", "summary-of-findings", "abstract")  # chapters with a psyctr parameter


def make_release(dest: Path, rows: int, cbt_only: bool, seed: int = 1) -> int:
    """Write a release of ``rows`` rows in Metapsy's published format (';', decimal commas)."""
    with open(RAW, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh, delimiter=";"))
    header, body = table[0], table[1:]
    study, g, arm = header.index("study"), header.index(".g"), header.index("condition_arm1")
    if cbt_only:
        body = [r for r in body if r[arm] == "cbt"]
    rng, out, copy = random.Random(seed), [], 0
    while len(out) < rows:
        for row in body[: rows - len(out)]:
            row = list(row)
            if copy:
                name, _, year = row[study].rpartition(", ")
                row[study] = f"{name} {copy}, {year}"
                if row[g] not in ("", "NA"):
                    row[g] = f"{float(row[g].replace(',', '.')) + rng.gauss(0, 0.1):.6f}".replace(".", ",")
            out.append(row)
        copy += 1
    for i, row in enumerate(out, 1):
        row[0] = str(i)
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(header)
        writer.writerows(out)
    return len(out)


def run_measured(cmd: list[str], cwd: Path) -> tuple[int, float, float, str]:
    """Exit code, wall seconds, peak summed RSS (GiB) of the process tree, and the output."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root, peak = psutil.Process(proc.pid), 0
    lines: list[str] = []
    import threading

    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.2)
    reader.join()
    return proc.returncode, time.perf_counter() - start, peak / 2**30, "".join(lines)


def comparisons_pooled(results: Path) -> str:
    """The CBT chapter's k (every comparison) from the build's results, or "unknown"."""
    if not results.is_file():
        return "unknown (no results)"
    with open(results, newline="", encoding="utf-8") as fh:
        values = {r["key"]: r["value"] for r in csv.DictReader(fh) if r["chapter"] == "cbt-control"}
    return f"{int(float(values['k'])):,}" if "k" in values else "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cbt-only", action="store_true", help="copy only CBT rows (every row a CBT comparison)")
    parser.add_argument("--html-only", action="store_true", help="skip the PDF")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        repo = tmp / "repo"
        ignore = shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache", ".hypothesis", "__pycache__")
        shutil.copytree(ROOT, repo, ignore=ignore)
        release = tmp / "data_v99.0.0_raw.csv"
        n = make_release(release, args.rows, args.cbt_only)
        params = tmp / "release.yml"
        params.write_text("".join(f"{ch}:\n  psyctr: {release}\n" for ch in READERS), encoding="utf-8")
        cmd = [sys.executable, "-m", "analysis", "build", "--params", str(params)] + ([] if args.html_only else ["--pdf"])
        code, wall, peak, output = run_measured(cmd, repo)
        size = release.stat().st_size / 2**20
        pooled = comparisons_pooled(repo / "_build" / "results.csv")
    report = [f"# Build on a release of {n:,} rows ({'CBT only' if args.cbt_only else 'every therapy'}, {size:.0f} MiB)",
              "", f"CBT comparisons pooled: {pooled}", "",
              f"exit {code}; wall {wall:.1f} s; peak memory of the process tree {peak:.2f} GiB", "", "```",
              output.strip(), "```", ""]
    text = "\n".join(report)
    print(text)
    (ROOT / "_build").mkdir(exist_ok=True)
    (ROOT / "_build" / "bench-release.md").write_text(text, encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
