"""Linde et al. (2016): pairwise contrasts of primary-care depression treatments (netmeta's Linde2016).

One row per contrast: ``treat1`` vs ``treat2`` with responders and totals of each arm; a
multi-arm trial has one row per pair of arms, so a selection must not take two rows of one
trial that share an arm (checked by :func:`pst_vs_antidepressants`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pandera.typing import Series

from analysis.review.errors import DataError, Problem
from analysis.review.importers.common import _validate_mapped
from analysis.review.importers.linde import TwoArmResponders
from analysis.review.schemas import LINE, check, number
from analysis.review.trials import read_rows

ANTIDEPRESSANTS = ("SSRI", "TCA", "SNRI", "NRI", "NaSSa", "Low-dose SARI", "rMAO-A")


class LindeContrasts(TwoArmResponders):
    """netmeta's Linde2016 long format: one row per pair of arms."""

    id: Series[str]
    author: Series[str]
    year: Series[str]
    treat1: Series[str]
    treat2: Series[str]
    resp1: Series[float] = number(nullable=True, ge=0)
    n1: Series[float] = number(nullable=True, gt=0)
    resp2: Series[float] = number(nullable=True, ge=0)
    n2: Series[float] = number(nullable=True, gt=0)


def read_linde2016(path: str | Path) -> pd.DataFrame:
    """Read and check netmeta's Linde2016 contrasts against :class:`LindeContrasts`."""
    rows = check(read_rows(path), LindeContrasts, str(path))
    for col in ("treat1", "treat2", "author", "year", "id"):
        rows[col] = rows[col].str.strip()
    return rows


def pst_vs_antidepressants(rows: pd.DataFrame, therapy: str = "Face-to-face PST", name: str = "linde2016") -> pd.DataFrame:
    """Trials comparing ``therapy`` with an antidepressant, response, one row per trial.

    The therapy is the treatment arm and the antidepressant the control; a trial with several
    antidepressant arms would contribute each, so such a trial is refused rather than counting
    the therapy arm twice (none in Linde2016).

    References
    ----------
    Linde, K., Rücker, G., Schneider, A., & Kriston, L. (2016). Questionable assumptions hampered
    interpretation of a network meta-analysis of primary care depression treatments. *Journal of
    Clinical Epidemiology*, 71, 86-96.
    """
    out = []
    for _, r in rows.iterrows():
        arms = {r["treat1"]: ("resp1", "n1"), r["treat2"]: ("resp2", "n2")}
        others = [t for t in arms if t != therapy]
        if therapy in arms and others and others[0] in ANTIDEPRESSANTS:
            (te, tn), (ce, cn) = arms[therapy], arms[others[0]]
            out.append({"study": f"{r['author']} {r['year']}", "trial": r["id"], "subgroup": others[0],
                        "year": float(r["year"]), "treat_events": r[te], "treat_n": r[tn],
                        "ctrl_events": r[ce], "ctrl_n": r[cn], LINE: r[LINE]})
    trials = pd.DataFrame(out)
    if trials.empty:
        raise DataError([Problem(name, None, "treat1", f"no trial compares '{therapy}' with an antidepressant")])
    twice = trials["trial"].duplicated(keep=False)
    if twice.any():
        lines = ", ".join(str(x) for x in trials.loc[twice, LINE])
        raise DataError([Problem(name, None, "id", f"trials with two antidepressant arms (lines {lines}) would count "
                                 f"the {therapy} arm twice")])
    mapping = {"treat_events": "resp1", "treat_n": "n1", "ctrl_events": "resp2", "ctrl_n": "n2"}
    return _validate_mapped(trials.assign(year=np.asarray(trials["year"], float)), "RR", name, mapping)
