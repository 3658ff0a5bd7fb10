"""Transitivity of the antidepressant network: are the trials of each comparison alike in the
effect modifiers?

Indirect comparisons are valid only when the trials behind the different direct comparisons do
not differ in what modifies the effect (transitivity; Salanti, 2012). The release records three
candidates per trial (:func:`analysis.review.network_regression.study_covariates`): the year of
publication, the duration and the baseline severity. :func:`transitivity_table` gives their
distribution in each direct comparison with enough trials, and the rest together, as Cipriani et
al. (2018) tabulate them; :func:`transitivity_words` states the spread of the comparisons' medians.

References
----------
Salanti, G. (2012). Indirect and mixed-treatment comparison, network, or multiple-treatments
meta-analysis: many names, many benefits, many concerns for the next generation evidence
synthesis tool. *Research Synthesis Methods*, 3, 80-97.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.meta.nma_data import arm_contrasts
from analysis.review.network import network_arms
from analysis.review.network_regression import COVARIATES, study_covariates

#: The covariates tabulated (the response on placebo is an outcome, not a characteristic of the trial).
MODIFIERS = ("year", "weeks", "baseline")
OTHER = "other comparisons"


def transitivity_frame(arms: pd.DataFrame, outcome: str = "response", reference: str = "placebo",
                       min_trials: int = 10) -> pd.DataFrame:
    """One row per direct comparison of the ``outcome`` network with at least ``min_trials``
    trials, then one for all others (``OTHER``): ``comparison``, ``trials``, and for each of
    :data:`MODIFIERS` the trials with a value (``<m>_n``), its median and quartiles (``<m>_median``,
    ``<m>_q1``, ``<m>_q3``). A multi-arm trial counts in each comparison it makes."""
    data = arm_contrasts(network_arms(arms, outcome), "OR", reference=reference)
    covs = study_covariates(arms, reference)
    pairs = pd.DataFrame({"study": data.study, "comparison": [f"{a} vs {b}" for a, b in zip(data.treat1, data.treat2)]})
    pairs = pairs.drop_duplicates()
    size = pairs.groupby("comparison")["study"].nunique()
    big = size[size >= min_trials].sort_values(ascending=False, kind="stable").index
    pairs["row"] = np.where(pairs["comparison"].isin(big), pairs["comparison"], OTHER)
    pairs = pairs.drop_duplicates(["study", "row"]).join(covs, on="study")
    rows = []
    for name in [*big, OTHER]:
        part = pairs[pairs["row"] == name]
        if part.empty:
            continue
        row = {"comparison": name, "trials": int(part["study"].nunique())}
        for m in MODIFIERS:
            values = part[m].dropna()
            row[f"{m}_n"] = int(len(values))
            row[f"{m}_median"], row[f"{m}_q1"], row[f"{m}_q3"] = (
                (float(values.median()), float(values.quantile(0.25)), float(values.quantile(0.75)))
                if len(values) else (np.nan, np.nan, np.nan))
        rows.append(row)
    return pd.DataFrame(rows)


def transitivity_table(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`transitivity_frame` as the chapter shows it: median (quartiles) of each modifier."""
    decimals = {"year": 0, "weeks": 0, "baseline": 1}
    heads = {"year": "Year of publication", "weeks": "Duration (weeks)", "baseline": "Baseline HAM-D"}

    def cell(r, m):
        if np.isnan(r[f"{m}_median"]):
            return "—"
        d = decimals[m]
        return f"{r[f'{m}_median']:.{d}f} ({r[f'{m}_q1']:.{d}f} to {r[f'{m}_q3']:.{d}f}; {r[f'{m}_n']})"

    return pd.DataFrame({"Comparison": frame["comparison"], "Trials": frame["trials"],
                         **{f"{heads[m]}: median (quartiles; trials with a value)": [cell(r, m) for _, r in frame.iterrows()]
                            for m in MODIFIERS}})


def transitivity_words(frame: pd.DataFrame) -> str:
    """The spread of the comparisons' medians of each modifier (the named comparisons, not
    ``OTHER``): "the median year of publication ranges from 1995 (A vs B) to 2008 (C vs D); ..."."""
    named = frame[frame["comparison"] != OTHER]
    if len(named) < 2:
        return "fewer than two comparisons have enough trials to compare their effect modifiers"
    parts = []
    for m in MODIFIERS:
        med = named.set_index("comparison")[f"{m}_median"].dropna()
        if len(med) < 2:
            continue
        d, unit = {"year": (0, ""), "weeks": (0, " weeks"), "baseline": (1, " points")}[m]
        low, high = med.idxmin(), med.idxmax()
        parts.append(f"the median {COVARIATES[m][0]} ranges from {med[low]:.{d}f}{unit} ({low}) to "
                     f"{med[high]:.{d}f}{unit} ({high})")
    return "; ".join(parts) if parts else "the release records none of the effect modifiers for these comparisons"
