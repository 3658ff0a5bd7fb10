"""Words about a network's mean differences against a minimal important difference, on every
version of a scale and on the one version the criterion is defined on; each a tested function."""

from __future__ import annotations

import pandas as pd

from analysis.review.wording import counted, listing

def mid_judgement_on_one_version(pooled: pd.DataFrame, one_version: pd.DataFrame, mid: float, version: str,
                                 trials: tuple[int, int] | None = None) -> str:
    """Whether the judgement against the minimal important difference
    (:func:`analysis.review.network.against_mid`, whose verdicts the chapter's tables print) of the
    network of every HAM-D version holds on the network of the one ``version`` the criterion is
    defined on: the same for every drug the two networks share, or which drugs move (grouped by
    how); how many drugs of the pooled network the one-version network lacks; and, with
    ``trials`` (the trials of each network), that the second is a subset of the trials, so a change
    mixes the scale with the trials. Both are ``versus_reference`` tables."""
    from analysis.review.network import against_mid

    def verdicts(vs):
        return {r.treatment: against_mid(r.md, r.ci_low, r.ci_high, mid) for r in vs.itertuples()}

    first, second = verdicts(pooled), verdicts(one_version)
    both = [t for t in first if t in second]
    moves: dict = {}
    for t in both:
        if first[t] != second[t]:
            moves.setdefault((first[t], second[t]), []).append(t)
    text = (f"on {version} alone, the version the criterion is defined on, the judgement against the minimal "
            "important difference ")
    if not moves:
        text += f"is the same for all {len(both)} drugs the two networks share"
    else:
        groups = [f"{listing(drugs)} ({was} on every version, {now} on {version} alone)"
                  for (was, now), drugs in moves.items()]
        text += (f"changes between the two networks for {sum(map(len, moves.values()))} of the {len(both)} drugs "
                 "they share: " + "; ".join(groups))
    missing = len(first) - len(both)
    if missing:
        text += (f"; {counted(missing, 'drug')} of the network of every version "
                 f"{'has' if missing == 1 else 'have'} no trial on {version} alone")
    if trials is not None:
        text += (f"; the {version} network has {trials[1]:,} of the {trials[0]:,} trials, so a change mixes the "
                 "version of the scale with the trials that use it")
    return text
