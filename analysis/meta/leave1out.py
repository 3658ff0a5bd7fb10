"""Leave-one-out analysis, as metafor's ``leave1out``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.meta.fit import MetaResult, fit_row


def leave_one_out(res: MetaResult, labels=None, which=None) -> pd.DataFrame:
    """Refit the model k times, each time without one study (metafor's ``leave1out``).

    Parameters
    ----------
    res : MetaResult
    labels : sequence, optional
        One label per study (default 1 to k).
    which : array_like of int, optional
        Omit only these studies (0-based indices), one at a time; by default every study.
        metafor has no such option: it is for k in the tens of thousands, where k refits of a
        model of k studies cost O(k²) (see :func:`deletion_screen` for choosing them).

    Returns
    -------
    DataFrame
        One row per omitted study, in index order: ``omitted``, ``estimate``, ``se``,
        ``ci_low``, ``ci_high``, ``p``, ``q``, ``p_q``, ``tau2``, ``i2``, ``h2``.

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for
    meta-analysis. *Research Synthesis Methods*, 1, 112-125.
    """
    labels = list(range(1, res.k + 1)) if labels is None else list(labels)
    omit = range(res.k) if which is None else np.unique(np.asarray(which, dtype=int))
    rows = []
    for i in omit:
        rows.append({"omitted": labels[i], **fit_row(res.refit(np.arange(res.k) != i))})
    return pd.DataFrame(rows)


def deletion_screen(res: MetaResult) -> pd.DataFrame:
    """Every study's case-deletion statistics with tau² held at its estimate: closed form, O(k).

    With the weights w = 1/(v + tau²) fixed, deleting study i changes the weighted least-squares
    fit by the rank-one update (Cook & Weisberg, 1982, ch. 3)::

        beta_(-i) = beta - (X'WX)^-1 x_i w_i e_i / (1 - h_i)

    so that its Cook's distance is ``w_i e_i² h_i / (1 - h_i)²`` and its deleted residual,
    standardized, ``e_i / sqrt((v_i + tau²)(1 - h_i))``. These are the first step of
    :func:`leave_one_out` and :func:`analysis.meta.influence` without re-estimating tau²; they
    rank the studies whose exact refits matter most when refitting all k is too slow (no
    library offers such a screen, hence this function).

    Returns
    -------
    DataFrame
        One row per study: ``shift`` (beta_(-i) - beta for the first coefficient), ``cook_d``
        (fixed-tau² Cook's distance), ``rstudent`` (fixed-tau² standardized deleted residual)
        and ``hat``.

    References
    ----------
    Cook, R. D., & Weisberg, S. (1982). *Residuals and Influence in Regression*. Chapman & Hall.
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for
    meta-analysis. *Research Synthesis Methods*, 1, 112-125.
    """
    w = res.weights
    xw = res.X * w[:, None]
    vb = np.linalg.inv(res.X.T @ xw)
    beta = vb @ (xw.T @ res.yi)
    e = res.yi - res.X @ beta
    hat = w * np.einsum("ij,jk,ik->i", res.X, vb, res.X)
    keep = 1 - hat
    with np.errstate(divide="ignore", invalid="ignore"):
        step = (res.X @ vb) * (w * e / keep)[:, None]  # beta - beta_(-i), one row per study
        cook = w * e**2 * hat / keep**2
        rstudent = e / np.sqrt((res.vi + res.tau2) * keep)
    return pd.DataFrame({"shift": -step[:, 0], "cook_d": cook, "rstudent": rstudent, "hat": hat})


def deletion_candidates(res: MetaResult, n: int) -> np.ndarray:
    """The ``n`` studies to refit when only ``n`` of the k deletions can be, as sorted 0-based
    indices (every study when ``n >= k``), ranked by :func:`deletion_screen` with tau² held fixed:
    a third whose omission lowers the first coefficient most, a third whose omission raises it
    most, a third with the largest absolute deleted residuals (the studies farthest from the
    others, whose omission lowers tau² most), and the rest of the ``n`` by Cook's distance.

    Both directions are taken so that the lowest and the highest leave-one-out estimates are
    among the refits however skewed the effects are.
    """
    if n >= res.k:
        return np.arange(res.k)
    screen = deletion_screen(res)
    shift = np.nan_to_num(screen["shift"].to_numpy(), nan=0.0)
    resid = np.nan_to_num(np.abs(screen["rstudent"].to_numpy()), nan=np.inf)
    cook = np.nan_to_num(screen["cook_d"].to_numpy(), nan=np.inf)
    third = max(n // 3, 1)
    chosen: list[int] = []
    for order in (np.argsort(shift, kind="stable"), np.argsort(-shift, kind="stable"),
                  np.argsort(-resid, kind="stable"), np.argsort(-cook, kind="stable")):
        quota = third if len(chosen) < 3 * third else n
        picked = set(chosen)
        for i in order:
            if len(chosen) >= n or quota == 0:
                break
            if int(i) not in picked:
                chosen.append(int(i))
                picked.add(int(i))
                quota -= 1
    return np.array(sorted(chosen[:n]))


def leave_one_out_summary(loo: pd.DataFrame, res: MetaResult, null: float = 0.0) -> dict:
    """What leave-one-out changes: the lowest and highest estimates (and the study omitted for
    each), and how many omissions change whether the CI excludes ``null``.

    Parameters
    ----------
    loo : DataFrame
        From :func:`leave_one_out`.
    res : MetaResult or dict
        The model fitted to every study, or its ``estimate``, ``ci_low`` and ``ci_high`` (a model
        fitted otherwise, e.g. multilevel with robust intervals).
    null : float
        The no-effect value on the model's scale (0 for log ratios and g).

    Returns
    -------
    dict
        ``min``, ``min_omitted``, ``max``, ``max_omitted``, ``max_shift`` (largest absolute
        change of the estimate), ``flips`` (omissions after which the CI's exclusion of
        ``null`` differs from the full model's).
    """
    estimate, low, high = ((res["estimate"], res["ci_low"], res["ci_high"]) if isinstance(res, dict)
                           else (res.estimate, res.ci_low[0], res.ci_high[0]))
    full_excludes = not (low <= null <= high)
    excludes = ~((loo["ci_low"] <= null) & (null <= loo["ci_high"]))
    lo, hi = loo["estimate"].idxmin(), loo["estimate"].idxmax()
    return {
        "min": float(loo.loc[lo, "estimate"]),
        "min_omitted": loo.loc[lo, "omitted"],
        "max": float(loo.loc[hi, "estimate"]),
        "max_omitted": loo.loc[hi, "omitted"],
        "max_shift": float((loo["estimate"] - estimate).abs().max()),
        "flips": int((excludes != full_excludes)[loo["estimate"].notna()].sum()),
    }
