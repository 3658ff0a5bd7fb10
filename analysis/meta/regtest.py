"""Regression test for funnel-plot asymmetry, as metafor's ``regtest(model = "lm")``."""

from __future__ import annotations

import numpy as np


def egger(yi, vi) -> dict:
    """Egger's regression test for funnel-plot asymmetry (classic, weighted least squares).

    Regresses yi on its standard error with weights 1/vi, as ``lm(yi ~ sei, weights = 1/vi)``
    in metafor's ``regtest(model = "lm")``; fitted with statsmodels' WLS.

    Returns
    -------
    dict
        ``bias`` (slope on the standard error), ``se``, ``t``, ``df``, ``p``, and ``limit``
        (the intercept: the effect as the standard error goes to zero) with its CI.

    References
    ----------
    Egger, M., Davey Smith, G., Schneider, M., & Minder, C. (1997). Bias in meta-analysis
    detected by a simple, graphical test. *BMJ*, 315, 629-634.
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if len(y) < 3:
        raise ValueError(f"Egger's test needs at least 3 studies, got {len(y)}")
    import statsmodels.api as sm  # lazy: importing analysis.meta stays light

    fit = sm.WLS(y, sm.add_constant(np.sqrt(v), has_constant="add"), weights=1 / v).fit()
    ci = fit.conf_int()
    return {
        "bias": float(fit.params[1]),
        "se": float(fit.bse[1]),
        "t": float(fit.tvalues[1]),
        "df": int(fit.df_resid),
        "p": float(fit.pvalues[1]),
        "limit": float(fit.params[0]),
        "limit_ci_low": float(ci[0, 0]),
        "limit_ci_high": float(ci[0, 1]),
    }
