"""Cluster-robust Wald tests of several coefficients at once: the CR2 Hotelling's T² test with
its small-sample degrees of freedom (clubSandwich's ``Wald_test(..., vcov = "CR2", test = "HTZ")``).

For q linear constraints C beta = c the statistic is Q = (C b - c)' (C V_CR2 C')⁻¹ (C b - c). It is
referred to Hotelling's T² distribution with the degrees of freedom nu that match the first two
moments of C V_CR2 C' under the working model (Tipton & Pustejovsky, 2015, "HTZ"):
F = (nu - q + 1) / (nu q) Q on q and nu - q + 1 degrees of freedom. With per-cluster matrices
G_j = C B X_j'W_j A_j chol(Theta_j) and H_j = C B X_j'W_j A_j X_j chol(B) (those of
:func:`analysis.meta.robust._satterthwaite`), P_st = diag_j(G_j[s]·G_j[t]) - H[s] H[t]',
Omega_st = tr P_st, B_st the P's standardised by Omega^{-1/2}, and
nu = q (q + 1) / sum_st [tr(B_st B_ts) + tr(B_ss B_tt)]. The J-by-J matrices are never formed:
each B is a diagonal less a rank-p term, so every trace is a sum over clusters. For q = 1 the
test is the CR2 t-test with Satterthwaite's df.

Written here because no Python library implements the small-sample CR2 Wald test (statsmodels'
cluster-robust Wald test is CR1 with a chi-square or naive F reference).

References
----------
Tipton, E., & Pustejovsky, J. E. (2015). Small-sample adjustments for tests of moderators and
model fit using robust variance estimation in meta-regression. *Journal of Educational and
Behavioral Statistics*, 40, 604-634.
Pustejovsky, J. E., & Tipton, E. (2018). Small-sample methods for cluster-robust variance
estimation and hypothesis testing in fixed effects models. *JBES*, 36, 672-683.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

EIGEN_TOL = 1e-12  # clubSandwich's matrix_power drops eigenvalues at or below 10^-12


@dataclass(frozen=True)
class WaldResult:
    """``Q`` (the Wald statistic), ``F`` (HTZ-scaled), ``df_num`` (q), ``df_denom`` (nu - q + 1),
    ``p`` and ``nu``."""

    Q: float
    F: float
    df_num: int
    df_denom: float
    p: float
    nu: float

    def to_dict(self) -> dict:
        return {"Q": self.Q, "F": self.F, "df_num": self.df_num, "df_denom": self.df_denom, "p": self.p,
                "nu": self.nu}


def _inverse_sqrt(a: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(a)
    powr = np.where(vals > EIGEN_TOL, np.abs(vals) ** -0.5, 0.0)
    return (vecs * powr) @ vecs.T


def _gh(C, pieces):
    """Per cluster: G_j G_j' (J, q, q) and H_j (J, q, p), for the constraints C."""
    theta, xs, mes, bread = pieces
    chol_b = np.linalg.cholesky(bread)
    gg, hs = [], []
    for t, x, me in zip(theta, xs, mes):
        g = np.einsum("qp,mpn->mqn", C, me) @ np.linalg.cholesky(t)
        gg.append(g @ np.swapaxes(g, 1, 2))
        hs.append(np.einsum("qp,mpn->mqn", C, me) @ x @ chol_b)
    return np.concatenate(gg), np.concatenate(hs)


def htz_nu(C, pieces) -> float:
    """Hotelling's T² degrees of freedom nu of the constraints C (q-by-p) under the working model."""
    gg, h = _gh(C, pieces)
    q = C.shape[0]
    omega = gg.sum(axis=0) - np.einsum("jsu,jtu->st", h, h)
    root = _inverse_sqrt(omega)
    d = np.einsum("si,jik,kt->jst", root, gg, root)  # diagonals of the standardised P's
    ht = np.einsum("si,jiu->jsu", root, h)
    cross = np.einsum("jsu,jtv->stuv", ht, ht)  # H_s' H_t, u-by-v for each (s, t)
    total = 0.0
    for s in range(q):
        for t in range(q):
            # tr(B_st B_ts), B_ts = B_st'
            d_st, hsj, htj = d[:, s, t], ht[:, s, :], ht[:, t, :]
            b1 = (d_st ** 2).sum() - 2 * (d_st * (hsj * htj).sum(axis=1)).sum() + np.sum(cross[t, s] * cross[t, s].T)
            # tr(B_ss B_tt)
            d_ss, d_tt = d[:, s, s], d[:, t, t]
            b2 = ((d_ss * d_tt).sum() - (d_ss * (htj ** 2).sum(axis=1)).sum() - (d_tt * (hsj ** 2).sum(axis=1)).sum()
                  + np.sum(cross[s, t] ** 2))
            total += b1 + b2
    return float(q * (q + 1) / total)


def wald_test(fit, constraints, null=0.0) -> WaldResult:
    """CR2 Wald test of ``constraints @ beta = null`` with the HTZ small-sample correction.

    Parameters
    ----------
    fit : MultilevelRegression
        A CHE meta-regression (:func:`analysis.meta.multilevel_regression`), which keeps its CR2 pieces.
    constraints : array_like
        q-by-p matrix C (one row per constraint, one column per coefficient).
    null : float or array_like
        The constants c (0 by default).

    Returns
    -------
    WaldResult
        p is NaN when nu - q + 1 is not positive, as clubSandwich returns it.
    """
    C = np.atleast_2d(np.asarray(constraints, dtype=float))
    if C.shape[1] != len(fit.beta):
        raise ValueError(f"constraints must have {len(fit.beta)} columns, one per coefficient; got {C.shape[1]}")
    q = C.shape[0]
    diff = C @ fit.beta - np.broadcast_to(np.asarray(null, dtype=float), (q,))
    Q = float(diff @ np.linalg.solve(C @ fit.vcov @ C.T, diff))
    nu = htz_nu(C, fit.pieces)
    df = nu - q + 1
    F = max(df / nu, 0.0) * Q / q
    p = float(special.fdtrc(q, df, F)) if df > 0 else float("nan")
    return WaldResult(Q, float(F), q, float(df), p, nu)


def equal_constraints(p: int) -> np.ndarray:
    """The (p - 1)-by-p matrix of beta_j - beta_1 = 0, j = 2..p (clubSandwich's ``constrain_equal``)."""
    C = np.zeros((p - 1, p))
    C[:, 0] = -1.0
    C[np.arange(p - 1), np.arange(1, p)] = 1.0
    return C
