"""The book's sources, and the PDF of the session's book (the pipeline's rebuilds, a failing
notebook and a changed parameter are in test_rebuild.py)."""

import json
import subprocess

import nbformat

from conftest import ROOT


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


def test_pdf_builds_and_has_every_chapter(built_book):
    # built_book is `python -m analysis build --pdf` on a fresh copy; it asserts the build exited 0
    pdf = built_book / "_build" / "pdf" / "book.pdf"
    assert pdf.stat().st_size > 50_000
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for title in ("Introduction", "Methods", "SSRIs versus placebo", "Reproducibility", "Bibliography"):
        assert title.lower() in text.lower(), title
