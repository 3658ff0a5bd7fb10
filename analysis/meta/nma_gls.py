"""Generalised least squares of network contrasts with one common heterogeneity variance.

The engine beneath :func:`analysis.meta.nma.nma` and the coherence models of
:mod:`analysis.meta.nma_coherence`: y = X beta + delta + e, e ~ N(0, V) block-diagonal by study,
delta ~ N(0, tau^2 R) with R = 1 on the diagonal and 1/2 off it. tau^2 is the root of the
(restricted) likelihood's score, found by Brent's method (see :mod:`analysis.meta.nma`).
No Python library fits this model (statsmodels' MixedLM has no known sampling covariance; PyMARE
has no multivariate model), so it is written here with sparse block-diagonal matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, sparse

from analysis.meta.blocks import grouping, within_pairs

LOG2PI = np.log(2 * np.pi)
RHO = 0.5


class _Structure:
    """The study blocks of V and R, and the sparse pattern of a block-diagonal matrix over them."""

    def __init__(self, study, V):
        self.grp = grouping(study)
        self.k = self.grp.k
        self.vblocks = self.grp.stack(V.rows, V.cols, V.vals)
        self.rblocks = [np.full((n, n), RHO) + (1 - RHO) * np.eye(n) for n, _, _ in self.grp.groups]
        self.rows, self.cols = within_pairs(self.grp)
        self.R = self.sparse([np.broadcast_to(r, v.shape) for r, v in zip(self.rblocks, self.vblocks)])

    def sparse(self, blocks) -> sparse.csr_matrix:
        data = np.concatenate([b.reshape(-1) for b in blocks])
        return sparse.csr_matrix((data, (self.rows, self.cols)), shape=(self.k, self.k))

    def inverse(self, tau2: float):
        """W = (V + tau2 R)^-1 as a sparse matrix, log|V + tau2 R| and tr(W R)."""
        ws, logdet, tr_wr = [], 0.0, 0.0
        for v, r in zip(self.vblocks, self.rblocks):
            m = v + tau2 * r
            sign, ld = np.linalg.slogdet(m)
            if np.any(sign <= 0):
                raise np.linalg.LinAlgError("a study's covariance matrix is not positive definite")
            w = np.linalg.inv(m)
            ws.append(w)
            logdet += float(ld.sum())
            tr_wr += float(np.einsum("mij,ji->", w, r))
        return self.sparse(ws), logdet, tr_wr


@dataclass(frozen=True)
class _GLS:
    tau2: float
    beta: np.ndarray
    H: np.ndarray
    resid: np.ndarray
    rss: float
    logdet: float
    ll_ml: float
    ll_reml: float
    score: float


def _gls(st: _Structure, y, X: sparse.csr_matrix, tau2: float, reml: bool, logdet_xx: float,
         with_score: bool = True) -> _GLS:
    W, logdet, tr_wr = st.inverse(tau2)
    WX = (W @ X).tocsc()
    H = (X.T @ WX).toarray()
    H = (H + H.T) / 2
    chol = np.linalg.cholesky(H)
    beta = np.linalg.solve(H, X.T @ (W @ y))
    resid = y - X @ beta
    Wr = W @ resid
    rss = float(resid @ Wr)
    k, p = X.shape
    logdet_h = 2 * float(np.log(np.diag(chol)).sum())
    ll_ml = -0.5 * k * LOG2PI - 0.5 * logdet - 0.5 * rss
    ll_reml = -0.5 * (k - p) * LOG2PI + 0.5 * logdet_xx - 0.5 * logdet - 0.5 * logdet_h - 0.5 * rss
    score = np.nan
    if with_score:
        trace = tr_wr
        if reml:
            G = (WX.T @ (st.R @ WX)).toarray()
            trace -= float(np.sum(np.linalg.solve(H, G).diagonal()))
        score = -0.5 * trace + 0.5 * float(Wr @ (st.R @ Wr))
    return _GLS(tau2, beta, H, resid, rss, logdet, ll_ml, ll_reml, score)


def _logdet_xx(X: sparse.csr_matrix) -> float:
    sign, ld = np.linalg.slogdet((X.T @ X).toarray())
    if sign <= 0:
        raise ValueError("the network is disconnected or the design matrix is rank deficient: "
                         "some treatment effects cannot be estimated")
    return float(ld)


def fit_contrasts(study, yi, V, X, random: bool = True, method: str = "REML") -> _GLS:
    """Fit y = X beta + delta + e with delta ~ N(0, tau^2 R) by study; the engine of :func:`nma`.

    ``X`` is any k-by-p matrix of full column rank (dense or sparse); the design-by-treatment
    and node-splitting models of :mod:`analysis.meta.nma_coherence` add columns to it.
    """
    if method not in ("REML", "ML"):
        raise ValueError("method must be 'REML' or 'ML'")
    st = _Structure(np.asarray(study), V)
    y = np.asarray(yi, dtype=float)
    X = sparse.csr_matrix(X, dtype=float)
    ldxx = _logdet_xx(X)
    if random and X.shape[0] <= X.shape[1]:
        raise ValueError(f"{X.shape[0]} contrasts cannot estimate {X.shape[1]} effects and a heterogeneity "
                         "variance; fit the common-effect model")
    reml = method == "REML"
    at0 = _gls(st, y, X, 0.0, reml, ldxx, with_score=random)
    if not random or at0.score <= 0:
        return at0

    def score(t2):
        return _gls(st, y, X, t2, reml, ldxx).score

    hi = max(float(np.var(y)), 1e-4)
    while score(hi) > 0:
        hi *= 4
        if hi > 1e8:
            raise ArithmeticError("the heterogeneity variance does not converge")
    tau2 = optimize.brentq(score, 0.0, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    return _gls(st, y, X, tau2, reml, ldxx, with_score=False)
