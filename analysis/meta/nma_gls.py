"""Generalised least squares of network contrasts with one common heterogeneity variance.

The engine beneath :func:`analysis.meta.nma.nma` and the coherence models of
:mod:`analysis.meta.nma_coherence`: y = X beta + delta + e, e ~ N(0, V) block-diagonal by study,
delta ~ N(0, tau^2 R) with R = 1 on the diagonal and 1/2 off it. tau^2 is the root of the
(restricted) likelihood's score, found by Brent's method (see :mod:`analysis.meta.nma`).
No Python library fits this model (statsmodels' MixedLM has no known sampling covariance; PyMARE
has no multivariate model), so it is written here, block by block over the studies (sparse
matrices for a design too large to hold in dense blocks).
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

    def inverse_blocks(self, tau2: float):
        """The blocks of W = (V + tau2 R)^-1 (one ``(m, n, n)`` array per size group),
        log|V + tau2 R| and tr(W R)."""
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
        return ws, logdet, tr_wr


#: Up to this many entries (contrasts times coefficients) the design is held as dense study blocks
#: and every product is taken block by block; a larger design (a network of hundreds of treatments)
#: stays sparse.
DENSE_MAX = 4_000_000


class _Design:
    """The design matrix of a fit, prepared once: dense study blocks (``xs``) when small, else sparse."""

    def __init__(self, st: _Structure, X):
        X = sparse.csr_matrix(X, dtype=float)
        self.k, self.p = X.shape
        self.dense = self.k * self.p <= DENSE_MAX
        if self.dense:
            full = X.toarray()
            self.xs = [full[idx] for _, _, idx in st.grp.groups]
        else:
            self.X = X


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


def _dense_pieces(st: _Structure, y, design: _Design, ws, reml: bool, with_score: bool):
    """H = X'WX, beta, the residuals, their W-weighted sum of squares and the score's two terms
    (tr(H⁻¹ X'WRWX) and r'WRWr), block by block."""
    ys = st.grp.gather(y)
    p = design.p
    wxs = [w @ x for w, x in zip(ws, design.xs)]
    H = sum(x.reshape(-1, p).T @ wx.reshape(-1, p) for x, wx in zip(design.xs, wxs))
    H = (H + H.T) / 2
    beta = np.linalg.solve(H, sum(wx.reshape(-1, p).T @ yy.ravel() for wx, yy in zip(wxs, ys)))
    rs = [yy - x @ beta for yy, x in zip(ys, design.xs)]
    wrs = [(w @ r[..., None])[..., 0] for w, r in zip(ws, rs)]
    resid = np.empty(design.k)
    for (_, _, idx), r in zip(st.grp.groups, rs):
        resid[idx] = r
    rss = sum(float(np.sum(r * wr)) for r, wr in zip(rs, wrs))
    trace_h = quad = 0.0
    if with_score:
        quad = sum(float(np.sum(wr * (wr @ rb))) for wr, rb in zip(wrs, st.rblocks))
        if reml:
            G = sum(wx.reshape(-1, p).T @ (rb @ wx).reshape(-1, p) for wx, rb in zip(wxs, st.rblocks))
            trace_h = float(np.sum(np.linalg.solve(H, G).diagonal()))
    return H, beta, resid, rss, trace_h, quad


def _sparse_pieces(st: _Structure, y, design: _Design, ws, reml: bool, with_score: bool):
    """As :func:`_dense_pieces`, with W and X as sparse matrices (large designs)."""
    W = st.sparse(ws)
    X = design.X
    WX = (W @ X).tocsc()
    H = (X.T @ WX).toarray()
    H = (H + H.T) / 2
    beta = np.linalg.solve(H, X.T @ (W @ y))
    resid = y - X @ beta
    Wr = W @ resid
    rss = float(resid @ Wr)
    trace_h = quad = 0.0
    if with_score:
        quad = float(Wr @ (st.R @ Wr))
        if reml:
            G = (WX.T @ (st.R @ WX)).toarray()
            trace_h = float(np.sum(np.linalg.solve(H, G).diagonal()))
    return H, beta, resid, rss, trace_h, quad


def _gls(st: _Structure, y, X, tau2: float, reml: bool, logdet_xx: float,
         with_score: bool = True) -> _GLS:
    design = X if isinstance(X, _Design) else _Design(st, X)
    ws, logdet, tr_wr = st.inverse_blocks(tau2)
    pieces = _dense_pieces if design.dense else _sparse_pieces
    H, beta, resid, rss, trace_h, quad = pieces(st, y, design, ws, reml, with_score)
    k, p = design.k, design.p
    logdet_h = 2 * float(np.log(np.diag(np.linalg.cholesky(H))).sum())
    ll_ml = -0.5 * k * LOG2PI - 0.5 * logdet - 0.5 * rss
    ll_reml = -0.5 * (k - p) * LOG2PI + 0.5 * logdet_xx - 0.5 * logdet - 0.5 * logdet_h - 0.5 * rss
    score = -0.5 * (tr_wr - trace_h) + 0.5 * quad if with_score else np.nan
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
    X = _Design(st, X)
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
