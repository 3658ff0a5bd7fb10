"""Cumulative meta-analysis, as metafor's ``cumul``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.meta.fit import MetaResult, fit_row


def cumulative(res: MetaResult, order, labels=None, steps=None) -> pd.DataFrame:
    """Cumulative meta-analysis, adding studies in increasing ``order`` (metafor's ``cumul``).

    ``steps`` (optional) lists the numbers of studies (1 to k) at which to fit; by default every
    step, as metafor. It is for k in the tens of thousands, where k fits of up to k studies
    cost O(k²): :func:`even_steps` spreads a given number of them over the order.

    Ties keep the input order and NaN comes last. Returns one row per step fitted: ``added``,
    ``order`` (its value for the study added, e.g. the year), ``k`` and the fit's ``estimate``,
    ``se``, ``ci_low``, ``ci_high``, ``p``, ``q``, ``p_q``, ``tau2``, ``i2``, ``h2`` (NaN
    where the fit fails, as metafor).

    References
    ----------
    Lau, J., et al. (1992). Cumulative meta-analysis of therapeutic trials for myocardial
    infarction. *NEJM*, 327, 248-254.
    """
    labels = np.arange(1, res.k + 1) if labels is None else np.asarray(labels)
    order = np.asarray(order, dtype=float)
    idx = np.argsort(order, kind="stable")
    rows = []
    for step in range(1, res.k + 1) if steps is None else np.unique(np.asarray(steps, dtype=int)):
        rows.append({"added": labels[idx[step - 1]], "order": order[idx[step - 1]], **fit_row(res.refit(idx[:step])), "k": step})
    return pd.DataFrame(rows)


def even_steps(k: int, n: int) -> np.ndarray:
    """At most ``n`` steps of a cumulative meta-analysis of ``k`` studies: every one of the first
    ``n // 2`` (the early steps, where the estimate and its CI move most), then evenly spaced to
    the last (k)."""
    if n >= k:
        return np.arange(1, k + 1)
    head = max(n // 2, 1)
    tail = np.round(np.linspace(head + 1, k, max(n - head, 1))).astype(int)
    return np.unique(np.concatenate([np.arange(1, head + 1), tail]))


def cumulative_summary(cum: pd.DataFrame, null: float = 0.0) -> dict:
    """What a cumulative meta-analysis shows: from which step the CI excludes ``null`` for
    good, and the estimate half-way through against the final one.

    Parameters
    ----------
    cum : DataFrame
        From :func:`cumulative`.
    null : float
        The no-effect value on the model's scale (0 for log ratios and g).

    Returns
    -------
    dict
        ``settled_k`` (the number of studies from which every later CI excludes ``null``; None
        if the final one does not), ``settled_added`` and ``settled_order`` (the study added at
        that step and its ordering value, e.g. year; None likewise); ``half_k`` (half the
        studies, rounded down), ``half_estimate`` and ``half_order`` (the fit and ordering value at
        that step); ``final_estimate``; ``unordered`` (studies whose ordering value is NaN,
        added last).
    """
    excludes = (~((cum["ci_low"] <= null) & (null <= cum["ci_high"]))).to_numpy()
    out = {"settled_k": None, "settled_added": None, "settled_order": None}
    if excludes[-1]:
        misses = np.flatnonzero(~excludes)
        at = misses[-1] + 1 if len(misses) else 0
        out = {"settled_k": int(cum["k"].iloc[at]), "settled_added": cum["added"].iloc[at],
               "settled_order": float(cum["order"].iloc[at])}
    half = max(len(cum) // 2, 1) - 1
    out.update({"half_k": int(cum["k"].iloc[half]), "half_estimate": float(cum["estimate"].iloc[half]),
                "half_order": float(cum["order"].iloc[half]), "final_estimate": float(cum["estimate"].iloc[-1]),
                "unordered": int(cum["order"].isna().sum())})
    return out
