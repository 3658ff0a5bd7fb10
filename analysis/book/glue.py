"""Glue computed values into the book (myst-nb ``glue``), as plain Python values, and show tables.

numpy 2 scalars print as ``np.float64(...)``, which myst-nb cannot format; every value is
turned into the Python number, string or object it stands for before it is glued. The
build reads the glued values back from the executed notebooks into ``_build/results.csv``.
"""

from __future__ import annotations

import numpy as np

from analysis.book.escape import markdown_table


def plain(value):
    """A numpy scalar as the Python scalar it holds; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def glue_value(key: str, value) -> None:
    """Glue one value under ``key`` without displaying it."""
    from myst_nb import glue  # here, so that modules using the labels below need not load myst-nb

    glue(key, plain(value), display=False)



class Table:
    """A data frame shown without its index: HTML for the web book, LaTeX for the PDF."""

    def __init__(self, frame):
        self.frame = frame.reset_index(drop=True)

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False, border=0, classes="table", na_rep="")

    def _repr_latex_(self) -> str:
        return self.frame.to_latex(index=False, na_rep="", escape=True)

    def _repr_markdown_(self) -> str:
        """A pipe table, so that a ``{table}`` directive around ``{glue:md}`` numbers it as a table."""
        cells = [["" if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in row]
                 for row in self.frame.itertuples(index=False)]
        return markdown_table(self.frame.columns, cells)

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)

