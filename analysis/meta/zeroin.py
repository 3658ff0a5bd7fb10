"""Brent's root finder exactly as R's ``uniroot`` runs it.

metafor finds the Paule-Mandel tau² and the Q-profile confidence limits with
``uniroot(..., tol = .Machine$double.eps^0.25)``. That tolerance (about 1.2e-4)
is loose, so the root it returns depends on the exact sequence of iterates.
:func:`scipy.optimize.brentq` implements the same method with different
book-keeping and stops at different points; to return metafor's numbers to 1e-6
we follow R's ``R_zeroin2`` (src/library/stats/src/zeroin.c) step for step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPSILON = np.finfo(float).eps
R_DEFAULT_TOL = EPSILON**0.25


def zeroin(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    f_lower: float | None = None,
    f_upper: float | None = None,
    tol: float = R_DEFAULT_TOL,
    maxiter: int = 1000,
) -> float:
    """Find a root of ``f`` in ``[lower, upper]`` as R's ``uniroot`` does.

    Parameters
    ----------
    f : callable
        Continuous function whose values at the two ends differ in sign.
    lower, upper : float
        The bracketing interval.
    f_lower, f_upper : float, optional
        ``f(lower)`` and ``f(upper)`` when already known.
    tol : float
        R's ``tol`` argument (default ``.Machine$double.eps^0.25``).
    maxiter : int
        R's ``maxiter`` argument.

    Returns
    -------
    float
        The root as R reports it (``uniroot(...)$root``).

    Raises
    ------
    ValueError
        If the end points do not bracket a root.
    RuntimeError
        If the iteration limit is reached.

    References
    ----------
    Brent, R. P. (1973). *Algorithms for Minimization without Derivatives*.
    Prentice-Hall, chapter 4. R Core Team, ``zeroin.c`` in R's stats package.
    """
    a, b = float(lower), float(upper)
    fa = f(a) if f_lower is None else float(f_lower)
    fb = f(b) if f_upper is None else float(f_upper)
    if fa * fb > 0:
        raise ValueError("f() values at end points not of opposite sign")
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * EPSILON * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise RuntimeError("zeroin: iteration limit reached")
