"""Reading and validating trial tables: every problem named by file, line and column.

A trial table is a CSV with one row per study (or comparison): ``study`` (unique), optional
``year``, ``subgroup``, ``rob`` (``low``/``some``/``high``), ``published``, and the columns of
one measure (see :data:`analysis.meta.effect_sizes.COLUMNS_FOR_MEASURE`). Checks are a pandera
schema; the file is read with the :mod:`csv` module first so that each row keeps the line
of the file it starts on (quoted fields may span lines).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis.meta.effect_sizes import COLUMNS_FOR_MEASURE, CONTINUOUS_COLUMNS
from analysis.review.errors import DataError, Problem

LINE = "_line"  # column holding each row's line number in the file
ROB_LEVELS = ("low", "some", "high")
MIN_STUDIES = {"pool": 1, "random": 2, "egger": 3, "trimfill": 3}


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


def _to_numeric(frame: pd.DataFrame, columns, name: str) -> list[Problem]:
    problems = []
    for col in columns:
        text = frame[col].astype("string").str.strip()
        values = pd.to_numeric(text.replace("", pd.NA).replace({"NA": pd.NA}), errors="coerce")
        bad = values.isna()
        for line, cell in zip(frame.loc[bad, LINE], text[bad]):
            what = "is empty" if (pd.isna(cell) or cell in ("", "NA")) else f"'{cell}' is not a number"
            problems.append(Problem(name, int(line), col, what))
        frame[col] = values.astype(float)
    return problems


def _schema(measure: str) -> tuple[pa.DataFrameSchema, list[tuple[str, str]]]:
    positive = pa.Check.gt(0, error="must be > 0")
    columns = {"study": pa.Column(str, pa.Check(lambda s: s.str.strip() != "", error="is empty"))}
    checks = []
    if measure in ("RR", "OR", "RD"):
        for events, n in (("treat_events", "treat_n"), ("ctrl_events", "ctrl_n")):
            columns[events] = pa.Column(float, pa.Check.ge(0, error="must not be negative"))
            columns[n] = pa.Column(float, positive)
            checks.append((events, n))
    elif measure == "SMD":
        for c in CONTINUOUS_COLUMNS:
            columns[c] = pa.Column(float, positive if ("sd" in c or c.endswith("_n")) else None)
    else:
        columns["effect"] = pa.Column(float)
        columns["se"] = pa.Column(float, positive)
    schema = pa.DataFrameSchema(columns, strict=False)
    return schema, checks


def validate_trials(frame: pd.DataFrame, measure: str, name: str, min_studies: int = 1) -> pd.DataFrame:
    """Check a table read by :func:`read_rows` against the trial schema for ``measure``.

    Returns
    -------
    DataFrame
        Numeric columns as floats, ``study`` stripped, ``_line`` kept.

    Raises
    ------
    DataError
        Every problem at once: missing columns, non-numeric or empty cells, negative counts,
        events above n, n, sd or se not above 0, duplicate study ids, unknown risk-of-bias
        levels, fewer studies than the analysis needs.
    """
    required = ("study",) + COLUMNS_FOR_MEASURE[measure]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        near = {c.lower().replace(" ", "_"): c for c in frame.columns}
        problems = []
        for c in missing:
            hint = f" (found '{near[c]}': rename it)" if c in near else ""
            problems.append(Problem(name, 1, c, f"required column for {measure} is missing{hint}"))
        raise DataError(problems)
    frame = frame.copy()
    frame["study"] = frame["study"].astype(str).str.strip()
    problems = _to_numeric(frame, COLUMNS_FOR_MEASURE[measure], name)
    if "year" in frame.columns:
        frame["year"] = pd.to_numeric(frame["year"], errors="coerce")
    schema, pairs = _schema(measure)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        for _, case in err.failure_cases.iterrows():
            idx = case["index"]
            if idx is None or pd.isna(idx) or pd.isna(case["failure_case"]):
                continue
            line = int(frame.loc[int(idx), LINE])
            problems.append(Problem(name, line, case["column"], f"{case['failure_case']} {case['check']}"))
    for events, n in pairs:
        over = frame[events] > frame[n]
        for line, e, total in zip(frame.loc[over, LINE], frame.loc[over, events], frame.loc[over, n]):
            problems.append(Problem(name, int(line), events, f"{e:g} events exceed {n} = {total:g}"))
    dup = frame["study"].duplicated(keep="first")
    for line, study in zip(frame.loc[dup, LINE], frame.loc[dup, "study"]):
        first = int(frame.loc[(frame["study"] == study) & ~dup, LINE].iloc[0])
        problems.append(Problem(name, int(line), "study", f"duplicate study id '{study}' (first on line {first})"))
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
