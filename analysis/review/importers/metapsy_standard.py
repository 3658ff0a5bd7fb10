"""The Metapsy data standard across releases: one outcome per comparison (the release's ``primary``
flag or the instrument priority rule of metapsyTools' ``filterPriorityRule``), multi-arm trials
recognised from the data, and a release's own metadata (version, last search, search flow)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.review.errors import DataError, Problem

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
    As metapsyTools' ``filterPriorityRule(instrument = ...)``: per comparison (study and arms;
    metapsyTools groups by study, the same where a trial's arms report the same instruments) the
    highest-ranked instrument present is kept; post-test rows come before follow-ups, and of two rows
    of the best rank the first in the file, so that each comparison gives one outcome.
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
    return chosen, {"rule": rule, "comparisons": int(keys.nunique()), "selected": int(keys[chosen.index].nunique()),
                    "unmatched": unmatched, "instruments": {str(k): int(v) for k, v in counts.items()}, "priority": priority}


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
