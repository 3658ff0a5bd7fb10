"""Verdicts on claims, and comparisons between estimates, as tested functions of the numbers.

A claim is judged by its difference from the re-derived value, with its interval, against the
protocol's equivalence margin (:func:`agreement`); one estimate is "larger" than another only when a
test of their difference says so.
"""

from __future__ import annotations

import math

from scipy import special


def excludes(low: float, high: float, null: float = 0.0) -> bool:
    """Whether the interval excludes the null value (a significant result at its level)."""
    return low > null or high < null


def difference_test(est1: float, se1: float, est2: float, se2: float) -> dict:
    """z-test of the difference between two independent estimates (Altman & Bland, 2003).

    Returns
    -------
    dict
        ``difference`` (est1 - est2), ``se``, ``z``, ``p`` (two-sided).

    References
    ----------
    Altman, D. G., & Bland, J. M. (2003). Interaction revisited: the difference between two
    estimates. *BMJ*, 326, 219.
    """
    diff = est1 - est2
    se = math.sqrt(se1**2 + se2**2)
    z = diff / se
    return {"difference": diff, "se": se, "z": z, "p": float(2 * special.ndtr(-abs(z)))}


def compare(est1: float, se1: float, est2: float, se2: float, alpha: float = 0.05) -> str:
    """``"larger"`` or ``"smaller"`` (the first against the second) only when the z-test of the
    difference is significant at ``alpha``; otherwise ``"not significantly different"``."""
    test = difference_test(est1, se1, est2, se2)
    return contrast_word(test["difference"], test["p"], alpha)


def contrast_word(difference: float, p: float, alpha: float = 0.05) -> str:
    """``"larger"`` or ``"smaller"`` (the sign of ``difference``) when its test's ``p`` is below
    ``alpha``; otherwise ``"not significantly different"``."""
    if p >= alpha:
        return "not significantly different"
    return "larger" if difference > 0 else "smaller"


def subgroups_differ(p_between: float, alpha: float = 0.05) -> bool:
    """Whether a test for subgroup differences is significant at ``alpha``."""
    return p_between < alpha


#: The outcomes of :func:`agreement`, in the order the book explains them.
AGREEMENT_VERDICTS = ("reproduced", "overstated", "understated", "inconclusive")
Z95 = 1.959963984540054


def _half_width(low: float | None, high: float | None, log: bool) -> float:
    """Half the width of a 95% interval on the analysis scale (0 when no interval is given)."""
    if low is None or high is None or any(math.isnan(float(x)) for x in (low, high)):
        return 0.0
    lo, hi = (math.log(low), math.log(high)) if log else (float(low), float(high))
    if hi < lo:
        raise ValueError(f"an interval needs low <= high, got {low} to {high}")
    return (hi - lo) / 2


def agreement(claimed: float, estimate: float, low: float, high: float, margin: float,
              claimed_low: float | None = None, claimed_high: float | None = None, log: bool = False) -> dict:
    """Does a claimed value agree with the re-derived one? The difference with its 95% interval
    against an equivalence margin (two one-sided tests, Schuirmann 1987; Walker & Nowacki 2011).

    The difference is ``claimed - estimate`` (on the log scale when ``log``, for ratios and rates).
    Its interval combines the claim's own uncertainty (half the width of its reported 95% CI,
    ``claimed_low``/``claimed_high``; none when the claim gives no interval) with the re-derivation's
    (half the width of ``low``/``high``, which keeps a t-based or robust interval's width) as
    ``sqrt(h_claim² + h_data²)``. The claim and the re-derivation share most trials, so their errors
    are positively correlated, with a correlation the data do not give; for any correlation from 0 to 1
    the interval of the difference is at most this one, so it is the conservative bound: it neither
    declares agreement nor disagreement on less uncertainty than there is.

    Verdicts, with ``m`` the margin (on the same scale: ``log(MID)`` for ratios):

    - ``"reproduced"``: the interval lies within ``(-m, m)`` (equivalence shown);
    - ``"overstated"``: the interval lies above ``m`` (the claim exceeds the data by more than the margin);
    - ``"understated"``: the interval lies below ``-m``;
    - ``"inconclusive"``: anything else (the interval reaches beyond the margin and does not exclude it).

    Returns
    -------
    dict
        ``difference``, ``ci_low``, ``ci_high`` (of the difference), ``margin``, ``verdict``.

    References
    ----------
    Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure and the power approach
    for assessing the equivalence of average bioavailability. *J Pharmacokinet Biopharm*, 15, 657-680.
    Walker, E., & Nowacki, A. S. (2011). Understanding equivalence and noninferiority testing.
    *J Gen Intern Med*, 26, 192-196.
    """
    values = (claimed, estimate, low, high, margin)
    if any(x is None or math.isnan(float(x)) for x in values):
        raise ValueError("an agreement verdict needs a claimed value, an estimate, its interval and a margin")
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be > 0, got {margin}")
    point = (lambda x: math.log(x)) if log else float
    diff = point(claimed) - point(estimate)
    half = math.hypot(_half_width(claimed_low, claimed_high, log), _half_width(low, high, log))
    lo, hi = diff - half, diff + half
    if -margin < lo and hi < margin:
        verdict = "reproduced"
    elif lo > margin:
        verdict = "overstated"
    elif hi < -margin:
        verdict = "understated"
    else:
        verdict = "inconclusive"
    return {"difference": diff, "ci_low": lo, "ci_high": hi, "margin": margin, "verdict": verdict}


def margin_for(measure: str) -> float:
    """The protocol's equivalence margin for a verdict on ``measure``: the minimal important
    difference of :data:`analysis.review.grade_rules.MID`, on the scale :func:`agreement` works on
    (g for ``"SMD"``; the log of the MID risk ratio for ``"RR"`` and for a response rate, ``"rate"``,
    whose claimed and pooled values are compared as a ratio)."""
    from analysis.review.grade_rules import MID

    if measure == "SMD":
        return MID["SMD"]
    if measure in ("RR", "rate"):
        return math.log(MID["RR"])
    raise ValueError(f"no equivalence margin for measure '{measure}' (SMD, RR or rate)")
