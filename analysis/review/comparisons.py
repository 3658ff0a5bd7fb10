"""The review's re-derivations, one function per comparison, shared by the chapters and the
summary of findings so that each number is computed in one place."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.meta.effect_sizes import effect_sizes
from analysis.review.absolute import absolute_effects
from analysis.review.bias_suite import bias_suite, small_study_tests
from analysis.review.exclusions import placebo_flow, response_flow
from analysis.review.importers import read_cipriani_arms, read_linde, read_linde2016, read_metapsy_response, read_turner
from analysis.review.selections import (
    primary_care_trials, pst_antidepressant_trials, response_trials, ssri_trials, turner_fda, turner_published,
)
from analysis.meta.fit import MetaResult, pooled_proportion, rma
from analysis.meta import egger, trimfill
from analysis.meta.regtest import equal_arms_se
from analysis.meta.subgroups import subgroup_analysis
from analysis.review.shared import shared


@dataclass(frozen=True)
class Evidence:
    """A comparison's trials, fitted model and the analyses around it."""

    trials: pd.DataFrame
    model: MetaResult
    extra: dict

    @property
    def participants(self) -> int | None:
        t = self.trials
        if {"treat_n", "ctrl_n"} <= set(t.columns):
            return int(t["treat_n"].sum() + t["ctrl_n"].sum())
        return None


def binary_evidence(trials: pd.DataFrame, method: str, hksj: bool = False, **extra) -> Evidence:
    """A risk-ratio comparison: the model, both arms' pooled rates, and the absolute effects at
    the pooled control rate (:func:`analysis.review.absolute.absolute_effects`)."""
    yi, vi = effect_sizes(trials, "RR")
    model = rma(yi, vi, method=method, hksj=hksj)
    treat = pooled_proportion(trials["treat_events"], trials["treat_n"], method=method)
    ctrl = pooled_proportion(trials["ctrl_events"], trials["ctrl_n"], method=method)
    rr = [float(np.exp(x)) for x in (model.estimate, model.ci_low[0], model.ci_high[0])]
    absolute = absolute_effects(ctrl["rate"], *rr)
    return Evidence(trials, model, {"treat_rate": treat, "ctrl_rate": ctrl, "absolute": absolute, **extra})


@shared
def ssri_placebo(cipriani_arms: str, active_class: str = "SSRI", method: str = "REML", hksj: bool = False) -> Evidence:
    """SSRI (or any antidepressant) vs placebo, response, from GRISELDA (risk ratio), with Egger's
    test, the publication-bias suite and subgroups by publication and by drug."""
    trials = ssri_trials(read_cipriani_arms(cipriani_arms), active_class=active_class, name=cipriani_arms)
    ev = binary_evidence(trials, method, hksj)
    yi, vi = ev.model.yi, ev.model.vi
    labels = np.where(trials["published"], "published", "unpublished")
    ev.extra.update({
        "by_publication": subgroup_analysis(yi, vi, labels, method=method) if len(set(labels)) > 1 else None,
        "by_drug": subgroup_analysis(yi, vi, trials["subgroup"], method=method) if trials["subgroup"].nunique() > 1 else None,
        "egger": egger(yi, vi),
        "bias": bias_suite(ev.model),
    })
    return ev


def ssri_without_imputed(cipriani_arms: str, active_class: str = "SSRI", method: str = "REML", hksj: bool = False) -> Evidence:
    """Sensitivity analysis: SSRI vs placebo response without the trials any of whose pooled arms
    has responders imputed by the GRISELDA authors (``Responders_imputed`` = 1;
    :func:`analysis.review.exclusions.without_imputed`)."""
    from analysis.review.exclusions import without_imputed

    arms = without_imputed(read_cipriani_arms(cipriani_arms), active_class)
    return binary_evidence(ssri_trials(arms, active_class=active_class, name=cipriani_arms), method, hksj)


@shared
def ssri_harms(cipriani_arms: str, outcome: str = "dropout", active_class: str = "SSRI", method: str = "REML") -> Evidence:
    """SSRI vs placebo, all-cause discontinuation (``dropout``) or discontinuation due to adverse
    events (``dropout_ae``), from GRISELDA (risk ratio; above 1 means more dropouts on the drug)."""
    arms = read_cipriani_arms(cipriani_arms)
    trials = ssri_trials(arms, active_class=active_class, name=cipriani_arms, outcome=outcome)
    ev = binary_evidence(trials, method)
    ev.extra["egger"] = egger(ev.model.yi, ev.model.vi)
    return ev


@shared
def pst_antidepressants(linde2016: str, method: str = "REML") -> Evidence:
    """Problem-solving therapy vs antidepressants, response, in the primary-care trials that
    compare them directly (Linde et al., 2016; risk ratio, PST over the antidepressant)."""
    rows = read_linde2016(linde2016)
    ev = binary_evidence(pst_antidepressant_trials(rows, name=linde2016), method)
    ev.extra["file_trials"] = int(rows["id"].nunique())  # for the flow diagram
    return ev


def primary_care(linde: str, active: str = "SSRI", method: str = "REML") -> Evidence:
    """SSRI vs placebo in primary care, response, from Linde et al. (2015) (risk ratio); ``extra["flow"]``
    the trials from the file to the analysis (:func:`analysis.review.exclusions.placebo_flow`)."""
    rows = read_linde(linde)
    trials = primary_care_trials(rows, active=active, name=linde)
    ev = binary_evidence(trials, method)
    ev.extra["flow"] = placebo_flow(rows, trials, active)
    return ev


def psychotherapy_response(response: str, therapy: str, method: str = "REML", hksj: bool = False) -> Evidence:
    """Response rates of a psychotherapy vs control, from the Metapsy total-response database; a
    control arm shared by two comparisons of one trial is split between them; ``extra["flow"]`` the
    trials from the file to the analysis (:func:`analysis.review.exclusions.response_flow`)."""
    rows = read_metapsy_response(response)
    trials = response_trials(rows, therapy=therapy, name=response)
    ev = binary_evidence(trials, method, hksj, shared_controls=int((trials["shared_by"] > 1).sum()))
    ev.extra["flow"] = response_flow(rows, trials, therapy)
    return ev


def turner(path: str, method: str = "REML") -> dict:
    """Turner et al. (2008): every FDA-registered trial (FDA effect) vs the published ones (journal effect).

    Returns a dict: ``fda`` and ``journal`` (:class:`Evidence`, with the fixed-effect fit, Egger
    and trim-and-fill in ``extra``), ``fda_by_publication`` (subgroups of the FDA data) and
    ``inflation_pct`` (journal over FDA fixed-effect estimate, minus 1, in per cent).
    """
    rows = read_turner(path)
    out = {}
    for source in ("fda", "journal"):
        trials = (turner_fda if source == "fda" else turner_published)(rows, name=path)
        yi, vi = effect_sizes(trials, "GEN")
        model = rma(yi, vi, method=method)
        out[source] = Evidence(trials, model, {"fe": rma(yi, vi, method="FE"), "egger": egger(yi, vi), "trimfill": trimfill(model)})
    fda = out["fda"]
    yi, vi = effect_sizes(fda.trials, "GEN")
    out["fda_by_publication"] = subgroup_analysis(yi, vi, fda.trials["subgroup"], method=method)
    # Turner et al.'s measure of publication bias: how much larger the published (journal)
    # fixed-effect estimate is than the FDA's, in per cent of the FDA's
    out["inflation_pct"] = 100 * (out["journal"].extra["fe"].estimate / fda.extra["fe"].estimate - 1)
    # the same from the two estimates rounded to two decimals, as the paper prints them
    out["inflation_rounded_pct"] = 100 * (round(out["journal"].extra["fe"].estimate, 2) / round(fda.extra["fe"].estimate, 2) - 1)
    out["by_drug"] = turner_by_drug(rows, name=path)
    journal = out["journal"]
    yj, vj = effect_sizes(journal.trials, "GEN")
    out["small_study"] = small_study_tests(yj, vj, sample_se=equal_arms_se(yj, vj), sample_se_note=" (equal arms assumed)")
    return out


def turner_by_drug(rows: pd.DataFrame, name: str = "turner") -> pd.DataFrame:
    """Per drug: FDA trials and published trials in the file, the two fixed-effect estimates and
    the per cent by which the published one exceeds the FDA's (Turner et al.'s per-drug increase)."""
    fda, pub = turner_fda(rows, name=name), turner_published(rows, name=name)
    drugs = rows["Drug"].str.strip()
    out = []
    for drug in sorted(drugs.unique()):
        lines = rows.loc[drugs == drug, "_line"]
        f, p = fda[fda["_line"].isin(lines)], pub[pub["_line"].isin(lines)]
        # a drug with no trial on one side (none published, say) has no estimate there
        fe = [rma(*effect_sizes(t, "GEN"), method="FE").estimate if len(t) else np.nan for t in (f, p)]
        out.append({"drug": drug, "fda_k": len(f), "published_k": len(p), "fda_g": fe[0], "journal_g": fe[1],
                    "increase_pct": 100 * (fe[1] / fe[0] - 1)})
    return pd.DataFrame(out)


def claims_on_common_scale(register: pd.DataFrame, comparisons: dict, method: str = "REML") -> pd.DataFrame:
    """Each quantitative claim and the re-derived estimate, both as a standardised mean difference.

    Percentages are converted by the logit method (Chinn, 2000): the claim's two proportions give
    an odds ratio, and the data's pooled log odds ratio (random effects) gives an SMD with its CI.
    Claims reported as g are compared with the pooled g.

    Parameters
    ----------
    register : DataFrame
        The claims register (:func:`analysis.review.claims.read_claims`).
    comparisons : dict
        claim id -> (label, Evidence or None): the evidence that tests the claim, None where no
        open data can.
    """
    from analysis.meta.conversions import from_proportions, log_or_to_smd

    rows = []
    for cid, (label, ev) in comparisons.items():
        claim = register.loc[cid]
        if claim["measure"] == "percent":
            claimed = from_proportions(claim["treat_value"] / 100, claim["ctrl_value"] / 100)["smd"]
            low = high = np.nan
        else:
            claimed, low, high = claim["effect"], claim["ci_low"], claim["ci_high"]
        est = lo = hi = np.nan
        if ev is not None:
            if {"treat_events", "ctrl_events"} <= set(ev.trials.columns):
                m = rma(*effect_sizes(ev.trials, "OR"), method=method)
                est, lo, hi = (float(log_or_to_smd(x)) for x in (m.estimate, m.ci_low[0], m.ci_high[0]))
            else:
                est, lo, hi = ev.model.estimate, float(ev.model.ci_low[0]), float(ev.model.ci_high[0])
        rows.append({"claim": f"{cid} ({claim['source_id']}): {label}", "claimed": float(claimed), "claimed_low": float(low),
                     "claimed_high": float(high), "data": est, "data_low": lo, "data_high": hi})
    return pd.DataFrame(rows)
