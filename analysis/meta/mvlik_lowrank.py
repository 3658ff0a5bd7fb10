"""The three-level likelihood of :mod:`analysis.meta.mvlik` without blocks, where every cluster's
marginal covariance is a diagonal plus a low-rank matrix.

Two sampling covariances that the field uses have that form: diag(vi) (the three-level model),
and metafor's ``vcalc`` with one constant correlation rho in a cluster (the CHE working model),
V_c = (1 - rho) diag(v) + rho s s' with s = sqrt(v). With sigma2_between 1 1' and sigma2_within I
added, M_c = D_c + U_c C U_c' with D = diag(d0 + sigma2_within), U_c = [1] or [1, s] and
C = diag(sigma2_between[, rho]). The Woodbury identity (Henderson & Searle, 1981)

    M_c⁻¹ = D⁻¹ - D⁻¹ U K U' D⁻¹,   K = C (I + G1 C)⁻¹,   G_j = U' D⁻ʲ U,
    log|M_c| = sum(log d) + log|I + G1 C|,

turns every quantity of :func:`analysis.meta.mvlik.evaluate` into sums over rows and over
clusters of r-by-r matrices (r = 1 or 2), for instance tr(W_c) = sum(1/d) - tr(K G2) and
||W_c||² = sum(1/d²) - 2 tr(K G3) + tr(K G2 K G2). The numbers are the block computation's; the
cost is a few dozen vector operations of length k, whatever the cluster sizes, which is what
the multiverse's thousands of fits and the leave-one-out refits need.

References
----------
Henderson, H. V., & Searle, S. R. (1981). On deriving the inverse of a sum of matrices.
*SIAM Review*, 23, 53-60.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.meta.blocks import BlockCov
from analysis.meta.mvlik import Pieces, pieces

#: Largest spread of the within-cluster correlations still read as one constant rho.
RHO_TOL = 1e-12


@dataclass(frozen=True)
class LowRank:
    """M_c = diag(d0 + sigma2_within) + U_c diag(sigma2_between, *fixed) U_c' for every cluster.

    The rows are sorted by cluster (``starts``: where each cluster begins), which changes no
    result; ``U`` is (k, r), its first column ones; ``fixed`` holds the r - 1 constant entries
    of C after sigma2_between (rho for the CHE model)."""

    y: np.ndarray
    starts: np.ndarray
    codes: np.ndarray
    d0: np.ndarray
    U: np.ndarray
    fixed: tuple

    def _seg(self, x: np.ndarray) -> np.ndarray:
        """Sums over the rows of each cluster (along the first axis)."""
        return np.add.reduceat(x, self.starts, axis=0)

    def evaluate(self, theta, reml: bool) -> Pieces:
        """As :func:`analysis.meta.mvlik.evaluate` at theta = (between, within)."""
        U, codes = self.U, self.codes
        r = U.shape[1]
        u = 1 / (self.d0 + theta[1])
        powers = np.column_stack([u, u * u, u * u * u])  # (k, 3)
        pairs = (U[:, :, None] * U[:, None, :]).reshape(len(u), r * r)  # (k, r²)
        g = self._seg((powers[:, :, None] * pairs[:, None, :]).reshape(len(u), -1)).reshape(-1, 3, r, r)
        g1, g2, g3 = g[:, 0], g[:, 1], g[:, 2]
        C = np.array([theta[0], *self.fixed])
        B = np.eye(r) + g1 * C  # I + G1 C (C diagonal scales the columns)
        det, inv = _det_inv(B)
        K = C[:, None] * inv  # C B⁻¹
        logdet = float(-np.log(u).sum() + np.log(det).sum())

        def w(x):
            z = np.einsum("mpq,mq->mp", K, self._seg(U * (u * x)[:, None]))
            return u * x - u * np.einsum("kp,kp->k", U, z[codes])

        a = w(np.ones_like(self.y))
        s = self._seg(a)
        S = float(s.sum())
        mu = float(a @ self.y) / S
        e = self.y - mu
        res = w(e)
        kg2 = K @ g2
        tr_w = float(u.sum() - np.einsum("mpq,mqp->", K, g2))
        w_f2 = float((u * u).sum() - 2 * np.einsum("mpq,mqp->", K, g3) + np.einsum("mpq,mqp->", kg2, kg2))
        return pieces(k=len(self.y), logdet=logdet, s=s, S=S, mu=mu, rss=float(e @ res), rs=self._seg(res),
                      tr_w=tr_w, aa_c=self._seg(a * a), w_f2=w_f2, a_w_a=float(a @ w(a)), r_w_r=float(res @ w(res)),
                      a_r=self._seg(a * res), r2=float(res @ res), reml=reml)


def _det_inv(B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Determinants and inverses of a stack of 1-by-1 or 2-by-2 matrices, by their formulas."""
    if B.shape[1] == 1:
        return B[:, 0, 0], 1 / B
    det = B[:, 0, 0] * B[:, 1, 1] - B[:, 0, 1] * B[:, 1, 0]
    inv = np.stack([np.stack([B[:, 1, 1], -B[:, 0, 1]], 1), np.stack([-B[:, 1, 0], B[:, 0, 0]], 1)], 1)
    return det, inv / det[:, None, None]


def lowrank(y: np.ndarray, codes: np.ndarray, m: int, V: BlockCov) -> LowRank | None:
    """The :class:`LowRank` form of the model when V is diagonal or has one constant correlation
    0 <= rho < 1 between all effects of a cluster (every pair present); None otherwise (the
    block computation then applies)."""
    v = V.diagonal()
    off = V.rows != V.cols
    ones = np.ones((len(y), 1))
    if not off.any():
        return _sorted(y, codes, m, v, ones, ())
    rows, cols, vals = V.rows[off], V.cols[off], V.vals[off]
    sizes = np.bincount(codes, minlength=m)
    if len(vals) != int((sizes * (sizes - 1)).sum()) or np.any(codes[rows] != codes[cols]):
        return None
    corr = vals / np.sqrt(v[rows] * v[cols])
    rho = float(corr.mean())
    if not (0 <= rho < 1) or float(np.abs(corr - rho).max()) > RHO_TOL:
        return None
    if rho == 0 and not np.any(corr):
        return _sorted(y, codes, m, v, ones, ())
    return _sorted(y, codes, m, (1 - rho) * v, np.column_stack([ones[:, 0], np.sqrt(v)]), (rho,))


def _sorted(y, codes, m, d0, U, fixed) -> LowRank:
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=m))[:-1]])
    return LowRank(y[order], starts, codes[order], d0[order], U[order], fixed)
