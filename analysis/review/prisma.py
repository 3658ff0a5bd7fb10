"""PRISMA 2020 flow diagrams: the counts of a database's search flow, checked for arithmetic,
and the boxes of the diagram (drawn by :func:`analysis.figures.flow_diagram`).

The R packages that draw PRISMA diagrams (PRISMA2020, PRISMAstatement) have no Python
counterpart, so the boxes are laid out here; the counts come from the files, never from prose.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from analysis.review.errors import DataError, Problem

#: Keys of a Metapsy ``search_flow`` file (metapsyTools' convention, as in PRISMAstatement):
#: ``database.hits.duplicates.removed`` is the number of records left after duplicates were removed.
SEARCH_FLOW_COUNTS = (
    "database.hits",
    "additional.records",
    "database.hits.duplicates.removed",
    "records.screened",
    "full.text.assessed.for.eligibility",
    "included",
)
REASONS = "full.text.excluded.reasons"


def read_search_flow(path: str | Path) -> dict:
    """Read a Metapsy search-flow file (JSON) and check that its counts add up.

    Returns
    -------
    dict
        The counts under :data:`SEARCH_FLOW_COUNTS` as ints, and ``full.text.excluded.reasons``
        as a dict reason -> int.

    Raises
    ------
    DataError
        Missing file, invalid JSON (with its line), a missing key, a count that is not a
        whole number >= 0, or counts that contradict each other (more records screened than
        identified), each naming the file, the line and the key. Full-text exclusion reasons that do
        not add up are not refused: ``mismatch`` holds both numbers (:func:`_reasons_mismatch`).
    """
    from analysis.review.safeio import line_of_key, load_json  # refuses non-files, non-UTF-8, duplicate keys, deep nesting

    path, name = Path(path), str(path)
    raw, text = load_json(path, "search-flow file")
    if not isinstance(raw, dict):
        raise DataError([Problem(name, 1, None, "expected a JSON object of counts")])
    problems, flow = [], {}

    def count(key, value, where):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(Problem(name, line_of_key(text, where), where, f"{value!r} is not a whole number >= 0"))
            return None
        return value

    for key in SEARCH_FLOW_COUNTS:
        if key not in raw:
            problems.append(Problem(name, None, key, "required key is missing"))
        else:
            flow[key] = count(key, raw[key], key)
    reasons = raw.get(REASONS)
    if not isinstance(reasons, dict):
        problems.append(Problem(name, line_of_key(text, REASONS), REASONS, "required: an object of reason -> count"))
    else:
        flow[REASONS] = {reason: count(reason, n, reason) for reason, n in reasons.items()}
    if problems:
        raise DataError(problems)
    identified = flow["database.hits"] + flow["additional.records"]
    order = [("database.hits.duplicates.removed", identified, "records identified"),
             ("records.screened", flow["database.hits.duplicates.removed"], "records left after duplicates were removed"),
             ("full.text.assessed.for.eligibility", flow["records.screened"], "records screened"),
             ("included", flow["full.text.assessed.for.eligibility"], "reports assessed")]
    for key, upper, what in order:
        if flow[key] > upper:
            problems.append(Problem(name, line_of_key(text, key), key, f"{flow[key]} is more than the {upper} {what}"))
    if problems:
        raise DataError(problems)
    flow["mismatch"] = _reasons_mismatch(flow, name, line_of_key(text, REASONS))
    return flow


class SearchFlowWarning(UserWarning):
    """A published search flow whose counts do not add up: reported, not refused."""


def _reasons_mismatch(flow: dict, name: str, line: int | None) -> dict | None:
    """Published search flows do not always add up (the full-text exclusion reasons may sum to
    less than the reports assessed minus the studies included). Such a file is used as published:
    the difference is returned (for the sentence under the diagram) and a warning goes to the
    build log. None when the counts agree."""
    excluded = sum(flow[REASONS].values())
    assessed, included = flow["full.text.assessed.for.eligibility"], flow["included"]
    if excluded == assessed - included:
        return None
    warnings.warn(SearchFlowWarning(
        f"{name}, line {line}, '{REASONS}': the reasons add up to {excluded}, but {assessed} reports assessed "
        f"minus {included} included is {assessed - included}; the book reports both numbers"), stacklevel=3)
    return {"reasons": excluded, "assessed": assessed, "included": included, "expected": assessed - included}


def prisma_counts(flow: dict) -> dict:
    """The numbers in each box of a PRISMA 2020 diagram, from a checked search flow.

    Returns
    -------
    dict
        ``databases``, ``other``, ``duplicates`` (removed before screening), ``screened``,
        ``excluded_screening``, ``assessed``, ``excluded_full_text``, ``reasons`` (dict,
        largest first), ``included``.

    References
    ----------
    Page, M. J., et al. (2021). The PRISMA 2020 statement: an updated guideline for reporting
    systematic reviews. *BMJ*, 372, n71.
    """
    identified = flow["database.hits"] + flow["additional.records"]
    reasons = dict(sorted(flow[REASONS].items(), key=lambda kv: (-kv[1], kv[0])))
    return {
        "databases": flow["database.hits"],
        "other": flow["additional.records"],
        "duplicates": identified - flow["database.hits.duplicates.removed"],
        "screened": flow["records.screened"],
        "excluded_screening": flow["records.screened"] - flow["full.text.assessed.for.eligibility"],
        "assessed": flow["full.text.assessed.for.eligibility"],
        "excluded_full_text": sum(reasons.values()),
        "reasons": reasons,
        "included": flow["included"],
        "mismatch": flow.get("mismatch"),
    }


def _n(value: int) -> str:
    return f"(n\u00a0=\u00a0{value:,})"  # no-break spaces: wrapping keeps "(n = 5)" whole


def prisma_boxes(counts: dict, released: int, analysed: int, comparisons: int, therapy: str) -> list[dict]:
    """Rows of the PRISMA 2020 diagram for a Metapsy database and this review's analysis.

    Parameters
    ----------
    counts : dict
        From :func:`prisma_counts`.
    released : int
        Studies in the released data file the review reads.
    analysed : int
        Studies in this review's analysis; ``comparisons`` their comparisons.
    therapy : str
        The therapy analysed, for the last box.

    Returns
    -------
    list of dict
        One per row: ``stage`` (Identification, Screening, Included), ``main`` and ``side``
        (text, or None) for :func:`analysis.figures.flow_diagram`.
    """
    reasons = "\n".join(f"  {reason} {_n(n)}" for reason, n in counts["reasons"].items())
    return [
        {"stage": "Identification",
         "main": f"Records identified from databases {_n(counts['databases'])}\nand other sources {_n(counts['other'])}",
         "side": f"Removed before screening:\n  duplicate records {_n(counts['duplicates'])}"},
        {"stage": "Screening", "main": f"Records screened {_n(counts['screened'])}",
         "side": f"Records excluded {_n(counts['excluded_screening'])}"},
        {"stage": "Screening", "main": f"Reports assessed for eligibility {_n(counts['assessed'])}",
         "side": f"Reports excluded {_n(counts['excluded_full_text'])}:\n{reasons}"},
        {"stage": "Included", "main": f"Studies in the Metapsy depression database {_n(counts['included'])}",
         "side": None},
        {"stage": "Included", "main": f"Studies in the psychotherapy-vs-control data file {_n(released)}",
         "side": f"Studies in the database's other files\n(other comparisons) {_n(counts['included'] - released)}"},
        {"stage": "Included", "main": f"Studies in this review's {therapy} analysis {_n(analysed)},\n"
                                      f"{comparisons:,} comparisons with a control condition",
         "side": f"Studies of other therapies {_n(released - analysed)}"},
    ]


def source_boxes(flow: dict) -> list[dict]:
    """Rows of the flow diagram for the source documents and their claims.

    Parameters
    ----------
    flow : dict
        From :func:`analysis.review.claims.screening_flow`.
    """
    return [
        {"stage": "Identification", "main": f"Source documents given to the review {_n(flow['sources'])}", "side": None},
        {"stage": "Screening", "main": f"Documents read in full {_n(flow['sources'])}",
         "side": f"Documents with no claim recorded {_n(flow['sources'] - flow['sources_with_claims'])}"},
        {"stage": "Screening", "main": f"Claims recorded, with verbatim quotes {_n(flow['claims'])}",
         "side": f"Claims about mechanisms, synthesised\nnarratively {_n(flow['narrative'])}"},
        {"stage": "Included", "main": f"Quantitative claims {_n(flow['quantitative'])}",
         "side": f"Effects whose data are not open {_n(flow['untestable'])}\n"
                 f"Figures outside the scope of trial data {_n(flow['outside_scope'])}\n"
                 f"Checked against the cited publication {_n(flow['checked_against_source'])}"},
        {"stage": "Included", "main": f"Claims tested against open trial-level data {_n(flow['testable'])}", "side": None},
    ]


def release_boxes(released: int, analysed: int, comparisons: int, therapy: str) -> list[dict]:
    """The diagram for a release published without a search flow: what the review knows (the
    studies in the data file and in the analysis), with the search stated as unknown."""
    return [
        {"stage": "Identification", "main": "No search flow was published with this release:\n"
                                            "the records identified, screened and assessed are not known", "side": None},
        {"stage": "Included", "main": f"Studies in the psychotherapy-vs-control data file {_n(released)}", "side": None},
        {"stage": "Included", "main": f"Studies in this review's {therapy} analysis {_n(analysed)},\n"
                                      f"{comparisons:,} comparisons with a control condition",
         "side": f"Studies of other therapies {_n(released - analysed)}"},
    ]


def release_search_flow(data: str, search_flow: str, default_data: str, default_search_flow: str,
                        root: Path | None = None) -> tuple[Path | None, str]:
    """The search flow that belongs to the release a chapter reads.

    A search flow named explicitly (``search_flow`` differs from its default) is that release's.
    The default search flow belongs to the default release only: a chapter pointed at another
    release takes that release's own (``metadata/search_flow.json`` beside its data file, or the
    one ``search_flow*.json`` in its folder), or none, rather than showing another release's counts.

    Returns
    -------
    (Path or None, str)
        The file, and how it was found: ``named``, ``beside`` (found with the data) or ``none``.
    """
    from analysis.review.importers.metapsy import release_file

    root = Path(root) if root is not None else Path.cwd()
    if search_flow != default_search_flow or data == default_data:
        return root / search_flow, "named"
    found = release_file(root / data, "search_flow.json", "search_flow*.json")
    return (found, "beside") if found is not None else (None, "none")
