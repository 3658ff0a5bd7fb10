"""Verdicts on claims, and comparisons between estimates, as tested functions of the numbers.

A claim is judged on its own scale against the interval the data give for it; one estimate
is "larger" than another only when a test of their difference says so.
"""

from __future__ import annotations

import math

from scipy import special


def against_interval(claimed: float, low: float, high: float) -> str:
    """Verdict on a claimed figure given the interval the data give for the same quantity.

    Returns ``"reproduced"`` when the claimed value lies inside ``[low, high]``,
    ``"overstated"`` when above it and ``"understated"`` when below it.
    """
    if any(math.isnan(x) for x in (claimed, low, high)):
        raise ValueError("a verdict needs a claimed value and a finite interval")
    if low <= claimed <= high:
        return "reproduced"
    return "overstated" if claimed > high else "understated"


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
    if test["p"] >= alpha:
        return "not significantly different"
    return "larger" if test["difference"] > 0 else "smaller"


def subgroups_differ(p_between: float, alpha: float = 0.05) -> bool:
    """Whether a test for subgroup differences is significant at ``alpha``."""
    return p_between < alpha
