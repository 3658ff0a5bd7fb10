"""Shared fixtures: copies of the repository for build tests, and one book built once per session.

Building the book is what makes the suite slow, so it is built as few times as possible:

* ``built_book``: one copy of the repository built once (HTML and PDF) and shared, read only, by
  every test that only reads a build (the reader's checks, the PDF, the executed notebooks, the
  previous book the refusal tests check is left alone). Under pytest-xdist the workers share it:
  the first one to ask builds it, the others wait for it.
* tests that must change a book (a failing notebook, a parameter override, the changelog) build
  HTML only in a copy of that built repository (``built_copy``), reusing its executed notebooks;
* only the determinism and incremental test builds a fresh copy from scratch, and compares its
  clean build with the session book's first (clean, HTML) build.
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


def assert_close(actual, expected, what: str, tol: float = 1e-6, against: str = "R") -> None:
    """``actual`` equals ``expected`` (a fixture from R) to ``tol``, absolute below 1 and relative
    above; NaN (R's NA, or None in JSON) matches NaN. The one comparison every fixture test uses."""
    import numpy as np

    actual = np.asarray(np.nan if actual is None else actual, dtype=float)
    expected = np.asarray([np.nan if e is None else e for e in np.atleast_1d(expected)], dtype=float)
    expected = expected.reshape(actual.shape)
    scale = np.maximum(1.0, np.abs(expected))
    same = np.isclose(actual, expected, rtol=0, atol=0, equal_nan=True)
    ok = same | (np.abs(actual - expected) <= tol * scale)
    assert ok.all(), f"{what}: python {actual[~ok]} vs {against} {expected[~ok]}"


def tree_hash(folder: Path) -> str:
    """One hash of every file's relative path and bytes under ``folder`` (the build's scratch
    ``.staging`` folder and the multiverse's result cache left out: a cache entry a notebook wrote
    is not part of the book, and may stay after a failed build)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).parts
        if path.is_file() and ".staging" not in rel and rel[0] != "multiverse":
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def chapter_notebooks() -> int:
    """How many chapter notebooks the book has (from _toc.yml)."""
    from analysis.book.pipeline import notebooks

    return len(notebooks())


def executed_notebooks(stdout: str) -> list[str]:
    """The notebooks a build executed, from its output (one ``  chapters/x.ipynb: 12.3 s`` line
    each, or ``: FAILED``), sorted."""
    return sorted(re.findall(r"^  (chapters/\S+\.ipynb): (?:[\d.]+ s|FAILED)$", stdout, flags=re.MULTILINE))


def file_hashes(folder: Path) -> dict:
    """sha256 of every file under ``folder`` by relative path (the build's scratch ``.staging`` and the
    multiverse cache's run record, which notes how long the run took, left out)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".staging" not in p.parts and not (p.name == "run.json" and "multiverse" in p.parts)
    }


def copy_repo(dest: Path) -> Path:
    """A copy of the repository (without its build, environment and caches) at ``dest``."""
    shutil.copytree(ROOT, dest, ignore=IGNORE)
    return dest


#: A commit message and a tag no pdflatex default can set, nor HTML take raw: the session's book is
#: built from a copy with this history, so that the protocol's commit log, the register's dates and
#: the version-history page are built from git, as in a clone.
HOSTILE_COMMIT = ("Protocol: τ² & 50% _under_ #1 $x$ ^ ~ \\ {b} — “quotes” → ✓ 漢字 🙂 "
                  "<script>alert(1)</script>")
HOSTILE_TAG = ("v1-τ", "release τ & 50% _under_ #1 $x$ ^ ~ \\ {b} → ✓ 漢字 🙂 <b>bold</b>")


def with_history(repo: Path) -> Path:
    """``repo`` as a git checkout of one commit (:data:`HOSTILE_COMMIT`, dated 2026-01-02) with one
    annotated tag (:data:`HOSTILE_TAG`)."""
    env = {**os.environ, "GIT_AUTHOR_DATE": "2026-01-02T10:00:00Z", "GIT_COMMITTER_DATE": "2026-01-02T10:00:00Z",
           "GIT_AUTHOR_NAME": "A Reviewer", "GIT_AUTHOR_EMAIL": "reviewer@example.org",
           "GIT_COMMITTER_NAME": "A Reviewer", "GIT_COMMITTER_EMAIL": "reviewer@example.org"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", HOSTILE_COMMIT],
                 ["tag", "-a", HOSTILE_TAG[0], "-m", HOSTILE_TAG[1]]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    return repo


@pytest.fixture
def repo_copy(tmp_path) -> Path:
    """A copy of the repository in which a test may break things and build."""
    return copy_repo(tmp_path / "repo")


def run_analysis(repo: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """``python -m analysis ARGS`` in ``repo``, importing that copy's package (and its notebooks' too)."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _shared_tmp(tmp_path_factory) -> Path:
    """A temporary folder all xdist workers of this run share (this session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """A copy of the repository with its book built, read only: the repository's path (the book
    is in its ``_build``). Two builds, once per session: ``python -m analysis build`` on the
    fresh copy (every notebook executed, HTML; the hashes of that clean build are kept for the
    determinism test, see ``clean_build_hashes``), then ``python -m analysis build --pdf``
    (notebooks reused; HTML and PDF)."""
    shared = _shared_tmp(tmp_path_factory)
    folder = shared / "book"
    repo, log = folder / "repo", folder / "build.json"
    folder.mkdir(exist_ok=True)
    with open(shared / "book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker builds; the others wait and reuse
        try:
            if not log.is_file():
                if repo.exists():
                    shutil.rmtree(repo)
                with_history(copy_repo(repo))
                runs = [run_analysis(repo, "build")]
                if runs[0].returncode == 0:
                    (folder / "clean-html-build.json").write_text(json.dumps(file_hashes(repo / "_build")))
                    runs.append(run_analysis(repo, "build", "--pdf"))
                log.write_text(json.dumps([{"returncode": r.returncode, "stdout": r.stdout, "stderr": r.stderr} for r in runs]))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    runs = json.loads(log.read_text())
    for res in runs:
        assert res["returncode"] == 0, res["stdout"] + res["stderr"]
    html, pdf = runs
    # the first build of a fresh copy executes every notebook; the PDF build reuses them all
    n = chapter_notebooks()
    assert f"{n} notebook(s) to execute, 0 reused" in html["stdout"] and len(executed_notebooks(html["stdout"])) == n, html["stdout"]
    assert f"0 notebook(s) to execute, {n} reused" in pdf["stdout"] and "PDF:" in pdf["stdout"], pdf["stdout"]
    return repo


@pytest.fixture
def built_copy(built_book, tmp_path) -> Path:
    """A copy of the session's built repository, its ``_build`` included (the previous good book,
    whose executed notebooks a rebuild reuses), in which a test may break things and build."""
    repo = copy_repo(tmp_path / "repo")
    shutil.copytree(built_book / "_build", repo / "_build", symlinks=True)
    return repo


def clean_build_hashes(built_book: Path) -> dict:
    """``file_hashes`` of the session book's first, clean, HTML-only build."""
    return json.loads((built_book.parent / "clean-html-build.json").read_text())


# Slowest first: the fresh copy's clean build (one worker) and the session's book (the other) start
# at once under pytest-xdist (`--dist loadfile --no-loadscope-reorder` keeps this order); then the rest.
FIRST = ("test_incremental.py", "test_reader.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return FIRST.index(name) if name in FIRST else len(FIRST)

    items.sort(key=rank)  # stable: each module keeps its own order
