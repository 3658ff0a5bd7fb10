"""Deterministic and incremental builds: two clean builds are byte-identical; a build with nothing
changed executes no notebook; a changed dataset re-executes exactly the chapters that read it."""

import hashlib
import shutil
from pathlib import Path

from conftest import run_analysis


def file_hashes(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".staging" not in p.parts
    }


def test_clean_builds_are_identical_and_rebuilds_are_incremental(repo_copy):
    env_build = lambda: run_analysis(repo_copy, "build")  # noqa: E731
    first = env_build()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "7 notebook(s) to execute, 0 reused" in first.stdout
    a = file_hashes(repo_copy / "_build")
    shutil.rmtree(repo_copy / "_build")
    second = env_build()
    assert second.returncode == 0, second.stdout + second.stderr
    b = file_hashes(repo_copy / "_build")
    assert a == b, sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))[:10]

    unchanged = env_build()
    assert unchanged.returncode == 0
    assert "0 notebook(s) to execute, 7 reused" in unchanged.stdout and "nothing changed" in unchanged.stdout
    assert file_hashes(repo_copy / "_build") == b

    turner = repo_copy / "data" / "trials" / "turner2008" / "trials.csv"
    turner.write_text(turner.read_text().replace("0.271542698", "0.281542698", 1))
    changed = env_build()
    assert changed.returncode == 0, changed.stdout + changed.stderr
    executed = sorted(line.split()[1] for line in changed.stdout.splitlines() if line.strip().startswith("executed "))
    # the chapter that reads Turner's data, and the appendix that hashes every data file
    assert executed == ["chapters/publication-bias.ipynb", "chapters/reproducibility.ipynb"]
    assert "notebooks: 2 executed, 5 reused, 0 failed" in changed.stdout
