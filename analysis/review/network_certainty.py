"""Certainty of each network estimate against the reference, by stated rules in the spirit of CINeMA.

CINeMA (Nikolakopoulou et al., 2020) judges six domains for every network estimate. Each rule
here returns ``(downgrade, reason)`` like :mod:`analysis.review.grade_rules`, and the certainty is
high minus the downgrades (:func:`analysis.review.grade.certainty`), one rule per domain:

- within-study bias: the release holds no risk-of-bias assessment, so the domain is not assessed
  by rule and does not lower the rating; every rating is therefore an upper bound.
- reporting bias: with at least 10 placebo-controlled trials of the drug, Peters' test on them
  (p < 0.10: one level), the project's rule for small-study effects; with fewer, not assessable.
  Peters' test (log odds ratio on 1/n) replaced Egger's when the rule was amended: Egger's test
  on log odds ratios rejects too often, since a log odds ratio and its SE are correlated without
  any bias (Peters et al., 2006; Sterne et al., 2011).
- indirectness: none by design: every trial randomised adults with major depression to the drugs
  and placebo the question is about (the release's inclusion criteria).
- imprecision: the review's one minimal important difference, a risk ratio of
  :data:`analysis.review.grade_rules.MID` ``["RR"]``, turned into an odds ratio at the median
  risk on placebo; one level for each threshold (important benefit, important harm) that the 95%
  CI straddles, as :func:`analysis.review.grade_rules.imprecision`.
- heterogeneity: the thresholds (important harm, no effect, important benefit) that the 95%
  prediction interval crosses and the CI does not: one crossed, one level; two or more, two.
- incoherence: the node-split of the comparison when it has both direct and indirect evidence
  (p < 0.05: one level, p < 0.01: two); otherwise the design-by-treatment test of the whole
  network (random-effects Wald, p < 0.05: one level).

References
----------
Peters, J. L., Sutton, A. J., Jones, D. R., Abrams, K. R., & Rushton, L. (2006). Comparison of two
methods to detect publication bias in meta-analysis. *JAMA*, 295, 676-680.
Sterne, J. A. C., et al. (2011). Recommendations for examining and interpreting funnel plot
asymmetry in meta-analyses of randomised controlled trials. *BMJ*, 343, d4002.
Nikolakopoulou, A., Higgins, J. P. T., Papakonstantinou, T., et al. (2020). CINeMA: an approach
for assessing confidence in the results of a network meta-analysis. *PLoS Medicine*, 17, e1003082.
Papakonstantinou, T., Nikolakopoulou, A., Higgins, J. P. T., Egger, M., & Salanti, G. (2020).
CINeMA: software for semiautomated assessment of the confidence in the results of network
meta-analysis. *Campbell Systematic Reviews*, 16, e1080.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.meta.regtest import peters
from analysis.review.grade import certainty
from analysis.review.grade_rules import MID
from analysis.review.wording import format_p

DOMAINS = ("within_study_bias", "reporting_bias", "indirectness", "imprecision", "heterogeneity", "incoherence")
DOMAIN_NAMES = {"within_study_bias": "Within-study bias", "reporting_bias": "Reporting bias",
                "indirectness": "Indirectness", "imprecision": "Imprecision", "heterogeneity": "Heterogeneity",
                "incoherence": "Incoherence"}


def odds_ratio_mid(rr_mid: float, control_risk: float) -> float:
    """The odds ratio that a risk ratio ``rr_mid`` is at ``control_risk``: p1 = rr p0, OR = odds(p1) / odds(p0)."""
    p1 = rr_mid * control_risk
    if not 0 < control_risk < 1 or p1 >= 1:
        raise ValueError(f"a risk ratio of {rr_mid} cannot hold at a control risk of {control_risk}")
    return (p1 / (1 - p1)) / (control_risk / (1 - control_risk))


def reference_risk(data, arms: pd.DataFrame) -> float:
    """The median, over the trials in ``data``, of the reference arms' event risk (``arms``:
    study, treatment, events, n, as :func:`analysis.review.network.network_arms`)."""
    ref = data.treatments[0]
    on = arms[(arms["treatment"] == ref) & arms["study"].isin(set(data.study)) & arms[["events", "n"]].notna().all(axis=1)]
    risk = on.groupby("study")["events"].sum() / on.groupby("study")["n"].sum()
    return float(risk.median())


SMALL_STUDY_MIN_TRIALS = 10   # placebo-controlled trials of a drug needed for Peters' test (the project's rule)
SMALL_STUDY_P = 0.10          # Peters' test: some concerns below this
SPLIT_MAJOR = 0.01      # node-split: major concerns below this (some concerns below ``alpha``)


def _p(p: float) -> str:
    """A p-value to two significant figures, so that it is never printed on the wrong side of a cut-off."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def trial_sizes(data, arms: pd.DataFrame) -> np.ndarray:
    """The number randomised to the two arms of each contrast of ``data`` (arms of one treatment in a
    trial summed, as the network merges them), from the outcome's arms."""
    n = arms.groupby(["study", "treatment"])["n"].sum()
    return np.array([n[(s, a)] + n[(s, b)] for s, a, b in zip(data.study, data.treat1, data.treat2)], dtype=float)


def funnel_asymmetry(fit, arms: pd.DataFrame) -> dict:
    """Peters' test on the comparison-adjusted funnel plot's contrasts against the reference
    (:meth:`analysis.meta.nma.NetworkFit.funnel`, oriented as each trial's drug against placebo):
    the deviations from the network estimates regressed on 1/n, as :func:`reporting_bias` does for
    one drug. ``k``, ``bias`` (the slope on 1/n: positive when smaller trials deviate upwards) and
    ``p``; NaN below :data:`SMALL_STUDY_MIN_TRIALS` contrasts."""
    data = fit.data
    points = fit.funnel()
    sel = data.treat2 == data.treatments[0]
    k = int(sel.sum())
    if k < SMALL_STUDY_MIN_TRIALS:
        return {"k": k, "bias": float("nan"), "p": float("nan")}
    test = peters(points["deviation"].to_numpy()[sel], data.vi[sel], trial_sizes(data, arms)[sel])
    return {"k": k, "bias": test["bias"], "p": test["p"]}


def reporting_bias(data, drug: str, sizes: np.ndarray) -> tuple[int, str]:
    """Peters' test on the drug's placebo-controlled trials (``sizes``: :func:`trial_sizes`)."""
    ref = data.treatments[0]
    sel = (data.treat1 == drug) & (data.treat2 == ref)
    k = int(sel.sum())
    if k < SMALL_STUDY_MIN_TRIALS:
        return 0, (f"{k} placebo-controlled trials: too few to test for small-study effects (fewer than "
                   f"{SMALL_STUDY_MIN_TRIALS})")
    p = peters(data.yi[sel], data.vi[sel], sizes[sel])["p"]
    text = f"Peters' test on {k} placebo-controlled trials, {_p(p)}"
    return (-1, text + f" (< {SMALL_STUDY_P:g})") if p < SMALL_STUDY_P else (0, text)


def thresholds(rr_mid: float, control_risk: float, larger_is_better: bool = True) -> dict:
    """Important benefit, no effect and important harm as odds ratios at ``control_risk``: the risk
    ratios ``rr_mid`` and ``1 / rr_mid`` (the review's MID and its mirror, as in the GRADE rules)
    each turned into an odds ratio; the benefit is the larger risk when more events are better."""
    up, down = odds_ratio_mid(rr_mid, control_risk), odds_ratio_mid(1 / rr_mid, control_risk)
    benefit, harm = (up, down) if larger_is_better else (down, up)
    return {"an important benefit": benefit, "no effect": 1.0, "an important harm": harm}


def imprecision(low: float, high: float, marks: dict) -> tuple[int, str]:
    crossed = [f"{name} (OR {t:.2f})" for name, t in marks.items() if name != "no effect" and low < t < high]
    if len(crossed) == 2:
        return -2, f"the 95% CI straddles both {crossed[0]} and {crossed[1]}"
    if crossed:
        return -1, f"the 95% CI straddles {crossed[0]}"
    return 0, (f"the 95% CI straddles neither OR {marks['an important benefit']:.2f} nor OR "
               f"{marks['an important harm']:.2f}")


def heterogeneity(low: float, high: float, pi_low: float, pi_high: float, marks: dict) -> tuple[int, str]:
    added = [name for name, t in marks.items() if pi_low < t < pi_high and not low < t < high]
    if not added:
        return 0, "the 95% prediction interval crosses no threshold that the CI does not"
    text = "the 95% prediction interval, unlike the CI, crosses " + " and ".join(added)
    return (-1 if len(added) == 1 else -2), text


def incoherence(split: pd.DataFrame, drug: str, reference: str, dbt, alpha: float = 0.05) -> tuple[int, str]:
    row = split[(split["treat1"] == drug) & (split["treat2"] == reference)] if len(split) else split
    if len(row):
        p = float(row["p"].iloc[0])
        text = f"direct and indirect evidence differ by node-splitting with {_p(p)}"
        return (-2 if p < SPLIT_MAJOR else -1 if p < alpha else 0), text
    if dbt.df == 0 or np.isnan(dbt.p):
        return 0, "no node-split, and no global test of the network with random effects"
    text = f"no node-split for this comparison; the design-by-treatment test {_p(dbt.p)}"
    return (-1 if dbt.p < alpha else 0), text


def network_certainty(analysis: dict, arms: pd.DataFrame, rr_mid: float = MID["RR"], alpha: float = 0.05) -> pd.DataFrame:
    """Every treatment against the reference, for an outcome fitted by
    :func:`analysis.review.network.network_analysis` (odds ratios, with its coherence checks);
    ``arms`` are that outcome's :func:`analysis.review.network.network_arms`; ``alpha`` is the
    level at which a node-split or the design-by-treatment test raises some concerns.

    Returns
    -------
    DataFrame
        ``treatment``, ``or``, ``ci_low``, ``ci_high``, then for each domain of :data:`DOMAINS`
        its downgrade and ``<domain>_reason``, ``certainty``, ``direct_studies`` (placebo-controlled
        trials of the drug); ``rr_mid``, ``control_risk``, ``benefit_or`` and ``harm_or`` (the same in
        every row).
    """
    data, vs = analysis["data"], analysis["vs_reference"]
    ref = data.treatments[0]
    better = analysis["larger_is_better"]
    risk = reference_risk(data, arms)
    marks = thresholds(rr_mid, risk, better)
    sizes = trial_sizes(data, arms)
    rows = []
    for r in vs.itertuples():
        judged = {
            "within_study_bias": (0, "no risk-of-bias assessment in the release; not assessed by rule"),
            "reporting_bias": reporting_bias(data, r.treatment, sizes),
            "indirectness": (0, "adults with major depression randomised to the drug or placebo, as asked"),
            "imprecision": imprecision(r.ci_low, r.ci_high, marks),
            "heterogeneity": heterogeneity(r.ci_low, r.ci_high, r.pi_low, r.pi_high, marks),
            "incoherence": incoherence(analysis["node_split"], r.treatment, ref, analysis["design_by_treatment"], alpha),
        }
        row = {"treatment": r.treatment, "or": vs.loc[r.Index, "or"], "ci_low": r.ci_low, "ci_high": r.ci_high,
               "direct_studies": r.direct_studies}
        for domain, (down, reason) in judged.items():
            row[domain], row[f"{domain}_reason"] = down, reason
        row["certainty"] = certainty({d: {"downgrade": judged[d][0]} for d in DOMAINS})
        rows.append(row)
    out = pd.DataFrame(rows)
    out["rr_mid"], out["control_risk"] = rr_mid, risk
    out["benefit_or"], out["harm_or"] = marks["an important benefit"], marks["an important harm"]
    return out


CONCERNS = {0: "no concerns", -1: "some concerns", -2: "major concerns"}


def certainty_table(table: pd.DataFrame, estimate_column: str = "OR vs placebo (95% CI)") -> pd.DataFrame:
    """:func:`network_certainty` as the chapters show it: the concern in each domain that varies
    by drug, the certainty, and the reasons for every downgrade."""
    from analysis.review.wording import estimate_with_ci

    shown = ("reporting_bias", "imprecision", "heterogeneity", "incoherence")
    out = pd.DataFrame({"Drug": table["treatment"],
                        estimate_column: [estimate_with_ci(r.or_, r.ci_low, r.ci_high)
                                          for r in table.rename(columns={"or": "or_"}).itertuples()]})
    for domain in shown:
        out[DOMAIN_NAMES[domain]] = table[domain].map(CONCERNS)
    out["Certainty"] = table["certainty"]
    out["Reasons for downgrading"] = [
        "; ".join(f"{DOMAIN_NAMES[d].lower()}: {row[f'{d}_reason']}" for d in DOMAINS if row[d] < 0) or "none"
        for _, row in table.iterrows()]
    return out


def certainty_counts(table: pd.DataFrame) -> str:
    """How many estimates reach each level, highest first: "9 moderate, 10 low and 2 very low"."""
    from analysis.review.wording import listing

    counts = table["certainty"].value_counts()
    parts = [f"{int(counts[level]):,} {level}" for level in ("high", "moderate", "low", "very low") if level in counts]
    return listing(parts)


def certainty_by_outcome(arms: pd.DataFrame, reference: str = "placebo", method: str = "REML",
                         outcomes=("response", "dropout"), alpha: float = 0.05) -> dict:
    """:func:`network_certainty` of each outcome, from the GRISELDA arms: the one computation the
    network chapter and the Summary of Findings show."""
    from analysis.review.network import network_analysis, network_arms

    return {o: network_certainty(network_analysis(arms, o, reference=reference, method=method), network_arms(arms, o),
                                 alpha=alpha)
            for o in outcomes}


def per_thousand(odds_ratio, control_risk: float):
    """Events per 1,000 on the drug at ``control_risk`` on placebo: p1 = OR o0 / (1 + OR o0), o0 the
    placebo odds (the Cochrane Handbook's conversion of an odds ratio to an absolute risk)."""
    odds = np.asarray(odds_ratio, dtype=float) * control_risk / (1 - control_risk)
    return 1000 * odds / (1 + odds)


def wholly_indirect(table: pd.DataFrame) -> str:
    """The drugs of :func:`network_certainty` without a placebo-controlled trial, or "none"."""
    from analysis.review.wording import listing

    names = table.loc[table["direct_studies"] == 0, "treatment"].tolist()
    return listing(names) if names else "none"


def summary_table(tables: dict) -> pd.DataFrame:
    """Response and all-cause dropout side by side, one row per drug (in the order of the response
    table), each with its OR (95% CI), the events per 1,000 on the drug at the median placebo risk
    (:func:`per_thousand`) and its certainty: the Summary of Findings' network rows."""
    from analysis.review.wording import estimate_with_ci

    def part(table, name):
        p0 = float(table["control_risk"].iloc[0])
        a, lo, hi = (per_thousand(table[c], p0) for c in ("or", "ci_low", "ci_high"))
        return pd.DataFrame({
            "Drug": table["treatment"],
            f"{name}: OR vs placebo (95% CI)": [estimate_with_ci(o, low, high) for o, low, high in
                                                zip(table["or"], table["ci_low"], table["ci_high"])],
            f"{name} per 1,000 (placebo {1000 * p0:.0f})": [f"{x:.0f} ({y:.0f} to {z:.0f})" for x, y, z in zip(a, lo, hi)],
            f"{name}: certainty": table["certainty"]})

    response, dropout = part(tables["response"], "Response"), part(tables["dropout"], "Dropout")
    both = response.merge(dropout, on="Drug", how="left")
    only_dropout = dropout[~dropout["Drug"].isin(response["Drug"])]
    return pd.concat([both, only_dropout], ignore_index=True).fillna("not in the network")
