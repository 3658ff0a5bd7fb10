"""Guards of the build folder: one build at a time (a lock), atomic writes, and one-line messages
when the file system refuses a write (full disk, read-only folder)."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path


class BuildBusy(RuntimeError):
    """Another build holds the lock of the build folder."""


@contextlib.contextmanager
def build_lock(build_dir: Path, wait: bool = True):
    """Hold ``build_dir/.lock`` (``fcntl.flock``) for the whole build: a second build in the same
    checkout says so and waits (or, with ``wait=False``, raises :class:`BuildBusy`)."""
    import fcntl

    with open(Path(build_dir) / ".lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise BuildBusy(f"another build is running in {build_dir}; try again when it has finished") from None
            print(f"another build is running in {build_dir}; waiting for it to finish ...", file=sys.stderr, flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that no reader ever sees it half-written (a temporary file, then os.replace)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def os_error_message(err: OSError, build_dir: Path | None = None) -> str:
    """One line saying what to free or fix when the file system refuses a write."""
    where = err.filename or build_dir or "_build"
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"error: no space left on the device while writing {where}: free some space there (or remove "
                f"old builds) and build again; nothing was published and the previous book is unchanged")
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"error: cannot write {where} ({err.strerror}): make the build folder writable (or remove it) "
                f"and build again; the previous book is unchanged")
    return f"error: {err.strerror or err} ({where}); nothing was published and the previous book is unchanged"
