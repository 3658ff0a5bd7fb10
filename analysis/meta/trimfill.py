"""Trim-and-fill, as metafor's ``trimfill``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.meta.fit import MetaResult, rma


def trimfill(res: MetaResult) -> dict:
    """Duval and Tweedie's trim-and-fill with the L0 estimator (metafor's ``trimfill`` defaults).

    The side is chosen as metafor does, from the sign of the slope of a meta-regression on
    the standard error fitted with the model's method; the filled model is refitted with
    the model's method and ``exact`` and z-based inference (metafor does not pass ``test`` on).

    Returns
    -------
    dict
        ``k0``, ``side``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``tau2``, and the
        filled studies ``filled_yi``, ``filled_vi``.

    References
    ----------
    Duval, S., & Tweedie, R. (2000). Trim and fill: A simple funnel-plot-based method of
    testing and adjusting for publication bias in meta-analysis. *Biometrics*, 56, 455-463.
    """
    if res.p != 1:
        raise ValueError("trim-and-fill applies to models without moderators")
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
        signed = np.sign(yc) * ranks
        sr = signed[signed > 0].sum()
        k0 = max(0, int(round((4 * sr - k * (k + 1)) / (2 * k - 1))))
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
