"""Importers: each source's own data standard in, the project's trial schema out.

Every derivation choice is an argument with a documented default, so that a chapter's
parameters can change it without touching code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.validate import LINE, DataError, Problem, read_rows, validate_trials
from analysis.risk_of_bias import metapsy_domains

CIPRIANI_REQUIRED = ("StudyID", "Year_Published", "Drug", "drug_base", "drug_class_ssri", "No_randomised_num", "Responders_num")


def _check_columns(frame: pd.DataFrame, required, name: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError([Problem(name, 1, c, "required column is missing") for c in missing])


def _numeric(frame: pd.DataFrame, column: str, name: str, problems: list, allow_missing: bool = True) -> pd.Series:
    text = frame[column].astype("string").str.strip()
    values = pd.to_numeric(text.replace({"": pd.NA, "NA": pd.NA, "nan": pd.NA, "*": pd.NA}), errors="coerce")
    bad = values.isna() & text.notna() & ~text.isin(["", "NA", "nan", "*"])
    if not allow_missing:
        bad |= values.isna()
    for line, cell in zip(frame.loc[bad, LINE], text[bad]):
        problems.append(Problem(name, int(line), column, f"'{cell}' is not a number"))
    return values.astype(float)


def _validate_mapped(trials: pd.DataFrame, measure: str, name: str, mapping: dict) -> pd.DataFrame:
    """Validate derived trials, naming the source's own columns in any error."""
    try:
        return validate_trials(trials, measure, name)
    except DataError as err:
        raise DataError([Problem(p.file, p.line, mapping.get(p.column, p.column), p.message) for p in err.problems]) from None


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


def arm_totals(trials: pd.DataFrame) -> dict:
    """Crude (unweighted) response proportions summed over trials, for description only."""
    treat = trials["treat_events"].sum() / trials["treat_n"].sum()
    ctrl = trials["ctrl_events"].sum() / trials["ctrl_n"].sum()
    return {"treat": float(treat), "ctrl": float(ctrl), "treat_n": int(trials["treat_n"].sum()), "ctrl_n": int(trials["ctrl_n"].sum())}


def sniff_format(path: str | Path) -> tuple[str, str]:
    """Delimiter and decimal mark of a Metapsy release: its own ';' with ',' decimals, or standard CSV."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    return (";", ",") if header.count(";") > header.count(",") else (",", ".")


def read_metapsy(path: str | Path, required, numeric) -> pd.DataFrame:
    """Read a Metapsy database file in either format; check the required and numeric columns.

    Columns not named are kept as text, so a release that adds or drops optional columns
    still reads; a missing required column is an error naming the file and the column.
    """
    name = str(path)
    delimiter, decimal = sniff_format(path)
    rows = read_rows(path, delimiter=delimiter)
    _check_columns(rows, required, name)
    problems: list[Problem] = []
    for col in numeric:
        if col in rows.columns:
            if decimal != ".":
                rows[col] = rows[col].str.replace(decimal, ".", regex=False)
            rows[col] = _numeric(rows, col, name, problems)
    if problems:
        raise DataError(problems)
    return rows


PSYCTR_REQUIRED = ("study", "condition_arm1", "condition_arm2", ".g", ".g_se", "primary")
PSYCTR_NUMERIC = (".g", ".g_se", "primary", "rob", "year", "n_arm1", "n_arm2")


def read_metapsy_psyctr(path: str | Path) -> pd.DataFrame:
    """The Metapsy psychotherapy-vs-control database (one row per comparison and instrument)."""
    return read_metapsy(path, PSYCTR_REQUIRED, PSYCTR_NUMERIC)


def metapsy_comparisons(
    rows: pd.DataFrame,
    therapy: str = "cbt",
    primary_only: bool = True,
    low_rob_items: int = 4,
    name: str = "metapsy",
    require_rob: bool = False,
) -> pd.DataFrame:
    """Psychotherapy-vs-control comparisons in the trial schema (GEN: Hedges' g and its SE).

    Parameters
    ----------
    rows : DataFrame
        From :func:`read_metapsy_psyctr`.
    therapy : str
        ``condition_arm1`` value (``cbt``, ``pst``, ``ipt``, ``bat``, ...) or ``"any"``.
    primary_only : bool
        Keep one outcome per comparison: the database's ``primary`` flag (HAM-D > BDI > other
        clinician-rated > other self-report).
    low_rob_items : int
        A comparison is at low risk of bias when at least this many of the four Cochrane items
        (sequence generation, allocation concealment, blinding of assessors, ITT) are low risk.
    require_rob : bool
        Refuse a file that lacks any of the four item columns (``sg``, ``ac``, ``ba``, ``itt``).

    Returns
    -------
    DataFrame
        ``study`` (the study, with the arms of a multi-arm trial), ``trial`` (the study alone), ``year``, ``subgroup`` (the
        control: ``wl``, ``cau``, ``other ctr``), ``rob`` (``low`` or ``some``), ``effect``, ``se``, and
        the four risk-of-bias items as judgements (``rob_sg``, ``rob_ac``, ``rob_ba``, ``rob_itt``;
        :func:`analysis.risk_of_bias.metapsy_domains`) where the file has them.
        The effect sizes are the maintainers' ``.g``/``.g_se`` (Hedges' g at post-test).

    References
    ----------
    Cuijpers, P., et al. (2023). Cognitive behavior therapy vs. control conditions ... *World
    Psychiatry*, 22, 105-115. Metapsy data standard: docs.metapsy.org.
    """
    keep = rows["condition_arm1"].str.strip().str.lower() == therapy if therapy != "any" else rows["condition_arm1"].notna()
    if primary_only:
        keep &= rows["primary"] == 1
    sel = rows[keep & rows[".g"].notna() & rows[".g_se"].notna()].copy()
    arms = [c for c in ("multi_arm1", "multi_arm2") if c in sel.columns]

    def label(r):
        extra = [str(r[c]).strip() for c in arms if str(r[c]).strip() not in ("", "NA", "nan")]
        return f"{r['study']} ({' vs '.join(extra)})" if extra else r["study"]

    sel["label"] = sel.apply(label, axis=1)
    sel["label"] = sel["label"] + sel.groupby("label").cumcount().map(lambda i: "" if i == 0 else f" #{i + 1}")
    rob = sel["rob"] if "rob" in sel.columns else pd.Series(np.nan, index=sel.index)
    domains = metapsy_domains(sel, name, required=require_rob)
    trials = pd.DataFrame(
        {
            "study": sel["label"],
            "trial": sel["study"].str.strip(),
            "year": sel["year"] if "year" in sel.columns else np.nan,
            "subgroup": sel["condition_arm2"].str.strip(),
            "rob": np.where(rob >= low_rob_items, "low", np.where(rob.notna(), "some", "")),
            "effect": sel[".g"],
            "se": sel[".g_se"],
            **{col: domains[col] for col in domains.columns},
            LINE: sel[LINE],
        }
    )
    if trials.empty:
        raise DataError([Problem(name, None, "condition_arm1", f"no comparisons for therapy '{therapy}'")])
    return _validate_mapped(trials.reset_index(drop=True), "GEN", name, {"effect": ".g", "se": ".g_se"})


RESPONSE_REQUIRED = ("study", "disorder", "therapy", "improved.ig", "n.ig", "improved.cg", "n.cg")


def read_metapsy_response(path: str | Path) -> pd.DataFrame:
    """The Metapsy total-response database (responders per arm, psychotherapy vs control)."""
    return read_metapsy(path, RESPONSE_REQUIRED, ("improved.ig", "n.ig", "improved.cg", "n.cg", "year"))


def metapsy_response(rows: pd.DataFrame, therapy: str, disorder: str = "Depression", name: str = "metapsy") -> pd.DataFrame:
    """Response comparisons (binary, trial schema) for one therapy and disorder.

    ``therapy`` is the database's label (e.g. ``Problem-Solving Therapy``, ``Cognitive Behavior
    Therapy``) or ``"any"``; ``study.es`` identifies a comparison.
    """
    keep = rows["disorder"].str.strip() == disorder
    if therapy != "any":
        keep &= rows["therapy"].str.strip() == therapy
    sel = rows[keep]
    label = sel["study.es"] if "study.es" in sel.columns else sel["study"]
    trials = pd.DataFrame(
        {
            "study": label.str.strip(),
            "year": sel["year"] if "year" in sel.columns else np.nan,
            "treat_events": sel["improved.ig"],
            "treat_n": sel["n.ig"],
            "ctrl_events": sel["improved.cg"],
            "ctrl_n": sel["n.cg"],
            LINE: sel[LINE],
        }
    )
    if trials.empty:
        raise DataError([Problem(name, None, "therapy", f"no '{therapy}' comparisons for {disorder}")])
    mapping = {"study": "study.es", "treat_events": "improved.ig", "treat_n": "n.ig", "ctrl_events": "improved.cg", "ctrl_n": "n.cg"}
    return _validate_mapped(trials.reset_index(drop=True), "RR", name, mapping)


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


LINDE_REQUIRED = ("id", "author", "year", "treatment1", "treatment2", "n1", "resp1", "n2", "resp2")


def read_linde(path: str | Path) -> pd.DataFrame:
    """Linde et al. (2015): primary-care antidepressant trials, wide format (up to three arms)."""
    name = str(path)
    rows = read_rows(path)
    _check_columns(rows, LINDE_REQUIRED, name)
    problems: list[Problem] = []
    for col in [c for c in rows.columns if c[:-1] in ("n", "resp")]:
        rows[col] = _numeric(rows, col, name, problems)
    if problems:
        raise DataError(problems)
    return rows


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
