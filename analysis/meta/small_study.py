"""PET, PEESE and the PET-PEESE rule: small-study-corrected estimates by weighted least squares.

Each is the intercept of an ordinary weighted linear model, as R's ``lm(..., weights = 1/vi)``
fits it: the effect a study with a standard error (PET) or variance (PEESE) of zero would show.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import special


@dataclass(frozen=True)
class WLSIntercept:
    """The intercept of a weighted least-squares fit with t-based inference (as R's ``lm``).

    ``method`` names the model ("PET", "PEESE", "WLS", "WAAP"); ``chosen`` is set by
    :func:`pet_peese` only (None otherwise).
    """

    method: str
    estimate: float
    se: float
    p: float
    ci_low: float
    ci_high: float
    k: int
    df: int
    chosen: str | None = None

    def to_dict(self) -> dict:
        """The fields as a flat dict (``chosen`` only when set)."""
        out = asdict(self)
        if out["chosen"] is None:
            del out["chosen"]
        return out


def _inputs(yi, vi, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if len(y) != len(v):
        raise ValueError("yi and vi must be of the same length")
    if np.any(~np.isfinite(y)) or np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ValueError("yi must be finite and vi finite and > 0")
    if len(y) < minimum:
        raise ValueError(f"needs at least {minimum} studies, got {len(y)}")
    return y, v


def wls_intercept(y: np.ndarray, X: np.ndarray, w: np.ndarray, method: str,
                  level: float = 95.0) -> WLSIntercept:
    """Weighted least squares of ``y`` on ``X`` (first column the intercept), inference as ``lm``:
    residual variance sum(w e²)/(k - p), t with k - p degrees of freedom."""
    k, p = X.shape
    sw = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    df = k - p
    resid = y - X @ beta
    sigma2 = float(np.sum(w * resid**2) / df)
    xtwx_inv = np.linalg.inv(X.T @ (X * w[:, None]))
    se = float(np.sqrt(sigma2 * xtwx_inv[0, 0]))
    est = float(beta[0])
    t = est / se if se > 0 else np.copysign(np.inf, est)
    crit = -float(special.stdtrit(df, (1 - level / 100) / 2))
    return WLSIntercept(
        method=method,
        estimate=est,
        se=se,
        p=float(2 * special.stdtr(df, -abs(t))),
        ci_low=est - crit * se,
        ci_high=est + crit * se,
        k=k,
        df=df,
    )


def pet(yi, vi, level: float = 95.0) -> WLSIntercept:
    """Precision-effect test (PET): intercept of ``lm(yi ~ sqrt(vi), weights = 1/vi)``.

    Returns
    -------
    WLSIntercept
        ``estimate``, ``se``, ``p`` (two-sided, t with k - 2 df), ``ci_low``, ``ci_high``, ``k``.

    References
    ----------
    Stanley, T. D., & Doucouliagos, H. (2014). Meta-regression approximations to reduce
    publication selection bias. *Research Synthesis Methods*, 5, 60-78.
    """
    y, v = _inputs(yi, vi, 3)
    return wls_intercept(y, np.column_stack([np.ones_like(y), np.sqrt(v)]), 1 / v, "PET", level)


def peese(yi, vi, level: float = 95.0) -> WLSIntercept:
    """Precision-effect estimate with standard error (PEESE): intercept of ``lm(yi ~ vi, weights = 1/vi)``.

    Returns
    -------
    WLSIntercept
        As :func:`pet`.

    References
    ----------
    Stanley, T. D., & Doucouliagos, H. (2014). Meta-regression approximations to reduce
    publication selection bias. *Research Synthesis Methods*, 5, 60-78.
    """
    y, v = _inputs(yi, vi, 3)
    return wls_intercept(y, np.column_stack([np.ones_like(y), v]), 1 / v, "PEESE", level)


def pet_peese(yi, vi, alpha: float = 0.10, level: float = 95.0) -> WLSIntercept:
    """The conditional PET-PEESE estimator: PEESE when PET's intercept differs from zero.

    PEESE is reported when PET's intercept has a two-sided p-value below ``alpha`` (0.10, i.e. a
    one-sided test at 5 %, as Stanley & Doucouliagos, 2014), otherwise PET.

    Returns
    -------
    WLSIntercept
        The chosen model's intercept, with ``chosen`` = "PET" or "PEESE".

    References
    ----------
    Stanley, T. D., & Doucouliagos, H. (2014). Meta-regression approximations to reduce
    publication selection bias. *Research Synthesis Methods*, 5, 60-78.
    """
    first = pet(yi, vi, level)
    res = peese(yi, vi, level) if first.p < alpha else first
    return WLSIntercept(**{**asdict(res), "chosen": res.method})
