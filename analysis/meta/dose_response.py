"""One-stage dose-response meta-analysis with restricted cubic splines (Crippa et al., 2019).

Within study i, the log odds ratios (or log relative risks) y_i of its non-reference doses
against its reference dose are modelled as y_i = X_i (beta + b_i) + e_i, where X_i is Harrell's
restricted cubic spline basis of the doses minus its value at the reference dose, b_i ~ N(0, Psi)
with Psi unstructured (random effects on the spline coefficients), and e_i ~ N(0, S_i), S_i the
covariance of the study's estimates, which share the reference arm (Greenland & Longnecker,
1992). Psi is estimated by REML, as metafor's
``rma.mv(yi, V, mods = ~ s1 + s2 - 1, random = ~ s1 + s2 - 1 | study, struct = "GEN")``.

References
----------
Greenland & Longnecker (1992) and Orsini et al. (2012): see :mod:`analysis.meta.dose_contrasts`.
Crippa, A., Discacciati, A., Bottai, M., Spiegelman, D., & Orsini, N. (2019). One-stage
dose-response meta-analysis for aggregated data. *Stat Methods Med Res*, 28, 1579-1596.
Harrell, F. E. (2015). *Regression modeling strategies* (2nd ed.), section 2.4.5. Springer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.meta.dose_contrasts import dose_contrasts

GRAD_TOL = 1e-4  # largest |d ll / d L| accepted when BFGS reports a loss of precision near the optimum



def dose_knots(doses, percentiles=(10, 50, 90)) -> np.ndarray:
    """Knots at ``percentiles`` of ``doses`` (R's default quantile, type 7 = numpy's linear).

    Raises ValueError when two knots coincide (a spline needs distinct knots)."""
    knots = np.percentile(np.asarray(doses, float), percentiles)
    if np.any(np.diff(knots) <= 0):
        raise ValueError(f"knots {knots.tolist()} are not distinct: choose other percentiles or doses")
    return knots


def rcs_basis(x, knots) -> np.ndarray:
    """Harrell's restricted cubic spline basis, as ``rms::rcspline.eval(x, knots, inclx = TRUE)``.

    Column 1 is x; column j + 1 (j = 1, ..., k - 2) is
    [(x - t_j)+^3 - (x - t_{k-1})+^3 (t_k - t_j)/(t_k - t_{k-1}) + (x - t_k)+^3 (t_{k-1} - t_j)/(t_k - t_{k-1})]
    divided by (t_k - t_1)^2 (rms's default ``norm = 2``). Written here because no Python
    library has this basis (patsy's ``cr`` is mgcv's cubic regression spline, another basis).
    """
    x, t = np.asarray(x, float), np.asarray(knots, float)
    k = len(t)
    cube = lambda a: np.maximum(x - a, 0.0) ** 3  # noqa: E731
    cols = [x]
    for j in range(k - 2):
        term = cube(t[j]) - cube(t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2]) \
            + cube(t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2])
        cols.append(term / (t[k - 1] - t[0]) ** 2)
    return np.column_stack(cols)


@dataclass(frozen=True)
class DoseResponseResult:
    """A fitted one-stage dose-response model: spline coefficients ``coef`` with covariance
    ``vcov`` ((X'WX)^-1, metafor's z-based inference), the between-study covariance ``psi`` of
    the coefficients (REML), the knots, the log-likelihood (REML, with metafor's constant)."""

    coef: np.ndarray
    vcov: np.ndarray
    psi: np.ndarray
    knots: np.ndarray
    loglik: float
    k: int
    k_studies: int
    iterations: int
    ref_dose: float = 0.0
    level: float = 0.95
    names: tuple = field(default=())

    def to_dict(self) -> dict:
        return {"coef": self.coef.tolist(), "vcov": self.vcov.tolist(), "psi": self.psi.tolist(),
                "tau2": np.diag(self.psi).tolist(), "knots": self.knots.tolist(), "loglik": self.loglik,
                "k": self.k, "k_studies": self.k_studies}

    def to_frame(self):
        """Coefficient table: estimate, se, z, p and CI of each spline term."""
        import pandas as pd

        se = np.sqrt(np.diag(self.vcov))
        from scipy import stats  # here: importing the engine stays light

        crit = stats.norm.ppf(0.5 + self.level / 2)
        return pd.DataFrame({"estimate": self.coef, "se": se, "z": self.coef / se,
                             "p": 2 * stats.norm.sf(np.abs(self.coef / se)),
                             "ci_low": self.coef - crit * se, "ci_high": self.coef + crit * se},
                            index=list(self.names) or [f"s{j + 1}" for j in range(len(self.coef))])

    def curve(self, doses) -> "DoseCurve":
        """The predicted log ratio against the reference dose at ``doses``, with its CI."""
        b = rcs_basis(doses, self.knots) - rcs_basis([self.ref_dose], self.knots)
        est = b @ self.coef
        se = np.sqrt(np.einsum("ij,jk,ik->i", b, self.vcov, b))
        from scipy import stats  # here: importing the engine stays light

        crit = stats.norm.ppf(0.5 + self.level / 2)
        return DoseCurve(np.asarray(doses, float), est, se, est - crit * se, est + crit * se)


@dataclass(frozen=True)
class DoseCurve:
    """Predicted log ratios over a dose grid; ``peak`` is the grid index of the largest."""

    dose: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray

    @property
    def peak(self) -> int:
        return int(np.argmax(self.estimate))

    def to_dict(self) -> dict:
        return {key: getattr(self, key).tolist() for key in ("dose", "estimate", "se", "ci_low", "ci_high")}

    def to_frame(self):
        """One row per dose; ``ratio``, ``ratio_low``, ``ratio_high`` on the ratio scale."""
        import pandas as pd

        frame = pd.DataFrame(self.to_dict())
        for col, src in (("ratio", "estimate"), ("ratio_low", "ci_low"), ("ratio_high", "ci_high")):
            frame[col] = np.exp(frame[src])
        return frame


def _marginal(V, X, psi, groups) -> np.ndarray:
    """M = V + blockdiag(X_i Psi X_i'): the marginal covariance of the estimates."""
    M = V.copy()
    for idx in groups:
        M[np.ix_(idx, idx)] += X[idx] @ psi @ X[idx].T
    return M


def _reml(theta, y, X, V, groups, logdet_xx):
    """Minus metafor's REML log-likelihood at Psi = L L' (L lower triangular from ``theta``), and
    its gradient: d ll / d Psi = 1/2 sum_i X_i'(r_i r_i' - P_ii) X_i with r = P y
    (Searle, Casella & McCulloch, 1992, ch. 6), d ll / d L = 2 (d ll / d Psi) L."""
    from scipy import linalg  # here: importing the engine stays light

    p = X.shape[1]
    L = np.zeros((p, p))
    L[np.tril_indices(p)] = theta
    psi = L @ L.T
    cf = linalg.cho_factor(_marginal(V, X, psi, groups), lower=True)
    WX = linalg.cho_solve(cf, X)
    cx = linalg.cho_factor(X.T @ WX, lower=True)
    beta = linalg.cho_solve(cx, WX.T @ y)
    Wr = linalg.cho_solve(cf, y - X @ beta)
    logdet = 2 * np.log(np.diag(cf[0])).sum() + 2 * np.log(np.diag(cx[0])).sum()
    ll = -0.5 * (len(y) - p) * np.log(2 * np.pi) + 0.5 * logdet_xx - 0.5 * logdet - 0.5 * float((y - X @ beta) @ Wr)
    W = linalg.cho_solve(cf, np.eye(len(y)))
    P = W - WX @ linalg.cho_solve(cx, WX.T)
    grad = np.zeros((p, p))
    for idx in groups:
        grad += X[idx].T @ (np.outer(Wr[idx], Wr[idx]) - P[np.ix_(idx, idx)]) @ X[idx]
    dL = 2 * (0.5 * grad) @ L
    return -ll, -dL[np.tril_indices(p)]


def rma_dose(y, V, X, study, knots, level: float = 0.95, names=()) -> DoseResponseResult:
    """Fit the one-stage model to stacked non-reference estimates.

    Parameters
    ----------
    y : (k,) log ratios against each study's reference dose.
    V : (k, k) their covariance, block-diagonal by study (:func:`gl_covariance` blocks).
    X : (k, p) the spline basis of each dose minus its value at the reference dose.
    study : (k,) study labels (the random effects' grouping).
    knots : the spline's knots (kept for predictions).

    Notes
    -----
    REML over the Cholesky factor of Psi (as metafor's default for ``struct = "GEN"``), so that a
    Psi of rank one (a correlation of +-1, common with few studies) is reached exactly: BFGS with
    the analytic gradient, from Psi = diag of the fixed-effect coefficients' variances (a fit
    whose gradient stays above ``GRAD_TOL`` raises ValueError). Dense
    k x k algebra: meant for dose-response datasets (hundreds of estimates), not for 10^5.
    """
    from scipy import linalg  # here: importing the engine stays light

    y, V, X = np.asarray(y, float), np.asarray(V, float), np.asarray(X, float)
    study = np.asarray(study)
    groups = [np.flatnonzero(study == s) for s in dict.fromkeys(study.tolist())]
    p = X.shape[1]
    sign, logdet_xx = np.linalg.slogdet(X.T @ X)
    if sign <= 0:
        raise ValueError("the spline basis is not of full rank: too few distinct doses")
    fe = linalg.inv(X.T @ linalg.solve(V, X))
    start = np.diag(np.sqrt(np.diag(fe)))[np.tril_indices(p)]
    from scipy import optimize  # here: importing the engine stays light

    fit = optimize.minimize(_reml, start, args=(y, X, V, groups, logdet_xx), jac=True, method="BFGS",
                            options={"gtol": 1e-12, "maxiter": 5000})
    if not fit.success and np.max(np.abs(fit.jac)) > GRAD_TOL:  # BFGS stops on precision loss at the optimum
        raise ValueError(f"REML did not converge: {fit.message}")
    L = np.zeros((p, p))
    L[np.tril_indices(p)] = fit.x
    psi = L @ L.T
    WX = linalg.solve(_marginal(V, X, psi, groups), X, assume_a="pos")
    vcov = linalg.inv(X.T @ WX)
    coef = vcov @ (WX.T @ y)
    return DoseResponseResult(coef, vcov, psi, np.asarray(knots, float), float(-fit.fun), len(y), len(groups),
                              int(fit.nit), level=level, names=tuple(names))


def dose_response(study, dose, cases, n, percentiles=(10, 50, 90), knots=None, knots_of: str = "distinct",
                  measure: str = "OR", ref_dose: float = 0.0, level: float = 0.95) -> DoseResponseResult:
    """Restricted cubic spline dose-response meta-analysis of arm-level binary data.

    Knots at ``percentiles`` of the non-reference doses (:func:`dose_knots`): of the distinct
    doses studied (``knots_of="distinct"``) or of the arms (``"arms"``, where a dose given in
    many trials makes knots coincide), unless ``knots`` are given; contrasts by
    :func:`dose_contrasts`; the one-stage REML fit by :func:`rma_dose`.
    """
    data = dose_contrasts(study, dose, cases, n, ref_dose, measure)
    if knots is None:
        knots = dose_knots(np.unique(data.dose) if knots_of == "distinct" else data.dose, percentiles)
    knots = np.asarray(knots, float)
    X = rcs_basis(data.dose, knots) - rcs_basis([ref_dose], knots)
    names = ["dose"] + ["dose" + "'" * (j + 1) for j in range(X.shape[1] - 1)]  # rms's labels
    fit = rma_dose(data.y, data.V, X, data.study, knots, level, names)
    return DoseResponseResult(**{**fit.__dict__, "ref_dose": float(ref_dose)})
