"""GRADE by explicit rules: each domain judged from computed indicators.

Each rule returns ``(downgrade, reason)``, with ``downgrade`` 0, -1 or -2 and a reason that
states the indicator and the threshold, so that new data change the judgement and its words
together. Reviewers' overrides (``data/grade.csv``) replace a rule only with a stated reason
(:mod:`analysis.review.grade`).

Thresholds, with their sources:

- risk of bias: downgrade one level when more than half of the weight comes from studies not
  at low risk of bias (Guyatt et al., 2011, GRADE guidelines 4: "most information is from
  studies at moderate or high risk of bias").
- inconsistency: one level when I² is at least 50% and the 95% prediction interval includes no
  effect (GRADE guidelines 7; the prediction interval shows whether effects point both ways).
- imprecision: one level for each threshold of importance (the MID for benefit, its mirror for harm)
  that the confidence interval straddles, whether or not it also includes no effect (the minimally
  contextualised approach, Zeng et al., 2021; GRADE guidelines 6), else one level when the total number
  of participants is below the optimal information size (OIS). A precise null result (an interval
  within the MID either side) is not downgraded. The minimal
  important difference (MID) is a risk ratio of 1.25 (GRADE's default 25% relative change) or
  a standardised mean difference of 0.24 (Cuijpers et al., 2014); the OIS is the two-arm sample
  size that detects the MID with alpha 0.05 (two-sided) and power 0.80.
- indirectness: one level when more than half of the weight compares with a waiting list (an
  inactive comparator that inflates effects, Furukawa et al., 2014) or when the comparison is
  not the one the claim makes.
- publication bias: one level when, with at least 10 studies, Egger's test (for g, the multilevel
  test on the sample-size based SE, which the chapter reports) has p < 0.10, or the
  median of the bias-corrected estimates (trim-and-fill, PET, PEESE, PET-PEESE, 3PSM, 4PSM,
  WAAP-WLS) is back inside a threshold of importance (the MID for benefit, or its mirror for harm)
  that the main estimate is beyond: the median, so that no single
  method, such as PET, which is biased downwards under heterogeneity, decides alone (Sterne et al.,
  2011; Stanley, 2017; GRADE guidelines 5).

References
----------
Guyatt, G. H., et al. (2011). GRADE guidelines 4-8. *Journal of Clinical Epidemiology*, 64.
Cuijpers, P., et al. (2014). What is the threshold for a clinically relevant effect? *Depression
and Anxiety*, 31, 374-378.
Zeng, L., et al. (2021). GRADE guidelines 32: GRADE offers guidance on choosing targets of GRADE
certainty of evidence ratings. *Journal of Clinical Epidemiology*, 137, 163-175.
Furukawa, T. A., et al. (2014). Waiting list may be a nocebo condition in psychotherapy trials.
*Acta Psychiatrica Scandinavica*, 130, 181-192.
"""

from __future__ import annotations

import math

import numpy as np
from dataclasses import dataclass, field

Z_ALPHA, Z_BETA = 1.959963984540054, 0.8416212335729143  # two-sided 0.05; power 0.80
MID = {"RR": 1.25, "SMD": 0.24}
DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
ROB_SHARE = 0.5        # risk of bias: more than this share of the weight not at low risk
I2_MIN = 50.0          # inconsistency: I² at least this (per cent), with the PI including no effect
WAITLIST_SHARE = 0.5   # indirectness: more than this share of the weight from waiting lists
SMALL_STUDY_K = 10     # publication bias: assessed with at least this many studies
EGGER_P = 0.10         # publication bias: Egger's test below this


@dataclass(frozen=True)
class Indicators:
    """What the rules read, on the reported scale (a risk ratio, or g)."""

    measure: str
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    i2: float
    k: int
    participants: int | None = None
    control_risk: float | None = None
    not_low_rob_weight: float | None = None
    waitlist_weight: float | None = None
    direct: bool = True
    egger_p: float | None = None
    bias_corrected: dict = field(default_factory=dict)
    #: the small-study test whose p is ``egger_p``, named in the reasons
    small_study_test: str = "Egger's test"
    #: the Q-profile 95% CI of I² (a univariate model; NaN where the model has several components)
    i2_low: float = math.nan
    i2_high: float = math.nan

    @property
    def null(self) -> float:
        return 1.0 if self.measure == "RR" else 0.0


def optimal_information_size(measure: str, control_risk: float | None = None) -> int:
    """Participants (both arms) needed to detect the MID with alpha 0.05 and power 0.80."""
    z = (Z_ALPHA + Z_BETA) ** 2
    if measure == "RR":
        p0 = control_risk
        p1 = min(1.0, p0 * MID["RR"])
        return 2 * math.ceil(z * (p0 * (1 - p0) + p1 * (1 - p1)) / (p1 - p0) ** 2)
    return 2 * math.ceil(2 * z / MID["SMD"] ** 2)


def _includes(low: float, high: float, value: float) -> bool:
    return low <= value <= high


def risk_of_bias(ind: Indicators) -> tuple[int, str]:
    if ind.not_low_rob_weight is None:
        return 0, "no risk-of-bias assessment in the dataset; not assessed by rule"
    share = 100 * ind.not_low_rob_weight
    if ind.not_low_rob_weight > ROB_SHARE:
        return -1, f"{share:.0f}% of the weight from studies not at low risk of bias (more than {100 * ROB_SHARE:.0f}%)"
    return 0, f"{share:.0f}% of the weight from studies not at low risk of bias ({100 * ROB_SHARE:.0f}% or less)"


def inconsistency(ind: Indicators) -> tuple[int, str]:
    crosses = _includes(ind.pi_low, ind.pi_high, ind.null)
    where = "includes" if crosses else "excludes"
    text = f"I² {ind.i2:.0f}%; the prediction interval {where} no effect"
    if ind.i2 >= I2_MIN and crosses:
        return -1, text
    return 0, text


def imprecision(ind: Indicators) -> tuple[int, str]:
    """One rule wherever the interval lies: the thresholds are the MID either side of no effect
    (an important benefit and an important harm; the minimally contextualised approach, Zeng et al.,
    2021); the interval is downgraded one level for each threshold it straddles, whether or not it
    also includes no effect, and one level when it straddles none but the participants are fewer
    than the optimal information size."""
    mid = MID[ind.measure]
    harm = 1 / mid if ind.measure == "RR" else -mid
    ois = optimal_information_size(ind.measure, ind.control_risk) if ind.measure == "SMD" or ind.control_risk else None
    unit = "RR " if ind.measure == "RR" else "g = "
    crossed = [f"{name} ({unit}{t:.2f})" for name, t in (("an important benefit", mid), ("an important harm", harm))
               if ind.ci_low < t < ind.ci_high]
    if len(crossed) == 2:
        return -2, f"the confidence interval straddles both thresholds, {crossed[0]} and {crossed[1]}"
    if crossed:
        return -1, f"the confidence interval straddles the threshold of {crossed[0]}, the MID"
    if ois is not None and ind.participants is not None and ind.participants < ois:
        return -1, f"{ind.participants:,} participants, fewer than the optimal information size of {ois:,}"
    size = f"; {ind.participants:,} participants (optimal information size {ois:,})" if ind.participants and ois else ""
    where = "includes no effect but" if _includes(ind.ci_low, ind.ci_high, ind.null) else "excludes no effect and"
    return 0, (f"the confidence interval {where} straddles neither threshold of importance ({unit}{mid:.2f} "
               f"for benefit, {unit}{harm:.2f} for harm)" + size)


def indirectness(ind: Indicators) -> tuple[int, str]:
    if not ind.direct:
        return -1, "the data compare with another comparator than the claim does"
    if ind.waitlist_weight is not None and ind.waitlist_weight > WAITLIST_SHARE:
        return -1, (f"{100 * ind.waitlist_weight:.0f}% of the weight from waiting-list comparisons "
                    f"(more than {100 * WAITLIST_SHARE:.0f}%)")
    share = "" if ind.waitlist_weight is None else f"; {100 * ind.waitlist_weight:.0f}% of the weight from waiting lists"
    return 0, "the data compare the population, intervention and comparator of the claim" + share


def publication_bias(ind: Indicators) -> tuple[int, str]:
    """Egger's test, or the bias corrections taking an important effect back inside its threshold:
    with the estimate beyond the MID for benefit (or beyond its mirror, for harm), one level when
    the median bias-corrected estimate is not beyond the same threshold. An estimate inside both
    thresholds cannot be moved below one by the corrections, and the reason says so."""
    if ind.k < SMALL_STUDY_K:
        return 0, f"{ind.k} studies: too few to assess small-study effects (fewer than {SMALL_STUDY_K})"
    mid = MID[ind.measure]
    harm = 1 / mid if ind.measure == "RR" else -mid
    corrected = sorted(ind.bias_corrected.values())
    median = float(np.median(corrected)) if corrected else None
    if ind.estimate >= mid:
        side, moved = "the MID for benefit", median is not None and median < mid
    elif ind.estimate <= harm:
        side, moved = "the MID for harm", median is not None and median > harm
    else:
        side, moved = None, False
    egger = ind.egger_p is not None and ind.egger_p < EGGER_P
    if egger or moved:
        parts = ([f"{ind.small_study_test} p < {EGGER_P:.2f}"] if egger else []) + (
            [f"the median bias-corrected estimate ({median:.2f}) is not beyond {side}, which the main estimate "
             f"({ind.estimate:.2f}) is"] if moved else
            [f"the median bias-corrected estimate ({median:.2f}) is still beyond {side}"] if median is not None and side
            else [])
        return -1, "; ".join(parts)
    test = f"{ind.small_study_test} p ≥ {EGGER_P:.2f}"
    if median is None:
        return 0, test + "; no bias-corrected estimates"
    if side is None:
        return 0, (test + f"; the main estimate lies inside both thresholds of importance, so the bias-corrected "
                   f"estimates (median {median:.2f}) cannot take an important effect away")
    return 0, test + f" and the median bias-corrected estimate ({median:.2f}) still beyond {side}"


RULES = {"risk_of_bias": risk_of_bias, "inconsistency": inconsistency, "indirectness": indirectness,
         "imprecision": imprecision, "publication_bias": publication_bias}


def judge_by_rules(ind: Indicators) -> dict:
    """``{domain: (downgrade, reason)}`` for every GRADE domain."""
    return {domain: RULES[domain](ind) for domain in DOMAINS}


def rules_table() -> list[dict]:
    """The rules above as the protocol tables them, each threshold read from this module's
    constants: ``domain``, ``downgrade one level when`` and ``source``."""
    rr, g = MID["RR"], MID["SMD"]
    return [
        {"domain": "Risk of bias", "downgrade one level when":
            f"more than {100 * ROB_SHARE:.0f}% of the weight comes from studies not at low risk of bias",
         "source": "GRADE guidelines 4"},
        {"domain": "Inconsistency", "downgrade one level when":
            f"I² is at least {I2_MIN:.0f}% and the 95% prediction interval includes no effect",
         "source": "GRADE guidelines 7"},
        {"domain": "Indirectness", "downgrade one level when":
            f"more than {100 * WAITLIST_SHARE:.0f}% of the weight compares with a waiting list, or the data "
            "compare with another comparator than the claim",
         "source": "GRADE guidelines 8; Furukawa et al. (2014)"},
        {"domain": "Imprecision", "downgrade one level when":
            f"for each threshold of importance the 95% CI straddles (RR {rr:.2f} and {1 / rr:.2f}; g = {g:.2f} "
            f"and -{g:.2f}); when it straddles none, the participants are fewer than the optimal information "
            f"size (alpha 0.05 two-sided, power 0.80, to detect the MID)",
         "source": "GRADE guidelines 6; Zeng et al. (2021)"},
        {"domain": "Publication bias", "downgrade one level when":
            f"with at least {SMALL_STUDY_K} studies, Egger's test p < {EGGER_P:.2f} (for g, the multilevel test on "
            "the sample-size based SE), or the median of the "
            "bias-corrected estimates is back inside a threshold of importance (the MID for benefit or for harm) "
            "that the main estimate is beyond",
         "source": "GRADE guidelines 5; Sterne et al. (2011)"},
    ]
