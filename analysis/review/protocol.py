"""The protocol's table of parameters: every parameter of every chapter with its default, what it
sets and what changing it means, read from ``params/defaults.yml`` when the book is built (so the
table cannot fall behind the file)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

# What a change to a parameter means, by parameter name (the same name means the same thing in
# every chapter). A parameter not listed here falls back to the comment beside it in the file.
MEANINGS = {
    "instrument_priority": "The order in which outcome instruments are preferred when a release has no primary "
                           "flag (or outcome_selection is priority); another order can pick another outcome for "
                           "some comparisons and so change every CBT estimate.",
    "method": "Another estimator of the between-study variance tau² (FE pools with a common effect). "
              "Changes the weights, the pooled estimates, their intervals and the prediction intervals.",
    "hksj": "true: Hartung-Knapp-Sidik-Jonkman confidence intervals (t-based, usually wider); false: "
            "z-based intervals.",
    "active_class": "SSRI pools the SSRI trials only; any pools every antidepressant against placebo.",
    "therapy": "Which psychotherapy is pooled against control conditions (Metapsy's condition label).",
    "low_rob_items": "How many of the database's four risk-of-bias items must be low for the database's own "
                     "score to count a comparison as low risk; the protocol's rule (rob_domains) governs the "
                     "low-risk subset and GRADE, and this score is only reported beside it.",
    "pst_label": "Another label pools the response comparisons of the therapy the response database "
                 "labels so, in place of problem-solving therapy's.",
    "cbt_label": "Another label takes the control groups' response rate, and so the number needed to treat "
                 "and the responders per 1,000, from that therapy's trials.",
    "forest_max_rows": "Where the PDF's forest plot breaks to a new page (the web page shows one tall figure) "
                       "and how many rows the leave-one-out plot and the CBT chapter's traffic-light plot draw; "
                       "no estimate changes.",
    "min_k_drug": "Published trials a drug needs to be scored on its own: lower includes more drugs with "
                  "fewer trials each.",
    "data_dir": "The folder whose files are hashed in the reproducibility appendix.",
    "claims": "Another claims register: other claims are traced and tested.",
    "appraisal": "Another appraisal of the source documents.",
    "grade": "Other reviewers' overrides of the GRADE rules: certainties may change; each override "
             "carries its reason into the footnotes.",
    "defaults": "The parameters file this table is read from.",
}
DATA = "Another data file of the same format: every number computed from it changes."
#: The "what a change means" cell of a parameter whose change means no more than what it sets.
SAME = "—"


def comments(path: Path) -> dict:
    """(chapter, parameter) -> the comment written beside it in the YAML file."""
    out, chapter = {}, None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        top = re.match(r"^([\w-]+):\s*(#.*)?$", line)
        if top:
            chapter = top.group(1)
            continue
        item = re.match(r"^\s+([\w-]+):[^#]*#\s*(.*)$", line)
        if item and chapter:
            out[(chapter, item.group(1))] = item.group(2).strip()
    return out


def meaning(parameter: str, default) -> str | None:
    """What changing a parameter means (None if the protocol does not say)."""
    if parameter in MEANINGS:
        return MEANINGS[parameter]
    if isinstance(default, str) and default.startswith("data/"):
        return DATA
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9²]+", str(text).lower())


def change_cell(sets: str, change: str | None) -> str:
    """The "what a change means" cell beside ``sets`` (the comment in the file): ``change`` (from
    :func:`meaning`), or :data:`SAME` where it would only repeat ``sets`` (no meaning of its own,
    or the same words); with neither, the cell is empty."""
    if change and _words(change) != _words(sets):
        return change
    return SAME if sets else ""


def yaml_value(value) -> str:
    """A parameter's value as params/defaults.yml would spell it: text as it is (an empty one as
    ``""``), true/false, numbers as written; a list as its items, one after another (so that a long
    list wraps in the PDF)."""
    if isinstance(value, list):
        return "; ".join(str(v).replace("|", " | ") for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value if value else '""'
    return str(value)


def parameter_table(path: str | Path) -> pd.DataFrame:
    """One row per chapter and parameter: its default, what it sets (the comment beside it in the
    file) and what changing it means (:func:`change_cell`: a dash where that would repeat what it sets)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    notes = comments(Path(path))
    rows = []
    for chapter, values in data.items():
        for parameter, default in values.items():
            rows.append({"chapter": chapter, "parameter": parameter, "default": yaml_value(default),
                         "what it sets": notes.get((chapter, parameter), ""),
                         "what a change means": change_cell(notes.get((chapter, parameter), ""),
                                                            meaning(parameter, default))})
    return pd.DataFrame(rows)
