"""Turner et al. 2008: FDA-registered antidepressant trials, FDA and published effect sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.trials import LINE, read_rows
from analysis.review.importers.common import _check_columns, _numeric, _validate_mapped


TURNER_REQUIRED = ("Drug", "Study", "Published", "Nonstandardized_effect_size", "Nonstandardized_SE")


def read_turner(path: str | Path) -> pd.DataFrame:
    """Turner et al. (2008): FDA-registered antidepressant trials with FDA and journal effect sizes."""
    name = str(path)
    rows = read_rows(path)
    _check_columns(rows, TURNER_REQUIRED, name)
    problems: list[Problem] = []
    for col in ("Published", "Nonstandardized_effect_size", "Nonstandardized_SE", "Standardized_effect_size", "Standardized_SE"):
        if col in rows.columns:
            rows[col] = _numeric(rows, col, name, problems)
    if problems:
        raise DataError(problems)
    return rows


def turner_trials(rows: pd.DataFrame, source: str = "fda", name: str = "turner") -> pd.DataFrame:
    """Turner's trials in the trial schema (GEN: standardised effect and SE).

    ``source="fda"``: every registered trial with the effect from the FDA review
    (``Nonstandardized_*``, which reproduce Turner's FDA estimate, g = 0.31); ``"journal"``: the
    published trials with the effect as published (``Standardized_*``, g = 0.41). See the
    dataset's SOURCE.txt for how the column names were mapped.
    """
    effect, se = ("Nonstandardized_effect_size", "Nonstandardized_SE") if source == "fda" else ("Standardized_effect_size", "Standardized_SE")
    sel = rows if source == "fda" else rows[rows["Published"] == 1]
    trials = pd.DataFrame(
        {
            "study": sel["Drug"].str.strip() + " " + sel["Study"].str.strip(),
            "subgroup": np.where(sel["Published"] == 1, "published", "unpublished"),
            "published": sel["Published"] == 1,
            "effect": sel[effect],
            "se": sel[se],
            LINE: sel[LINE],
        }
    )
    return _validate_mapped(trials.reset_index(drop=True), "GEN", name, {"effect": effect, "se": se, "study": "Study"})


