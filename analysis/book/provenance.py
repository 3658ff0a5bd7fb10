"""What a build was made from: environment, parameters and input-file hashes."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

from analysis.book.params import ROOT

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
        {"chapter": chapter, "parameter": key, "value": repr(value)}
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
