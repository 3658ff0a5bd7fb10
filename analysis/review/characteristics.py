"""Characteristics of the included studies (PRISMA 2020 item 17), computed from the pooled rows.

One table per dataset: how many trials and comparisons, how many participants, the years of
publication, and how the trials are distributed over the characteristics the release records
(country, format, control condition for psychotherapy; drug and publication status for the SSRI set).
The release's own codes are shown as the release spells them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.trial_rules import MISSING
from analysis.review.trials import LINE

#: What the table shows for a characteristic the release leaves empty or missing (``NA``; the
#: release's own codes, such as "Not specified", are shown as they are).
NOT_RECORDED = "not recorded"

#: Metapsy columns described, with the reader's label.
PSYCTR_FEATURES = {"condition_arm2": "control condition", "country": "country or region", "format": "format",
                   "diagnosis": "diagnosis", "age_group": "age group"}


def pooled_release_rows(rows: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """The release's rows of the comparisons pooled (matched on the file line), in the trials' order."""
    by_line = rows.set_index(LINE)
    return by_line.loc[trials[LINE].to_numpy()].reset_index()


def _counts(values: pd.Series, trials: pd.Series) -> str:
    """``code: comparisons (trials)`` for each value, most frequent first."""
    text = values.astype("string").str.strip()
    frame = pd.DataFrame({"value": text.mask(text.isna() | text.isin(MISSING), NOT_RECORDED), "trial": trials})
    grouped = frame.groupby("value").agg(k=("trial", "size"), trials=("trial", "nunique"))
    grouped = grouped.sort_values(["k", "trials"], ascending=False)
    return "; ".join(f"{v}: {r.k:,} ({r.trials:,})" for v, r in grouped.iterrows())


def read_release_dictionary(path: str | Path, columns: dict = PSYCTR_FEATURES) -> pd.DataFrame:
    """The release's own definition of each coded column, verbatim from its data dictionary
    (Metapsy's ``variable_description.json``: an object of column name to description), for the
    columns described in the characteristics table.

    Raises
    ------
    DataError
        When the file is not a JSON object of strings (naming the file, line and key).
    """
    from analysis.review.safeio import line_of_key, load_json  # refuses non-files, non-UTF-8, duplicate keys, deep nesting

    entries, text = load_json(Path(path), "data dictionary")
    if not isinstance(entries, dict):
        raise DataError([Problem(str(path), 1, None, "expected a JSON object of column name to description")])
    wrong = [Problem(str(path), line_of_key(text, k), k, "the description is not text")
             for k, v in entries.items() if not isinstance(v, str)]
    if wrong:
        raise DataError(wrong)
    rows = [(label, entries[col]) for col, label in columns.items() if col in entries]
    return pd.DataFrame(rows, columns=["characteristic", "the release's data dictionary"])


def _years(years: pd.Series, unit: str = "comparisons") -> str:
    """``1984 to 2015 (median 2001)``, saying over how many of the ``unit`` when some record no year."""
    y = pd.to_numeric(years, errors="coerce").dropna()
    if y.empty:
        return "not recorded"
    part = "" if len(y) == len(years) else f"; the {len(y):,} of {len(years):,} {unit} that record one"
    return f"{int(y.min())} to {int(y.max())} (median {y.median():.0f}{part})"


def codes_in_use(rows: pd.DataFrame, trials: pd.DataFrame, columns: dict = PSYCTR_FEATURES) -> dict:
    """The codes the pooled comparisons use in each described column (reader's label -> sorted codes),
    missing values left out."""
    pooled = pooled_release_rows(rows, trials)
    out = {}
    for col, label in columns.items():
        if col in pooled.columns:
            text = pooled[col].astype("string").str.strip()
            out[label] = sorted(set(text[text.notna() & ~text.isin(MISSING)]))
    return out


def undefined_codes(dictionary: pd.DataFrame, codes: dict) -> pd.DataFrame:
    """The data dictionary (:func:`read_release_dictionary`) with a column of the codes the data use
    that its entry does not define: a code is defined when the entry reads ``code=`` (or ``code =``)
    at the start of the entry or after a space, comma, semicolon or bracket."""
    def missing(label, entry):
        used = codes.get(label, [])
        gaps = [c for c in used if not re.search(rf"(^|[\s,;(]){re.escape(c)}\s*=", entry)]
        return ", ".join(gaps) or "none"

    column = dictionary.columns[1]
    return dictionary.assign(**{"codes in the data it does not define": [
        missing(label, entry) for label, entry in zip(dictionary["characteristic"], dictionary[column])]})


def psychotherapy_characteristics(rows: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """Characteristics of the pooled psychotherapy comparisons: a row per characteristic.

    Participants are the arm sizes the release records at post-test, each arm counted once
    (:func:`participants`); an arm without a size is not counted (the row says how many comparisons lack one).
    """
    pooled = pooled_release_rows(rows, trials)
    n = pd.to_numeric(pooled["n_arm1"], errors="coerce") + pd.to_numeric(pooled["n_arm2"], errors="coerce")
    total = participants(rows, trials)
    out = [("trials", f"{trials['trial'].nunique():,}"), ("comparisons", f"{len(trials):,}"),
           ("participants (each arm once)",
            f"{'not recorded' if total is None else f'{total:,}'} ({int(n.isna().sum()):,} comparisons lack one or "
            f"both arm sizes; only the sizes given are counted)"),
           ("years of publication", _years(trials["year"]))]
    out += [(f"{label}: comparisons (trials)", _counts(pooled[col], trials["trial"]))
            for col, label in PSYCTR_FEATURES.items() if col in pooled.columns]
    return pd.DataFrame(out, columns=["characteristic", "value"])


def participants(rows: pd.DataFrame, trials: pd.DataFrame) -> int | None:
    """Participants of the pooled psychotherapy comparisons: each arm counted once, so that a control
    arm shared by two comparisons of a multi-arm trial is not counted twice. Two comparisons share an
    arm when the trial, the side, the condition, the multi-arm specification (where the release has
    these columns) and the post-test n are the same; arms of unequal size are counted apart. None
    when the release records no arm sizes."""
    pooled = pooled_release_rows(rows, trials)
    blank = pd.Series("", index=pooled.index)
    sides = []
    for side in ("1", "2"):
        sides.append(pd.DataFrame({"trial": trials["trial"].to_numpy(), "side": side,
                                   **{key: pooled.get(f"{key}_arm{side}", blank).astype(str).str.strip().to_numpy()
                                      for key in ("condition", "multi")},
                                   "n": pd.to_numeric(pooled[f"n_arm{side}"], errors="coerce").to_numpy()}))
    arms = pd.concat(sides, ignore_index=True).dropna(subset=["n"])
    if arms.empty:
        return None
    return int(arms.drop_duplicates()["n"].sum())


def binary_characteristics(trials: pd.DataFrame, by: str = "subgroup", by_label: str = "drug") -> pd.DataFrame:
    """Characteristics of a set of two-arm binary comparisons (events and sizes per arm): trials,
    participants, years, and the trials per ``by`` value and by publication status when recorded."""
    study = trials["study"]
    out = [("trials", f"{study.nunique():,}"), ("comparisons", f"{len(trials):,}"),
           ("participants (both arms)", f"{int(trials['treat_n'].sum() + trials['ctrl_n'].sum()):,}"),
           ("years of publication", _years(trials["year"]) if "year" in trials.columns else "not recorded")]
    if by in trials.columns:
        out.append((f"{by_label}: comparisons (trials)", _counts(trials[by], study)))
    if "published" in trials.columns:
        labels = trials["published"].map({True: "published", False: "unpublished"})
        out.append(("publication status: comparisons (trials)", _counts(labels, study)))
    return pd.DataFrame(out, columns=["characteristic", "value"])


def _median_text(values: pd.Series, fmt: str = ".0f") -> str:
    v = pd.to_numeric(values, errors="coerce").dropna()
    return "not recorded" if v.empty else f"{v.median():{fmt}} ({v.min():{fmt}} to {v.max():{fmt}})"


def network_characteristics(arms: pd.DataFrame, study: str = "StudyID", treatment: str = "drug_base") -> pd.DataFrame:
    """Characteristics of the trials of an arm-level network, one row per treatment and a last row
    for all: trials with an arm of it, arms, participants randomised (``n``), and the median (range)
    over those trials of the year of publication, the duration in weeks and the baseline HAM-D, each
    over the trials that record it. A trial's value is the unweighted mean over the arms of the row:
    in a treatment's row, over that treatment's arms in the trial (for the baseline HAM-D, those rated
    on a HAM-D version); in the last row, over all the trial's arms (HAM-D-rated ones for the
    baseline). Counts are integers; :func:`network_characteristics_table` prints them."""
    def per_trial(part: pd.DataFrame, column: str) -> pd.Series:
        return pd.to_numeric(part[column], errors="coerce").groupby(part[study]).mean()

    def describe(part: pd.DataFrame, label: str) -> dict:
        hamd = part["scale"].astype(str).str.upper().str.startswith("HAMD")
        return {"treatment": label, "trials": int(part[study].nunique()), "arms": len(part),
                "randomised": int(pd.to_numeric(part["n"], errors="coerce").sum()),
                "year": _median_text(per_trial(part, "year")), "weeks": _median_text(per_trial(part, "weeks")),
                "baseline HAM-D": _median_text(per_trial(part[hamd], "baseline_mean"), ".1f")}

    rows = [describe(part, str(t)) for t, part in arms.groupby(treatment)]
    rows.sort(key=lambda r: (-r["trials"], r["treatment"]))
    rows.append(describe(arms, "all"))
    return pd.DataFrame(rows)


def network_characteristics_table(arms: pd.DataFrame, study: str = "StudyID", treatment: str = "drug_base") -> pd.DataFrame:
    """:func:`network_characteristics` as the chapter shows it: the counts with a thousands
    separator ("1,199", not "1199"), as everywhere else in the book's text and tables."""
    table = network_characteristics(arms, study, treatment)
    for column in ("trials", "arms", "randomised"):
        table[column] = [f"{int(v):,}" for v in table[column]]
    return table
