"""Issue 12, end to end: hostile study names and data paths render inert in the HTML and the PDF;
two builds at once in one checkout are serialised by the lock and a default build afterwards is
entirely default (the cache never serves a notebook executed with other parameters)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from conftest import run_analysis

TURNER = "data/trials/turner2008/trials.csv"


class Tags(HTMLParser):
    """Every script element and every event-handler attribute in a page."""

    def __init__(self):
        super().__init__()
        self.scripts, self.handlers, self._in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in_script = True
            self.scripts.append(dict(attrs).get("src") or "")
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.handlers.append((tag, name, value))

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def hostile_names(canary: Path) -> list[str]:
    return [
        "<script>alert('xss1')</script>",
        "<img src=x onerror=alert('xss2')>",
        f"$\\input{{{canary.with_suffix('')}}}$",
        "a & b `code` {role}`x` \\textbf{bold} \u202eRTL\u202c",
        "=HYPERLINK(\"http://evil\")",
    ]


def hostile_turner(repo: Path, dest: Path, names: list[str]) -> Path:
    rows = list(csv.reader(io.StringIO((repo / TURNER).read_text())))
    drug = rows[0].index("Drug")
    for row, name in zip(rows[1:], names):
        row[drug] = name
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    dest.write_text(out.getvalue(), encoding="utf-8")
    return dest


def injected_parameters(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return "".join(c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))


def test_hostile_names_are_inert_and_concurrent_builds_do_not_mix(built_copy, tmp_path):
    repo_copy = built_copy  # the session's book: the default build reuses its notebooks
    # 1. a default build: the reference
    first = run_analysis(repo_copy, "build")
    assert first.returncode == 0, first.stdout + first.stderr
    reference = (repo_copy / "_build" / "results.csv").read_text()

    # 2. hostile study names and a hostile data path, HTML and PDF
    canary = tmp_path / "canary.tex"
    canary.write_text("SECRETCANARY4711\n")
    names = hostile_names(canary)
    folder = tmp_path / "hostile"
    folder.mkdir()
    data = hostile_turner(repo_copy, folder / "<img src=x onerror=alert('xss3')>.csv", names)
    params = tmp_path / "hostile.yml"
    params.write_text(json.dumps({"publication-bias": {"turner": str(data)}}))  # JSON is YAML
    built = run_analysis(repo_copy, "build", "--pdf", "--params", str(params))
    assert built.returncode == 0, built.stdout + built.stderr
    html_dir = repo_copy / "_build" / "html"
    pages = {p: p.read_text(encoding="utf-8") for p in html_dir.rglob("*.html")}
    for page, text in pages.items():
        tags = Tags()
        tags.feed(text)
        assert not [s for s in tags.scripts if "xss" in s], page
        assert not [h for h in tags.handlers if "xss" in (h[2] or "")], (page, tags.handlers)
    everything = "\n".join(pages.values())
    # shown as the same characters (Sphinx's smartquotes curl the quotes: _config.yml's choice)
    assert "&lt;script&gt;alert(" in everything and "xss1" in everything
    assert "\u202e" not in everything and "&lt;U+202E&gt;" in everything  # an RTL mark shown, not obeyed
    assert "onerror=alert" not in everything.replace("&lt;img src=x onerror=alert", "")
    changes = pages[html_dir / "chapters" / "changes.html"]
    assert "xss1" in changes  # the changelog lists the renamed studies, escaped
    repro = pages[html_dir / "chapters" / "reproducibility.html"]
    assert "xss3" in repro and "<img src=x" not in repro
    pdf = repo_copy / "_build" / "pdf" / "book.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "SECRETCANARY4711" not in text
    assert "input{" in text  # the name is printed as its characters
    # the values tables the build writes are neutralised; the data files themselves are offered verbatim
    downloads = list((html_dir / "_downloads").rglob("results.csv"))
    assert downloads
    for path in downloads:
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            assert not any(cell.startswith("=HYPERLINK") for cell in row), path

    # 3. two builds at once with different parameters: serialised by the lock
    outputs = {}
    for method in ("DL", "PM"):
        (tmp_path / f"{method}.yml").write_text(f"publication-bias:\n  method: {method}\n")

    def run(method):
        outputs[method] = run_analysis(repo_copy, "build", "--params", str(tmp_path / f"{method}.yml"))

    threads = [threading.Thread(target=run, args=(m,)) for m in ("DL", "PM")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for method, res in outputs.items():
        assert res.returncode == 0, res.stdout + res.stderr
    assert any("waiting for it to finish" in res.stderr for res in outputs.values())

    # 4. a default build afterwards is entirely default
    final = run_analysis(repo_copy, "build")
    assert final.returncode == 0, final.stdout + final.stderr
    assert (repo_copy / "_build" / "results.csv").read_text() == reference
    for notebook in (repo_copy / "_build" / "notebooks").glob("*.ipynb"):
        injected = injected_parameters(notebook)
        assert "'DL'" not in injected and "'PM'" not in injected and "hostile" not in injected, notebook
    assert not (repo_copy / "_build" / ".staging").exists()
    assert [p.name for p in (repo_copy / "_build" / "releases").iterdir()] == [
        Path(__import__("os").readlink(repo_copy / "_build" / "current")).name]
    shutil.rmtree(repo_copy / "_build")
