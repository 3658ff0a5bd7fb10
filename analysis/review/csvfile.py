"""The one reader of delimited text files: safe opening, UTF-8, the CSV field limit, duplicate
columns, and each record's line in the file (quoted fields may span lines). numpy- and
pandas-free, so that the command line reads a table without them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from analysis.review.errors import DataError, Problem
from analysis.review.safeio import decode, read_bytes, regular_file


def records(path: str | Path, delimiter: str = ",", what: str = "data file"):
    """The header and the records of a delimited text file, each with the line it starts on.

    Returns ``(header, rows)`` where ``rows`` yields ``(line, record)`` for every non-blank record
    with as many fields as the header. Raises DataError (file, line, column) for a path that is
    empty or not a regular file (checked before opening), an empty file, bytes that are not UTF-8,
    NUL bytes, a field over the CSV field limit or a malformed quote, duplicate column names, a
    header that shows another delimiter, and records with the wrong number of fields (all of
    those reported together, after the last record). The one reader of every delimited file.
    """
    name = str(path)
    if regular_file(path, what, limit=0).stat().st_size > STREAM_ABOVE:
        text, lines = None, _streamed_lines(path, name)  # bounded memory: never the whole file at once
    else:
        text = decode(read_bytes(path, what), name, what)  # a regular file, UTF-8, no NUL
        lines = io.StringIO(text, newline="")
    if text is not None and not text.strip():
        raise DataError([Problem(name, 1, None, "file is empty")])
    reader = csv.reader(lines, delimiter=delimiter)
    header = _csv_step(lambda: next(reader, None), reader, text, delimiter, None, name)
    if header is None:
        raise DataError([Problem(name, 1, None, "file is empty")])
    names = [h.strip() for h in header]
    problems = duplicate_columns(names, name)
    if len(header) == 1:
        for other in (";", "\t", ","):
            if other != delimiter and other in header[0]:
                raise DataError([Problem(name, 1, None, f"header is one column; the file looks "
                                         f"'{other}'-separated, expected '{delimiter}'")])
    if problems:
        raise DataError(problems)

    def rows():
        bad, start = [], reader.line_num + 1
        while True:
            record = _csv_step(lambda: next(reader, None), reader, text, delimiter, names, name)
            if record is None:
                break
            if any(cell.strip() for cell in record):
                if len(record) != len(names):
                    bad.append(Problem(name, start, None, f"{len(record)} fields where the header has {len(names)}"))
                else:
                    yield start, record
            start = reader.line_num + 1
        if bad:
            raise DataError(bad[:1000])

    return names, rows()


STREAM_ABOVE = 32 * 2**20  # bytes: a larger file is read line by line, not decoded whole


def _streamed_lines(path, name: str):
    """The lines of a large UTF-8 file, one at a time, each decoded on its own so that bytes that are
    not UTF-8 and NUL bytes are refused with their line."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as err:
                raise DataError([Problem(name, number, f"character {err.start + 1}",
                                         f"not UTF-8 text ({err.reason}); save it as UTF-8")]) from None
            if "\x00" in line:
                raise DataError([Problem(name, number, f"character {line.index(chr(0)) + 1}", "a NUL byte")])
            yield line


def _csv_step(step, reader, text: str | None, delimiter: str, header, name: str):
    """One step of the csv reader; its errors as a DataError naming the line (and column)."""
    try:
        return step()
    except csv.Error as err:  # a field over csv.field_size_limit(), or a malformed quote
        line = reader.line_num or 1
        what = (f"a field longer than {csv.field_size_limit():,} characters (an unclosed quote?)"
                if "field larger" in str(err) else f"not readable as CSV: {err}")
        column = None
        if line > 1 and header and text is not None:  # name the column: the first long field on that line
            fields = text.splitlines()[line - 1].split(delimiter) if line <= text.count("\n") + 1 else []
            long = [i for i, f in enumerate(fields) if len(f) > csv.field_size_limit()]
            if long and long[0] < len(header):
                column = header[long[0]]
        raise DataError([Problem(name, line, column, what)]) from None


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
