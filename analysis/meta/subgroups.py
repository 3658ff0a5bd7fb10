"""Subgroup analysis with a test for subgroup differences.

Each subgroup is pooled on its own (its own tau², or under :func:`separate_multilevel_subgroups`
its own CHE variance components); the test for subgroup differences is
the Q statistic of a fixed-effect meta-analysis of the subgroup estimates, with g - 1
degrees of freedom, as in Cochrane's RevMan and metafor's "separate tau²" approach
(``rma(estimates, sei = ses, method = "FE")``). Meta-regression on one moderator is
:func:`analysis.meta.fit.rma` with ``mods``.

References
----------
Borenstein, M., & Higgins, J. P. T. (2013). Meta-analysis and subgroups. *Prevention
Science*, 14, 134-143. Deeks, J. J., Higgins, J. P. T., & Altman, D. G. (2023). Analysing data
and undertaking meta-analyses. *Cochrane Handbook*, chapter 10.11.3.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.meta.fit import rma


@dataclass(frozen=True)
class SubgroupResult:
    """Per-subgroup pooled results and the test for subgroup differences."""

    groups: pd.DataFrame
    q_between: float
    df_between: int
    p_between: float


def subgroup_analysis(yi, vi, subgroup, method: str = "REML", hksj: bool = False,
                      exact: bool = False) -> SubgroupResult:
    """Pool each subgroup separately and test whether the subgroup estimates differ.

    Parameters
    ----------
    yi, vi : array_like
    subgroup : array_like
        Subgroup label of each study; groups are reported in sorted order.
    method, hksj, exact
        As for :func:`analysis.meta.fit.rma`, applied within each subgroup.

    Returns
    -------
    SubgroupResult
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    labels = np.asarray(subgroup).astype(str)
    rows = []
    for g in sorted(set(labels)):
        sel = labels == g
        fit = rma(y[sel], v[sel], method=method, hksj=hksj, exact=exact)
        rows.append(
            {
                "subgroup": g,
                "k": int(sel.sum()),
                "estimate": fit.estimate,
                "se": float(fit.se[0]),
                "ci_low": float(fit.ci_low[0]),
                "ci_high": float(fit.ci_high[0]),
                "tau2": fit.tau2,
                "i2": fit.i2,
            }
        )
    groups = pd.DataFrame(rows)
    if len(groups) < 2:
        raise ValueError("a subgroup analysis needs at least two subgroups")
    between = rma(groups["estimate"], groups["se"] ** 2, method="FE")
    return SubgroupResult(groups=groups, q_between=between.q, df_between=len(groups) - 1, p_between=between.p_q)


@dataclass(frozen=True)
class MultilevelSubgroups:
    """One CHE meta-regression with a mean per subgroup: ``groups`` (subgroup, k, clusters, estimate,
    se, df, ci_low, ci_high; CR2) and ``test``, the HTZ Wald test that the means are equal."""

    groups: pd.DataFrame
    test: "WaldResult"  # noqa: F821
    fit: "MultilevelRegression" = field(repr=False, compare=False)  # noqa: F821
    fit_clusters: tuple = field(repr=False, compare=False, default=())

    def contrast(self, first: str, second: str, level: float = 95.0) -> dict:
        """The difference of two subgroup means with its CR2 t-test (HTZ with q = 1): ``difference``,
        ``se``, ``df``, ``p`` and the ``ci_low``/``ci_high`` of the difference (t with that df)."""
        from scipy import special

        from analysis.meta.wald import wald_test

        labels = list(self.groups["subgroup"])
        c = np.zeros(len(labels))
        c[labels.index(first)], c[labels.index(second)] = 1.0, -1.0
        test = wald_test(self.fit, c[None, :])
        diff, se = float(c @ self.fit.beta), float(np.sqrt(c @ self.fit.vcov @ c))
        half = -special.stdtrit(test.df_denom, (1 - level / 100) / 2) * se
        return {"difference": diff, "se": se, "df": test.df_denom, "p": test.p, "ci_low": diff - half,
                "ci_high": diff + half}

    @property
    def extra_memberships(self) -> int:
        """How many more clusters the subgroups count than there are: a cluster with effects in
        three subgroups counts twice more (the clusters themselves: :func:`spanning_clusters`)."""
        return int(self.groups["clusters"].sum() - len(set(self.fit_clusters)))


def spanning_clusters(cluster, subgroup) -> pd.Series:
    """The clusters (trials) with effects in more than one subgroup, with how many subgroups each
    spans, largest first (ties by name)."""
    frame = pd.DataFrame({"cluster": np.asarray(cluster).astype(str), "subgroup": np.asarray(subgroup).astype(str)})
    spans = frame.groupby("cluster")["subgroup"].nunique()
    spans = spans[spans > 1].sort_index()
    return spans.sort_values(ascending=False, kind="stable")


def multilevel_subgroups(yi, vi, cluster, subgroup, rho: float = 0.5, level: float = 95.0) -> MultilevelSubgroups:
    """Subgroups under the CHE working model, for effects nested in studies.

    One three-level meta-regression with an indicator for each subgroup and no intercept (metafor's
    ``rma.mv(yi, vcalc(vi, cluster, rho), mods = ~ 0 + subgroup, random = ~ 1 | cluster/es_id)``), so
    the subgroups share the variance components and a study that gives effects to two subgroups is
    one cluster; CR2 inference on each mean, and the test for subgroup differences is clubSandwich's
    ``Wald_test(fit, constrain_equal(1:g), vcov = "CR2", test = "HTZ")``. The separate-tau² test
    above treats every effect as independent, which comparisons sharing a control arm are not.

    References
    ----------
    Pustejovsky, J. E., & Tipton, E. (2022). Meta-analysis with robust variance estimation:
    expanding the range of working models. *Prevention Science*, 23, 425-438.
    Tipton, E., & Pustejovsky, J. E. (2015). Small-sample adjustments for tests of moderators and
    model fit using robust variance estimation in meta-regression. *JEBS*, 40, 604-634.
    """
    from scipy import special

    from analysis.meta.mlreg import multilevel_regression
    from analysis.meta.wald import equal_constraints, wald_test

    labels = np.asarray(subgroup).astype(str)
    cluster = np.asarray(cluster)
    names = sorted(set(labels))
    if len(names) < 2:
        raise ValueError("a subgroup analysis needs at least two subgroups")
    dummies = (labels[:, None] == np.array(names)[None, :]).astype(float)
    fit = multilevel_regression(yi, vi, cluster, dummies, rho=rho, intercept=False)
    crit = -special.stdtrit(fit.df, (1 - level / 100) / 2)
    groups = pd.DataFrame({
        "subgroup": names, "k": dummies.sum(axis=0).astype(int),
        "clusters": [len(set(cluster[labels == g])) for g in names],
        "estimate": fit.beta, "se": fit.se, "df": fit.df,
        "ci_low": fit.beta - crit * fit.se, "ci_high": fit.beta + crit * fit.se})
    return MultilevelSubgroups(groups, wald_test(fit, equal_constraints(len(names))), fit, tuple(cluster.tolist()))


def separate_multilevel_subgroups(yi, vi, cluster, subgroup, rho: float = 0.5, level: float = 95.0) -> SubgroupResult:
    """Each subgroup under its own CHE model: its own variance components, for effects nested in studies.

    The sensitivity analysis beside :func:`multilevel_subgroups`, whose subgroups share one pair of
    variance components: here each subgroup is fitted alone, as metafor's ``rma.mv(yi, V, random = ~ 1 |
    cluster/es_id, subset = subgroup == g)`` with ``V = vcalc(vi, cluster, obs = es_id, rho)`` and
    ``robust(fit, cluster, clubSandwich = TRUE)`` (CR2, Satterthwaite df), so that a subgroup more
    heterogeneous than the others (waitlist-controlled trials, say) keeps its own heterogeneity and
    weights. The test for subgroup differences is then the separate-tau² Q of
    :func:`subgroup_analysis` on the subgroups' CR2 estimates and standard errors (``rma(estimate,
    sei = se, method = "FE")``, g - 1 df), which, like that test, treats the subgroup estimates as
    independent: a study giving effects to two subgroups makes them correlated, and
    :func:`multilevel_subgroups` is the test that respects it.

    Returns
    -------
    SubgroupResult
        ``groups``: subgroup, k, clusters, estimate, se, df, ci_low, ci_high (CR2), sigma2_between,
        sigma2_within; and the Q test.

    Raises
    ------
    ValueError
        Fewer than two subgroups, or a subgroup with fewer than two clusters (no CR2 variance).

    References
    ----------
    Pustejovsky, J. E., & Tipton, E. (2022). Meta-analysis with robust variance estimation:
    expanding the range of working models. *Prevention Science*, 23, 425-438.
    Borenstein, M., & Higgins, J. P. T. (2013). Meta-analysis and subgroups. *Prevention Science*,
    14, 134-143.
    """
    from analysis.meta.robust import che

    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    labels, cluster = np.asarray(subgroup).astype(str), np.asarray(cluster)
    names = sorted(set(labels.tolist()))
    if len(names) < 2:
        raise ValueError("a subgroup analysis needs at least two subgroups")
    rows = []
    for g in names:
        sel = labels == g
        if len(set(cluster[sel].tolist())) < 2:
            raise ValueError(f"subgroup {g!r} has fewer than two clusters: no cluster-robust variance")
        fit, rob = che(y[sel], v[sel], cluster[sel], rho=rho, level=level)
        rows.append({"subgroup": g, "k": int(sel.sum()), "clusters": rob.k_clusters, "estimate": rob.estimate,
                     "se": rob.se, "df": rob.df, "ci_low": rob.ci_low, "ci_high": rob.ci_high,
                     "sigma2_between": fit.sigma2_between, "sigma2_within": fit.sigma2_within})
    groups = pd.DataFrame(rows)
    between = rma(groups["estimate"], groups["se"] ** 2, method="FE")
    return SubgroupResult(groups=groups, q_between=between.q, df_between=len(groups) - 1, p_between=between.p_q)
