"""A user's trial table for the command line: the project's column names or metafor's, read in
bounded memory (numpy arrays, chunks of rows, no pandas), checked by the trial rules.

metafor's names are accepted as ``escalc``/``rma`` take them: ``yi`` with ``vi`` or ``sei``;
``ai, bi, ci, di`` or ``ai, n1i, ci, n2i``; ``m1i, sd1i, n1i, m2i, sd2i, n2i``; ``slab`` for
the study label. ``column_map`` renames others (project name -> the file's name). Rows whose
outcome is missing are dropped with a warning naming their lines, as metafor does; ``strict``
refuses them instead.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from analysis.review.csvfile import records
from analysis.review.errors import DataError, Problem, dropped_rows
from analysis.review.trial_rules import COLUMNS, blank_ids, check_numbers, check_unique, parse_column

METAFOR = {"yi": "effect", "sei": "se", "slab": "study", "ai": "treat_events", "ci": "ctrl_events",
           "n1i": "treat_n", "n2i": "ctrl_n", "m1i": "treat_mean", "sd1i": "treat_sd", "m2i": "ctrl_mean",
           "sd2i": "ctrl_sd"}
DERIVED = {"vi": ("se", "the sampling variance"), "bi": ("treat_n", "non-events"), "di": ("ctrl_n", "non-events")}
CHUNK = 100_000


@dataclass
class Table:
    """The parsed table: the measure's columns and any extra columns, as arrays, with lines."""

    values: dict
    lines: np.ndarray
    studies: list | None
    extra: dict = field(default_factory=dict)
    dropped: list = field(default_factory=list)


def _header(header: list[str], name: str, column_map: dict) -> dict:
    """Map the file's columns to the project's names: index of each project column."""
    names = [h.strip() for h in header]
    dupes = sorted({h for h in names if names.count(h) > 1})
    if dupes:
        raise DataError([Problem(name, 1, d, "duplicate column name") for d in dupes])
    renamed = {old: new for new, old in column_map.items()}
    for old in column_map.values():
        if old not in names:
            raise DataError([Problem(name, 1, old, "column named in --map is missing")])
    index = {}
    for i, h in enumerate(names):
        new = renamed.get(h, h)
        index[METAFOR.get(new, new)] = i
    return index


def _resolve(index: dict, measure: str, name: str) -> dict:
    """Which file column gives each column the measure needs (directly or derived)."""
    plan = {}
    for column in COLUMNS[measure]:
        if column in index:
            plan[column] = ("direct", index[column])
            continue
        source = {"se": "vi", "treat_n": "bi", "ctrl_n": "di"}.get(column)
        if source in index:
            plan[column] = (source, index[source])
        else:
            raise DataError([Problem(name, 1, column, f"required column for {measure} is missing "
                                     "(the project's name or metafor's)")])
    return plan


def read_table(path, measure: str, column_map: dict | None = None, extra=(), keep_labels: bool = True,
               strict: bool = False) -> Table:
    """Read and check a trial table; see the module docstring.

    Raises
    ------
    DataError
        With file, line and column: everything :func:`analysis.review.csvfile.records` refuses,
        missing columns, cells that are not numbers, values out of range or not finite, events
        above n, duplicate study ids, unknown risk-of-bias levels, and (with ``strict``) missing
        outcomes.
    """
    name = str(path)
    header, rows = records(path)
    index = _header(header, name, column_map or {})
    plan = _resolve(index, measure, name)
    extra = list(extra) + (["rob"] if "rob" in index and "rob" not in extra else [])
    for col in extra:
        if col not in index:
            raise DataError([Problem(name, 1, col, "column is missing")])
    table = _read_rows(rows, index, plan, measure, name, extra, keep_labels, strict)
    if "rob" in table.extra:
        _check_rob(table, name)
    return table


def _check_rob(table: Table, name: str) -> None:
    from analysis.review.trial_rules import ROB_LEVELS

    bad = [(line, v) for line, v in zip(table.lines, table.extra["rob"]) if v.lower() not in ROB_LEVELS + ("",)]
    if bad:
        raise DataError([Problem(name, int(line), "rob", f"'{v}' is not one of {', '.join(ROB_LEVELS)}")
                         for line, v in bad[:1000]])


def _parse_chunk(cells: list, lines: np.ndarray, column: str, name: str) -> tuple[np.ndarray, list]:
    """A chunk of cells as floats: numpy's conversion when every cell is a number, else cell by cell."""
    try:
        return np.array(cells, dtype=float), []
    except ValueError:
        return parse_column(cells, lines, column, name)


def _read_rows(rows, index, plan, measure, name, extra, keep_labels, strict) -> Table:
    """Parse the records in chunks: numbers become float arrays at once, so memory stays bounded."""
    parts = {c: [] for c in plan}
    extra_cells = {c: [] for c in extra}
    line_parts, hashes, studies, problems = [], [], [] if keep_labels else None, []
    study_col = index.get("study")
    chunk, chunk_lines = [], []
    for line, record in rows:
        chunk.append(record)
        chunk_lines.append(line)
        if len(chunk) == CHUNK:
            _take(chunk, chunk_lines, plan, parts, extra, extra_cells, index, study_col, line_parts, hashes, studies,
                  problems, name)
            chunk, chunk_lines = [], []
    _take(chunk, chunk_lines, plan, parts, extra, extra_cells, index, study_col, line_parts, hashes, studies,
          problems, name)
    if problems:
        raise DataError(problems[:1000])
    lines = np.concatenate(line_parts) if line_parts else np.zeros(0, np.int64)
    values = {c: np.concatenate(v) if v else np.zeros(0) for c, v in parts.items()}
    values = _derive(values, plan, lines, name)
    return _finish(values, lines, studies, np.concatenate(hashes) if hashes else np.zeros(0, np.int64),
                   extra_cells, measure, name, strict)


def _take(chunk, chunk_lines, plan, parts, extra, extra_cells, index, study_col, line_parts, hashes, studies,
          problems, name) -> None:
    """Parse one chunk of records into the growing arrays."""
    if not chunk:
        return
    lines = np.asarray(chunk_lines, dtype=np.int64)
    line_parts.append(lines)
    for c, (source, i) in plan.items():
        values, bad = _parse_chunk([r[i] for r in chunk], lines, c if source == "direct" else source, name)
        parts[c].append(values)
        problems += bad
    for c in extra:
        extra_cells[c].extend(r[index[c]].strip() for r in chunk)
    labels = [r[study_col].strip() for r in chunk] if study_col is not None else None
    if labels is not None:
        problems += blank_ids(labels, lines, name) if studies is None else []
        hashes.append(np.fromiter((hash(x) for x in labels), dtype=np.int64, count=len(labels)))
    if studies is not None:
        studies.extend(labels if labels is not None else (str(x) for x in range(len(studies) + 1, len(studies) + len(chunk) + 1)))


def _derive(values, plan, lines, name) -> dict:
    """se from vi, n from events and non-events (metafor's ``vi``, ``bi``, ``di``)."""
    for column, (source, _) in plan.items():
        if source == "vi":
            v = values[column]
            bad = ~np.isnan(v) & ~(v > 0)
            if bad.any():
                raise DataError([Problem(name, int(lines[i]), "vi", f"{v[i]:g} must be > 0") for i in np.flatnonzero(bad)])
            values[column] = np.sqrt(v)
        elif source in ("bi", "di"):
            events = values["treat_events" if source == "bi" else "ctrl_events"]
            values[column] = events + values[column]
    return values


def _duplicates(studies, hashes, lines, name) -> list[Problem]:
    """Duplicate study ids: by name when the labels are kept, else by their hashes (bounded memory)."""
    if studies is not None:
        return check_unique(studies, lines, name)
    if not len(hashes):
        return []
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    later = np.flatnonzero(first[inverse] != np.arange(len(hashes)))
    return [Problem(name, int(lines[i]), "study", f"duplicate study id (first on line {int(lines[first[inverse[i]]])})")
            for i in later[:1000]]


def _finish(values, lines, studies, hashes, extra_cells, measure, name, strict) -> Table:
    missing = np.zeros(len(lines), bool)
    for c in COLUMNS[measure]:
        missing |= np.isnan(values[c])
    problems = check_numbers(values, lines, measure, name, missing_ok=None if strict else missing)
    problems += _duplicates(studies, hashes, lines, name)
    if problems:
        raise DataError(sorted(problems, key=lambda p: (p.line or 0, p.column or ""))[:1000])
    dropped = [int(x) for x in lines[missing]]
    if dropped:
        print(f"warning: {dropped_rows(name, dropped)}", file=sys.stderr)
    keep = ~missing
    extra = {c: np.asarray(v, dtype=object)[keep] for c, v in extra_cells.items()}
    labels = [s for s, k in zip(studies, keep) if k] if studies is not None else None
    return Table({c: v[keep] for c, v in values.items()}, lines[keep], labels, extra, dropped)
