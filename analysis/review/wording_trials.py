"""Words about which trials and comparisons an analysis pools, each a tested function of its rows."""

from __future__ import annotations

from analysis.review.wording import counted, describe_multiarm, listing

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


def multiarm_difference(counts: dict, therapy: str) -> str:
    """Why the comparisons from multi-arm trials and the comparisons from trials that give more than
    one differ in number, in a sentence from
    :func:`analysis.review.psychotherapy.multiarm_counts`: "The 114 comparisons from 66 multi-arm
    trials and these 86 differ because 28 multi-arm trials give only one CBT comparison with a
    control condition, so nothing in them is shared: in 27 the other arms are of another therapy
    and in 1 the other arms are not in the file, which holds only comparisons of psychotherapies with
    control conditions."
    """
    c = counts
    if not c["single"] and not c["shared_unflagged"]:
        return (f"Every comparison from a multi-arm trial is among these: each multi-arm trial gives more "
                f"than one {therapy} comparison.")
    head = (f"The {describe_multiarm(c['multiarm_k'], c['multiarm_trials'])} and these {c['n_shared']:,} differ "
            if c["multiarm_k"] else f"No comparison comes from a trial the release flags as multi-arm, yet "
            f"{c['n_shared']:,} share a trial ")
    reasons = []
    if c["single"]:
        kinds = [(c["single_other_therapy"], "are of another therapy"),
                 (c["single_outside"], "are not in the file, which holds only comparisons of psychotherapies "
                                       "with control conditions"),
                 (c["single_other"], f"are {therapy} comparisons that are not pooled")]
        where = listing([f"in {n:,} the other arms {what}" for n, what in kinds if n])
        verb = "gives" if c["single"] == 1 else "give"
        reasons.append(f"{counted(c['single'], 'multi-arm trial')} {verb} only one {therapy} comparison with a "
                       f"control condition, so nothing in {'it' if c['single'] == 1 else 'them'} is shared: {where}")
    if c["shared_unflagged"]:
        verb = "gives" if c["shared_unflagged"] == 1 else "give"
        reasons.append(f"{counted(c['shared_unflagged'], 'trial')} that the release does not flag as multi-arm "
                       f"{verb} more than one")
    return head + "because " + "; and ".join(reasons) + "."
