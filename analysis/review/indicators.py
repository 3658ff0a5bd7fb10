"""The GRADE indicators of each comparison, computed from its evidence (one place for all chapters)."""

from __future__ import annotations

import numpy as np

from analysis.review.comparisons import Evidence
from analysis.review.grade_rules import Indicators


def _bias(ev: Evidence, back) -> dict:
    suite = ev.extra.get("bias")
    if suite is None:
        return {}
    fitted = suite[suite["estimate"].notna()]
    return {m: float(back(e)) for m, e in zip(fitted["method"], fitted["estimate"])}


def binary_indicators(ev: Evidence, direct: bool = True, not_low_rob_weight: float | None = None) -> Indicators:
    """A risk-ratio comparison (response or discontinuation) on the ratio scale."""
    m, pred = ev.model, ev.model.predict()
    egger = ev.extra.get("egger")
    return Indicators(
        measure="RR", estimate=float(np.exp(m.estimate)), ci_low=float(np.exp(m.ci_low[0])),
        ci_high=float(np.exp(m.ci_high[0])), pi_low=float(np.exp(pred["pi_low"])),
        pi_high=float(np.exp(pred["pi_high"])), i2=m.i2, k=m.k, participants=ev.participants,
        control_risk=ev.extra["ctrl_rate"]["rate"], not_low_rob_weight=not_low_rob_weight, direct=direct,
        egger_p=egger["p"] if egger else None, bias_corrected=_bias(ev, np.exp),
    )


def psychotherapy_indicators(ev: Evidence) -> Indicators:
    """Psychotherapy vs control (g): the primary, dependency-aware estimate for the effect and its
    CI; the univariate model without implausible effects for I² and the prediction interval."""
    primary, clean = ev.extra["primary"], ev.extra["without_implausible"]
    pred = clean.predict()
    return Indicators(
        measure="SMD", estimate=primary["estimate"], ci_low=primary["ci_low"], ci_high=primary["ci_high"],
        pi_low=float(pred["pi_low"]), pi_high=float(pred["pi_high"]), i2=clean.i2, k=int(primary["k"]),
        participants=None, not_low_rob_weight=1 - ev.extra["low_rob_share"],
        waitlist_weight=ev.extra["waitlist_share"], egger_p=ev.extra["egger"]["p"],
        bias_corrected=_bias(ev, lambda x: x),
    )
