"""Metapsy databases (psychotherapy vs control; response), in their own ';'/',' format or standard CSV."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.review.errors import DataError, Problem
from analysis.review.trials import LINE, read_rows
from analysis.review.importers.common import _validate_mapped
from analysis.review.schemas import Base, check, events_within, number
from analysis.review.risk_of_bias import metapsy_domains


def sniff_format(path: str | Path) -> tuple[str, str]:
    """Delimiter and decimal mark of a Metapsy release: its own ';' with ',' decimals, or standard CSV."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    return (";", ",") if header.count(";") > header.count(",") else (",", ".")


def read_metapsy(path: str | Path, model) -> pd.DataFrame:
    """Read a Metapsy database file in either format and check it against ``model``.

    Columns the model does not name are kept as text, so a release that adds or drops
    optional columns still reads; a missing required column is an error naming the file and
    the column.
    """
    delimiter, decimal = sniff_format(path)
    return check(read_rows(path, delimiter=delimiter), model, str(path), decimal=decimal)


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

#: How one outcome is chosen per comparison: ``auto`` (the release's ``primary`` flag where it has
#: one, else the priority rule), ``primary`` (the flag; a release without it is refused) or
#: ``priority`` (the instrument priority rule, as metapsyTools' ``filterPriorityRule``).
OUTCOME_SELECTIONS = ("auto", "primary", "priority")

#: The Metapsy hierarchy of outcome instruments, highest first, as the database's own variable
#: description states it for ``primary`` (depression-psyctr, metadata/variable_description.json):
#: "HAM-D, BDI (I or II), another clinician-rated instrument, another self-report instrument, with
#: priority for: PHQ-9, CES-D, HADS, GDS, EPDS, MMPI". Written in the release's instrument codes;
#: codes joined by ``|`` share a rank, and ``rating=...`` stands for any instrument of that rating
#: not named before it.
DEFAULT_INSTRUMENT_PRIORITY = (
    "hdrs|hdrs-17|hdrs-24",
    "bdi-1|bdi-2|bdi",
    "rating=clinician",
    "phq-9",
    "ces-d",
    "hads-d",
    "gds",
    "epds",
    "mmpi-d",
    "rating=self-report",
)
ARM_COLUMNS = ("condition_arm1", "condition_arm2", "multi_arm1", "multi_arm2")
MULTIARM_COLUMNS = ("is_multiarm", "is.multiarm")  # the flag's names across releases


def read_metapsy_psyctr(path: str | Path) -> pd.DataFrame:
    """The Metapsy psychotherapy-vs-control database (one row per comparison and instrument)."""
    return read_metapsy(path, MetapsyPsyctr)


def _cell(series: pd.Series) -> pd.Series:
    """Text cells stripped, with the missing-value spellings of the releases as ''."""
    return series.astype("string").fillna("").str.strip().replace({"NA": "", "nan": "", "NaN": ""})


def comparison_keys(rows: pd.DataFrame) -> pd.Series:
    """One key per comparison: the study and its two arms (with the multi-arm specifications)."""
    parts = [_cell(rows["study"])] + [_cell(rows[c]) if c in rows.columns else pd.Series("", index=rows.index)
                                      for c in ARM_COLUMNS]
    key = parts[0]
    for part in parts[1:]:
        key = key + "\x1f" + part
    return key


def multiarm(rows: pd.DataFrame) -> pd.Series:
    """Whether each row's study is a multi-arm trial.

    The release's ``is_multiarm`` flag where it has one; otherwise recognised from the data: a
    study with more than one comparison (distinct arms) in the file, or with a multi-arm
    specification (``multi_arm1``/``multi_arm2``) filled in.
    """
    for col in MULTIARM_COLUMNS:
        if col in rows.columns:
            cells = _cell(rows[col])
            flag = pd.to_numeric(cells.mask(cells == ""), errors="coerce")
            if flag.notna().all():
                return flag.astype(float) == 1
    study = _cell(rows["study"])
    comparisons = comparison_keys(rows).groupby(study).transform("nunique")
    specified = pd.Series(False, index=rows.index)
    for col in ("multi_arm1", "multi_arm2"):
        if col in rows.columns:
            specified |= _cell(rows[col]) != ""
    return (comparisons > 1) | specified


def _priority_rank(rows: pd.DataFrame, priority, name: str) -> pd.Series:
    """Rank of each row's instrument in ``priority`` (0 = highest); NaN where none applies."""
    if "instrument" not in rows.columns:
        raise DataError([Problem(name, 1, "instrument", "required column is missing (the instrument priority rule needs it)")])
    instrument = _cell(rows["instrument"]).str.lower()
    rating = _cell(rows["rating"]).str.lower() if "rating" in rows.columns else pd.Series("", index=rows.index)
    rank = pd.Series(np.nan, index=rows.index)
    for i, entry in enumerate(priority):
        entry = str(entry).strip().lower()
        if entry.startswith("rating="):
            hit = rating == entry.partition("=")[2].strip()
        else:
            hit = instrument.isin([code.strip() for code in entry.split("|")])
        rank = rank.where(rank.notna() | ~hit, float(i))
    return rank


def select_outcomes(rows: pd.DataFrame, outcome_selection: str = "auto", instrument_priority=None,
                    name: str = "metapsy") -> tuple[pd.DataFrame, dict]:
    """One outcome per comparison, by the release's ``primary`` flag or the instrument priority rule.

    Parameters
    ----------
    rows : DataFrame
        From :func:`read_metapsy_psyctr`.
    outcome_selection : str
        ``auto`` (the ``primary`` flag where the release has one, else the priority rule),
        ``primary`` or ``priority`` (:data:`OUTCOME_SELECTIONS`).
    instrument_priority : list of str
        Instruments from highest to lowest priority (default :data:`DEFAULT_INSTRUMENT_PRIORITY`):
        release codes, several joined by ``|`` for one rank, or ``rating=clinician`` /
        ``rating=self-report`` for any instrument of that rating not named before.

    Returns
    -------
    (DataFrame, dict)
        The selected rows, and ``rule`` (``primary`` or ``priority``), ``comparisons`` (in the
        file), ``selected`` (comparisons kept), ``unmatched`` (comparisons with no instrument in
        the list, left out as ``filterPriorityRule`` leaves them out) and ``instruments``
        (instrument -> comparisons it gave, most first).

    Notes
    -----
    The priority rule follows metapsyTools' ``filterPriorityRule(instrument = ...)``: within each
    comparison (study and arms; metapsyTools groups by study, which is the same wherever the arms
    of a trial report the same instruments) the rows of the highest-ranked instrument present are
    kept. Post-test rows (``time`` = ``post``) come before follow-ups, and where two rows share the
    best rank (two instruments of one rank, or one listed twice) the first in the file is kept, so
    that each comparison gives one outcome.
    """
    if outcome_selection not in OUTCOME_SELECTIONS:
        raise DataError([Problem(name, None, "outcome_selection",
                                 f"{outcome_selection!r} is not one of {', '.join(OUTCOME_SELECTIONS)}")])
    priority = list(DEFAULT_INSTRUMENT_PRIORITY if instrument_priority is None else instrument_priority)
    keys = comparison_keys(rows)
    rule = outcome_selection
    if rule == "auto":
        rule = "primary" if "primary" in rows.columns else "priority"
    if rule == "primary":
        if "primary" not in rows.columns:
            raise DataError([Problem(name, 1, "primary", "required column is missing (outcome_selection 'primary' "
                                     "needs it; 'auto' or 'priority' selects by the instrument priority rule)")])
        chosen = rows[rows["primary"] == 1]
        unmatched = int(keys.nunique() - keys[chosen.index].nunique())
    else:
        if not priority:
            raise DataError([Problem(name, None, "instrument_priority", "the list of instruments is empty")])
        rank = _priority_rank(rows, priority, name)
        later = (_cell(rows["time"]).str.lower() != "post").astype(int) if "time" in rows.columns else 0
        order = pd.DataFrame({"key": keys, "later": later, "rank": rank, "pos": np.arange(len(rows))}, index=rows.index)
        order = order[order["rank"].notna()].sort_values(["key", "later", "rank", "pos"])
        chosen = rows.loc[order.drop_duplicates("key").sort_values("pos").index]
        unmatched = int(keys.nunique() - order["key"].nunique())
    instrument = _cell(chosen["instrument"]) if "instrument" in chosen.columns else pd.Series("", index=chosen.index)
    counts = instrument.replace("", "not stated").groupby(keys[chosen.index]).first().value_counts()
    counts = counts.sort_index().sort_values(ascending=False, kind="stable")
    info = {
        "rule": rule,
        "comparisons": int(keys.nunique()),
        "selected": int(keys[chosen.index].nunique()),
        "unmatched": unmatched,
        "instruments": {str(k): int(v) for k, v in counts.items()},
        "priority": priority,
    }
    return chosen, info


def metapsy_comparisons(
    rows: pd.DataFrame,
    therapy: str = "cbt",
    primary_only: bool = True,
    low_rob_items: int = 4,
    name: str = "metapsy",
    require_rob: bool = False,
    outcome_selection: str = "auto",
    instrument_priority=None,
) -> pd.DataFrame:
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
        How the one outcome is chosen: the release's ``primary`` flag (HAM-D > BDI > other
        clinician-rated > other self-report) or, in releases without it, the same hierarchy as an
        instrument priority rule; see :func:`select_outcomes`.
    low_rob_items : int
        A comparison is at low risk of bias when at least this many of the four Cochrane items
        (sequence generation, allocation concealment, blinding of assessors, ITT) are low risk.
    require_rob : bool
        Refuse a file that lacks any of the four item columns (``sg``, ``ac``, ``ba``, ``itt``).

    Returns
    -------
    DataFrame
        ``study`` (the study, with the arms of a multi-arm trial), ``trial`` (the study alone), ``instrument``,
        ``multiarm`` (a comparison from a multi-arm trial: :func:`multiarm`), ``year``, ``subgroup`` (the
        control: ``wl``, ``cau``, ``other ctr``), ``rob`` (``low`` or ``some``), ``effect``, ``se``, and
        the four risk-of-bias items as judgements (``rob_sg``, ``rob_ac``, ``rob_ba``, ``rob_itt``;
        :func:`analysis.review.risk_of_bias.metapsy_domains`) where the file has them.
        The effect sizes are the maintainers' ``.g``/``.g_se`` (Hedges' g at post-test).
        ``attrs["outcome_selection"]`` holds what :func:`select_outcomes` reports: the rule used and
        the comparisons each instrument gave.

    References
    ----------
    Cuijpers, P., et al. (2023). Cognitive behavior therapy vs. control conditions ... *World
    Psychiatry*, 22, 105-115. Metapsy data standard: docs.metapsy.org.
    """
    keep = rows["condition_arm1"].str.strip().str.lower() == therapy if therapy != "any" else rows["condition_arm1"].notna()
    rows = rows.assign(_multiarm=multiarm(rows), _key=comparison_keys(rows))
    usable = rows[keep & rows[".g"].notna() & rows[".g_se"].notna()]
    if primary_only:
        sel, info = select_outcomes(usable, outcome_selection, instrument_priority, name)
        sel = sel.copy()
    else:
        sel, info = usable.copy(), {"rule": "all outcomes"}
    arms = [c for c in ("multi_arm1", "multi_arm2") if c in sel.columns]
    pairs = sel.groupby(_cell(sel["study"]))["_key"].transform("nunique") if len(sel) else sel["_key"]

    def label(r):
        extra = [str(r[c]).strip() for c in arms if str(r[c]).strip() not in ("", "NA", "nan", "<NA>")]
        if not extra and r["_multiarm"] and pairs[r.name] > 1:  # a release without the multi-arm columns
            extra = [str(r["condition_arm1"]).strip(), str(r["condition_arm2"]).strip()]
        return f"{r['study']} ({' vs '.join(extra)})" if extra else r["study"]

    sel["label"] = sel.apply(label, axis=1)
    sel["label"] = sel["label"] + sel.groupby("label").cumcount().map(lambda i: "" if i == 0 else f" #{i + 1}")
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
    if trials.empty:
        raise DataError([Problem(name, None, "condition_arm1", f"no comparisons for therapy '{therapy}'")])
    trials = _validate_mapped(trials.reset_index(drop=True), "GEN", name, {"effect": ".g", "se": ".g_se"})
    if primary_only:
        counts = trials["instrument"].replace("", "not stated").value_counts()
        info["instruments"] = {str(k): int(v) for k, v in counts.sort_index().sort_values(ascending=False, kind="stable").items()}
    trials.attrs["outcome_selection"] = info
    return trials


VERSION = re.compile(r"(?<![\d.])v?(\d+\.\d+\.\d+)(?!\.?\d)")


def release_file(data: str | Path, name: str, pattern: str | None = None) -> Path | None:
    """A metadata file of the release a data file belongs to, as the Metapsy data standard lays a
    release out (``data.csv`` beside a ``metadata/`` folder): ``metadata/<name>``, else ``<name>``
    beside the data, else the one file matching ``pattern`` beside the data; None if there is none."""
    folder = Path(data).parent
    for candidate in (folder / "metadata" / name, folder / name):
        if candidate.is_file():
            return candidate
    if pattern:
        matches = sorted(p for p in folder.glob(pattern) if p.is_file())
        if len(matches) == 1:
            return matches[0]
    return None


def release_version(data: str | Path, stated: str = "") -> str:
    """The version of a Metapsy release (``MAJOR.MINOR.PATCH``): as stated (a parameter), else
    from the data file's name (``data_v22.0.2.csv``), else from its folders' names (a GitHub or
    Zenodo release unpacks to ``data-depression-psyctr-23.0.0/``); '' if none says."""
    if stated:
        return str(stated).strip()
    path = Path(data)
    for part in [path.name] + [p.name for p in list(path.parents)[:3]]:
        match = VERSION.search(part)
        if match:
            return match.group(1)
    return ""


def release_last_search(data: str | Path) -> str | None:
    """The date of the release's last search, from ``metadata/last_search.txt`` (YYYY-MM-DD, the
    one date the Metapsy metadata standard gives); None where the release has no such file."""
    found = release_file(data, "last_search.txt")
    if found is None:
        return None
    text = found.read_text(encoding="utf-8", errors="replace").strip()
    match = re.search(r"\d{4}-\d{2}-\d{2}", text)
    return match.group(0) if match else None


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


