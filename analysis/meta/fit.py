"""Fixed- and random-effects pooling, as metafor's ``rma.uni``, ``predict`` and ``confint``.

statsmodels' ``combine_effects`` pools with DL or PM only, has no REML, no
prediction interval and no Q-profile interval for tau², so pooling is written
here (see :mod:`analysis.meta.tau2`); it follows metafor 3.8 line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from analysis.meta.tau2 import ESTIMATORS, project, q_gen, estimate_tau2
from analysis.meta.zeroin import zeroin

METHODS = ("FE",) + ESTIMATORS


@dataclass(frozen=True)
class MetaResult:
    """A fitted meta-analysis (or meta-regression).

    Attributes mirror metafor's ``rma.uni`` object: ``beta`` and ``se`` per
    coefficient, ``tau2``, ``q`` (QE) and ``p_q``, ``i2`` (per cent, computed
    from tau² for random-effects models, from Q for the fixed-effect model) and
    ``h2``; ``df`` is k - p under Hartung-Knapp-Sidik-Jonkman and ``None`` for
    z-based inference.
    """

    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    method: str
    hksj: bool
    level: float
    beta: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: float
    q: float
    p_q: float
    i2: float
    h2: float
    vt: float
    s2w: float
    df: int | None
    crit: float

    @property
    def k(self) -> int:
        return len(self.yi)

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @property
    def estimate(self) -> float:
        """The intercept: the pooled effect in an intercept-only model."""
        return float(self.beta[0])

    @property
    def weights(self) -> np.ndarray:
        """Inverse-variance weights 1/(v + tau²)."""
        return 1 / (self.vi + self.tau2)

    @property
    def weights_percent(self) -> np.ndarray:
        """Weights in per cent, as metafor's ``weights()``."""
        return 100 * self.weights / self.weights.sum()

    def predict(self, x: np.ndarray | None = None) -> dict:
        """Predicted effect with confidence and prediction interval (metafor's ``predict``).

        Parameters
        ----------
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
        x = np.eye(self.p)[0] if x is None else np.asarray(x, dtype=float)
        vb = self.vcov()
        pred = float(x @ self.beta)
        vpred = float(x @ vb @ x)
        se = np.sqrt(vpred)
        half_pi = np.nan if self.method == "FE" else self.crit * np.sqrt(vpred + self.tau2)
        return {
            "pred": pred,
            "se": float(se),
            "ci_low": pred - self.crit * se,
            "ci_high": pred + self.crit * se,
            "pi_low": pred - half_pi,
            "pi_high": pred + half_pi,
        }

    def vcov(self) -> np.ndarray:
        """Variance-covariance matrix of the coefficients (scaled by s² under HKSJ)."""
        return self.s2w * project(self.yi, self.weights, self.X).vb

    def tau2_ci(self) -> dict:
        """Q-profile confidence interval for tau², I² and H² (metafor's ``confint``).

        Returns
        -------
        dict
            ``tau2_low``, ``tau2_high``, ``i2_low``, ``i2_high``, ``h2_low``, ``h2_high``.

        References
        ----------
        Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity in
        meta-analysis. *Statistics in Medicine*, 26, 37-52.
        """
        from scipy import stats

        if self.method == "FE":
            raise ValueError("the fixed-effect model has no tau²")
        k, p = self.X.shape
        if k - p < 1:
            raise ValueError("a Q-profile interval needs k > p")
        alpha = 1 - self.level / 100
        tau2_min, tau2_max = min(0.0, self.tau2), max(100.0, self.tau2 * 10)
        crit_u = stats.chi2.isf(alpha / 2, k - p)
        crit_l = stats.chi2.ppf(alpha / 2, k - p)

        def qf(t):
            return q_gen(t, self.yi, self.vi, self.X)

        q_min, q_max = qf(tau2_min), qf(tau2_max)
        low = high = np.nan
        if q_min < crit_l:
            low = high = tau2_min
        else:
            high = (
                tau2_max
                if q_max > crit_l
                else zeroin(lambda t: qf(t) - crit_l, tau2_min, tau2_max, q_min - crit_l, q_max - crit_l)
            )
        if q_max > crit_u:
            low = high = tau2_max
        elif q_min < crit_u:
            low = tau2_min
        else:
            low = zeroin(lambda t: qf(t) - crit_u, tau2_min, tau2_max, q_min - crit_u, q_max - crit_u)
        return {
            "tau2_low": low,
            "tau2_high": high,
            "i2_low": 100 * low / (self.vt + low),
            "i2_high": 100 * high / (self.vt + high),
            "h2_low": low / self.vt + 1,
            "h2_high": high / self.vt + 1,
        }

    def moderator_test(self) -> dict:
        """Omnibus test of the moderators (metafor's QM): chi-square, or F under HKSJ.

        Returns
        -------
        dict
            ``qm`` (the F statistic under HKSJ), ``df1``, ``df2`` (None for chi-square) and ``p``.
        """
        from scipy import stats

        if self.p < 2:
            raise ValueError("the model has no moderators")
        b = self.beta[1:]
        vb = self.vcov()[1:, 1:]
        qm = float(b @ np.linalg.solve(vb, b))
        m = self.p - 1
        if self.hksj:
            return {"qm": qm / m, "df1": m, "df2": self.k - self.p, "p": float(stats.f.sf(qm / m, m, self.k - self.p))}
        return {"qm": qm, "df1": m, "df2": None, "p": float(stats.chi2.sf(qm, m))}

    def to_dict(self) -> dict:
        """The headline numbers of the intercept as a flat dict: ``k``, ``estimate``, ``se``,
        ``ci_low``, ``ci_high``, ``p``, ``pi_low``, ``pi_high`` (NaN for the fixed-effect model),
        ``tau2``, ``i2``, ``h2``, ``q``, ``p_q``. The one conversion of a fit to a row."""
        pred = self.predict()
        return {
            "k": self.k,
            "estimate": self.estimate,
            "se": float(self.se[0]),
            "ci_low": float(self.ci_low[0]),
            "ci_high": float(self.ci_high[0]),
            "p": float(self.pval[0]),
            "pi_low": pred["pi_low"],
            "pi_high": pred["pi_high"],
            "tau2": self.tau2,
            "i2": self.i2,
            "h2": self.h2,
            "q": self.q,
            "p_q": self.p_q,
        }

    def to_frame(self) -> "pd.DataFrame":  # noqa: F821 (pandas imported on use)
        """Coefficient table, one row per coefficient (statsmodels' ``summary_frame`` convention)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "estimate": self.beta,
                "se": self.se,
                "stat": self.stat,
                "p": self.pval,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            },
            index=["intercept"] + [f"mod{j}" for j in range(1, self.p)],
        )

    def refit(self, keep) -> "MetaResult | None":
        """Refit on a subset of studies (an index or boolean mask, in the given order) with the
        same method, inference and level; None where the fit fails (metafor's ``try``)."""
        mods = self.X[keep, 1:] if self.p > 1 else None
        try:
            return rma(self.yi[keep], self.vi[keep], mods=mods, method=self.method, hksj=self.hksj,
                       level=self.level)
        except (RuntimeError, ValueError, np.linalg.LinAlgError):
            return None


NAN_ROW = dict.fromkeys(("k", "estimate", "se", "ci_low", "ci_high", "p", "pi_low", "pi_high", "tau2", "i2",
                         "h2", "q", "p_q"), np.nan)


def fit_row(fit: MetaResult | None) -> dict:
    """``fit.to_dict()``, or a row of NaN where a refit failed."""
    return dict(NAN_ROW) if fit is None else fit.to_dict()


def rma(
    yi,
    vi,
    method: str = "REML",
    mods=None,
    hksj: bool = False,
    level: float = 95.0,
) -> MetaResult:
    """Fit a fixed- or random-effects meta-analysis, or a meta-regression.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances (vi > 0).
    method : {"FE", "DL", "REML", "PM", "ML", "SJ", "HE", "EB"}
        Fixed effect (inverse variance) or the tau² estimator of a random-effects model.
    mods : array_like, optional
        Moderators (k, or k-by-m); an intercept is added.
    hksj : bool
        Hartung-Knapp-Sidik-Jonkman inference: variance scaled by s² = Σw(y - Xb)²/(k - p),
        t with k - p df (metafor's ``test = "knha"``).
    level : float
        Confidence level in per cent.

    Returns
    -------
    MetaResult

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *JSS*, 36(3).
    Hartung, J., & Knapp, G. (2001). On tests of the overall treatment effect in meta-analysis
    with normally distributed responses. *Statistics in Medicine*, 20, 1771-1782.
    Higgins, J. P. T., & Thompson, S. G. (2002). Quantifying heterogeneity in a meta-analysis.
    *Statistics in Medicine*, 21, 1539-1558.
    """
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    k = len(y)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if k == 0 or len(v) != k:
        raise ValueError("yi and vi must be non-empty and of the same length")
    if np.any(~np.isfinite(y)) or np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ValueError("yi must be finite and vi finite and > 0")
    X = np.ones((k, 1))
    if mods is not None:
        m = np.asarray(mods, dtype=float).reshape(k, -1)
        X = np.column_stack([X, m])
    p = X.shape[1]
    if k < p:
        raise ValueError(f"{k} studies cannot fit {p} coefficients")
    if k == 1:
        hksj = False  # metafor switches a single study to z-based inference
    if method == "FE" or k == 1:
        tau2 = 0.0
    else:
        tau2 = estimate_tau2(y, v, X, method)
    proj = project(y, 1 / (v + tau2), X)
    s2w = 1.0
    df = None
    if hksj:
        s2w = 0.0 if proj.rss <= np.finfo(float).eps else proj.rss / (k - p) if k > p else np.nan
        df = k - p
    vb = s2w * proj.vb
    se = np.sqrt(np.diag(vb))
    stat = proj.beta / se
    alpha = 1 - level / 100
    # scipy.special rather than scipy.stats: the same functions without the per-call overhead
    if hksj:
        crit = -special.stdtrit(df, alpha / 2) if df > 0 else np.nan
        pval = 2 * special.stdtr(df, -np.abs(stat)) if df > 0 else np.full(p, np.nan)
    else:
        crit = -special.ndtri(alpha / 2)
        pval = 2 * special.ndtr(-np.abs(stat))
    if k > p:
        fe = project(y, 1 / v, X)
        q = max(0.0, fe.rss)
        p_q = float(special.chdtrc(k - p, q))
        vt = (k - p) / fe.tr_p
        if method == "FE":
            i2 = max(0.0, 100 * (q - (k - p)) / q) if q > 0 else 0.0
            h2 = q / (k - p)
        else:
            i2 = 100 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1
    else:
        q, p_q, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    return MetaResult(
        yi=y,
        vi=v,
        X=X,
        method=method,
        hksj=hksj,
        level=level,
        beta=proj.beta,
        se=se,
        stat=stat,
        pval=pval,
        ci_low=proj.beta - crit * se,
        ci_high=proj.beta + crit * se,
        tau2=tau2,
        q=q,
        p_q=p_q,
        i2=i2,
        h2=h2,
        vt=vt,
        s2w=s2w,
        df=df,
        crit=float(crit),
    )


def pooled_proportion(events, n, method: str = "REML") -> dict:
    """Random-effects pooled proportion (logit scale, back-transformed), e.g. a placebo response rate.

    References
    ----------
    metafor ``escalc(measure = "PLO")``: logit proportion, variance 1/x + 1/(n - x),
    with 1/2 added to x and n - x where either is zero.
    """
    events = np.asarray(events, dtype=float)
    n = np.asarray(n, dtype=float)
    add = np.where((events == 0) | (events == n), 0.5, 0.0)
    x, m = events + add, n - events + add
    res = rma(np.log(x / m), 1 / x + 1 / m, method=method)

    def expit(z):
        return float(1 / (1 + np.exp(-z)))

    pred = res.predict()
    return {
        "rate": expit(res.estimate),
        "ci_low": expit(pred["ci_low"]),
        "ci_high": expit(pred["ci_high"]),
        "pi_low": expit(pred["pi_low"]),
        "pi_high": expit(pred["pi_high"]),
        "k": res.k,
    }
