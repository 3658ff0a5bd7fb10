"""Publish a finished build: replace the last good book with renames only."""

from __future__ import annotations

import shutil
from pathlib import Path



def swap(new: Path, dest: Path) -> None:
    """Replace ``dest`` by ``new`` with renames only (same file system), keeping it whole."""
    old = dest.with_name(f".old-{dest.name}")
    if old.exists():
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    if dest.exists():
        dest.rename(old)
    new.rename(dest)
    if old.exists():
        shutil.rmtree(old) if old.is_dir() else old.unlink()
