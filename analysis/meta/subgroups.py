"""Subgroup analysis with a test for subgroup differences.

Each subgroup is pooled on its own (its own tau²); the test for subgroup differences is
the Q statistic of a fixed-effect meta-analysis of the subgroup estimates, with g - 1
degrees of freedom, as in Cochrane's RevMan and metafor's "separate tau²" approach
(``rma(estimates, sei = ses, method = "FE")``). Meta-regression on one moderator is
:func:`analysis.meta.fit.rma` with ``mods``.

References
----------
Borenstein, M., & Higgins, J. P. T. (2013). Meta-analysis and subgroups. *Prevention
Science*, 14, 134-143. Deeks, J. J., Higgins, J. P. T., & Altman, D. G. (2023). Analysing data
and undertaking meta-analyses. *Cochrane Handbook*, chapter 10.11.3.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.meta.fit import rma


@dataclass(frozen=True)
class SubgroupResult:
    """Per-subgroup pooled results and the test for subgroup differences."""

    groups: pd.DataFrame
    q_between: float
    df_between: int
    p_between: float


def subgroup_analysis(yi, vi, subgroup, method: str = "REML", hksj: bool = False,
                      exact: bool = False) -> SubgroupResult:
    """Pool each subgroup separately and test whether the subgroup estimates differ.

    Parameters
    ----------
    yi, vi : array_like
    subgroup : array_like
        Subgroup label of each study; groups are reported in sorted order.
    method, hksj, exact
        As for :func:`analysis.meta.fit.rma`, applied within each subgroup.

    Returns
    -------
    SubgroupResult
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    labels = np.asarray(subgroup).astype(str)
    rows = []
    for g in sorted(set(labels)):
        sel = labels == g
        fit = rma(y[sel], v[sel], method=method, hksj=hksj, exact=exact)
        rows.append(
            {
                "subgroup": g,
                "k": int(sel.sum()),
                "estimate": fit.estimate,
                "se": float(fit.se[0]),
                "ci_low": float(fit.ci_low[0]),
                "ci_high": float(fit.ci_high[0]),
                "tau2": fit.tau2,
                "i2": fit.i2,
            }
        )
    groups = pd.DataFrame(rows)
    if len(groups) < 2:
        raise ValueError("a subgroup analysis needs at least two subgroups")
    between = rma(groups["estimate"], groups["se"] ** 2, method="FE")
    return SubgroupResult(groups=groups, q_between=between.q, df_between=len(groups) - 1, p_between=between.p_q)
