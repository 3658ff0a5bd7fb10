"""GRADE certainty of evidence from stored judgments, beside the indicators that inform them.

Judgments are data (``data/grade.csv``): for each comparison, a downgrade of 0, -1 or -2 on each
of the five GRADE domains with its rationale. Evidence from randomised trials starts at high.

References
----------
Guyatt, G. H., et al. (2008). GRADE: an emerging consensus on rating quality of evidence and
strength of recommendations. *BMJ*, 336, 924-926. Schünemann, H. J., et al. (2023). Completing
'Summary of findings' tables and grading the certainty of the evidence. *Cochrane Handbook*, ch. 14.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.meta.fit import MetaResult
from analysis.review.wording import comparison_label
from analysis.review.trials import LINE, DataError, Problem, read_rows

DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
LEVELS = ("very low", "low", "moderate", "high")


def read_grade(path: str | Path) -> pd.DataFrame:
    """Read the GRADE judgments; each domain must be 0, -1 or -2 and carry a rationale."""
    name = str(path)
    frame = read_rows(path)
    required = ("comparison", "outcome") + DOMAINS + tuple(f"rationale_{d}" for d in DOMAINS)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError([Problem(name, 1, c, "required column is missing") for c in missing])
    problems = []
    for d in DOMAINS:
        for line, value in zip(frame[LINE], frame[d]):
            if value.strip() not in ("0", "-1", "-2"):
                problems.append(Problem(name, int(line), d, f"'{value}' is not 0, -1 or -2"))
        for line, text in zip(frame[LINE], frame[f"rationale_{d}"]):
            if not text.strip():
                problems.append(Problem(name, int(line), f"rationale_{d}", "a judgment needs its rationale"))
    if problems:
        raise DataError(problems)
    for d in DOMAINS:
        frame[d] = frame[d].astype(int)
    return frame.set_index("comparison", drop=False)


def certainty(judgment: pd.Series) -> str:
    """High, moderate, low or very low: high minus the downgrades (randomised trials)."""
    score = 3 + sum(int(judgment[d]) for d in DOMAINS)
    return LEVELS[max(0, score)]


def reasons(judgment: pd.Series) -> str:
    """The rationale of every downgraded domain, joined for a footnote."""
    parts = [f"{d.replace('_', ' ')}: {judgment[f'rationale_{d}']}" for d in DOMAINS if int(judgment[d]) < 0]
    return "; ".join(parts) if parts else "not downgraded"


def indicators(res: MetaResult, egger_p: float | None = None, low_rob_share: float | None = None) -> dict:
    """Computed indicators that inform the judgments: I², prediction interval, CI width, Egger p, low-RoB share."""
    pred = res.predict()
    return {
        "i2": res.i2,
        "pi_crosses_null": bool(pred["pi_low"] < 0 < pred["pi_high"]) if not np.isnan(pred["pi_low"]) else False,
        "ci_width": float(res.ci_high[0] - res.ci_low[0]),
        "egger_p": egger_p,
        "low_rob_share": low_rob_share,
    }


def corresponding_risk(control_risk: float, rr: float, rr_low: float, rr_high: float, per: int = 1000) -> dict:
    """The risk with the intervention implied by an assumed control risk and a risk ratio, per
    ``per`` patients, as in the "anticipated absolute effects" of a GRADE Summary of Findings
    table (GRADE Handbook, section 5.2.1: corresponding risk = assumed risk x RR, and the same
    for the CI limits).

    Returns
    -------
    dict
        ``control``, ``intervention``, ``low``, ``high`` (per ``per``, rounded to whole patients,
        and never above ``per``),
        ``difference`` (intervention minus control).
    """
    def risk(ratio):  # a risk cannot exceed 1: capped, as GRADEpro does
        return round(per * min(1.0, control_risk * ratio))

    out = {"control": round(per * control_risk), "intervention": risk(rr), "low": risk(rr_low), "high": risk(rr_high)}
    out["difference"] = out["intervention"] - out["control"]
    return out


def summary_rows(comparisons: dict, judgments: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of a Summary of Findings table in the Cochrane/GRADE layout, and the reasons for
    downgrading.

    Columns: outcome (with the comparison), risk with control and with the intervention per
    1,000 (for risk ratios, from the pooled control-group rate: :func:`corresponding_risk`),
    relative effect (95% CI), participants (comparisons), certainty, and comments with the
    indicators that inform the judgement (I², prediction interval, Egger p, low-RoB share).

    Parameters
    ----------
    comparisons : dict
        key -> (:class:`analysis.review.comparisons.Evidence`, measure), with measure ``"RR"`` (log scale
        in the model, shown as a ratio) or ``"g"``.
    judgments : DataFrame
        From :func:`read_grade`, indexed by the same keys.
    """
    rows, notes = [], []
    for key, (ev, measure) in comparisons.items():
        m = ev.model
        back = np.exp if measure == "RR" else (lambda x: x)
        j = judgments.loc[key]
        egger_p = ev.extra["egger"]["p"] if "egger" in ev.extra else None
        ind = indicators(m, egger_p, ev.extra.get("low_rob_share"))
        pred = m.predict()
        control = ev.extra.get("ctrl_rate", ev.extra.get("placebo_rate"))
        if measure == "RR" and control is not None:
            risk = corresponding_risk(control["rate"], *(float(back(x)) for x in (m.estimate, m.ci_low[0], m.ci_high[0])))
            with_control = f"{risk['control']:,} per 1,000"
            with_intervention = f"{risk['intervention']:,} per 1,000 ({risk['low']:,} to {risk['high']:,})"
        else:
            with_control = "—"
            with_intervention = f"SMD {m.estimate:.2f} higher ({m.ci_low[0]:.2f} to {m.ci_high[0]:.2f} higher)"
        comments = [f"I² {ind['i2']:.0f}%", f"PI {back(pred['pi_low']):.2f} to {back(pred['pi_high']):.2f}"]
        if egger_p is not None:
            comments.append("Egger p < 0.001" if egger_p < 0.001 else f"Egger p {egger_p:.3f}")
        if ind["low_rob_share"] is not None:
            comments.append(f"{100 * ind['low_rob_share']:.0f}% at low RoB")
        participants = "— " if ev.participants is None else f"{ev.participants:,} "
        rows.append(
            {
                "key": key,
                "effect": float(back(m.estimate)),
                "outcome": f"{comparison_label(key)}: {j['outcome']}",
                "risk with control": with_control,
                "risk with intervention (95% CI)": with_intervention,
                "relative effect (95% CI)": f"{measure} {back(m.estimate):.2f} ({back(m.ci_low[0]):.2f} to {back(m.ci_high[0]):.2f})"
                if measure == "RR" else "—",
                "participants (comparisons)": f"{participants}({m.k})",
                "certainty (GRADE)": certainty(j),
                "comments": "; ".join(comments),
            }
        )
        notes.append({"comparison": comparison_label(key), "reasons for downgrading": reasons(j)})
    return pd.DataFrame(rows), pd.DataFrame(notes)
