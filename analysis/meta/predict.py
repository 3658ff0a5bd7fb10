"""Predictions from a fitted model: metafor's ``predict``, the standard error of tau² and the
proportion of true effects beyond a threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from analysis.meta.tau2 import project

if TYPE_CHECKING:
    from analysis.meta.fit import MetaResult


def predict(res: MetaResult, x: np.ndarray | None = None) -> dict:
    """Predicted effect with confidence and prediction interval (metafor's ``predict``).

    Parameters
    ----------
    res : MetaResult
    x : ndarray, optional
        Row of moderator values including the intercept; the intercept alone by default.

    Returns
    -------
    dict
        ``pred``, ``se``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``. The prediction
        interval uses the same critical value as the CI: z, or t with k - p df under HKSJ
        (Riley et al., 2011, use k - 2; metafor's default is k - p). A fixed-effect model
        has no prediction interval (NaN), as in metafor.

    References
    ----------
    Higgins, J. P. T., Thompson, S. G., & Spiegelhalter, D. J. (2009). A re-evaluation of
    random-effects meta-analysis. *JRSS A*, 172, 137-159.
    """
    x = np.eye(res.p)[0] if x is None else np.asarray(x, dtype=float)
    vb = res.vcov()
    pred = float(x @ res.beta)
    vpred = float(x @ vb @ x)
    se = np.sqrt(vpred)
    half_pi = np.nan if res.method == "FE" else res.crit * np.sqrt(vpred + res.tau2)
    return {
        "pred": pred,
        "se": float(se),
        "ci_low": pred - res.crit * se,
        "ci_high": pred + res.crit * se,
        "pi_low": pred - half_pi,
        "pi_high": pred + half_pi,
    }


def _tr_pdpd(w: np.ndarray, X: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> float:
    """trace(P D1 P D2) for P = W - WX(X'WX)⁻¹X'W and diagonal D1, D2, without a k-by-k matrix."""
    a = np.linalg.inv(X.T @ (w[:, None] * X))
    h = np.einsum("ij,jk,ik->i", X, a, X)
    m1 = X.T @ ((w**2 * d1)[:, None] * X)
    m2 = X.T @ ((w**2 * d2)[:, None] * X)
    return float(np.sum(w**2 * d1 * d2) - 2 * np.sum(w**3 * d1 * d2 * h) + np.trace(a @ m1 @ a @ m2))


def se_tau2(res: MetaResult) -> float:
    """Standard error of tau² as metafor's ``rma.uni`` reports it (``se.tau2``), per estimator.

    REML: sqrt(2 / tr(PP)); ML: sqrt(2 / Σw²); PM and EB: sqrt(2k² / (k - p)) / Σw, all at the
    estimate. DL, HE and SJ: the standard deviation of the quadratic form that defines the
    estimator, evaluated at the estimate (Viechtbauer, 2005). NaN for the fixed-effect model
    and for k = 1.

    References
    ----------
    Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance estimators in the
    random-effects model. *Journal of Educational and Behavioral Statistics*, 30, 261-293.
    """
    k, p = res.X.shape
    if res.method == "FE" or k == 1:
        return np.nan
    y, v, X, t = res.yi, res.vi, res.X, max(res.tau2, 0.0)
    ones = np.ones(k)
    w = 1 / (v + t)
    if res.method == "REML":
        return float(np.sqrt(2 / _tr_pdpd(w, X, ones, ones)))
    if res.method == "ML":
        return float(np.sqrt(2 / np.sum(w**2)))
    if res.method in ("PM", "EB"):
        return float(np.sqrt(2 * k**2 / (k - p)) / np.sum(w))
    if res.method == "DL":
        w = 1 / v
        tr_p = project(y, w, X).tr_p
        return float(np.sqrt(2 * (k - p) + 4 * t * tr_p + 2 * t**2 * _tr_pdpd(w, X, ones, ones)) / tr_p)
    if res.method == "HE":
        tr_pv = float(np.sum(v * (1 - np.einsum("ij,jk,ik->i", X, np.linalg.inv(X.T @ X), X))))
        return float(np.sqrt(2 * _tr_pdpd(ones, X, v, v) + 4 * t * tr_pv + 2 * t**2 * (k - p)) / (k - p))
    # SJ: the quadratic form at its starting value tau2_0 (the variance of y with divisor k)
    tau2_0 = float(np.mean((y - y.mean()) ** 2))
    w = 1 / (v + tau2_0)
    quad = 2 * _tr_pdpd(w, X, v, v) + 4 * t * _tr_pdpd(w, X, v, ones) + 2 * t**2 * _tr_pdpd(w, X, ones, ones)
    return float(tau2_0 * np.sqrt(quad) / (k - p))


def prop_above(res: MetaResult, threshold: float, x: np.ndarray | None = None) -> dict:
    """Proportion of true effects above ``threshold``, with a confidence interval.

    The true effects are taken as normal with mean mu (the model's prediction at ``x``, the
    intercept by default) and variance tau²: the proportion is 1 - Φ(z) with
    z = (threshold - mu) / tau (Mathur & VanderWeele, 2019). For a fixed-effect model, or
    tau² = 0, it is 1 if mu > threshold and 0 otherwise, without an interval (NaN).

    The interval applies the delta method of Mathur & VanderWeele (2019) to the normal quantile
    z, treating mu and tau² as independent:
    SE(z)² = SE(mu)² / tau² + SE(tau²)² (threshold - mu)² / (4 tau⁶), with SE(mu) from the model
    (scaled by s² under HKSJ) and SE(tau²) as metafor reports it (:func:`se_tau2`); the limits
    z ∓ z_(1-α/2) SE(z) are mapped through 1 - Φ, so the interval stays within [0, 1]. Mathur &
    VanderWeele form the interval on the proportion scale, p ± z_(1-α/2) φ(z) SE(z), to which
    this is first-order equivalent; both are unreliable when the proportion is below 0.15 or
    above 0.85 or k is small, where they recommend a bias-corrected bootstrap. meta's
    ``cidprop`` answers a different question: it uses the prediction distribution, which adds
    the uncertainty of mu to tau².

    Returns
    -------
    dict
        ``prop``, ``ci_low``, ``ci_high`` (proportions between 0 and 1).

    References
    ----------
    Mathur, M. B., & VanderWeele, T. J. (2019). New metrics for meta-analyses of heterogeneous
    effects. *Statistics in Medicine*, 38, 1336-1342.
    """
    pred = predict(res, x)
    mu, se_mu = pred["pred"], pred["se"]
    if res.method == "FE" or res.tau2 <= 0:
        return {"prop": float(mu > threshold), "ci_low": np.nan, "ci_high": np.nan}
    tau = np.sqrt(res.tau2)
    z = (threshold - mu) / tau
    se_z = np.sqrt(se_mu**2 / res.tau2 + se_tau2(res) ** 2 * (threshold - mu) ** 2 / (4 * res.tau2**3))
    crit = -special.ndtri((1 - res.level / 100) / 2)
    return {
        "prop": float(special.ndtr(-z)),
        "ci_low": float(special.ndtr(-(z + crit * se_z))),
        "ci_high": float(special.ndtr(-(z - crit * se_z))),
    }


def higgins_pi(res: MetaResult, level: float = 95.0) -> tuple[float, float]:
    """Prediction interval of Higgins, Thompson & Spiegelhalter (2009, eq. 12): the pooled
    estimate ± t_{k-2} sqrt(SE² + tau²), the t quantile with k - 2 degrees of freedom accounting
    for the estimation of tau² (metafor's ``predict`` uses z, or t_{k-p} under HKSJ).

    Raises
    ------
    ValueError
        With fewer than three studies (no degrees of freedom left) or a fixed-effect model.
    """
    from scipy import special

    if res.method == "FE" or res.k < 3:
        raise ValueError("the Higgins prediction interval needs a random-effects model and at least 3 studies")
    half = -special.stdtrit(res.k - 2, (1 - level / 100) / 2) * np.sqrt(float(res.vcov()[0, 0]) + res.tau2)
    return float(res.estimate - half), float(res.estimate + half)
