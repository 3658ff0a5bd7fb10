"""The claims register: one row per claim of a source document, with its verbatim quote."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.review.safeio import read_text
from analysis.review.trials import DataError, LINE, Problem, read_rows

CLAIM_COLUMNS = ("claim_id", "source_id", "source_file", "location", "quote", "kind", "measure", "treat_value",
                 "ctrl_value")
#: What a claim is (the ``kind`` column): the register keeps the non-quantitative claims apart.
CLAIM_KINDS = ("effect", "citation", "mechanism", "context")
NUMERIC = ("treat_value", "ctrl_value", "effect", "ci_low", "ci_high", "k", "n")


def normalise_whitespace(text: str) -> str:
    """Collapse every run of white space to one space (quotes are compared this way)."""
    return re.sub(r"\s+", " ", text).strip()


def read_claims(path: str | Path) -> pd.DataFrame:
    """Read and check the claims register.

    Raises
    ------
    DataError
        Missing columns, duplicate claim ids, non-numeric reported figures, a source file
        that is not archived next to the register (``sources/``), or a quote that is not a
        verbatim substring of its source (white space normalised).
    """
    name = str(path)
    frame = read_rows(path)
    missing = [c for c in CLAIM_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError([Problem(name, 1, c, "required column is missing") for c in missing])
    problems = []
    dup = frame["claim_id"].duplicated()
    for line, cid in zip(frame.loc[dup, LINE], frame.loc[dup, "claim_id"]):
        problems.append(Problem(name, int(line), "claim_id", f"duplicate claim id '{cid}'"))
    for col in NUMERIC:
        if col in frame.columns:
            values = pd.to_numeric(frame[col].replace("", None), errors="coerce")
            bad = values.isna() & (frame[col].str.strip() != "")
            for line, cell in zip(frame.loc[bad, LINE], frame.loc[bad, col]):
                problems.append(Problem(name, int(line), col, f"'{cell}' is not a number"))
            infinite = values.notna() & ~values.abs().lt(float("inf"))
            for line, cell in zip(frame.loc[infinite, LINE], frame.loc[infinite, col]):
                problems.append(Problem(name, int(line), col, f"'{cell}' is not a finite number"))
            frame[col] = values
    bad_kind = ~frame["kind"].str.strip().isin(CLAIM_KINDS)
    for line, cell in zip(frame.loc[bad_kind, LINE], frame.loc[bad_kind, "kind"]):
        problems.append(Problem(name, int(line), "kind", f"'{cell}' is not one of {', '.join(CLAIM_KINDS)}"))
    frame["kind"] = frame["kind"].str.strip()
    sources = Path(path).parent / "sources"
    for _, row in frame.iterrows():
        source = sources / row["source_file"]
        if not row["source_file"].strip() or not source.resolve().is_relative_to(sources.resolve()) or not source.is_file():
            problems.append(Problem(name, int(row[LINE]), "source_file", f"'{source}' is not archived"))
            continue
        try:
            text = normalise_whitespace(read_text(source, "source document"))
        except DataError as err:
            problems.extend(Problem(name, int(row[LINE]), "source_file", str(p)) for p in err.problems)
            continue
        if normalise_whitespace(row["quote"]) not in text:
            problems.append(Problem(name, int(row[LINE]), "quote", f"not found verbatim in {row['source_file']}"))
    if problems:
        raise DataError(problems)
    return frame.set_index("claim_id", drop=False)


APPRAISAL_COLUMNS = ("source_id", "file", "title", "kind", "date", "peer_reviewed", "appraisal")


def read_appraisal(path: str | Path) -> pd.DataFrame:
    """Read the appraisal of the source documents (one row per source)."""
    frame = read_rows(path)
    missing = [c for c in APPRAISAL_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError([Problem(str(path), 1, c, "required column is missing") for c in missing])
    return frame.set_index("source_id", drop=False)


def screening_flow(register: pd.DataFrame, appraisal: pd.DataFrame) -> dict:
    """Counts for the flow of sources and claims: sources (and how many are peer-reviewed), claims,
    quantitative claims (every kind but ``mechanism``), those that open trial-level data can test
    (``testable_with`` names a dataset), those checked against the publication they cite (kind
    ``citation``), those outside the scope of trial data (kind ``context``) and the effects whose data
    are not open (``untestable``)."""
    quantitative = register["kind"] != "mechanism"
    testable = register.get("testable_with", pd.Series("", index=register.index)).fillna("").str.strip() != ""
    cited = register["kind"] == "citation"
    return {
        "sources": int(len(appraisal)),
        "sources_with_claims": int(register["source_id"].nunique()),
        "claims": int(len(register)),
        "quantitative": int(quantitative.sum()),
        "narrative": int((~quantitative).sum()),
        "testable": int((quantitative & testable).sum()),
        "checked_against_source": int((quantitative & cited & ~testable).sum()),
        "outside_scope": int(((register["kind"] == "context") & ~testable).sum()),
        "untestable": int(((register["kind"] == "effect") & ~testable).sum()),
        "peer_reviewed": int((appraisal["peer_reviewed"].str.strip() == "yes").sum()),
    }


def appraisal_weight(appraisal_text: str) -> str:
    """The weight a source deserves: the appraisal's first clause, before its colon
    (``"low: a vendor's blog ..."`` -> ``"low"``)."""
    return appraisal_text.split(":")[0].strip()


def mechanism_positions(register: pd.DataFrame) -> pd.DataFrame:
    """The register's mechanistic claims as (receptor, direction, context) positions, one row each.

    The ``direction`` column states each claim's position in a short controlled form, parts
    separated by commas: ``5-HT1A down, 5-HT2 up in depression``; ``antidepressants down-regulate
    5-HT1A and 5-HT2``; ``up-regulation (compensatory)``. A part names receptor subtypes (``5-HT...``;
    none means serotonin receptors in general), a direction (``up`` or ``down``) and its context:
    ``antidepressants`` when the part or the claim speaks of what the drugs do, else ``depression``.
    """
    rows = []
    for cid, row in register.iterrows():
        text = str(row.get("direction", "") or "").strip()
        if not re.search(r"\b(up|down)", text):
            continue
        context = "antidepressants" if text.lower().startswith("antidepressant") else "depression"
        last = None
        for part in reversed([p.strip() for p in text.split(",")]):
            found = re.search(r"\b(up|down)", part)
            direction = found.group(1) if found else last
            last = direction
            receptors = re.findall(r"5-HT\w+", part) or ["serotonin receptors (subtype unspecified)"]
            for receptor in receptors:
                rows.append({"claim_id": cid, "source_id": row["source_id"], "receptor": receptor,
                             "direction": direction, "context": context})
    return pd.DataFrame(rows, columns=["claim_id", "source_id", "receptor", "direction", "context"])


def receptor_agreement(positions: pd.DataFrame) -> pd.DataFrame:
    """For each receptor and context, which sources say up and which down, and whether they
    ``agree`` or ``conflict`` (a receptor named by one source only: ``one source``)."""
    rows = []
    for (receptor, context), part in positions.groupby(["receptor", "context"], sort=True):
        up = sorted(set(part.loc[part["direction"] == "up", "source_id"]))
        down = sorted(set(part.loc[part["direction"] == "down", "source_id"]))
        sources = set(up) | set(down)
        status = "conflict" if up and down else ("agree" if len(sources) > 1 else "one source")
        rows.append({"receptor": receptor, "context": context, "up": ", ".join(up) or "—",
                     "down": ", ".join(down) or "—", "status": status})
    return pd.DataFrame(rows, columns=["receptor", "context", "up", "down", "status"])


def who_says(positions: pd.DataFrame, direction: str, context: str = "depression") -> str:
    """The sources asserting ``direction`` in ``context``, each with its receptors:
    ``S1 (5-HT2); S0 (serotonin receptors (subtype unspecified))``; ``no source`` if none."""
    part = positions[(positions["direction"] == direction) & (positions["context"] == context)]
    if part.empty:
        return "no source"
    grouped = part.groupby("source_id", sort=False)["receptor"].apply(lambda r: ", ".join(dict.fromkeys(r)))
    return "; ".join(f"{s} ({r})" for s, r in grouped.items())


def conflict_sentence(agreement: pd.DataFrame) -> str:
    """Whether any receptor is said to move up by one source and down by another, in words."""
    clash = agreement[agreement["status"] == "conflict"]
    if clash.empty:
        return "no receptor subtype is said to move up by one source and down by another"
    named = ", ".join(f"{r} ({c})" for r, c in zip(clash["receptor"], clash["context"]))
    return f"the sources contradict each other for {named}"
