"""Regression tests for funnel-plot asymmetry, as metafor's ``regtest(model = "lm")``: Egger's (on
the standard error) and Peters' (on 1/n, for odds ratios)."""

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
    return _wls_test(yi, vi, np.sqrt(np.asarray(vi, dtype=float)), "Egger's test")


def peters(yi, vi, ni) -> dict:
    """Peters' regression test for funnel-plot asymmetry of (log) odds ratios.

    Regresses yi on the inverse of each study's total sample size with weights 1/vi, as
    ``regtest(model = "lm", predictor = "ninv")`` in metafor. Egger's test on log odds ratios
    has too many false positives, because a log odds ratio and its standard error are correlated
    even without bias; 1/n is not (Peters et al., 2006; Sterne et al., 2011, recommend it, or
    Harbord's test, for odds ratios). Fitted with statsmodels' WLS.

    Returns
    -------
    dict
        As :func:`egger`: ``bias`` (the slope on 1/n), ``se``, ``t``, ``df``, ``p``, ``limit``
        (the intercept: the effect in an infinitely large study) with its CI.

    References
    ----------
    Peters, J. L., Sutton, A. J., Jones, D. R., Abrams, K. R., & Rushton, L. (2006). Comparison of
    two methods to detect publication bias in meta-analysis. *JAMA*, 295, 676-680.
    Sterne, J. A. C., et al. (2011). Recommendations for examining and interpreting funnel plot
    asymmetry in meta-analyses of randomised controlled trials. *BMJ*, 343, d4002.
    """
    n = np.asarray(ni, dtype=float)
    if len(n) != len(np.asarray(yi)) or np.any(~np.isfinite(n)) or np.any(n <= 0):
        raise ValueError("ni must hold every study's total sample size, > 0")
    return _wls_test(yi, vi, 1 / n, "Peters' test")


def _wls_test(yi, vi, x, name: str) -> dict:
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if len(y) < 3:
        raise ValueError(f"{name} needs at least 3 studies, got {len(y)}")
    import statsmodels.api as sm  # lazy: importing analysis.meta stays light

    fit = sm.WLS(y, sm.add_constant(np.asarray(x, dtype=float), has_constant="add"), weights=1 / v).fit()
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


def sample_size_se(n1, n2) -> np.ndarray:
    """The sample-size based standard error of a standardised mean difference,
    W = sqrt(1/n1 + 1/n2): the usual SE without its term in g², so that it does not depend on
    the effect (Pustejovsky & Rodgers, 2019).

    References
    ----------
    Pustejovsky, J. E., & Rodgers, M. A. (2019). Testing for funnel plot asymmetry of
    standardized mean differences. *Research Synthesis Methods*, 10, 57-71.
    """
    n1, n2 = np.asarray(n1, dtype=float), np.asarray(n2, dtype=float)
    if np.any(~np.isfinite(n1)) or np.any(~np.isfinite(n2)) or np.any(n1 <= 0) or np.any(n2 <= 0):
        raise ValueError("group sizes must be finite and > 0")
    return np.sqrt((n1 + n2) / (n1 * n2))


def egger_sample_size(yi, n1, n2) -> dict:
    """Egger's test with the sample-size based SE (:func:`sample_size_se`) in place of the usual
    SE throughout, as predictor and in the weights (Pustejovsky & Rodgers, 2019): ``lm(yi ~ W,
    weights = 1/W²)``. Same keys as :func:`egger`."""
    return egger(yi, sample_size_se(n1, n2) ** 2)


def egger_multilevel(yi, vi, cluster, predictor=None, rho: float = 0.5) -> dict:
    """Egger's test for dependent effects: the CHE working model (vcalc with ``rho``, effects
    within studies, REML) with the precision ``predictor`` as moderator and CR2 inference with
    Satterthwaite df on its slope, as ``rma.mv(yi, V, mods = ~ predictor, random = ~ 1 |
    study/es)`` and ``robust(fit, study, clubSandwich = TRUE)`` (Rodgers & Pustejovsky, 2021).

    Parameters
    ----------
    predictor : array_like, optional
        The usual standard error sqrt(vi) by default; for g, :func:`sample_size_se`.

    Returns
    -------
    dict
        ``bias`` (slope), ``se``, ``t``, ``df``, ``p``, ``limit`` (intercept), ``limit_se``,
        ``k``, ``k_clusters``.

    References
    ----------
    Rodgers, M. A., & Pustejovsky, J. E. (2021). Evaluating meta-analytic methods to detect
    selective reporting in the presence of dependent effect sizes. *Psychological Methods*, 26, 141-160.
    """
    from analysis.meta.mlreg import multilevel_regression

    v = np.asarray(vi, dtype=float)
    x = np.sqrt(v) if predictor is None else np.asarray(predictor, dtype=float)
    return multilevel_regression(yi, v, cluster, x, rho=rho).to_dict()


def equal_arms_se(yi, vi) -> np.ndarray:
    """The sample-size based SE of a standardised mean difference recovered from the effect and
    its usual variance when the group sizes are not known, assuming equal arms: with
    n1 = n2 = N/2 the usual variance is (4 + g²/2)/N and W² = 4/N, so W² = vi / (1 + g²/8)
    (Hedges' small-sample factor ignored). Exact for equal arms; an approximation otherwise."""
    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    return np.sqrt(v / (1 + y ** 2 / 8))
