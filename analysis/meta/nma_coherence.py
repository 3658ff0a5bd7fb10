"""Is the network coherent? The design-by-treatment test, the Q decomposition and node-splitting.

Each is a model with extra columns beside the consistency model's treatment contrasts, fitted by
:func:`analysis.meta.nma.fit_contrasts`, exactly as metafor fits them with ``rma.mv`` and extra
``mods``; the R script ``tests/reference/make_nma_reference.R`` shows the metafor calls.

References
----------
Higgins, J. P. T., Jackson, D., Barrett, J. K., Lu, G., Ades, A. E., & White, I. R. (2012).
Consistency and inconsistency in network meta-analysis: concepts and models for multi-arm
studies. *Research Synthesis Methods*, 3, 98-110.
Krahn, U., Binder, H., & König, J. (2013). A graphical tool for locating inconsistency in network
meta-analyses. *BMC Medical Research Methodology*, 13, 35.
Dias, S., Welton, N. J., Caldwell, D. M., & Ades, A. E. (2010). Checking consistency in mixed
treatment comparison meta-analysis. *Statistics in Medicine*, 29, 932-944.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.meta.blocks import BlockCov
from analysis.meta.nma_gls import fit_contrasts
from analysis.meta.nma_data import NetworkData

RANK_TOL = 1e-7  # R's qr() and lm() tolerance


def independent_columns(X: np.ndarray, tol: float = RANK_TOL) -> np.ndarray:
    """Indices of the columns kept when each later column in the span of earlier ones is dropped.

    What R's ``lm`` (and so metafor) does with redundant ``mods``: a column whose residual after
    projection on the kept columns is below ``tol`` times its norm is left out.
    """
    kept, basis = [], np.zeros((X.shape[0], 0))
    for j in range(X.shape[1]):
        x = X[:, j]
        norm = np.linalg.norm(x)
        if norm == 0:
            continue
        r = x - basis @ (basis.T @ x)
        r = r - basis @ (basis.T @ r)
        if np.linalg.norm(r) > tol * norm:
            kept.append(j)
            basis = np.column_stack([basis, r / np.linalg.norm(r)])
    return np.asarray(kept, dtype=int)


def _wald(res, cols) -> tuple[float, int, float]:
    vcov = np.linalg.inv(res.H)[np.ix_(cols, cols)]
    b = res.beta[cols]
    q = float(b @ np.linalg.solve(vcov, b))
    return q, len(cols), float(stats.chi2.sf(q, len(cols)))


@dataclass(frozen=True)
class DesignByTreatment:
    """Higgins et al.'s (2012) global test of inconsistency.

    ``q``/``df``/``p``: Wald test of the design-specific terms in the random-effects (REML)
    inconsistency model, whose heterogeneity variance is ``tau2``; ``lrt``/``p_lrt``: the
    likelihood-ratio test of the two models fitted by ML; ``q_fixed``/``p_fixed``: the Wald
    test under common effects.
    """

    q: float
    df: int
    p: float
    tau2: float
    lrt: float
    p_lrt: float
    tau2_ml: float
    q_fixed: float
    p_fixed: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def design_by_treatment(data: NetworkData) -> DesignByTreatment:
    """Add one term per (design, comparison) to the consistency model and test them together.

    Returns
    -------
    DesignByTreatment
        With ``df = 0`` (and nothing to test) when every design is a single comparison that the
        rest of the network cannot check. When the inconsistency model fits every contrast
        exactly, its heterogeneity cannot be estimated: the random-effects and likelihood-ratio
        tests are NaN and only the common-effect test (``q_fixed``) is given.
    """
    X = data.design_matrix()
    label = np.char.add(np.char.add(data.design.astype(str), "|"), data.comparison)
    levels = np.unique(label)
    D = (label[:, None] == levels[None, :]).astype(float)
    full = np.column_stack([X, D])
    kept = independent_columns(full)
    p = X.shape[1]
    if len(kept) < p or np.any(kept[:p] != np.arange(p)):
        raise ValueError("the treatment contrasts are not estimable: is the network connected?")
    Xk = full[:, kept]
    extra = np.arange(p, len(kept))
    if len(extra) == 0:
        return DesignByTreatment(0.0, 0, np.nan, np.nan, 0.0, np.nan, np.nan, 0.0, np.nan)
    fe = fit_contrasts(data.study, data.yi, data.V, Xk, random=False)
    q_fixed, df, p_fixed = _wald(fe, extra)
    if Xk.shape[1] >= data.k:  # saturated: no contrast is left to estimate tau^2 (metafor stops)
        return DesignByTreatment(np.nan, df, np.nan, np.nan, np.nan, np.nan, np.nan, q_fixed, p_fixed)
    inc = fit_contrasts(data.study, data.yi, data.V, Xk, random=True, method="REML")
    q, df, pval = _wald(inc, extra)
    inc_ml = fit_contrasts(data.study, data.yi, data.V, Xk, random=True, method="ML")
    con_ml = fit_contrasts(data.study, data.yi, data.V, X, random=True, method="ML")
    lrt = max(2 * (inc_ml.ll_ml - con_ml.ll_ml), 0.0)
    return DesignByTreatment(q, df, pval, float(inc.tau2), float(lrt), float(stats.chi2.sf(lrt, df)),
                             float(inc_ml.tau2), q_fixed, p_fixed)


@dataclass(frozen=True)
class QDecomposition:
    """Krahn et al.'s (2013) split of the common-effect Q into within and between designs."""

    q_total: float
    df_total: int
    p_total: float
    q_within: float
    df_within: int
    p_within: float
    q_between: float
    df_between: int
    p_between: float
    by_design: pd.DataFrame

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "by_design"}
        out["by_design"] = self.by_design.to_dict(orient="list")
        return out


def q_decomposition(data: NetworkData) -> QDecomposition:
    """Q of the consistency model = sum of each design's own Q + Q between designs.

    A design's Q is that of its studies fitted with one parameter per comparison (common effects);
    designs of one study contribute 0 on 0 df. The between-designs Q, on the remaining df, is the
    common-effect analogue of the design-by-treatment test.
    """
    X = data.design_matrix()
    total = fit_contrasts(data.study, data.yi, data.V, X, random=False)
    k, p = X.shape
    comp = data.comparison
    rows = []
    for d in pd.unique(data.design):
        sel = np.flatnonzero(data.design == d)
        studies = np.unique(data.study[sel])
        if len(studies) < 2:
            rows.append((d, len(studies), 0.0, 0))
            continue
        V = _sub_cov(data, sel)
        cd = comp[sel]
        Xd = (cd[:, None] == pd.unique(cd)[None, :]).astype(float)
        r = fit_contrasts(data.study[sel], data.yi[sel], V, Xd, random=False)
        rows.append((d, len(studies), r.rss, len(sel) - Xd.shape[1]))
    by = pd.DataFrame(rows, columns=["design", "studies", "q", "df"])
    by["p"] = np.where(by["df"] > 0, stats.chi2.sf(by["q"], by["df"].clip(lower=1)), np.nan)
    within, df_within = float(by["q"].sum()), int(by["df"].sum())
    between, df_between = total.rss - within, k - p - df_within

    def sf(q, df):
        return float(stats.chi2.sf(q, df)) if df > 0 else np.nan

    return QDecomposition(total.rss, k - p, sf(total.rss, k - p), within, df_within, sf(within, df_within),
                          between, df_between, sf(between, df_between), by)


def _sub_cov(data: NetworkData, sel: np.ndarray):
    where = np.full(data.k, -1)
    where[sel] = np.arange(len(sel))
    V = data.V
    keep = (where[V.rows] >= 0) & (where[V.cols] >= 0)
    return BlockCov(data.study[sel], where[V.rows[keep]], where[V.cols[keep]], V.vals[keep])


def node_split(data: NetworkData, method: str = "REML", level: float = 0.95) -> pd.DataFrame:
    """Direct against indirect evidence for every comparison that has both (side-splitting).

    For the pair (A, B), A earlier in the treatment order, the studies with both get one extra
    parameter: B's arm moves by ``difference``, so that the direct estimate of B versus A is the
    network's plus ``difference`` and the indirect one is the network's without those studies'
    information on it (Dias et al., 2010, as parameterised for metafor). Pairs whose direct
    evidence is all there is (the extra column is in the span of the others) are left out. A
    split model that leaves no contrast to estimate the heterogeneity is fitted with common
    effects (``tau2`` 0).

    Returns
    -------
    DataFrame
        One row per split comparison: treat1 (B), treat2 (A), k_direct, tau2, direct, se_direct,
        indirect, se_indirect, difference, se_difference, z, p and the CI of the difference.
    """
    X = data.design_matrix()
    lv = data.treatments
    T = len(lv)
    crit = float(stats.norm.ppf(1 - (1 - level) / 2))
    arms_of = pd.DataFrame({"study": np.concatenate([data.study, data.study]),
                            "t": np.concatenate([data.treat1, data.treat2])}).drop_duplicates()
    has = {t: set(arms_of.loc[arms_of["t"] == t, "study"]) for t in lv}
    rows = []
    for a in range(T):
        for b in range(a + 1, T):
            both = has[lv[a]] & has[lv[b]]
            if not both:
                continue
            s = np.isin(data.study, list(both))
            x = (s & (data.treat1 == lv[b])).astype(float) - (s & (data.treat2 == lv[b])).astype(float)
            Xs = np.column_stack([X, x])
            if len(independent_columns(Xs)) < Xs.shape[1]:
                continue
            random = Xs.shape[1] < data.k
            res = fit_contrasts(data.study, data.yi, data.V, Xs, random=random, method=method)
            vcov = np.linalg.inv(res.H)
            vcov = (vcov + vcov.T) / 2
            ell = np.zeros(T)
            ell[b], ell[a] = 1.0, -1.0
            ind = np.concatenate([ell[1:], [0.0]])
            dirv = np.concatenate([ell[1:], [1.0]])
            j = Xs.shape[1] - 1
            diff, se_diff = res.beta[j], np.sqrt(vcov[j, j])
            rows.append({
                "treat1": lv[b], "treat2": lv[a], "k_direct": len(both), "tau2": res.tau2,
                "direct": dirv @ res.beta, "se_direct": np.sqrt(dirv @ vcov @ dirv),
                "indirect": ind @ res.beta, "se_indirect": np.sqrt(ind @ vcov @ ind),
                "difference": diff, "se_difference": se_diff, "z": diff / se_diff,
                "p": 2 * stats.norm.sf(abs(diff / se_diff)),
                "ci_low": diff - crit * se_diff, "ci_high": diff + crit * se_diff})
    return pd.DataFrame(rows)
