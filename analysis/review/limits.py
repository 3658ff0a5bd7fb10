"""Steps whose cost grows with the square of the number of studies, limited for very large releases.

Leave-one-out, influence diagnostics and cumulative meta-analysis refit the model once per study:
k refits of a model of k studies. At the k of today's data (a few hundred) that is a second; at
k = 100,000 (a release of the size others may bring) it is hours. Each function here does the
whole step when k is at most ``max_refits`` and otherwise a declared part of it, and returns a
:class:`Limit` that says what was done, so that the chapter states it in its text
(:func:`analysis.review.robustness_wording.describe_limit`). The forest plot is limited the same way by the
rows it draws (a plot of 100,000 rows is thousands of pages that no reader reads).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.meta import cumulative, deletion_candidates, even_steps, influence, leave_one_out
from analysis.meta.fit import MetaResult


@dataclass(frozen=True)
class Limit:
    """What one step did: ``done`` of ``total`` (refits, steps or rows), chosen ``how``
    (``"all"``, ``"screen"``, ``"even"`` or ``"heaviest"``), under the parameter ``cap``."""

    step: str
    done: int
    total: int
    how: str
    cap: int
    share: float = 1.0  # the share of the pooled weight the rows done hold (forest plot)

    @property
    def limited(self) -> bool:
        return self.done < self.total


def _check_cap(cap: int) -> int:
    if int(cap) < 2:
        raise ValueError(f"the limit must be at least 2, not {cap}")
    return int(cap)


def limited_leave_one_out(res: MetaResult, labels, max_refits: int) -> tuple[pd.DataFrame, Limit]:
    """metafor's ``leave1out`` for every study when ``k <= max_refits``; otherwise for the
    ``max_refits`` studies :func:`analysis.meta.deletion_candidates` picks (with tau² held fixed:
    the omissions that move the estimate most down and up, the largest deleted residuals)."""
    cap = _check_cap(max_refits)
    which = None if res.k <= cap else deletion_candidates(res, cap)
    loo = leave_one_out(res, labels, which=which)
    return loo, Limit("leave-one-out", len(loo), res.k, "all" if which is None else "screen", cap)


def limited_influence(res: MetaResult, labels, max_refits: int) -> tuple[pd.DataFrame, Limit]:
    """metafor's ``influence`` for every study when ``k <= max_refits``; otherwise refitted for the
    same screened studies as :func:`limited_leave_one_out` (the rest keep hat and weight)."""
    cap = _check_cap(max_refits)
    which = None if res.k <= cap else deletion_candidates(res, cap)
    frame = influence(res, labels, which=which)
    done = res.k if which is None else len(which)
    return frame, Limit("influence", done, res.k, "all" if which is None else "screen", cap)


def limited_cumulative(res: MetaResult, order, labels, max_refits: int) -> tuple[pd.DataFrame, Limit]:
    """metafor's ``cumul`` at every step when ``k <= max_refits``; otherwise at ``max_refits``
    steps (:func:`analysis.meta.even_steps`: each of the first half, where the estimate moves
    most, then evenly spaced to the last)."""
    cap = _check_cap(max_refits)
    steps = None if res.k <= cap else even_steps(res.k, cap)
    cum = cumulative(res, order, labels, steps=steps)
    return cum, Limit("cumulative", len(cum), res.k, "all" if steps is None else "even", cap)


def heaviest_rows(res: MetaResult, max_rows: int) -> tuple[np.ndarray, Limit]:
    """The studies a forest plot draws: all when ``k <= max_rows``, otherwise the ``max_rows`` with
    the largest weight, in the model's order (sorted indices), with the share of weight they hold."""
    cap = _check_cap(max_rows)
    if res.k <= cap:
        return np.arange(res.k), Limit("forest", res.k, res.k, "all", cap)
    w = res.weights
    rows = np.sort(np.argsort(-w, kind="stable")[:cap])
    return rows, Limit("forest", cap, res.k, "heaviest", cap, float(w[rows].sum() / w.sum()))


#: Comparisons refitted in all by :func:`limited_leave_one_trial_out` before it is limited further: a
#: multilevel refit costs about 100 times a univariate one.
TRIAL_REFIT_ROWS = 1_000_000


def limited_leave_one_trial_out(yi, vi, trial, rho: float, method: str, max_refits: int) -> tuple[pd.DataFrame, Limit]:
    """The CHE working model with CR2 inference (:func:`analysis.meta.che`, the CBT chapter's primary
    analysis) refitted without each trial in turn, all of its comparisons at once (leave-one-cluster-out).

    Every trial while there are at most ``max_refits`` of them and the refits pool at most
    :data:`TRIAL_REFIT_ROWS` comparisons in all; otherwise as many as that allows (at least 10), chosen
    by :func:`analysis.meta.deletion_candidates` on the trials' aggregated effects (metafor's
    ``aggregate`` with ``rho``, pooled by ``method``).

    Returns
    -------
    DataFrame, Limit
        One row per trial left out (in the data's order): ``omitted``, ``estimate``, ``ci_low``,
        ``ci_high`` (robust), NaN where the model cannot be fitted; and what was done.
    """
    from analysis.meta import che, rma
    from analysis.review.dependency import aggregate

    cap = _check_cap(max_refits)
    y, v = np.asarray(yi, float), np.asarray(vi, float)
    labels = np.asarray(trial).astype(str)
    names = pd.unique(labels)
    n = min(cap, max(10, TRIAL_REFIT_ROWS // max(len(y), 1)))
    chosen = names
    if len(names) > n:
        ay, av, order = aggregate(y, v, labels, rho)
        chosen = order[deletion_candidates(rma(ay, av, method=method), n)]
    rows = []
    for name in chosen:
        keep = labels != name
        row = {"omitted": name, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        if len(set(labels[keep])) >= 2:
            try:
                fit, rob = che(y[keep], v[keep], labels[keep], rho=rho, method=method)
                row.update(estimate=fit.to_dict()["estimate"], ci_low=rob.to_dict()["ci_low"], ci_high=rob.to_dict()["ci_high"])
            except (ValueError, RuntimeError, np.linalg.LinAlgError):
                pass
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["omitted", "estimate", "ci_low", "ci_high"])
    return frame, Limit("leave-one-trial-out", len(frame), len(names), "all" if len(frame) == len(names) else "screen", cap)
