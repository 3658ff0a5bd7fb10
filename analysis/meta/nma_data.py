"""Arm-level data of a network to treatment contrasts with their block-diagonal covariance.

Each study contributes the contrasts of its arms against its first arm in the treatment order
(the reference treatment first, so that placebo is the baseline wherever a study has it). Two
contrasts of one study share the baseline arm, so their sampling errors covary by that arm's
variance (Gleser & Olkin, 2009, eq. 19.11); studies are independent. This is the data layout of
metafor's network meta-analysis examples (``to.wide``, ``escalc``, the shared-arm covariance,
``contrmat``), computed here for any number of arms per study.

Conventions, as metafor's ``escalc`` and ``vcalc``:

* log odds ratio: when ``to="only0"``, 1/2 is added to every cell of every arm of a study in
  which some arm has zero events or zero non-events; ``to="all"`` adds it everywhere,
  ``to="none"`` nowhere. The variance of an arm's log odds is 1/events + 1/non-events.
* mean difference: the variance of an arm's mean is sd^2 / n.
* standardised mean difference: Hedges' g against the baseline arm with the exact small-sample
  factor (``escalc("SMD")``, vtype "LS"); two g's of a study correlate by
  (1/n_0) / sqrt((1/n_i + 1/n_0)(1/n_j + 1/n_0)), ``vcalc(grp1, grp2, w1 = n, w2 = n)``.

Arms with a missing value are left out, the arms of one treatment within a study are merged
(binary counts summed; two continuous arms of one treatment are refused), and studies left with
one arm contribute nothing. Each omission is listed in :attr:`NetworkData.dropped`.

References
----------
Gleser, L. J., & Olkin, I. (2009). Stochastically dependent effect sizes. In Cooper, Hedges &
Valentine (Eds.), *The handbook of research synthesis and meta-analysis* (2nd ed., pp. 357-376).
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *JSS*, 36(3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.meta.blocks import BlockCov, grouping, within_pairs
from analysis.meta.effect_sizes import hedges_correction

NETWORK_MEASURES = ("OR", "MD", "SMD")
ARM_COLUMNS = {"OR": ("events", "n"), "MD": ("mean", "sd", "n"), "SMD": ("mean", "sd", "n")}
ADD = 0.5


@dataclass(frozen=True)
class NetworkData:
    """Treatment contrasts of a network, one row per non-baseline arm of each study.

    Attributes
    ----------
    treatments : tuple of str
        The treatment order; the first is the reference of the model's parameters.
    study, treat1, treat2, design : ndarray
        Per contrast: its study, its arm's treatment, the study's baseline treatment, and the
        study's design (its treatments in order, joined by ``":"``).
    yi, vi : ndarray
        The contrast (treat1 versus treat2) and its sampling variance.
    V : BlockCov
        The sampling covariance, block-diagonal by study.
    dropped : DataFrame
        What was left out (study, treatment, reason).
    """

    measure: str
    treatments: tuple
    study: np.ndarray = field(repr=False)
    treat1: np.ndarray = field(repr=False)
    treat2: np.ndarray = field(repr=False)
    design: np.ndarray = field(repr=False)
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    V: BlockCov = field(repr=False)
    dropped: pd.DataFrame = field(repr=False)
    n_arms: int = 0
    n_participants: float = 0.0

    @property
    def k(self) -> int:
        return len(self.yi)

    @property
    def n_studies(self) -> int:
        return len(np.unique(self.study))

    @property
    def comparison(self) -> np.ndarray:
        """``"treat1-treat2"`` of every contrast (metafor's ``comp``)."""
        return np.char.add(np.char.add(self.treat1.astype(str), "-"), self.treat2.astype(str))

    def design_matrix(self) -> np.ndarray:
        """k-by-(T-1): +1 for the arm's treatment, -1 for the baseline, reference column left out."""
        index = {t: i for i, t in enumerate(self.treatments)}
        X = np.zeros((self.k, len(self.treatments)))
        rows = np.arange(self.k)
        X[rows, [index[t] for t in self.treat1]] = 1.0
        X[rows, [index[t] for t in self.treat2]] = -1.0
        return X[:, 1:]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"study": self.study, "treat1": self.treat1, "treat2": self.treat2,
                             "design": self.design, "yi": self.yi, "vi": self.vi})


def treatment_order(treatments, reference: str | None = None) -> tuple:
    """The reference first, then the other treatments in code-point order (R's ``sort(method = "radix")``)."""
    names = sorted({str(t) for t in treatments})
    if reference is None:
        return tuple(names)
    if reference not in names:
        raise ValueError(f"reference treatment {reference!r} is not in the network")
    return (reference, *[t for t in names if t != reference])


def _prepare(arms: pd.DataFrame, measure: str) -> tuple[pd.DataFrame, list]:
    need = list(ARM_COLUMNS[measure])
    dropped = []
    missing = arms[need].isna().any(axis=1)
    for s, t in arms.loc[missing, ["study", "treatment"]].itertuples(index=False):
        dropped.append((s, t, "missing " + "/".join(need)))
    arms = arms.loc[~missing]
    duplicated = arms.duplicated(["study", "treatment"], keep=False)
    if duplicated.any():
        if measure != "OR":
            s, t = arms.loc[duplicated, ["study", "treatment"]].iloc[0]
            raise ValueError(f"study {s!r} has two continuous arms of treatment {t!r}; merge them first")
        for s, t in arms.loc[duplicated, ["study", "treatment"]].drop_duplicates().itertuples(index=False):
            dropped.append((s, t, "arms of one treatment merged"))
        arms = arms.groupby(["study", "treatment"], sort=False, as_index=False)[need].sum()
    size = arms.groupby("study", sort=False)["treatment"].transform("size")
    for s in arms.loc[size < 2, "study"].unique():
        dropped.append((s, None, "one arm left"))
    return arms.loc[size >= 2], dropped


def arm_contrasts(arms, measure: str, reference: str | None = None, order=None,
                  to: str = "only0", add: float = ADD) -> NetworkData:
    """Contrasts against each study's baseline arm, with their covariance.

    Parameters
    ----------
    arms : DataFrame
        One row per arm with columns ``study``, ``treatment`` and ``events``, ``n`` (``"OR"``)
        or ``mean``, ``sd``, ``n`` (``"MD"``, ``"SMD"``).
    measure : {"OR", "MD", "SMD"}
    reference : str, optional
        Treatment placed first in the order (ignored when ``order`` is given).
    order : sequence of str, optional
        The full treatment order; its first element is the reference.
    to : {"only0", "all", "none"}
        Where ``add`` is added to the cells of a binary outcome (see the module docstring).

    Returns
    -------
    NetworkData
    """
    arms, dropped, lv = _checked_arms(arms, measure, reference, order, to)
    arms = _sorted_by_study(arms, lv, measure, to, add)
    is_base = ~arms["_study"].duplicated()
    base = arms.loc[is_base].set_index("_study")
    rest = arms.loc[~is_base]
    b = base.loc[rest["_study"]]
    design = arms.groupby("_study", sort=False)["treatment"].agg(":".join)
    yi, vi, shared = _contrast_values(rest, b, measure)
    study = rest["study"].to_numpy()
    grp = grouping(rest["_study"].to_numpy())
    rows, cols = within_pairs(grp)
    if measure == "SMD":
        w, w0 = 1 / rest["n"].to_numpy(float), 1 / b["n"].to_numpy(float)
        r = w0[rows] / np.sqrt((w[rows] + w0[rows]) * (w[cols] + w0[cols]))
        vals = np.where(rows == cols, vi[rows], r * np.sqrt(vi[rows] * vi[cols]))
    else:
        vals = np.where(rows == cols, vi[rows], shared[rows])
    dropped = pd.DataFrame(dropped, columns=["study", "treatment", "reason"])
    return NetworkData(measure=measure, treatments=lv, study=study,
                       treat1=rest["treatment"].to_numpy(), treat2=b["treatment"].to_numpy(),
                       design=design.loc[rest["_study"]].to_numpy(), yi=yi, vi=vi,
                       V=BlockCov(study, rows, cols, vals), dropped=dropped,
                       n_arms=len(arms), n_participants=float(arms["n"].sum()))


def _checked_arms(arms, measure: str, reference, order, to: str):
    """The arms with complete data in studies of two or more, what was dropped, and the treatment order."""
    if measure not in NETWORK_MEASURES:
        raise ValueError(f"measure must be one of {NETWORK_MEASURES}")
    if to not in ("only0", "all", "none"):
        raise ValueError("to must be 'only0', 'all' or 'none'")
    arms = pd.DataFrame(arms)
    absent = [c for c in ("study", "treatment", *ARM_COLUMNS[measure]) if c not in arms.columns]
    if absent:
        raise ValueError(f"the arms need the column(s) {', '.join(absent)}")
    arms = arms.assign(study=arms["study"].astype(str), treatment=arms["treatment"].astype(str))
    arms, dropped = _prepare(arms, measure)
    if arms.empty:
        raise ValueError("no study has two arms with complete data")
    lv = tuple(order) if order is not None else treatment_order(arms["treatment"], reference)
    unknown = set(arms["treatment"]) - set(lv)
    if unknown:
        raise ValueError(f"treatment(s) not in the order: {', '.join(sorted(unknown))}")
    return arms, dropped, lv


def _sorted_by_study(arms: pd.DataFrame, lv: tuple, measure: str, to: str, add: float) -> pd.DataFrame:
    """Arms in order of first appearance of their study, then of the treatment order (the first is the
    study's baseline); for a binary outcome, the cells ``_a``/``_d`` with ``add`` where ``to`` says."""
    rank = {t: i for i, t in enumerate(lv)}
    arms = arms.assign(_rank=arms["treatment"].map(rank))
    first_seen = {s: i for i, s in enumerate(pd.unique(arms["study"]))}
    arms = arms.assign(_study=arms["study"].map(first_seen)).sort_values(["_study", "_rank"], kind="stable")
    if measure == "OR":
        zero = (arms["events"] == 0) | (arms["events"] == arms["n"])
        zero_study = zero.groupby(arms["_study"]).transform("any").to_numpy()
        corr = {"only0": add * zero_study, "all": np.full(len(arms), add), "none": np.zeros(len(arms))}[to]
        arms = arms.assign(_a=arms["events"] + corr, _d=arms["n"] - arms["events"] + corr)
    return arms


def _contrast_values(rest: pd.DataFrame, b: pd.DataFrame, measure: str):
    """Each non-baseline arm against its study's baseline ``b``: yi, vi and the baseline's shared
    variance (the covariance of two contrasts of one study; None for the SMD, whose covariance
    depends on both contrasts)."""
    n1, n0 = rest["n"].to_numpy(float), b["n"].to_numpy(float)
    if measure == "OR":
        a1, d1 = rest["_a"].to_numpy(float), rest["_d"].to_numpy(float)
        a0, d0 = b["_a"].to_numpy(float), b["_d"].to_numpy(float)
        shared = 1 / a0 + 1 / d0
        return np.log(a1 / d1) - np.log(a0 / d0), 1 / a1 + 1 / d1 + shared, shared
    m1, s1 = rest["mean"].to_numpy(float), rest["sd"].to_numpy(float)
    m0, s0 = b["mean"].to_numpy(float), b["sd"].to_numpy(float)
    if measure == "MD":
        shared = s0 ** 2 / n0
        return m1 - m0, s1 ** 2 / n1 + shared, shared
    df = n1 + n0 - 2
    sd_pooled = np.sqrt(((n1 - 1) * s1 ** 2 + (n0 - 1) * s0 ** 2) / df)
    yi = hedges_correction(df) * (m1 - m0) / sd_pooled
    return yi, 1 / n1 + 1 / n0 + yi ** 2 / (2 * (n1 + n0)), None
