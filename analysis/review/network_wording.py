"""Words about a network meta-analysis, each a tested function of its numbers."""

from __future__ import annotations

import math

import numpy as np

import pandas as pd
from scipy import stats

from analysis.review.scales import scale_name, study_label
from analysis.review.wording import count_of, counted, fixed, fixed_with_ci, format_p, listing


def against_reference(vs: pd.DataFrame, larger_is_better: bool, outcome_words: str, reference: str = "placebo") -> str:
    """How many treatments the 95% CIs place on each side of the reference.

    ``vs`` is :func:`analysis.review.network.versus_reference`; ``outcome_words`` names the
    outcome ("odds of response"). Example: "All 21 drugs had higher odds of response than
    placebo (every 95% CI above 1)".
    """
    n = len(vs)
    above, below = int((vs["ci_low"] > 1).sum()), int((vs["ci_high"] < 1).sum())
    unclear = n - above - below
    if above == n:
        return f"All {n} drugs had higher {outcome_words} than {reference} (every 95% CI above 1)"
    if below == n:
        return f"All {n} drugs had lower {outcome_words} than {reference} (every 95% CI below 1)"
    parts = []
    if above:
        parts.append(f"{count_of(above, n, 'drugs', ('has', 'have'))} higher {outcome_words} than {reference}")
    if below:
        parts.append(f"{count_of(below, n, 'drugs', ('has', 'have'))} lower {outcome_words} than {reference}")
    if unclear:
        parts.append(f"for {counted(unclear, 'drug')} the 95% CI includes 1 (no clear difference from {reference})")
    head = "; ".join(parts)
    return head[0].upper() + head[1:]


def range_of_effects(vs: pd.DataFrame) -> str:
    """``from OR 1.34 (reboxetine) to 2.10 (amitriptyline)``: the lowest and highest point estimates."""
    lo, hi = vs.loc[vs["or"].idxmin()], vs.loc[vs["or"].idxmax()]
    return f"from OR {lo['or']:.2f} ({lo['treatment']}) to {hi['or']:.2f} ({hi['treatment']})"


def best_by_pscore(vs: pd.DataFrame, top: int = 3) -> str:
    """The ``top`` treatments by P-score with their P-scores, best first (``vs`` is sorted by P-score)."""
    head = vs.nlargest(top, "pscore")
    return listing([f"{r.treatment} ({r.pscore:.2f})" for r in head.itertuples()])


def ranking_certainty(vs: pd.DataFrame, league: pd.DataFrame, ratio: bool = True) -> str:
    """Whether the best-ranked treatment is distinguishable from the next, by the CI of their direct
    contrast in the network (``league``: :meth:`analysis.meta.nma.NetworkFit.league`), not by the
    overlap of their intervals against the reference, which is no test of their difference."""
    if len(vs) < 2:
        return "there is one treatment, so nothing to rank"
    first, second = vs.nlargest(2, "pscore")["treatment"].tolist()
    row = league[((league["treat1"] == first) & (league["treat2"] == second))
                 | ((league["treat1"] == second) & (league["treat2"] == first))].iloc[0]
    sign = 1 if row["treat1"] == first else -1
    est = sign * row["estimate"]
    low, high = sorted([sign * row["ci_low"], sign * row["ci_high"]])
    shown = (f"OR {math.exp(est):.2f}, 95% CI {math.exp(low):.2f} to {math.exp(high):.2f}" if ratio
             else f"difference {fixed(est, 2)}, 95% CI {fixed(low, 2)} to {fixed(high, 2)}")
    if low > 0 or high < 0:
        return f"{first} is ahead of {second} in the network's direct contrast of the two ({shown})"
    return (f"the network's contrast of {first} with {second} does not tell them apart ({shown}), so the "
            "order of the top ranks is uncertain")


def coherence(dbt, alpha: float = 0.05) -> str:
    """The design-by-treatment test in words: "finds evidence of incoherence (Q = ..., df ..., p ...)"."""
    if dbt.df == 0:
        return "cannot be computed: no design is checked by the rest of the network"
    if math.isnan(dbt.p):
        verdict = "finds evidence of incoherence" if dbt.p_fixed < alpha else "does not find evidence of incoherence"
        return (f"{verdict} under common effects (Q = {dbt.q_fixed:.1f}, df {dbt.df}, p {format_p(dbt.p_fixed)}); "
                "with random effects it cannot be computed, since the inconsistency model fits every contrast")
    verdict = "finds evidence of incoherence" if dbt.p < alpha else "does not find evidence of incoherence"
    return f"{verdict} (Q = {dbt.q:.1f}, df {dbt.df}, p {format_p(dbt.p)})"


def split_summary(splits: pd.DataFrame, alpha: float = 0.05) -> str:
    """How many node-split comparisons differ at ``alpha``, against the number expected by chance."""
    n = len(splits)
    if n == 0:
        return "no comparison has both direct and indirect evidence"
    k = int((splits["p"] < alpha).sum())
    expected = alpha * n
    chance = float(stats.binom.sf(k - 1, n, alpha))
    head = count_of(k, n, "comparisons with both direct and indirect evidence", ("shows", "show"))
    return (f"{head} a difference between them at p < {alpha:g}, against {expected:.1f} expected by chance "
            f"if the network were coherent (the chance of {k} or more would be {chance:.2f} were the tests "
            "independent; they are not, since the splits share studies)")


def heterogeneity(tau2: float, reference_scale: str = "log odds ratio", ratio: bool = True) -> str:
    """tau and what it means for the trials' true effects: with ``ratio``, the factor exp(1.96 tau)
    within which about 95% of them lie around the network's odds ratio; otherwise 1.96 tau, in the
    units of ``reference_scale``, around its mean difference."""
    tau = math.sqrt(tau2)
    head = f"tau² = {tau2:.3f} (tau = {tau:.2f} on the {reference_scale} scale): "
    if ratio:
        return head + (f"about 95% of trials' true odds ratios lie within a factor of {math.exp(1.959964 * tau):.2f} "
                       "of the network's")
    return head + (f"about 95% of trials' true mean differences lie within {1.959964 * tau:.1f} {reference_scale} "
                   "of the network's")


def coherence_overall(dbt, qdec, alpha: float = 0.05, tau2_consistency: float | None = None) -> str:
    """The global checks at once, so that no one of them is quoted alone: the random-effects Wald
    test of the design-by-treatment model (the chapter's primary check), the between-design Q
    under common effects (Krahn et al., 2013) and the likelihood-ratio test of the two models fitted
    by ML, which is left out, with the reason, when ML puts the inconsistency model's tau² at 0 (it
    would then compare a common-effect with a random-effects model). With ``tau2_consistency``,
    tau² of the consistency model beside that of the inconsistency model (REML)."""
    if dbt.df == 0:
        return coherence(dbt, alpha)
    lrt_usable = getattr(dbt, "tau2_ml", np.nan) > 0
    checks = [("the random-effects Wald test", dbt.p, f"Q = {dbt.q:.1f}, df {dbt.df}, p "),
              ("the between-design Q under common effects", qdec.p_between,
               f"Q = {qdec.q_between:.1f}, df {qdec.df_between}, p ")]
    if lrt_usable:
        checks.append(("the likelihood-ratio test", dbt.p_lrt, f"chi² = {dbt.lrt:.1f}, df {dbt.df}, p "))
    tests = [(name, p, detail + format_p(p)) for name, p, detail in checks if not math.isnan(p)]
    finds = [f"{name} ({detail})" for name, p, detail in tests if p < alpha]
    not_finds = [f"{name} ({detail})" for name, p, detail in tests if p >= alpha]
    if not finds:
        text = f"no global check finds evidence of incoherence at p < {alpha:g}: " + listing(not_finds)
    elif not not_finds:
        text = f"every global check finds evidence of incoherence at p < {alpha:g}: " + listing(finds)
    else:
        text = (f"the checks disagree: {listing(finds)} {'finds' if len(finds) == 1 else 'find'} evidence of "
                f"incoherence at p < {alpha:g}, {listing(not_finds)} {'does' if len(not_finds) == 1 else 'do'} "
                "not; a common-effect test counts the heterogeneity between trials of one design as "
                "differences between designs, the random-effects test does not")
    if not lrt_usable and not math.isnan(getattr(dbt, "p_lrt", np.nan)):
        text += ("; the likelihood-ratio test is not used, since fitted by ML the inconsistency model's tau² is 0 "
                 "and the test would compare a common-effect with a random-effects model")
    if tau2_consistency is not None and not math.isnan(dbt.tau2):
        text += (f"; fitted by REML, tau² is {tau2_consistency:.3f} in the consistency model and {dbt.tau2:.3f} "
                 "in the inconsistency model")
    return text


def count_of_verdicts(comparison: pd.DataFrame) -> str:
    """``4 of the 5 published odds ratios are reproduced; 1 is further away but within the re-derived
    95% CI``, then how many published conclusions (the interval's side of 1) the re-derived interval
    does not share, with the drugs."""
    n = len(comparison)
    counts = comparison["verdict"].value_counts()
    parts = [count_of(int(counts.get("reproduced", 0)), n, "published odds ratios", ("is", "are")) + " reproduced"]
    for verdict, words in (("within the interval", "further away but within the re-derived 95% CI"),
                           ("differs", "outside the re-derived 95% CI"),
                           ("not in the network", "of a treatment not in the network")):
        k = int(counts.get(verdict, 0))
        if k:
            parts.append(f"{k:,} {'is' if k == 1 else 'are'} {words}")
    compared = comparison[comparison["same_conclusion"].notna()]
    differ = compared[~compared["same_conclusion"].astype(bool)]
    if len(differ):
        names = listing([f"{r.treatment} ({r.outcome})" for r in differ.itertuples()])
        parts.append(f"the published conclusion (whether the interval excludes an odds ratio of 1, and on which "
                     f"side) is not reproduced for {names}")
    else:
        parts.append("every published conclusion (whether the interval excludes an odds ratio of 1, and on which "
                     "side) is reproduced")
    return "; ".join(parts)


def quoted(comparison: pd.DataFrame) -> str:
    """Each distinct published quote once, in quotation marks with its location."""
    seen = comparison.drop_duplicates("quote")
    return " ".join(f"“{r.quote}” ({r.location})." for r in seen.itertuples())


def interval_widths(comparison: pd.DataFrame) -> str:
    """How many re-derived 95% CIs are narrower than the published credible intervals (on the log scale)."""
    usable = comparison.dropna(subset=["ci_low", "ci_high"])
    ours = np.log(usable["ci_high"]) - np.log(usable["ci_low"])
    theirs = np.log(usable["published_high"]) - np.log(usable["published_low"])
    narrower = int((ours < theirs).sum())
    return count_of(narrower, len(usable), "re-derived 95% CIs", ("is", "are")) + " narrower than the published interval"


def sensitivity_shift(moved: dict) -> str:
    """:func:`analysis.review.network.shift` in words."""
    ratio = moved["max_ratio"]
    way = "higher" if ratio > 1 else "lower"
    return (f"the odds ratio that moves most is {moved['drug']}'s, {abs(ratio - 1) * 100:.0f} per cent {way} "
            f"without the imputed trials, and the rank correlation of the P-scores of the "
            f"{moved['n']} drugs is {moved['spearman']:.2f}")


def against_mid_counts(vs: pd.DataFrame, mid: float) -> str:
    """How many drugs' mean differences lie beyond, may reach, or fall short of the MID (see
    :func:`analysis.review.network.against_mid`), and the largest difference."""
    from analysis.review.network import against_mid

    verdicts = pd.Series([against_mid(r.md, r.ci_low, r.ci_high, mid) for r in vs.itertuples()])
    short = int((verdicts == "smaller than the MID").sum())
    n = len(vs)
    best = vs.loc[vs["md"].idxmin()]
    parts = ["by its 95% CI, " + count_of(int((verdicts == "beyond the MID").sum()), n, "drugs", ("is", "are"))
             + f" beyond the {mid:g}-point minimal important difference (MID)",
             f"{int((verdicts == 'may reach the MID').sum()):,} may reach the MID",
             f"{short:,} {'is' if short == 1 else 'are'} smaller than the MID"]
    return "; ".join(parts) + f"; the largest difference is {best['treatment']}'s, {fixed(best['md'])} points"


def effect_modifier(row, outcome_words: str = "odds ratio of response against placebo") -> str:
    """One meta-regression (a row of :func:`analysis.review.network_regression.network_regressions`)
    in words: whether the ``outcome_words`` rise or fall with the covariate, by the slope's 95% CI
    (on the log scale, so a ratio of odds ratios per ``per``), and the share of tau² it accounts for."""
    ratio, low, high = math.exp(row["slope"]), math.exp(row["ci_low"]), math.exp(row["ci_high"])
    detail = f"ratio of odds ratios {ratio:.3f} per {row['per']}, 95% CI {low:.3f} to {high:.3f}"
    if row["ci_low"] > 0:
        head = f"the {outcome_words} is larger {row['more']}"
    elif row["ci_high"] < 0:
        head = f"the {outcome_words} is smaller {row['more']}"
    else:
        head = f"the {outcome_words} shows no clear change with the {row['label']}"
    share = (row["tau2_base"] - row["tau2"]) / row["tau2_base"] if row["tau2_base"] > 0 else 0.0
    tail = (f"; it accounts for {100 * share:.0f}% of the heterogeneity variance" if share > 0
            else "; it accounts for none of the heterogeneity variance")
    return f"{head} ({detail}){tail}"


def funnel_asymmetry(test: dict, larger_is_better: bool, alpha: float, reference: str = "placebo") -> str:
    """The comparison-adjusted funnel plot in words, from
    :func:`analysis.review.network_certainty.funnel_asymmetry`: whether smaller trials deviate
    towards the drugs (Peters' test below ``alpha``) or show no clear asymmetry."""
    if not test["k"] or math.isnan(test["p"]):
        return f"with {counted(test['k'], 'contrast')} against {reference}, too few to test the funnel for asymmetry"
    head = f"Peters' test on the {counted(test['k'], 'contrast')} against {reference} gives p {format_p(test['p'])}"
    if test["p"] >= alpha:
        return head + ": no clear sign that smaller trials deviate from the network estimates in either direction"
    towards = (test["bias"] > 0) == larger_is_better
    side = "the drugs" if towards else reference
    return head + f": smaller trials deviate from the network estimates towards {side}, as small-study effects would"


def published_coverage(comparison: pd.DataFrame, analyses: dict) -> str:
    """Which drugs' published odds ratios the book can compare, per outcome: "for response, 2 of the
    21 drugs (amitriptyline and reboxetine); for dropout, 3 of the 21 drugs (...)"."""
    parts = []
    for outcome, a in analyses.items():
        drugs = len(a["data"].treatments) - 1
        named = comparison.loc[comparison["outcome"] == outcome, "treatment"].tolist()
        head = "none" if not named else f"{len(named):,}"
        parts.append(f"for {outcome}, {head} of the {drugs:,} drugs" + (f" ({listing(named)})" if named else ""))
    return "; ".join(parts)


def hamd_versions(arms: pd.DataFrame, data, mixed: pd.DataFrame | None = None) -> str:
    """The versions of the HAM-D that the arms of the HAM-D network ``data`` are rated on, each
    named by :func:`analysis.review.scales.scale_name` with its trials, most first, so that the
    counts add up to the network's trials; then the trials whose arms were rated on more than one
    version (``mixed``: :func:`analysis.review.scales.one_version_per_trial`), by
    :func:`~analysis.review.scales.study_label`, with what was kept of each: "HAM-D, 17 items: 192
    trials; ...; rated on more than one version, left out where no version rates most of their
    arms: Kramer 1998 (HAM-D, 21 items and HAM-D, 24 items; left out)". Semicolons separate the
    versions, whose names hold a comma; one bracket at most, never nested."""
    in_network = set(zip(data.study, data.treat1)) | set(zip(data.study, data.treat2))
    study = arms["StudyID"].str.strip()
    arm_in = pd.Series([(s, t) in in_network for s, t in zip(study, arms["drug_base"])], index=arms.index)
    keep = arm_in & arms["scale"].str.startswith("HAMD")
    versions = arms["scale"][keep].groupby(study[keep]).agg(lambda v: tuple(sorted(set(v))))
    single = versions[versions.map(len) == 1].map(lambda v: v[0])
    counts = single.groupby(single).size().sort_values(ascending=False, kind="stable")
    items = [f"{scale_name(scale)}: {counted(int(n), 'trial')}" for scale, n in counts.items()]
    if mixed is not None and len(mixed):
        named = ", ".join(
            f"{study_label(r.study)} ({listing([scale_name(s) for s in r.versions])}; "
            + ("left out" if pd.isna(r.kept) else f"kept on the {scale_name(r.kept)}") + ")"
            for r in mixed.itertuples())
        items.append("rated on more than one version, left out where no version rates most of their arms: " + named)
    return "; ".join(items)
