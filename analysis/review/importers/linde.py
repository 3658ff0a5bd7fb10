"""Linde et al. 2015: primary-care antidepressant and psychotherapy trials (netmeta's Linde2015)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.review.errors import DataError, Problem
from analysis.review.trials import LINE, read_rows
from analysis.review.importers.common import _validate_mapped
from analysis.review.schemas import Base, check, events_within, number


class TwoArmResponders(Base):
    """Responders within n in arms 1 and 2 (the checks every netmeta Linde format shares)."""

    @pa.dataframe_check(error="resp1: responders exceed n1")
    def arm1_within(cls, df):
        return events_within(df, "resp1", "n1")

    @pa.dataframe_check(error="resp2: responders exceed n2")
    def arm2_within(cls, df):
        return events_within(df, "resp2", "n2")


class LindeTrials(TwoArmResponders):
    """netmeta's Linde2015/Linde2016 wide format: one row per trial, up to three arms."""

    id: Series[str]
    author: Series[str]
    year: Series[str]
    treatment1: Series[str]
    treatment2: Series[str]
    n1: Series[float] = number(nullable=True, gt=0)
    resp1: Series[float] = number(nullable=True, ge=0)
    n2: Series[float] = number(nullable=True, gt=0)
    resp2: Series[float] = number(nullable=True, ge=0)
    n3: Optional[Series[float]] = number(nullable=True, gt=0)
    resp3: Optional[Series[float]] = number(nullable=True, ge=0)

    @pa.dataframe_check(error="resp3: responders exceed n3")
    def arm3_within(cls, df):
        return events_within(df, "resp3", "n3") if "resp3" in df else True


def read_linde(path: str | Path) -> pd.DataFrame:
    """Linde et al. (2015): primary-care antidepressant trials, wide format (up to three arms)."""
    return check(read_rows(path), LindeTrials, str(path))


def linde_vs_placebo(rows: pd.DataFrame, active: str = "SSRI", name: str = "linde") -> pd.DataFrame:
    """Active-vs-placebo response comparisons from Linde et al. (2015), one row per trial.

    Arms of the ``active`` class are combined (summed) within a trial, as for GRISELDA;
    responders are the dataset's early responders (``resp``).

    References
    ----------
    Linde, K., Kriston, L., Rücker, G., et al. (2015). Efficacy and acceptability of pharmacological
    treatments for depressive disorders in primary care. *Annals of Family Medicine*, 13, 69-79.
    """
    out = []
    arms = [i for i in (1, 2, 3) if f"treatment{i}" in rows.columns]
    for _, r in rows.iterrows():
        act = [i for i in arms if r[f"treatment{i}"].strip() == active and not pd.isna(r[f"resp{i}"])]
        pla = [i for i in arms if r[f"treatment{i}"].strip() == "Placebo" and not pd.isna(r[f"resp{i}"])]
        if act and pla:
            out.append(
                {
                    "study": f"{r['author'].strip()} {r['year'].strip()} (id {r['id'].strip()})",
                    "year": float(r["year"]),
                    "treat_events": sum(r[f"resp{i}"] for i in act),
                    "treat_n": sum(r[f"n{i}"] for i in act),
                    "ctrl_events": sum(r[f"resp{i}"] for i in pla),
                    "ctrl_n": sum(r[f"n{i}"] for i in pla),
                    LINE: r[LINE],
                }
            )
    if not out:
        raise DataError([Problem(name, None, "treatment1", f"no trial compares '{active}' with placebo")])
    mapping = {"treat_events": "resp1", "treat_n": "n1", "ctrl_events": "resp2", "ctrl_n": "n2"}
    return _validate_mapped(pd.DataFrame(out), "RR", name, mapping)
