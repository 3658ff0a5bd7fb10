"""The PRISMA 2020 checklist and the AMSTAR 2 self-assessment: item texts and the book's answers
(``data/checklists/``), every location as a MyST cross-reference (so that Sphinx, run with ``-n``,
checks that each target exists), and the AMSTAR 2 overall rating by its rule.

References
----------
Page, M. J., McKenzie, J. E., Bossuyt, P. M., et al. (2021). The PRISMA 2020 statement: an updated
guideline for reporting systematic reviews. *BMJ*, 372, n71.
Shea, B. J., Reeves, B. C., Wells, G., et al. (2017). AMSTAR 2: a critical appraisal tool for
systematic reviews that include randomised or non-randomised studies of healthcare interventions,
or both. *BMJ*, 358, j4008.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.trials import LINE, read_rows

#: The 42 PRISMA 2020 items (27 items, some with sub-items), in the checklist's order.
PRISMA_ITEMS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10a", "10b", "11", "12", "13a", "13b", "13c", "13d",
                "13e", "13f", "14", "15", "16a", "16b", "17", "18", "19", "20a", "20b", "20c", "20d", "21", "22",
                "23a", "23b", "23c", "23d", "24a", "24b", "24c", "25", "26", "27")
PRISMA_STATUS = ("yes", "partly", "no", "title")
AMSTAR_ITEMS = tuple(str(i) for i in range(1, 17))
#: AMSTAR 2's answers: "partly" is the tool's "partial yes"; "no meta-analysis" is not a weakness.
AMSTAR_ANSWERS = ("yes", "partly", "no", "no meta-analysis")
#: Shea et al.'s critical domains (Box 2).
AMSTAR_CRITICAL = ("2", "4", "7", "9", "11", "13", "15")
_TARGET = re.compile(r"^[a-z0-9-]+(#(sec|fig|tbl)-[a-z0-9-]+)?$")


def _read(path, items, columns, choices) -> pd.DataFrame:
    """A checklist CSV with one row per item of ``items``, in order; ``choices`` column -> allowed values."""
    rows, name = read_rows(path), str(path)
    problems = [Problem(name, 1, c, "required column is missing") for c in columns if c not in rows.columns]
    if problems:
        raise DataError(problems)
    for column, allowed in choices.items():
        for line, value in zip(rows[LINE], rows[column]):
            if value.strip() not in allowed:
                problems.append(Problem(name, int(line), column, f"'{value}' is not one of {', '.join(allowed)}"))
    got = [i.strip() for i in rows["item"]]
    if got != list(items):
        missing = [i for i in items if i not in got]
        extra = [i for i in got if i not in items]
        problems.append(Problem(name, None, "item", f"the items must be {items[0]} to {items[-1]} in order "
                                                    f"(missing: {', '.join(missing) or 'none'}; unknown: {', '.join(extra) or 'none'})"))
    if problems:
        raise DataError(problems)
    return rows.assign(item=got).set_index("item")


def references(where: str, name: str = "checklist", line: int | None = None) -> str:
    """``"methods#sec-methods-sources; cbt-control"`` as MyST cross-references: ``{doc}`` for a chapter,
    with ``{ref}`` for a section label or ``{numref}`` for a figure or table. Only lower-case names and
    labels are accepted, so nothing from the file is read as other markup."""
    out = []
    for part in [p.strip() for p in where.split(";") if p.strip()]:
        if not _TARGET.match(part):
            raise DataError([Problem(name, line, "where", f"'{part}' is not a chapter or chapter#label")])
        doc, _, label = part.partition("#")
        ref = f"{{doc}}`/chapters/{doc}`"
        if label:
            ref += f" ({{ref}}`{label}`)" if label.startswith("sec-") else f" ({{numref}}`{label}`)"
        out.append(ref)
    if not out:
        raise DataError([Problem(name, line, "where", "every item needs where the book reports it")])
    return "; ".join(out)


def prisma_checklist(items: str | Path, book: str | Path, title: str) -> pd.DataFrame:
    """The PRISMA 2020 items with the book's status and where it reports each.

    Item 1's status is computed: "yes" when ``title`` (the book's) names it a systematic review.

    Returns
    -------
    DataFrame
        ``item``, ``section``, ``topic``, ``text``, ``status``, ``where`` (MyST), ``note``.
    """
    text = _read(items, PRISMA_ITEMS, ("item", "section", "topic", "text"), {})
    answers = _read(book, PRISMA_ITEMS, ("item", "status", "where", "note"), {"status": PRISMA_STATUS})
    status = answers["status"].str.strip()
    status.loc["1"] = "yes" if "systematic review" in title.lower() else "no"
    where = [references(w, str(book), int(line)) for w, line in zip(answers["where"], answers[LINE])]
    return pd.DataFrame({"item": list(PRISMA_ITEMS), "section": text["section"].to_numpy(),
                         "topic": text["topic"].to_numpy(), "text": text["text"].to_numpy(),
                         "status": status.to_numpy(), "where": where, "note": answers["note"].str.strip().to_numpy()})


def amstar_assessment(items: str | Path, book: str | Path) -> pd.DataFrame:
    """The 16 AMSTAR 2 items, which are critical, the book's answer and where it shows it.

    Raises
    ------
    DataError
        When the items file marks other items as critical than Shea et al.'s Box 2.
    """
    text = _read(items, AMSTAR_ITEMS, ("item", "critical", "text"), {"critical": ("yes", "no")})
    critical = tuple(i for i in AMSTAR_ITEMS if text.loc[i, "critical"].strip() == "yes")
    if critical != AMSTAR_CRITICAL:
        raise DataError([Problem(str(items), None, "critical", f"critical items {', '.join(critical)} are not "
                                                              f"AMSTAR 2's {', '.join(AMSTAR_CRITICAL)}")])
    answers = _read(book, AMSTAR_ITEMS, ("item", "answer", "where", "note"), {"answer": AMSTAR_ANSWERS})
    where = [references(w, str(book), int(line)) for w, line in zip(answers["where"], answers[LINE])]
    return pd.DataFrame({"item": list(AMSTAR_ITEMS), "critical": [i in AMSTAR_CRITICAL for i in AMSTAR_ITEMS],
                         "text": text["text"].to_numpy(), "answer": answers["answer"].str.strip().to_numpy(),
                         "where": where, "note": answers["note"].str.strip().to_numpy()})


def amstar_rating(assessment: pd.DataFrame) -> dict:
    """AMSTAR 2's overall confidence (Shea et al., 2017, Box 2): a "no" on a critical domain is a
    critical flaw, a "no" elsewhere a non-critical weakness ("partial yes" and "no meta-analysis" are
    neither).

    - high: no or one non-critical weakness, no critical flaw;
    - moderate: more than one non-critical weakness, no critical flaw;
    - low: one critical flaw, with or without non-critical weaknesses;
    - critically low: more than one critical flaw.

    Returns
    -------
    dict
        ``rating``, ``critical_flaws`` and ``weaknesses`` (lists of item numbers).
    """
    no = assessment["answer"] == "no"
    flaws = assessment.loc[no & assessment["critical"], "item"].tolist()
    weak = assessment.loc[no & ~assessment["critical"], "item"].tolist()
    if len(flaws) > 1:
        rating = "critically low"
    elif flaws:
        rating = "low"
    else:
        rating = "moderate" if len(weak) > 1 else "high"
    return {"rating": rating, "critical_flaws": flaws, "weaknesses": weak}


def status_counts(checklist: pd.DataFrame) -> dict:
    """How many PRISMA items are reported (yes), partly reported and not met."""
    counts = checklist["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in ("yes", "partly", "no")}
