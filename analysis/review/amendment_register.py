"""The register of amendments: each choice made after the first results were seen, what it
changed, why, and how the book reports it, dated from version control.

The amendment log (:mod:`analysis.review.amendments`) lists every commit that touched a protocol
file; this register names the choices among them that a reader must weigh. Each entry is dated by
the first commit that put its ``marker`` into its ``path`` (``git log -S``), and set against the
first commit of the chapter whose results it answers, so "after the first results" is read from
the history, not typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.review.amendments import _git, first_change


@dataclass(frozen=True)
class Amendment:
    """One post-hoc choice: ``title``, what it ``changed``, ``why``, how it is ``reported``, and the
    ``path``/``marker`` that date it against the first results of ``results`` (a chapter)."""

    title: str
    changed: str
    why: str
    reported: str
    path: str
    marker: str
    results: str


AMENDMENTS = (
    Amendment("Implausible-effect rule",
              "Comparisons with |g| above implausible_g are set aside.",
              "A few comparisons had effects that large and moved the pooled estimate.",
              "Sensitivity analysis only; the primary analysis pools every comparison.",
              "params/defaults.yml", "implausible_g", "chapters/cbt-control.ipynb"),
    Amendment("Dependency-aware primary model (CHE)",
              "The CBT primary analysis became the CHE working model with CR2 inference (primary_model); "
              "the first results pooled every comparison as independent.",
              "Comparisons of one trial share participants; treating them as independent can understate "
              "the uncertainty (Pustejovsky & Tipton 2022).",
              "Primary; the independent model and the other dependency models stand beside it in the "
              "dependency table.",
              "params/defaults.yml", "primary_model", "chapters/cbt-control.ipynb"),
    Amendment("Low risk of bias by protocol domain",
              "A comparison is at low risk only when it is low on every domain in rob_domains, a "
              "self-reported outcome counting for blinding as self_report; first, the database's own "
              "score was used.",
              "The database's score counts a self-reported outcome as low risk in the blinding of outcome "
              "assessors, which RoB 2 does not.",
              "Primary rule for the low-risk subset and GRADE; the risk-of-bias figures show self-report apart.",
              "params/defaults.yml", "rob_domains", "chapters/cbt-control.ipynb"),
    Amendment("Verdict rule",
              "A claim's agreement with its re-derivation is judged by the difference and its 95% interval "
              "against the equivalence margin; first, by whether the claim fell inside the re-derived CI.",
              "The first rule ignored the claim's own uncertainty and the data the two estimates share "
              "(a peer reviewer's finding).",
              "Primary for every verdict.",
              "analysis/review/verdicts.py", "AGREEMENT_VERDICTS", "chapters/claims.ipynb"),
    Amendment("Small-study tests for g and for dependent comparisons",
              "Egger's test on g uses the sample-size based SE, and a multilevel (CHE + CR2) Egger test "
              "is run; first, the classic test on every comparison as independent.",
              "g's usual SE depends on g, so the classic test is biased (Pustejovsky & Rodgers 2019), "
              "and comparisons of one trial are not independent.",
              "Primary for the CBT funnel and GRADE's reporting-bias rule; the classic test is shown beside it.",
              "analysis/review/bias_suite.py", "metapsy_small_study", "chapters/publication-bias.ipynb"),
    Amendment("Subgroups by control condition under the CHE model",
              "The control-condition subgroups and their test are one CHE meta-regression with a cluster-"
              "robust (HTZ) Wald test; first, each subgroup was pooled on its own as if its comparisons "
              "were independent.",
              "The subgroup analysis should rest on the primary model's assumptions; the first test "
              "treats the comparisons of one trial as independent, which they are not.",
              "Primary; the independent-effects test is stated beside it.",
              "analysis/review/psychotherapy.py", "multilevel_subgroups", "chapters/cbt-control.ipynb"),
    Amendment("Bias corrections on one effect per trial",
              "Trim-and-fill, PET-PEESE, the selection models and WAAP-WLS run on one effect per trial "
              "(the comparisons of a trial aggregated with rho); first, on every comparison as if independent.",
              "These methods assume independent effects, which the comparisons of one trial are not.",
              "Primary for the CBT bias-corrected range and GRADE's reporting-bias rule.",
              "analysis/review/psychotherapy.py", "bias_suite(per_trial)", "chapters/cbt-control.ipynb"),
    Amendment("Weight shares of the primary estimate",
              "The shares of the weight at low risk of bias and against waiting lists that GRADE reads are "
              "those of the primary model's estimate; first, of the independent model's.",
              "A rule about the primary estimate should weigh the comparisons as that estimate does.",
              "Primary for GRADE's risk-of-bias and indirectness rules.",
              "analysis/review/psychotherapy.py", "comparison_weights(fits, primary_model)", "chapters/cbt-control.ipynb"),
    Amendment("Network meta-analysis of the 21 drugs",
              "A chapter pools every drug of the GRISELDA trials in one network, with its own certainty "
              "rules; the protocol first planned pairwise comparisons only.",
              "Readers of a review of antidepressants ask which drug; Cipriani et al. (2018) answered it "
              "with a network.",
              "A secondary analysis; the pairwise analyses and their verdicts are unchanged.",
              "chapters/network.ipynb", "Which antidepressant", "chapters/ssri-placebo.ipynb"),
    Amendment("Reproduction tolerance for the published odds ratios",
              "A re-derived network odds ratio reproduces a published one when they differ by less than "
              "the ratio reproduction_tolerance.",
              "The comparison with Cipriani et al. needs a stated tolerance; the release differs from "
              "their data.",
              "Primary for the network's published comparison.",
              "params/defaults.yml", "reproduction_tolerance", "chapters/network.ipynb"),
    Amendment("Certainty of drug-against-drug estimates",
              "Every pair of drugs is rated by the network's certainty rules.",
              "A reader choosing between two drugs needs the certainty of that comparison, not only of each "
              "drug against placebo.",
              "Primary for the pair ratings (a CSV download).",
              "analysis/review/network_pair_certainty.py", "def pair_certainty", "chapters/network.ipynb"),
    Amendment("Network reporting bias by Peters' test",
              "The network certainty rule judges funnel asymmetry by Peters' test (log odds ratio on the "
              "inverse sample size); first, by Egger's test.",
              "Egger's test is biased for log odds ratios, whose SE depends on the effect (Peters et al. 2006).",
              "Primary for the network's certainty ratings.",
              "analysis/review/network_certainty.py", "SMALL_STUDY_MIN_TRIALS", "chapters/network.ipynb"),
)

COLUMNS = ["amendment", "dated", "first results", "changed", "why", "reported as"]


def _when(change: dict | None) -> str:
    return "not in this copy's history" if change is None else f"{change['date']} ({change['commit']})"


def after_first_results(change: dict | None, results: dict | None, root=None) -> str:
    """``"after"``, ``"before"`` or ``"with"`` (one commit): the amendment's commit against the first
    results' (by the history where ``root`` is a checkout holding both, so that one day's commits
    are ordered; else by date, ``"same day"`` when the dates are equal); ``"unknown"`` when either
    is not in the history."""
    if change is None or results is None:
        return "unknown"
    if change["commit"] == results["commit"]:
        return "with"
    if root is not None:
        if _git(Path(root), "merge-base", "--is-ancestor", results["commit"], change["commit"]) is not None:
            return "after"
        if _git(Path(root), "merge-base", "--is-ancestor", change["commit"], results["commit"]) is not None:
            return "before"
    if change["date"] == results["date"]:
        return "same day"
    return "after" if change["date"] > results["date"] else "before"


RELATIVE = {"after": "after", "same day": "on the same day as", "before": "before", "with": "with"}


def _relative(when: str, chapter: str, results: dict | None) -> str:
    """``after the first results of cbt-control (2026-11-21, cb3e5b6)``, or why it cannot be said."""
    if when == "unknown":
        return "cannot be dated in this copy"
    return f"{RELATIVE[when]} the first results of {Path(chapter).stem} ({results['date']}, {results['commit']})"


def _position(root, change: dict | None) -> tuple:
    """Sort key of a change: its date, then its depth in the history (commits before it), so that
    one day's amendments come in the order they were made; undated changes last."""
    if change is None:
        return ("9999", 0)
    depth = _git(Path(root), "rev-list", "--count", change["commit"])
    return (change["date"], int(depth) if depth and depth.strip().isdigit() else 0)


def amendment_register(root: str | Path, amendments=AMENDMENTS) -> pd.DataFrame:
    """One row per amendment, dated from the history of ``root`` (see the module docstring), oldest first."""
    rows = []
    for a in amendments:
        change = first_change(root, a.path, a.marker)
        results = first_change(root, a.results)
        rows.append({"amendment": a.title, "dated": _when(change),
                     "first results": _relative(after_first_results(change, results, root), a.results, results),
                     "_order": _position(root, change),
                     "changed": a.changed, "why": a.why, "reported as": a.reported})
    frame = pd.DataFrame(rows).sort_values("_order", kind="stable")
    return frame[COLUMNS].reset_index(drop=True)
