"""Data-dependent words of the abstract, the plain-language summary and the bottom line.

Each function turns numbers into the words a lay reader gets, so the words change when the data
do; each is tested (tests/test_reader_words.py). The plain-language summary is checked for
readability (Flesch reading ease of at least 50) on the built page.
"""

from __future__ import annotations

HEDGES = {
    "high": "We are confident that",
    "moderate": "It is probably true that",
    "low": "It may be that",
    "very low": "We are very unsure whether",
}


def hedge(certainty: str) -> str:
    """How sure the words sound, by the GRADE certainty (Cochrane's plain-language guidance)."""
    return HEDGES[certainty.strip().lower()]


def out_of(rate: float, base: int = 100) -> int:
    """A rate as whole people out of ``base`` (0.4612 -> 46 out of 100)."""
    return int(round(rate * base))


def more_people(treat_rate: float, ctrl_rate: float, base: int = 100) -> str:
    """'6 more people' / '2 fewer people' / 'about the same number of people' out of ``base``.

    The difference is rounded once, from the unrounded rates, as a GRADE Summary of Findings
    table computes its absolute effect (Schünemann et al., Cochrane Handbook 6.4, section 14.1.5):
    0.364 against 0.186 is 18 more out of 100 (17.8), although the rates shown beside it, 36 and
    19, differ by 17: the difference of two rounded figures carries both rounding errors."""
    diff = out_of(treat_rate - ctrl_rate, base)
    if diff == 0:
        return "about the same number of people"
    noun = "person" if abs(diff) == 1 else "people"
    return f"{abs(diff)} {'more' if diff > 0 else 'fewer'} {noun}"


def effect_words(ci_low: float, ci_high: float, null: float) -> str:
    """What an interval says, in plain words: 'helps', 'harms' or 'may make little or no difference'
    (higher = better: response, or a standardised improvement)."""
    if ci_low > null:
        return "helps"
    if ci_high < null:
        return "does worse"
    return "may make little or no difference"


def side_effect_words(rr_low: float, rr_high: float) -> str:
    """Discontinuation because of side effects (a risk ratio above 1 is more stopping on the drug)."""
    if rr_low > 1:
        return "more people stop taking it because of side effects"
    if rr_high < 1:
        return "fewer people stop taking it because of side effects"
    return "about as many people stop taking it because of side effects"


def claim_by_certainty(certainty: str, subject: str, verb: str, rest: str) -> str:
    """A finding said as surely as its GRADE certainty allows (Cochrane's plain-language wording):
    high: "SSRIs help ..."; moderate: "SSRIs probably help ..."; low: "SSRIs may help ...";
    very low: "We are very uncertain whether SSRIs help ..."."""
    level = certainty.strip().lower()
    if level == "high":
        return f"{subject} {verb}s {rest}" if not subject.endswith("s") else f"{subject} {verb} {rest}"
    if level == "moderate":
        return f"{subject} probably {verb}{'' if subject.endswith('s') else 's'} {rest}"
    if level == "low":
        return f"{subject} may {verb} {rest}"
    return f"We are very uncertain whether {subject} {verb}{'' if subject.endswith('s') else 's'} {rest}"
