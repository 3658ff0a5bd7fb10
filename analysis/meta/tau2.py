"""Estimators of the between-study variance tau² in the random-effects model.

Each estimator follows metafor 3.8's ``rma.uni`` (Viechtbauer, 2010) to the
letter: the same starting values, the same Fisher-scoring steps and stopping
rule (change below 1e-5, step-halving at the boundary), the same ``uniroot``
search for Paule-Mandel (to R's default ``tol``, about 1.2e-4), and the same
truncation at zero. These stopping rules give metafor's printed numbers; being
absolute, they leave tau² within about 1e-4 of the optimum of the estimating
equation, which is under 1% of tau² where tau² > 0.01 but a larger share near
tau² = 0 (13% for REML on the risk differences of metadat's dat.nielweise2007, tau² = 1.2e-4).
``exact=True`` (:data:`EXACT`) tightens them to a change below 1e-10 and roots
to 1e-12, which is metafor run with
``control = list(threshold = 1e-10, maxiter = 1000, tol = 1e-12)``. statsmodels'
``combine_effects`` offers DL and PM only and does not truncate DL at zero, so
the estimators are written here. No k-by-k matrix is formed: every quantity of
metafor's projection matrix P = W - WX(X'WX)⁻¹X'W that the estimators need is
computed from p-by-p products, so memory grows linearly in k.

References
----------
Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance estimators
in the random-effects model. *Journal of Educational and Behavioral Statistics*,
30, 261-293.
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package.
*Journal of Statistical Software*, 36(3), 1-48.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.meta.zeroin import R_DEFAULT_TOL, zeroin

ESTIMATORS = ("DL", "REML", "PM", "ML", "SJ", "HE", "EB")
THRESHOLD = 1e-5  # metafor's control$threshold for Fisher scoring
MAXITER = 100  # metafor's control$maxiter


@dataclass(frozen=True)
class Control:
    """Stopping rules of the iterative estimators, as metafor's ``control`` list of ``rma.uni``.

    Attributes
    ----------
    threshold : float
        Fisher scoring (ML, REML, EB) stops when tau² changes by less than this.
    maxiter : int
        Iteration limit of Fisher scoring and of ``uniroot`` (PM).
    tol : float
        ``uniroot``'s ``tol`` for Paule-Mandel; also the log-likelihood margin of metafor's
        check that the ML/REML optimum beats tau² = 0 (``ll0check``).
    """

    threshold: float
    maxiter: int
    tol: float


DEFAULT = Control(threshold=THRESHOLD, maxiter=MAXITER, tol=R_DEFAULT_TOL)  # metafor's defaults
EXACT = Control(threshold=1e-10, maxiter=1000, tol=1e-12)  # to the optimum
EXACT_CI_TOL = 1e-12  # Q-profile roots with exact=True (metafor's confint default: R_DEFAULT_TOL)


def control(exact: bool = False) -> Control:
    """:data:`EXACT` when ``exact`` is true, metafor's :data:`DEFAULT` otherwise."""
    return EXACT if exact else DEFAULT


@dataclass(frozen=True)
class Projection:
    """The pieces of P = W - WX(X'WX)⁻¹X'W that the estimators use.

    Attributes
    ----------
    beta : ndarray
        Weighted least-squares coefficients.
    vb : ndarray
        (X'WX)⁻¹.
    rss : float
        y'Py, the weighted residual sum of squares.
    tr_p : float
        trace(P).
    """

    w: np.ndarray
    beta: np.ndarray
    vb: np.ndarray
    resid: np.ndarray
    rss: float
    tr_p: float

    def py(self) -> np.ndarray:
        """P y, which equals W times the weighted residuals."""
        return self.w * self.resid

    def tr_pp(self, X: np.ndarray) -> float:
        """trace(PP) = Σw² - 2 tr(A X'W³X) + tr((A X'W²X)²), with A = (X'WX)⁻¹."""
        m2 = X.T @ (self.w[:, None] ** 2 * X)
        m3 = X.T @ (self.w[:, None] ** 3 * X)
        am2 = self.vb @ m2
        return float(np.sum(self.w**2) - 2 * np.trace(self.vb @ m3) + np.trace(am2 @ am2))


def project(y: np.ndarray, w: np.ndarray, X: np.ndarray) -> Projection:
    """Weighted least squares of ``y`` on ``X`` with weights ``w``, as a :class:`Projection`."""
    if X.shape[1] == 1 and X[0, 0] == 1.0 and np.all(X == 1.0):
        # intercept only: the same quantities from sums, without matrix products (speed)
        sw = w.sum()
        beta = (w @ y) / sw
        resid = y - beta
        return Projection(
            w=w,
            beta=np.array([beta]),
            vb=np.array([[1.0 / sw]]),
            resid=resid,
            rss=float(w @ resid**2),
            tr_p=float(sw - (w @ w) / sw),
        )
    xw = X * w[:, None]
    vb = np.linalg.inv(X.T @ xw)
    beta = vb @ (xw.T @ y)
    resid = y - X @ beta
    rss = float(np.sum(w * resid**2))
    m2 = X.T @ (w[:, None] * xw)
    tr_p = float(np.sum(w) - np.trace(vb @ m2))
    return Projection(w=w, beta=beta, vb=vb, resid=resid, rss=rss, tr_p=tr_p)


def _he(y, v, X):
    k, p = X.shape
    xtx_inv = np.linalg.inv(X.T @ X)
    resid = y - X @ (xtx_inv @ (X.T @ y))
    hat = np.einsum("ij,jk,ik->i", X, xtx_inv, X)
    return (float(np.sum(resid**2)) - float(np.sum(v * (1 - hat)))) / (k - p)


def _dl(y, v, X):
    k, p = X.shape
    proj = project(y, 1 / v, X)
    return (proj.rss - (k - p)) / proj.tr_p


def _sj(y, v, X):
    k, p = X.shape
    yc = y - y.mean()
    tau2_0 = float(np.mean((yc - yc.mean()) ** 2))
    proj = project(y, 1 / (v + tau2_0), X)
    return tau2_0 * proj.rss / (k - p)


def r_mad(y: np.ndarray) -> float:
    """R's ``mad()``: 1.4826 times the median absolute deviation from the median."""
    return 1.4826 * float(np.median(np.abs(y - np.median(y))))


def q_gen(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Generalised Q statistic y'P(tau²)y (metafor's ``.QE.func`` without the objective)."""
    return project(y, 1 / (v + tau2), X).rss


def _pm(y, v, X, con=DEFAULT):
    k, p = X.shape
    target = k - p
    tau2_max = max(100.0, 10 * r_mad(y) ** 2)
    f_low = q_gen(0.0, y, v, X) - target
    if f_low < 0:
        return 0.0
    f_up = q_gen(tau2_max, y, v, X) - target
    if f_up > 0:
        raise ValueError(f"Paule-Mandel: tau2 above the search limit {tau2_max}")
    return zeroin(lambda t: q_gen(t, y, v, X) - target, 0.0, tau2_max, f_low, f_up, con.tol, con.maxiter)


def _loglik(y, v, X, tau2, reml):
    k, p = X.shape
    w = 1 / (v + tau2)
    proj = project(y, w, X)
    if not reml:
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + tau2)) - 0.5 * proj.rss
    logdet = np.linalg.slogdet(X.T @ (w[:, None] * X))[1]
    return -0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + tau2)) - 0.5 * logdet - 0.5 * proj.rss


def _fisher_scoring(y, v, X, method, con=DEFAULT):
    k, p = X.shape
    tau2 = max(0.0, _he(y, v, X))
    change, iteration = con.threshold + 1, 0
    while change > con.threshold:
        iteration += 1
        old = tau2
        w = 1 / (v + tau2)
        proj = project(y, w, X)
        if method == "ML":
            adj = (float(np.sum(proj.py() ** 2)) - np.sum(w)) / np.sum(w**2)
        elif method == "REML":
            adj = (float(np.sum(proj.py() ** 2)) - proj.tr_p) / proj.tr_pp(X)
        else:  # EB
            adj = (proj.rss * k / (k - p) - k) / np.sum(w)
        if np.isnan(adj):
            adj = 0.0
        while tau2 + adj < 0:
            adj /= 2
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iteration > con.maxiter:
            raise RuntimeError("Fisher scoring algorithm did not converge.")
    if method in ("ML", "REML"):
        reml = method == "REML"
        ll0 = _loglik(y, v, X, 0.0, reml)
        ll = _loglik(y, v, X, tau2, reml)
        if ll0 - ll > con.tol and tau2 > con.threshold:
            tau2 = 0.0
    return tau2


def estimate_tau2(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, exact: bool = False) -> float:
    """Estimate tau² by one of metafor's estimators.

    By default the iterative estimators stop where metafor 3.8 stops with its default
    ``control``, so that the printed numbers are metafor's: REML, ML and EB (Fisher scoring)
    when tau² changes by less than 1e-5, PM when ``uniroot`` brackets the root to about 1e-4.
    That is within about 1e-4 of the optimum: under 1% of tau² where tau² > 0.01, more near
    tau² = 0. ``exact=True`` stops at a change below 1e-10 (up to 1000 iterations) and finds
    the PM root to 1e-12: the optimum. DL, HE and SJ are closed-form and ignore ``exact``.

    Parameters
    ----------
    y, v : ndarray
        Effect sizes and their sampling variances (all v > 0).
    X : ndarray
        k-by-p design matrix (a column of ones for an intercept-only model).
    method : {"DL", "REML", "PM", "ML", "SJ", "HE", "EB"}
        DerSimonian-Laird, restricted maximum likelihood, Paule-Mandel, maximum
        likelihood, Sidik-Jonkman, Hedges, empirical Bayes.
    exact : bool
        Converge to the optimum (:data:`EXACT`) rather than stop where metafor's defaults
        stop (:data:`DEFAULT`).

    Returns
    -------
    float
        tau², truncated at zero.

    References
    ----------
    DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials.
    *Controlled Clinical Trials*, 7, 177-188.
    Paule, R. C., & Mandel, J. (1982). Consensus values and weighting factors.
    *Journal of Research of the National Bureau of Standards*, 87, 377-385.
    Sidik, K., & Jonkman, J. N. (2005). Simple heterogeneity variance estimation
    for meta-analysis. *JRSS C*, 54, 367-384.
    Hedges, L. V., & Olkin, I. (1985). *Statistical Methods for Meta-Analysis*.
    Morris, C. N. (1983). Parametric empirical Bayes inference. *JASA*, 78, 47-55.
    """
    if method == "DL":
        tau2 = _dl(y, v, X)
    elif method == "HE":
        tau2 = _he(y, v, X)
    elif method == "SJ":
        tau2 = _sj(y, v, X)
    elif method == "PM":
        tau2 = _pm(y, v, X, control(exact))
    elif method in ("ML", "REML", "EB"):
        tau2 = _fisher_scoring(y, v, X, method, control(exact))
    else:
        raise ValueError(f"unknown tau² estimator {method!r}; choose one of {', '.join(ESTIMATORS)}")
    return max(0.0, float(tau2))
