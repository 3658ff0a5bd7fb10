"""Furukawa et al. 2019: fixed-dose SSRI-versus-placebo trials, one row per arm (MBNMAdose's ``ssri``).

The standard: ``studyID``, ``agent`` (``placebo`` or the SSRI), ``dose`` (mg a day; 0 for
placebo), ``n`` (randomised), ``r`` (responders), and descriptive ``bias``, ``age`` and
``weeks``. A dose-response analysis needs a reference arm in every trial: the placebo arm
(dose 0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.review.errors import DataError, Problem
from analysis.review.schemas import LINE, Base, check, events_within, number
from analysis.review.trials import read_rows

PLACEBO = "placebo"


class FurukawaArms(Base):
    """One row per arm: responders ``r`` of ``n`` randomised at ``dose`` mg of ``agent``."""

    studyID: Series[str]
    agent: Series[str]
    dose: Series[float] = number(ge=0)
    n: Series[float] = number(gt=0)
    r: Series[float] = number(ge=0)
    weeks: Optional[Series[float]] = number(nullable=True, gt=0)
    age: Optional[Series[float]] = number(nullable=True, gt=0)

    @pa.dataframe_check(error="r: responders exceed n")
    def responders_within(cls, df):
        return events_within(df, "r", "n")

    @pa.dataframe_check(error="dose: a placebo arm must have dose 0, an active arm a dose above 0")
    def placebo_dose_zero(cls, df):
        placebo = df["agent"].str.strip().str.lower() == PLACEBO
        return (placebo & (df["dose"] == 0)) | (~placebo & (df["dose"] > 0))


def read_furukawa_arms(path: str | Path) -> pd.DataFrame:
    """Read and check the Furukawa et al. (2019) arm table against :class:`FurukawaArms`.

    Returns
    -------
    DataFrame
        One row per arm: ``study``, ``agent`` (lower case), ``dose``, ``n``, ``responders``,
        ``weeks`` and ``_line`` (its line in the file).

    Raises
    ------
    DataError
        A missing column, a cell that is not a number, responders above ``n``, a non-positive
        ``n``, a negative dose, a placebo arm with a dose or an active arm without one, two
        arms of one trial with the same agent and dose; each with file, line and column.

    References
    ----------
    Furukawa, T. A., Cipriani, A., Cowen, P. J., Leucht, S., Egger, M., & Salanti, G. (2019).
    Optimal dose of selective serotonin reuptake inhibitors, venlafaxine, and mirtazapine in
    major depression. *Lancet Psychiatry*, 6, 601-609.
    """
    rows = check(read_rows(path), FurukawaArms, str(path))
    arms = pd.DataFrame({
        "study": rows["studyID"].str.strip(), "agent": rows["agent"].str.strip().str.lower(),
        "dose": rows["dose"], "n": rows["n"], "responders": rows["r"],
        "weeks": rows["weeks"] if "weeks" in rows else np.nan, LINE: rows[LINE]})
    twice = arms.duplicated(["study", "agent", "dose"], keep="first")
    if twice.any():
        raise DataError([Problem(str(path), int(line), "dose", "a second arm of this trial with the same agent and dose")
                         for line in arms.loc[twice, LINE]])
    return arms.reset_index(drop=True)


def dose_arms(arms: pd.DataFrame, agents=None, name: str = "furukawa") -> pd.DataFrame:
    """The arms of the trials that have a placebo arm (the reference, dose 0), restricted to
    ``agents`` (lower-case names) if given; placebo arms are kept for every trial kept.

    A trial without a placebo arm has no reference for the dose-response contrasts and is left
    out; a trial with two placebo arms has them summed into one (Cochrane Handbook 23.3.4).

    Raises
    ------
    DataError
        No trial left (naming the agents asked for).
    """
    placebo = arms["agent"] == PLACEBO
    with_ref = set(arms.loc[placebo, "study"])
    keep = arms["study"].isin(with_ref)
    if agents:
        active_ok = arms.loc[~placebo & arms["agent"].isin(list(agents)), "study"]
        keep &= arms["study"].isin(set(active_ok)) & (placebo | arms["agent"].isin(list(agents)))
    kept = arms.loc[keep]
    ref = kept[kept["agent"] == PLACEBO].groupby("study", sort=False).agg(
        agent=("agent", "first"), dose=("dose", "first"), n=("n", "sum"), responders=("responders", "sum"),
        weeks=("weeks", "first"), **{LINE: (LINE, "first")}).reset_index()
    out = pd.concat([ref, kept[kept["agent"] != PLACEBO]], ignore_index=True)
    first = out.groupby("study")[LINE].transform("min")
    out = out.assign(_first=first).sort_values(["_first", "dose"], kind="stable").drop(columns="_first").reset_index(drop=True)
    if out.empty or (out["agent"] != PLACEBO).sum() == 0:
        raise DataError([Problem(name, None, "agent", f"no placebo-controlled trial of {', '.join(agents or ['any agent'])}")])
    return out
