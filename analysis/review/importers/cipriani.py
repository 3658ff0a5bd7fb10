"""Cipriani et al. 2018 (GRISELDA): arm-level antidepressant trials."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.trials import LINE, read_rows, validate_trials
from analysis.review.importers.common import _check_columns, _numeric

CIPRIANI_REQUIRED = ("StudyID", "Year_Published", "Drug", "drug_base", "drug_class_ssri", "No_randomised_num", "Responders_num")


def read_cipriani_arms(path: str | Path) -> pd.DataFrame:
    """Read and check the GRISELDA arm-level table (Cipriani et al., 2018).

    Raises
    ------
    DataError
        Missing columns, non-numeric counts, responders above the number randomised,
        non-positive arm sizes; each with file, line and column.
    """
    name = str(path)
    arms = read_rows(path)
    _check_columns(arms, CIPRIANI_REQUIRED, name)
    problems: list[Problem] = []
    arms["n"] = _numeric(arms, "No_randomised_num", name, problems)
    arms["responders"] = _numeric(arms, "Responders_num", name, problems)
    for line, n in zip(arms.loc[arms["n"] <= 0, LINE], arms.loc[arms["n"] <= 0, "n"]):
        problems.append(Problem(name, int(line), "No_randomised_num", f"{n:g} must be > 0"))
    over = arms["responders"] > arms["n"]
    for line, r, n in zip(arms.loc[over, LINE], arms.loc[over, "responders"], arms.loc[over, "n"]):
        problems.append(Problem(name, int(line), "Responders_num", f"{r:g} responders exceed No_randomised_num = {n:g}"))
    neg = arms["responders"] < 0
    for line, r in zip(arms.loc[neg, LINE], arms.loc[neg, "responders"]):
        problems.append(Problem(name, int(line), "Responders_num", f"{r:g} must not be negative"))
    if problems:
        raise DataError(problems)
    arms["year"] = pd.to_numeric(arms["Year_Published"], errors="coerce")
    arms["published"] = arms["Year_Published"].str.strip().str.lower() != "unpublished"
    arms["drug_base"] = arms["drug_base"].str.strip().str.lower()
    return arms


def cipriani_vs_placebo(arms: pd.DataFrame, active_class: str = "SSRI", drugs=None, name: str = "cipriani") -> pd.DataFrame:
    """Active-vs-placebo response comparisons from the GRISELDA arms, one row per trial.

    Parameters
    ----------
    arms : DataFrame
        From :func:`read_cipriani_arms`.
    active_class : {"SSRI", "any"}
        Which arms count as active: the SSRIs (citalopram, escitalopram, fluoxetine,
        fluvoxamine, paroxetine, sertraline, vilazodone and vortioxetine as classed in the
        dataset's ``drug_class_ssri``) or every antidepressant.
    drugs : list of str, optional
        Restrict to these drugs (``drug_base`` names).

    Returns
    -------
    DataFrame
        The trial schema: ``study``, ``year``, ``published``, ``subgroup`` (the drug, or
        ``multiple``), ``treat_events``, ``treat_n``, ``ctrl_events``, ``ctrl_n``.

    Notes
    -----
    Multi-arm trials: all eligible active arms of a trial (e.g. several doses) are combined
    into one arm by summing responders and patients, and so are placebo arms, so that no
    placebo group is counted twice (Cochrane Handbook, section 23.3.4). Arms without a
    response count are left out. The denominator is the number randomised (intention to
    treat), as in Cipriani et al. (2018), whose responders were imputed for dropouts.

    References
    ----------
    Cipriani, A., Furukawa, T. A., Salanti, G., et al. (2018). Comparative efficacy and
    acceptability of 21 antidepressant drugs. *Lancet*, 391, 1357-1366.
    """
    usable = arms.dropna(subset=["responders", "n"])
    is_placebo = usable["drug_class_ssri"] == "placebo"
    is_active = ~is_placebo if active_class == "any" else usable["drug_class_ssri"] == active_class
    if drugs:
        is_active &= usable["drug_base"].isin([d.lower() for d in drugs])
    rows = []
    for study, group in usable.groupby("StudyID", sort=True):
        act = group[is_active.loc[group.index]]
        pla = group[is_placebo.loc[group.index]]
        if act.empty or pla.empty:
            continue
        drug_names = sorted(act["drug_base"].unique())
        rows.append(
            {
                "study": study,
                "year": group["year"].iloc[0],
                "published": bool(group["published"].iloc[0]),
                "subgroup": drug_names[0] if len(drug_names) == 1 else "multiple",
                "treat_events": act["responders"].sum(),
                "treat_n": act["n"].sum(),
                "ctrl_events": pla["responders"].sum(),
                "ctrl_n": pla["n"].sum(),
                LINE: int(group[LINE].iloc[0]),
            }
        )
    trials = pd.DataFrame(rows)
    if trials.empty:
        raise DataError([Problem(name, None, "drug_class_ssri", f"no placebo-controlled trial with a '{active_class}' arm")])
    return validate_trials(trials, "RR", name)


