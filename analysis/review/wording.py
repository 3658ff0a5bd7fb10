"""The wording of data-dependent phrases: each word is a tested function of the numbers."""

from __future__ import annotations


def format_p(p: float) -> str:
    """A p-value as reported in the text: three decimals, or "< 0.001"."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"



def describe_i2(i2: float) -> str:
    """I² in words, by the overlapping bands of the Cochrane Handbook (section 10.10.2)."""
    if i2 < 30:
        return "might not be important"
    if i2 < 50:
        return "may be moderate"
    if i2 < 75:
        return "may be substantial"
    return "considerable"


def describe_test(p: float, alpha: float = 0.05) -> str:
    """'finds' or 'does not find', for a test at level ``alpha``."""
    return "finds" if p < alpha else "does not find"


def significance(ci_low: float, ci_high: float, null: float = 0.0) -> str:
    """'significant' when the confidence interval excludes the null value, else 'not significant'."""
    return "significant" if ci_low > null or ci_high < null else "not significant"


def direction(estimate: float, null: float = 0.0) -> str:
    """Which arm the point estimate favours (higher = better outcome, e.g. response or g)."""
    return "favours the intervention" if estimate > null else "favours the control" if estimate < null else "no difference"


def describe_prediction(pi_low: float, pi_high: float, null: float = 0.0) -> str:
    """What a prediction interval says about the effect in a new study, in words."""
    if pi_low > null:
        return "a new trial would be expected to show benefit"
    if pi_high < null:
        return "a new trial would be expected to show harm"
    return "the effect in a new trial could lie anywhere from harm to benefit"


def acronym(name: str) -> str:
    """A short one-word label in capitals (``cbt`` -> ``CBT``, ``ssri`` -> ``SSRI``); longer
    names and phrases as they are (``placebo``, ``other psy``)."""
    return name.upper() if name.isalpha() and len(name) <= 4 else name


def comparison_label(key: str) -> str:
    """``ssri_placebo`` -> ``SSRI vs placebo``."""
    return " vs ".join(acronym(part) for part in key.split("_"))


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """A counted noun: ``1 study``, ``2 studies``, ``0 comparisons``."""
    if n == 1:
        return f"{n:,} {noun}"
    if plural_form is None:
        plural_form = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
    return f"{n:,} {plural_form}"


def estimate_with_ci(estimate: float, low: float, high: float, digits: int = 2) -> str:
    """``0.41 (0.37 to 0.45)``, or ``not fitted`` where the estimate is missing."""
    if estimate != estimate:  # NaN
        return "not fitted"
    return f"{estimate:.{digits}f} ({low:.{digits}f} to {high:.{digits}f})"


def more_or_fewer(difference: int, noun: str = "") -> str:
    """A signed count in words: ``44 more``, ``7 fewer``, ``no more and no fewer``."""
    tail = f" {noun}" if noun else ""
    if difference > 0:
        return f"{difference:,} more{tail}"
    if difference < 0:
        return f"{-difference:,} fewer{tail}"
    return f"no more and no fewer{tail}"
