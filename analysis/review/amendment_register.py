"""The register of amendments: each choice made after the first results were seen, what it
changed, why, and how the book reports it, dated from version control.

The amendment log (:mod:`analysis.review.amendments`) lists every commit that touched a protocol
file; this register names the choices, made in those files or in others, that a reader must weigh.
Each entry is dated by the first commit that put its ``marker`` into its ``path`` (``git log -S``),
and set against the first commit of the chapter whose results it answers, so "after the first
results" is read from the history, not typed. A choice revised later names its revisions (``revised``), each dated the
same way. A marker that is in the working tree of a checkout but in no commit yet is dated as not
yet committed: it comes after every commit, the first results among them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.review.amendments import run_git, first_change
from analysis.review.amendment_entries import AMENDMENTS


COLUMNS = ["amendment", "dated", "first results", "changed", "why", "reported as"]
UNCOMMITTED = "not yet committed (in the working tree)"


def dated_change(root: str | Path, path: str, marker: str) -> dict | None:
    """When ``marker`` was first put into ``path``: :func:`~analysis.review.amendments.first_change`,
    else, in a git checkout whose working tree has the marker in that file, ``{"date": None,
    "commit": None, "change": UNCOMMITTED}``; None when neither (not a checkout, or no such marker)."""
    change = first_change(root, path, marker)
    if change is not None:
        return change
    file = Path(root) / path
    if run_git(Path(root), "rev-parse", "--is-inside-work-tree") is None or not file.is_file():
        return None
    if marker in file.read_text(encoding="utf-8", errors="replace"):
        return {"date": None, "commit": None, "change": UNCOMMITTED}
    return None


def _stamp(change: dict) -> str:
    return UNCOMMITTED if change["commit"] is None else f"{change['date']} ({change['commit']})"


def _when(change: dict | None, revisions=()) -> str:
    """``2026-11-23 (37ecec0); revised 2026-12-05 (564c189)``, or why it cannot be dated."""
    if change is None:
        return "not in this copy's history"
    later = ["revised " + ("(not in this copy's history)" if r is None else _stamp(r)) for r in revisions]
    return "; ".join([_stamp(change), *later])


def after_first_results(change: dict | None, results: dict | None, root=None) -> str:
    """``"after"``, ``"before"`` or ``"with"`` (one commit): the amendment's commit against the first
    results' (by the history where ``root`` is a checkout holding both, so that one day's commits
    are ordered; else by date, ``"same day"`` when the dates are equal); ``"after"`` for a change not
    yet committed (:func:`dated_change`); ``"unknown"`` when either is not in the history."""
    if change is None or results is None:
        return "unknown"
    if change["commit"] is None:
        return "after"
    if change["commit"] == results["commit"]:
        return "with"
    if root is not None:
        if run_git(Path(root), "merge-base", "--is-ancestor", results["commit"], change["commit"]) is not None:
            return "after"
        if run_git(Path(root), "merge-base", "--is-ancestor", change["commit"], results["commit"]) is not None:
            return "before"
    if change["date"] == results["date"]:
        return "same day"
    return "after" if change["date"] > results["date"] else "before"


RELATIVE = {"after": "after", "same day": "on the same day as", "before": "before", "with": "with"}


def _relative(when: str, chapter: str, results: dict | None) -> str:
    """``after the first results of cbt-control (2026-11-21, cb3e5b6)``, or why it cannot be said."""
    if when == "unknown":
        return "cannot be dated in this copy"
    return f"{RELATIVE[when]} the first results of {Path(chapter).stem} ({results['date']}, {results['commit']})"


def _position(root, change: dict | None) -> tuple:
    """Sort key of a change: committed ones by date, then by depth in the history (commits before
    it), so that one day's amendments come in the order they were made; then those not yet
    committed; undated changes last."""
    if change is None:
        return (2, "", 0)
    if change["commit"] is None:
        return (1, "", 0)
    depth = run_git(Path(root), "rev-list", "--count", change["commit"])
    return (0, change["date"], int(depth) if depth and depth.strip().isdigit() else 0)


def amendment_register(root: str | Path, amendments=AMENDMENTS) -> pd.DataFrame:
    """One row per amendment, dated from the history of ``root`` (see the module docstring), oldest first."""
    rows = []
    for a in amendments:
        change = dated_change(root, a.path, a.marker)
        revisions = [dated_change(root, path, marker) for path, marker in a.revised]
        results = first_change(root, a.results)
        rows.append({"amendment": a.title, "dated": _when(change, revisions),
                     "first results": _relative(after_first_results(change, results, root), a.results, results),
                     "_order": _position(root, change),
                     "changed": a.changed, "why": a.why, "reported as": a.reported})
    frame = pd.DataFrame(rows).sort_values("_order", kind="stable")
    return frame[COLUMNS].reset_index(drop=True)
