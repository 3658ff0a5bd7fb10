"""Leave-one-out analysis, as metafor's ``leave1out``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.meta.fit import MetaResult, fit_row


def leave_one_out(res: MetaResult, labels=None) -> pd.DataFrame:
    """Refit the model k times, each time without one study (metafor's ``leave1out``).

    Returns
    -------
    DataFrame
        One row per omitted study: ``omitted``, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``p``, ``q``, ``p_q``, ``tau2``, ``i2``, ``h2``.

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for
    meta-analysis. *Research Synthesis Methods*, 1, 112-125.
    """
    labels = list(range(1, res.k + 1)) if labels is None else list(labels)
    rows = []
    for i in range(res.k):
        rows.append({"omitted": labels[i], **fit_row(res.refit(np.arange(res.k) != i))})
    return pd.DataFrame(rows)


def leave_one_out_summary(loo: pd.DataFrame, res: MetaResult, null: float = 0.0) -> dict:
    """What leave-one-out changes: the lowest and highest estimates (and the study omitted for
    each), and how many omissions change whether the CI excludes ``null``.

    Parameters
    ----------
    loo : DataFrame
        From :func:`leave_one_out`.
    res : MetaResult
        The model fitted to every study.
    null : float
        The no-effect value on the model's scale (0 for log ratios and g).

    Returns
    -------
    dict
        ``min``, ``min_omitted``, ``max``, ``max_omitted``, ``max_shift`` (largest absolute
        change of the estimate), ``flips`` (omissions after which the CI's exclusion of
        ``null`` differs from the full model's).
    """
    full_excludes = not (res.ci_low[0] <= null <= res.ci_high[0])
    excludes = ~((loo["ci_low"] <= null) & (null <= loo["ci_high"]))
    lo, hi = loo["estimate"].idxmin(), loo["estimate"].idxmax()
    return {
        "min": float(loo.loc[lo, "estimate"]),
        "min_omitted": loo.loc[lo, "omitted"],
        "max": float(loo.loc[hi, "estimate"]),
        "max_omitted": loo.loc[hi, "omitted"],
        "max_shift": float((loo["estimate"] - res.estimate).abs().max()),
        "flips": int((excludes != full_excludes)[loo["estimate"].notna()].sum()),
    }
