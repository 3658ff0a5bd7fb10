"""Absolute effects, one way everywhere: corresponding risk = assumed control risk x pooled RR.

The GRADE Handbook (section 5.2.1) derives the "anticipated absolute effects" of a Summary of
Findings table from an assumed control risk and the pooled relative effect; the number needed
to treat is the reciprocal of the risk difference that gives (Altman, 1998). Every chapter that
shows a risk per 1,000 or an NNT calls :func:`absolute_effects`, so that one number is one
computation.
"""

from __future__ import annotations

import math


def _capped(risk: float) -> float:
    return min(1.0, max(0.0, risk))  # a risk lies in [0, 1]: capped, as GRADEpro does


def absolute_effects(control_risk: float, rr: float, rr_low: float, rr_high: float, per: int = 1000) -> dict:
    """Anticipated absolute effects of a risk ratio at an assumed control risk.

    Parameters
    ----------
    control_risk : float
        Assumed risk with the control (a proportion), e.g. the pooled placebo response rate.
    rr, rr_low, rr_high : float
        Pooled risk ratio and its confidence limits.
    per : int
        Patients per which risks are shown (1,000 in a Summary of Findings table).

    Returns
    -------
    dict
        ``control``, ``intervention``, ``low``, ``high``: risks per ``per`` (rounded to whole
        patients, never above ``per``); ``difference`` per ``per`` (from the unrounded risks,
        rounded); ``risk_control`` and ``risk_intervention`` as proportions; ``nnt`` (1 / risk
        difference, infinite when the difference is zero; negative: number needed to harm) and
        ``nnt_low``, ``nnt_high`` from the CI limits of the risk ratio (ordered low to high when
        the interval excludes no difference, else NaN: an NNT interval through infinity).

    References
    ----------
    Schünemann, H. J., et al. (2023). Chapter 14: Completing 'Summary of findings' tables and
    grading the certainty of the evidence. *Cochrane Handbook*, version 6.4, section 14.1.5.
    Altman, D. G. (1998). Confidence intervals for the number needed to treat. *BMJ*, 317, 1309.
    """
    risk = _capped(control_risk * rr)
    lo, hi = _capped(control_risk * rr_low), _capped(control_risk * rr_high)
    diff = risk - control_risk
    nnt = math.inf if diff == 0 else 1 / diff
    d_lo, d_hi = lo - control_risk, hi - control_risk
    if d_lo > 0 or d_hi < 0:
        nnt_low, nnt_high = sorted((1 / d_lo, 1 / d_hi))
    else:
        nnt_low = nnt_high = math.nan
    return {
        "control": round(per * control_risk), "intervention": round(per * risk), "low": round(per * lo),
        "high": round(per * hi), "difference": round(per * diff), "risk_control": control_risk,
        "risk_intervention": risk, "nnt": nnt, "nnt_low": nnt_low, "nnt_high": nnt_high,
    }


def smd_absolute_effects(control_risk: float, g: float, g_low: float, g_high: float, per: int = 1000) -> dict:
    """Anticipated response per ``per`` patients from a standardised mean difference at an assumed
    control response rate, by the normal-distribution conversion (Furukawa, 1999): the response rate
    with the intervention is Φ(g + Φ⁻¹(control risk)), the same conversion as
    :func:`analysis.meta.conversions.nnt_from_smd`.

    Returns
    -------
    dict
        ``control``, ``intervention``, ``low``, ``high`` per ``per`` (rounded), ``more_low`` and
        ``more_high`` (the CI of the difference from the control, per ``per``, rounded once from the
        unrounded risks, as :func:`analysis.review.plain_language.more_people` rounds the estimate), ``risk_control``, ``risk_intervention`` (proportions) and ``nnt`` (1 / the risk difference).

    References
    ----------
    Furukawa, T. A. (1999). From effect size into number needed to treat. *Lancet*, 353, 1680.
    Schünemann, H. J., et al. (2023). *Cochrane Handbook*, version 6.4, section 15.5.4.3.
    """
    from scipy import stats

    if not 0 < control_risk < 1:
        raise ValueError(f"the control risk must lie strictly between 0 and 1, got {control_risk}")
    z = stats.norm.ppf(control_risk)
    risk, lo, hi = (float(stats.norm.cdf(x + z)) for x in (g, g_low, g_high))
    diff = risk - control_risk
    control, low, high = round(per * control_risk), round(per * lo), round(per * hi)
    return {"control": control, "intervention": round(per * risk), "low": low, "high": high,
            "more_low": round(per * (lo - control_risk)), "more_high": round(per * (hi - control_risk)), "risk_control": control_risk,
            "risk_intervention": risk,
            "nnt": math.inf if g == 0 or diff == 0 else 1 / diff}  # Φ(Φ⁻¹(p)) is p only to rounding
