"""Network meta-regression on a study-level covariate, with one interaction common to every treatment.

The consistency model of :mod:`analysis.meta.nma` with one more column: each treatment's effect
against the reference changes by ``slope`` per unit of the study's covariate x, the same slope
for every treatment (the "common interaction" model of Cooper et al., 2009, and of the NICE
DSU's TSD 3, Dias et al., 2011). For a contrast of treatment B against the study's baseline A the
column is (x - c) (a(B) - a(A)), with a(t) = 1 for every treatment but the reference: x - c for
a contrast against the reference and 0 for one between two active treatments, so that a study
without the reference needs no value of x. ``c`` centres the covariate (by default, the mean of
x over the studies with the reference), so that the treatment effects are those at ``c``. As
metafor fits it:

    rma.mv(yi, V, mods = cbind(X, xc * a), intercept = FALSE, random = ~ comp | study, rho = 1/2)

The slope is observational: trials differ in more than the covariate, and a covariate that is a
property of the outcome itself (the placebo arm's response) brings regression to the mean into
the slope (Sharp & Thompson, 2000).

References
----------
Cooper, N. J., Sutton, A. J., Morris, D., Ades, A. E., & Welton, N. J. (2009). Addressing
between-study heterogeneity and inconsistency in mixed treatment comparisons. *Statistics in
Medicine*, 28, 1861-1881.
Dias, S., Sutton, A. J., Welton, N. J., & Ades, A. E. (2011). NICE DSU Technical Support Document
3: Heterogeneity: subgroups, meta-regression, bias and bias-adjustment.
Sharp, S. J., & Thompson, S. G. (2000). Analysing the relationship between treatment effect and
underlying risk in meta-analysis. *Statistics in Medicine*, 19, 3251-3274.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.meta.nma_data import NetworkData
from analysis.meta.nma_gls import fit_contrasts


@dataclass(frozen=True)
class NetworkRegression:
    """The fitted slope (per unit of the covariate) with its SE, z, p and CI; the treatment
    effects against the reference at ``center`` (``coef``, ``se``); ``tau2`` of this model."""

    slope: float
    se: float
    z: float
    p: float
    ci_low: float
    ci_high: float
    center: float
    tau2: float
    coef: np.ndarray
    coef_se: np.ndarray
    k: int
    studies: int

    def to_dict(self) -> dict:
        return {key: getattr(self, key) for key in ("slope", "se", "z", "p", "ci_low", "ci_high", "center",
                                                     "tau2", "k", "studies")}


def regression_column(data: NetworkData, covariate, center: float | None = None) -> tuple[np.ndarray, float]:
    """The interaction column (x - c) (a(treat1) - a(treat2)) of every contrast, and ``c``.

    ``covariate`` maps each study to its value (a dict or Series); a study that has the
    reference must have a finite value, one without it may have none.
    """
    x = pd.Series(covariate, dtype=float).reindex(pd.unique(data.study))
    ref = data.treatments[0]
    against_ref = data.treat2 == ref
    with_ref = pd.unique(data.study[against_ref])
    missing = x.loc[with_ref].index[~np.isfinite(x.loc[with_ref].to_numpy())]
    if len(missing):
        raise ValueError(f"the covariate is missing for {len(missing)} stud{'y' if len(missing) == 1 else 'ies'} "
                         f"with the reference, first {missing[0]!r}")
    c = float(x.loc[with_ref].mean()) if center is None else float(center)
    values = x.reindex(data.study).to_numpy()
    return np.where(against_ref, values - c, 0.0), c


def network_regression(data: NetworkData, covariate, method: str = "REML", level: float = 0.95,
                       center: float | None = None) -> NetworkRegression:
    """Random-effects network meta-regression on one study-level covariate (common slope).

    Parameters
    ----------
    data : NetworkData
        From :func:`analysis.meta.nma_data.arm_contrasts`.
    covariate : mapping of study to float
        One value per study; required for the studies with the reference treatment.
    method : {"REML", "ML"}
    level : float
        Confidence level of the slope's interval (Wald, normal quantile, as metafor's default).
    center : float, optional
        Where the treatment effects are reported; the mean over the studies with the reference
        when omitted.

    Returns
    -------
    NetworkRegression
    """
    column, c = regression_column(data, covariate, center)
    if not np.any(column != 0):
        raise ValueError("the covariate does not vary across the studies with the reference")
    X = np.column_stack([data.design_matrix(), column])
    res = fit_contrasts(data.study, data.yi, data.V, X, random=True, method=method)
    vcov = np.linalg.inv(res.H)
    vcov = (vcov + vcov.T) / 2
    se = np.sqrt(np.diag(vcov))
    slope, se_slope = float(res.beta[-1]), float(se[-1])
    z = slope / se_slope
    crit = float(stats.norm.ppf(1 - (1 - level) / 2))
    return NetworkRegression(slope, se_slope, z, float(2 * stats.norm.sf(abs(z))), slope - crit * se_slope,
                             slope + crit * se_slope, c, float(res.tau2), res.beta[:-1], se[:-1],
                             data.k, len(pd.unique(data.study)))
