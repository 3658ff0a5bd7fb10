"""Turner et al. 2008: FDA-registered antidepressant trials, FDA and published effect sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
from pandera.typing import Series

from analysis.review.trials import LINE, read_rows
from analysis.review.importers.common import _validate_mapped
from analysis.review.schemas import Base, check, number


class TurnerTrials(Base):
    """Turner et al.'s table: one row per FDA-registered trial, FDA and journal effects."""

    Drug: Series[str]
    Study: Series[str]
    Published: Series[float] = number(isin=[0, 1])
    Nonstandardized_effect_size: Series[float] = number(nullable=True)
    Nonstandardized_SE: Series[float] = number(nullable=True, gt=0)
    Standardized_effect_size: Optional[Series[float]] = number(nullable=True)
    Standardized_SE: Optional[Series[float]] = number(nullable=True, gt=0)


def read_turner(path: str | Path) -> pd.DataFrame:
    """Turner et al. (2008): FDA-registered antidepressant trials with FDA and journal effect sizes."""
    return check(read_rows(path), TurnerTrials, str(path))


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




#: The figures of Turner et al.'s abstract that the chapter sets beside the file (reported.csv).
REPORTED_KEYS = ("registered", "positive_published", "negative_not_published", "negative_published_positive",
                 "negative_published_negative", "increase_overall_pct", "increase_min_pct", "increase_max_pct")


def read_turner_reported(path: str | Path) -> dict:
    """What Turner et al. (2008) report (``reported.csv``: key, value, verbatim quote, location),
    as key -> {"value", "quote", "location"}; ``published`` (the positive, the negative published
    as positive and the negative published as negative) is added, computed.

    Raises
    ------
    DataError
        A missing key, a value that is not a whole number or an empty quote, naming file and line.
    """
    from analysis.review.errors import DataError, Problem

    rows = read_rows(path)
    problems, out = [], {}
    for _, row in rows.iterrows():
        value = pd.to_numeric(row.get("value"), errors="coerce")
        if not (np.isfinite(value) and value == round(value)):
            problems.append(Problem(str(path), int(row[LINE]), "value", f"'{row.get('value')}' is not a whole number"))
        elif not str(row.get("quote", "")).strip():
            problems.append(Problem(str(path), int(row[LINE]), "quote", "every reported figure needs its verbatim quote"))
        else:
            out[str(row["key"]).strip()] = {"value": int(value), "quote": str(row["quote"]).strip(),
                                            "location": str(row["location"]).strip()}
    problems += [Problem(str(path), 1, "key", f"'{key}' is missing") for key in REPORTED_KEYS if key not in out]
    if problems:
        raise DataError(problems)
    out["published"] = {"value": sum(out[k]["value"] for k in ("positive_published", "negative_published_positive",
                                                                 "negative_published_negative")),
                        "quote": out["negative_not_published"]["quote"], "location": out["registered"]["location"]}
    return out
