"""Words about a network's mean differences against a minimal important difference, on every
version of a scale and on the one version the criterion is defined on; each a tested function."""

from __future__ import annotations

import pandas as pd

from analysis.review.wording import counted, listing

#: What a drug's CI does against the MID, by :func:`analysis.review.network.against_mid`'s verdict
#: (singular, plural).
_AGAINST_MID = {"beyond the MID": ("lies wholly beyond it", "lie wholly beyond it"),
                "may reach the MID": ("may reach it", "may reach it"),
                "smaller than the MID": ("falls short of it", "fall short of it")}


def mid_judgement_on_one_version(pooled: pd.DataFrame, one_version: pd.DataFrame, mid: float, version: str) -> str:
    """Whether the judgement against the MID (:func:`analysis.review.network.against_mid`) of the
    network of every HAM-D version holds on the network of the one ``version`` the criterion is
    defined on: the same for every drug in both, or which drugs move (grouped by how), and how
    many drugs of the pooled network the one-version network lacks. Both are ``versus_reference``
    tables."""
    from analysis.review.network import against_mid

    def verdicts(vs):
        return {r.treatment: against_mid(r.md, r.ci_low, r.ci_high, mid) for r in vs.itertuples()}

    first, second = verdicts(pooled), verdicts(one_version)
    both = [t for t in first if t in second]
    moves: dict = {}
    for t in both:
        if first[t] != second[t]:
            moves.setdefault((first[t], second[t]), []).append(t)
    text = f"on {version} alone, the version the criterion is defined on, the judgement against the MID "
    if not moves:
        text += f"is the same for all {len(both)} drugs in both networks"
    else:
        groups = []
        for (was, now), drugs in moves.items():
            many = int(len(drugs) > 1)
            groups.append(f"{listing(drugs)} {_AGAINST_MID[was][many]} on every version but "
                          f"{_AGAINST_MID[now][many]} on that version alone")
        text += (f"changes for {sum(map(len, moves.values()))} of the {len(both)} drugs in both networks: "
                 + "; ".join(groups))
    missing = len(first) - len(both)
    return text + ("" if not missing else f"; {counted(missing, 'drug')} of the network of every version "
                                          f"{'has' if missing == 1 else 'have'} no trial on {version} alone")
