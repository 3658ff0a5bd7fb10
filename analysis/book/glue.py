"""Glue computed values into the book (myst-nb ``glue``), as plain Python values, and show tables.

numpy 2 scalars print as ``np.float64(...)``, which myst-nb cannot format; every value is
turned into the Python number, string or object it stands for before it is glued. The
build reads the glued values back from the executed notebooks into ``_build/results.csv``.
"""

from __future__ import annotations

import numpy as np

from analysis.escape import csv_cell, inline_code, markdown_table, visible


def plain(value):
    """A numpy scalar as the Python scalar it holds; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def glue_value(key: str, value) -> None:
    """Glue one value under ``key`` without displaying it; a matplotlib figure is glued as
    :class:`FigureOutput` (SVG for the web book, a PDF page for each of its pages). A string
    (which may carry names from data) is glued as :func:`analysis.escape.visible` text: no control
    characters, bidirectional controls shown as their code points (they would reorder the text
    and stop pdflatex)."""
    from myst_nb import glue  # here, so that modules using the labels below need not load myst-nb

    if _is_figure(value):
        value = FigureOutput(value)
    elif isinstance(value, str):
        value = visible(value)
    glue(key, plain(value), display=False)


def _is_figure(value) -> bool:
    import sys

    figure = sys.modules.get("matplotlib.figure")  # not loaded: the value cannot be a Figure
    return figure is not None and isinstance(value, figure.Figure)


class FigureOutput:
    """A figure as the book shows it: SVG in the HTML (text as text, deterministic ids, no date)
    and a PDF for the LaTeX build with one page per ``figure.pages`` (a long forest plot split
    across pages; the book's ``_ext/reader.py`` puts every page in the PDF). No PNG: myst-nb's HTML
    builder takes the SVG before it and its LaTeX builder the PDF, so a PNG would only cost time
    (3.9 s for the CBT forest plot).

    ``figure.finding``, when a figure function sets it, is written into the SVG's description;
    the book appends it to the image's alt text so that the alt text states the finding.
    """

    def __init__(self, figure):
        self.figure = figure
        self.pages = list(getattr(figure, "pages", None) or [figure])
        self.finding = getattr(figure, "finding", None)

    def _save(self, figure, fmt: str, **kwargs) -> bytes:
        import io

        import matplotlib.pyplot as plt

        from analysis.figures.style import SAVE_RC

        buffer = io.BytesIO()
        with plt.rc_context(SAVE_RC):
            figure.savefig(buffer, format=fmt, **kwargs)
        return buffer.getvalue()

    def svg(self) -> str:
        meta = {"Date": None, "Creator": None}
        if self.finding:
            meta["Description"] = self.finding
        return self._save(self.figure, "svg", metadata=meta).decode("utf-8")

    def pdf(self) -> bytes:
        import io

        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_pdf import PdfPages

        from analysis.figures.style import SAVE_RC

        buffer = io.BytesIO()
        with plt.rc_context(SAVE_RC), PdfPages(buffer, metadata={"CreationDate": None, "Creator": None,
                                                                   "Producer": None}) as pdf:
            for page in self.pages:
                pdf.savefig(page)
        return buffer.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None):
        import base64

        return {
            "image/svg+xml": self.svg(),
            "application/pdf": base64.b64encode(self.pdf()).decode("ascii"),
            "text/plain": self.finding or "<figure>",
        }

    def __repr__(self) -> str:
        return self.finding or "<figure>"



def whole_numbers(frame):
    """The frame with every float column whose values are all whole numbers (counts that pandas
    made floats because of a missing value) as integers: 409, not 409.0. Missing stays missing."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values):
            known = values.dropna()
            if len(known) and np.all(np.isfinite(known)) and np.all(known == np.round(known)):
                out[column] = values.astype("Int64")
        elif values.dtype == object:
            known = [v for v in values if not (v is None or v is pd.NA or v == "" or (isinstance(v, float) and np.isnan(v)))]
            numbers = [v for v in known if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))]
            if known and len(numbers) == len(known) and all(np.isfinite(v) and float(v) == round(float(v)) for v in numbers):
                out[column] = [int(v) if v in numbers and not isinstance(v, bool) else v for v in values]
    return out


class Table:
    """A data frame shown without its index: HTML for the web book, LaTeX for the PDF, a pipe
    table for ``{glue:md}``. Counts are printed as integers; headers are kept whole (the book's
    CSS and ``_ext/reader.py`` let wide tables reflow on a phone and fit the PDF page)."""

    def __init__(self, frame, myst_columns=(), code_columns=()):
        """``myst_columns``: columns whose cells are MyST the code built (cross-references made by
        :func:`analysis.review.checklists.references` from checked names), kept as markup in the
        pipe table; ``code_columns``: columns of names set in the code font in the pipe table
        (:func:`analysis.escape.inline_code`; the PDF does not hyphenate them), plain text in the
        CSV download; every other cell is escaped."""
        self.frame = whole_numbers(frame.reset_index(drop=True))
        self.myst_columns = tuple(myst_columns)
        self.code_columns = tuple(code_columns)

    def _shown(self):
        """Every cell as it is printed, missing values empty."""
        frame = self.frame.astype(object)
        return frame.where(self.frame.notna(), "")

    def _repr_html_(self) -> str:
        return self._shown().to_html(index=False, border=0, classes="table")

    def _repr_latex_(self) -> str:
        return self._shown().to_latex(index=False, escape=True)

    def _repr_markdown_(self) -> str:
        """A pipe table, so that a ``{table}`` directive around ``{glue:md}`` numbers it as a table."""
        import pandas as pd

        code = [c in self.code_columns for c in self.frame.columns]
        cells = [["" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else
                  inline_code(v) if as_code else v for v, as_code in zip(row, code)]
                 for row in self.frame.itertuples(index=False)]
        raw = [c in self.myst_columns or as_code for c, as_code in zip(self.frame.columns, code)]
        return markdown_table(self.frame.columns, cells, raw=raw)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The table's cells as CSV too (``text/csv``): the build offers every glued table as a
        download (:func:`analysis.book.render.add_downloads`), the league table among them. Text a
        spreadsheet would run as a formula is neutralised (:func:`analysis.escape.csv_cell`)."""
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([csv_cell(str(c)) for c in self.frame.columns])
        for row in self._shown().itertuples(index=False):
            writer.writerow([csv_cell(v) for v in row])
        return {"text/csv": out.getvalue()}

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)

