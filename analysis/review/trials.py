"""Reading and validating trial tables: every problem named by file, line and column.

A trial table is a CSV with one row per study (or comparison): ``study`` (unique), optional
``year``, ``subgroup``, ``rob`` (``low``/``some``/``high``), ``published``, and the columns of
one measure. Checks are the rules of :mod:`analysis.review.trial_rules`; the file is read with the :mod:`csv` module first so that each row keeps the line
of the file it starts on (quoted fields may span lines).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.csvfile import records
from analysis.review.schemas import LINE
from analysis.review.trial_rules import COLUMNS, check_numbers, check_unique, parse_column
from analysis.review.trial_rules import effect_problems as rules_effect_problems

from analysis.review.trial_rules import ROB_LEVELS  # noqa: E402


def read_rows(path: str | Path, delimiter: str = ",", decimal: str = ".", drop=()) -> pd.DataFrame:
    """Read a delimited text file (:func:`records`) into strings, keeping each record's line in ``_line``.

    Columns named in ``drop`` are not kept (free text no analysis reads, such as a database's
    abstracts). Short cells are interned (:func:`sys.intern`): a release of 10^5 rows repeats the
    same codes ("NA", "cbt", "1") millions of times, and one object each would take most of the
    memory the table needs.
    """
    names, rows = records(path, delimiter)
    keep = [i for i, name in enumerate(names) if name not in set(drop)]
    whole = len(keep) == len(names)
    intern = sys.intern
    lines, cells = [], []
    for line, record in rows:
        lines.append(line)
        if not whole:
            record = [record[i] for i in keep if i < len(record)]
        cells.append([intern(c) if len(c) < 24 else c for c in record])
    frame = pd.DataFrame(cells, columns=[names[i] for i in keep], dtype=object)
    if decimal != ".":
        frame = frame.apply(lambda col: col.str.replace(decimal, ".", regex=False) if col.dtype == object else col)
    frame[LINE] = lines
    return frame


def validate_trials(frame: pd.DataFrame, measure: str, name: str, min_studies: int = 1) -> pd.DataFrame:
    """Check a table read by :func:`read_rows` against the trial schema for ``measure``
    (the rules of :mod:`analysis.review.trial_rules`).

    Returns
    -------
    DataFrame
        Numeric columns as floats, ``study`` stripped, ``year`` numeric, ``rob`` lower case,
        ``_line`` kept.

    Raises
    ------
    DataError
        Every problem at once: missing columns (with a hint when only the case or spacing
        differs), cells that are not numbers, values out of range or not finite, events above
        n, duplicate study ids, unknown risk-of-bias levels, fewer studies than needed.
    """
    missing = [c for c in ("study",) + COLUMNS[measure] if c not in frame.columns]
    if missing:
        near = {c.lower().replace(" ", "_"): c for c in frame.columns}
        raise DataError([Problem(name, 1, c, f"required column for {measure} is missing"
                                 + (f" (found '{near[c]}': rename it)" if c in near else "")) for c in missing])
    frame = frame.copy()
    frame["study"] = frame["study"].astype(str).str.strip()
    lines = frame[LINE].to_numpy()
    problems, values = [], {}
    for column in COLUMNS[measure]:
        values[column], bad = parse_column(frame[column].tolist(), lines, column, name)
        problems += bad
        frame[column] = values[column]
    unparsed = {(p.line, p.column) for p in problems}
    problems += [p for p in check_numbers(values, lines, measure, name) if (p.line, p.column) not in unparsed]
    problems += check_unique(frame["study"], lines, name)
    if "year" in frame.columns:
        frame["year"] = pd.to_numeric(frame["year"], errors="coerce")
    if "rob" in frame.columns:
        rob = frame["rob"].astype(str).str.strip().str.lower()
        bad = ~rob.isin(ROB_LEVELS) & (rob != "")
        for line, val in zip(frame.loc[bad, LINE], frame.loc[bad, "rob"]):
            problems.append(Problem(name, int(line), "rob", f"'{val}' is not one of {', '.join(ROB_LEVELS)}"))
        frame["rob"] = rob
    if problems:
        raise DataError(sorted(problems, key=lambda p: (p.line or 0, p.column or "")))
    problems = effect_problems(frame, measure, name)
    if problems:
        raise DataError(problems)
    if len(frame) < min_studies:
        raise DataError([Problem(name, None, None, f"{len(frame)} studies; this analysis needs at least {min_studies}")])
    return frame.reset_index(drop=True)


def effect_problems(frame: pd.DataFrame, measure: str, name: str) -> list[Problem]:
    """Rows whose effect size or sampling variance cannot be used (:func:`analysis.review.trial_rules.effect_problems`)."""
    if frame.empty:
        return []
    columns = {c: frame[c].to_numpy(dtype=float) for c in COLUMNS[measure]}
    return rules_effect_problems(columns, frame[LINE].to_numpy(), measure, name)


def load_trials(path: str | Path, measure: str, min_studies: int = 1) -> pd.DataFrame:
    """Read and validate a trial table (see :func:`validate_trials`)."""
    return validate_trials(read_rows(path), measure, str(path), min_studies)
