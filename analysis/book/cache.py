"""Cache keys: a notebook's executed copy is reused only when everything it depends on is unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from analysis.book.params import ROOT, path_values

BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib", "favicon.png")
BOOK_DIRS = ("_ext", "_static")  # local Sphinx extension; the book's own CSS
#: Chapters that read the version history (the protocol's amendment log and register): their key
#: holds the checked-out commit, so a new commit re-runs them even when no file's content changed.
READS_HISTORY = ("protocol",)



def dependency_key(notebook: Path, chapter_params: dict) -> str:
    """Hash of everything a chapter's executed copy depends on: the notebook, its parameters,
    every file or folder a parameter names, the analysis package and the locked environment."""
    digest = hashlib.sha256()

    def add_file(path: Path) -> None:
        digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).encode())
        digest.update(path.read_bytes())

    add_file(notebook)
    digest.update(json.dumps(chapter_params, sort_keys=True).encode())
    named = list(path_values(chapter_params).values())
    if "params_json" in chapter_params:  # the appendix lists (and hashes) every chapter's files
        named += [v for values in json.loads(chapter_params["params_json"]).values() for v in path_values(values).values()]
    for value in sorted(set(named)):
        if (ROOT / value).exists() and (ROOT / value).resolve() != ROOT:
            target = ROOT / value
            for path in sorted(target.rglob("*")) if target.is_dir() else [target]:
                if path.is_file():
                    add_file(path)
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        add_file(path)
    add_file(ROOT / "requirements.lock")
    if notebook.stem in READS_HISTORY:
        from analysis.review.amendments import run_git

        digest.update((run_git(ROOT, "rev-parse", "HEAD") or "no git").encode())
    return digest.hexdigest()


def book_key(keys, pdf: bool) -> str:
    """Hash of what the rendered book depends on beyond the notebooks' own keys (``keys``: chapter
    -> key, or a folder of ``*.key`` files)."""
    digest = hashlib.sha256(b"pdf" if pdf else b"html")
    if isinstance(keys, (str, Path)):
        keys = {p.stem: p.read_text() for p in sorted(Path(keys).glob("*.key"))}
    for chapter in sorted(keys):
        digest.update(keys[chapter].encode())
    extra = sorted(p for folder in BOOK_DIRS for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in [ROOT / name for name in BOOK_FILES] + sorted((ROOT / "chapters").glob("*.md")) + extra:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
