"""All sensitivity checks at once, as one tidy table (metapsyTools' ``runMetaAnalysis``).

A registry of named checks: a notebook parameter lists the names it wants, and each
check returns rows of the same shape, so the table reads like metapsyTools' summary.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis.meta.fit import METHODS, MetaResult, fit_row, rma
from analysis.meta import influence, outliers, trimfill
from analysis.review.wording import counted

ROW_FIELDS = ("k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "p")


def _row(analysis: str, res: MetaResult | None, note: str = "") -> dict:
    return {"analysis": analysis, **{f: fit_row(res)[f] for f in ROW_FIELDS}, "note": note}


def _subset(res: MetaResult, keep: np.ndarray, analysis: str, note: str) -> dict:
    if keep.sum() < 2:
        return _row(analysis, None, f"{int(keep.sum())} studies left; not pooled")
    return _row(analysis, res.refit(keep), note)


def check_overall(res, rob, unit, max_refits=None):
    return [_row("overall", res, f"{res.method}{', HKSJ' if res.hksj else ''}")]


def check_estimators(res, rob, unit, max_refits=None):
    return [_row(f"tau2 estimator {m}", rma(res.yi, res.vi, method=m, hksj=res.hksj, exact=res.exact))
            for m in METHODS if m != res.method]


def check_hksj(res, rob, unit, max_refits=None):
    other = rma(res.yi, res.vi, method=res.method, hksj=not res.hksj, exact=res.exact)
    return [_row("with HKSJ" if other.hksj else "without HKSJ", other)]


def check_outliers(res, rob, unit, max_refits=None):
    out = outliers(res)
    return [_subset(res, ~out, "outliers removed", f"{int(out.sum())} removed")]


def check_influence(res, rob, unit, max_refits=None):
    if max_refits is not None and res.k > max_refits:
        # metafor's criteria judge each study on its own deletion: with only a screened part refitted
        # the row would remove that part, a number set by the limit rather than by the data
        return [_row("influential removed", None, f"not run: {counted(res.k, unit)} exceed max_refits = "
                                                  f"{max_refits:,}, and every one would need its own refit")]
    infl = influence(res)["influential"].to_numpy()
    return [_subset(res, ~infl, "influential removed", f"{int(infl.sum())} removed")]


def check_low_rob(res, rob, unit, max_refits=None):
    if rob is None:
        return [_row("low risk of bias only", None, "no risk-of-bias column")]
    keep = np.asarray(rob) == "low"
    return [_subset(res, keep, "low risk of bias only", f"{int(keep.sum()):,} of {counted(res.k, unit)}")]


def check_trimfill(res, rob, unit, max_refits=None):
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


def run_checks(res: MetaResult, rob=None, which=None, unit: str = "study", max_refits: int | None = None,
               implausible=None) -> pd.DataFrame:
    """Run the named checks (all by default) on a fitted model; one tidy table, a row per analysis.

    Parameters
    ----------
    res : MetaResult
        The main model; every check refits with its method, inference and convergence.
    rob : array_like of str, optional
        Each study's risk of bias ("low", ...), for the low-risk-of-bias check.
    which : list of str, optional
        Names from :data:`CHECKS`.
    unit : str
        What a row of the data is ("study", or "comparison" where a trial gives several), for the notes.
    max_refits : int, optional
        Above this many studies the influence check is not run (it needs a refit per study; see
        :mod:`analysis.review.limits`); by default it always is.
    implausible : array_like of bool, optional
        Studies flagged by a rule added after the first results (:mod:`analysis.review.implausible`):
        when given, a last row refits without them, labelled as the post-hoc sensitivity analysis it is.
    """
    which = list(CHECKS) if which is None else list(which)
    unknown = [w for w in which if w not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; choose from {list(CHECKS)}")
    rows = [row for name in which for row in CHECKS[name](res, rob, unit, max_refits)]
    if implausible is not None:
        flagged = np.asarray(implausible, bool)
        rows.append(_subset(res, ~flagged, "implausible effects removed (post hoc)",
                            f"{int(flagged.sum()):,} of {counted(res.k, unit)} removed"))
    return pd.DataFrame(rows, columns=["analysis", *ROW_FIELDS, "note"])
