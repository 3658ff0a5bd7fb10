"""What a build was made from: environment, parameters and input-file hashes."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

from analysis.book.params import ROOT
from analysis.review.protocol import yaml_value

PACKAGES = (
    "jupyter-book", "sphinx", "myst-nb", "papermill", "numpy", "scipy", "pandas", "statsmodels",
    "pandera", "matplotlib", "seaborn", "serotonin-review-analysis",
)


def environment_table() -> pd.DataFrame:
    """Python and package versions, one row each."""
    rows = [{"component": "Python", "version": platform.python_version()}]
    for name in PACKAGES:
        try:
            rows.append({"component": name, "version": metadata.version(name)})
        except metadata.PackageNotFoundError:
            rows.append({"component": name, "version": "not installed"})
    return pd.DataFrame(rows).set_index("component")


def parameter_table(params: dict) -> pd.DataFrame:
    """The parameters of every chapter as rows of chapter, parameter, value."""
    rows = [
        {"chapter": chapter, "parameter": key, "value": yaml_value(value)}
        for chapter, values in sorted(params.items())
        for key, value in sorted(values.items())
    ]
    return pd.DataFrame(rows, columns=["chapter", "parameter", "value"]).set_index(["chapter", "parameter"])


def sha256(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(data_dir: str | Path) -> pd.DataFrame:
    """Every file under ``data_dir`` (relative to the repository) with its size and SHA-256."""
    base = ROOT / data_dir
    rows = [
        {"file": str(p.relative_to(ROOT)), "bytes": p.stat().st_size, "sha256": sha256(p)}
        for p in sorted(base.rglob("*"))
        if p.is_file()
    ]
    return pd.DataFrame(rows, columns=["file", "bytes", "sha256"]).set_index("file")


def _shown(path: Path) -> str:
    path = Path(path)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def files_read(params: dict, defaults: dict | None = None) -> pd.DataFrame:
    """Every file a chapter read, wherever it is, with the parameters that named it, size and SHA-256.

    A file is read when a chapter parameter names it, or when it belongs to a release a parameter
    names (a Metapsy release's own ``metadata/search_flow.json`` and ``metadata/last_search.txt``,
    found beside its data file as the chapter finds them). Each file appears once, with every
    ``chapter.parameter`` that led to it.
    """
    from analysis.book.params import defaults as all_defaults
    from analysis.book.params import path_values
    from analysis.review.importers.metapsy import release_file
    from analysis.review.prisma import release_search_flow

    defaults = all_defaults() if defaults is None else defaults
    named: dict[Path, list[str]] = {}

    def add(path, label):
        path = Path(path)
        if path.is_file():
            named.setdefault(path.resolve(), []).append(label)

    for chapter, values in sorted(params.items()):
        release = "psyctr" in values and "search_flow" in values and chapter in defaults
        found, how = (release_search_flow(values["psyctr"], values["search_flow"], defaults[chapter]["psyctr"],
                                          defaults[chapter]["search_flow"], root=ROOT) if release else (None, ""))
        for key, value in sorted(path_values(values).items()):
            if release and key == "search_flow" and how != "named":
                continue  # another release's search flow: the chapter does not read it
            if (ROOT / value).is_file():
                add(ROOT / value, f"{chapter}.{key}")
        if how == "beside":
            add(found, f"{chapter}.search_flow (the release's own, beside {chapter}.psyctr)")
        last = release_file(ROOT / values["psyctr"], "last_search.txt") if release else None
        if last is not None:
            add(last, f"{chapter}.psyctr (its last_search.txt)")
    rows = [{"file": _shown(path), "parameter": ", ".join(labels), "bytes": path.stat().st_size, "sha256": sha256(path)}
            for path, labels in sorted(named.items(), key=lambda kv: _shown(kv[0]))]
    return pd.DataFrame(rows, columns=["file", "parameter", "bytes", "sha256"]).set_index("file")
