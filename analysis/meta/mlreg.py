"""Three-level meta-regression and the multilevel Egger test, as metafor's
``rma.mv(yi, V, mods = ~ x, random = ~ 1 | cluster/es_id)`` with ``robust(..., clubSandwich = TRUE)``.

:func:`analysis.meta.rma_mv` fits the intercept-only model with analytic derivatives of its
own; a small-study test needs one moderator, so this module fits M = V + sigma2_within I +
sigma2_between Z Z' with a design matrix X by Fisher scoring on the restricted log-likelihood
(score 1/2 (Py)'Z_j(Py) - 1/2 tr(P Z_j), information 1/2 tr(P Z_j P Z_l), with
P = W - W X (X'WX)⁻¹ X'W), blockwise by cluster: nothing bigger than a cluster's block and the
p-by-p matrices is formed. Inference on every coefficient is CR2 (:mod:`analysis.meta.robust`).

References
----------
Harville, D. A. (1977). Maximum likelihood approaches to variance component estimation.
*JASA*, 72, 320-338.
Rodgers, M. A., & Pustejovsky, J. E. (2021). Evaluating meta-analytic methods to detect
selective reporting in the presence of dependent effect sizes. *Psychological Methods*, 26, 141-160.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis.meta.blocks import grouping
from analysis.meta.robust import _cr2, _satterthwaite
from analysis.meta.vcalc import vcalc

MAXITER = 500
TOL = 1e-12


@dataclass(frozen=True)
class MultilevelRegression:
    """A three-level meta-regression with CR2 inference: one entry per coefficient."""

    names: tuple
    beta: np.ndarray
    se: np.ndarray
    t: np.ndarray
    df: np.ndarray
    p: np.ndarray
    model_se: np.ndarray
    sigma2_between: float
    sigma2_within: float
    k: int
    k_clusters: int

    def to_dict(self) -> dict:
        """The slope of the first moderator: ``bias``, ``se``, ``t``, ``df``, ``p`` (CR2), and
        ``limit`` (the intercept) with its CR2 ``limit_se``."""
        return {"bias": float(self.beta[1]), "se": float(self.se[1]), "t": float(self.t[1]), "df": float(self.df[1]),
                "p": float(self.p[1]), "limit": float(self.beta[0]), "limit_se": float(self.se[0]),
                "k": self.k, "k_clusters": self.k_clusters}

    def to_frame(self):
        """One row per coefficient: estimate, se, t, df, p (CR2) and the model-based se."""
        import pandas as pd

        return pd.DataFrame({"estimate": self.beta, "se": self.se, "t": self.t, "df": self.df, "p": self.p,
                             "model_se": self.model_se}, index=list(self.names))


def _dense(theta, V, Z, X, y):
    """M, P, beta and the restricted log-likelihood at theta (dense: k is a few thousand at most)."""
    M = V + theta[1] * np.eye(len(y)) + theta[0] * Z
    W = np.linalg.inv(M)
    WX = W @ X
    xwx = X.T @ WX
    bread = np.linalg.inv(xwx)
    beta = bread @ (WX.T @ y)
    P = W - WX @ bread @ WX.T
    e = y - X @ beta
    loglik = -0.5 * (np.linalg.slogdet(M)[1] + np.linalg.slogdet(xwx)[1] + float(e @ W @ e))
    return M, P, beta, bread, loglik


def _fit(V, Z, X, y, start):
    """Fisher scoring over theta >= 0 with step-halving; returns theta and the pieces at it."""
    theta = np.maximum(np.asarray(start, dtype=float), 0.0)
    zs = (Z, np.eye(len(y)))
    cur = _dense(theta, V, Z, X, y)
    for _ in range(MAXITER):
        P = cur[1]
        py = P @ y
        pz = [P @ z for z in zs]
        score = 0.5 * np.array([float(py @ z @ py) - float(np.trace(q)) for z, q in zip(zs, pz)])
        info = 0.5 * np.array([[float(np.sum(a * b.T)) for b in pz] for a in pz])
        free = ~((theta <= 0) & (score <= 0))
        if not free.any():
            return theta, cur
        step = np.zeros(2)
        step[free] = np.linalg.lstsq(info[np.ix_(free, free)], score[free], rcond=1e-12)[0]
        lam = 1.0
        while lam > 1e-12:
            new = np.maximum(theta + lam * step, 0.0)
            nxt = _dense(new, V, Z, X, y)
            if nxt[4] >= cur[4] - 1e-13 * abs(cur[4]):
                break
            lam /= 2
        change = float(np.abs(new - theta).max())
        theta, cur = new, nxt
        if change <= TOL * max(1.0, float(theta.max())):
            return theta, cur
    raise RuntimeError(f"the three-level meta-regression did not converge in {MAXITER} iterations")


MAX_K = 5000


def multilevel_regression(yi, vi, cluster, mods, rho: float = 0.5, level: float = 95.0) -> MultilevelRegression:
    """CHE meta-regression: ``V = vcalc(vi, cluster, rho)``, a three-level REML fit with an
    intercept and the moderators ``mods``, and CR2 inference with Satterthwaite df.

    Parameters
    ----------
    yi, vi : array_like
        Effects and sampling variances.
    cluster : array_like
        Study of each effect (the robust clusters and the model's level 3).
    mods : array_like
        One moderator (k values) or a k-by-q matrix.
    rho : float
        Assumed correlation of effects within a cluster (vcalc).
    """
    y = np.asarray(yi, dtype=float).ravel()
    k = len(y)
    X = np.column_stack([np.ones(k), np.asarray(mods, dtype=float).reshape(k, -1)])
    cluster = np.asarray(cluster).ravel()
    if len(cluster) != k or not np.all(np.isfinite(X)) or not np.all(np.isfinite(y)):
        raise ValueError("yi, vi, cluster and mods must be finite and of one length")
    grp = grouping(cluster)
    if grp.n_clusters <= X.shape[1]:
        raise ValueError(f"a meta-regression with {X.shape[1]} coefficients needs more clusters than that, got {grp.n_clusters}")
    if k > MAX_K:
        raise ValueError(f"the multilevel meta-regression is fitted with dense matrices: at most {MAX_K} effects, got {k}")
    blocks = vcalc(vi, cluster, rho=rho)
    V = np.zeros((k, k))
    V[blocks.rows, blocks.cols] = blocks.vals
    Z = (cluster[:, None] == cluster[None, :]).astype(float)
    total = max(0.001, float(np.var(y, ddof=1)) - float(np.mean(vi)))
    theta, (M, _, beta, bread, _) = _fit(V, Z, X, y, np.array([total / 2, total / 2]))
    xs = [X[idx] for _, _, idx in grp.groups]
    ms = [M[idx[:, :, None], idx[:, None, :]] for _, _, idx in grp.groups]
    bread_r, us, mes = _cr2(ms, xs, grp.gather(y - X @ beta))
    vcov = bread_r @ (us.T @ us) @ bread_r
    se = np.sqrt(np.diag(vcov))
    df = _satterthwaite(ms, xs, bread_r, mes)
    t = beta / se
    names = ("intercept",) + tuple(f"mod{j}" for j in range(1, X.shape[1]))
    return MultilevelRegression(names, beta, se, t, df, 2 * special.stdtr(df, -np.abs(t)), np.sqrt(np.diag(bread)),
                                float(theta[0]), float(theta[1]), k, grp.n_clusters)
