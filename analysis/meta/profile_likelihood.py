"""Profile-likelihood confidence intervals for the variance components of a three-level (or CHE)
model, as metafor's ``confint.rma.mv`` computes them.

For a component sigma², the interval holds the values s at which the likelihood-ratio statistic
-2 (ll(s) - ll(fit)) stays below the chi-square(1) quantile, ll(s) being the (restricted)
log-likelihood maximised over the other component with sigma² held at s. metafor searches
[0, max(10, 100 sigma²)] (10 when the estimate is zero), takes the end of that range when the
statistic is still below the quantile there (the bound is then "< 0" or "> the end"), and otherwise
finds each limit with ``uniroot`` at its default tolerance; the root search is R's, step for step
(:func:`analysis.meta.zeroin.zeroin`), so the limits agree with metafor's to 1e-6, not only to
uniroot's tolerance. No library offers this for multilevel meta-analysis in Python (statsmodels'
MixedLM profiles a different likelihood, without known sampling variances).

References
----------
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *Journal of
Statistical Software*, 36(3), 1-48. Hardy, R. J., & Thompson, S. G. (1996). A likelihood approach
to meta-analysis with random effects. *Statistics in Medicine*, 15, 619-629.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from analysis.meta.blocks import grouping
from analysis.meta.multilevel import MultilevelResult, _likelihood, maximise
from analysis.meta.zeroin import R_DEFAULT_TOL, zeroin

COMPONENTS = ("sigma2_between", "sigma2_within")


def _statistic(res: MultilevelResult, j: int, objective: float):
    """``s -> -2 (ll(s) - ll(fit)) - objective``, ll(s) maximised with component ``j`` held at s."""
    evaluate_at = _likelihood(res.yi, grouping(res.cluster), res.V)
    reml = res.method == "REML"
    theta_hat = np.array([res.sigma2_between, res.sigma2_within])
    hold = np.arange(2) == j

    def statistic(s: float) -> float:
        start = theta_hat.copy()
        start[j] = s
        _, fit, _ = maximise(lambda t: evaluate_at(t, reml), start, hold=hold)
        return -2 * (fit.loglik - res.loglik) - objective

    return statistic


def profile_ci(res: MultilevelResult, component: str = "sigma2_between", level: float = 95.0) -> dict:
    """Profile-likelihood CI of one variance component of :func:`analysis.meta.rma_mv`.

    Parameters
    ----------
    res : MultilevelResult
        The fitted model (its ``method`` decides ML or REML).
    component : {"sigma2_between", "sigma2_within"}
        metafor's ``sigma2 = 1`` (between clusters) or ``sigma2 = 2`` (within).
    level : float
        Confidence level in per cent.

    Returns
    -------
    dict
        ``estimate``, ``ci_low``, ``ci_high`` and ``low_at_bound``/``high_at_bound``: True where the
        limit is the end of the searched range (metafor prints it with "<" or ">").
    """
    if component not in COMPONENTS:
        raise ValueError(f"component must be one of {', '.join(COMPONENTS)}")
    j = COMPONENTS.index(component)
    vc = float(getattr(res, component))
    f = _statistic(res, j, float(stats.chi2.ppf(level / 100, 1)))
    vc_min, vc_max = 0.0, 10.0 if vc <= np.finfo(float).eps ** 0.5 else max(10.0, vc * 100)
    f_vc = f(vc)
    f_min, f_max = f(vc_min), f(vc_max)
    low = vc_min if f_min < 0 else zeroin(f, vc_min, vc, f_min, f_vc, R_DEFAULT_TOL)
    high = vc_max if f_max < 0 else zeroin(f, vc, vc_max, f_vc, f_max, R_DEFAULT_TOL)
    return {"estimate": vc, "ci_low": float(low), "ci_high": float(high),
            "low_at_bound": bool(f_min < 0 and vc_min > 0), "high_at_bound": bool(f_max < 0)}
