"""The two numerical tools metafor's ``selmodel`` relies on, written so results agree with it.

``bfgs`` is the variable-metric minimiser of R's ``optim(method = "BFGS")`` (Nash's algorithm
21) with optim's default central-difference gradient (``ndeps = 1e-3``), its defaults
(``maxit = 100``, ``reltol = sqrt(.Machine$double.eps)``) and its stopping rules; scipy's BFGS
stops elsewhere, which moves a selection model's estimates by more than 1e-4.
``hessian`` is Richardson-extrapolated central differences as ``numDeriv::hessian``
(``d = 0.1``, ``eps = 1e-4``, ``r`` steps halving each time), with which metafor computes
the standard errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RELTOL = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class OptimResult:
    par: np.ndarray
    value: float
    converged: bool
    iterations: int


def fd_gradient(fn: Callable, x: np.ndarray, fixed: np.ndarray, ndeps: float = 1e-3) -> np.ndarray:
    """optim's numerical gradient: (f(x + e) - f(x - e)) / 2e per coordinate; zero where ``fixed``
    (the function does not depend on those coordinates, so optim's difference is exactly zero)."""
    g = np.zeros(len(x))
    for i in np.flatnonzero(~fixed):
        up, down = x.copy(), x.copy()
        up[i] += ndeps
        down[i] -= ndeps
        g[i] = (fn(up) - fn(down)) / (2 * ndeps)
        if not np.isfinite(g[i]):
            raise RuntimeError(f"non-finite finite-difference value [{i + 1}]")
    return g


def _bfgs_update(B: np.ndarray, t: np.ndarray, c: np.ndarray) -> bool:
    """Rank-two update of the inverse Hessian approximation in place; False when t'c <= 0."""
    d1 = float(t @ c)
    if d1 <= 0:
        return False
    bc = B @ c
    d2 = 1.0 + float(bc @ c) / d1
    B += (d2 * np.outer(t, t) - np.outer(bc, t) - np.outer(t, bc)) / d1
    return True


def _line_search(fn: Callable, X: np.ndarray, t: np.ndarray, f: float, fmin: float, gradproj: float):
    """Backtracking (step x 0.2) until the Armijo condition holds or the point no longer moves;
    ``f`` stays the last value computed, as in R, when the first step already does not move."""
    n, steplength = len(X), 1.0
    while True:
        b = X + steplength * t
        count = int(np.sum(10.0 + X == 10.0 + b))
        if count == n:
            return b, f, count, steplength
        f = fn(b)
        if np.isfinite(f) and f <= fmin + gradproj * steplength * 1e-4:
            return b, f, count, steplength
        steplength *= 0.2


def bfgs(fn: Callable, x0, fixed=None, maxit: int = 100, reltol: float = RELTOL) -> OptimResult:
    """Minimise ``fn`` as R's ``optim(x0, fn, method = "BFGS")`` does (numerical gradient).

    ``fixed`` marks coordinates ``fn`` ignores. ``converged`` is False when ``maxit`` gradient
    evaluations were reached (optim's ``convergence = 1``).

    References
    ----------
    Nash, J. C. (1990). *Compact Numerical Methods for Computers* (2nd ed.), Algorithm 21. Adam Hilger.
    """
    b = np.asarray(x0, dtype=float).copy()
    n = len(b)
    fixed = np.zeros(n, dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
    f = fn(b)
    if not np.isfinite(f):
        raise RuntimeError("initial value in 'vmmin' is not finite")
    fmin, g = f, fd_gradient(fn, b, fixed)
    iteration, gradcount = 1, 1
    ilast = gradcount
    B = np.eye(n)
    while True:
        if ilast == gradcount:
            B = np.eye(n)
        X, c = b.copy(), g.copy()
        t = -B @ g
        gradproj = float(t @ g)
        if gradproj < 0:
            b, f, count, steplength = _line_search(fn, X, t, f, fmin, gradproj)
            if not abs(f - fmin) > reltol * (abs(fmin) + reltol):
                count, fmin = n, f
            if count < n:
                fmin, g = f, fd_gradient(fn, b, fixed)
                gradcount += 1
                iteration += 1
                if not _bfgs_update(B, steplength * t, g - c):
                    ilast = gradcount
            elif ilast < gradcount:
                count, ilast = 0, gradcount
        else:
            count = 0
            if ilast == gradcount:
                count = n
            else:
                ilast = gradcount
        if iteration >= maxit:
            break
        if gradcount - ilast > 2 * n:
            ilast = gradcount
        if count == n and ilast == gradcount:
            break
    return OptimResult(par=b, value=float(fmin), converged=iteration < maxit, iterations=iteration)


def _richardson(a: np.ndarray) -> float:
    """Richardson extrapolation of estimates at steps h, h/2, h/4, ... (error of order h²)."""
    a = a.copy()
    for m in range(1, len(a)):
        a[: len(a) - m] = (a[1 : len(a) - m + 1] * 4**m - a[: len(a) - m]) / (4**m - 1)
    return float(a[0])


def hessian(fn: Callable, x, d: float = 0.1, eps: float = 1e-4, r: int = 6) -> np.ndarray:
    """Hessian of ``fn`` at ``x`` by Richardson-extrapolated central differences (numDeriv's method).

    References
    ----------
    Gilbert, P., & Varadhan, R. (2016). numDeriv: Accurate numerical derivatives. R package.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    zero_tol = np.sqrt(np.finfo(float).eps / 7e-7)
    h0 = np.abs(d * x) + eps * (np.abs(x) < zero_tol)
    f0 = fn(x)
    steps = h0[None, :] / 2.0 ** np.arange(r)[:, None]  # r-by-n
    H = np.zeros((n, n))
    for i in range(n):
        e = np.eye(n)[i]
        approx = np.array([(fn(x + e * h[i]) - 2 * f0 + fn(x - e * h[i])) / h[i] ** 2 for h in steps])
        H[i, i] = _richardson(approx)
    for i in range(n):
        for j in range(i):
            shift = np.eye(n)[i] + np.eye(n)[j]
            approx = np.array([
                (fn(x + shift * h) - 2 * f0 + fn(x - shift * h) - H[i, i] * h[i] ** 2 - H[j, j] * h[j] ** 2)
                / (2 * h[i] * h[j])
                for h in steps
            ])
            H[i, j] = H[j, i] = _richardson(approx)
    return H
