"""Deterministic and incremental builds: two clean builds are byte-identical; a build with nothing
changed executes no notebook; a changed dataset re-executes exactly the chapters that read it.

The two clean builds are this test's, of a fresh copy, and the session book's first build, of
another copy in another folder (conftest.built_book), both with the same one-commit history
(conftest.with_history), so the suite executes every notebook from scratch only twice."""

import re

from analysis.book.params import defaults
from conftest import chapter_notebooks, clean_build_hashes, executed_notebooks, file_hashes, run_analysis, with_history

TURNER = "data/trials/turner2008/trials.csv"


def test_clean_builds_are_identical_and_rebuilds_are_incremental(repo_copy, request):
    repo = with_history(repo_copy)  # the session book's history: the same commit, so the same book
    first = run_analysis(repo, "build")
    assert first.returncode == 0, first.stdout + first.stderr
    n = chapter_notebooks()
    assert f"{n} notebook(s) to execute, 0 reused" in first.stdout
    assert len(executed_notebooks(first.stdout)) == n, first.stdout
    # a clean build produces the HTML book and the results table
    html = repo / "_build" / "html"
    assert (html / "index.html").is_file()
    chapter = (html / "chapters" / "ssri-placebo.html").read_text()
    assert "REML" in chapter and re.search(r"Fig\. \d+", chapter)
    assert "rr_ci_low" in (repo / "_build" / "results.csv").read_text()
    a = file_hashes(repo / "_build")
    # the other clean build: the session book's first build, of another copy in another folder
    # (asked for only now, so that under xdist the two clean builds run at the same time)
    b = clean_build_hashes(request.getfixturevalue("built_book"))
    assert a == b, sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))[:10]

    unchanged = run_analysis(repo, "build")
    assert unchanged.returncode == 0
    # nothing changed: no notebook executed, nothing rendered, the book as it was
    assert "nothing changed" in unchanged.stdout and executed_notebooks(unchanged.stdout) == [], unchanged.stdout
    assert file_hashes(repo / "_build") == a

    turner = repo / TURNER
    turner.write_text(turner.read_text().replace("0.271542698", "0.281542698", 1))
    changed = run_analysis(repo, "build")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    # the chapters whose parameters name Turner's data, and the appendix that hashes every data file
    readers = {f"chapters/{chapter}.ipynb" for chapter, values in defaults().items() if TURNER in values.values()}
    expected = readers | {"chapters/reproducibility.ipynb"}
    assert "chapters/publication-bias.ipynb" in readers and "chapters/ssri-placebo.ipynb" not in readers
    assert sorted(executed_notebooks(changed.stdout)) == sorted(expected), changed.stdout
    assert f"{len(expected)} notebook(s) to execute, {n - len(expected)} reused" in changed.stdout, changed.stdout
