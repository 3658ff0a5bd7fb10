"""The book pipeline end to end: the sources, the PDF, a failing notebook, a changed parameter."""

import json
import re
import subprocess

import nbformat

from conftest import ROOT, run_analysis, tree_hash


def test_committed_notebooks_carry_no_outputs():
    notebooks = sorted((ROOT / "chapters").glob("*.ipynb"))
    assert notebooks, "no chapter notebooks found"
    for path in notebooks:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [], f"{path.name} has outputs"
                assert cell.get("execution_count") is None, f"{path.name} has execution counts"


def test_every_committed_cell_has_a_fixed_unique_id():
    # a cell without an id is given a random one when the notebook is executed: two clean builds would differ
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        ids = [cell.get("id") for cell in json.loads(path.read_text())["cells"]]
        assert all(ids) and len(set(ids)) == len(ids), (path.name, ids)


def test_every_chapter_notebook_has_a_parameters_cell():
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), path.name


def test_build_then_failure_keeps_previous_book_then_params_change_the_text(built_copy, tmp_path):
    repo = built_copy
    # 1. a good build (the session's, `python -m analysis build` then `--pdf`) has the HTML book and results
    html = repo / "_build" / "html"
    assert (html / "index.html").is_file()
    chapter = (html / "chapters" / "ssri-placebo.html").read_text()
    assert "REML" in chapter and re.search(r"Fig\. \d+", chapter)
    results = (repo / "_build" / "results.csv").read_text()
    assert "rr_ci_low" in results
    before, before_build = tree_hash(html), tree_hash(repo / "_build")

    # 2. a notebook broken on purpose fails the build, names notebook and cell, leaves the book alone
    path = repo / "chapters" / "ssri-placebo.ipynb"
    good = path.read_text()
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("raise RuntimeError('broken on purpose')"))
    nbformat.write(nb, path)
    bad = run_analysis(repo, "build")
    assert bad.returncode != 0
    assert "chapters/ssri-placebo.ipynb" in bad.stderr
    assert "cell 3" in bad.stderr and "broken on purpose" in bad.stderr
    assert tree_hash(html) == before and tree_hash(repo / "_build") == before_build
    assert (repo / "_build" / "results.csv").read_text() == results
    path.write_text(good)

    # 3. a parameter override changes the rendered chapter
    override = tmp_path / "dl.yml"
    override.write_text("ssri-placebo:\n  method: DL\n  hksj: true\n")
    changed = run_analysis(repo, "build", "--params", str(override))
    assert changed.returncode == 0, changed.stdout + changed.stderr
    text = (html / "chapters" / "ssri-placebo.html").read_text()
    assert "DL with Hartung-Knapp-Sidik-Jonkman intervals" in text
    assert "REML with" not in text


def test_pdf_builds_and_has_every_chapter(built_book):
    # built_book ends with `python -m analysis build --pdf` and asserts that it exited 0
    pdf = built_book / "_build" / "pdf" / "book.pdf"
    assert pdf.stat().st_size > 50_000
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for title in ("Introduction", "Methods", "SSRIs versus placebo", "Reproducibility", "Bibliography"):
        assert title.lower() in text.lower(), title
