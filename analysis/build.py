"""The book pipeline: validate every input, execute the notebooks with papermill, build the book.

Everything is built in a staging folder inside the build folder and moved into place only
when every step succeeded, so a failed build leaves the last good book, its results table
and its executed notebooks as they were. ``data/`` is only read.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml

from analysis import changelog
from analysis import params as parameters
from analysis.errors import DataError

ROOT = parameters.ROOT
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib", "favicon.png")
BOOK_DIRS = ("_ext", "_static")  # local Sphinx extension; the book's own CSS


def dataset_readers() -> dict:
    """The reader that validates each kind of dataset a parameter can name (by parameter name).
    Imported here, not at the top, so that a build with nothing to do starts fast."""
    from analysis.claims import read_appraisal, read_claims
    from analysis.grade import read_grade
    from analysis.importers import read_cipriani_arms, read_linde, read_metapsy_psyctr, read_metapsy_response, read_turner
    from analysis.prisma import read_search_flow

    return {
        "appraisal": read_appraisal,
        "cipriani_arms": read_cipriani_arms,
        "linde": read_linde,
        "claims": read_claims,
        "psyctr": read_metapsy_psyctr,
        "response": read_metapsy_response,
        "turner": read_turner,
        "grade": read_grade,
        "search_flow": read_search_flow,
    }


class BuildError(RuntimeError):
    """A step of the build failed; the message says which and why."""


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


def validate_all(override=None) -> dict:
    """Check the parameters and every dataset they name; report all problems together."""
    resolved = parameters.resolve(override)
    validate_datasets(resolved)
    return resolved


def validate_datasets(resolved: dict) -> dict:
    """Validate every dataset the resolved parameters name, and every chapter's selection of
    studies from them; raise one DataError with every problem.

    Returns
    -------
    dict
        The manifest: dataset parameter -> file, sha256, rows and study ids, for the changelog.
    """
    from analysis.provenance import sha256

    problems = []
    readers = dataset_readers()
    frames, manifest, seen = {}, {}, set()
    for chapter, values in resolved.items():
        for key, value in values.items():
            reader = readers.get(key)
            if reader is None or value in seen:
                continue
            seen.add(value)  # each file is read once, whichever chapters name it
            try:
                frames[value] = frame = reader(ROOT / value)
            except DataError as err:
                problems.extend(err.problems)
                continue
            ids = study_ids(frame)
            # a second file under the same parameter (one chapter overridden) is recorded as chapter.parameter
            manifest[key if key not in manifest else f"{chapter}.{key}"] = {
                "file": value,
                "sha256": sha256(ROOT / value),
                "rows": int(len(frame)),
                "studies": sorted(set(map(str, ids))) if ids is not None else [],
            }
    if not problems:
        problems.extend(check_selections(resolved, frames))
    if problems:
        raise DataError(problems)
    return manifest


MIN_STUDIES = 2  # a random-effects model needs at least two studies
ID_COLUMNS = (("Drug", "Study"), ("author", "year", "id"), ("study.es",), ("StudyID",), ("study",), ("claim_id",), ("comparison",), ("source_id",))


def study_ids(frame):
    """The identifiers of the studies (or claims, comparisons, sources) in a validated dataset."""
    if not hasattr(frame, "columns"):  # e.g. a search flow (JSON counts)
        return None
    for columns in ID_COLUMNS:
        if all(c in frame.columns for c in columns):
            return frame[list(columns)].astype(str).agg(" ".join, axis=1)
    return None


def check_selections(resolved: dict, frames: dict) -> list:
    """Run each chapter's selection of studies (e.g. which drug class, which therapy) on the
    validated data, before any notebook runs; a selection that leaves fewer than two studies is
    a problem naming the parameter file, the parameter and the dataset."""
    from analysis.errors import Problem
    from analysis.importers import cipriani_vs_placebo, linde_vs_placebo, metapsy_comparisons, metapsy_response, turner_trials

    selections = {
        "ssri-placebo": [
            ("active_class", "cipriani_arms", lambda p, f: cipriani_vs_placebo(f, p["active_class"], name=p["cipriani_arms"])),
            ("linde", "linde", lambda p, f: linde_vs_placebo(f, "SSRI", name=p["linde"])),
        ],
        "cbt-control": [
            ("therapy", "psyctr", lambda p, f: metapsy_comparisons(f, p["therapy"], low_rob_items=p["low_rob_items"],
                                                                   name=p["psyctr"], require_rob=True)),
            ("pst_label", "response", lambda p, f: metapsy_response(f, p["pst_label"], name=p["response"])),
            ("cbt_label", "response", lambda p, f: metapsy_response(f, p["cbt_label"], name=p["response"])),
        ],
        "summary-of-findings": [
            ("psyctr", "psyctr", lambda p, f: metapsy_comparisons(f, "cbt", name=p["psyctr"], require_rob=True)),
            ("pst_label", "response", lambda p, f: metapsy_response(f, p["pst_label"], name=p["response"])),
        ],
        "publication-bias": [
            ("turner", "turner", lambda p, f: turner_trials(f, "fda", name=p["turner"])),
            ("turner", "turner", lambda p, f: turner_trials(f, "journal", name=p["turner"])),
        ],
    }
    problems = []
    for chapter, checks in selections.items():
        params = resolved.get(chapter, {})
        for parameter, dataset, select in checks:
            try:
                k = len(select(params, frames[params[dataset]]))
            except DataError as err:
                problems.extend(err.problems)
                continue
            if k < MIN_STUDIES:
                problems.append(
                    Problem(params[dataset], None, f"{chapter}.{parameter}",
                            f"the selection {parameter}={params[parameter]!r} leaves {k} studies; at least {MIN_STUDIES} are needed")
                )
    return problems


def tidy_executed(path: Path) -> None:
    """Make an executed notebook deterministic and tidy: remove the timestamps and durations
    papermill and the kernel write, give papermill's injected cell a fixed id (it draws a random
    one) and hide it (the reproducibility appendix lists the parameters), and drop the stderr of
    hidden cells (warnings name temporary files that differ from run to run)."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
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


def execute(notebook: Path, chapter_params: dict, out: Path) -> float:
    """Run one notebook with papermill; raise BuildError naming the notebook and cell on failure."""
    import papermill as pm

    start = time.perf_counter()
    try:
        for attempt in (1, 2):
            try:
                pm.execute_notebook(
                    str(notebook),
                    str(out),
                    parameters=chapter_params,
                    cwd=str(ROOT),
                    kernel_name="python3",
                    progress_bar=False,
                    log_output=False,
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
    tidy_executed(out)
    return time.perf_counter() - start


def source_date_epoch() -> str:
    """The date stamped into the PDF: the last commit's time, so that two builds of the same
    commit are byte-identical (a fixed date outside a git checkout)."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip().isdigit():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "1767225600"  # 2026-01-01T00:00:00Z


def dependency_key(notebook: Path, chapter_params: dict) -> str:
    """Hash of everything a chapter's executed copy depends on: the notebook, its parameters,
    every file or folder a parameter names, the analysis package and the locked environment."""
    digest = hashlib.sha256()

    def add_file(path: Path) -> None:
        digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).encode())
        digest.update(path.read_bytes())

    add_file(notebook)
    digest.update(json.dumps(chapter_params, sort_keys=True).encode())
    for value in chapter_params.values():
        if isinstance(value, str) and value and (ROOT / value).exists() and (ROOT / value).resolve() != ROOT:
            target = ROOT / value
            for path in sorted(target.rglob("*")) if target.is_dir() else [target]:
                if path.is_file():
                    add_file(path)
    for path in sorted((ROOT / "analysis").glob("*.py")):
        add_file(path)
    add_file(ROOT / "requirements.lock")
    return digest.hexdigest()


def add_downloads(executed: Path, book: Path, chapter_params: dict, chapter_rows: list[dict]) -> None:
    """Stage a chapter for the book with a closing "Downloads" section that links the exact data
    files it read and the table of values it glued (CSV)."""
    folder = book / "downloads" / executed.stem
    folder.mkdir(parents=True, exist_ok=True)
    links = []
    for key, value in sorted(chapter_params.items()):
        path = ROOT / value if isinstance(value, str) and value else None
        if path is not None and path.is_file() and parameters.is_path_parameter(parameters.defaults()[executed.stem][key]):
            shutil.copy2(path, folder / path.name)
            links.append(f"- {key}: {{download}}`{path.name} <../downloads/{executed.stem}/{path.name}>`")
    with open(folder / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["key", "value", "chapter"])
        writer.writeheader()
        writer.writerows(chapter_rows)
    links.append(f"- every value in this chapter's text: {{download}}`results.csv <../downloads/{executed.stem}/results.csv>`")
    nb = nbformat.read(executed, as_version=4)
    cell = nbformat.v4.new_markdown_cell("## Downloads\n\nThe exact files this chapter read and the values it computed (CSV).\n\n" + "\n".join(links))
    cell.id = "downloads"
    nb.cells.append(cell)
    nbformat.write(nb, book / "chapters" / executed.name)


def glued_values(executed: Path) -> list[dict]:
    """Every value a notebook glued (myst-nb ``glue``), as rows of key, value, chapter."""
    nb = nbformat.read(executed, as_version=4)
    rows = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                prefix = output["metadata"]["scrapbook"].get("mime_prefix", "")
                data = {k[len(prefix) :]: v for k, v in output.get("data", {}).items()}
                if "image/png" in data or "text/html" in data:
                    continue  # figures and tables; the numbers they show are glued one by one too
                value = data.get("text/plain", "")
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                rows.append({"key": name, "value": value, "chapter": executed.stem})
    return rows


def run_jupyter_book(book: Path, out: Path, builder: str) -> None:
    cmd = [
        str(Path(sys.executable).parent / "jupyter-book"),
        "build", str(book), "--path-output", str(out), "--builder", builder, "-W", "-n", "--keep-going",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        log = (proc.stdout + proc.stderr)[-4000:]
        raise BuildError(f"jupyter-book {builder} build failed:\n{log}")


def _swap(new: Path, dest: Path) -> None:
    """Replace ``dest`` by ``new`` with renames only (same file system), keeping it whole."""
    old = dest.with_name(f".old-{dest.name}")
    if old.exists():
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    if dest.exists():
        dest.rename(old)
    new.rename(dest)
    if old.exists():
        shutil.rmtree(old) if old.is_dir() else old.unlink()


def build(override=None, pdf: bool = False, build_dir: Path | None = None) -> dict:
    """Validate, execute every chapter notebook, build the HTML (and PDF) book, then swap it in.

    Returns
    -------
    dict
        Paths of the HTML index, the PDF and the results table.
    """
    build_dir = Path(build_dir or ROOT / "_build")
    build_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SOURCE_DATE_EPOCH", source_date_epoch())
    t0 = time.perf_counter()
    resolved = parameters.resolve(override)
    staging = build_dir / ".staging"
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
    executed_dir = staging / "notebooks"
    executed_dir.mkdir()
    rows = []
    try:
        nbs = notebooks()
        previous = build_dir / "notebooks"
        jobs, reused = {}, []
        for nb in nbs:
            chapter_params = dict(resolved.get(nb.stem, {}))
            if nb.stem == "reproducibility":
                chapter_params["params_json"] = json.dumps(resolved, sort_keys=True)
            key = dependency_key(nb, chapter_params)
            cached = previous / nb.name
            if cached.is_file() and (previous / f"{nb.stem}.key").is_file() and (previous / f"{nb.stem}.key").read_text() == key:
                shutil.copy2(cached, executed_dir / nb.name)
                reused.append(nb.stem)
            else:
                jobs[nb] = chapter_params
            (executed_dir / f"{nb.stem}.key").write_text(key)
        print(f"{len(jobs)} notebook(s) to execute, {len(reused)} reused unchanged", flush=True)
        book_key = _book_key(executed_dir, pdf)
        outputs = [build_dir / "html" / "index.html"] + ([build_dir / "pdf" / "book.pdf"] if pdf else [])
        if not jobs and (build_dir / "book.key").is_file() and (build_dir / "book.key").read_text() == book_key and all(
            p.is_file() for p in outputs
        ):
            shutil.rmtree(staging)
            print(f"nothing changed: the book in {build_dir} is up to date ({time.perf_counter() - t0:.1f} s)", flush=True)
            return _outputs(build_dir, pdf)
        (staging / "book.key").write_text(book_key)
        manifest = validate_datasets(resolved)
        print(f"validated parameters and inputs ({time.perf_counter() - t0:.1f} s)", flush=True)
        failures = []
        with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
            futures = {pool.submit(execute, nb, p, executed_dir / nb.name): nb for nb, p in jobs.items()}
            for future in as_completed(futures):
                nb = futures[future]
                try:
                    print(f"  executed {nb.relative_to(ROOT)} in {future.result():.1f} s", flush=True)
                except BuildError as err:
                    (executed_dir / f"{nb.stem}.key").unlink(missing_ok=True)
                    failures.append(str(err))
                    print(f"  FAILED {nb.relative_to(ROOT)}", flush=True)
        print(f"notebooks: {len(jobs) - len(failures)} executed, {len(reused)} reused, {len(failures)} failed", flush=True)
        if failures:
            raise BuildError("\n\n".join(failures))
        for nb in nbs:
            chapter_rows = glued_values(executed_dir / nb.name)
            rows.extend(chapter_rows)
            add_downloads(executed_dir / nb.name, book, resolved.get(nb.stem, {}), chapter_rows)
        with open(staging / "results.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["key", "value", "chapter"])
            writer.writeheader()
            writer.writerows(rows)
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
            print(f"since the last good build: {len(diff['values'])} values changed, {len(diff['flipped'])} conclusions flipped", flush=True)
        print("building HTML ...", end=" ", flush=True)
        t1 = time.perf_counter()
        run_jupyter_book(book, staging / "out", "html")
        print(f"{time.perf_counter() - t1:.1f} s", flush=True)
        if pdf:
            print("building PDF ...", end=" ", flush=True)
            t1 = time.perf_counter()
            run_jupyter_book(book, staging / "out", "pdflatex")
            pdf_dir = staging / "pdf"
            pdf_dir.mkdir()
            shutil.copy2(staging / "out" / "_build" / "latex" / "book.pdf", pdf_dir / "book.pdf")
            print(f"{time.perf_counter() - t1:.1f} s", flush=True)
    except DataError:
        shutil.rmtree(staging, ignore_errors=True)  # refused before anything ran: leave no trace
        raise
    except BaseException:
        print("failed", flush=True)
        raise
    _swap(staging / "out" / "_build" / "html", build_dir / "html")
    _swap(executed_dir, build_dir / "notebooks")
    _swap(staging / "results.csv", build_dir / "results.csv")
    if pdf:
        _swap(staging / "pdf", build_dir / "pdf")
    _swap(staging / "book.key", build_dir / "book.key")
    _swap(staging / "manifest.json", build_dir / "manifest.json")
    _swap(staging / "changes.json", build_dir / "changes.json")
    shutil.rmtree(staging)
    print(f"done in {time.perf_counter() - t0:.1f} s", flush=True)
    return _outputs(build_dir, pdf)


def _outputs(build_dir: Path, pdf: bool) -> dict:
    result = {"html": build_dir / "html" / "index.html", "results": build_dir / "results.csv"}
    if pdf:
        result["pdf"] = build_dir / "pdf" / "book.pdf"
    return result


def _book_key(executed_dir: Path, pdf: bool) -> str:
    """Hash of what the rendered book depends on beyond the notebooks' own keys."""
    digest = hashlib.sha256(b"pdf" if pdf else b"html")
    for path in sorted(executed_dir.glob("*.key")):
        digest.update(path.read_bytes())
    extra = sorted(p for folder in BOOK_DIRS for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in [ROOT / name for name in BOOK_FILES] + sorted((ROOT / "chapters").glob("*.md")) + extra:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


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
    for key, path in out.items():
        print(f"{key:>8}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0
