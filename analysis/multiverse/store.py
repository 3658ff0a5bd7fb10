"""The multiverse's results as Parquet under a folder, keyed so that a rerun with nothing changed
reuses them.

The key hashes what the result depends on, as the notebooks' dependency keys do: the grid file,
the data files it names, every source file of the ``analysis`` package, the lock file, and which
grids were run. A folder holds ``specifications.parquet`` and ``run.json`` (the key, the number of
specifications, the hash of the rows, the seconds and workers of the run that made them).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from analysis.multiverse.data import READ_OPTIONS, resolve
from analysis.multiverse.grid import read_grid
from analysis.multiverse.run import RunResult, frame_hash, run

PACKAGE = Path(__file__).resolve().parents[1]  # analysis/
LOCK = PACKAGE.parent / "requirements.lock"
TABLE, META = "specifications.parquet", "run.json"


def data_paths(grid_path, root=".", only=None, data: dict | None = None) -> dict:
    """grid name -> {data key: path} after ``data`` overrides, as :func:`run` resolves them."""
    grids = read_grid(grid_path, root=root, only=only)
    return {name: resolve(g, (data or {}).get(name), root) for name, g in grids.items()}


def cache_key(grid_path, root=".", only=None, data: dict | None = None, budget: int | None = None,
              seed: int = 2020) -> str:
    """sha256 of the grid file, its data files, the analysis package's source, the lock file, the
    grids run and the sampling budget and seed."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"budget": budget, "seed": seed}).encode())

    def add(path: Path, name: str) -> None:
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes())

    add(Path(grid_path), "grid")
    digest.update(json.dumps(sorted(only) if only else None).encode())
    for grid, paths in sorted(data_paths(grid_path, root, only, data).items()):
        for key, path in sorted(paths.items()):
            if key in READ_OPTIONS:
                digest.update(json.dumps([f"{grid}.{key}", path]).encode())
            else:
                add(Path(path), f"{grid}.{key}")
    for path in sorted(PACKAGE.rglob("*.py")):
        add(path, str(path.relative_to(PACKAGE)))
    if LOCK.is_file():
        add(LOCK, "requirements.lock")
    return digest.hexdigest()


def save(result: RunResult, folder: Path, key: str | None = None) -> Path:
    """Write ``specifications.parquet`` and then ``run.json`` into ``folder``, each file replaced
    atomically (other files in the folder are left alone)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META).unlink(missing_ok=True)  # no stale key beside a new table
    for name, write in ((TABLE, lambda p: result.frame.to_parquet(p, index=False, engine="pyarrow")),
                        (META, lambda p: p.write_text(json.dumps({**result.summary(), "key": key}, indent=1)))):
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        os.close(fd)
        os.chmod(tmp, 0o644)
        write(Path(tmp))
        os.replace(tmp, folder / name)
    return folder


def load(folder: Path) -> tuple[RunResult, dict]:
    """The stored result and its ``run.json``; the hash is recomputed from the rows read back."""
    folder = Path(folder)
    meta = json.loads((folder / META).read_text())
    frame = pd.read_parquet(folder / TABLE, engine="pyarrow")
    return RunResult(frame, frame_hash(frame), float(meta["seconds"]), int(meta["workers"]), meta.get("sampled", {})), meta


def cached_run(grid_path, folder, *, root=".", only=None, data=None, force: bool = False, **run_options):
    """The stored result in ``folder`` when its key matches, else a fresh :func:`run` stored there.

    Returns
    -------
    (RunResult, bool)
        The result and whether it was reused.
    """
    folder = Path(folder)
    key = cache_key(grid_path, root, only, data, run_options.get("budget"), run_options.get("seed", 2020))
    if not force and (folder / TABLE).is_file() and (folder / META).is_file():
        result, meta = load(folder)
        if meta.get("key") == key and meta.get("hash") == result.hash:
            return result, True
    start = time.perf_counter()
    result = run(grid_path, only=only, data=data, root=root, **run_options)
    result = RunResult(result.frame, result.hash, time.perf_counter() - start, result.workers, result.sampled)
    save(result, folder, key)
    return result, False


def keyed_folder(base, grid_path, root=".", only=None, data=None, budget: int | None = None, seed: int = 2020) -> Path:
    """``base/<first 16 hex digits of the key>``: one folder per distinct input."""
    return Path(base) / cache_key(grid_path, root, only, data, budget, seed)[:16]
