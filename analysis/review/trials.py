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

import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.schemas import LINE
from analysis.review.trial_rules import COLUMNS, check_numbers, check_unique, parse_column

ROB_LEVELS = ("low", "some", "high")


def read_rows(path: str | Path, delimiter: str = ",", decimal: str = ".") -> pd.DataFrame:
    """Read a delimited text file into strings, keeping each record's line number in ``_line``.

    Raises
    ------
    DataError
        Missing or empty file, undecodable bytes (not UTF-8), a header that shows another
        delimiter, or rows with the wrong number of fields.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise DataError([Problem(name, None, None, "file does not exist")])
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError([Problem(name, line, None, f"not UTF-8 text (byte 0x{raw[err.start]:02x}); save it as UTF-8")])
    if not text.strip():
        raise DataError([Problem(name, 1, None, "file is empty")])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)
    rows, lines, problems = [], [], []
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
    if len(header) == 1:
        for other in (";", "\t", ","):
            if other != delimiter and other in header[0]:
                raise DataError(
                    [Problem(name, 1, None, f"header is one column; the file looks '{other}'-separated, expected '{delimiter}'")]
                )
    if problems:
        raise DataError(problems)
    frame = pd.DataFrame(rows, columns=[h.strip() for h in header], dtype=object)
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
    if len(frame) < min_studies:
        raise DataError([Problem(name, None, None, f"{len(frame)} studies; this analysis needs at least {min_studies}")])
    return frame.reset_index(drop=True)


def load_trials(path: str | Path, measure: str, min_studies: int = 1) -> pd.DataFrame:
    """Read and validate a trial table (see :func:`validate_trials`)."""
    return validate_trials(read_rows(path), measure, str(path), min_studies)
