"""The umbrella review's findings by area of research (Moncrieff et al., 2023), each with its
verbatim sentence and location, set against the mechanistic claims of the register, as the
protocol promises: which claims each finding bears on and how (the review team's assessment,
recorded with its reason in ``data/sources/umbrella_findings.csv``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.trials import LINE, read_rows

COLUMNS = ("domain", "location", "quote", "claims", "assessment", "reason")


def read_umbrella_findings(path: str | Path, source: str | Path) -> pd.DataFrame:
    """The findings file, each quote checked to be verbatim in ``source`` (the review's abstract).

    Returns
    -------
    DataFrame
        :data:`COLUMNS`, ``claims`` as a list of claim ids (empty where no claim concerns the area).

    Raises
    ------
    DataError
        A missing column, an empty field, or a quote not found verbatim in the source, naming the
        file, line and column.
    """
    rows, name = read_rows(path), str(path)
    missing = [Problem(name, 1, c, "required column is missing") for c in COLUMNS if c not in rows.columns]
    if missing:
        raise DataError(missing)
    text = " ".join(Path(source).read_text(encoding="utf-8").split())
    problems = []
    for _, row in rows.iterrows():
        for column in ("domain", "location", "quote", "assessment", "reason"):
            if not str(row[column]).strip():
                problems.append(Problem(name, int(row[LINE]), column, "must not be empty"))
        if " ".join(str(row["quote"]).split()) not in text:
            problems.append(Problem(name, int(row[LINE]), "quote", f"not found verbatim in {Path(source).name}"))
    if problems:
        raise DataError(problems)
    out = rows[list(COLUMNS)].copy()
    out["claims"] = [[c.strip() for c in str(v).split(";") if c.strip()] for v in rows["claims"]]
    return out.reset_index(drop=True)


def weigh_claims(findings: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """One row per area of the umbrella review: its finding, the register's claims on it (id,
    source and asserted direction) and the assessment.

    Raises
    ------
    ValueError
        A claim id in the findings that the register does not hold.
    """
    unknown = sorted({c for ids in findings["claims"] for c in ids} - set(register.index))
    if unknown:
        raise ValueError(f"the umbrella findings name claims the register does not hold: {', '.join(unknown)}")
    rows = []
    for _, f in findings.iterrows():
        said = "; ".join(f"{c} ({register.loc[c, 'source_id']}): {register.loc[c, 'direction']}" for c in f["claims"])
        rows.append({"area": f["domain"], "the umbrella review found": f["quote"], "claims on it": said or "none",
                     "assessment": f["assessment"], "why": f["reason"]})
    return pd.DataFrame(rows)


def coverage(findings: pd.DataFrame, claim_ids) -> tuple[int, int]:
    """How many of the umbrella review's areas the given claims speak to, of how many."""
    ids = set(claim_ids)
    areas = findings["domain"].unique()
    covered = {f["domain"] for _, f in findings.iterrows() if ids & set(f["claims"])}
    return len(covered), len(areas)
