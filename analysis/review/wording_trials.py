"""Words about which trials and comparisons an analysis pools, each a tested function of its rows."""

from __future__ import annotations

from analysis.review.wording import listing

#: Initial letters that an acronym spoken letter by letter begins with a vowel sound ("an SSRI", "an MAOI").
_VOWEL_LETTERS = set("AEFHILMNORSX")


def indefinite(noun: str) -> str:
    """``noun`` with its indefinite article: "an SSRI", "a TCA", "an antidepressant", "a drug"; an
    acronym (all capitals) is read letter by letter."""
    text = str(noun).strip()
    if text.isupper():
        vowel = text[0] in _VOWEL_LETTERS
    else:
        vowel = text[:1].lower() in set("aeiou")
    return f"{'an' if vowel else 'a'} {text}"


def trials_by_comparator(studies, comparators) -> str:
    """The trials of a comparison, grouped by what they compare against, in their first order and
    without brackets, so that the list can stand inside a parenthesis: "Mynor-Wallis 2000 and
    Williams 2000 against an SSRI, Mynor-Wallis 1995 against a TCA".

    Parameters
    ----------
    studies : sequence of str
        The trials' names.
    comparators : sequence of str
        Each trial's comparator, in the same order.
    """
    groups: dict[str, list[str]] = {}
    for study, comparator in zip(studies, comparators):
        groups.setdefault(str(comparator).strip(), []).append(str(study).strip())
    parts = [f"{listing(names)} against {indefinite(comparator)}" for comparator, names in groups.items()]
    return ", ".join(parts)  # commas between groups: each group's names are joined by "and"
