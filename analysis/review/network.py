"""The network of antidepressants (Cipriani et al., 2018): arms per outcome, the fitted network,
each drug against placebo, and the published odds ratios beside the re-derived ones.

One computation per outcome: :func:`network_analysis` fits the network once and every table and
sentence of the chapter reads from its result.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.meta.conversions import combine_groups
from analysis.meta.nma import nma
from analysis.meta.nma_coherence import design_by_treatment, node_split, q_decomposition
from analysis.meta.nma_data import arm_contrasts
from analysis.review.errors import DataError, Problem
from analysis.review.scales import HAMD17, one_version_per_trial
from analysis.review.trials import LINE, read_rows
from analysis.review.shared import shared

# outcome -> (column of the GRISELDA arms, whether more events are better)
NETWORK_OUTCOMES = {"response": ("responders", True), "dropout": ("dropouts", False),
                    "remission": ("remitters", True), "hamd": ("endpoint_mean", False),
                    "hamd17": ("endpoint_mean", False)}
# the continuous outcome: HAM-D at endpoint (or its change, where the trial reported only that),
# completers with LOCF, in trials rated on a version of the HAM-D, so that a mean difference is in
# HAM-D points; its n is the number the mean was computed on. "hamd17" keeps the 17-item version
# only, the scale the minimal important difference is defined on (a sensitivity analysis).
CONTINUOUS = {"hamd": ("endpoint_mean", "endpoint_sd", "endpoint_n"),
              "hamd17": ("endpoint_mean", "endpoint_sd", "endpoint_n")}
PUBLISHED_COLUMNS = ("outcome", "treatment", "or", "ci_low", "ci_high", "source", "location", "quote")
#: The estimators the network is fitted by: REML or ML for the heterogeneity variance, or FE (a common effect).
NETWORK_METHODS = ("REML", "ML", "FE")


def imputed_trials(arms: pd.DataFrame) -> set:
    """Trials with at least one arm whose responders the GRISELDA authors imputed (``Responders_imputed`` = 1)."""
    return set(arms.loc[arms["responders_imputed"], "StudyID"].str.strip())


def network_arms(arms: pd.DataFrame, outcome: str = "response", drop_imputed: bool = False) -> pd.DataFrame:
    """The arms of one outcome as the network engine reads them: study, treatment, events, n.

    Parameters
    ----------
    arms : DataFrame
        From :func:`analysis.review.importers.cipriani.read_cipriani_arms`.
    outcome : {"response", "dropout", "remission"}
        Responders (with the authors' imputations), all-cause dropouts or remitters, each over the
        number randomised.
    drop_imputed : bool
        Leave out every trial with an arm whose responders were imputed (a sensitivity analysis).
    """
    if outcome not in NETWORK_OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(NETWORK_OUTCOMES)}")
    if outcome in CONTINUOUS:
        return _continuous_arms(arms, outcome, drop_imputed)
    column = NETWORK_OUTCOMES[outcome][0]
    out = pd.DataFrame({"study": arms["StudyID"].str.strip(), "treatment": arms["drug_base"],
                        "events": arms[column], "n": arms["n"]})
    if drop_imputed:
        out = out[~out["study"].isin(imputed_trials(arms))]
    return out.reset_index(drop=True)


def _continuous_arms(arms: pd.DataFrame, outcome: str, drop_imputed: bool) -> pd.DataFrame:
    """HAM-D arms (mean, sd, n), the arms of one drug within a trial combined into one group, each
    trial on one version of the scale (:func:`analysis.review.scales.one_version_per_trial`; the
    trials of more than one version are in ``attrs["mixed_versions"]``)."""
    mean, sd, n = CONTINUOUS[outcome]
    scale = arms["scale"] == HAMD17 if outcome == "hamd17" else arms["scale"].str.startswith("HAMD")
    sel = arms[scale & arms[[mean, sd, n]].notna().all(axis=1)]
    keep, mixed = one_version_per_trial(sel["StudyID"], sel["scale"])  # no contrast across versions
    sel = sel[keep.to_numpy()]
    sel = pd.DataFrame({"study": sel["StudyID"].str.strip(), "treatment": sel["drug_base"],
                        "mean": sel[mean], "sd": sel[sd], "n": sel[n]})
    if drop_imputed:
        sel = sel[~sel["study"].isin(imputed_trials(arms))]
    rows = [(s, t, *combine_groups(g["n"], g["mean"], g["sd"]))
            for (s, t), g in sel.groupby(["study", "treatment"], sort=False)]
    out = pd.DataFrame(rows, columns=["study", "treatment", "n", "mean", "sd"])[["study", "treatment", "mean", "sd", "n"]]
    out.attrs["mixed_versions"] = mixed
    return out


@shared
def network_analysis(arms: pd.DataFrame, outcome: str = "response", reference: str = "placebo",
                     method: str = "REML", drop_imputed: bool = False, coherence: bool = True) -> dict:
    """Fit the random-effects network of one outcome and, with ``coherence``, its coherence checks.

    Returns
    -------
    dict
        ``data`` (:class:`~analysis.meta.nma_data.NetworkData`), ``fit``
        (:class:`~analysis.meta.nma.NetworkFit`), ``larger_is_better``, ``vs_reference`` (see
        :func:`versus_reference`) and, with ``coherence``, ``design_by_treatment``,
        ``q_decomposition`` and ``node_split``.
    """
    if method not in NETWORK_METHODS:
        raise DataError([Problem("parameters", None, "network.method",
                                 f"the network is fitted by REML, ML or FE (common effect), not {method!r}")])
    measure = "MD" if outcome in CONTINUOUS else "OR"
    chosen = network_arms(arms, outcome, drop_imputed)
    data = arm_contrasts(chosen, measure, reference=reference)
    fit = nma(data, model="fixed" if method == "FE" else "random", method="ML" if method == "FE" else method)
    better = NETWORK_OUTCOMES[outcome][1]
    out = {"outcome": outcome, "data": data, "fit": fit, "larger_is_better": better,
           "vs_reference": versus_reference(fit, better, ratio=measure == "OR"),
           "mixed_versions": chosen.attrs.get("mixed_versions", pd.DataFrame(columns=["study", "versions", "kept"]))}
    if coherence:
        out.update(design_by_treatment=design_by_treatment(data), q_decomposition=q_decomposition(data),
                   node_split=node_split(data, method="ML" if method == "FE" else method))
    return out


def direct_studies(data) -> pd.Series:
    """Studies in which each treatment meets the reference directly."""
    ref = data.treatments[0]
    both = pd.DataFrame({"study": data.study, "t": data.treat1})[data.treat2 == ref]
    return both.groupby("t")["study"].nunique().reindex(list(data.treatments[1:]), fill_value=0)


def versus_reference(fit, larger_is_better: bool = True, ratio: bool = True) -> pd.DataFrame:
    """Each treatment against the reference as an odds ratio (``ratio``; else a mean difference in
    column ``md``) with CI and prediction interval, its P-score, and the studies that compare it
    with the reference directly; by P-score."""
    league = fit.league()
    ref = fit.treatments[0]
    rows = league[league["treat2"] == ref].set_index("treat1")
    p = fit.pscores(larger_is_better)
    f = np.exp if ratio else np.asarray
    out = pd.DataFrame({
        "treatment": rows.index, "or" if ratio else "md": f(rows["estimate"]), "ci_low": f(rows["ci_low"]),
        "ci_high": f(rows["ci_high"]), "pi_low": f(rows["pi_low"]), "pi_high": f(rows["pi_high"]),
        "pscore": p.loc[rows.index].to_numpy(),
        "direct_studies": direct_studies(fit.data).loc[rows.index].to_numpy()})
    return out.sort_values("pscore", ascending=False, kind="stable").reset_index(drop=True)


def read_published(path) -> pd.DataFrame:
    """Published network estimates with their verbatim quote and location (one row per figure).

    Raises
    ------
    DataError
        A missing column, or an odds ratio or limit that is not a positive number, with file,
        line and column.
    """
    table = read_rows(path)
    missing = [c for c in PUBLISHED_COLUMNS if c not in table.columns]
    if missing:
        raise DataError([Problem(str(path), None, c, "column missing") for c in missing])
    problems = []
    for col in ("or", "ci_low", "ci_high"):
        values = pd.to_numeric(table[col], errors="coerce")
        for line in table.loc[~(values > 0), LINE]:
            problems.append(Problem(str(path), int(line), col, "must be a positive number"))
        table[col] = values
    if problems:
        raise DataError(problems)
    table["treatment"] = table["treatment"].str.strip().str.lower()
    return table


def reproduction(ours: float, low: float, high: float, published: float, tolerance: float) -> str:
    """Whether a published odds ratio is reproduced by the re-derived one.

    "reproduced" when the two differ by at most the ratio ``tolerance`` (e.g. 1.05: 5 per cent);
    "within the interval" when they differ by more but the published value lies inside the
    re-derived 95% CI; "differs" otherwise.
    """
    if not tolerance >= 1:
        raise ValueError("tolerance is a ratio >= 1")
    if abs(math.log(ours / published)) <= math.log(tolerance) + 1e-12:
        return "reproduced"
    return "within the interval" if low <= published <= high else "differs"


def side_of_one(low: float, high: float) -> str:
    """Where an odds ratio's interval lies: "above 1", "below 1" or "includes 1"."""
    return "above 1" if low > 1 else "below 1" if high < 1 else "includes 1"


def published_comparison(analyses: dict, published: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Every published odds ratio beside the re-derived one and the :func:`reproduction` verdict.

    ``analyses`` maps an outcome to its :func:`network_analysis`; published rows of other
    outcomes or of treatments not in the network are kept with an empty re-derived value.
    ``same_conclusion`` says whether the two intervals lie on the same side of 1 (both above,
    both below, or both including it): a value can be close and its conclusion still differ.
    """
    rows = []
    for _, pub in published.iterrows():
        vs = analyses.get(pub["outcome"], {}).get("vs_reference")
        mine = vs.set_index("treatment").loc[pub["treatment"]] if vs is not None and pub["treatment"] in set(
            vs["treatment"]) else None
        row = {"outcome": pub["outcome"], "treatment": pub["treatment"], "published_or": pub["or"],
               "published_low": pub["ci_low"], "published_high": pub["ci_high"],
               "or": np.nan, "ci_low": np.nan, "ci_high": np.nan, "ratio": np.nan, "verdict": "not in the network",
               "same_conclusion": np.nan,
               "location": pub["location"], "quote": pub["quote"]}
        if mine is not None:
            row.update({"or": mine["or"], "ci_low": mine["ci_low"], "ci_high": mine["ci_high"],
                        "ratio": mine["or"] / pub["or"],
                        "verdict": reproduction(mine["or"], mine["ci_low"], mine["ci_high"], pub["or"], tolerance),
                        "same_conclusion": side_of_one(pub["ci_low"], pub["ci_high"]) == side_of_one(
                            mine["ci_low"], mine["ci_high"])})
        rows.append(row)
    return pd.DataFrame(rows)


def versus_reference_table(vs: pd.DataFrame) -> pd.DataFrame:
    """:func:`versus_reference` as the chapter shows it: OR (95% CI), prediction interval, P-score, trials."""
    from analysis.review.wording import estimate_with_ci

    return pd.DataFrame({
        "Drug": vs["treatment"],
        "OR vs placebo (95% CI)": [estimate_with_ci(r.or_, r.ci_low, r.ci_high)
                                   for r in vs.rename(columns={"or": "or_"}).itertuples()],
        "95% prediction interval": [f"{lo:.2f} to {hi:.2f}" for lo, hi in zip(vs["pi_low"], vs["pi_high"])],
        "P-score": [f"{x:.2f}" for x in vs["pscore"]],
        "Trials vs placebo": vs["direct_studies"]})


def published_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """:func:`published_comparison` as the chapter shows it; the place each figure is published
    as a column only when they are not all in one place."""
    from analysis.review.wording import estimate_with_ci

    out = pd.DataFrame({
        "Outcome": comparison["outcome"], "Drug": comparison["treatment"],
        "Published OR (95% CrI)": [estimate_with_ci(r.published_or, r.published_low, r.published_high)
                                   for r in comparison.itertuples()],
        "Re-derived OR (95% CI)": [estimate_with_ci(r.or_, r.ci_low, r.ci_high)
                                   for r in comparison.rename(columns={"or": "or_"}).itertuples()],
        "Ratio": ["" if np.isnan(x) else f"{x:.3f}" for x in comparison["ratio"]], "Verdict": comparison["verdict"],
        "Published CI vs 1 / re-derived": [
            side_of_one(r.published_low, r.published_high) + (" / " + side_of_one(r.ci_low, r.ci_high)
                                                              if r.ci_low == r.ci_low else "")
            for r in comparison.itertuples()],
        "Where published": comparison["location"]})
    if comparison["location"].nunique() <= 1:  # one place for all: the text quotes it, a column would repeat it
        out = out.drop(columns="Where published")
    return out


def shift(primary: pd.DataFrame, other: pd.DataFrame) -> dict:
    """How far the odds ratios against the reference move between two analyses of the network:
    the largest ratio either way, the drug it belongs to, and the rank correlation of the P-scores."""
    both = primary[["treatment", "or", "pscore"]].merge(
        other[["treatment", "or", "pscore"]], on="treatment", suffixes=("", "_other")).set_index("treatment")
    ratio = both["or_other"] / both["or"]
    far = (np.log(ratio)).abs().idxmax()
    return {"max_ratio": float(ratio.loc[far]), "drug": far, "n": len(both),
            "spearman": float(both["pscore"].rank().corr(both["pscore_other"].rank()))}


def md_table(vs: pd.DataFrame, mid: float) -> pd.DataFrame:
    """The mean differences in HAM-D points against the reference, with where each CI lies
    against the minimal important difference ``mid`` (:func:`against_mid`); a value that rounds
    to zero is printed 0.0, never -0.0 (:func:`analysis.review.network_wording.fixed`)."""
    from analysis.review.wording import fixed, fixed_with_ci

    return pd.DataFrame({
        "Drug": vs["treatment"],
        "MD vs placebo, HAM-D points (95% CI)": [fixed_with_ci(r.md, r.ci_low, r.ci_high) for r in vs.itertuples()],
        "95% prediction interval": [f"{fixed(lo)} to {fixed(hi)}" for lo, hi in zip(vs["pi_low"], vs["pi_high"])],
        f"Against the {mid:g}-point MID": [against_mid(r.md, r.ci_low, r.ci_high, mid) for r in vs.itertuples()],
        "Trials vs placebo": vs["direct_studies"]})


def against_mid(md: float, low: float, high: float, mid: float) -> str:
    """Where a mean difference (negative = fewer symptoms on the drug) lies against a minimal
    important difference: "beyond the MID" (the whole CI below -mid), "may reach the MID" (the
    CI includes -mid), "smaller than the MID" (the whole CI above -mid)."""
    if not mid > 0:
        raise ValueError("the minimal important difference is a positive number of points")
    if high < -mid:
        return "beyond the MID"
    if low <= -mid:
        return "may reach the MID"
    return "smaller than the MID"


def league_table(fit, outcome: str) -> pd.DataFrame:
    """Every pair of treatments of a fitted network (:meth:`analysis.meta.nma.NetworkFit.league`)
    as odds ratios of ``outcome``, first treatment against second, with 95% confidence and
    prediction intervals: the league table's numbers, for download."""
    league = fit.league()
    return pd.DataFrame({
        "outcome": outcome, "treatment": league["treat1"], "versus": league["treat2"],
        "odds_ratio": np.exp(league["estimate"]).round(4), "ci_low": np.exp(league["ci_low"]).round(4),
        "ci_high": np.exp(league["ci_high"]).round(4), "pi_low": np.exp(league["pi_low"]).round(4),
        "pi_high": np.exp(league["pi_high"]).round(4), "log_or": league["estimate"].round(6),
        "se_log_or": league["se"].round(6)})
