"""GRADE certainty of evidence: rules on computed indicators, reviewers' overrides, and the
Summary of Findings table in the Cochrane/GRADE layout.

Each domain is judged by the rule of :mod:`analysis.review.grade_rules`; ``data/grade.csv``
holds only reviewers' overrides (comparison, domain, downgrade, reason), each with its reason,
which replace the rule's judgement for that domain and say so. Randomised trials start at high
certainty and lose one level per downgrade (GRADE Handbook, section 5).

References
----------
Schünemann, H., Brożek, J., Guyatt, G., & Oxman, A. (Eds.) (2013). *GRADE Handbook*.
Guyatt, G. H., et al. (2011). GRADE guidelines 4-8. *Journal of Clinical Epidemiology*, 64.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.review.absolute import absolute_effects, smd_absolute_effects
from analysis.review.errors import DataError, Problem
from analysis.review.grade_rules import DOMAINS, Indicators, judge_by_rules
from analysis.review.trials import LINE, read_rows
from analysis.review.wording import comparison_label

LEVELS = ("very low", "low", "moderate", "high")
OVERRIDE_COLUMNS = ("comparison", "domain", "downgrade", "reason")


def read_grade(path: str | Path) -> pd.DataFrame:
    """Read the reviewers' overrides: one row per (comparison, domain), downgrade 0, -1 or -2, a reason."""
    name = str(path)
    frame = read_rows(path)
    missing = [c for c in OVERRIDE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError([Problem(name, 1, c, "required column is missing") for c in missing])
    problems, seen = [], {}
    for _, row in frame.iterrows():
        line = int(row[LINE])
        if row["domain"].strip() not in DOMAINS:
            problems.append(Problem(name, line, "domain", f"'{row['domain']}' is not one of {', '.join(DOMAINS)}"))
        if row["downgrade"].strip() not in ("0", "-1", "-2"):
            problems.append(Problem(name, line, "downgrade", f"'{row['downgrade']}' is not 0, -1 or -2"))
        if not row["reason"].strip():
            problems.append(Problem(name, line, "reason", "an override needs its reason"))
        key = (row["comparison"].strip(), row["domain"].strip())
        if key in seen:
            problems.append(Problem(name, line, "domain", f"a second override of {key[1]} for {key[0]} (first on line {seen[key]})"))
        seen[key] = line
    if problems:
        raise DataError(problems)
    frame["downgrade"] = frame["downgrade"].astype(int)
    frame["comparison"] = frame["comparison"].str.strip()
    frame["domain"] = frame["domain"].str.strip()
    return frame


def judge(ind: Indicators, overrides: pd.DataFrame | None = None, comparison: str | None = None,
          facts: dict | None = None) -> dict:
    """Each domain's judgement: ``{domain: {"downgrade", "reason", "source"}}`` with source
    ``"rule"`` or ``"override"`` (then the reason is the reviewers' and the rule's is kept as
    ``rule_reason``). ``facts`` (``{domain: sentence}``) adds a computed statement about the data to a
    domain's judgement (``"fact"``), so that what a footnote asserts of the data is computed, never
    typed in ``data/grade.csv``."""
    out = {d: {"downgrade": g, "reason": r, "source": "rule"} for d, (g, r) in judge_by_rules(ind).items()}
    if overrides is not None and comparison is not None:
        for _, row in overrides[overrides["comparison"] == comparison].iterrows():
            rule = out[row["domain"]]
            out[row["domain"]] = {"downgrade": int(row["downgrade"]), "reason": row["reason"].strip(),
                                  "source": "override", "rule_reason": rule["reason"], "rule_downgrade": rule["downgrade"]}
    for domain, sentence in (facts or {}).items():
        if domain not in out:
            raise ValueError(f"'{domain}' is not a GRADE domain ({', '.join(DOMAINS)})")
        out[domain]["fact"] = sentence
    return out


def certainty(judgment: dict) -> str:
    """High, moderate, low or very low: high minus the downgrades (randomised trials)."""
    score = 3 + sum(j["downgrade"] for j in judgment.values())
    return LEVELS[max(0, score)]


def _who(j: dict) -> str:
    if j["source"] != "override":
        return ""
    if "not assessed by rule" in j["rule_reason"]:
        return " (reviewers' judgement: the rule has no data to judge)"
    if j["rule_downgrade"] == j["downgrade"]:
        return " (reviewers' judgement, as the rule)"
    return f" (reviewers' judgement, overriding the rule, which {_levels(j['rule_downgrade'], 'would downgrade')}: {j['rule_reason']})"


def _levels(downgrade: int, verb: str = "downgraded") -> str:
    if downgrade == 0:
        return "would not downgrade" if verb == "would downgrade" else "not downgraded"
    return f"{verb} {'one level' if downgrade == -1 else 'two levels'}"


def footnotes(judgment: dict) -> list[str]:
    """One footnote per domain that is downgraded, decided by the reviewers (an override, also one that
    prevents a downgrade) or carries a computed statement about the data, saying why."""
    notes = []
    for domain, j in judgment.items():
        if j["downgrade"] < 0 or j["source"] == "override" or j.get("fact"):
            fact = f" Data check: {j['fact']}." if j.get("fact") else ""
            notes.append(f"{domain.replace('_', ' ').capitalize()}: {_levels(j['downgrade'])}{_who(j)}: {j['reason']}.{fact}")
    return notes


def dropout_reporting(arms: pd.DataFrame, pooled_studies) -> dict:
    """How the GRISELDA arms report the two dropout outcomes: arms whose dropouts for adverse events
    exceed their dropouts in all (an impossible count), in the whole file and in the pooled trials.

    ``arms`` is the validated arm table (:func:`analysis.review.importers.read_cipriani_arms`),
    ``pooled_studies`` the study ids of the trials pooled for the outcome.
    """
    total, ae = arms["Dropouts_total_num"], arms["Dropouts_sideeffects_num"]
    impossible = arms.loc[ae > total, "StudyID"]
    pooled = set(pooled_studies)
    return {"arms": int(len(arms)), "ae_exceeds_total": int(len(impossible)),
            "ae_exceeds_total_pooled": int(impossible.isin(pooled).sum()), "pooled_trials": len(pooled)}


def describe_dropout_reporting(counts: dict) -> str:
    """The statement about :func:`dropout_reporting` in words, true of the counts it is given."""
    from analysis.review.wording import counted

    n = counts["ae_exceeds_total"]
    if n == 0:
        return f"no arm of the {counts['arms']:,} in the file reports more dropouts for adverse events than dropouts in all"
    where = ("none of them in a pooled trial" if counts["ae_exceeds_total_pooled"] == 0 else
             f"{counts['ae_exceeds_total_pooled']:,} of them in the {counts['pooled_trials']:,} pooled trials")
    verb = "reports" if n == 1 else "report"
    return (f"{counted(n, 'arm')} of the {counts['arms']:,} in the file {verb} more dropouts for adverse events "
            f"than dropouts in all, {where}")


def summary_row(key: str, outcome: str, ind: Indicators, judgment: dict, comments: str, label: str | None = None) -> dict:
    """A row of the Summary of Findings table (Cochrane/GRADE layout)."""
    if ind.measure == "RR" and ind.control_risk is not None:
        risk = absolute_effects(ind.control_risk, ind.estimate, ind.ci_low, ind.ci_high)
        with_control = f"{risk['control']:,} per 1,000"
        with_intervention = f"{risk['intervention']:,} per 1,000 ({risk['low']:,} to {risk['high']:,})"
        relative = f"RR {ind.estimate:.2f} ({ind.ci_low:.2f} to {ind.ci_high:.2f})"
    elif ind.control_risk is not None:
        risk = smd_absolute_effects(ind.control_risk, ind.estimate, ind.ci_low, ind.ci_high)
        with_control = f"{risk['control']:,} responders per 1,000"
        with_intervention = (f"{risk['intervention']:,} per 1,000 ({risk['low']:,} to {risk['high']:,}), "
                             f"converted from SMD {ind.estimate:.2f} ({ind.ci_low:.2f} to {ind.ci_high:.2f})")
        relative = "—"
    else:
        with_control, relative = "—", "—"
        with_intervention = f"SMD {ind.estimate:.2f} higher ({ind.ci_low:.2f} to {ind.ci_high:.2f} higher)"
    participants = "— " if ind.participants is None else f"{ind.participants:,} "
    notes = footnotes(judgment)
    marks = "".join(chr(ord("a") + i) for i in range(len(notes)))
    return {
        "key": key,
        "outcome": f"{label or comparison_label(key)}: {outcome}",
        "risk with control": with_control,
        "risk with intervention (95% CI)": with_intervention,
        "relative effect (95% CI)": relative,
        "participants (comparisons)": f"{participants}({ind.k})",
        "certainty (GRADE)": certainty(judgment) + (f" ({', '.join(marks)})" if marks else ""),
        "comments": comments,
    }
