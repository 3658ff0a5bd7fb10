"""Which trials of a data file the analysis pools, which it leaves out and why (PRISMA 2020 item
16b, AMSTAR 2 item 7), and the boxes of each dataset's flow diagram
(:func:`analysis.figures.flow_diagram`).

GRISELDA (Cipriani et al., 2018) is read arm by arm: a trial is pooled against placebo when it
has a placebo arm and an arm of the active class, each with the number randomised and the
outcome. The reasons are checked in that order, so each excluded trial has one reason, the first
that applies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.review.importers.cipriani import OUTCOMES

NO_PLACEBO = "no placebo arm"
NO_ACTIVE = "no arm of the active class"
NO_OUTCOME = "outcome or number randomised missing in every active or every placebo arm"


def _classes(arms: pd.DataFrame, active_class: str) -> tuple[pd.Series, pd.Series]:
    placebo = arms["drug_class_ssri"] == "placebo"
    active = ~placebo if active_class == "any" else arms["drug_class_ssri"] == active_class
    return active, placebo


def griselda_exclusions(arms: pd.DataFrame, active_class: str = "SSRI", outcome: str = "response") -> pd.DataFrame:
    """Every trial of the GRISELDA arms with whether it is pooled and, if not, why.

    Returns
    -------
    DataFrame
        ``study`` (stripped, as the pooled trial table names it), ``reason`` (empty for a pooled trial), ``pooled`` (bool), ``imputed_arms``
        (arms of the pooled comparison whose responders the authors imputed, ``Responders_imputed``
        = 1), in StudyID order.
    """
    active, placebo = _classes(arms, active_class)
    has = arms[OUTCOMES[outcome]].notna() & arms["n"].notna()
    imputed = arms["Responders_imputed"].astype(str).str.strip() == "1" if "Responders_imputed" in arms else False
    per = pd.DataFrame({"study": arms["StudyID"], "placebo": placebo, "active": active,
                        "placebo_ok": placebo & has, "active_ok": active & has,
                        "imputed": (active | placebo) & has & imputed}).groupby("study", sort=True).sum()
    reason = np.select([per["placebo"] == 0, per["active"] == 0, (per["placebo_ok"] == 0) | (per["active_ok"] == 0)],
                       [NO_PLACEBO, NO_ACTIVE, NO_OUTCOME], default="")
    return pd.DataFrame({"study": per.index.str.strip(), "reason": reason, "pooled": reason == "",
                         "imputed_arms": per["imputed"].astype(int).to_numpy()}).reset_index(drop=True)


def without_imputed(arms: pd.DataFrame, active_class: str = "SSRI") -> pd.DataFrame:
    """The arms of the trials none of whose pooled arms has imputed responders (a sensitivity
    analysis: the authors imputed responders for some arms from a continuous outcome)."""
    table = griselda_exclusions(arms, active_class)
    imputed = set(table.loc[table["imputed_arms"] > 0, "study"])
    return arms[~arms["StudyID"].str.strip().isin(imputed)]


def reason_counts(table: pd.DataFrame) -> dict:
    """Excluded trials per reason, in the order the reasons are checked (reasons with none left out)."""
    counts = table.loc[~table["pooled"], "reason"].value_counts()
    return {r: int(counts[r]) for r in (NO_PLACEBO, NO_ACTIVE, NO_OUTCOME) if r in counts}


def dataset_flow_boxes(dataset: str, in_file: int, excluded: dict, pooled: int, unit: str = "trials",
                       pooled_note: str = "") -> list[dict]:
    """The boxes of a dataset's flow diagram, from the file to the analysis: records in the file,
    those left out with their reasons (a side box), and those pooled.

    Raises
    ------
    ValueError
        When the counts do not add up (in the file minus excluded is not pooled).
    """
    if in_file - sum(excluded.values()) != pooled:
        raise ValueError(f"{dataset}: {in_file} in the file minus {sum(excluded.values())} excluded is not {pooled} pooled")
    reasons = "\n".join(f"  {reason} (n = {n:,})" for reason, n in excluded.items())
    return [
        {"stage": "Identification", "main": f"{unit.capitalize()} in {dataset} (n = {in_file:,})",
         "side": f"{unit.capitalize()} excluded (n = {sum(excluded.values()):,}):\n{reasons}" if excluded else None},
        {"stage": "Included", "main": f"{unit.capitalize()} pooled (n = {pooled:,}){pooled_note}", "side": None},
    ]


def selection_flow(dataset: str, in_file: int, pooled: int, reason: str, unit: str = "trials") -> list[dict]:
    """The flow boxes of a selection by one rule (the trials of a file that make the comparison):
    the file's trials, those the rule leaves out under ``reason``, and those pooled."""
    if not 0 <= pooled <= in_file:
        raise ValueError(f"{dataset}: {pooled} pooled of {in_file} in the file")
    return dataset_flow_boxes(dataset, in_file, {reason: in_file - pooled} if pooled < in_file else {}, pooled, unit)


def network_flow(arms, data, study: str = "StudyID") -> tuple[int, dict, int]:
    """The trials of an arm-level file from the file to a network (``data``, a
    :class:`analysis.meta.nma_data.NetworkData`): trials in the file, those left with fewer than
    two arms reporting the outcome, and those in the network."""
    in_file = int(arms[study].astype(str).str.strip().nunique())
    out = in_file - data.n_studies
    return in_file, ({"fewer than two arms with the outcome and the number randomised": out} if out else {}), data.n_studies


def response_flow(rows, trials, therapy: str, disorder: str = "Depression") -> tuple[int, dict, int]:
    """The trials of the Metapsy total-response file from the file to one therapy's comparisons
    with control conditions (``trials``, from :func:`analysis.review.selections.response_trials`):
    trials in the file, those of another disorder, those of the disorder without a comparison of
    ``therapy``, and those pooled (trials, not comparisons: a trial may give several)."""
    study = rows["study"].astype(str).str.strip()
    in_file = int(study.nunique())
    of_disorder = int(study[rows["disorder"].astype(str).str.strip() == disorder].nunique())
    pooled = int(trials["trial"].nunique())
    reasons = {f"not {disorder.lower()}": in_file - of_disorder,
               f"no comparison of {therapy.lower()} with a control condition": of_disorder - pooled}
    return in_file, {k: n for k, n in reasons.items() if n}, pooled


def placebo_flow(rows, trials, active: str) -> tuple[int, dict, int]:
    """The trials of the Linde et al. (2015) file from the file to the ``active``-versus-placebo
    comparison (``trials``, one per trial): trials in the file; those left out by the first reason
    that applies (no ``active`` arm that reports response, then no placebo arm that does); those pooled."""
    arms = [i for i in (1, 2, 3) if f"treatment{i}" in rows.columns]

    def has(row, label):
        return any(str(row[f"treatment{i}"]).strip() == label and not pd.isna(row[f"resp{i}"]) for i in arms)

    with_active = rows[[has(r, active) for _, r in rows.iterrows()]]
    with_both = with_active[[has(r, "Placebo") for _, r in with_active.iterrows()]]
    in_file, pooled = len(rows), len(trials)
    if len(with_both) != pooled:
        raise ValueError(f"Linde file: {len(with_both)} trials with both arms, {pooled} pooled")
    reasons = {f"no {active} arm reporting response": in_file - len(with_active),
               "no placebo arm reporting response": len(with_active) - pooled}
    return in_file, {k: n for k, n in reasons.items() if n}, pooled
