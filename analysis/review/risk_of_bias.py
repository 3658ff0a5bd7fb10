"""Risk of bias by domain: the Metapsy database's four Cochrane (RoB 1) items as judgements,
and the share of studies (or of the pooled weight) at each judgement, as robvis summarises them.

Nothing in statsmodels, PyMARE or pandas reads the Metapsy item codes, so they are mapped here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.trials import LINE

#: Metapsy item column -> the Cochrane domain it scores.
DOMAINS = {
    "sg": "Random sequence generation",
    "ac": "Allocation concealment",
    "ba": "Blinding of outcome assessment",
    "itt": "Incomplete outcome data (ITT)",
}

#: Metapsy's codes (variable_description_v22.json): 1 low risk, 0 high risk, ``sr`` a
#: self-reported outcome (blinding of assessors; the database's ``rob`` score counts it as low).
CODES = {"1": "low", "0": "high", "sr": "self-report", "": "not reported", "NA": "not reported"}

#: Judgements from best to worst, the order of every table and plot.
JUDGEMENTS = ("low", "self-report", "high", "not reported")


def metapsy_domains(rows: pd.DataFrame, name: str = "metapsy", required: bool = False) -> pd.DataFrame:
    """The four risk-of-bias items of Metapsy rows as judgements (one column per item).

    Parameters
    ----------
    rows : DataFrame
        Rows of a Metapsy psychotherapy-vs-control file, as text, with ``_line``.
    name : str
        The file, for error messages.
    required : bool
        Every item must be present (the risk-of-bias figures need them); otherwise missing
        items are left out.

    Returns
    -------
    DataFrame
        Columns ``rob_sg``, ``rob_ac``, ``rob_ba``, ``rob_itt`` holding one of
        :data:`JUDGEMENTS`; no columns when the file has none of the items.

    Raises
    ------
    DataError
        A code that is not 1, 0, sr or NA, naming the file, the line and the column; with
        ``required``, a missing item column, naming the file and the column.
    """
    out, problems = pd.DataFrame(index=rows.index), []
    if required:
        problems += [Problem(name, 1, item, "required column is missing (the risk-of-bias figures need it)")
                     for item in DOMAINS if item not in rows.columns]
    for item in DOMAINS:
        if item not in rows.columns:
            continue
        codes = rows[item].astype(str).str.strip().str.lower().replace({"na": "NA", "nan": "NA"})
        bad = ~codes.isin(list(CODES))
        for line, code in zip(rows.loc[bad, LINE], rows.loc[bad, item]):
            problems.append(Problem(name, int(line), item, f"'{code}' is not a risk-of-bias code (1, 0, sr or NA)"))
        out[f"rob_{item}"] = codes.map(CODES)
    if problems:
        raise DataError(problems)
    return out


def domain_columns(trials: pd.DataFrame) -> list[str]:
    """The risk-of-bias item columns a trial table carries, in :data:`DOMAINS` order."""
    return [f"rob_{item}" for item in DOMAINS if f"rob_{item}" in trials.columns]


#: How a self-reported outcome counts for blinding of outcome assessment. In psychotherapy
#: trials participants know their treatment, so a self-reported outcome is assessed unblinded:
#: RoB 2 (Sterne et al., 2019, domain 4) judges it at risk; Metapsy's own score counts it as low.
SELF_REPORT = ("high", "low")


def protocol_levels(self_report: str = "high") -> tuple[str, ...]:
    """The judgements under the protocol's rule, best to worst: a self-reported outcome is shown
    as what the rule makes it ("high (self-report)" or "low (self-report)"), never as a level of
    its own, so that every table, figure and sentence reads one definition."""
    _check_self_report(self_report)
    counted = f"{self_report} (self-report)"
    return ("low", counted, "high", "not reported")


def _check_self_report(self_report: str) -> None:
    if self_report not in SELF_REPORT:
        raise ValueError(f"self_report must be one of {', '.join(SELF_REPORT)}, got {self_report!r}")


def protocol_judgements(trials: pd.DataFrame, self_report: str = "high") -> pd.DataFrame:
    """The ``rob_*`` columns as the protocol judges them: Metapsy's ``self-report`` becomes
    "high (self-report)" or "low (self-report)" as ``self_report`` says; every other judgement
    is kept. The one definition behind :func:`low_risk`, :func:`rob_summary`, :func:`rob_table`
    and the risk-of-bias figures."""
    _check_self_report(self_report)
    cols = domain_columns(trials)
    return trials[cols].replace({"self-report": f"{self_report} (self-report)"})


def is_low(judgement) -> np.ndarray:
    """Which protocol judgements (:func:`protocol_judgements`) are low risk."""
    return np.char.startswith(np.asarray(judgement, dtype=str), "low")


def is_high(judgement) -> np.ndarray:
    """Which protocol judgements are high risk (a self-reported outcome counted as high included)."""
    return np.char.startswith(np.asarray(judgement, dtype=str), "high")


def rob_summary(trials: pd.DataFrame, weights=None, self_report: str = "high") -> pd.DataFrame:
    """Per cent of studies at each judgement of the protocol, per domain (robvis' summary plot).

    Parameters
    ----------
    trials : DataFrame
        A trial table with ``rob_*`` columns (:func:`metapsy_domains`).
    weights : array_like, optional
        Weight of each study, e.g. its weight in the pooled model; by default every study
        counts once. robvis offers the same choice (``weighted = TRUE``).
    self_report : {"high", "low"}
        How a self-reported outcome counts (the protocol's rule, parameter ``self_report``).

    Returns
    -------
    DataFrame
        One row per domain (its name), one column per level of :func:`protocol_levels`; rows sum
        to 100.

    References
    ----------
    McGuinness, L. A., & Higgins, J. P. T. (2021). Risk-of-bias VISualization (robvis).
    *Research Synthesis Methods*, 12, 55-61.
    """
    judged = protocol_judgements(trials, self_report)
    if judged.empty and not len(judged.columns):
        raise ValueError("the trial table has no risk-of-bias items")
    levels = protocol_levels(self_report)
    w = np.ones(len(trials)) if weights is None else np.asarray(weights, dtype=float)
    rows = {}
    for col in judged.columns:
        share = pd.Series(w, index=trials.index).groupby(judged[col].to_numpy()).sum()
        rows[DOMAINS[col.removeprefix("rob_")]] = [100 * share.get(j, 0.0) / w.sum() for j in levels]
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(levels))


def most_often_high(summary: pd.DataFrame) -> tuple[str, float]:
    """The domain with the largest share at high risk under the protocol's rule (a self-reported
    outcome counted as high included), and that share in per cent, from :func:`rob_summary`."""
    high = summary[[c for c in summary.columns if c.startswith("high")]].sum(axis=1)
    return str(high.idxmax()), float(high.max())


def rob_table(trials: pd.DataFrame, self_report: str = "high") -> pd.DataFrame:
    """Number of studies at each judgement of the protocol, per domain, for a printed table."""
    judged = protocol_judgements(trials, self_report)
    levels = protocol_levels(self_report)
    rows = [{"domain": DOMAINS[col.removeprefix("rob_")], **{j: int((judged[col] == j).sum()) for j in levels}}
            for col in judged.columns]
    return pd.DataFrame(rows, columns=["domain", *levels])


def low_risk(trials: pd.DataFrame, domains=tuple(DOMAINS), self_report: str = "high") -> np.ndarray:
    """Which comparisons are at low risk of bias: low on every domain the protocol names, as
    :func:`protocol_judgements` judges them.

    Parameters
    ----------
    trials : DataFrame
        With the ``rob_<item>`` judgement columns (:func:`metapsy_domains`).
    domains : sequence of str
        Metapsy items that must all be low (``sg``, ``ac``, ``ba``, ``itt``).
    self_report : {"high", "low"}
        How a self-reported outcome (``sr``) counts for blinding: not low (the default, as RoB 2
        judges an unblinded participant-reported outcome), or low (Metapsy's score).

    Returns
    -------
    ndarray of bool
    """
    unknown = [d for d in domains if d not in DOMAINS]
    if unknown or self_report not in SELF_REPORT:
        raise ValueError(f"unknown risk-of-bias domain(s) {unknown} or self_report {self_report!r}")
    judged = protocol_judgements(trials[[f"rob_{item}" for item in domains]], self_report)
    ok = np.ones(len(trials), bool)
    for item in domains:
        ok &= is_low(judged[f"rob_{item}"].to_numpy())
    return ok
