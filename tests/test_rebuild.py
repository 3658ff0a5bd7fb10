"""Builds that change the book, run in sequence on ONE copy of the repository (HTML only, since
none of them is about the PDF), each a real ``python -m analysis build`` in a subprocess:

1. deterministic and incremental builds: two clean builds (this copy's first and the session
   book's first, see conftest.built_book) are byte-identical; a build with nothing changed
   executes no notebook; a changed dataset re-executes exactly the chapters that read it;
2. a dataset swapped for another through a parameter file: the changelog lists exactly the
   studies added and removed;
3. a notebook broken on purpose fails the build and leaves the previous book untouched; a
   parameter override changes the rendered text.

The tests run in this order (pytest keeps a module's order; under xdist ``--dist loadfile`` keeps
the module on one worker). Each starts by bringing the copy to the good build it needs, which is
a no-op ("nothing changed") when the test before it passed.
"""

import csv
import json
import re
from pathlib import Path

import nbformat
import pytest

from conftest import clean_build_hashes, copy_repo, executed_notebooks, file_hashes, run_analysis, tree_hash

TURNER = "data/trials/turner2008/trials.csv"


class Bench:
    def __init__(self, root: Path):
        self.repo = copy_repo(root / "repo")
        self.files = root / "files"  # parameter files and swapped-in datasets, outside the repository
        self.files.mkdir()

    def build(self, *args):
        return run_analysis(self.repo, "build", *args)

    def turner_swap(self) -> tuple[Path, Path]:
        """Turner's trials with studies 5 and 17 dropped and one added, and a parameter file naming it."""
        new = self.files / "turner_new.csv"
        with open(self.repo / TURNER, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        kept = [r for r in rows if r[1] not in ("5", "17")]
        with open(new, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(kept + [["sertraline", "74", "1", "0.35", "0.12", "0.36", "0.12"]])
        params = self.files / "turner_new.yml"
        params.write_text(f"publication-bias:\n  turner: {new}\n")
        return new, params


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Bench:
    return Bench(tmp_path_factory.mktemp("rebuild"))


def test_clean_builds_are_identical_and_rebuilds_are_incremental(bench, request):
    repo = bench.repo
    first = bench.build()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "7 notebook(s) to execute, 0 reused" in first.stdout
    assert len(executed_notebooks(first.stdout)) == 7, first.stdout
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

    unchanged = bench.build()
    assert unchanged.returncode == 0
    # nothing changed: no notebook executed, nothing rendered, the book as it was
    assert "nothing changed" in unchanged.stdout and executed_notebooks(unchanged.stdout) == [], unchanged.stdout
    assert file_hashes(repo / "_build") == a

    turner = repo / TURNER
    turner.write_text(turner.read_text().replace("0.271542698", "0.281542698", 1))
    changed = bench.build()
    assert changed.returncode == 0, changed.stdout + changed.stderr
    # the chapter that reads Turner's data, and the appendix that hashes every data file
    assert executed_notebooks(changed.stdout) == ["chapters/publication-bias.ipynb", "chapters/reproducibility.ipynb"]
    assert "2 notebook(s) to execute, 5 reused" in changed.stdout, changed.stdout


def test_changelog_lists_exactly_the_studies_added_and_removed(bench):
    repo = bench.repo
    base = bench.build()  # the previous good build, on the default parameters
    assert base.returncode == 0, base.stdout + base.stderr
    new, params = bench.turner_swap()
    res = bench.build("--params", str(params))
    assert res.returncode == 0, res.stdout + res.stderr
    changes = json.loads((repo / "_build" / "changes.json").read_text())
    assert [d["file"] for d in changes["datasets"]] == [f"turner: {TURNER} → {new}"]
    expected_removed = sorted(f"{r[0]} {r[1]}" for r in csv.reader(open(repo / TURNER)) if r[1] in ("5", "17"))
    assert changes["studies"] == [
        {"file": f"turner: {TURNER} → {new}", "added": ["sertraline 74"], "removed": expected_removed}
    ]
    keys = {v["key"] for v in changes["values"]}
    assert "fda_k" in keys and all(v["chapter"] in ("publication-bias", "reproducibility") for v in changes["values"])
    page = (repo / "_build" / "html" / "chapters" / "changes.html").read_text()
    assert "sertraline 74" in page and "fda_k" in page


def test_build_then_failure_keeps_previous_book_then_params_change_the_text(bench):
    repo = bench.repo
    # 1. a good build (the one the test before left, on its parameter file) with the HTML book and results
    _, turner_params = bench.turner_swap()
    ok = bench.build("--params", str(turner_params))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    html = repo / "_build" / "html"
    assert (html / "index.html").is_file()
    chapter = (html / "chapters" / "ssri-placebo.html").read_text()
    assert "REML" in chapter and re.search(r"Fig\. \d+", chapter)
    results = (repo / "_build" / "results.csv").read_text()
    assert "rr_ci_low" in results
    before = tree_hash(html)

    # 2. a notebook broken on purpose fails the build, names notebook and cell, leaves the book alone
    path = repo / "chapters" / "ssri-placebo.ipynb"
    good = path.read_text()
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("raise RuntimeError('broken on purpose')"))
    nbformat.write(nb, path)
    bad = bench.build("--params", str(turner_params))
    assert bad.returncode != 0
    assert "chapters/ssri-placebo.ipynb" in bad.stderr
    assert "cell 3" in bad.stderr and "broken on purpose" in bad.stderr
    assert tree_hash(html) == before
    assert (repo / "_build" / "results.csv").read_text() == results
    path.write_text(good)

    # 3. a parameter override changes the rendered chapter
    override = bench.files / "dl.yml"
    override.write_text(turner_params.read_text() + "ssri-placebo:\n  method: DL\n  hksj: true\n")
    changed = bench.build("--params", str(override))
    assert changed.returncode == 0, changed.stdout + changed.stderr
    text = (html / "chapters" / "ssri-placebo.html").read_text()
    assert "DL with Hartung-Knapp-Sidik-Jonkman intervals" in text
    assert "REML with" not in text
