"""Stage the book's sources, add each chapter's downloads, read the glued values back, run jupyter-book."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from analysis.book import params as parameters
from analysis.escape import csv_cell, markdown
from analysis.book.execute import BuildError
from analysis.book.params import ROOT



def source_date_epoch() -> str:
    """The date stamped into the PDF: the last commit's time, so that two builds of the same
    commit are byte-identical (a fixed date outside a git checkout)."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip().isdigit():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "1767225600"  # 2026-01-01T00:00:00Z


def safe_name(name: str) -> str:
    """A file name reduced to letters, digits, ``.``, ``_`` and ``-`` (for download links)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return cleaned or "data"


def add_downloads(executed: Path, book: Path, chapter_params: dict, chapter_rows: list[dict]) -> None:
    """Stage a chapter for the book with a closing "Downloads" section that links the exact data
    files it read and the table of values it glued (CSV)."""
    from analysis.book.provenance import sha256

    folder = book / "downloads" / executed.stem
    folder.mkdir(parents=True, exist_ok=True)
    links = []
    for key, value in sorted(chapter_params.items()):
        path = ROOT / value if isinstance(value, str) and value else None
        if path is not None and path.is_file() and parameters.is_path_parameter(parameters.defaults()[executed.stem][key]):
            safe = safe_name(path.name)  # a file name from a parameter never reaches MyST as markup
            # one copy of each file, whichever chapters read it (a release can be hundreds of MB)
            shared = f"data/{sha256(path)[:16]}/{safe}"
            target = book / "downloads" / shared
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
            links.append(f"- {markdown(key)}: {{download}}`{safe} <../downloads/{shared}>`")
    with open(folder / "results.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["key", "value", "chapter"])
        writer.writeheader()
        writer.writerows({**r, "value": csv_cell(r["value"])} for r in chapter_rows)
    links.append(f"- every value in this chapter's text: {{download}}`results.csv <../downloads/{executed.stem}/results.csv>`")
    nb = nbformat.read(executed, as_version=4)
    tables = glued_tables(nb)
    if tables:
        (folder / "tables").mkdir(exist_ok=True)
    for name, text in tables.items():
        safe = safe_name(name) + ".csv"
        (folder / "tables" / safe).write_text(text, encoding="utf-8")
        links.append(f"- table {markdown(name)}: {{download}}`{safe} <../downloads/{executed.stem}/tables/{safe}>`")
    cell = nbformat.v4.new_markdown_cell("## Downloads\n\nThe exact files this chapter read, the values it computed and each of its "
                                         "tables (CSV).\n\n" + "\n".join(links))
    cell.id = "downloads"
    nb.cells.append(cell)
    nbformat.write(nb, book / "chapters" / executed.name)


def glued_tables(nb) -> dict:
    """Glued name -> CSV text of every table an executed notebook glued (:class:`analysis.book.glue.Table`)."""
    out = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook", {})
            prefix = scrap.get("mime_prefix", "")
            text = output.get("data", {}).get(prefix + "text/csv")
            if scrap.get("name") and text is not None:
                out[scrap["name"]] = text
    return out


def glued_values(executed: Path) -> list[dict]:
    """Every value a notebook glued (myst-nb ``glue``), as rows of key, value, chapter."""
    nb = nbformat.read(executed, as_version=4)
    rows = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                prefix = output["metadata"]["scrapbook"].get("mime_prefix", "")
                data = {k[len(prefix) :]: v for k, v in output.get("data", {}).items()}
                if "image/svg+xml" in data or "text/html" in data:
                    continue  # figures and tables; the numbers they show are glued one by one too
                value = data.get("text/plain", "")
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                rows.append({"key": name, "value": value, "chapter": executed.stem})
    return rows


def run_jupyter_book(book: Path, out: Path, builder: str) -> None:
    cmd = [
        str(Path(sys.executable).parent / "jupyter-book"),
        "build", str(book), "--path-output", str(out), "--builder", builder, "-W", "-n", "--keep-going",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        log = (proc.stdout + proc.stderr)[-4000:]
        raise BuildError(f"jupyter-book {builder} build failed:\n{log}")


def root_icon(html: Path, book: Path) -> None:
    """Declare the book's icon on the site root. Jupyter Book writes the root as a one-line redirect
    to the first page, without the icon the pages declare, so a browser opening the root asks for
    ``/favicon.ico``, which does not exist (a 404 in its console). The icon is the one
    ``_config.yml``'s ``html.favicon`` names, as Sphinx copies it to ``_static``."""
    import yaml

    config = yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8")) or {}
    favicon = ((config.get("html") or {}).get("favicon"))
    index = html / "index.html"
    if not favicon or not index.is_file() or not (html / "_static" / Path(favicon).name).is_file():
        return
    text = index.read_text(encoding="utf-8")
    if 'rel="icon"' not in text:
        index.write_text(f'<link rel="icon" href="_static/{Path(favicon).name}" />\n' + text, encoding="utf-8")
