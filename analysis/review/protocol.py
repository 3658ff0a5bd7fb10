"""The protocol's table of parameters: every parameter of every chapter with its default, what it
sets (with the values it allows) and what changing it means, read from ``params/defaults.yml`` when
the book is built (so the table cannot fall behind the file)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

# What a change to a parameter means, by parameter name (the same name means the same thing in
# every chapter); a data file's is :data:`DATA`. Every parameter has one (tested), so that the
# table says for each what choosing another value does.
MEANINGS = {
    "instrument_priority": "The order in which outcome instruments are preferred when a release has no primary "
                           "flag (or outcome_selection is priority); another order can pick another outcome for "
                           "some comparisons and so change every CBT estimate.",
    "outcome_selection": "auto takes the release's primary flag where it has one, else the instrument order; "
                         "primary takes the flag only (a release without it is refused); priority takes the "
                         "instrument order for every comparison. Another rule can pick another outcome for some "
                         "comparisons and so change every CBT estimate.",
    "method": "Another estimator of the between-study variance tau² (FE pools with a common effect). "
              "Changes the weights, the pooled estimates, their intervals and the prediction intervals.",
    "hksj": "true: Hartung-Knapp-Sidik-Jonkman confidence intervals (t-based, usually wider); false: "
            "z-based intervals.",
    "active_class": "SSRI pools the SSRI trials only; any pools every antidepressant against placebo.",
    "therapy": "Another label pools that therapy's comparisons with control conditions: every estimate of "
               "the chapter changes.",
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
    "forest_max_studies": "Fewer rows draw only the studies with the largest weights once a meta-analysis has "
                          "more (the chapter says how many are drawn); the pooled estimate is from every study "
                          "either way.",
    "max_refits": "Above this many studies, leave-one-out and influence refit only the studies a screen picks "
                  "(those whose omission moves the estimate most) and the cumulative analysis fewer steps; "
                  "lower is faster, higher refits more. No pooled estimate changes.",
    "psyctr_version": "Another release name in the chapter's text, for a file whose name does not give it; "
                      "no estimate changes.",
    "primary_model": "Which model gives the CBT chapter's primary estimate, its low-risk-of-bias subset and "
                     "the weight shares: comparisons as independent, one aggregated effect per trial, a "
                     "three-level model or CHE; every model stays in the chapter's dependency table.",
    "rho": "A higher correlation counts the comparisons of one trial as more alike, so the aggregated and "
           "CHE models (the primary one among them) give a trial with several comparisons less weight; "
           "the independent and three-level models do not use it.",
    "implausible_g": "A lower threshold sets more comparisons aside in that sensitivity analysis, a higher one "
                     "fewer; the primary analysis, which pools every comparison, does not change.",
    "rob_domains": "Fewer items count more comparisons as at low risk of bias, more items fewer: the "
                   "low-risk subset, its share of the weight and the GRADE risk-of-bias judgement can change.",
    "self_report": "high: a self-reported outcome is not low risk for blinding, as RoB 2 judges an unblinded "
                   "participant-reported outcome; low: it is, as the database scores it, so more comparisons "
                   "can count as low risk of bias and the low-risk subset and GRADE can change.",
    "min_k_drug": "Published trials a drug needs to be scored on its own: lower includes more drugs with "
                  "fewer trials each.",
    "data_dir": "The folder whose files are hashed in the reproducibility appendix.",
    "claims": "Another claims register: other claims are traced and tested.",
    "appraisal": "Another appraisal of the source documents.",
    "grade": "Other reviewers' overrides of the GRADE rules: certainties may change; each override "
             "carries its reason into the footnotes.",
    "defaults": "The parameters file this table is read from.",
    "grid": "Another grid fits other specifications: the multiverse chapter's curves, shares and what moves "
            "the estimate change; the other chapters' analyses do not.",
    "workers": "More processes fit the specifications in parallel, faster where cores are free; the "
               "results are the same.",
    "budget": "A lower budget fits a smaller random sample of a grid that exceeds it (the chapter says how "
              "many were fitted), a higher one more, up to the whole grid.",
    "seed": "Another seed draws another random sample of specifications where a grid is sampled; where the "
            "whole grid is fitted, nothing changes.",
    "network_reference": "The network rows compare each drug with another treatment of the network: their "
                         "estimates and ratings change.",
    "network_method": "The network rows fitted by another estimator (FE: a common-effect network): their odds "
                      "ratios, intervals and ratings change.",
    "reference": "Every drug's estimates, and their certainty ratings, are shown against another treatment of "
                 "the network.",
    "reproduction_tolerance": "A wider tolerance calls more published odds ratios reproduced, a narrower one "
                              "fewer; no estimate changes.",
    "nodesplit_alpha": "A higher level finds more comparisons incoherent in the node-split summary and more "
                       "concerns for incoherence in the certainty ratings, a lower one fewer; no estimate "
                       "changes.",
    "hamd_mid": "A larger difference counts fewer drugs' HAM-D mean differences as beyond it, a smaller one "
                "more; no estimate changes.",
    "transitivity_min_trials": "Fewer trials give more direct comparisons their own row in the transitivity "
                               "table, more trials fewer (the others share one row); no estimate changes.",
    "dose_agents": "Leaving an agent out drops its curve and its row; an agent added is fitted when it has "
                   "enough placebo-controlled trials.",
    "min_dose_studies": "Lower fits curves for agents with fewer trials, and so less certain curves; higher "
                        "leaves more agents out.",
    "knot_low": "Moving the first knot changes the curve's shape at low doses and may move its peak.",
    "knot_middle": "Moving the middle knot changes where the curve bends and may move its peak.",
    "knot_high": "A lower percentile makes the curve linear over more of the highest doses, a higher one lets "
                 "it bend closer to the highest dose; the peak may move.",
    "knots_of": "arms weighs the doses most trials use, so knots can tie (the chapter says when); distinct "
                "counts each dose studied once. The knots, and so the curve's shape and peak, change.",
    "dose_grid_points": "More points find the peak dose on a finer grid (more exactly, more slowly), fewer on "
                        "a coarser one; the fitted curve does not change.",
}
#: Where a parameter means something else in one chapter: the CBT chapter's primary analysis is a
#: multilevel (CHE) model with cluster-robust inference, which the univariate ``method`` and ``hksj``
#: reach only in part (:func:`analysis.review.dependency.multilevel`).
CHAPTER_MEANINGS = {
    ("cbt-control", "method"): "Another estimator of tau² for the models that take the comparisons as independent "
                               "or one per trial (the dependency table's first two rows, the independent subgroup "
                               "fits, trim-and-fill; PET, PEESE and WAAP-WLS are weighted least squares and the "
                               "selection models maximum likelihood whatever it is). The three-level and CHE models, the primary "
                               "analysis among them, take REML or ML as given and REML for any other estimator.",
    ("cbt-control", "hksj"): "true: Hartung-Knapp-Sidik-Jonkman intervals for the models that take the comparisons "
                             "as independent or one per trial, and t-based ones for the three-level model; false: "
                             "z-based ones. The CHE primary analysis's intervals come from its cluster-robust (CR2) "
                             "inference either way.",
}
DATA = "Another data file of the same format: every number computed from it changes."


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


def meaning(parameter: str, default, chapter: str | None = None) -> str:
    """What changing a parameter means: the chapter's own (:data:`CHAPTER_MEANINGS`), else
    :data:`MEANINGS`, :data:`DATA` for a data file, else ""."""
    if (chapter, parameter) in CHAPTER_MEANINGS:
        return CHAPTER_MEANINGS[(chapter, parameter)]
    if parameter in MEANINGS:
        return MEANINGS[parameter]
    if isinstance(default, str) and default.startswith("data/"):
        return DATA
    return ""


def _number(value) -> str:
    """A bound of a range as a reader writes it: 1,000,000 (not 1e6 or 1000000.0), 0.99."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _one_of(choices) -> str:
    choices = [str(c) for c in choices]
    return choices[0] if len(choices) == 1 else ", ".join(choices[:-1]) + " or " + choices[-1]


def allowed(spec: dict | None) -> str:
    """The values a parameter's declared type and range (``analysis.book.params.spec_for``) allow,
    in one form for every parameter: "REML, ML or FE", "a whole number from 1 to 1,000", "a number
    from 0 to 0.99", "true or false", "any of sg, ac, ba or itt (at least 1)"; "" for a file, a
    folder or a free text, whose rows say what they take."""
    spec = spec or {}
    kind, choices = spec.get("type"), spec.get("choices")
    if kind == "list" and choices:
        return f"any of {_one_of(choices)} (at least {_number(spec.get('min_length', 1))})"
    if choices:
        return _one_of(choices)
    if kind in ("int", "float") and "min" in spec and "max" in spec:
        number = "a whole number" if kind == "int" else "a number"
        return f"{number} from {_number(spec['min'])} to {_number(spec['max'])}"
    return "true or false" if kind == "bool" else ""


def sets_cell(comment: str, spec: dict | None) -> str:
    """The "what it sets" cell: the comment beside the parameter in the file and, where its type
    restricts it, the values it allows (:func:`allowed`), listed the same way on every row."""
    values = allowed(spec)
    return f"{comment}; allowed: {values}" if values else comment


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


def parameter_table(path: str | Path, spec_for=None) -> pd.DataFrame:
    """One row per chapter and parameter: its default, what it sets (:func:`sets_cell`: the comment
    beside it in the file, with the values it allows when ``spec_for(chapter, parameter)`` gives its
    declared type and range) and what changing it means (:func:`meaning`)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    notes = comments(Path(path))
    rows = []
    for chapter, values in data.items():
        for parameter, default in values.items():
            spec = spec_for(chapter, parameter) if spec_for else None
            rows.append({"chapter": chapter, "parameter": parameter, "default": yaml_value(default),
                         "what it sets": sets_cell(notes.get((chapter, parameter), ""), spec),
                         "what a change means": meaning(parameter, default, chapter)})
    return pd.DataFrame(rows)
