"""The GRADE indicators of each comparison, computed from its evidence (one place for all chapters)."""

from __future__ import annotations

import numpy as np

from analysis.meta import higgins_pi
from analysis.review.bias_suite import distinct_fitted
from analysis.review.comparisons import Evidence
from analysis.review.grade_rules import Indicators


def _bias(ev: Evidence, back) -> dict:
    suite = ev.extra.get("bias")
    if suite is None:
        return {}
    fitted = distinct_fitted(suite)
    return {m: float(back(e)) for m, e in zip(fitted["method"], fitted["estimate"])}


def ratio_prediction_interval(model) -> tuple[float, float]:
    """The 95% prediction interval of a log-ratio model on the ratio scale, as Higgins, Thompson &
    Spiegelhalter (2009) give it and the Cochrane Handbook (section 10.10.4.3) prints it: t with
    k - 2 degrees of freedom (:func:`analysis.meta.higgins_pi`), which widens the interval for few
    trials where metafor's default normal quantile does not; NaN for fewer than 3 trials."""
    try:
        low, high = higgins_pi(model)
    except ValueError:
        return np.nan, np.nan
    return float(np.exp(low)), float(np.exp(high))


def binary_indicators(ev: Evidence, direct: bool = True, not_low_rob_weight: float | None = None) -> Indicators:
    """A risk-ratio comparison (response or discontinuation) on the ratio scale."""
    m = ev.model
    pi_low, pi_high = ratio_prediction_interval(m)
    egger = ev.extra.get("egger")
    i2_ci = m.tau2_ci() if m.k - m.p >= 1 else {"i2_low": np.nan, "i2_high": np.nan}
    return Indicators(
        i2_low=float(i2_ci["i2_low"]), i2_high=float(i2_ci["i2_high"]),
        measure="RR", estimate=float(np.exp(m.estimate)), ci_low=float(np.exp(m.ci_low[0])),
        ci_high=float(np.exp(m.ci_high[0])), pi_low=pi_low, pi_high=pi_high, i2=m.i2, k=m.k, participants=ev.participants,
        control_risk=ev.extra["ctrl_rate"]["rate"], not_low_rob_weight=not_low_rob_weight, direct=direct,
        egger_p=egger["p"] if egger else None, bias_corrected=_bias(ev, np.exp),
    )


def _reported_small_study(ev: Evidence) -> tuple[float, str]:
    """The p and the name of the small-study test a chapter reports: the last row of
    ``extra["small_study"]`` (multilevel, sample-size SE, where the data allow), else classic Egger."""
    table = ev.extra.get("small_study")
    if table is None:
        return float(ev.extra["egger"]["p"]), "Egger's test"
    row = table.iloc[-1]
    return float(row["p"]), f"{row['test']} with the {row['precision']}"


def psychotherapy_indicators(ev: Evidence, control_risk: float | None = None) -> Indicators:
    """Psychotherapy vs control (g): every indicator from the one primary, dependency-aware model
    (``ev.extra["primary"]``, every comparison): the estimate, its CI, its prediction interval and its
    total I² (between- plus within-trial); participants from the release's arm sizes; the
    small-study test the chapter reports (multilevel, on the sample-size SE).
    ``control_risk``, the control groups' response rate, turns g into an absolute response
    (:func:`analysis.review.absolute.smd_absolute_effects`)."""
    primary = ev.extra["primary"]
    small_p, small_test = _reported_small_study(ev)
    return Indicators(
        measure="SMD", estimate=primary["estimate"], ci_low=primary["ci_low"], ci_high=primary["ci_high"],
        pi_low=float(primary["pi_low"]), pi_high=float(primary["pi_high"]), i2=float(primary["i2"]),
        k=int(primary["k"]), participants=ev.extra.get("participants"), control_risk=control_risk,
        not_low_rob_weight=1 - ev.extra["low_rob_share"], waitlist_weight=ev.extra["waitlist_share"],
        egger_p=small_p, small_study_test=small_test, bias_corrected=_bias(ev, lambda x: x),
    )


def heterogeneity_comment(ind: Indicators, variances: str = "") -> str:
    """The Summary of Findings' comment on heterogeneity: ``I² 23% (95% CI 11 to 34%); PI 1.06 to
    1.49``; a multilevel model's I² without an interval, its ``variances`` (the components with
    their intervals, :func:`analysis.review.robustness_wording.variance_words`) after it."""
    if ind.i2_low == ind.i2_low:
        i2 = f"I² {ind.i2:.0f}% (95% CI {ind.i2_low:.0f} to {ind.i2_high:.0f}%)"
    else:
        i2 = f"I² {ind.i2:.0f}%" + (" (total, without an interval; those of its variance components follow)" if variances else "")
    return f"{i2}{'; ' + variances if variances else ''}; PI {ind.pi_low:.2f} to {ind.pi_high:.2f}"


def bias_and_waitlist_comment(ind: Indicators) -> str:
    """The Summary of Findings' comment on the bias corrections and the waitlist share:
    ``; bias-corrected -1.98 (4PSM) to 0.83 (trim-and-fill L0), median 0.47; 52% of the weight from
    waiting lists``, each part only when the indicators hold it."""
    text = ""
    if ind.bias_corrected:
        low, high = (f(ind.bias_corrected, key=ind.bias_corrected.get) for f in (min, max))
        median = float(np.median(list(ind.bias_corrected.values())))
        text = (f"; bias-corrected {ind.bias_corrected[low]:.2f} ({low}) to {ind.bias_corrected[high]:.2f} ({high}), "
                f"median {median:.2f}")
    if ind.waitlist_weight is not None:
        text += f"; {100 * ind.waitlist_weight:.0f}% of the weight from waiting lists"
    return text
