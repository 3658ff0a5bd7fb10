"""Every claim's verdict in one table, computed once for the register, the abstract and the chapters.

A claim of ``kind`` ``effect`` with open data (``testable_with``) is judged by
:func:`analysis.review.verdicts.agreement` against its re-derivation: C01 (SSRI vs placebo, the claimed
response rates as a risk ratio), C03 (CBT vs control, g, with the claim's own interval) and C04
(problem-solving therapy vs antidepressants, risk ratio). Every other claim gets the status its kind
gives it: not testable (no open data), checked against the publication it cites, not quantitative
(a mechanism), or outside the scope of trial data.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from analysis.meta.conversions import from_proportions
from analysis.review.verdicts import agreement, margin_for

KINDS = {
    "effect": "a treatment effect or response rate",
    "citation": "a figure about the publication the source cites, checked against that publication",
    "mechanism": "a statement about mechanism, not quantitative",
    "context": "a figure outside the scope of trial data (a survey, physiology)",
}
STATUS = {
    "effect": "not testable: no open trial-level data",
    "citation": "checked against the cited publication (not a re-derivation)",
    "mechanism": "not quantitative: weighed narratively",
    "context": "outside the scope of trial data",
}
COLUMNS = ["claim_id", "kind", "quantity", "claimed", "re-derived (95% CI)", "difference (95% CI)", "verdict"]


def _binary(ev) -> tuple[float, float, float]:
    m = ev.model
    return float(np.exp(m.estimate)), float(np.exp(m.ci_low[0])), float(np.exp(m.ci_high[0]))


def binary_claim_agreement(claim, ev) -> tuple[float, dict]:
    """A claim of two response rates (``treat_value``, ``ctrl_value``, in per cent) judged as the
    risk ratio they imply against the pooled risk ratio of ``ev`` (:func:`agreement` on the log
    scale, margin ``margin_for("RR")``; the claim gives no interval, so its own uncertainty counts
    as none). Returns the claimed risk ratio and the result of :func:`agreement`."""
    claimed = from_proportions(claim["treat_value"] / 100, claim["ctrl_value"] / 100)["rr"]
    est, low, high = _binary(ev)
    return claimed, agreement(claimed, est, low, high, margin_for("RR"), log=True)


def rate_agreement(claimed_pct: float, rate: dict) -> dict:
    """A claimed response rate (per cent) against a pooled rate (``rate``, ``ci_low``, ``ci_high`` as
    proportions): :func:`agreement` on the log scale, as a ratio, with margin ``margin_for("rate")``."""
    return agreement(claimed_pct, 100 * rate["rate"], 100 * rate["ci_low"], 100 * rate["ci_high"],
                     margin_for("rate"), log=True)


def _row(cid, kind, quantity, claimed, est, low, high, result, log) -> dict:
    f = math.exp if log else float
    return {"claim_id": cid, "kind": kind, "quantity": quantity, "claimed": f"{claimed:.2f}",
            "re-derived (95% CI)": f"{est:.2f} ({low:.2f} to {high:.2f})",
            "difference (95% CI)": (f"ratio {f(result['difference']):.2f} ({f(result['ci_low']):.2f} to "
                                    f"{f(result['ci_high']):.2f})" if log else
                                    f"{result['difference']:.2f} ({result['ci_low']:.2f} to {result['ci_high']:.2f})"),
            "verdict": result["verdict"]}


def claim_verdicts(register: pd.DataFrame, ssri=None, cbt=None, pst_ad=None) -> pd.DataFrame:
    """One row per claim of the register (:data:`COLUMNS`): the verdict of each claim that open data
    test (``ssri``, ``cbt``, ``pst_ad``: the :class:`analysis.review.comparisons.Evidence` of each
    comparison, the CBT one from :func:`analysis.review.psychotherapy.psychotherapy_control`, whose
    primary analysis is judged), else the status of its kind (:data:`STATUS`)."""
    rows = {}
    for cid, ev in (("C01", ssri), ("C04", pst_ad)):
        if ev is not None and cid in register.index:
            c = register.loc[cid]
            claimed, result = binary_claim_agreement(c, ev)
            est, low, high = _binary(ev)
            rows[cid] = _row(cid, c["kind"], "risk ratio of response", claimed, est, low, high, result, True)
    if cbt is not None and "C03" in register.index:
        c, p = register.loc["C03"], cbt.extra["primary"]
        result = agreement(c["effect"], p["estimate"], p["ci_low"], p["ci_high"], margin_for("SMD"),
                           claimed_low=c["ci_low"], claimed_high=c["ci_high"])
        rows["C03"] = _row("C03", c["kind"], "Hedges' g", c["effect"], p["estimate"], p["ci_low"], p["ci_high"],
                           result, False)
    out = []
    for cid, c in register.iterrows():
        with_data = str(c.get("testable_with", "") or "").strip() not in ("", "nan")
        status = "not judged here: its evidence was not given" if with_data else STATUS[c["kind"]]
        out.append(rows.get(cid) or {"claim_id": cid, "kind": c["kind"], "quantity": c["outcome"], "claimed": "",
                                     "re-derived (95% CI)": "", "difference (95% CI)": "", "verdict": status})
    return pd.DataFrame(out, columns=COLUMNS)


def judged(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`claim_verdicts` that open data judged (those with a difference)."""
    return table[table["difference (95% CI)"] != ""]


def _text(value) -> str:
    return "" if pd.isna(value) else str(value).strip()


def claim_label(claim) -> str:
    """A claim named by what it says, from its register row: ``SSRIs, response 48% vs 30% on
    placebo`` (a pair of percentages) or ``CBT, g = 0.79 against control conditions`` (an effect);
    a parenthesis in the comparator is dropped; else the intervention and outcome."""
    who, outcome = _text(claim.get("intervention")), _text(claim.get("outcome"))
    versus = re.sub(r"\s*\(.*?\)", "", _text(claim.get("comparator"))).strip()
    treat, ctrl, effect = claim.get("treat_value"), claim.get("ctrl_value"), claim.get("effect")
    if pd.notna(treat) and pd.notna(ctrl):
        return f"{who}, {outcome} {treat:g}% vs {ctrl:g}% on {versus}"
    if pd.notna(effect):
        return f"{who}, {_text(claim.get('measure')) or 'effect'} = {effect:g} against {versus}"
    return f"{who}, {outcome}".strip(", ")


def verdict_summary(table: pd.DataFrame, register: pd.DataFrame) -> str:
    """The verdicts of the judged claims in one phrase, each claim named by :func:`claim_label`
    (``SSRIs, response 48% vs 30% on placebo: inconclusive; ...``; ``no claim was judged`` when
    none was)."""
    rows = judged(table)
    return "; ".join(f"{claim_label(register.loc[c])}: {v}" for c, v in zip(rows["claim_id"], rows["verdict"])) \
        or "no claim was judged"
