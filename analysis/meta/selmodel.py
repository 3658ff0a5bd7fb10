"""Step-function selection models, as metafor's ``selmodel(rma(yi, vi, method = "ML"), type = "stepfun")``.

The likelihood, its parameterisation (log tau², deltas mapped onto [0, 100] by a scaled
logistic, the first delta fixed at 1), the starting values, the optimiser (R's BFGS, see
:mod:`analysis.meta.optim`), the Hessian (numDeriv's, on the untransformed parameters) and the
likelihood-ratio test all follow metafor 3.8.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from analysis.meta.fit import rma
from analysis.meta.optim import bfgs, hessian
from analysis.meta.tau2 import ESTIMATORS

DELTA_MAX = 100.0  # metafor's delta.max for step functions (delta.min is 0)


@dataclass(frozen=True)
class SelectionResult:
    """A fitted step-function selection model (Vevea & Hedges, 1995).

    ``delta`` holds one selection weight per p-value interval, the first fixed at 1;
    ``k_per_interval`` counts the studies in each interval (metafor's ``ptable``); ``steps``
    are the interval bounds including the final 1. Standard errors are NaN where the Hessian
    could not be inverted (metafor warns and reports NA).
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float
    se_tau2: float
    delta: tuple
    se_delta: tuple
    ll: float
    lrt: float
    lrt_p: float
    k: int
    steps: tuple
    k_per_interval: tuple
    iterations: int = field(repr=False)

    def to_dict(self) -> dict:
        """``estimate``, ``se``, ``ci_low``, ``ci_high``, ``tau2``, ``delta`` (a list), ``lrt_p``,
        ``k``, ``steps`` and ``k_per_interval`` (lists)."""
        return {
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": float(self.ci_low),
            "ci_high": float(self.ci_high),
            "tau2": self.tau2,
            "delta": [float(d) for d in self.delta],
            "lrt_p": self.lrt_p,
            "k": self.k,
            "steps": list(self.steps),
            "k_per_interval": list(self.k_per_interval),
        }


def _log_likelihood(beta, tau2, delta, y, v, cuts, group) -> float:
    """Log-likelihood of the step-function model, one-sided p-values for positive effects.

    ``cuts`` (k-by-(N-1)) are the effect sizes at which each study's p-value crosses the inner
    steps; the normalising constant A_i weighs the probability mass of each interval by its delta.
    """
    sei = np.sqrt(v + tau2)
    upper = special.ndtr((beta - cuts) / sei[:, None])  # P(Y_i > c_ij), j = 1..N-1
    a = upper[:, 0].copy()
    n = len(delta)
    for j in range(1, n):
        if j < n - 1:
            a += delta[j] * (upper[:, j] - upper[:, j - 1])
        else:
            a += delta[j] * special.ndtr((cuts[:, j - 1] - beta) / sei)
    dens = -0.5 * np.log(2 * np.pi) - np.log(sei) - 0.5 * ((y - beta) / sei) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(np.log(delta[group]) + dens - np.log(a)))


def _unpack(par: np.ndarray, transformed: bool) -> tuple[float, float, np.ndarray]:
    beta, tau2, delta = par[0], par[1], par[2:].copy()
    if transformed:
        tau2 = np.exp(tau2)
        delta = DELTA_MAX / (1 + np.exp(-delta))
    tau2 = 0.0 if tau2 < 10 * np.finfo(float).eps else tau2
    delta[0] = 1.0
    return float(beta), float(tau2), delta


def _intervals(y, v, steps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-sided p-values' interval index per study, the counts per interval, and the cut points."""
    pvals = special.ndtr(-y / np.sqrt(v))
    group = np.searchsorted(steps, pvals, side="left")  # first step with p <= step
    counts = np.bincount(group, minlength=len(steps))
    cuts = -np.sqrt(v)[:, None] * special.ndtri(steps[:-1])[None, :]
    return group, counts, cuts


def _standard_errors(fn, theta: np.ndarray) -> np.ndarray:
    """Square roots of the diagonal of the inverse Hessian (NaN where it cannot be inverted)."""
    free = np.r_[True, True, False, np.ones(len(theta) - 3, dtype=bool)]

    def on_free(sub):
        full = theta.copy()
        full[free] = sub
        return fn(full)

    H = hessian(on_free, theta[free])
    try:
        chol = np.linalg.cholesky(H)
        inv = np.linalg.inv(chol.T) @ np.linalg.inv(chol)
        if not np.all(np.isfinite(inv)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        warnings.warn("selection model: the Hessian could not be inverted; standard errors are NaN",
                      RuntimeWarning, stacklevel=3)
        return np.full(len(theta), np.nan)
    se = np.full(len(theta), np.nan)
    se[free] = np.sqrt(np.diag(inv))
    return se


def selmodel(yi, vi, steps=(0.025,), method: str = "ML", level: float = 95.0) -> SelectionResult:
    """Vevea and Hedges' step-function selection model, fitted by maximum likelihood.

    Studies are grouped by their one-sided p-value for a positive effect (metafor's
    ``alternative = "greater"``) at ``steps``; each interval after the first has a selection
    weight delta relative to the first (fixed at 1), estimated jointly with the mean and tau².
    ``steps = (0.025,)`` is the three-parameter model (3PSM), ``(0.025, 0.5)`` the 4PSM. Any
    random-effects ``method`` gives the same fit: metafor refits the model by ML (the fixed-effect
    selection model is not implemented). Only ``alternative = "greater"`` is implemented.

    As metafor, an empty interval other than the first stops the fit (ValueError: its delta is
    not identified); an empty first interval is allowed. The fit also stops when R's BFGS would
    not converge in 100 iterations (RuntimeError, metafor's "did not achieve convergence"), and
    warns when a delta is (almost) at 0 or 100.

    Returns
    -------
    SelectionResult
        Estimate with its Hessian-based se and Wald CI, tau², deltas, and the likelihood-ratio
        test of the deltas against the random-effects model (``lrt_p``, N - 1 df).

    References
    ----------
    Vevea, J. L., & Hedges, L. V. (1995). A general linear model for estimating effect size in
    the presence of publication bias. *Psychometrika*, 60, 419-435.
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *JSS*, 36(3).
    """
    if method not in ESTIMATORS:  # metafor refits any random-effects model by ML
        raise ValueError(f"method must be a tau² estimator ({', '.join(ESTIMATORS)}); the fit is by ML")
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    steps_arr = np.unique(np.asarray(steps, dtype=float))
    if len(steps_arr) == 0 or np.any((steps_arr <= 0) | (steps_arr > 1)):
        raise ValueError("steps must lie in (0, 1]")
    steps_arr = steps_arr if steps_arr[-1] == 1 else np.r_[steps_arr, 1.0]
    n = len(steps_arr)
    if n < 2:
        raise ValueError("a step function needs at least one step below 1")
    base = rma(y, v, method="ML")
    k = len(y)
    if k < 2 + (n - 1):
        raise ValueError(f"Number of studies (k={k}) is too small to fit the selection model.")
    group, counts, cuts = _intervals(y, v, steps_arr)
    if np.any(counts[1:] == 0):
        raise ValueError("One or more intervals do not contain any observed p-values "
                         f"(studies per interval: {', '.join(str(int(c)) for c in counts)}).")
    return _fit(y, v, steps_arr, group, counts, cuts, base, level)


def _fit(y, v, steps, group, counts, cuts, base, level) -> SelectionResult:
    n = len(steps)

    def negll(par, transformed=True):
        beta, tau2, delta = _unpack(par, transformed)
        return -_log_likelihood(beta, tau2, delta, y, v, cuts, group)

    start = np.r_[base.estimate, np.log(base.tau2 + 0.001), np.full(n, np.log(1 / (DELTA_MAX - 1)))]
    fixed = np.r_[False, False, True, np.zeros(n - 1, dtype=bool)]
    opt = bfgs(negll, start, fixed=fixed)
    if not opt.converged:
        raise RuntimeError("Optimizer (optim) did not achieve convergence (convergence = 1).")
    beta, tau2, delta = _unpack(opt.par, True)
    ll = -negll(opt.par)
    eps4 = np.finfo(float).eps ** 0.25
    if np.any(delta <= eps4) or np.any(delta >= DELTA_MAX - 100 * eps4):
        warnings.warn("selection model: one or more delta estimates are (almost) equal to their bound "
                      "0 or 100", RuntimeWarning, stacklevel=3)
    se = _standard_errors(lambda th: negll(th, transformed=False), np.r_[beta, tau2, delta])
    crit = -special.ndtri((1 - level / 100) / 2)
    fe = base.to_dict()
    w = 1 / (v + base.tau2)
    ll0 = float(-0.5 * np.sum(np.log(2 * np.pi) - np.log(w) + w * (y - fe["estimate"]) ** 2))
    lrt = max(0.0, -2 * (ll0 - ll))
    se_delta = se[2:].copy()
    se_delta[0] = np.nan
    return SelectionResult(
        estimate=beta,
        se=float(se[0]),
        ci_low=beta - crit * se[0],
        ci_high=beta + crit * se[0],
        tau2=tau2,
        se_tau2=float(se[1]),
        delta=tuple(float(d) for d in delta),
        se_delta=tuple(float(s) for s in se_delta),
        ll=ll,
        lrt=lrt,
        lrt_p=float(special.chdtrc(n - 1, lrt)),
        k=len(y),
        steps=tuple(float(s) for s in steps),
        k_per_interval=tuple(int(c) for c in counts),
        iterations=opt.iterations,
    )
