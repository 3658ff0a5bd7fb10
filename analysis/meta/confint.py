"""The Q-profile confidence interval for tau², I² and H², as metafor's ``confint.rma.uni``.

metafor finds both limits with ``uniroot(..., tol = .Machine$double.eps^0.25)`` (about
1.2e-4), so its printed limits can be up to about 1e-4 off the roots of the Q-profile
equation; with ``exact=True`` the roots are found to 1e-12 (metafor's
``confint(res, control = list(tol = 1e-12))``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from analysis.meta.tau2 import EXACT_CI_TOL, q_gen
from analysis.meta.zeroin import R_DEFAULT_TOL, zeroin

if TYPE_CHECKING:
    from analysis.meta.fit import MetaResult


def q_profile(res: MetaResult) -> dict:
    """Q-profile confidence interval for tau², I² and H² (metafor's ``confint``).

    The limits solve Q(tau²) = chi²(k - p) quantiles over [min(0, tau²), max(100, 10 tau²)],
    with a limit at an end of that interval where Q does not cross the quantile there.
    The roots are found to R's default ``uniroot`` tolerance (metafor's printed numbers), or
    to 1e-12 when the model was fitted with ``exact=True``.

    Returns
    -------
    dict
        ``tau2_low``, ``tau2_high``, ``i2_low``, ``i2_high``, ``h2_low``, ``h2_high``.

    References
    ----------
    Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity in
    meta-analysis. *Statistics in Medicine*, 26, 37-52.
    """

    if res.method == "FE":
        raise ValueError("the fixed-effect model has no tau²")
    k, p = res.X.shape
    if k - p < 1:
        raise ValueError("a Q-profile interval needs k > p")
    alpha = 1 - res.level / 100
    tol = EXACT_CI_TOL if res.exact else R_DEFAULT_TOL
    tau2_min, tau2_max = min(0.0, res.tau2), max(100.0, res.tau2 * 10)
    crit_u = special.chdtri(k - p, alpha / 2)  # chi-square upper quantile (scipy.stats' chi2.isf)
    crit_l = special.chdtri(k - p, 1 - alpha / 2)  # lower quantile (chi2.ppf)

    def qf(t):
        return q_gen(t, res.yi, res.vi, res.X)

    def root(crit):
        return zeroin(lambda t: qf(t) - crit, tau2_min, tau2_max, q_min - crit, q_max - crit, tol)

    q_min, q_max = qf(tau2_min), qf(tau2_max)
    low = high = np.nan
    if q_min < crit_l:
        low = high = tau2_min
    else:
        high = tau2_max if q_max > crit_l else root(crit_l)
    if q_max > crit_u:
        low = high = tau2_max
    elif q_min < crit_u:
        low = tau2_min
    else:
        low = root(crit_u)
    low, high = float(low), float(high)
    return {
        "tau2_low": low,
        "tau2_high": high,
        "i2_low": 100 * low / (res.vt + low),
        "i2_high": 100 * high / (res.vt + high),
        "h2_low": low / res.vt + 1,
        "h2_high": high / res.vt + 1,
    }
