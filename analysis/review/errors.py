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
