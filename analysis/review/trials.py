"""Reading and validating trial tables: every problem named by file, line and column.

A trial table is a CSV with one row per study (or comparison): ``study`` (unique), optional
``year``, ``subgroup``, ``rob`` (``low``/``some``/``high``), ``published``, and the columns of
one measure. Checks are the rules of :mod:`analysis.review.trial_rules`; the file is read with the :mod:`csv` module first so that each row keeps the line
of the file it starts on (quoted fields may span lines).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.safeio import decode, read_bytes
from analysis.review.schemas import LINE
from analysis.review.trial_rules import COLUMNS, check_numbers, check_unique, parse_column

ROB_LEVELS = ("low", "some", "high")


def read_rows(path: str | Path, delimiter: str = ",", decimal: str = ".") -> pd.DataFrame:
    """Read a delimited text file into strings, keeping each record's line number in ``_line``.

    Raises
    ------
    DataError
        A path that is empty or not a regular file (directory, FIFO, device: checked before
        opening), an empty file, undecodable bytes (not UTF-8), NUL bytes, a field over the CSV
        field limit, duplicate column names, a header that shows another delimiter, or rows with
        the wrong number of fields.
    """
    name = str(path)
    text = decode(read_bytes(path, "data file"), name, "data file")  # a regular file, UTF-8, no NUL
    path = Path(path)
    if not text.strip():
        raise DataError([Problem(name, 1, None, "file is empty")])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, lines, problems = [], [], []
    try:
        header = next(reader)
        start = reader.line_num + 1
        for record in reader:
            if any(cell.strip() for cell in record):
                if len(record) != len(header):
                    problems.append(
                        Problem(name, start, None, f"{len(record)} fields where the header has {len(header)}")
                    )
                else:
                    rows.append(record)
                    lines.append(start)
            start = reader.line_num + 1
    except csv.Error as err:  # a field over csv.field_size_limit(), or a malformed quote
        line = reader.line_num or 1
        what = (f"a field longer than {csv.field_size_limit():,} characters (an unclosed quote?)"
                if "field larger" in str(err) else f"not readable as CSV: {err}")
        column = None
        if line > 1 and "header" in locals():  # name the column: the first long field on that line
            fields = text.splitlines()[line - 1].split(delimiter) if line <= text.count("\n") + 1 else []
            long = [i for i, f in enumerate(fields) if len(f) > csv.field_size_limit()]
            if long and long[0] < len(header):
                column = header[long[0]].strip()
        raise DataError([Problem(name, line, column, what)]) from None
    names = [h.strip() for h in header]
    problems = duplicate_columns(names, name) + problems
    if len(header) == 1:
        for other in (";", "\t", ","):
            if other != delimiter and other in header[0]:
                raise DataError(
                    [Problem(name, 1, None, f"header is one column; the file looks '{other}'-separated, expected '{delimiter}'")]
                )
    if problems:
        raise DataError(problems)
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    if decimal != ".":
        frame = frame.apply(lambda col: col.str.replace(decimal, ".", regex=False) if col.dtype == object else col)
    frame[LINE] = lines
    return frame


def duplicate_columns(names: list[str], name: str) -> list[Problem]:
    """Each header name used a second time (pandas would silently make a frame of two columns)."""
    seen: dict[str, int] = {}
    problems = []
    for number, column in enumerate(names, start=1):
        if column in seen:
            problems.append(Problem(name, 1, column or f"#{number}",
                                    f"duplicate column name (columns {seen[column]} and {number}); each column needs its own name"))
        seen.setdefault(column, number)
    return problems


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


#: The column named when a row's effect or its variance cannot be computed, per measure.
EFFECT_COLUMN = {"RR": "treat_events", "OR": "treat_events", "RD": "treat_events", "SMD": "treat_mean", "GEN": "effect"}
VARIANCE_COLUMN = {"RR": "treat_n", "OR": "treat_n", "RD": "treat_n", "SMD": "treat_sd", "GEN": "se"}


def effect_problems(frame: pd.DataFrame, measure: str, name: str) -> list[Problem]:
    """Rows whose effect size is not finite or whose sampling variance is not finite and > 0
    (e.g. an SE of 1e-200 squares to 0, a mean of 1e300 over an SD of 1e-300 gives an infinite
    d): the analysis could not weigh them, so they are refused here, by line."""
    import warnings

    from analysis.meta.effect_sizes import effect_sizes

    if frame.empty:
        return []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yi, vi = effect_sizes(frame, measure)
        except (ValueError, ZeroDivisionError, OverflowError, KeyError) as err:
            return [Problem(name, None, None, f"the {measure} effect sizes cannot be computed: {err}")]
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    problems = []
    for line, y, v in zip(frame[LINE], yi, vi):
        if not np.isfinite(y):
            problems.append(Problem(name, int(line), EFFECT_COLUMN[measure],
                                    f"gives an effect size of {y:g}: the {measure} of this row is not a finite number"))
        elif not (np.isfinite(v) and v > 0):
            problems.append(Problem(name, int(line), VARIANCE_COLUMN[measure],
                                    f"gives a sampling variance of {v:g}: it must be finite and > 0"))
    return problems


def load_trials(path: str | Path, measure: str, min_studies: int = 1) -> pd.DataFrame:
    """Read and validate a trial table (see :func:`validate_trials`)."""
    return validate_trials(read_rows(path), measure, str(path), min_studies)
