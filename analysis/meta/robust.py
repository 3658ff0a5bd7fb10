"""Cluster-robust (CR2) inference, as metafor's ``robust(fit, cluster, clubSandwich = TRUE)``.

clubSandwich's CR2 estimator with the model's own weights (``inverse_var``): the working
covariance of cluster j is the fitted marginal covariance Theta_j (M of the model restricted to
the cluster), W_j = Theta_j⁻¹. With R_j the upper Cholesky factor of Theta_j and
B = (X'WX)⁻¹, the adjustment is A_j = R_j' G_j^{-1/2} R_j with G_j = R_j (Theta_j - X_j B X_j')
R_j' (eigenvalues at or below 1e-12 dropped, as clubSandwich's ``matrix_power``), and

    V_CR2 = B [sum_j X_j' W_j A_j e_j e_j' A_j W_j X_j] B.

Degrees of freedom are Satterthwaite's, from the working model: for coefficient i,
df = (tr Omega)² / sum(Omega²) with Omega = diag(h_j) - H'H, h_j = g_j' Theta_j g_j,
g_j = B X_j' W_j A_j, and H_j = g_j X_j chol(B). Omega is J-by-J but diagonal plus a rank-p
term, so its trace and squared sum need only per-cluster numbers.

References
----------
Bell, R. M., & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear regression
with multi-stage samples. *Survey Methodology*, 28, 169-181.
Pustejovsky, J. E., & Tipton, E. (2018). Small-sample methods for cluster-robust variance
estimation and hypothesis testing in fixed effects models. *Journal of Business & Economic
Statistics*, 36, 672-683.
Pustejovsky, J. E., & Tipton, E. (2022). Meta-analysis with robust variance estimation:
expanding the range of working models. *Prevention Science*, 23, 425-438.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from analysis.meta.blocks import grouping
from analysis.meta.fit import MetaResult
from analysis.meta.multilevel import MultilevelResult, rma_mv
from analysis.meta.vcalc import vcalc


@dataclass(frozen=True)
class RobustResult:
    """CR2 inference on the intercept (all coefficients in ``to_frame()``)."""

    estimate: float
    se: float
    t: float
    df: float
    p: float
    ci_low: float
    ci_high: float
    k_clusters: int
    level: float
    table: "pd.DataFrame" = field(repr=False, compare=False)  # noqa: F821 (pandas imported on use)

    def to_dict(self) -> dict:
        """``estimate``, ``se``, ``t``, ``df``, ``p``, ``ci_low``, ``ci_high``, ``k_clusters``."""
        keys = ("estimate", "se", "t", "df", "p", "ci_low", "ci_high", "k_clusters")
        return {key: getattr(self, key) for key in keys}

    def to_frame(self):
        """One row per coefficient: estimate, se, t, df, p, ci_low, ci_high."""
        return self.table.copy()


def _working(fit, grp):
    """Theta blocks of the robust clusters, the gathered design and residuals."""
    if isinstance(fit, MultilevelResult):
        model = grouping(fit.cluster)
        if not model.nested_in(grp):
            raise ValueError("the model's clusters must be nested within the robust clusters")
        theta = grp.stack(fit.V.rows, fit.V.cols, fit.V.vals)
        for t, mc in zip(theta, grp.gather(model.codes)):
            same = mc[:, :, None] == mc[:, None, :]
            t += fit.sigma2_between * same + fit.sigma2_within * np.eye(t.shape[-1])
        X = np.ones((fit.k, 1))
        resid = fit.yi - fit.estimate
        beta = np.array([fit.estimate])
    elif isinstance(fit, MetaResult):
        ar = np.arange(fit.k)
        theta = grp.stack(ar, ar, fit.vi + fit.tau2)
        X, beta = fit.X, fit.beta
        resid = fit.yi - X @ beta
    else:
        raise TypeError("robust() takes a MultilevelResult or a MetaResult")
    xs = [X[idx] for _, _, idx in grp.groups]
    return theta, xs, grp.gather(resid), beta


def _cr2(theta, xs, es):
    """Per-cluster CR2 pieces: bread B, estimating rows u_j and the matrices B X_j'W_j A_j."""
    ws = [np.linalg.inv(t) for t in theta]
    wx = [w @ x for w, x in zip(ws, xs)]
    bread = np.linalg.inv(sum(np.einsum("mnp,mnq->pq", x, w_x) for x, w_x in zip(xs, wx)))
    us, mes = [], []
    for t, x, w_x, e in zip(theta, xs, wx, es):
        low = np.linalg.cholesky(t)
        inner = t - np.einsum("mnp,pq,mkq->mnk", x, bread, x)
        g = np.swapaxes(low, 1, 2) @ inner @ low
        vals, vecs = np.linalg.eigh(g)
        powr = np.where(vals > 1e-12, np.abs(vals) ** -0.5, 0.0)
        a = low @ (vecs * powr[:, None, :]) @ np.swapaxes(vecs, 1, 2) @ np.swapaxes(low, 1, 2)
        est = np.swapaxes(w_x, 1, 2) @ a  # X_j' W_j A_j, (m, p, n)
        us.append(np.einsum("mpn,mn->mp", est, e))
        mes.append(np.einsum("pq,mqn->mpn", bread, est))
    return bread, np.concatenate(us), mes


def _satterthwaite(theta, xs, bread, mes) -> np.ndarray:
    """Satterthwaite degrees of freedom of each coefficient under the working model."""
    chol_b = np.linalg.cholesky(bread)
    h = np.concatenate([np.einsum("mpn,mnk,mpk->mp", me, t, me) for me, t in zip(mes, theta)])  # (J, p)
    H = np.concatenate([me @ x @ chol_b for me, x in zip(mes, xs)])  # (J, p, u)
    c = (H ** 2).sum(axis=2)  # (J, p)
    hh = np.einsum("jpu,jpv->puv", H, H)  # H_i H_i' per coefficient
    trace = h.sum(axis=0) - c.sum(axis=0)
    sq = (h ** 2).sum(axis=0) - 2 * (h * c).sum(axis=0) + (hh ** 2).sum(axis=(1, 2))
    return trace ** 2 / sq


def robust(fit, cluster) -> RobustResult:
    """CR2 cluster-robust standard errors with Satterthwaite degrees of freedom.

    Parameters
    ----------
    fit : MultilevelResult or MetaResult
        A three-level fit (:func:`rma_mv`) or a univariate one (:func:`analysis.meta.rma`,
        working weights 1/(vi + tau²)).
    cluster : array_like
        Cluster of each effect; the random effects of a three-level fit must be nested in it.

    Returns
    -------
    RobustResult
        t = estimate/se, p two-sided from t with df, CI estimate ± t_{df} se.
    """
    cluster = np.asarray(cluster).ravel()
    if len(cluster) != len(fit.yi):
        raise ValueError("cluster must have one label per effect")
    grp = grouping(cluster)
    theta, xs, es, beta = _working(fit, grp)
    bread, us, mes = _cr2(theta, xs, es)
    vcov = bread @ (us.T @ us) @ bread
    se = np.sqrt(np.diag(vcov))
    df = _satterthwaite(theta, xs, bread, mes)
    t = beta / se
    p = 2 * special.stdtr(df, -np.abs(t))
    crit = -special.stdtrit(df, (1 - fit.level / 100) / 2)
    names = ["intercept"] + [f"mod{j}" for j in range(1, len(beta))]
    import pandas as pd  # here: importing the engine stays light

    table = pd.DataFrame({"estimate": beta, "se": se, "t": t, "df": df, "p": p, "ci_low": beta - crit * se,
                          "ci_high": beta + crit * se}, index=names)
    row = table.iloc[0]
    return RobustResult(float(row.estimate), float(row.se), float(row.t), float(row.df), float(row.p),
                        float(row.ci_low), float(row.ci_high), grp.n_clusters, fit.level, table)


def che(yi, vi, cluster, obs=None, rho: float = 0.5, method: str = "REML", level: float = 95.0,
        test: str = "t") -> tuple[MultilevelResult, RobustResult]:
    """Correlated-and-hierarchical-effects model: vcalc(rho), a three-level fit, and CR2 inference.

    As metapsyTools' CHE model: ``V = vcalc(vi, cluster, obs, rho)``, ``rma.mv(yi, V, random =
    ~ 1 | cluster/es_id, test = "t")`` and ``robust(fit, cluster, clubSandwich = TRUE)``.

    References
    ----------
    Pustejovsky, J. E., & Tipton, E. (2022). Meta-analysis with robust variance estimation:
    expanding the range of working models. *Prevention Science*, 23, 425-438.
    """
    V = vcalc(vi, cluster, obs=obs, rho=rho)
    fit = rma_mv(yi, vi, cluster, V=V, method=method, test=test, level=level)
    return fit, robust(fit, cluster)
