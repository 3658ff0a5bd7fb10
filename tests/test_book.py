"""The book pipeline end to end: build, a failing notebook, a changed parameter."""

import re
import hashlib
import json
from pathlib import Path

import nbformat

from conftest import ROOT, run_analysis


def tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_committed_notebooks_carry_no_outputs():
    notebooks = sorted((ROOT / "chapters").glob("*.ipynb"))
    assert notebooks, "no chapter notebooks found"
    for path in notebooks:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [], f"{path.name} has outputs"
                assert cell.get("execution_count") is None, f"{path.name} has execution counts"


def test_every_chapter_notebook_has_a_parameters_cell():
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), path.name


def test_build_then_failure_keeps_previous_book_then_params_change_the_text(repo_copy, tmp_path):
    # 1. a clean build produces the HTML book and the results table
    ok = run_analysis(repo_copy, "build")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    html = repo_copy / "_build" / "html"
    assert (html / "index.html").is_file()
    chapter = (html / "chapters" / "ssri-placebo.html").read_text()
    assert "REML" in chapter and re.search(r"Fig\. \d+", chapter)
    results = (repo_copy / "_build" / "results.csv").read_text()
    assert "rr_ci_low" in results
    before = tree_hash(html)

    # 2. a notebook broken on purpose fails the build, names notebook and cell, leaves the book alone
    path = repo_copy / "chapters" / "ssri-placebo.ipynb"
    good = path.read_text()
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("raise RuntimeError('broken on purpose')"))
    nbformat.write(nb, path)
    bad = run_analysis(repo_copy, "build")
    assert bad.returncode != 0
    assert "chapters/ssri-placebo.ipynb" in bad.stderr
    assert "cell 3" in bad.stderr and "broken on purpose" in bad.stderr
    assert tree_hash(html) == before
    assert (repo_copy / "_build" / "results.csv").read_text() == results
    path.write_text(good)

    # 3. a parameter override changes the rendered chapter
    override = tmp_path / "dl.yml"
    override.write_text("ssri-placebo:\n  method: DL\n  hksj: true\n")
    changed = run_analysis(repo_copy, "build", "--params", str(override))
    assert changed.returncode == 0, changed.stdout + changed.stderr
    text = (html / "chapters" / "ssri-placebo.html").read_text()
    assert "DL with Hartung-Knapp-Sidik-Jonkman intervals" in text
    assert "REML with" not in text


def test_pdf_builds_and_has_every_chapter(repo_copy):
    res = run_analysis(repo_copy, "build", "--pdf")
    assert res.returncode == 0, res.stdout + res.stderr
    pdf = repo_copy / "_build" / "pdf" / "book.pdf"
    assert pdf.stat().st_size > 50_000
    import subprocess

    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for title in ("Introduction", "Methods", "SSRIs versus placebo", "Reproducibility", "Bibliography"):
        assert title.lower() in text.lower(), title
