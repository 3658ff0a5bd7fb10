"""The book pipeline: validate every input, execute the notebooks with papermill, build the book.

Everything is built in a staging folder inside the build folder and published in one atomic
step only when every step succeeded (:mod:`analysis.book.publish`), so a failed or killed build
leaves the last good book, its results table and its executed notebooks as they were. One build
at a time per build folder (a ``flock`` on ``_build/.lock``). ``data/`` is only read.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from analysis.book import changelog
from analysis.book import params as parameters
from analysis.book.cache import BOOK_DIRS, BOOK_FILES, book_key, dependency_key
from analysis.book.execute import BuildError, executed_key, run_notebooks
from analysis.book.guard import BuildBusy, build_lock, os_error_message, write_atomic
from analysis.book.inputs import validate_all, validate_datasets
from analysis.escape import csv_cell
from analysis.book.publish import clean, publish
from analysis.book.warm_kernels import KernelServer, kernel_manager_class
from analysis.review.shared import shared_results
from analysis.book.render import add_downloads, glued_values, root_icon, run_jupyter_book, source_date_epoch
from analysis.review.errors import DataError

ROOT = parameters.ROOT
PUBLISHED = ("html", "notebooks", "results.csv", "pdf", "book.key", "manifest.json", "changes.json")


def toc_documents() -> list[str]:
    """Book documents in table-of-contents order, as paths without suffix (``chapters/intro``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docs = [toc["root"]]
    for entry in toc.get("chapters", []):
        docs.append(entry["file"])
    for part in toc.get("parts", []):
        docs.extend(e["file"] for e in part["chapters"])
    return docs


def notebooks() -> list[Path]:
    """Chapter notebooks in book order."""
    return [ROOT / f"{d}.ipynb" for d in toc_documents() if (ROOT / f"{d}.ipynb").exists()]


def chapter_parameters(resolved: dict, notebook: Path) -> dict:
    """The parameters papermill injects into one chapter (the appendix also gets all of them)."""
    chapter_params = dict(resolved.get(notebook.stem, {}))
    if notebook.stem == "reproducibility":
        chapter_params["params_json"] = json.dumps(resolved, sort_keys=True)
    return chapter_params


def stage_sources(staging: Path) -> Path:
    """Copy the book's configuration, pages and static folders into a fresh staging folder."""
    if staging.exists():
        shutil.rmtree(staging)
    book = staging / "book"
    (book / "chapters").mkdir(parents=True)
    for name in BOOK_FILES:
        shutil.copy2(ROOT / name, book / name)
    for md in (ROOT / "chapters").glob("*.md"):
        shutil.copy2(md, book / "chapters" / md.name)
    for folder in BOOK_DIRS:
        shutil.copytree(ROOT / folder, book / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (staging / "notebooks").mkdir()
    return book


def plan(resolved: dict, executed_dir: Path, previous: Path) -> tuple[dict, list[str], dict]:
    """Which notebooks must run: a cached executed copy is reused only when its key file AND the
    key recorded inside the notebook (written when it was executed) match this build's key, so a
    notebook executed with other parameters is never reused.

    Returns
    -------
    tuple
        Jobs (notebook -> parameters), the chapters reused, and every chapter's key.
    """
    jobs, reused, keys = {}, [], {}
    for nb in notebooks():
        chapter_params = chapter_parameters(resolved, nb)
        key = keys[nb.stem] = dependency_key(nb, chapter_params)
        cached, cached_key = previous / nb.name, previous / f"{nb.stem}.key"
        if (cached.is_file() and cached_key.is_file() and cached_key.read_text() == key
                and executed_key(cached) == key):
            shutil.copy2(cached, executed_dir / nb.name)
            write_atomic(executed_dir / f"{nb.stem}.key", key)
            reused.append(nb.stem)
        else:
            jobs[nb] = chapter_params
    return jobs, reused, keys


_NOT_FINITE = re.compile(r"(?<![A-Za-z0-9_])[-+]?(nan|inf|NaN|Infinity)(?![A-Za-z0-9_])")


def check_glued(rows: list[dict]) -> None:
    """A NaN or an infinity that would reach the text fails the build, naming the glued key."""
    bad = [r for r in rows if _NOT_FINITE.search(str(r["value"]))]
    if bad:
        raise BuildError("\n".join(
            f"chapters/{r['chapter']}.ipynb: the glued value '{r['key']}' is {str(r['value'])[:80]!r}: "
            "a NaN or an infinity would be printed in the book (check the data and parameters behind it)"
            for r in bad))


def write_results(resolved: dict, staging: Path, book: Path, build_dir: Path, manifest: dict) -> None:
    """Collect the glued values, add the downloads, and write the changelog against the last good build."""
    rows = []
    for nb in notebooks():
        chapter_rows = glued_values(staging / "notebooks" / nb.name)
        check_glued(chapter_rows)
        rows.extend(chapter_rows)
        add_downloads(staging / "notebooks" / nb.name, book, resolved.get(nb.stem, {}), chapter_rows)
    with open(staging / "results.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["key", "value", "chapter"])
        writer.writeheader()
        writer.writerows({**r, "value": csv_cell(r["value"])} for r in rows)
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    previous_results = build_dir / "results.csv"
    diff = changelog.compare(
        changelog.read_results(previous_results),
        changelog.read_results(staging / "results.csv"),
        changelog.read_manifest(build_dir / "manifest.json"),
        manifest,
    )
    (book / "chapters" / "changes.md").write_text(changelog.render(diff, first_build=not previous_results.is_file()))
    (staging / "changes.json").write_text(json.dumps(diff, indent=1))
    if previous_results.is_file():
        print(f"since the last good build: {len(diff['values'])} values changed, "
              f"{len(diff['flipped'])} conclusions flipped", flush=True)


def render(book: Path, staging: Path, pdf: bool) -> None:
    """Build the HTML book (and the PDF) from the staged sources: two independent Sphinx builds,
    each in its own output folder, so they run at once, one per core."""
    steps, t1 = [("html", "HTML")] + ([("pdflatex", "PDF")] if pdf else []), time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        futures = {name: pool.submit(run_jupyter_book, book, staging / f"out-{builder}", builder) for builder, name in steps}
        for name, future in futures.items():
            future.result()
            print(f"  {name}: {time.perf_counter() - t1:.1f} s", flush=True)
    shutil.move(staging / "out-html" / "_build" / "html", staging / "html")
    root_icon(staging / "html", book)
    if pdf:
        (staging / "pdf").mkdir()
        shutil.copy2(staging / "out-pdflatex" / "_build" / "latex" / "book.pdf", staging / "pdf" / "book.pdf")


def build(override=None, pdf: bool = False, build_dir: Path | None = None, warm: bool = True,
          share: bool = True) -> dict:
    """Validate, execute every chapter notebook, build the HTML (and PDF) book, then publish it.

    One build at a time per build folder (:func:`build_lock`); everything is made in
    ``.staging`` and published in one atomic step (:func:`analysis.book.publish.publish`).
    ``warm``: kernels forked from a process that imported what the notebooks import
    (:mod:`analysis.book.kernel_server`); ``share``: results several chapters use computed once
    (:mod:`analysis.review.shared`). Off only to measure what they save (``scripts/bench.py``).

    Returns
    -------
    dict
        Paths of the HTML index, the PDF and the results table.
    """
    build_dir = Path(build_dir or ROOT / "_build")
    os.environ.setdefault("SOURCE_DATE_EPOCH", source_date_epoch())
    resolved = parameters.resolve(override)  # parameters are checked before anything is written
    build_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(build_dir):
        return _build(resolved, pdf, build_dir, warm, share)


def _build(resolved: dict, pdf: bool, build_dir: Path, warm: bool = True, share: bool = True) -> dict:
    t0 = time.perf_counter()
    staging = build_dir / ".staging"
    keep_staging = False
    try:
        clean(build_dir)  # leftovers of an interrupted build
        book = stage_sources(staging)
        jobs, reused, keys = plan(resolved, staging / "notebooks", build_dir / "notebooks")
        key = book_key(keys, pdf)
        if not jobs and _up_to_date(build_dir, key, pdf):
            shutil.rmtree(staging)
            print(f"nothing changed: the book in {build_dir} is up to date ({time.perf_counter() - t0:.1f} s)", flush=True)
            return _outputs(build_dir, pdf)
        (staging / "book.key").write_text(key)
        with contextlib.ExitStack() as stack:  # the kernel server warms up while the inputs are validated
            server = stack.enter_context(KernelServer(list(jobs))) if warm and jobs else None
            if share:  # from here, so that the kernels read the datasets the validation parsed
                stack.enter_context(shared_results(staging / "shared"))
            manifest = validate_datasets(resolved)
            release_memory()  # the datasets read to validate them are not needed while the kernels run
            print(f"validated parameters and inputs; {len(jobs)} notebook(s) to execute, {len(reused)} reused "
                  f"({time.perf_counter() - t0:.1f} s)", flush=True)
            try:
                run_notebooks(jobs, staging / "notebooks", keys, server and kernel_manager_class(server))
            except BuildError:
                keep_staging = True  # the message points at the executed copy with the error marked
                raise
        write_results(resolved, staging, book, build_dir, manifest)
        render(book, staging, pdf)
        publish(staging, build_dir, PUBLISHED, key)
    except BaseException:
        if not keep_staging:
            shutil.rmtree(staging, ignore_errors=True)  # nothing half-written is left
        raise
    shutil.rmtree(staging, ignore_errors=True)
    print(f"done in {time.perf_counter() - t0:.1f} s", flush=True)
    return _outputs(build_dir, pdf)


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc's ``malloc_trim``), so that
    the builder does not hold the memory of a large dataset it has finished validating while the
    notebook kernels read it again."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the memory is reused by the builder instead
        pass


def _up_to_date(build_dir: Path, key: str, pdf: bool) -> bool:
    outputs = [build_dir / "html" / "index.html"] + ([build_dir / "pdf" / "book.pdf"] if pdf else [])
    stamp = build_dir / "book.key"
    return stamp.is_file() and stamp.read_text() == key and all(p.is_file() for p in outputs)


def _outputs(build_dir: Path, pdf: bool) -> dict:
    result = {"html": build_dir / "html" / "index.html", "results": build_dir / "results.csv"}
    if pdf:
        result["pdf"] = build_dir / "pdf" / "book.pdf"
    return result


def main(args) -> int:
    """Entry point of ``python -m analysis build`` and ``python -m analysis validate``."""
    try:
        if args.command == "validate":
            validate_all(args.params)
            print("all parameters and inputs are valid")
            return 0
        out = build(args.params, pdf=args.pdf)
    except DataError as err:
        print(f"error: invalid input; nothing was built and the previous book is unchanged\n{err}", file=sys.stderr)
        return 1
    except BuildError as err:
        print(f"error: build failed; the previous book is unchanged\n{err}", file=sys.stderr)
        return 1
    except BuildBusy as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(os_error_message(err), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; nothing was published and the previous book is unchanged", file=sys.stderr)
        return 130
    for key, path in out.items():
        print(f"{key:>8}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0
