"""Shared fixtures: copies of the repository for build tests, and one book built once per session.

Building the book is what makes the suite slow, so it is built as few times as possible:

* ``built_book``: one copy of the repository built once (HTML and PDF) and shared, read only, by
  every test that only reads a build (the reader's checks, the PDF, the executed notebooks, the
  previous book the refusal tests check is left alone). Under pytest-xdist the workers share it:
  the first one to ask builds it, the others wait for it.
* tests that must change the book (incremental rebuilds, a failing notebook, a parameter
  override, the changelog) share one copy of their own in ``test_rebuild.py``, HTML only.
"""

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache", ".hypothesis", "__pycache__", "*.egg-info")


def tree_hash(folder: Path) -> str:
    """One hash of every file's relative path and bytes under ``folder`` (the build's scratch
    ``.staging`` folder left out)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".staging" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def executed_notebooks(stdout: str) -> list[str]:
    """The notebooks a build executed, from its output (one ``  chapters/x.ipynb: 12.3 s`` line
    each, or ``: FAILED``), sorted."""
    return sorted(re.findall(r"^  (chapters/\S+\.ipynb): (?:[\d.]+ s|FAILED)$", stdout, flags=re.M))


def copy_repo(dest: Path) -> Path:
    """A copy of the repository (without its build, environment and caches) at ``dest``."""
    shutil.copytree(ROOT, dest, ignore=IGNORE)
    return dest


@pytest.fixture
def repo_copy(tmp_path) -> Path:
    """A copy of the repository in which a test may break things and build."""
    return copy_repo(tmp_path / "repo")


def run_analysis(repo: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """``python -m analysis ARGS`` in ``repo``, importing that copy's package (and its notebooks' too)."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout
    )


def _shared_tmp(tmp_path_factory) -> Path:
    """A temporary folder all xdist workers of this run share (this session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """A copy of the repository with its book built once, HTML and PDF, by ``python -m analysis
    build --pdf``: the repository's path (the book is in its ``_build``). Read only."""
    shared = _shared_tmp(tmp_path_factory)
    repo, log = shared / "book" / "repo", shared / "book" / "build.json"
    (shared / "book").mkdir(exist_ok=True)
    with open(shared / "book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker builds; the others wait and reuse
        try:
            if not log.is_file():
                if repo.exists():
                    shutil.rmtree(repo)
                copy_repo(repo)
                res = run_analysis(repo, "build", "--pdf")
                log.write_text(json.dumps({"returncode": res.returncode, "stdout": res.stdout, "stderr": res.stderr}))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    res = json.loads(log.read_text())
    assert res["returncode"] == 0, res["stdout"] + res["stderr"]
    # the first build of a fresh copy executes every notebook
    assert "7 notebook(s) to execute, 0 reused" in res["stdout"], res["stdout"]
    return repo
