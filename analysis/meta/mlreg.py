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

from dataclasses import dataclass, field

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
    vcov: np.ndarray = field(repr=False, compare=False)
    #: the per-cluster CR2 pieces (Theta blocks, design rows, B X_j'W_j A_j, bread) a Wald test needs
    pieces: tuple = field(repr=False, compare=False)

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


def _pieces(theta, vs, xs, ys):
    """At theta, per size group of clusters: the blocks M_j, their inverses W_j and W_j X_j; then
    beta, the bread (X'WX)⁻¹, the residuals e_j, r_j = W_j e_j (= (Py)_j) and the restricted
    log-likelihood. Nothing bigger than a cluster's block or p-by-p is formed."""
    ms, ws, wxs = [], [], []
    p = xs[0].shape[-1]
    xwx, xwy, logdet = np.zeros((p, p)), np.zeros(p), 0.0
    for v, x, y in zip(vs, xs, ys):
        n = v.shape[-1]
        m = v + theta[0] + theta[1] * np.eye(n)
        w = np.linalg.inv(m)
        wx = w @ x
        xwx += np.einsum("mnp,mnq->pq", x, wx)
        xwy += np.einsum("mnp,mn->p", wx, y)
        logdet += float(np.linalg.slogdet(m)[1].sum())
        ms.append(m), ws.append(w), wxs.append(wx)
    bread = np.linalg.inv(xwx)
    beta = bread @ xwy
    es = [y - x @ beta for x, y in zip(xs, ys)]
    rs = [np.einsum("mnk,mk->mn", w, e) for w, e in zip(ws, es)]
    quad = sum(float(np.sum(e * r)) for e, r in zip(es, rs))
    loglik = -0.5 * (logdet + np.linalg.slogdet(xwx)[1] + quad)
    return {"ms": ms, "ws": ws, "wxs": wxs, "beta": beta, "bread": bread, "rs": rs, "loglik": loglik}


def _score_info(cur):
    """REML score and Fisher information of (sigma2_between, sigma2_within), with Z_b = 11' and
    Z_w = I within each cluster and P = W - F B F' (F = WX): score_a = (r'Z_a r - tr P Z_a) / 2 and
    info_ab = tr(P Z_a P Z_b) / 2 = [sum_j tr(W_j Z_a W_j Z_b) - 2 tr(B F'Z_b W Z_a F)
    + tr(B F'Z_a F B F'Z_b F)] / 2."""
    bread = cur["bread"]
    r_b = sum(float((r.sum(axis=1) ** 2).sum()) for r in cur["rs"])
    r_w = sum(float((r ** 2).sum()) for r in cur["rs"])
    tr_w = [0.0, 0.0]
    fzf = [0.0, 0.0]  # F' Z_a F
    fzwzf = [[0.0, 0.0], [0.0, 0.0]]  # F' Z_b W Z_a F
    ww = [[0.0, 0.0], [0.0, 0.0]]  # sum_j tr(W Z_a W Z_b)
    for w, f in zip(cur["ws"], cur["wxs"]):
        one_w = w.sum(axis=1)  # 1'W_j (m, n)
        s = f.sum(axis=1)  # 1'F_j (m, p)
        zf = (np.broadcast_to(s[:, None, :], f.shape), f)  # Z_b F_j = 1 (1'F_j), Z_w F_j = F_j
        tr_w[0] += float(one_w.sum())
        tr_w[1] += float(np.einsum("mnn->", w))
        fzf[0] = fzf[0] + np.einsum("mp,mq->pq", s, s)
        fzf[1] = fzf[1] + np.einsum("mnp,mnq->pq", f, f)
        total = one_w.sum(axis=1)  # 1'W_j 1
        ww[0][0] += float((total ** 2).sum())
        ww[0][1] += float((one_w ** 2).sum())
        ww[1][1] += float(np.sum(w * w))
        for a in range(2):
            wz = np.einsum("mnk,mkp->mnp", w, zf[a])  # W_j Z_a F_j
            for b in range(2):
                fzwzf[a][b] = fzwzf[a][b] + np.einsum("mnp,mnq->pq", zf[b], wz)
    ww[1][0] = ww[0][1]
    tr_p = [tr_w[a] - float(np.sum(bread * fzf[a])) for a in range(2)]
    score = 0.5 * np.array([r_b - tr_p[0], r_w - tr_p[1]])
    info = np.empty((2, 2))
    for a in range(2):
        for b in range(2):
            info[a, b] = 0.5 * (ww[a][b] - 2 * float(np.sum(bread * fzwzf[a][b].T))
                                + float(np.sum((bread @ fzf[a]) * (bread @ fzf[b]).T)))
    return score, info


def _fit(vs, xs, ys, start):
    """Fisher scoring over theta >= 0 with step-halving; returns theta and the pieces at it."""
    theta = np.maximum(np.asarray(start, dtype=float), 0.0)
    cur = _pieces(theta, vs, xs, ys)
    for _ in range(MAXITER):
        score, info = _score_info(cur)
        free = ~((theta <= 0) & (score <= 0))
        if not free.any():
            return theta, cur
        step = np.zeros(2)
        step[free] = np.linalg.lstsq(info[np.ix_(free, free)], score[free], rcond=1e-12)[0]
        lam = 1.0
        while lam > 1e-12:
            new = np.maximum(theta + lam * step, 0.0)
            nxt = _pieces(new, vs, xs, ys)
            if nxt["loglik"] >= cur["loglik"] - 1e-13 * abs(cur["loglik"]):
                break
            lam /= 2
        change = float(np.abs(new - theta).max())
        theta, cur = new, nxt
        if change <= TOL * max(1.0, float(theta.max())):
            return theta, cur
    raise RuntimeError(f"the three-level meta-regression did not converge in {MAXITER} iterations")


def multilevel_regression(yi, vi, cluster, mods, rho: float = 0.5, level: float = 95.0,
                          intercept: bool = True) -> MultilevelRegression:
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
    intercept : bool
        Whether X has an intercept column before ``mods`` (metafor's ``mods = ~ 0 + ...`` when
        False, as for one mean per subgroup).
    """
    y = np.asarray(yi, dtype=float).ravel()
    k = len(y)
    X = np.asarray(mods, dtype=float).reshape(k, -1)
    if intercept:
        X = np.column_stack([np.ones(k), X])
    cluster = np.asarray(cluster).ravel()
    if len(cluster) != k or not np.all(np.isfinite(X)) or not np.all(np.isfinite(y)):
        raise ValueError("yi, vi, cluster and mods must be finite and of one length")
    grp = grouping(cluster)
    if grp.n_clusters <= X.shape[1]:
        raise ValueError(f"a meta-regression with {X.shape[1]} coefficients needs more clusters than that, got {grp.n_clusters}")
    blocks = vcalc(vi, cluster, rho=rho)
    vs = grp.stack(blocks.rows, blocks.cols, blocks.vals)
    xs, ys = [X[idx] for _, _, idx in grp.groups], grp.gather(y)
    total = max(0.001, float(np.var(y, ddof=1)) - float(np.mean(vi)))
    theta, cur = _fit(vs, xs, ys, np.array([total / 2, total / 2]))
    ms, beta, bread = cur["ms"], cur["beta"], cur["bread"]
    bread_r, us, mes = _cr2(ms, xs, grp.gather(y - X @ beta))
    vcov = bread_r @ (us.T @ us) @ bread_r
    se = np.sqrt(np.diag(vcov))
    df = _satterthwaite(ms, xs, bread_r, mes)
    t = beta / se
    names = ("intercept",) * intercept + tuple(f"mod{j}" for j in range(1, X.shape[1] + 1 - intercept))
    return MultilevelRegression(names, beta, se, t, df, 2 * special.stdtr(df, -np.abs(t)), np.sqrt(np.diag(bread)),
                                float(theta[0]), float(theta[1]), k, grp.n_clusters, vcov, (ms, xs, mes, bread_r))
