"""The data standards as pandera models: one ``DataFrameModel`` per input standard.

Each model states a standard's rules: required columns, numeric columns and their ranges,
finiteness, uniqueness, allowed values, and frame-wide checks such as events not above n.
:func:`check` runs a model lazily and turns every failure into a :class:`Problem` naming the
file, the line and the column. The project's own code only parses the cells into numbers
first (so that "about 60" is reported as not a number rather than as a failed range check)
and maps each row to its line in the file (``_line``, kept by :func:`read_rows`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera import extensions

from analysis.review.errors import DataError, Problem
from analysis.review.trial_rules import MISSING  # cells read as no value

LINE = "_line"  # column holding each row's line number in the file
TINY = np.finfo(float).tiny


@extensions.register_check_method(statistics=[], check_type="vectorized")
def finite(series, *_):
    """Finite and not denormal (a value below 1e-308 in magnitude is a corrupted cell, not data)."""
    return np.isfinite(series) & ((series == 0) | (series.abs() >= TINY))


def number(nullable: bool = False, alias: str | None = None, **range_) -> object:
    """A numeric column: finite (``finite``), optionally within a range (``gt``, ``ge``, ``le``, ``isin``)."""
    return pa.Field(nullable=nullable, alias=alias, finite=(), **range_)


def text(nullable: bool = False, alias: str | None = None, unique: bool = False) -> object:
    return pa.Field(nullable=nullable, alias=alias, unique=unique)


def numeric_columns(model) -> list[str]:
    """The columns a model declares as numbers (by their names in the file)."""
    schema = model.to_schema()
    return [name for name, col in schema.columns.items() if str(col.dtype).startswith("float")]


def required_columns(model) -> list[str]:
    schema = model.to_schema()
    return [name for name, col in schema.columns.items() if col.required]


def parse_numbers(frame: pd.DataFrame, columns, name: str, decimal: str = ".") -> list[Problem]:
    """Cells of ``columns`` as floats in place; each cell that is not a number is a problem."""
    problems = []
    for col in columns:
        if col not in frame.columns:
            continue
        cells = frame[col].astype("string").str.strip()
        if decimal != ".":
            cells = cells.str.replace(decimal, ".", regex=False)
        empty = cells.isna() | cells.isin(MISSING)
        values = pd.to_numeric(cells.where(~empty), errors="coerce")
        for line, cell in zip(frame.loc[values.isna() & ~empty, LINE], cells[values.isna() & ~empty]):
            problems.append(Problem(name, int(line), col, f"'{cell}' is not a number"))
        frame[col] = values.astype(float)
    return problems


def _line(frame: pd.DataFrame, index) -> int | None:
    if index is None or pd.isna(index):
        return None
    return int(frame.loc[int(index), LINE]) if int(index) in frame.index else None


def _problem(frame: pd.DataFrame, case: pd.Series, name: str) -> Problem | None:
    check, column, value = str(case["check"]), case["column"], case["failure_case"]
    if check == "column_in_dataframe":
        return Problem(name, 1, str(value), "required column is missing")
    if check.startswith("dtype(") or check.startswith("coerce_dtype("):
        return None  # reported by parse_numbers
    line = _line(frame, case["index"])
    if check == "not_nullable":
        return Problem(name, line, column, "is empty")
    if case["schema_context"] == "DataFrameSchema":  # a frame-wide check: "column: message"
        column, _, message = check.partition(": ")
        return Problem(name, line, column, message)
    if check.startswith("field_uniqueness") or check == "unique":
        first = int(frame.loc[frame[column] == value, LINE].min())
        if line == first:
            return None  # the first occurrence is the original, the later ones are duplicates
        return Problem(name, line, column, f"duplicate study id '{value}' (first on line {first})")
    shown = f"{value:g}" if isinstance(value, float) else f"'{value}'"
    return Problem(name, line, column, f"{shown} {_words(check)}")


_OPS = {"greater_than": ">", "greater_than_or_equal_to": ">=", "less_than": "<", "less_than_or_equal_to": "<="}


def _words(check: str) -> str:
    """pandera's name of a failed check in words: ``greater_than(0)`` -> ``must be > 0``."""
    op, _, arg = check.partition("(")
    if check.startswith("finite"):
        return "must be a finite number"
    if check == "greater_than_or_equal_to(0)":
        return "must not be negative"
    if op in _OPS:
        return f"must be {_OPS[op]} {arg.rstrip(')')}"
    if op == "isin":
        return f"must be one of {arg.rstrip(')')}"
    return check


def blank_text(frame: pd.DataFrame, model, name: str) -> list[Problem]:
    """A required text column (a study id, an arm) whose cell is only spaces is empty: a problem,
    as an empty cell is (pandera's ``not_nullable`` sees only the missing ones)."""
    schema = model.to_schema()
    problems = []
    for col, spec in schema.columns.items():
        if not spec.required or spec.nullable or str(spec.dtype).startswith("float") or col not in frame.columns:
            continue
        cells = frame[col].astype("string")
        blank = cells.notna() & (cells.str.strip() == "")
        problems += [Problem(name, int(line), col, "is empty (only spaces)") for line in frame.loc[blank, LINE]]
    return problems


def check(frame: pd.DataFrame, model, name: str, decimal: str = ".") -> pd.DataFrame:
    """Validate ``frame`` (text cells and ``_line``, from :func:`read_rows`) against ``model``.

    Returns
    -------
    DataFrame
        The frame with the model's numeric columns as floats; other columns unchanged.

    Raises
    ------
    DataError
        Every problem at once, sorted by line: missing columns, cells that are not numbers,
        values out of range or not finite, duplicates, and frame-wide rules.
    """
    missing = [c for c in required_columns(model) if c not in frame.columns]
    if missing:
        raise DataError([Problem(name, 1, c, "required column is missing") for c in missing])
    frame = frame.copy()
    problems = parse_numbers(frame, numeric_columns(model), name, decimal) + blank_text(frame, model, name)
    unparsed = {(p.line, p.column) for p in problems}  # already reported: not a number
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        for _, case in err.failure_cases.iterrows():
            problem = _problem(frame, case, name)
            if problem is not None and problem not in problems and (problem.line, problem.column) not in unparsed:
                problems.append(problem)
    if problems:
        raise DataError(sorted(problems, key=lambda p: (p.line or 0, p.column or "")))
    return frame


def events_within(frame: pd.DataFrame, events: str, n: str) -> pd.Series:
    """A frame-wide rule: events not above n (where both are given)."""
    return ~(frame[events] > frame[n])


class Base(pa.DataFrameModel):
    class Config:
        strict = False  # a release may add columns
        coerce = False  # numbers are parsed by parse_numbers, with a message per cell
