"""Publication-bias methods scored against the truth: Turner et al.'s FDA record.

For the antidepressant trials registered with the FDA we know both what the journals printed
and what the FDA saw in every trial, published or not. Applying each bias-correction method to
the published trials alone and comparing its estimate with the pooled FDA estimate of all
trials measures how much of the publication bias each method removes (in the spirit of Turner
et al., 2022, PLoS Medicine, who compared such estimates across 14 drug-indication pairs). One
dataset is one draw: the ranking of methods here is evidence about this kind of bias (whole
trials withheld, outcomes spun), not a general ranking.
"""

from __future__ import annotations

import pandas as pd

from analysis.meta.fit import rma
from analysis.review.bias_suite import bias_suite, distinct_fitted, unreliable
from analysis.review.selections import turner_fda, turner_published

UNCORRECTED = "published, uncorrected"


def _pooled(trials: pd.DataFrame, method: str):
    return rma(trials["effect"].to_numpy(float), trials["se"].to_numpy(float) ** 2, method=method)


def score(published: pd.DataFrame, truth: float, method: str) -> pd.DataFrame:
    """Each method's estimate from the published trials, its error against ``truth``, and
    whether its CI covers the truth. The uncorrected pooled estimate is the first row."""
    model = _pooled(published, method)
    first = {"method": UNCORRECTED, "estimate": model.estimate, "ci_low": float(model.ci_low[0]),
             "ci_high": float(model.ci_high[0]), "note": f"{model.method}, k = {model.k}"}
    table = pd.concat([pd.DataFrame([first]), bias_suite(model)], ignore_index=True)
    table["error"] = table["estimate"] - truth
    table["abs_error"] = table["error"].abs()
    table["covers_truth"] = (table["ci_low"] <= truth) & (truth <= table["ci_high"])
    table["removed_pct"] = 100 * (model.estimate - table["estimate"]) / (model.estimate - truth)
    return table


def methods_against_truth(rows: pd.DataFrame, method: str = "REML", min_k: int = 6, name: str = "turner") -> dict:
    """Score every method on all published trials and on each drug with at least ``min_k``
    published trials.

    Returns
    -------
    dict
        ``truth`` (pooled FDA estimate of all trials, same method), ``truth_ci`` (low, high),
        ``overall`` (:func:`score` table), ``by_drug`` (long table with ``drug``, ``truth``,
        ``k_published`` and the score columns), ``ranking`` (methods by mean absolute error over the
        overall analysis and the drugs, fewest failures first), ``closest`` (the method of smallest
        absolute error overall, corrections only).
    """
    fda, published = turner_fda(rows, name=name), turner_published(rows, name=name)
    drugs_all = rows["Drug"].str.strip().to_numpy()
    drugs_pub = rows.loc[rows["Published"] == 1, "Drug"].str.strip().to_numpy()
    truth_model = _pooled(fda, method)
    truth = truth_model.estimate
    overall = score(published, truth, method)
    parts = []
    for drug in sorted(set(drugs_pub)):
        sel = drugs_pub == drug
        if sel.sum() < min_k:
            continue
        drug_truth = _pooled(fda[drugs_all == drug], method).estimate
        part = score(published[sel].reset_index(drop=True), drug_truth, method)
        parts.append(part.assign(drug=drug, truth=drug_truth, k_published=int(sel.sum())))
    by_drug = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    everything = pd.concat([overall.assign(drug="all drugs"), by_drug], ignore_index=True)
    ranking = (everything.groupby("method")
               .agg(mean_abs_error=("abs_error", "mean"), failures=("estimate", lambda s: int(s.isna().sum())),
                    analyses=("estimate", "size"), covered=("covers_truth", "sum"))
               .sort_values(["failures", "mean_abs_error"]).reset_index())
    corrections = distinct_fitted(overall[overall["method"] != UNCORRECTED], reliable_only=False)
    closest = corrections.loc[corrections["abs_error"].idxmin(), "method"] if len(corrections) else None
    return {"truth": truth, "truth_ci": (float(truth_model.ci_low[0]), float(truth_model.ci_high[0])),
            "overall": overall, "by_drug": by_drug, "ranking": ranking, "closest": closest,
            "k_fda": truth_model.k, "k_published": len(published)}


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The scored methods as a reader's table: estimate (95% CI), error, coverage and note."""
    from analysis.review.wording import estimate_with_ci

    return pd.DataFrame({
        "method": table["method"],
        "g (95% CI)": [estimate_with_ci(e, lo, hi) for e, lo, hi in zip(table["estimate"], table["ci_low"], table["ci_high"])],
        "error": ["—" if e != e else f"{e:+.2f}" for e in table["error"]],
        "CI covers the FDA estimate": ["—" if e != e else ("yes" if c else "no")
                                       for e, c in zip(table["estimate"], table["covers_truth"])],
        "note": table["note"].fillna(""),
    })


def truth_summary(overall: pd.DataFrame, tolerance: float = 0.05) -> dict:
    """Counts over the bias-correction methods scored in ``overall`` (:func:`score`; the uncorrected
    estimate, its first row, excluded; each estimate once, as :func:`~analysis.review.bias_suite.distinct_fitted`): ``n_fitted``, ``n_cover`` (CI includes the truth),
    ``n_closer`` (closer to the truth than the uncorrected estimate), ``n_within`` (within
    ``tolerance``), ``not_fitted`` and ``sparse`` (joined names, or "none": the selection models
    the chapters set aside as :func:`~analysis.review.bias_suite.unreliable`, scored here all the same)."""
    uncorrected, methods = overall.iloc[0], overall.iloc[1:]
    fitted = distinct_fitted(methods, reliable_only=False)  # scored against the truth: sparse models too
    return {
        "n_fitted": int(len(fitted)),
        "n_cover": int(fitted["covers_truth"].sum()),
        "n_closer": int((fitted["abs_error"] < uncorrected["abs_error"]).sum()),
        "n_within": int((fitted["abs_error"] <= tolerance).sum()),
        "not_fitted": ", ".join(methods.loc[methods["estimate"].isna(), "method"]) or "none",
        "sparse": ", ".join(unreliable(methods)["method"]) or "none",
    }
