"""Metapsy databases (psychotherapy vs control; response), in their own ';'/',' format or standard CSV."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.review.errors import DataError, DroppedRowsWarning, Problem, dropped_rows
from analysis.review.trials import LINE, read_rows
from analysis.review.importers.common import _validate_mapped
from analysis.review.shared import shared
from analysis.review.schemas import Base, check, events_within, number
from analysis.review.risk_of_bias import metapsy_domains
from analysis.review.importers.metapsy_standard import (  # noqa: F401  (re-exported: the standard's rules)
    DEFAULT_INSTRUMENT_PRIORITY, OUTCOME_SELECTIONS, _cell, comparison_keys, multiarm, release_file,
    release_last_search, release_version, select_outcomes,
)


def sniff_format(path: str | Path) -> tuple[str, str]:
    """Delimiter and decimal mark of a Metapsy release: its own ';' with ',' decimals, or standard CSV."""
    from analysis.review.safeio import regular_file

    # a FIFO or a directory is refused before anything opens it; any size (the table is read line by line)
    regular_file(path, "data file", limit=0)
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    return (";", ",") if header.count(";") > header.count(",") else (",", ".")


def read_metapsy(path: str | Path, model) -> pd.DataFrame:
    """Read a Metapsy database file in either format and check it against ``model``.

    Columns the model does not name are kept as text (but for :data:`FREE_TEXT`), so a release
    that adds or drops optional columns still reads; a missing required column is an error naming
    the file and the column.
    """
    delimiter, decimal = sniff_format(path)
    return check(read_rows(path, delimiter=delimiter, drop=FREE_TEXT), model, str(path), decimal=decimal)


#: Bibliographic free text of a Metapsy release that no analysis reads; not kept in memory (the
#: abstracts alone are a fifth of a large release).
FREE_TEXT = ("abstract", "full_ref", "title", "url", "journal", "doi")


class MetapsyPsyctr(Base):
    """Metapsy psychotherapy vs control: one row per comparison and outcome instrument."""

    study: Series[str]
    condition_arm1: Series[str]
    condition_arm2: Series[str]
    g: Series[float] = number(nullable=True, alias=".g")
    g_se: Series[float] = number(nullable=True, gt=0, alias=".g_se")
    primary: Optional[Series[float]] = number(nullable=True, isin=[0, 1])  # dropped by later releases
    rob: Optional[Series[float]] = number(nullable=True, ge=0)
    year: Optional[Series[float]] = number(nullable=True)
    n_arm1: Optional[Series[float]] = number(nullable=True, gt=0)
    n_arm2: Optional[Series[float]] = number(nullable=True, gt=0)


PSYCTR_NUMERIC = (".g", ".g_se", "primary", "rob", "year", "n_arm1", "n_arm2")


#: Optional columns every reader of the psychotherapy table may rely on: a release without them reads
#: with them empty (NaN), so an analysis says "not recorded" instead of failing.
PSYCTR_ALWAYS = ("n_arm1", "n_arm2")


#: The control conditions of the psychotherapy release (its ``condition_arm2`` codes, defined in
#: its data dictionary) as the book names them; a code not listed is shown as the release writes it.
CONTROL_NAMES = {"wl": "waitlist", "cau": "care as usual", "other ctr": "other control"}
#: The two control conditions of the waitlist contrast (added after the first results).
WAITLIST, CARE_AS_USUAL = "wl", "cau"


@shared(reads_file=True)
def read_metapsy_psyctr(path: str | Path) -> pd.DataFrame:
    """The Metapsy psychotherapy-vs-control database (one row per comparison and instrument); the
    arm sizes (:data:`PSYCTR_ALWAYS`) are NaN where the release does not record them."""
    rows = read_metapsy(path, MetapsyPsyctr)
    return rows.assign(**{c: np.nan for c in PSYCTR_ALWAYS if c not in rows.columns})


def arm_words(spec) -> str:
    """A multi-arm specification without nested brackets: the release writes an arm as its condition
    with the variant in brackets (``cbt (guided i-cbt)``), which becomes the variant
    (``guided i-cbt``); an arm without one stays as it is (``wl``)."""
    text = " ".join(str(spec).split())
    variant = re.fullmatch(r"[^()]*?\s*\((.+)\)", text)
    return variant.group(1).strip() if variant else text


def _labels(sel: pd.DataFrame) -> pd.Series:
    """A label per comparison: the study, then, after a colon, the arms of a multi-arm trial (the
    release's multi-arm specifications by :func:`arm_words`, else the conditions where the release
    lacks them), numbered where still equal: ``Berger, 2011: guided i-cbt vs wl``."""
    arms = [c for c in ("multi_arm1", "multi_arm2") if c in sel.columns]
    pairs = sel.groupby(_cell(sel["study"]))["_key"].transform("nunique") if len(sel) else sel["_key"]

    def label(r):
        extra = [arm_words(r[c]) for c in arms if str(r[c]).strip() not in ("", "NA", "nan", "<NA>")]
        if not extra and r["_multiarm"] and pairs[r.name] > 1:  # a release without the multi-arm columns
            extra = [arm_words(r["condition_arm1"]), arm_words(r["condition_arm2"])]
        return f"{r['study']}: {' vs '.join(extra)}" if extra else r["study"]

    if not len(sel):
        return pd.Series([], index=sel.index, dtype=object)
    labels = sel.apply(label, axis=1)
    return labels + labels.groupby(labels).cumcount().map(lambda i: "" if i == 0 else f" #{i + 1}")


def _instrument_counts(instrument: pd.Series) -> dict:
    """Instrument -> comparisons it gave, most first (ties by name)."""
    counts = instrument.replace("", "not stated").value_counts()
    return {str(k): int(v) for k, v in counts.sort_index().sort_values(ascending=False, kind="stable").items()}


def _outcomes(rows, therapy, primary_only, outcome_selection, instrument_priority, name):
    """The rows of ``therapy`` with an effect size, one outcome per comparison, labelled."""
    keep = rows["condition_arm1"].str.strip().str.lower() == therapy if therapy != "any" else rows["condition_arm1"].notna()
    rows = rows.assign(_multiarm=multiarm(rows), _key=comparison_keys(rows))
    missing = keep & (rows[".g"].isna() | rows[".g_se"].isna())
    if missing.any():  # as metafor: left out of the analysis, with a warning naming where
        warnings.warn(DroppedRowsWarning(dropped_rows(name, rows.loc[missing, LINE], "a missing effect size or SE",
                                                      (".g", ".g_se"))), stacklevel=3)
    usable = rows[keep & ~missing]
    chosen, info = select_outcomes(usable, outcome_selection, instrument_priority, name)
    if primary_only:
        sel = chosen.copy()
    else:  # every outcome, the one the rule selects per comparison marked
        sel = usable.assign(_selected=usable.index.isin(chosen.index))
        info = {**info, "rule_all": "all outcomes"}
    sel = sel.copy()
    sel["label"] = _labels(sel)
    return sel, info


def _every_outcome_columns(sel: pd.DataFrame) -> dict:
    """The columns of the all-outcomes table beyond the trial schema (optional ones as NaN or '')."""
    text = {col: (_cell(sel[col]) if col in sel.columns else pd.Series("", index=sel.index))
            for col in ("diagnosis", "format")}
    return {
        "selected": sel["_selected"].astype(bool),
        "comparison": sel["_key"],
        "rob_score": sel["rob"] if "rob" in sel.columns else np.nan,
        **text,
    }


def metapsy_comparisons(rows: pd.DataFrame, therapy: str = "cbt", primary_only: bool = True, low_rob_items: int = 4,
                        name: str = "metapsy", require_rob: bool = False, outcome_selection: str = "auto",
                        instrument_priority=None) -> pd.DataFrame:
    """Psychotherapy-vs-control comparisons in the trial schema (GEN: Hedges' g and its SE).

    Parameters
    ----------
    rows : DataFrame
        From :func:`read_metapsy_psyctr`.
    therapy : str
        ``condition_arm1`` value (``cbt``, ``pst``, ``ipt``, ``bat``, ...) or ``"any"``.
    primary_only : bool
        Keep one outcome per comparison (by ``outcome_selection``); False keeps every outcome.
    outcome_selection, instrument_priority
        How: the ``primary`` flag or the priority rule (:func:`select_outcomes`).
    low_rob_items : int
        ``rob`` is ``low`` when the database's score (0-4 items at low risk) reaches this.
    require_rob : bool
        Refuse a file that lacks any of the item columns ``sg``, ``ac``, ``ba``, ``itt``.

    Returns
    -------
    DataFrame
        ``study`` (with the arms of a multi-arm trial), ``trial``, ``instrument``, ``multiarm``, ``year``,
        ``subgroup`` (the control: ``wl``, ``cau``, ``other ctr``), ``rob`` (the database score: ``low`` or
        ``some``), ``effect``, ``se`` (the maintainers' ``.g``, ``.g_se``) and the risk-of-bias items as
        judgements (``rob_sg`` ...; :func:`analysis.review.risk_of_bias.metapsy_domains`).
        With ``primary_only=False``, every outcome, and also ``selected`` (the outcome the rule keeps
        for its comparison), ``comparison`` (one key per comparison, shared by its outcomes: the study and its arms),
        ``rob_score`` (the database's count of items at low risk, NaN where a release lacks it),
        ``diagnosis`` and ``format`` ('' where a release lacks them): the multiverse's choices.
        ``attrs["outcome_selection"]``: the rule used and the comparisons each instrument gave.
        Metapsy data standard: docs.metapsy.org; Cuijpers et al. (2023), *World Psychiatry*, 22, 105-115.
    """
    sel, info = _outcomes(rows, therapy, primary_only, outcome_selection, instrument_priority, name)
    rob = sel["rob"] if "rob" in sel.columns else pd.Series(np.nan, index=sel.index)
    domains = metapsy_domains(sel, name, required=require_rob)
    trials = pd.DataFrame(
        {
            "study": sel["label"],
            "trial": sel["study"].str.strip(),
            "instrument": _cell(sel["instrument"]) if "instrument" in sel.columns else "",
            "multiarm": sel["_multiarm"].astype(bool),
            "year": sel["year"] if "year" in sel.columns else np.nan,
            "subgroup": sel["condition_arm2"].str.strip(),
            "rob": np.where(rob >= low_rob_items, "low", np.where(rob.notna(), "some", "")),
            "effect": sel[".g"],
            "se": sel[".g_se"],
            **{col: domains[col] for col in domains.columns},
            LINE: sel[LINE],
        }
    )
    if not primary_only:
        trials = trials.assign(**_every_outcome_columns(sel))
    if trials.empty:
        raise DataError([Problem(name, None, "condition_arm1", f"no comparisons for therapy '{therapy}'")])
    trials = _validate_mapped(trials.reset_index(drop=True), "GEN", name, {"effect": ".g", "se": ".g_se"})
    info["instruments"] = _instrument_counts(trials["instrument"]) if primary_only else info.get("instruments")
    trials.attrs["outcome_selection"] = info
    return trials


class MetapsyResponse(Base):
    """Metapsy total response: responders and totals per arm, one row per comparison."""

    study: Series[str]
    disorder: Series[str]
    therapy: Series[str]
    improved_ig: Series[float] = number(nullable=True, ge=0, alias="improved.ig")
    n_ig: Series[float] = number(nullable=True, gt=0, alias="n.ig")
    improved_cg: Series[float] = number(nullable=True, ge=0, alias="improved.cg")
    n_cg: Series[float] = number(nullable=True, gt=0, alias="n.cg")
    year: Optional[Series[float]] = number(nullable=True)

    @pa.dataframe_check(error="improved.ig: responders exceed n.ig")
    def ig_within(cls, df):
        return events_within(df, "improved.ig", "n.ig")

    @pa.dataframe_check(error="improved.cg: responders exceed n.cg")
    def cg_within(cls, df):
        return events_within(df, "improved.cg", "n.cg")


def read_metapsy_response(path: str | Path) -> pd.DataFrame:
    """The Metapsy total-response database (responders per arm, psychotherapy vs control)."""
    return read_metapsy(path, MetapsyResponse)


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
            "trial": sel["study"].str.strip(),
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


