"""Trim-and-fill, as metafor's ``trimfill``."""

from __future__ import annotations

import numpy as np

from analysis.meta.fit import MetaResult, rma


def _k0(signed: np.ndarray, k: int, estimator: str) -> int:
    """Number of missing studies from the signed ranks of the centred effects (Duval & Tweedie, 2000)."""
    if estimator == "L0":
        sr = signed[signed > 0].sum()
        return max(0, int(round((4 * sr - k * (k + 1)) / (2 * k - 1))))
    negative = signed[signed < 0]
    if len(negative) == 0:  # metafor's max() of nothing is -Inf and the next refit fails
        raise RuntimeError("trim-and-fill (R0) found no study below the estimate")
    return max(0, int(k - np.max(-negative) - 1))  # R0: the rightmost run of positive ranks, less one


def trimfill(res: MetaResult, estimator: str = "L0") -> dict:
    """Duval and Tweedie's trim-and-fill with the L0 (default) or R0 estimator, as metafor's ``trimfill``.

    The side is chosen as metafor does, from the sign of the slope of a meta-regression on
    the standard error fitted with the model's method; the filled model is refitted with
    the model's method and ``exact`` and z-based inference (metafor does not pass ``test`` on). ``estimator``
    (metafor's): "L0" from the Wilcoxon rank sum, "R0" from the rightmost run of ranks.

    Returns
    -------
    dict
        k0, side, estimate, se, ci_low, ci_high, tau2, and the filled studies filled_yi, filled_vi.

    References
    ----------
    Duval, S., & Tweedie, R. (2000). Trim and fill: A simple funnel-plot-based method of
    testing and adjusting for publication bias in meta-analysis. *Biometrics*, 56, 455-463.
    """
    if res.p != 1:
        raise ValueError("trim-and-fill applies to models without moderators")
    if estimator not in ("L0", "R0"):
        raise ValueError(f"unknown estimator {estimator!r}; choose L0 or R0")
    y0, v0, k = res.yi, res.vi, res.k
    how = {"method": res.method, "exact": res.exact}
    slope = rma(y0, v0, mods=np.sqrt(v0), **how).beta[1]
    side = "right" if slope < 0 else "left"
    y = -y0 if side == "right" else y0.copy()
    ix = np.argsort(y, kind="stable")
    y, v = y[ix], v0[ix]
    k0, k0_prev, iteration = 0, -1, 0
    beta = 0.0
    while k0 != k0_prev:
        k0_prev = k0
        iteration += 1
        if iteration > 100:
            raise RuntimeError("trim-and-fill did not converge")
        beta = rma(y[: k - k0], v[: k - k0], **how).estimate
        yc = y - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)
        k0 = _k0(np.sign(yc) * ranks, k, estimator)
    if k0 == 0:
        fit = res  # metafor returns the model itself, with its own inference
        filled_y, filled_v = np.array([]), np.array([])
    else:
        mirrored = 2 * beta - y[k - k0 :]
        filled_y = -mirrored if side == "right" else mirrored
        filled_v = v[k - k0 :]
        fit = rma(np.concatenate([y0, filled_y]), np.concatenate([v0, filled_v]), **how)
    return {
        "k0": k0,
        "side": side,
        "estimate": fit.estimate,
        "se": float(fit.se[0]),
        "ci_low": float(fit.ci_low[0]),
        "ci_high": float(fit.ci_high[0]),
        "tau2": fit.tau2,
        "filled_yi": filled_y,
        "filled_vi": filled_v,
    }
