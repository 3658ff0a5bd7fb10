"""Publish a finished build in one atomic step, so that at every instant there is a complete book.

Layout of the build folder::

    _build/releases/<id>/{html,pdf,notebooks,results.csv,...}   one complete build each
    _build/current -> releases/<id>                              the last good build
    _build/html -> current/html, _build/pdf -> current/pdf, ...  stable paths (symlinks)

A build moves its outputs into a new ``releases/<id>`` (invisible until switched), then
:func:`publish` points ``current`` at it with one ``os.replace`` of a temporary symlink: the
atomic step. A kill before it leaves the last good book current; a kill after it leaves the new
one. Old releases are removed afterwards; a leftover of an interrupted publish (a release that
is not current, a temporary link) is removed by the next one. The release id is the build's
key, so two builds of the same inputs lay out byte-identical folders.

A build folder of the older layout (real folders ``_build/html`` ...) is converted on the first
publish (:func:`migrate`): its outputs become ``releases/legacy`` (hard links), and each real folder
is exchanged with its symlink in one ``renameat2(RENAME_EXCHANGE)``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path

RELEASES = "releases"
CURRENT = "current"
_TMP_PREFIX = ".tmp-"


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False if unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    return False


def _link(build_dir: Path, name: str, target: str) -> None:
    """Make ``build_dir/name`` a symlink to ``target``, replacing what is there atomically."""
    dest = build_dir / name
    if dest.is_symlink() and os.readlink(dest) == target:
        return
    tmp = build_dir / f"{_TMP_PREFIX}link-{name}"
    _remove(tmp)
    os.symlink(target, tmp)
    if dest.is_dir() and not dest.is_symlink():  # the older layout: a real folder
        if not _exchange(tmp, dest):  # no renameat2: a moment without the folder, once
            old = build_dir / f"{_TMP_PREFIX}old-{name}"
            _remove(old)
            os.rename(dest, old)
            os.replace(tmp, dest)
            tmp = old
        _remove(tmp)  # now the old real folder
    else:
        os.replace(tmp, dest)


def current_release(build_dir: Path) -> Path | None:
    link = Path(build_dir) / CURRENT
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def new_release(build_dir: Path, key: str) -> Path:
    """A fresh, empty release folder named after the build's key (a suffix if that name is taken)."""
    releases = Path(build_dir) / RELEASES
    releases.mkdir(parents=True, exist_ok=True)
    base = (key or "build")[:16]
    release, n = releases / base, 1
    current = current_release(build_dir)
    while release.exists():
        if release != current:  # a leftover of an interrupted build
            _remove(release)
            continue
        release, n = releases / f"{base}-{n}", n + 1
    release.mkdir()
    return release


def publish(staging: Path, build_dir: Path, names, key: str = "") -> Path:
    """Move ``names`` from ``staging`` into a new release and make it current in one atomic step.

    What staging lacks but the current release has (a PDF, when this build made only HTML) is
    carried over, so that the stable paths keep working.

    Returns
    -------
    Path
        The new release folder.
    """
    build_dir = Path(build_dir)
    migrate(build_dir, names)
    previous = current_release(build_dir)
    release = new_release(build_dir, key)
    for name in names:
        if (staging / name).exists():
            os.rename(staging / name, release / name)
        elif previous is not None and (previous / name).exists():
            source = previous / name
            shutil.copytree(source, release / name) if source.is_dir() else shutil.copy2(source, release / name)
    # the atomic step: current -> the new release
    _link(build_dir, CURRENT, f"{RELEASES}/{release.name}")
    for name in names:
        if (release / name).exists():
            _link(build_dir, name, f"{CURRENT}/{name}")
    clean(build_dir)
    return release


def _link_copy(source: Path, dest: Path) -> None:
    """Copy a file or a tree as hard links (no extra space), or by copying where links fail."""
    def copy(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    shutil.copytree(source, dest, copy_function=copy, symlinks=True) if source.is_dir() else copy(source, dest)


def migrate(build_dir: Path, names) -> None:
    """Turn a build folder of the older layout (real ``html``, ``notebooks`` ...) into a release
    without ever showing an incomplete book: the old outputs are linked into ``releases/legacy``,
    ``current`` is pointed at it, and each real path is then exchanged for a symlink to the same
    content."""
    real = [name for name in names if (build_dir / name).exists() and not (build_dir / name).is_symlink()]
    if not real:
        return
    if current_release(build_dir) is None:
        legacy = Path(build_dir) / RELEASES / "legacy"
        _remove(legacy)
        legacy.mkdir(parents=True)
        for name in real:
            _link_copy(build_dir / name, legacy / name)
        _link(build_dir, CURRENT, f"{RELEASES}/legacy")
    for name in real:
        if (build_dir / CURRENT / name).exists():
            _link(build_dir, name, f"{CURRENT}/{name}")


def clean(build_dir: Path) -> None:
    """Remove releases that are not current and leftovers of an interrupted publish."""
    build_dir = Path(build_dir)
    current = current_release(build_dir)
    releases = build_dir / RELEASES
    if releases.is_dir():
        for release in releases.iterdir():
            if release.resolve() != current:
                _remove(release)
    for leftover in build_dir.glob(f"{_TMP_PREFIX}*"):
        _remove(leftover)
    for old in build_dir.glob(".old-*"):  # the earlier swap's leftovers
        _remove(old)


def swap(new: Path, dest: Path) -> None:
    """Replace ``dest`` by ``new`` with renames only (same file system); kept for callers of the
    earlier API. The book itself is published with :func:`publish`."""
    old = dest.with_name(f".old-{dest.name}")
    if old.exists():
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    if dest.exists():
        dest.rename(old)
    new.rename(dest)
    if old.exists():
        shutil.rmtree(old) if old.is_dir() else old.unlink()
