"""Execute the chapter notebooks with papermill, deterministically, two at a time; a failure names the notebook and the cell."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat

from analysis.book.guard import write_atomic
from analysis.book.params import ROOT



class BuildError(RuntimeError):
    """A step of the build failed; the message says which and why."""


KEY = "analysis_build_key"  # notebook metadata: the dependency key it was executed under


def executed_key(path: Path) -> str | None:
    """The dependency key recorded in an executed notebook (None if none or unreadable)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh).get("metadata", {}).get(KEY)  # the metadata only: no schema validation
    except Exception:  # a truncated or foreign file is simply not reused
        return None


def tidy_executed(path: Path, key: str | None = None) -> None:
    """Make an executed notebook deterministic and tidy: remove the timestamps and durations
    papermill and the kernel write, give papermill's injected cell a fixed id (it draws a random
    one) and hide it (the reproducibility appendix lists the parameters), and drop the stderr of
    hidden cells (warnings name temporary files that differ from run to run)."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    if key is not None:
        nb.metadata[KEY] = key
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            cell.id = "injected-parameters"
            if "remove-cell" not in tags:
                cell.metadata["tags"] = tags = tags + ["remove-cell"]
        if "remove-cell" in tags and cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    nbformat.write(nb, path)


def execute(notebook: Path, chapter_params: dict, out: Path, key: str | None = None, kernels=None) -> float:
    """Run one notebook with papermill; raise BuildError naming the notebook and cell on failure.

    ``kernels`` is a kernel manager class for papermill (a warm kernel,
    :func:`analysis.book.warm_kernels.kernel_manager_class`); None starts the kernel cold. A kernel
    that does not start is tried once more, cold.
    """
    import papermill as pm

    start = time.perf_counter()
    try:
        for attempt in (1, 2):
            options = {} if kernels is None or attempt == 2 else {"kernel_manager_class": kernels}
            try:
                pm.execute_notebook(
                    str(notebook),
                    str(out),
                    parameters=chapter_params,
                    cwd=str(ROOT),
                    kernel_name="python3",
                    progress_bar=False,
                    log_output=False,
                    # the kernel's own log (TCP without encryption, KeyboardInterrupt at shutdown) is noise here
                    extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
                    **options,
                )
                break
            except pm.PapermillExecutionError:
                raise
            except Exception as err:  # the kernel did not start (e.g. a port taken meanwhile): try once more
                if attempt == 2:
                    raise BuildError(f"{notebook.relative_to(ROOT)}: the kernel failed: {err!r}") from None
    except pm.PapermillExecutionError as err:
        executed = nbformat.read(out, as_version=4)
        injected = sum(
            "injected-parameters" in c.metadata.get("tags", []) for c in executed.cells[: err.cell_index]
        )
        source_line = executed.cells[err.cell_index].source.strip().splitlines()[0][:100]
        raise BuildError(
            f"{notebook.relative_to(ROOT)}: cell {err.cell_index - injected} (counting from 0 in the committed "
            f"notebook; it begins `{source_line}`) failed\n"
            f"{err.ename}: {err.evalue}\nThe executed copy with the error marked: {out}"
        ) from None
    tidy_executed(out, key)
    return time.perf_counter() - start


def largest_first(notebooks) -> list[Path]:
    """The notebooks, largest file first (ties in the given order): a notebook's size is the proxy
    for how long it runs (the chapters with the most analyses, tables and figures are the largest),
    so that a long chapter does not start last and leave the other core idle."""
    return sorted(notebooks, key=lambda nb: -nb.stat().st_size)


def run_notebooks(jobs: dict, executed_dir: Path, keys: dict | None = None, kernels=None) -> None:
    """Execute the notebooks two at a time (one per core), largest first (:func:`largest_first`),
    one line each; raise on any failure. A notebook's key is written (atomically) only once it has
    run through. ``kernels``: a kernel manager class (:mod:`analysis.book.warm_kernels`), or None
    for cold kernels."""
    keys = keys or {}
    failures = []
    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
        futures = {pool.submit(execute, nb, jobs[nb], executed_dir / nb.name, keys.get(nb.stem), kernels): nb
                   for nb in largest_first(jobs)}
        for future in as_completed(futures):
            nb = futures[future]
            try:
                print(f"  {nb.relative_to(ROOT)}: {future.result():.1f} s", flush=True)
                if nb.stem in keys:
                    write_atomic(executed_dir / f"{nb.stem}.key", keys[nb.stem])
            except BuildError as err:
                (executed_dir / f"{nb.stem}.key").unlink(missing_ok=True)
                failures.append(str(err))
                print(f"  {nb.relative_to(ROOT)}: FAILED", flush=True)
    if failures:
        raise BuildError("\n\n".join(failures))
