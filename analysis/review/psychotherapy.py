"""Psychotherapy vs control conditions (Metapsy): the analyses a methodologist expects.

Dependency-aware pooling (:mod:`analysis.review.dependency`) with the primary model a parameter,
every comparison in the primary analysis, the rule for implausible effects (:mod:`analysis.review.implausible`) a
sensitivity analysis,
"low risk of bias" as low on every protocol domain (:func:`analysis.review.risk_of_bias.low_risk`),
subgroups by control condition (under the CHE working model, each subgroup also under its own CHE
model, with the independent-effects test beside it), and the publication-bias suite.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.meta import egger, trimfill
from analysis.meta.subgroups import multilevel_subgroups, separate_multilevel_subgroups, subgroup_analysis
from analysis.review.bias_suite import (bias_suite, metapsy_sample_size_se, metapsy_small_study, usual_and_sample_size,
                                        with_sample_size_rows)
from analysis.review.characteristics import codes_in_use, participants, pooled_release_rows, psychotherapy_characteristics
from analysis.review.comparisons import Evidence
from analysis.review.dependency import (MODELS, aggregate, comparison_weights, dependency_fits, dependency_table, multilevel,
                                        variance_intervals)
from analysis.review.implausible import implausible
from analysis.review.importers import read_metapsy_psyctr
from analysis.review.risk_of_bias import low_risk
from analysis.review.robustness import CHECKS, run_checks
from analysis.review.selections import psychotherapy_trials
from analysis.review.trials import LINE
from analysis.review.shared import shared

PRIMARY_MODELS = tuple(MODELS)


def weight_share(weights, mask) -> float:
    """The share of the weight in a pooled estimate (one weight per comparison) that ``mask`` holds."""
    w = np.asarray(weights, float)
    return float(w[np.asarray(mask, bool)].sum() / w.sum())


def shared_trials(trials) -> dict:
    """How many comparisons come from trials that give more than one, and how many such trials."""
    shared = trials["trial"].duplicated(keep=False)
    return {"n_shared": int(shared.sum()), "n_shared_trials": int(trials.loc[shared, "trial"].nunique())}


def multiarm_counts(rows, trials, therapy: str) -> dict:
    """Why the comparisons from multi-arm trials (the release's flag) and those from trials that
    give more than one comparison (:func:`shared_trials`) differ in number: their counts, and the
    multi-arm trials that give one ``therapy`` comparison, split by what the file holds of their
    other arms (``single_other_therapy``: a comparison of another therapy; ``single_outside``: no
    other comparison, the other arms outside the file; ``single_other``: other comparisons of
    ``therapy`` not pooled); ``shared_unflagged``: trials giving several comparisons not flagged."""
    per = trials.groupby("trial").agg(k=("trial", "size"), multi=("multiarm", "any"))
    single = per.index[per["multi"] & (per["k"] == 1)]
    study = rows["study"].astype(str).str.strip()
    arm1 = rows["condition_arm1"].astype(str).str.strip().str.lower()
    other_therapy = set(study[arm1 != therapy])
    arms = rows[[c for c in ("condition_arm1", "condition_arm2", "multi_arm1", "multi_arm2") if c in rows.columns]]
    n_comparisons = arms.astype(str).apply(lambda c: c.str.strip()).assign(_s=study).drop_duplicates().groupby("_s").size()
    in_other = [t for t in single if t in other_therapy]
    outside = [t for t in single if t not in other_therapy and n_comparisons.get(t, 0) == 1]
    return {"multiarm_k": int(trials["multiarm"].sum()), "multiarm_trials": int(per["multi"].sum()),
            **shared_trials(trials), "single": len(single), "single_other_therapy": len(in_other),
            "single_outside": len(outside), "single_other": len(single) - len(in_other) - len(outside),
            "shared_unflagged": int(((per["k"] > 1) & ~per["multi"]).sum())}


@shared
def _by_control(yi, vi, trials, method: str, hksj: bool, rho: float) -> dict:
    """The subgroups by control condition: each pooled alone with every comparison as if independent
    (``by_control``), under one CHE model with shared variance components (``by_control_che``, the
    primary) and each under its own CHE model (``by_control_che_separate``, a sensitivity analysis; the
    reason as a string when it cannot be fitted, e.g. a subgroup with one trial)."""
    return {"by_control": subgroup_analysis(yi, vi, trials["subgroup"], method=method, hksj=hksj),
            "by_control_che": multilevel_subgroups(yi, vi, trials["trial"], trials["subgroup"], rho=rho),
            "by_control_che_separate": _separate(yi, vi, trials, rho)}


def _separate(yi, vi, trials, rho: float):
    """Each control condition under its own CHE model, or the reason it cannot be fitted (a string)."""
    try:
        return separate_multilevel_subgroups(yi, vi, trials["trial"], trials["subgroup"], rho=rho)
    except ValueError as err:
        return str(err)


def psychotherapy_control(psyctr: str, therapy: str = "cbt", method: str = "REML", hksj: bool = True,
                          low_rob_items: int = 4, primary_model: str = "che", rho: float = 0.5,
                          implausible_g: float = 3.0, rob_domains=("sg", "ac", "ba", "itt"),
                          self_report: str = "high", outcome_selection: str = "auto",
                          instrument_priority=None, max_refits: int = 500) -> Evidence:
    """Psychotherapy vs control conditions, Hedges' g, from the Metapsy database.

    The primary analysis is the pre-specified one: every comparison, none excluded for its result.
    ``model`` is every comparison pooled as independent (drawn in the forest and funnel plots, and the
    model of the classic Egger test and the robustness checks); ``extra["per_trial"]`` pools one
    effect per trial (aggregated with ``rho``), the independent units that trim-and-fill and the
    bias suite assume; the weight shares (``low_rob_share``, ``waitlist_share``) are of the primary
    model's estimate (:func:`analysis.review.dependency.comparison_weights`);
    ``extra["primary"]`` is the row of the dependency table (``extra["dependency"]``, every
    comparison) named by ``primary_model`` (one of :data:`PRIMARY_MODELS`). The implausible-effect
    rule (|g| > ``implausible_g``, added after the first results) is a sensitivity analysis only:
    ``extra["without_implausible"]`` is the independent model without those comparisons,
    ``extra["excluding_implausible"]`` the primary model without them and
    ``extra["dependency_excluding_implausible"]`` its dependency table; ``extra["implausible"]``
    lists the flagged comparisons with their size, instrument, g and SE. ``outcome_selection`` and
    ``instrument_priority`` choose one outcome per comparison (the release's primary flag or the
    Metapsy priority rule: :func:`analysis.review.importers.metapsy.select_outcomes`). The influence
    check is not run above ``max_refits`` comparisons (:mod:`analysis.review.limits`).
    """
    if primary_model not in PRIMARY_MODELS:
        raise ValueError(f"primary_model must be one of {', '.join(PRIMARY_MODELS)}")
    rows = read_metapsy_psyctr(psyctr)
    trials = psychotherapy_trials(rows, therapy=therapy, low_rob_items=low_rob_items, name=psyctr,
                                  outcome_selection=outcome_selection, instrument_priority=instrument_priority)
    yi, vi = trials["effect"].to_numpy(float), trials["se"].to_numpy(float) ** 2
    odd = implausible(yi, implausible_g)
    fits = dependency_fits(yi, vi, trials["trial"], method=method, hksj=hksj, rho=rho)
    model = fits["independent"]
    table = dependency_table(yi, vi, trials["trial"], rho=rho, fits=fits)
    per_trial = fits["aggregated"]  # one effect per trial: what the univariate bias methods assume
    low = low_risk(trials, rob_domains, self_report)
    extra = {
        "dependency": table,
        "primary": table.set_index("model").loc[primary_model].to_dict() | {"model": primary_model},
        "primary_variances": variance_intervals(fits, primary_model),
        **_without_implausible(trials, model, odd, rows, method=method, hksj=hksj, rho=rho, primary_model=primary_model),
        "characteristics": psychotherapy_characteristics(rows, trials), "codes": codes_in_use(rows, trials),
        "participants": participants(rows, trials),
        # every diagnostic below is on the comparisons the primary analysis pools (all of them)
        **_by_control(yi, vi, trials, method=method, hksj=hksj, rho=rho),
        "egger": egger(yi, vi),
        "small_study": metapsy_small_study(rows, trials, psyctr, rho=rho),
        "per_trial": per_trial,
        "trimfill": trimfill(per_trial),
        "bias": per_trial_sample_size_rows(bias_suite(per_trial), per_trial, rows, trials, psyctr, rho, odd),
        "checks": run_checks(model, rob=np.where(low, "low", "not low"), unit="comparison", max_refits=max_refits,
                             implausible=odd, which=[c for c in CHECKS if c != "trimfill"]),  # trim-and-fill: per trial
        "outcome_selection": dict(trials.attrs.get("outcome_selection", {})),
        "low_rob_primary": primary_on(yi, vi, trials, low, method=method, hksj=hksj, rho=rho, model=primary_model),
        **_weight_shares(trials, low, comparison_weights(fits, primary_model)),
        "studies_in_file": int(rows["study"].str.strip().nunique()),
        "implausible_mask": odd, "multiarm": multiarm_counts(rows, trials, therapy),
        **shared_trials(trials),  # on the comparisons the dependency table pools
    }
    return Evidence(trials, model, extra)


def per_trial_sample_size_rows(suite, per_trial, rows, trials, name: str, rho: float, odd):
    """The per-trial bias suite with PET and PEESE on the sample-size based SE
    (:func:`analysis.review.bias_suite.with_sample_size_rows`): each trial's W² is its comparisons'
    W² aggregated as their effects are (:func:`analysis.review.dependency.aggregate`, the same
    ``rho``), the SE of the trial's combined effect from its group sizes. Its ``attrs["without_implausible"]``
    gives PET and PEESE on both SEs without the implausible comparisons ``odd``
    (:func:`analysis.review.bias_suite.usual_and_sample_size`), so that the text can say how much of
    the difference they make; ``attrs["equal_arms"]`` how many comparisons lack group sizes, whose
    W is recovered from g and its SE under equal arms (and so does depend on g)."""
    w, assumed = metapsy_sample_size_se(rows, trials, name)
    y, v = trials["effect"].to_numpy(float), trials["se"].to_numpy(float) ** 2
    cluster = np.asarray(trials["trial"]).astype(str)
    _, trial_w2, _ = aggregate(y, w ** 2, cluster, rho)
    out = with_sample_size_rows(suite, per_trial.yi, trial_w2)
    keep = ~np.asarray(odd, bool)
    ay, av, _ = aggregate(y[keep], v[keep], cluster[keep], rho)
    _, aw2, _ = aggregate(y[keep], w[keep] ** 2, cluster[keep], rho)
    out.attrs["without_implausible"] = {**usual_and_sample_size(ay, av, aw2), "dropped": int((~keep).sum())}
    out.attrs["equal_arms"] = assumed  # comparisons without group sizes: W recovered from g and its SE
    return out


#: Fewer trials than this in a subset: the primary (multilevel) model is not fitted to it.
MIN_SUBSET_TRIALS = 3


def primary_on(yi, vi, trials, mask, *, method: str, hksj: bool, rho: float, model: str) -> dict | None:
    """The primary model's row of the dependency table (:func:`dependency_table`) on the comparisons
    ``mask`` keeps (a sensitivity analysis such as low risk of bias only); None with fewer than
    :data:`MIN_SUBSET_TRIALS` trials."""
    mask = np.asarray(mask, bool)
    if trials.loc[mask, "trial"].nunique() < MIN_SUBSET_TRIALS:
        return None
    table = dependency_table(yi[mask], vi[mask], trials["trial"][mask], method=method, hksj=hksj, rho=rho)
    return table.set_index("model").loc[model].to_dict() | {"model": model}


def _weight_shares(trials, low, primary_weights) -> dict:
    """Risk of bias and waitlists in the primary estimate: the protocol's low-risk mask, the shares of
    the primary model's weight at low risk and against a waitlist, and the database's own score."""
    waitlist = trials["subgroup"].str.lower().isin(["wl", "waitlist"])
    db_low = trials["rob"] == "low"
    return {"low_rob": low, "low_rob_share": weight_share(primary_weights, low),
            "waitlist_share": weight_share(primary_weights, waitlist), "db_low_rob_share": float(db_low.mean()),
            "db_low_k": int(db_low.sum()),
            "db_low_self_report": int((db_low & (trials.get("rob_ba") == "self-report")).sum())}


def _without_implausible(trials, model, odd, rows, *, method, hksj, rho, primary_model) -> dict:
    """The sensitivity analysis that sets aside the comparisons flagged implausible (``odd``): the
    independent model, the dependency table and the subgroups by control without them, and the list
    of flagged comparisons."""
    keep = ~odd
    yi, vi = model.yi[keep], model.vi[keep]
    table_kept = dependency_table(yi, vi, trials["trial"][keep], method=method, hksj=hksj, rho=rho)
    return {
        "dependency_excluding_implausible": table_kept,
        "excluding_implausible": table_kept.set_index("model").loc[primary_model].to_dict() | {"model": primary_model},
        "implausible": flagged_comparisons(trials, odd, rows),
        "without_implausible": model.refit(keep),
        "by_control_excluding_implausible": multilevel_subgroups(yi, vi, trials["trial"][keep], trials["subgroup"][keep],
                                                                 rho=rho),
        "by_control_che_separate_excluding_implausible": _separate(yi, vi, trials[keep], rho),
        "by_control_independent_excluding_implausible": subgroup_analysis(yi, vi, trials["subgroup"][keep],
                                                                          method=method, hksj=hksj),
    }


def flagged_comparisons(trials, mask, rows):
    """The comparisons a mask flags, with what the data file says of each: study, the arm sizes
    (``n_arm1``, ``n_arm2``), instrument, control condition, g, its SE and the file's line."""
    flagged = trials.loc[np.asarray(mask, bool)]
    release = pooled_release_rows(rows, flagged)
    out = flagged[["study", "trial", "instrument", "subgroup", "effect", "se", LINE]].reset_index(drop=True)
    for col in ("n_arm1", "n_arm2"):
        out[col] = pd.to_numeric(release[col], errors="coerce").to_numpy()
    return out


def primary_leave_one_trial_out(evidence: Evidence, rho: float, method: str, max_refits: int) -> tuple[dict, object]:
    """Leave one trial out under the CHE working model with CR2 inference, on the comparisons the
    primary analysis pools (every comparison): the summary of
    :func:`analysis.meta.leave_one_out_summary` against the full CHE fit, and the
    :class:`analysis.review.limits.Limit` of :func:`analysis.review.limits.limited_leave_one_trial_out`."""
    from analysis.meta import leave_one_out_summary
    from analysis.review.limits import limited_leave_one_trial_out

    kept = evidence.trials
    frame, limit = limited_leave_one_trial_out(kept["effect"].to_numpy(float), kept["se"].to_numpy(float) ** 2,
                                               kept["trial"], rho, multilevel(method), max_refits)
    full = evidence.extra["dependency"].set_index("model").loc["che"].to_dict()
    return leave_one_out_summary(frame, full), limit
