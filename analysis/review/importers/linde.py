"""Linde et al. 2015: primary-care antidepressant and psychotherapy trials (netmeta's Linde2015)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.trials import LINE, read_rows
from analysis.review.importers.common import _check_columns, _numeric, _validate_mapped


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
