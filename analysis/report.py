"""Glue computed values into the book (myst-nb ``glue``), as plain Python values.

numpy 2 scalars print as ``np.float64(...)``, which myst-nb cannot format; every value is
turned into the Python number, string or object it stands for before it is glued. The
build reads the glued values back from the executed notebooks into ``_build/results.csv``.
"""

from __future__ import annotations

import numpy as np


def plain(value):
    """A numpy scalar as the Python scalar it holds; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def glue_value(key: str, value) -> None:
    """Glue one value under ``key`` without displaying it."""
    from myst_nb import glue  # here, so that modules using the labels below need not load myst-nb

    glue(key, plain(value), display=False)


def format_p(p: float) -> str:
    """A p-value as reported in the text: three decimals, or "< 0.001"."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


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

        def cell(value) -> str:
            text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
            return text.replace("|", "\\|").replace("\n", " ")

        header = "| " + " | ".join(cell(c) for c in self.frame.columns) + " |"
        rule = "|" + "|".join("---" for _ in self.frame.columns) + "|"
        body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in self.frame.itertuples(index=False)]
        return "\n".join([header, rule, *body])

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def describe_i2(i2: float) -> str:
    """I² in words, by the overlapping bands of the Cochrane Handbook (section 10.10.2)."""
    if i2 < 30:
        return "might not be important"
    if i2 < 50:
        return "may be moderate"
    if i2 < 75:
        return "may be substantial"
    return "considerable"


def describe_test(p: float, alpha: float = 0.05) -> str:
    """'finds' or 'does not find', for a test at level ``alpha``."""
    return "finds" if p < alpha else "does not find"


def significance(ci_low: float, ci_high: float, null: float = 0.0) -> str:
    """'significant' when the confidence interval excludes the null value, else 'not significant'."""
    return "significant" if ci_low > null or ci_high < null else "not significant"


def direction(estimate: float, null: float = 0.0) -> str:
    """Which arm the point estimate favours (higher = better outcome, e.g. response or g)."""
    return "favours the intervention" if estimate > null else "favours the control" if estimate < null else "no difference"


def describe_prediction(pi_low: float, pi_high: float, null: float = 0.0) -> str:
    """What a prediction interval says about the effect in a new study, in words."""
    if pi_low > null:
        return "a new trial would be expected to show benefit"
    if pi_high < null:
        return "a new trial would be expected to show harm"
    return "the effect in a new trial could lie anywhere from harm to benefit"


def acronym(name: str) -> str:
    """A short one-word label in capitals (``cbt`` -> ``CBT``, ``ssri`` -> ``SSRI``); longer
    names and phrases as they are (``placebo``, ``other psy``)."""
    return name.upper() if name.isalpha() and len(name) <= 4 else name


def comparison_label(key: str) -> str:
    """``ssri_placebo`` -> ``SSRI vs placebo``."""
    return " vs ".join(acronym(part) for part in key.split("_"))
