"""What every importer shares: required columns, numeric cells, validation under the source's own names."""

from __future__ import annotations

import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.trials import LINE, validate_trials


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



def arm_totals(trials: pd.DataFrame) -> dict:
    """Crude (unweighted) response proportions summed over trials, for description only."""
    treat = trials["treat_events"].sum() / trials["treat_n"].sum()
    ctrl = trials["ctrl_events"].sum() / trials["ctrl_n"].sum()
    return {"treat": float(treat), "ctrl": float(ctrl), "treat_n": int(trials["treat_n"].sum()), "ctrl_n": int(trials["ctrl_n"].sum())}

