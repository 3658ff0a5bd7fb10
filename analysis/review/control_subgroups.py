"""The subgroups by control condition, every way the review fits them: one table of the analyses
beside the pre-specified one, and the tested words that summarise it.

The protocol fixes one subgroup analysis (the CHE meta-regression with one mean per subgroup and
its cluster-robust HTZ Wald test, :func:`analysis.meta.subgroups.multilevel_subgroups`); every other
fit is a sensitivity analysis, and those added after the first results are labelled so. Reporting
one primary test and tabulating the rest follows the Cochrane Handbook's advice against multiplying
subgroup tests (Deeks, Higgins & Altman, 2023, section 10.11.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.review.verdicts import contrast_word
from analysis.review.wording import contrast_test_words, count_of, counted, format_p, listing

#: What a fit's ``status`` may say: the protocol's primary analysis, a sensitivity analysis, or a
#: sensitivity analysis added after the first results (dated in the register of amendments).
STATUSES = ("primary", "sensitivity", "added after the first results",
            "primary (its CHE form added after the first results)", "sensitivity (the protocol's first form)")


@dataclass(frozen=True)
class SubgroupFit:
    """One subgroup analysis: how it was fitted (``label``), on which comparisons, its ``status``
    (one of :data:`STATUSES`) and the ``result`` (a ``MultilevelSubgroups``, a ``SubgroupResult``,
    or the reason it could not be fitted, a string)."""

    label: str
    comparisons: str
    status: str
    result: object

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")

    @property
    def fitted(self) -> bool:
        return not isinstance(self.result, str)

    @property
    def p(self) -> float:
        """The p-value of the test for subgroup differences (NaN when not fitted)."""
        if not self.fitted:
            return np.nan
        test = getattr(self.result, "test", None)
        return float(test.p) if test is not None else float(self.result.p_between)


ALL, KEPT = "every comparison", "without the implausible effects"


def control_fits(extra: dict) -> list[SubgroupFit]:
    """The subgroup analyses by control condition of :func:`analysis.review.psychotherapy.psychotherapy_control`
    (its ``extra``), the primary first: the CHE model with shared variance components, each subgroup
    under its own CHE model, and each pooled alone as if its comparisons were independent (the
    separate-tau² analysis, the protocol's first), each with every comparison and without the
    implausible effects (the rule added after the first results)."""
    later = STATUSES[2]
    return [
        SubgroupFit("CHE, shared variance components", ALL, STATUSES[3], extra["by_control_che"]),
        SubgroupFit("CHE, shared variance components", KEPT, later, extra["by_control_excluding_implausible"]),
        SubgroupFit("CHE, each subgroup its own", ALL, later, extra["by_control_che_separate"]),
        SubgroupFit("CHE, each subgroup its own", KEPT, later, extra["by_control_che_separate_excluding_implausible"]),
        SubgroupFit("as if independent, each subgroup its own tau²", ALL, STATUSES[4], extra["by_control"]),
        SubgroupFit("as if independent, each subgroup its own tau²", KEPT, later,
                    extra["by_control_independent_excluding_implausible"]),
    ]


def difference_test_words(result) -> str:
    """The test for subgroup differences of one fit: ``F = 7.35 on 2 and 23.9 df, p = 0.003``
    (cluster-robust HTZ Wald test), ``Q = 9.05 on 2 df, p = 0.011`` (separate-tau² test), or
    ``not fitted: <reason>``."""
    if isinstance(result, str):
        return f"not fitted: {result}"
    test = getattr(result, "test", None)
    if test is not None:
        return f"F = {test.F:.2f} on {test.df_num} and {test.df_denom:.1f} df, p {format_p(test.p)}"
    return f"Q = {result.q_between:.2f} on {result.df_between} df, p {format_p(result.p_between)}"


def _variance(row) -> float:
    """A subgroup's own between-trial variance: tau² of an independent fit, the between-trial
    sigma² of its own CHE fit; NaN when the subgroups share them."""
    for col in ("tau2", "sigma2_between"):
        if col in row and row[col] == row[col]:
            return float(row[col])
    return np.nan


def _cell(row) -> str:
    own = _variance(row)
    text = f"{row['estimate']:.2f} ({row['ci_low']:.2f} to {row['ci_high']:.2f}); k = {int(row['k'])}"
    return text if own != own else f"{text}; tau² = {own:.2f}"


def subgroup_table(fits, names: dict) -> pd.DataFrame:
    """One row per subgroup analysis: ``analysis`` (how it was fitted; on which comparisons),
    ``status``, one column per subgroup (named by ``names``, a subgroup's code to its words, in its
    order; codes not in it keep their code and follow, sorted) with g, its 95% CI and k, and the
    subgroup's own between-trial variance where the fit gives each subgroup its own, then
    ``between-trial variance`` (shared or own) and the ``test for subgroup differences``. A fit
    that could not be run keeps its row, with the reason in the test column."""
    present = {g for f in fits if f.fitted for g in f.result.groups["subgroup"]}
    codes = [c for c in names if c in present] + sorted(present - set(names))
    rows = []
    for fit in fits:
        row = {"analysis": f"{fit.label}; {fit.comparisons}", "status": fit.status}
        groups = fit.result.groups.set_index("subgroup") if fit.fitted else pd.DataFrame()
        for code in codes:
            row[names.get(code, code)] = _cell(groups.loc[code]) if code in groups.index else ""
        shared = fit.fitted and hasattr(fit.result, "test")
        row["between-trial variance"] = (f"shared: {fit.result.fit.sigma2_between:.2f}" if shared
                                         else "own, per subgroup" if fit.fitted else "")
        row["test for subgroup differences"] = difference_test_words(fit.result)
        rows.append(row)
    return pd.DataFrame(rows)


def other_tests_words(fits, alpha: float = 0.05) -> str:
    """How the other analyses' tests compare with the primary one (the first of ``fits``) at
    ``alpha``: ``all 5 other analyses also find a difference at the 5% level``, or how many agree
    and which do not, with their p-values; the fits not run are left out."""
    primary, others = fits[0], [f for f in fits[1:] if f.fitted]
    if not primary.fitted:
        raise ValueError("the primary subgroup analysis was not fitted")
    if not others:
        return "no other analysis could be fitted"
    finds = primary.p < alpha
    agree = [f for f in others if (f.p < alpha) == finds]
    verbs = ("also finds a difference", "also find a difference") if finds else \
        ("also finds no difference", "also find no difference")
    level = f"at the {alpha:.0%} level"
    if len(agree) == len(others):
        who = "the other analysis" if len(others) == 1 else "both other analyses" if len(others) == 2 \
            else f"all {len(others)} other analyses"
        return f"{who} {verbs[len(others) > 1]} {level}"
    differ = "; ".join(f"{f.label}, {f.comparisons} (p {format_p(f.p)})" for f in others if f not in agree)
    return f"{count_of(len(agree), len(others), 'other analyses', verbs)} {level}; not so: {differ}"


def variance_driver(with_all, without, names: dict, flagged: pd.DataFrame) -> str:
    """Why one subgroup's own between-trial variance is large when each subgroup has its own CHE
    fit: the subgroup with the largest variance with every comparison (``with_all``), the flagged
    comparisons of that subgroup (``flagged``: study, subgroup, effect) and the variance without the
    implausible effects (``without``: a fit, or the reason it could not be fitted)."""
    if isinstance(with_all, str):
        return f"each subgroup under its own model could not be fitted ({with_all})"
    groups = with_all.groups.set_index("subgroup")
    top = groups["sigma2_between"].idxmax()
    head = (f"the {names.get(top, top)} subgroup's own between-trial variance, tau² = "
            f"{groups.loc[top, 'sigma2_between']:.2f}, is the largest")
    mine = flagged[flagged["subgroup"] == top]
    cause = (f"without its {'one implausible effect' if len(mine) == 1 else counted(len(mine), 'implausible effect')} ("
             + "; ".join(f"{s}, g = {e:.2f}" for s, e in zip(mine["study"], mine["effect"])) + ")") if len(mine) \
        else "without the implausible effects (none of them in this subgroup)"
    if isinstance(without, str):
        return f"{head}; {cause} it could not be refitted ({without})"
    kept = without.groups.set_index("subgroup")
    if top not in kept.index:
        return f"{head}; {cause} the subgroup is empty"
    return f"{head}; {cause} it is {kept.loc[top, 'sigma2_between']:.2f}"


def spanning_words(cluster, subgroup) -> str:
    """The trials whose comparisons fall in more than one subgroup, which the subgroups' trial
    counts count in each: "4 trials give comparisons to more than one subgroup and count in each:
    Moldovan, 2013 (three subgroups); Propst, 1992; Scogin, 1987; and Serfaty, 2009"; "no trial gives
    comparisons to more than one subgroup"."""
    from analysis.meta.subgroups import spanning_clusters

    spans = spanning_clusters(cluster, subgroup)
    if spans.empty:
        return "no trial gives comparisons to more than one subgroup"
    words = {3: "three", 4: "four", 5: "five"}
    named = [t if n == 2 else f"{t} ({words.get(n, n)} subgroups)" for t, n in spans.items()]
    listed = " and ".join(named) if len(named) <= 2 else "; ".join(named[:-1]) + f"; and {named[-1]}"
    verbs = ("gives", "counts") if len(spans) == 1 else ("give", "count")
    return (f"{counted(len(spans), 'trial')} {verbs[0]} comparisons to more than one subgroup and {verbs[1]} in "
            f"each: {listed}")



def subgroup_estimates_words(groups: pd.DataFrame, names: dict) -> str:
    """Each subgroup's pooled g with its 95% CI and size, in the order of ``names`` (the codes it
    names first, as the chapter's table and headings order them, then any other in the order of
    ``groups``, a ``MultilevelSubgroups.groups`` table), a code not in ``names`` as it is:
    "g = 0.87 (0.75 to 0.99; 250 comparisons in 200 trials) in the waitlist subgroup, ...". Every
    subgroup the data hold is said, whatever its code."""
    order = {code: i for i, code in enumerate(names)}
    rows = sorted(groups.itertuples(), key=lambda r: order.get(r.subgroup, len(order)))
    return listing([f"g = {r.estimate:.2f} ({r.ci_low:.2f} to {r.ci_high:.2f}; {counted(int(r.k), 'comparison')} in "
                    f"{counted(int(r.clusters), 'trial')}) in the {names.get(r.subgroup, r.subgroup)} subgroup"
                    for r in rows])


def contrast_words(contrast: dict | None, first: str, second: str) -> str:
    """The post-hoc contrast of two subgroups (``MultilevelSubgroups.contrast``) as a sentence: the
    effect against ``first`` larger or smaller than against ``second`` when its CR2 t-test has
    p < 0.05, else not significantly different, with the difference and its test; ``contrast`` None
    (the pooled comparisons lack one of the two subgroups) says the contrast cannot be made. The
    contrast is of the primary (CHE) subgroup model's means."""
    head = f"A contrast of {first} with {second} in the primary CHE model, added after the first results,"
    if contrast is None:
        return f"{head} cannot be made: the pooled comparisons have no {first} or no {second} subgroup."
    word = contrast_word(contrast["difference"], contrast["p"])
    relation = f"{word} than" if word in ("larger", "smaller") else f"{word} from that"
    return (f"{head} finds the effect against {first} {relation} against {second} "
            f"({contrast_test_words(contrast)}).")
