"""Results several chapters share, computed once per build and cached by content.

The Summary of Findings, the abstract and the claims register show the SSRI, CBT, PST and
network results their own chapters compute; each chapter runs in its own kernel, so without a
cache the build fits them up to four times. A function decorated with :func:`shared` is, while a
build has set :data:`ENV` to a folder (:func:`shared_results`), computed once per distinct
argument value: the first kernel to call it computes and stores the result (a pickle, written
atomically), a kernel that calls it meanwhile waits on the same lock and reads it. The key is the
function, every argument by value, and every file an argument names by its path and its
content, so nothing is reused across different inputs; the folder lives in the build's staging
folder and goes with it, so code changes never meet an old entry. Warnings raised while computing
are recorded and raised again on every call, so a chapter's output does not depend on whether
it computed or read. Outside a build (the package as a library, the tests) nothing is cached.

joblib's ``Memory`` was the ecosystem candidate; it hashes a path argument as a string, not the
file it names, and has no lock for two processes computing the same entry at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import pickle
import sys
import tempfile
import warnings
from pathlib import Path

ENV = "ANALYSIS_SHARED_RESULTS"


class _NotKeyable(Exception):
    """An argument without a stable value digest (the call is then not cached)."""


def _is(value, module: str, name: str) -> bool:
    """isinstance without importing ``module`` (an instance of its class implies it is imported)."""
    return module in sys.modules and isinstance(value, getattr(sys.modules[module], name))


def _digest(value, h) -> None:
    """Feed a canonical encoding of ``value`` to the hash ``h``."""
    if value is None or isinstance(value, (bool, int, float, complex)):
        h.update(repr((type(value).__name__, value)).encode())
    elif isinstance(value, (str, Path)):
        h.update(b"path:" if isinstance(value, Path) else b"str:")
        h.update(str(value).encode() + b"\0")
        path = Path(value)
        try:
            if path.is_file():
                h.update(hashlib.sha256(path.read_bytes()).digest())
            elif path.is_dir():
                for child in sorted(p for p in path.rglob("*") if p.is_file()):
                    h.update(str(child.relative_to(path)).encode() + hashlib.sha256(child.read_bytes()).digest())
        except (OSError, ValueError):  # not a path after all (too long, bad characters)
            pass
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[{len(value)}]".encode())
        for item in value:
            _digest(item, h)
    elif isinstance(value, dict):
        h.update(f"dict[{len(value)}]".encode())
        for k in sorted(value, key=repr):
            _digest(k, h)
            _digest(value[k], h)
    elif _is(value, "pandas", "DataFrame"):
        import pandas as pd

        h.update(repr((list(value.columns), [str(t) for t in value.dtypes], value.shape)).encode())
        h.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif _is(value, "numpy", "ndarray"):
        import numpy as np

        h.update(repr((value.dtype.str, value.shape)).encode())
        h.update(np.ascontiguousarray(value).tobytes())
    else:
        raise _NotKeyable(type(value).__name__)


def call_key(func, args, kwargs) -> str:
    """The cache key of ``func(*args, **kwargs)``: its qualified name and every argument by value."""
    h = hashlib.sha256(f"{func.__module__}.{func.__qualname__}".encode())
    _digest(list(args), h)
    _digest(dict(kwargs), h)
    return h.hexdigest()[:32]


def _distinct(caught) -> list:
    """The recorded warnings, each (category, text, place) once, as the default filter shows them."""
    seen, out = set(), []
    for w in caught:
        mark = (w.category, str(w.message), w.filename, w.lineno)
        if mark not in seen:
            seen.add(mark)
            out.append(warnings.WarningMessage(w.message, w.category, w.filename, w.lineno))
    return out


def _replay(caught) -> None:
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def shared(func=None, *, reads_file: bool = False):
    """Decorator: cache ``func``'s result by content while a build shares results (:data:`ENV`).

    ``reads_file``: ``func`` reads the file its first argument names and its result does not depend
    on how the name is spelt (a reader of a data format), so the key takes the file by its resolved
    path and content: ``data/x.csv`` from one chapter and ``/repo/data/x.csv`` from another share
    one entry (the function is still called with the name as given, so errors name it so)."""
    if func is None:
        return functools.partial(shared, reads_file=reads_file)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        folder = os.environ.get(ENV)
        if not folder:
            return func(*args, **kwargs)
        try:
            key_args = args
            if reads_file and args and Path(args[0]).is_file():
                key_args = (str(Path(args[0]).resolve()), *args[1:])
            key = call_key(func, key_args, kwargs)
        except _NotKeyable:
            return func(*args, **kwargs)
        path = Path(folder) / f"{func.__module__}.{func.__qualname__}.{key}.pickle"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one computes; the others wait here, then read
            if path.is_file():
                with open(path, "rb") as fh:  # written by this build, in its own staging folder
                    result, caught = pickle.load(fh)
            else:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    result = func(*args, **kwargs)
                caught = _distinct(caught)
                try:
                    payload = pickle.dumps((result, caught), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # not picklable: computed each time, as without a cache
                    payload = None
                if payload is not None:
                    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(payload)
                    os.replace(tmp, path)
        _replay(caught)
        return result

    return wrapper


@contextlib.contextmanager
def shared_results(folder: Path):
    """Share :func:`shared` results through ``folder`` for the duration (kernels inherit the setting)."""
    before = os.environ.get(ENV)
    os.environ[ENV] = str(folder)
    try:
        yield Path(folder)
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before
