"""Sensitivity analyses, each as metafor's verb of the same name.

``leave_one_out`` (``leave1out``), ``influence`` (``influence``), ``cumulative``
(``cumul``), ``egger`` (``regtest(model = "lm")``), ``trimfill`` (``trimfill``),
``outliers`` (metapsyTools' "outliers" rule) and ``funnel_data`` (``funnel``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from analysis.pooling import MetaResult, rma
from analysis.tau2 import project


def _refit(res: MetaResult, keep: np.ndarray) -> MetaResult | None:
    """Refit on a subset of studies, in the given order; None where the fit fails (metafor's ``try``)."""
    mods = res.X[keep, 1:] if res.p > 1 else None
    try:
        return rma(res.yi[keep], res.vi[keep], mods=mods, method=res.method, hksj=res.hksj, level=res.level)
    except (RuntimeError, ValueError, np.linalg.LinAlgError):
        return None


_NAN_FIT = {"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "pval": np.nan,
            "q": np.nan, "p_q": np.nan, "tau2": np.nan, "i2": np.nan, "h2": np.nan}


def _fit_row(fit: MetaResult | None) -> dict:
    if fit is None:
        return dict(_NAN_FIT)
    return {
        "estimate": fit.estimate,
        "se": float(fit.se[0]),
        "ci_low": float(fit.ci_low[0]),
        "ci_high": float(fit.ci_high[0]),
        "pval": float(fit.pval[0]),
        "q": fit.q,
        "p_q": fit.p_q,
        "tau2": fit.tau2,
        "i2": fit.i2,
        "h2": fit.h2,
    }


def leave_one_out(res: MetaResult, labels=None) -> pd.DataFrame:
    """Refit the model k times, each time without one study (metafor's ``leave1out``).

    Returns
    -------
    DataFrame
        One row per omitted study: ``omitted``, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``pval``, ``q``, ``p_q``, ``tau2``, ``i2``, ``h2``.

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for
    meta-analysis. *Research Synthesis Methods*, 1, 112-125.
    """
    labels = list(range(1, res.k + 1)) if labels is None else list(labels)
    rows = []
    for i in range(res.k):
        rows.append({"omitted": labels[i], **_fit_row(_refit(res, np.arange(res.k) != i))})
    return pd.DataFrame(rows)


def leave_one_out_summary(loo: pd.DataFrame, res: MetaResult, null: float = 0.0) -> dict:
    """What leave-one-out changes: the lowest and highest estimates (and the study omitted for
    each), and how many omissions change whether the CI excludes ``null``.

    Parameters
    ----------
    loo : DataFrame
        From :func:`leave_one_out`.
    res : MetaResult
        The model fitted to every study.
    null : float
        The no-effect value on the model's scale (0 for log ratios and g).

    Returns
    -------
    dict
        ``min``, ``min_omitted``, ``max``, ``max_omitted``, ``max_shift`` (largest absolute
        change of the estimate), ``flips`` (omissions after which the CI's exclusion of
        ``null`` differs from the full model's).
    """
    full_excludes = not (res.ci_low[0] <= null <= res.ci_high[0])
    excludes = ~((loo["ci_low"] <= null) & (null <= loo["ci_high"]))
    lo, hi = loo["estimate"].idxmin(), loo["estimate"].idxmax()
    return {
        "min": float(loo.loc[lo, "estimate"]),
        "min_omitted": loo.loc[lo, "omitted"],
        "max": float(loo.loc[hi, "estimate"]),
        "max_omitted": loo.loc[hi, "omitted"],
        "max_shift": float((loo["estimate"] - res.estimate).abs().max()),
        "flips": int((excludes != full_excludes)[loo["estimate"].notna()].sum()),
    }


def influence(res: MetaResult, labels=None) -> pd.DataFrame:
    """Case-deletion diagnostics (metafor's ``influence.rma.uni``).

    Returns
    -------
    DataFrame
        ``rstudent`` (externally studentized residual), ``dffits``, ``cook_d``, ``cov_r``,
        ``tau2_del``, ``qe_del``, ``hat``, ``weight`` (per cent), one ``dfbetas_j`` per
        coefficient, and ``influential`` by metafor's rule.

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for
    meta-analysis. *Research Synthesis Methods*, 1, 112-125.
    """
    labels = list(range(1, res.k + 1)) if labels is None else list(labels)
    k, p = res.k, res.p
    full = project(res.yi, res.weights, res.X)
    hat = res.weights * np.einsum("ij,jk,ik->i", res.X, full.vb, res.X)
    vb_full = res.vcov()
    svb = np.linalg.inv(vb_full)
    pred_full = res.X @ res.beta
    out = {k_: np.full(k, np.nan) for k_ in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del")}
    dfbs = np.full((k, p), np.nan)
    for i in range(k):
        fit = _refit(res, np.arange(k) != i)
        if fit is None:
            continue
        xi = res.X[i]
        vb_del = fit.vcov()
        delpred = float(xi @ fit.beta)
        vdelpred = float(xi @ vb_del @ xi)
        out["tau2_del"][i] = fit.tau2
        out["qe_del"][i] = fit.q
        out["dffits"][i] = (pred_full[i] - delpred) / np.sqrt(fit.s2w * hat[i] * (fit.tau2 + res.vi[i]))
        vb_alt = project(res.yi, 1 / (res.vi + fit.tau2), res.X).vb
        dfb = res.beta - fit.beta
        dfbs[i] = dfb / np.sqrt(fit.s2w * np.diag(vb_alt))
        out["cook_d"][i] = float(dfb @ svb @ dfb)
        out["cov_r"][i] = np.linalg.det(vb_del) / np.linalg.det(vb_full)
        resid = res.yi[i] - delpred
        resid = 0.0 if abs(resid) < 100 * np.finfo(float).eps else resid
        out["rstudent"][i] = resid / np.sqrt(res.vi[i] * fit.s2w + vdelpred + fit.tau2 * fit.s2w)
    frame = pd.DataFrame({"study": labels, **out, "hat": hat, "weight": res.weights_percent})
    for j in range(p):
        frame[f"dfbetas_{j}"] = dfbs[:, j]
    frame["influential"] = (
        (np.abs(frame["dffits"]) > 3 * np.sqrt(p / (k - p)))
        | (stats.chi2.cdf(frame["cook_d"], df=p) > 0.5)
        | (frame["hat"] > 3 * p / k)
        | (np.abs(dfbs) > 1).any(axis=1)
    )
    return frame


def cumulative(res: MetaResult, order, labels=None) -> pd.DataFrame:
    """Cumulative meta-analysis, adding studies in increasing ``order`` (metafor's ``cumul``).

    Ties keep the input order and NaN comes last. Returns one row per step: ``added``,
    ``order`` (its value for the study added, e.g. the year), ``k`` and the fit's ``estimate``,
    ``se``, ``ci_low``, ``ci_high``, ``pval``, ``q``, ``p_q``, ``tau2``, ``i2``, ``h2`` (NaN
    where the fit fails, as metafor).

    References
    ----------
    Lau, J., et al. (1992). Cumulative meta-analysis of therapeutic trials for myocardial
    infarction. *NEJM*, 327, 248-254.
    """
    labels = np.arange(1, res.k + 1) if labels is None else np.asarray(labels)
    order = np.asarray(order, dtype=float)
    idx = np.argsort(order, kind="stable")
    rows = []
    for step in range(1, res.k + 1):
        rows.append({"added": labels[idx[step - 1]], "order": order[idx[step - 1]], "k": step,
                     **_fit_row(_refit(res, idx[:step]))})
    return pd.DataFrame(rows)


def cumulative_summary(cum: pd.DataFrame, null: float = 0.0) -> dict:
    """What a cumulative meta-analysis shows: from which step the CI excludes ``null`` for
    good, and the estimate half-way through against the final one.

    Parameters
    ----------
    cum : DataFrame
        From :func:`cumulative`.
    null : float
        The no-effect value on the model's scale (0 for log ratios and g).

    Returns
    -------
    dict
        ``settled_k`` (the number of studies from which every later CI excludes ``null``; None
        if the final one does not), ``settled_added`` and ``settled_order`` (the study added at
        that step and its ordering value, e.g. year; None likewise); ``half_k`` (half the
        studies, rounded down), ``half_estimate`` and ``half_order`` (the fit and ordering value at
        that step); ``final_estimate``; ``unordered`` (studies whose ordering value is NaN,
        added last).
    """
    excludes = (~((cum["ci_low"] <= null) & (null <= cum["ci_high"]))).to_numpy()
    out = {"settled_k": None, "settled_added": None, "settled_order": None}
    if excludes[-1]:
        misses = np.flatnonzero(~excludes)
        at = misses[-1] + 1 if len(misses) else 0
        out = {"settled_k": int(cum["k"].iloc[at]), "settled_added": cum["added"].iloc[at],
               "settled_order": float(cum["order"].iloc[at])}
    half = max(len(cum) // 2, 1) - 1
    out.update({"half_k": int(cum["k"].iloc[half]), "half_estimate": float(cum["estimate"].iloc[half]),
                "half_order": float(cum["order"].iloc[half]), "final_estimate": float(cum["estimate"].iloc[-1]),
                "unordered": int(cum["order"].isna().sum())})
    return out


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


def trimfill(res: MetaResult) -> dict:
    """Duval and Tweedie's trim-and-fill with the L0 estimator (metafor's ``trimfill`` defaults).

    The side is chosen as metafor does, from the sign of the slope of a meta-regression on
    the standard error fitted with the model's method; the filled model is refitted with
    the model's method and z-based inference (metafor does not pass ``test`` on).

    Returns
    -------
    dict
        ``k0``, ``side``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``tau2``, and the
        filled studies ``filled_yi``, ``filled_vi``.

    References
    ----------
    Duval, S., & Tweedie, R. (2000). Trim and fill: A simple funnel-plot-based method of
    testing and adjusting for publication bias in meta-analysis. *Biometrics*, 56, 455-463.
    """
    if res.p != 1:
        raise ValueError("trim-and-fill applies to models without moderators")
    y0, v0, k = res.yi, res.vi, res.k
    slope = rma(y0, v0, method=res.method, mods=np.sqrt(v0)).beta[1]
    side = "right" if slope < 0 else "left"
    y = -y0 if side == "right" else y0.copy()
    ix = np.argsort(y, kind="stable")
    y, v = y[ix], v0[ix]
    k0, k0_prev, iteration = 0, -1, 0
    beta = 0.0
    while k0 != k0_prev:
        k0_prev = k0
        iteration += 1
        if iteration > 100:
            raise RuntimeError("trim-and-fill did not converge")
        beta = rma(y[: k - k0], v[: k - k0], method=res.method).estimate
        yc = y - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(yc) * ranks
        sr = signed[signed > 0].sum()
        k0 = max(0, int(round((4 * sr - k * (k + 1)) / (2 * k - 1))))
    if k0 == 0:
        fit = res  # metafor returns the model itself, with its own inference
        filled_y, filled_v = np.array([]), np.array([])
    else:
        mirrored = 2 * beta - y[k - k0 :]
        filled_y = -mirrored if side == "right" else mirrored
        filled_v = v[k - k0 :]
        fit = rma(np.concatenate([y0, filled_y]), np.concatenate([v0, filled_v]), method=res.method)
    return {
        "k0": k0,
        "side": side,
        "estimate": fit.estimate,
        "se": float(fit.se[0]),
        "ci_low": float(fit.ci_low[0]),
        "ci_high": float(fit.ci_high[0]),
        "tau2": fit.tau2,
        "filled_yi": filled_y,
        "filled_vi": filled_v,
    }


def outliers(res: MetaResult) -> np.ndarray:
    """Studies whose confidence interval does not overlap the pooled confidence interval.

    The "outliers" rule of metapsyTools' ``runMetaAnalysis`` (Harrer et al., 2021): a
    study is an outlier when its upper bound lies below the pooled lower bound, or its
    lower bound above the pooled upper bound. Study CIs are z-based.

    Returns
    -------
    ndarray of bool

    References
    ----------
    Harrer, M., Cuijpers, P., Furukawa, T. A., & Ebert, D. D. (2021). *Doing Meta-Analysis
    with R: A Hands-On Guide*, chapter 5.4. Chapman & Hall/CRC.
    """
    z = stats.norm.isf((1 - res.level / 100) / 2)
    half = z * np.sqrt(res.vi)
    return (res.yi + half < res.ci_low[0]) | (res.yi - half > res.ci_high[0])


def funnel_data(res: MetaResult, labels=None) -> pd.DataFrame:
    """Points and pseudo-confidence contours of a funnel plot (metafor's ``funnel``).

    Returns
    -------
    DataFrame
        ``study``, ``yi``, ``sei``, and the 95% pseudo-CI ``lower``/``upper`` around the
        pooled estimate at each study's standard error.
    """
    labels = list(range(1, res.k + 1)) if labels is None else list(labels)
    sei = np.sqrt(res.vi)
    z = stats.norm.isf(0.025)
    return pd.DataFrame(
        {
            "study": labels,
            "yi": res.yi,
            "sei": sei,
            "lower": res.estimate - z * sei,
            "upper": res.estimate + z * sei,
        }
    )
