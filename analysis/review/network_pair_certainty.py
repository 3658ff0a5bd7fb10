"""Certainty of every drug-against-drug estimate of the network, by the rules that rate each drug
against placebo (:mod:`analysis.review.network_certainty`), applied to each pair of the league
table:

- reporting bias: the worse of the two drugs' judgements against placebo (Peters' test on each
  drug's placebo-controlled trials); the pair's own trials are too few to test in all but a handful;
- indirectness and within-study bias: as against placebo (not downgraded; every rating an upper bound);
- imprecision and heterogeneity: the pair's 95% CI and prediction interval against the same odds
  ratio thresholds as against placebo (the review's minimal important difference at the median
  placebo risk; for two drugs an approximation, since the risk on the comparator drug is not the
  risk on placebo);
- incoherence: the node-split of the pair where it has direct and indirect evidence, otherwise the
  design-by-treatment test of the whole network.

CINeMA rates every comparison of the network, not only those against placebo (Nikolakopoulou et
al., 2020); these rules follow it in that, with the simplifications stated above.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.review.grade import certainty
from analysis.review.grade_rules import MID
from analysis.review.network_certainty import (DOMAINS, heterogeneity, imprecision, incoherence, network_certainty,
                                               thresholds)


def pair_certainty(analysis: dict, arms: pd.DataFrame, rr_mid: float = MID["RR"], alpha: float = 0.05,
                   against_reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every pair of drugs (the reference left out), as :func:`network_certainty` rates each drug
    against the reference: ``treatment``, ``versus``, ``or``, ``ci_low``, ``ci_high``, ``pi_low``,
    ``pi_high``, each domain's downgrade and ``<domain>_reason``, and ``certainty``.
    ``against_reference``: that :func:`network_certainty` table when it is already computed
    (with the same ``rr_mid`` and ``alpha``)."""
    data, fit = analysis["data"], analysis["fit"]
    ref = data.treatments[0]
    if against_reference is None:
        against_reference = network_certainty(analysis, arms, rr_mid, alpha)
    vs_ref = against_reference.set_index("treatment")
    marks = thresholds(rr_mid, float(vs_ref["control_risk"].iloc[0]), analysis["larger_is_better"])
    league = fit.league()
    league = league[(league["treat1"] != ref) & (league["treat2"] != ref)]
    rows = []
    for r in league.itertuples():
        est, low, high, pi_low, pi_high = np.exp([r.estimate, r.ci_low, r.ci_high, r.pi_low, r.pi_high])
        worse = min((r.treat1, r.treat2), key=lambda d: vs_ref.loc[d, "reporting_bias"])
        down = int(vs_ref.loc[worse, "reporting_bias"])
        judged = {
            "within_study_bias": (0, "no risk-of-bias assessment in the release; not assessed by rule"),
            "reporting_bias": (down, f"{worse}: {vs_ref.loc[worse, 'reporting_bias_reason']}" if down else
                               "neither drug's placebo-controlled trials show small-study effects by rule"),
            "indirectness": (0, "adults with major depression randomised to the drugs compared, as asked"),
            "imprecision": imprecision(low, high, marks),
            "heterogeneity": heterogeneity(low, high, pi_low, pi_high, marks),
            "incoherence": incoherence(analysis["node_split"], r.treat1, r.treat2, analysis["design_by_treatment"], alpha),
        }
        row = {"treatment": r.treat1, "versus": r.treat2, "or": est, "ci_low": low, "ci_high": high,
               "pi_low": pi_low, "pi_high": pi_high}
        for domain, (d, reason) in judged.items():
            row[domain], row[f"{domain}_reason"] = d, reason
        row["certainty"] = certainty({d: {"downgrade": judged[d][0]} for d in DOMAINS})
        rows.append(row)
    return pd.DataFrame(rows)


def pair_certainty_download(table: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """:func:`pair_certainty` for the chapter's CSV download: the numbers, the concern in each
    domain and the reasons."""
    out = table[["treatment", "versus"]].copy()
    out.insert(0, "outcome", outcome)
    for c in ("or", "ci_low", "ci_high", "pi_low", "pi_high"):
        out[c] = table[c].round(4)
    for d in DOMAINS:
        out[d] = table[d]
        out[f"{d}_reason"] = table[f"{d}_reason"]
    out["certainty"] = table["certainty"]
    return out
