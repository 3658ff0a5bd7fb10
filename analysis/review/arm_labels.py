"""What the arm names in the psychotherapy labels mean ("Berger, 2011: guided i-cbt vs wl").

A label names a multi-arm trial's two arms as the Metapsy release writes them
(:func:`analysis.review.importers.metapsy.arm_words`): either a condition code its data dictionary
defines ("wl= waitlist") or a free-text specification of the arm (its ``multi_arm1`` and
``multi_arm2`` columns), which the dictionary does not define ("tbct"). The legend says which is
which, from the dictionary and the labels, so that no code is left unexplained and no meaning is
guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Mapping

from analysis.review.characteristics import read_release_dictionary
from analysis.review.wording import counted, listing

#: The dictionary entries whose codes a label can use.
CONDITION_COLUMNS = ("condition_arm1", "condition_arm2")


def dictionary_codes(entries: Mapping[str, str], columns: Iterable[str] = CONDITION_COLUMNS) -> dict[str, str]:
    """Code -> meaning, verbatim, from the bracketed lists of the dictionary's entries for
    ``columns`` ("Type of comparator (cau= care as usual, wl= waitlist, ...)"); the first
    definition of a code wins."""
    codes: dict[str, str] = {}
    for column in columns:
        for inner in re.findall(r"\(([^()]*=[^()]*)\)", str(entries.get(column, ""))):
            for part in inner.split(","):
                code, sep, meaning = part.partition("=")
                if sep and code.strip() and meaning.strip():
                    codes.setdefault(" ".join(code.split()), " ".join(meaning.split()))
    return codes


def release_codes(path, columns: Iterable[str] = CONDITION_COLUMNS) -> dict[str, str]:
    """:func:`dictionary_codes` of a release's data dictionary file (read and checked by
    :func:`analysis.review.characteristics.read_release_dictionary`, which names the file on bad input)."""
    columns = tuple(columns)
    entries = read_release_dictionary(path, {c: c for c in columns})
    return dictionary_codes(dict(zip(entries["characteristic"], entries.iloc[:, 1])), columns)


def arm_names(labels: Iterable[str]) -> Counter:
    """How many labels name each arm: the part after the study's colon, split at " vs ", without
    the " #2" that numbers labels still equal."""
    names: Counter = Counter()
    for text in labels:
        _, colon, arms = str(text).partition(": ")
        if colon:
            names.update(re.sub(r" #\d+$", "", arm).strip() for arm in arms.split(" vs "))
    return names


def arm_legend(labels: Iterable[str], codes: Mapping[str, str], examples: int = 3) -> str:
    """One sentence for a figure or a table whose labels name arms: what each dictionary code used
    means, and how many of the other names are free-text specifications the dictionary does not
    define, with the most frequent one-word ones as examples. "" when no label names an arm."""
    names = arm_names(labels)
    if not names:
        return ""
    defined = [n for n in sorted(names, key=lambda n: (-names[n], n)) if n in codes]
    free = [n for n in sorted(names, key=lambda n: (" " in n, -names[n], n)) if n not in codes]
    text = "After a multi-arm trial's name, a label gives the two arms it compares, as the release names them"
    if defined:
        text += "; in the release's data dictionary (quoted as written, slips and all), " + listing([f"{n} is “{codes[n]}”" for n in defined])
    if free:
        one = len(free) == 1
        text += (f"; {counted(len(free), 'other name' if defined else 'name')} ("
                 f"{'' if one else 'such as '}{listing(free[:examples])}) "
                 f"{'is' if one else 'are'} the release's free-text "
                 f"{'specification' if one else 'specifications'} of a multi-arm trial's arms, "
                 "which the dictionary does not define")
    return text + "."
