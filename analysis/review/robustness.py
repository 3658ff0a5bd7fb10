"""All sensitivity checks at once, as one tidy table (metapsyTools' ``runMetaAnalysis``).

A registry of named checks: a notebook parameter lists the names it wants, and each
check returns rows of the same shape, so the table reads like metapsyTools' summary.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis.meta.effect_sizes import effect_sizes
from analysis.meta.fit import METHODS, MetaResult, rma
from analysis.meta import influence, outliers, trimfill
from analysis.review.wording import counted

ROW_FIELDS = ("k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "p")


def _row(analysis: str, res: MetaResult | None, note: str = "") -> dict:
    if res is None:
        return {"analysis": analysis, **{f: np.nan for f in ROW_FIELDS}, "note": note}
    pred = res.predict()
    return {
        "analysis": analysis,
        "k": res.k,
        "estimate": res.estimate,
        "ci_low": float(res.ci_low[0]),
        "ci_high": float(res.ci_high[0]),
        "pi_low": pred["pi_low"],
        "pi_high": pred["pi_high"],
        "tau2": res.tau2,
        "i2": res.i2,
        "p": float(res.pval[0]),
        "note": note,
    }


def _subset(res: MetaResult, keep: np.ndarray, analysis: str, note: str) -> dict:
    if keep.sum() < 2:
        return _row(analysis, None, f"{int(keep.sum())} studies left; not pooled")
    return _row(analysis, rma(res.yi[keep], res.vi[keep], method=res.method, hksj=res.hksj), note)


def check_overall(res, data):
    return [_row("overall", res, f"{res.method}{', HKSJ' if res.hksj else ''}")]


def check_estimators(res, data):
    return [_row(f"tau2 estimator {m}", rma(res.yi, res.vi, method=m, hksj=res.hksj)) for m in METHODS if m != res.method]


def check_hksj(res, data):
    other = rma(res.yi, res.vi, method=res.method, hksj=not res.hksj)
    return [_row("with HKSJ" if other.hksj else "without HKSJ", other)]


def check_outliers(res, data):
    out = outliers(res)
    return [_subset(res, ~out, "outliers removed", f"{int(out.sum())} removed")]


def check_influence(res, data):
    infl = influence(res)["influential"].to_numpy()
    return [_subset(res, ~infl, "influential removed", f"{int(infl.sum())} removed")]


def check_low_rob(res, data):
    if "rob" not in data.columns:
        return [_row("low risk of bias only", None, "no risk-of-bias column")]
    keep = (data["rob"] == "low").to_numpy()
    # rows are comparisons where a trial can give several (a "trial" column), else studies
    noun = "comparison" if "trial" in data.columns else "study"
    return [_subset(res, keep, "low risk of bias only", f"{int(keep.sum()):,} of {counted(res.k, noun)}")]


def check_trimfill(res, data):
    tf = trimfill(res)
    return [
        {
            "analysis": "trim-and-fill",
            "k": res.k + tf["k0"],
            "estimate": tf["estimate"],
            "ci_low": tf["ci_low"],
            "ci_high": tf["ci_high"],
            "pi_low": np.nan,
            "pi_high": np.nan,
            "tau2": tf["tau2"],
            "i2": np.nan,
            "p": np.nan,
            "note": f"{tf['k0']} filled on the {tf['side']}",
        }
    ]


CHECKS: dict[str, Callable] = {
    "overall": check_overall,
    "estimators": check_estimators,
    "hksj": check_hksj,
    "outliers": check_outliers,
    "influence": check_influence,
    "low_rob": check_low_rob,
    "trimfill": check_trimfill,
}


def run_checks(data: pd.DataFrame, measure: str, method: str = "REML", hksj: bool = False, which=None) -> pd.DataFrame:
    """Run the named checks (all by default) and return one tidy table, a row per analysis.

    Parameters
    ----------
    data : DataFrame
        A validated trial table (see :func:`analysis.review.trials.load_trials`).
    measure, method, hksj
        As for :func:`analysis.meta.effect_sizes.effect_sizes` and :func:`analysis.meta.fit.rma`.
    which : list of str, optional
        Names from :data:`CHECKS`.
    """
    which = list(CHECKS) if which is None else list(which)
    unknown = [w for w in which if w not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; choose from {list(CHECKS)}")
    yi, vi = effect_sizes(data, measure)
    res = rma(yi, vi, method=method, hksj=hksj)
    rows = [row for name in which for row in CHECKS[name](res, data)]
    return pd.DataFrame(rows, columns=["analysis", *ROW_FIELDS, "note"])
