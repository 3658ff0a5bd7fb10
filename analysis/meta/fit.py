"""Fixed- and random-effects pooling, as metafor's ``rma.uni``.

statsmodels' ``combine_effects`` pools with DL or PM only, has no REML, no
prediction interval and no Q-profile interval for tau², so pooling is written
here (see :mod:`analysis.meta.tau2`, :mod:`analysis.meta.predict` and
:mod:`analysis.meta.confint`); it follows metafor 3.8 line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from analysis.meta.confint import q_profile
from analysis.meta.predict import predict
from analysis.meta.tau2 import ESTIMATORS, estimate_tau2, project

METHODS = ("FE",) + ESTIMATORS


@dataclass(frozen=True)
class MetaResult:
    """A fitted meta-analysis (or meta-regression).

    Attributes mirror metafor's ``rma.uni`` object: ``beta`` and ``se`` per
    coefficient, ``tau2``, ``q`` (QE) and ``p_q``, ``i2`` (per cent, computed
    from tau² for random-effects models, from Q for the fixed-effect model) and
    ``h2``; ``df`` is k - p under Hartung-Knapp-Sidik-Jonkman and ``None`` for
    z-based inference. ``exact`` records how tau² was found (see :func:`rma`); refits,
    the Q-profile interval and every verb reuse it.
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
    exact: bool = False

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
        """Predicted effect with confidence and prediction interval: :func:`analysis.meta.predict.predict`."""
        return predict(self, x)

    def vcov(self) -> np.ndarray:
        """Variance-covariance matrix of the coefficients (scaled by s² under HKSJ)."""
        return self.s2w * project(self.yi, self.weights, self.X).vb

    def tau2_ci(self) -> dict:
        """Q-profile CI for tau², I² and H² (metafor's ``confint``); see
        :func:`analysis.meta.confint.q_profile`."""
        return q_profile(self)

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
            "pi_low": float(pred["pi_low"]),
            "pi_high": float(pred["pi_high"]),
            "tau2": self.tau2,
            "i2": self.i2,
            "h2": self.h2,
            "q": self.q,
            "p_q": self.p_q,
        }

    def to_frame(self):
        """Coefficient table, one row per coefficient (statsmodels' ``summary_frame`` convention)."""
        columns = {"estimate": self.beta, "se": self.se, "stat": self.stat, "p": self.pval,
                   "ci_low": self.ci_low, "ci_high": self.ci_high}
        import pandas as pd

        return pd.DataFrame(columns, index=["intercept"] + [f"mod{j}" for j in range(1, self.p)])

    def refit(self, keep) -> "MetaResult | None":
        """Refit on a subset of studies (an index or boolean mask, in the given order) with the
        same method, inference, level and ``exact``; None where the fit fails (metafor's ``try``)."""
        mods = self.X[keep, 1:] if self.p > 1 else None
        try:
            return rma(self.yi[keep], self.vi[keep], mods=mods, method=self.method, hksj=self.hksj,
                       level=self.level, exact=self.exact)
        except (RuntimeError, ValueError, np.linalg.LinAlgError):
            return None


NAN_ROW = dict.fromkeys(("k", "estimate", "se", "ci_low", "ci_high", "p", "pi_low", "pi_high", "tau2", "i2",
                         "h2", "q", "p_q"), np.nan)


def fit_row(fit: MetaResult | None) -> dict:
    """``fit.to_dict()``, or a row of NaN where a refit failed."""
    return dict(NAN_ROW) if fit is None else fit.to_dict()


def _design(yi, vi, mods, method):
    """Validated effect sizes, variances and design matrix (intercept first)."""
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
        X = np.column_stack([X, np.asarray(mods, dtype=float).reshape(k, -1)])
    if k < X.shape[1]:
        raise ValueError(f"{k} studies cannot fit {X.shape[1]} coefficients")
    return y, v, X


def _inference(proj, k: int, p: int, hksj: bool, level: float) -> dict:
    """Standard errors, test statistics, p-values and critical value, z or HKSJ's t."""
    s2w, df = 1.0, None
    if hksj:
        s2w = 0.0 if proj.rss <= np.finfo(float).eps else proj.rss / (k - p) if k > p else np.nan
        df = k - p
    se = np.sqrt(np.diag(s2w * proj.vb))
    stat = proj.beta / se
    alpha = 1 - level / 100
    # scipy.special rather than scipy.stats: the same functions without the per-call overhead
    if hksj:
        crit = -special.stdtrit(df, alpha / 2) if df > 0 else np.nan
        pval = 2 * special.stdtr(df, -np.abs(stat)) if df > 0 else np.full(p, np.nan)
    else:
        crit = -special.ndtri(alpha / 2)
        pval = 2 * special.ndtr(-np.abs(stat))
    return {"se": se, "stat": stat, "pval": pval, "ci_low": proj.beta - crit * se,
            "ci_high": proj.beta + crit * se, "s2w": s2w, "df": df, "crit": float(crit)}


def _heterogeneity(y, v, X, method: str, tau2: float) -> dict:
    """Q (QE) with its p-value, I², H² and metafor's typical within-study variance vt."""
    k, p = X.shape
    if k <= p:
        return {"q": 0.0, "p_q": 1.0, "i2": 0.0, "h2": 1.0, "vt": 0.0}
    fe = project(y, 1 / v, X)
    q = max(0.0, fe.rss)
    vt = (k - p) / fe.tr_p
    if method == "FE":
        i2 = max(0.0, 100 * (q - (k - p)) / q) if q > 0 else 0.0
        h2 = q / (k - p)
    else:
        i2 = 100 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1
    return {"q": q, "p_q": float(special.chdtrc(k - p, q)), "i2": i2, "h2": h2, "vt": vt}


def rma(yi, vi, method: str = "REML", mods=None, hksj: bool = False, level: float = 95.0,
        exact: bool = False) -> MetaResult:
    """Fit a fixed- or random-effects meta-analysis, or a meta-regression.

    By default the numbers are metafor 3.8's printed numbers: like metafor with its default
    ``control``, REML, ML and EB stop when tau² changes by less than 1e-5, and the PM and
    Q-profile roots are found to R's ``uniroot`` tolerance, about 1e-4. These rules are
    absolute, so the default tau² and its Q-profile limits lie within about 1e-4 of the
    optimum: under 1% of tau² where tau² > 0.01, but a larger share near tau² = 0 (REML on
    the risk differences of Niel-Weise et al., 2007: 1.38e-4 by default, 1.23e-4 at the
    optimum, 13% apart). ``exact=True`` gives the optimum.

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
    exact : bool
        Converge to the optimum: Fisher scoring until tau² changes by less than 1e-10 (up to
        1000 iterations), PM and Q-profile roots to 1e-12; metafor's
        ``control = list(threshold = 1e-10, maxiter = 1000, tol = 1e-12)``. Kept on the result.

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
    Niel-Weise, B. S., Stijnen, T., & van den Broek, P. J. (2007). Anti-infective-treated central
    venous catheters: a systematic review of randomized controlled trials. *Intensive Care
    Medicine*, 33, 2058-2068 (metadat's ``dat.nielweise2007``).
    """
    y, v, X = _design(yi, vi, mods, method)
    k, p = X.shape
    hksj = hksj and k > 1  # metafor switches a single study to z-based inference
    tau2 = 0.0 if method == "FE" or k == 1 else estimate_tau2(y, v, X, method, exact)
    proj = project(y, 1 / (v + tau2), X)
    return MetaResult(yi=y, vi=v, X=X, method=method, hksj=hksj, level=level, beta=proj.beta, tau2=tau2,
                      exact=exact, **_inference(proj, k, p, hksj, level),
                      **_heterogeneity(y, v, X, method, tau2))


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
