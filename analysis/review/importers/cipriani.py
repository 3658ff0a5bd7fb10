"""Cipriani et al. 2018 (GRISELDA): arm-level antidepressant trials."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.review.errors import DataError, Problem
from analysis.review.trials import LINE, read_rows, validate_trials
from analysis.review.schemas import Base, check, events_within, number
from analysis.review.shared import shared

class CiprianiArms(Base):
    """GRISELDA's arm-level table: one row per arm, counts as numbers (``*_num`` columns)."""

    StudyID: Series[str]
    Year_Published: Series[str]
    Drug: Series[str]
    drug_base: Series[str]
    drug_class_ssri: Series[str]
    No_randomised_num: Series[float] = number(nullable=True, gt=0)  # a few arms lack it; they are left out
    Responders_num: Series[float] = number(nullable=True, ge=0)
    Dropouts_total_num: Optional[Series[float]] = number(nullable=True, ge=0)
    Dropouts_sideeffects_num: Optional[Series[float]] = number(nullable=True, ge=0)
    Remitters_num: Optional[Series[float]] = number(nullable=True, ge=0)
    Endpoint_mean_num: Optional[Series[float]] = number(nullable=True)
    Endpoint_SD_num: Optional[Series[float]] = number(nullable=True, gt=0)
    N_comp_imputed_cont_num: Optional[Series[float]] = number(nullable=True, gt=0)
    Weeks_num: Optional[Series[float]] = number(nullable=True, gt=0)
    Baseline_mean_num: Optional[Series[float]] = number(nullable=True, ge=0)

    @pa.dataframe_check(error="Responders_num: responders exceed No_randomised_num")
    def responders_within(cls, df):
        return events_within(df, "Responders_num", "No_randomised_num")

    @pa.dataframe_check(error="Remitters_num: remitters exceed No_randomised_num")
    def remitters_within(cls, df):
        return events_within(df, "Remitters_num", "No_randomised_num") if "Remitters_num" in df else True

    @pa.dataframe_check(error="Dropouts_total_num: dropouts exceed No_randomised_num")
    def dropouts_within(cls, df):
        return events_within(df, "Dropouts_total_num", "No_randomised_num") if "Dropouts_total_num" in df else True

    @pa.dataframe_check(error="Dropouts_sideeffects_num: dropouts exceed No_randomised_num")
    def ae_within(cls, df):
        # not checked against Dropouts_total_num: 28 arms of the release report more dropouts for
        # adverse events than dropouts in all; that is the source's inconsistency, not a bad file
        return events_within(df, "Dropouts_sideeffects_num", "No_randomised_num") if "Dropouts_sideeffects_num" in df else True


@shared(reads_file=True)
def read_cipriani_arms(path: str | Path) -> pd.DataFrame:
    """Read and check the GRISELDA arm-level table (Cipriani et al., 2018) against :class:`CiprianiArms`.

    Raises
    ------
    DataError
        Missing columns, non-numeric counts, responders or dropouts above the number
        randomised, non-positive arm sizes; each with file, line and column.
    """
    arms = check(read_rows(path), CiprianiArms, str(path))
    arms["n"] = arms["No_randomised_num"]
    arms["responders"] = arms["Responders_num"]
    arms["year"] = pd.to_numeric(arms["Year_Published"], errors="coerce")
    arms["published"] = arms["Year_Published"].str.strip().str.lower() != "unpublished"
    arms["drug_base"] = arms["drug_base"].str.strip().str.lower()
    # the optional columns under one name each, missing where a release lacks them
    for name, column in (("dropouts", "Dropouts_total_num"), ("remitters", "Remitters_num"), ("endpoint_mean", "Endpoint_mean_num"),
                         ("endpoint_sd", "Endpoint_SD_num"), ("endpoint_n", "N_comp_imputed_cont_num"),
                         ("weeks", "Weeks_num"), ("baseline_mean", "Baseline_mean_num")):
        arms[name] = arms[column] if column in arms else np.nan
    arms["scale"] = arms["Scale"].astype(str).str.strip().str.upper() if "Scale" in arms else ""
    arms["responders_imputed"] = (arms["Responders_imputed"].astype(str).str.strip() == "1"
                                  if "Responders_imputed" in arms else False)
    return arms


OUTCOMES = {"response": "responders", "dropout": "Dropouts_total_num", "dropout_ae": "Dropouts_sideeffects_num"}


def cipriani_vs_placebo(arms: pd.DataFrame, active_class: str = "SSRI", drugs=None, name: str = "cipriani",
                        outcome: str = "response") -> pd.DataFrame:
    """Active-vs-placebo comparisons from the GRISELDA arms, one row per trial.

    Parameters
    ----------
    arms : DataFrame
        From :func:`read_cipriani_arms`.
    active_class : {"SSRI", "any"}
        Which arms count as active: the SSRIs as classed in the dataset's ``drug_class_ssri``,
        or every antidepressant.
    drugs : list of str, optional
        Restrict to these drugs (``drug_base`` names).
    outcome : {"response", "dropout", "dropout_ae"}
        Responders (imputed for dropouts by the authors), all-cause dropouts, or dropouts due to
        adverse events; the denominator is the number randomised (intention to treat).

    Returns
    -------
    DataFrame
        The trial schema: ``study``, ``year``, ``published``, ``subgroup`` (the drug, or
        ``multiple``), ``treat_events``, ``treat_n``, ``ctrl_events``, ``ctrl_n``.

    Notes
    -----
    All eligible active arms of a multi-arm trial (e.g. several doses) are combined by summing
    events and patients, and so are placebo arms, so that no placebo group is counted twice
    (Cochrane Handbook, section 23.3.4). Arms without the outcome are left out.

    References
    ----------
    Cipriani, A., Furukawa, T. A., Salanti, G., et al. (2018). Comparative efficacy and
    acceptability of 21 antidepressant drugs. *Lancet*, 391, 1357-1366.
    """
    events = OUTCOMES[outcome]
    usable = arms.dropna(subset=[events, "n"])
    is_placebo = usable["drug_class_ssri"] == "placebo"
    is_active = ~is_placebo if active_class == "any" else usable["drug_class_ssri"] == active_class
    if drugs:
        is_active &= usable["drug_base"].isin([d.lower() for d in drugs])
    trials = _combine(usable, is_active.to_numpy(), is_placebo.to_numpy(), events)
    if trials.empty:
        raise DataError([Problem(name, None, "drug_class_ssri", f"no placebo-controlled trial with a '{active_class}' arm")])
    return validate_trials(trials, "RR", name)


def _combine(usable: pd.DataFrame, act: np.ndarray, pla: np.ndarray, events: str) -> pd.DataFrame:
    """Every trial's active arms summed against its placebo arms, trials in StudyID order; a trial
    without both is left out. Its year, publication status and line are those of its first arm;
    its subgroup is the drug of its active arms, or ``multiple``. Grouped sums, not a loop over
    trials (a release of 10^5 arms has tens of thousands)."""
    study = usable["StudyID"]
    sums = pd.DataFrame({
        "treat_events": usable[events].where(act, 0.0), "treat_n": usable["n"].where(act, 0.0),
        "ctrl_events": usable[events].where(pla, 0.0), "ctrl_n": usable["n"].where(pla, 0.0),
        "_act": act, "_pla": pla}).groupby(study, sort=True).sum()
    first = usable.drop_duplicates("StudyID").set_index("StudyID")
    drugs = usable.loc[act].groupby("StudyID")["drug_base"].agg(lambda d: d.iloc[0] if d.nunique() == 1 else "multiple")
    keep = sums.index[(sums["_act"] > 0) & (sums["_pla"] > 0)]
    out = pd.DataFrame({
        "study": keep,
        "year": first.loc[keep, "year"].to_numpy(),
        "published": first.loc[keep, "published"].astype(bool).to_numpy(),
        "subgroup": drugs.reindex(keep).to_numpy(),
        **{c: sums.loc[keep, c].to_numpy() for c in ("treat_events", "treat_n", "ctrl_events", "ctrl_n")},
        LINE: first.loc[keep, LINE].astype(int).to_numpy(),
    })
    return out
