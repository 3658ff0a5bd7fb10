"""Dependent effect sizes: the four analyses metapsyTools' ``runMetaAnalysis`` reports side by side.

Comparisons from one trial share participants (a shared control arm, several instruments), so
they are not independent. The review reports, in one table, every comparison pooled as if
independent; one effect per trial (aggregated within trials under a correlation ``rho``, as
metafor's ``aggregate(..., struct = "CS")``); the three-level model (``rma.mv`` with
``~ 1 | trial/comparison``); and the correlated-and-hierarchical-effects (CHE) working model
with cluster-robust CR2 inference (Pustejovsky & Tipton, 2022), which stays valid when the
assumed correlation is wrong. Which one is primary is a parameter of the chapter.

References
----------
Harrer, M., et al. (2021). *Doing Meta-Analysis with R*, chapter 10. Chapman & Hall/CRC.
Pustejovsky, J. E., & Tipton, E. (2022). Meta-analysis with robust variance estimation: expanding
the range of working models. *Prevention Science*, 23, 425-438.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.meta.fit import rma

MODELS = {
    "independent": "every comparison, as if independent",
    "aggregated": "one effect per trial (aggregated, rho = {rho})",
    "threelevel": "three-level model (comparisons within trials)",
    "che": "CHE working model (rho = {rho}) with CR2 robust inference",
}


def aggregate(yi, vi, cluster, rho: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One effect per cluster: the inverse-variance mean under a compound-symmetric correlation
    ``rho`` within the cluster (metafor's ``aggregate.escalc`` with ``struct = "CS"``).

    The weights w = V⁻¹1 of a cluster of m effects with V = S R S, S = diag(√v), R = (1 - rho) I
    + rho 11', come in closed form from R⁻¹ = (I - rho 11' / (1 - rho + m rho)) / (1 - rho)::

        w_i = (1/√v_i) (1/√v_i - rho Σ_j (1/√v_j) / (1 - rho + m rho)) / (1 - rho)

    so that every cluster is done at once in O(k) (metafor solves each cluster's V; the two
    agree to rounding). ``rho`` must be below 1.

    Returns
    -------
    yi, vi, cluster : ndarray
        The aggregated effects, their variances and the cluster labels, in order of first appearance.
    """
    y = np.asarray(yi, float)
    w, code, labels = _cs_weights(vi, cluster, rho)
    n = len(labels)
    sw = np.bincount(code, weights=w, minlength=n)
    return np.bincount(code, weights=w * y, minlength=n) / sw, 1 / sw, labels


def _cs_weights(vi, cluster, rho: float):
    """The weights w = V⁻¹1 of :func:`aggregate`, each row's cluster number (in order of first
    appearance) and the cluster labels in that order."""
    v = np.asarray(vi, float)
    if not rho < 1:
        raise ValueError(f"rho must be below 1 (the within-cluster correlation), not {rho}")
    labels = np.asarray(cluster).astype(str)
    uniq, first, code = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), int)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))  # cluster -> position of first appearance
    code = rank[code]
    n = len(uniq)
    inv_s = 1 / np.sqrt(v)
    m = np.bincount(code, minlength=n)
    total = np.bincount(code, weights=inv_s, minlength=n)
    w = inv_s * (inv_s - rho * total[code] / (1 - rho + m[code] * rho)) / (1 - rho)
    return w, code, labels[np.sort(first)]


def aggregation_shares(vi, cluster, rho: float = 0.5) -> np.ndarray:
    """Each row's weight in its cluster's aggregated effect (:func:`aggregate`); they sum to 1 in a cluster."""
    w, code, labels = _cs_weights(vi, cluster, rho)
    return w / np.bincount(code, weights=w, minlength=len(labels))[code]


def multilevel(method: str) -> str:
    """The estimator of a multilevel model for a chapter's tau² estimator: REML or ML as given,
    REML for the estimators rma.mv does not have (DL, PM, ...)."""
    return method if method in ("REML", "ML") else "REML"


def multilevel_prediction(estimate: float, se: float, sigma2_total: float, df: float | None = None,
                          level: float = 95.0) -> tuple[float, float]:
    """95% prediction interval of a multilevel (three-level or CHE) model: the estimate plus or minus
    the critical value times ``sqrt(se² + sigma²_between + sigma²_within)``, with the normal critical
    value, or t with ``df`` (the model's k - 1 under ``test = "t"``, or the Satterthwaite df of CR2
    robust inference), as metafor's ``predict`` of an ``rma.mv`` fit or of its ``robust()`` result
    (agreement to 1e-6: ``tests/reference/make_che_prediction_reference.R``).

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *Journal of
    Statistical Software*, 36(3). Higgins, J. P. T., Thompson, S. G., & Spiegelhalter, D. J. (2009).
    A re-evaluation of random-effects meta-analysis. *JRSS A*, 172, 137-159.
    """
    from scipy import stats

    tail = (1 - level / 100) / 2
    crit = stats.norm.isf(tail) if df is None else stats.t.isf(tail, df)
    half = crit * np.sqrt(se**2 + sigma2_total)
    return float(estimate - half), float(estimate + half)


def dependency_fits(yi, vi, cluster, method: str = "REML", hksj: bool = True, rho: float = 0.5) -> dict:
    """The four fits of :data:`MODELS`: ``independent`` and ``aggregated`` (``rma``), ``threelevel``
    (``rma_mv``) and ``che`` (the ``rma_mv`` fit and its CR2 result), plus ``aggregation``, each
    comparison's share of its trial's aggregated effect."""
    from analysis.meta.multilevel import rma_mv
    from analysis.meta.robust import che

    y, v = np.asarray(yi, float), np.asarray(vi, float)
    labels = np.asarray(cluster).astype(str)
    multilevel_method = multilevel(method)
    ay, av, agg_labels = aggregate(y, v, labels, rho)
    position = dict(zip(agg_labels, range(len(agg_labels))))
    share = aggregation_shares(v, labels, rho)
    return {"independent": rma(y, v, method=method, hksj=hksj),
            "aggregated": rma(ay, av, method=method, hksj=hksj),
            "aggregated_trial": np.array([position[c] for c in labels]), "aggregation": share,
            "threelevel": rma_mv(y, v, labels, method=multilevel_method, test="t" if hksj else "z"),
            "che": che(y, v, labels, rho=rho, method=multilevel_method), "clusters": len(agg_labels)}


def comparison_weights(fits: dict, model: str) -> np.ndarray:
    """Each comparison's weight in the pooled estimate of ``model`` (one of :data:`MODELS`): the
    inverse-variance weight (independent), the row sums of the inverse marginal covariance
    (three-level, CHE: metafor's ``weights(type = "rowsum")``), or its trial's weight times its
    share of the trial's aggregated effect (aggregated). Shares of these weights are what a
    subset of comparisons contributes to that estimate."""
    if model == "independent":
        return fits["independent"].weights
    if model == "aggregated":
        return fits["aggregated"].weights[fits["aggregated_trial"]] * fits["aggregation"]
    if model == "threelevel":
        return fits["threelevel"].weights
    if model == "che":
        return fits["che"][0].weights
    raise ValueError(f"model must be one of {', '.join(MODELS)}")


def dependency_table(yi, vi, cluster, method: str = "REML", hksj: bool = True, rho: float = 0.5,
                     fits: dict | None = None) -> pd.DataFrame:
    """The four analyses of dependent comparisons, one row each (:data:`MODELS`), from
    :func:`dependency_fits` (computed here unless ``fits`` is given).

    Columns: ``model``, ``label``, ``k`` (effects), ``clusters``, ``estimate``, ``ci_low``,
    ``ci_high``, ``p``, ``heterogeneity`` (tau² for the univariate models; the between-trial
    sigma² for the multilevel ones), ``within`` (the within-trial sigma²; NaN otherwise),
    ``i2`` (total I²), ``pi_low``, ``pi_high`` (the 95% prediction interval of that model: metafor's
    ``predict``; for CHE with the robust standard error and its Satterthwaite df).
    """
    fits = fits if fits is not None else dependency_fits(yi, vi, cluster, method=method, hksj=hksj, rho=rho)
    n_clusters = fits["clusters"]
    rows = [_univariate("independent", fits["independent"], n_clusters),
            _univariate("aggregated", fits["aggregated"], n_clusters)]
    three = fits["threelevel"]
    row = _multilevel("threelevel", three.to_dict())
    row["pi_low"], row["pi_high"] = multilevel_prediction(three.estimate, three.se, three.sigma2_between
                                                          + three.sigma2_within, three.df)
    rows.append(row)
    fit, rob = fits["che"]
    row = _multilevel("che", fit.to_dict())
    row.update({k: rob.to_dict()[k] for k in ("ci_low", "ci_high", "p")})
    row["pi_low"], row["pi_high"] = multilevel_prediction(rob.estimate, rob.se, fit.sigma2_between
                                                          + fit.sigma2_within, rob.df)
    rows.append(row)
    frame = pd.DataFrame(rows)
    frame["label"] = [MODELS[m].format(rho=rho) for m in frame["model"]]
    return frame[["model", "label", "k", "clusters", "estimate", "ci_low", "ci_high", "p", "heterogeneity",
                  "within", "i2", "pi_low", "pi_high"]]


def _univariate(model: str, res, clusters: int) -> dict:
    d, pred = res.to_dict(), res.predict()
    return {"model": model, "k": d["k"], "clusters": clusters, "estimate": d["estimate"], "ci_low": d["ci_low"],
            "ci_high": d["ci_high"], "p": d["p"], "heterogeneity": d["tau2"], "within": np.nan, "i2": d["i2"],
            "pi_low": float(np.ravel(pred["pi_low"])[0]), "pi_high": float(np.ravel(pred["pi_high"])[0])}


def _multilevel(model: str, d: dict) -> dict:
    return {"model": model, "k": d["k"], "clusters": d["k_clusters"], "estimate": d["estimate"],
            "ci_low": d["ci_low"], "ci_high": d["ci_high"], "p": d["p"], "heterogeneity": d["sigma2_between"],
            "within": d["sigma2_within"], "i2": d["i2_between"] + d["i2_within"]}


def variance_intervals(fits: dict, model: str, level: float = 95.0) -> dict:
    """The variance components of one model of :func:`dependency_fits` with their confidence
    intervals: ``between`` (tau² of a univariate model, with its Q-profile interval, metafor's
    ``confint.rma.uni``; the between-trial sigma² of a multilevel one, with its profile-likelihood
    interval, ``confint.rma.mv``: :func:`analysis.meta.profile_ci`) and ``within`` (the within-trial
    sigma², likewise; None for a univariate model). Each is a dict: ``estimate``, ``ci_low``,
    ``ci_high``, ``high_at_bound`` (the upper limit is the end of the range searched)."""
    from analysis.meta import profile_ci

    if model in ("independent", "aggregated"):
        res = fits[model]
        ci = res.tau2_ci()
        return {"between": {"estimate": res.tau2, "ci_low": ci["tau2_low"], "ci_high": ci["tau2_high"],
                            "high_at_bound": False}, "within": None}
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}")
    fit = fits["threelevel"] if model == "threelevel" else fits["che"][0]
    return {"between": profile_ci(fit, "sigma2_between", level), "within": profile_ci(fit, "sigma2_within", level)}

