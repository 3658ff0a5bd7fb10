"""Study-level effect sizes with metafor's ``escalc`` defaults.

Binary outcomes (RR, OR on the log scale; RD) follow ``escalc(add = 1/2, to = "only0")``:
a study with a zero in any cell has 1/2 added to all four of its cells, and both the
effect and its variance use the adjusted counts. The variance formulas are those of
statsmodels' ``effectsize_2proportions``, which we call after the zero-cell step
(its own zero correction differs from metafor's). The standardised mean difference is
Hedges' g with the exact small-sample factor (statsmodels uses an approximation), so it
is computed here.
"""

from __future__ import annotations

import numpy as np

from scipy.special import gammaln

MEASURES = ("RR", "OR", "RD", "SMD", "GEN")
RATIO_MEASURES = ("RR", "OR")
BINARY_COLUMNS = ("treat_events", "treat_n", "ctrl_events", "ctrl_n")
CONTINUOUS_COLUMNS = ("treat_mean", "treat_sd", "treat_n", "ctrl_mean", "ctrl_sd", "ctrl_n")
PRECOMPUTED_COLUMNS = ("effect", "se")
COLUMNS_FOR_MEASURE = {
    "RR": BINARY_COLUMNS,
    "OR": BINARY_COLUMNS,
    "RD": BINARY_COLUMNS,
    "SMD": CONTINUOUS_COLUMNS,
    "GEN": PRECOMPUTED_COLUMNS,
}
ADD = 0.5  # metafor's escalc default 'add'


def binary_effects(treat_events, treat_n, ctrl_events, ctrl_n, measure: str):
    """Log risk ratio, log odds ratio or risk difference and their sampling variances.

    Parameters
    ----------
    treat_events, treat_n, ctrl_events, ctrl_n : array_like
        Events and group sizes of the two arms.
    measure : {"RR", "OR", "RD"}

    Returns
    -------
    yi, vi : ndarray
        Effect (log scale for RR and OR) and large-sample variance.

    References
    ----------
    Viechtbauer, W. (2010). metafor, ``escalc``; variances from Fleiss, J. L., & Berlin, J. A.
    (2009). Effect sizes for dichotomous data. In Cooper, Hedges & Valentine (Eds.),
    *The Handbook of Research Synthesis and Meta-Analysis* (2nd ed., pp. 237-253).
    """
    ai = np.asarray(treat_events, dtype=float)
    n1 = np.asarray(treat_n, dtype=float)
    ci = np.asarray(ctrl_events, dtype=float)
    n2 = np.asarray(ctrl_n, dtype=float)
    bi, di = n1 - ai, n2 - ci
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    add = np.where(zero, ADD, 0.0)
    ai, bi, ci, di = ai + add, bi + add, ci + add, di + add
    n1, n2 = ai + bi, ci + di
    # escalc's formulas, written out: statsmodels' effectsize_2proportions gives the same numbers
    # (tested) but costs the command line a second of imports
    if measure == "RR":
        return np.log(ai / n1) - np.log(ci / n2), 1 / ai - 1 / n1 + 1 / ci - 1 / n2
    if measure == "OR":
        return np.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di
    p1, p2 = ai / n1, ci / n2
    return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


def hedges_correction(m):
    """Exact small-sample factor J(m) = Γ(m/2) / (√(m/2) Γ((m-1)/2)).

    References
    ----------
    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and
    related estimators. *Journal of Educational Statistics*, 6, 107-128.
    """
    m = np.asarray(m, dtype=float)
    return np.exp(gammaln(m / 2) - np.log(np.sqrt(m / 2)) - gammaln((m - 1) / 2))


def smd_effects(treat_mean, treat_sd, treat_n, ctrl_mean, ctrl_sd, ctrl_n):
    """Hedges' g and its large-sample variance 1/n1 + 1/n2 + g²/(2(n1+n2)).

    References
    ----------
    Hedges, L. V., & Olkin, I. (1985). *Statistical Methods for Meta-Analysis*. Academic Press.
    metafor's ``escalc(measure = "SMD", vtype = "LS")``.
    """
    m1, s1, n1 = (np.asarray(a, dtype=float) for a in (treat_mean, treat_sd, treat_n))
    m2, s2, n2 = (np.asarray(a, dtype=float) for a in (ctrl_mean, ctrl_sd, ctrl_n))
    df = n1 + n2 - 2
    sd_pooled = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
    g = hedges_correction(df) * (m1 - m2) / sd_pooled
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))


def effect_sizes(data, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and variances for every row of a trial table in the project schema.

    Parameters
    ----------
    data : DataFrame
        Columns as :data:`COLUMNS_FOR_MEASURE` names for ``measure``.
    measure : {"RR", "OR", "RD", "SMD", "GEN"}
        GEN takes the precomputed ``effect`` and ``se`` columns as they are.

    Returns
    -------
    yi, vi : ndarray
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}")
    return effect_arrays({c: data[c].to_numpy(dtype=float) for c in COLUMNS_FOR_MEASURE[measure]}, measure)


def effect_arrays(columns: dict, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`effect_sizes` from a dict of arrays (the columns of ``measure``), without pandas."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}")
    cols = [np.asarray(columns[c], dtype=float) for c in COLUMNS_FOR_MEASURE[measure]]
    if measure in ("RR", "OR", "RD"):
        return binary_effects(*cols, measure=measure)
    if measure == "SMD":
        return smd_effects(*cols)
    return cols[0], cols[1] ** 2
