"""Errors that name the file, the line and the column of bad input (no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f", line {self.line}" if self.line else "")
        col = f", column '{self.column}'" if self.column else ""
        return f"{where}{col}: {self.message}"


class DataError(ValueError):
    """Raised with every problem found; ``str()`` lists one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DroppedRowsWarning(UserWarning):
    """Rows left out of an analysis because a value it needs is missing (``NA``, empty or ``NaN``),
    as metafor leaves out studies with missing values, with a warning: reported, not refused."""


def dropped_rows(file: str, lines, what: str = "a missing outcome", columns=()) -> str:
    """The one sentence for rows left out: the file, how many, the first 20 lines and the columns."""
    lines = [int(x) for x in lines]
    shown = ", ".join(map(str, lines[:20])) + (" ..." if len(lines) > 20 else "")
    cols = f"; column{'s' if len(columns) > 1 else ''} {', '.join(repr(c) for c in columns)}" if columns else ""
    return f"{file}: {len(lines)} row(s) with {what} dropped (lines {shown}{cols})"
