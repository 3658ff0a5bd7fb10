"""Benchmark of a living-review update: the book is built, a new Metapsy release comes in (made from
the bundled one by scripts/release_variants.py: columns dropped, studies renamed, added and removed),
every chapter that reads it is pointed at it (an ``all`` section) and the whole book, HTML and PDF,
is rebuilt with its changelog. In a scratch copy of the repository; asserts nothing.

    .venv/bin/python scripts/bench_update.py      (also a row of `make bench`)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from release_variants import make_release, params_for  # noqa: E402

IGNORE = shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache", ".hypothesis", "__pycache__")


def build(repo: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of ``python -m analysis build ARGS`` in ``repo``."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "analysis", "build", *args], cwd=repo, env=env,
                          capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def update(repo: Path, folder: Path) -> dict:
    """Point every chapter at a next release in ``folder`` and rebuild ``repo``'s book (HTML, PDF):
    the seconds, the notebooks re-executed, and the changelog's counts."""
    data = make_release(folder / "data-depression-psyctr-23.0.0", next_release=True)
    (repo / "new-release.yml").write_text(params_for(data))
    seconds, done = build(repo, "--pdf", "--params", "new-release.yml")
    executed = re.findall(r"^  (chapters/\S+\.ipynb): [\d.]+ s$", done.stdout, flags=re.MULTILINE)
    out = {"seconds": seconds, "ok": done.returncode == 0, "executed": executed}
    if done.returncode == 0:
        changes = json.loads((repo / "_build" / "changes.json").read_text())
        out.update(values=len(changes["values"]), flipped=len(changes["flipped"]),
                   studies={s["file"]: {k: len(s[k]) for k in ("added", "removed", "renamed")} for s in changes["studies"]})
    else:
        out["error"] = (done.stdout + done.stderr)[-2000:]
    return out


def update_rows(repo: Path | None = None, peak_column: bool = False) -> list[str]:
    """The benchmark's table rows: in ``repo`` (a built scratch copy) or in a new one built first;
    with ``peak_column``, an empty memory cell after the time (the table of scripts/bench.py)."""
    rows = _update_rows(repo)
    return [r.replace(" | ", " |  | ", 2).replace(" |  | ", " | ", 1) for r in rows] if peak_column else rows


def _update_rows(repo: Path | None = None) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        if repo is None:
            repo = Path(tmp) / "repo"
            shutil.copytree(ROOT, repo, ignore=IGNORE)
            seconds, done = build(repo, "--pdf")
            if done.returncode != 0:
                return [f"| living-review update | | FAILED: the first build failed: {done.stderr[-300:]} |"]
        result = update(repo, Path(tmp))
    if not result["ok"]:
        return [f"| living-review update: new Metapsy release, whole book (HTML + PDF) | {result['seconds']:.1f} | "
                f"FAILED: {result['error'][-300:]} |"]
    return [f"| living-review update: new Metapsy release, whole book (HTML + PDF) | {result['seconds']:.1f} | "
            f"{len(result['executed'])} notebooks re-executed ({', '.join(Path(n).stem for n in result['executed'])}); "
            f"changelog: {result['values']} values, {result['flipped']} conclusions flipped |"]


def main() -> int:
    rows = ["| step | wall time (s) | what |", "|---|---:|---|", *update_rows()]
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
