"""Three-level meta-analysis, as metafor's ``rma.mv(yi, V, random = ~ 1 | cluster/es_id)``.

Effects (level 2) are nested in clusters (level 3): y = mu + u_cluster + w_effect + e with
u ~ N(0, sigma2_between), w ~ N(0, sigma2_within) and e ~ N(0, V), V block-diagonal by
cluster. The variance components are found by Newton-Raphson on the (restricted)
log-likelihood with analytic derivatives (see :mod:`analysis.meta.mvlik`), falling back to
Fisher scoring where the observed information is not positive definite, with step-halving
and a component held at zero while its score points below zero. Iteration stops when the
step is below 1e-12, far tighter than the default of metafor's ``nlminb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from analysis.meta.blocks import BlockCov, diagonal_cov, grouping
from analysis.meta.mvlik import Pieces, evaluate
from analysis.meta.mvlik_lowrank import lowrank

MAXITER = 200
STEP_TOL = 1e-12


@dataclass(frozen=True)
class MultilevelResult:
    """A fitted three-level model (intercept only).

    ``q`` and ``p_q`` are metafor's QE test of residual heterogeneity (the fixed-effects Q with
    V); ``i2_between`` and ``i2_within`` are per cent of the total variance (Cheung, 2014, as
    the metafor FAQ computes them); ``df`` is k - 1 under ``test="t"`` and None for z.
    """

    yi: np.ndarray = field(repr=False)
    cluster: np.ndarray = field(repr=False)
    V: BlockCov = field(repr=False)
    method: str
    test: str
    level: float
    k: int
    k_clusters: int
    estimate: float
    se: float
    stat: float
    p: float
    ci_low: float
    ci_high: float
    q: float
    p_q: float
    sigma2_between: float
    sigma2_within: float
    i2_between: float
    i2_within: float
    df: int | None
    loglik: float
    iterations: int

    @property
    def i2(self) -> float:
        """Total I² (per cent), the sum of both levels."""
        return self.i2_between + self.i2_within

    @property
    def weights(self) -> np.ndarray:
        """Each effect's weight in the pooled estimate, the row sums of W = M⁻¹ (metafor's
        ``weights(fit, type = "rowsum")`` before scaling to per cent): estimate = sum(w y) / sum(w).
        M is block-diagonal by cluster, so each cluster's M_j⁻¹1 is solved on its own."""
        grp = grouping(self.cluster)
        out = np.empty(self.k)
        for block, (_, _, idx) in zip(grp.stack(self.V.rows, self.V.cols, self.V.vals), grp.groups):
            m = block.shape[-1]
            block = block + self.sigma2_between + self.sigma2_within * np.eye(m)
            out[idx] = np.linalg.solve(block, np.ones(block.shape[:-1] + (1,)))[..., 0]
        return out

    def to_dict(self) -> dict:
        """The headline numbers as a flat dict."""
        keys = ("k", "k_clusters", "estimate", "se", "ci_low", "ci_high", "p", "q", "p_q", "sigma2_between",
                "sigma2_within", "i2_between", "i2_within", "df", "loglik")
        return {key: getattr(self, key) for key in keys}

    def to_frame(self):
        """Coefficient table (one row, the intercept)."""
        import pandas as pd

        return pd.DataFrame({"estimate": [self.estimate], "se": [self.se], "stat": [self.stat], "p": [self.p],
                             "ci_low": [self.ci_low], "ci_high": [self.ci_high]}, index=["intercept"])


def _direction(cur: Pieces, free: np.ndarray) -> np.ndarray:
    """Newton step on the free components; Fisher scoring where the Hessian is not negative definite."""
    g = cur.score[free]
    obs = cur.observed[np.ix_(free, free)]
    eig = np.linalg.eigvalsh(obs)
    if eig.min() > 1e-10 * max(1.0, abs(eig.max())):
        return np.linalg.solve(obs, g)
    return np.linalg.lstsq(cur.expected[np.ix_(free, free)], g, rcond=1e-10)[0]


def maximise(evaluate_at, start: np.ndarray, hold=None) -> tuple[np.ndarray, Pieces, int]:
    """Maximise the (restricted) log-likelihood over theta >= 0; returns theta, its pieces, iterations.
    ``evaluate_at(theta)`` gives the :class:`analysis.meta.mvlik.Pieces` at theta; ``hold`` (a
    boolean mask) keeps those components at their ``start`` value (a profile likelihood)."""
    theta = np.maximum(np.asarray(start, dtype=float), 0.0)
    held = np.zeros(len(theta), bool) if hold is None else np.asarray(hold, bool)
    cur = evaluate_at(theta)
    for it in range(1, MAXITER + 1):
        free = ~((theta <= 0) & (cur.score <= 0)) & ~held
        if not free.any():
            return theta, cur, it
        step = np.zeros(2)
        step[free] = _direction(cur, free)
        lam, moved = 1.0, False
        while lam > 1e-10:
            new = np.maximum(theta + lam * step, 0.0)
            nxt = evaluate_at(new)
            if nxt.loglik >= cur.loglik - 1e-13 * abs(cur.loglik):
                moved = True
                break
            lam /= 2
        if not moved:
            return theta, cur, it
        change = np.abs(new - theta).max()
        theta, cur = new, nxt
        if change <= STEP_TOL:
            return theta, cur, it
    raise RuntimeError(f"the three-level model did not converge in {MAXITER} iterations")


def _prepare(yi, vi, cluster, V):
    y = np.asarray(yi, dtype=float).ravel()
    cluster = np.asarray(cluster).ravel()
    k = len(y)
    if k < 2 or len(cluster) != k:
        raise ValueError("need at least two effects, with a cluster for each")
    if V is None:
        v = np.asarray(vi, dtype=float).ravel()
        if len(v) != k or np.any(~np.isfinite(v)) or np.any(v <= 0):
            raise ValueError("vi must be finite, > 0 and of the same length as yi")
        V = diagonal_cov(v, cluster)
    elif isinstance(V, np.ndarray):
        rows, cols = np.nonzero(V)
        V = BlockCov(cluster, rows, cols, V[rows, cols])
    if V.k != k:
        raise ValueError("V must be k-by-k")
    if np.any(~np.isfinite(y)):
        raise ValueError("yi must be finite")
    return y, cluster, V


def rma_mv(yi, vi, cluster, *, V=None, method: str = "REML", test: str = "z", level: float = 95.0,
           exact: bool = False) -> MultilevelResult:
    """Fit the intercept-only three-level model (effects within clusters).

    Parameters
    ----------
    yi : array_like
        Effect sizes.
    vi : array_like
        Sampling variances; ignored when ``V`` is given.
    cluster : array_like
        Cluster (e.g. study) of each effect; every row is its own effect within the cluster.
    V : BlockCov or ndarray, optional
        Block-diagonal sampling covariance (from :func:`analysis.meta.vcalc`), its blocks within
        the clusters; diag(vi) by default.
    method : {"REML", "ML"}
    test : {"z", "t"}
        t uses k - 1 degrees of freedom, as metafor's ``test = "t"``.
    level : float
        Confidence level in per cent.
    exact : bool
        Accepted for symmetry; the fit always converges to a step below 1e-12.

    Returns
    -------
    MultilevelResult

    References
    ----------
    Konstantopoulos, S. (2011). Fixed effects and variance components estimation in three-level
    meta-analysis. *Research Synthesis Methods*, 2, 61-76.
    Cheung, M. W.-L. (2014). Modeling dependent effect sizes with three-level meta-analyses: a
    structural equation modeling approach. *Psychological Methods*, 19, 211-229.
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *JSS*, 36(3).
    """
    if method not in ("REML", "ML"):
        raise ValueError("method must be 'REML' or 'ML'")
    if test not in ("z", "t"):
        raise ValueError("test must be 'z' or 't'")
    y, cluster, V = _prepare(yi, vi, cluster, V)
    grp = grouping(cluster)
    evaluate_at = _likelihood(y, grp, V)
    total = max(0.001, float(np.var(y, ddof=1)) - float(V.diagonal().mean()))
    theta, fit, iterations = maximise(lambda t: evaluate_at(t, method == "REML"), np.array([total / 2, total / 2]))
    fixed = evaluate_at(np.zeros(2), True)
    return _result(y, cluster, V, grp.n_clusters, method, test, level, theta, fit, fixed, iterations)


def _likelihood(y, grp, V):
    """``(theta, reml) -> Pieces``: without blocks where V is diagonal or has one constant
    correlation in a cluster (:mod:`analysis.meta.mvlik_lowrank`), block by block otherwise."""
    flat = lowrank(y, grp.codes, grp.n_clusters, V)
    if flat is not None:
        return flat.evaluate
    vblocks, ys = grp.stack(V.rows, V.cols, V.vals), grp.gather(y)
    return lambda theta, reml: evaluate(theta, vblocks, ys, reml)


def _result(y, cluster, V, n_clusters, method, test, level, theta, fit, fixed, iterations) -> MultilevelResult:
    """Inference on the intercept, QE and I² per level from the converged fit."""
    k = len(y)
    typical = (k - 1) / fixed.tr_p
    se = float(np.sqrt(1 / fit.S))
    stat = fit.mu / se
    alpha = 1 - level / 100
    df = k - 1 if test == "t" else None
    if df is None:
        crit, p = -special.ndtri(alpha / 2), 2 * special.ndtr(-abs(stat))
    else:
        crit, p = -special.stdtrit(df, alpha / 2), 2 * special.stdtr(df, -abs(stat))
    denom = theta.sum() + typical
    q = max(0.0, fixed.rss)
    return MultilevelResult(
        yi=y, cluster=cluster, V=V, method=method, test=test, level=level, k=k, k_clusters=n_clusters,
        estimate=fit.mu, se=se, stat=float(stat), p=float(p), ci_low=float(fit.mu - crit * se),
        ci_high=float(fit.mu + crit * se), q=q, p_q=float(special.chdtrc(k - 1, q)),
        sigma2_between=float(theta[0]), sigma2_within=float(theta[1]),
        i2_between=float(100 * theta[0] / denom), i2_within=float(100 * theta[1] / denom), df=df,
        loglik=fit.loglik, iterations=iterations,
    )
