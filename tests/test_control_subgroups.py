"""Issue 23: the subgroups by control condition report one primary test and tabulate the others; the
words about them come from the fits."""

import numpy as np
import pandas as pd
import pytest

from analysis.meta import multilevel_subgroups
from analysis.meta.subgroups import SubgroupResult, separate_multilevel_subgroups, subgroup_analysis
from analysis.review.control_subgroups import (SubgroupFit, control_fits, other_tests_words, subgroup_table, difference_test_words,
                                               variance_driver)
from conftest import ROOT

CBT = pd.read_csv(ROOT / "tests/reference/datasets/metapsy_cbt_control.csv")
NAMES = {"wl": "waitlist", "cau": "care as usual", "other ctr": "other control"}


@pytest.fixture(scope="module")
def extra():
    y, v, trial, control = CBT["yi"].to_numpy(), CBT["vi"].to_numpy(), CBT["trial"], CBT["control"]
    keep = np.abs(y) <= 3
    return {
        "by_control_che": multilevel_subgroups(y, v, trial, control),
        "by_control_excluding_implausible": multilevel_subgroups(y[keep], v[keep], trial[keep], control[keep]),
        "by_control_che_separate": separate_multilevel_subgroups(y, v, trial, control),
        "by_control_che_separate_excluding_implausible": separate_multilevel_subgroups(y[keep], v[keep], trial[keep],
                                                                                        control[keep]),
        "by_control": subgroup_analysis(y, v, control, hksj=True),
        "by_control_independent_excluding_implausible": subgroup_analysis(y[keep], v[keep], control[keep], hksj=True),
    }


def test_the_table_has_one_row_per_fit_the_primary_first_and_its_cells_from_the_fits(extra):
    fits = control_fits(extra)
    table = subgroup_table(fits, NAMES)
    assert list(table["status"]) == ["primary (its CHE form added after the first results)"] + [
        "added after the first results"] * 3 + ["sensitivity (the protocol's first form)", "added after the first results"]
    assert table.loc[1, "analysis"] == "CHE, shared variance components; without the implausible effects"
    assert list(table.columns[2:5]) == ["waitlist", "care as usual", "other control"]
    primary = extra["by_control_che"]
    wl = primary.groups.set_index("subgroup").loc["wl"]
    assert table.loc[0, "waitlist"] == f"{wl.estimate:.2f} ({wl.ci_low:.2f} to {wl.ci_high:.2f}); k = 123"
    assert table.loc[0, "between-trial variance"] == f"shared: {primary.fit.sigma2_between:.2f}"
    assert table.loc[0, "test for subgroup differences"] == (
        f"F = {primary.test.F:.2f} on 2 and {primary.test.df_denom:.1f} df, p = {primary.test.p:.3f}")
    own = extra["by_control_che_separate"].groups.set_index("subgroup").loc["other ctr"]
    assert table.loc[2, "other control"].endswith(f"; k = 31; tau² = {own.sigma2_between:.2f}")
    indep = extra["by_control"]
    assert table.loc[4, "test for subgroup differences"] == f"Q = {indep.q_between:.2f} on 2 df, p = {indep.p_between:.3f}"
    assert table.loc[4, "between-trial variance"] == "own, per subgroup"


def test_a_fit_that_could_not_be_run_keeps_its_row_with_the_reason(extra):
    fits = [SubgroupFit("CHE", "every comparison", "primary", extra["by_control_che"]),
            SubgroupFit("own CHE", "every comparison", "added after the first results", "a subgroup has one trial")]
    table = subgroup_table(fits, {})
    assert table.loc[1, "test for subgroup differences"] == "not fitted: a subgroup has one trial"
    assert table.loc[1, "wl"] == "" and "wl" in table.columns  # codes not named keep their code
    assert difference_test_words("why") == "not fitted: why"
    assert other_tests_words(fits) == "no other analysis could be fitted"


def _fake(p):
    return SubgroupResult(pd.DataFrame({"subgroup": ["a", "b"]}), 1.0, 1, p)


def test_other_tests_are_counted_against_the_primary_conclusion():
    primary = SubgroupFit("P", "every comparison", "primary", _fake(0.003))
    same = [SubgroupFit(f"S{i}", "every comparison", "sensitivity", _fake(0.01)) for i in range(3)]
    assert other_tests_words([primary, *same]) == "all 3 other analyses also find a difference at the 5% level"
    assert other_tests_words([primary, same[0]]) == "the other analysis also finds a difference at the 5% level"
    assert other_tests_words([primary, *same[:2]]) == "both other analyses also find a difference at the 5% level"
    odd = SubgroupFit("Q", "without the implausible effects", "sensitivity", _fake(0.2))
    assert other_tests_words([primary, *same, odd]) == (
        "3 of the 4 other analyses also find a difference at the 5% level; "
        "not so: Q, without the implausible effects (p = 0.200)")
    null = SubgroupFit("P", "every comparison", "primary", _fake(0.4))
    assert other_tests_words([null, odd]) == "the other analysis also finds no difference at the 5% level"
    with pytest.raises(ValueError, match="status"):
        SubgroupFit("P", "every comparison", "exploratory", _fake(0.4))


def test_the_largest_own_variance_is_traced_to_its_implausible_effects(extra):
    flagged = pd.DataFrame({"study": CBT.loc[CBT["yi"].abs() > 3, "trial"], "subgroup": CBT.loc[CBT["yi"].abs() > 3, "control"],
                            "effect": CBT.loc[CBT["yi"].abs() > 3, "yi"]})
    own = extra["by_control_che_separate"].groups.set_index("subgroup")
    top = own["sigma2_between"].idxmax()
    kept = extra["by_control_che_separate_excluding_implausible"].groups.set_index("subgroup")
    mine = flagged[flagged["subgroup"] == top]
    assert len(mine) >= 1
    words = variance_driver(extra["by_control_che_separate"], extra["by_control_che_separate_excluding_implausible"],
                            NAMES, flagged)
    assert words.startswith(f"the {NAMES[top]} subgroup's own between-trial variance, tau² = "
                            f"{own.loc[top, 'sigma2_between']:.2f}, is the largest; without its ")
    assert words.endswith(f") it is {kept.loc[top, 'sigma2_between']:.2f}")
    assert all(study in words for study in mine["study"])
    none = variance_driver(extra["by_control_che_separate"], "too few trials", NAMES, flagged.iloc[:0])
    assert none.endswith("without the implausible effects (none of them in this subgroup) it could not be refitted "
                         "(too few trials)")
    assert variance_driver("one trial", None, NAMES, flagged) == "each subgroup under its own model could not be fitted (one trial)"


def test_trials_spanning_subgroups_are_counted_once_and_named():
    from analysis.review.control_subgroups import spanning_words

    assert spanning_words(CBT["trial"], CBT["control"]) == (
        "4 trials give comparisons to more than one subgroup and count in each: Moldovan, 2013 (three subgroups); "
        "Propst, 1992; Scogin, 1987; and Serfaty, 2009")
    assert spanning_words(["a", "a", "b"], ["wl", "cau", "wl"]) == (
        "1 trial gives comparisons to more than one subgroup and counts in each: a")
    assert spanning_words(["a", "b"], ["wl", "cau"]) == "no trial gives comparisons to more than one subgroup"


def test_a_q_profile_interval_that_misses_the_reml_estimate_says_why():
    from analysis.meta import rma
    from analysis.review.robustness_wording import tau2_interval_words

    fit = rma(CBT["yi"], CBT["vi"], method="REML")
    ci, pm = fit.tau2_ci(), rma(CBT["yi"], CBT["vi"], method="PM").tau2
    assert not ci["tau2_low"] <= fit.tau2 <= ci["tau2_high"]  # the implausible effects pull PM from REML
    assert tau2_interval_words(fit) == (
        f"tau² = {fit.tau2:.3f} (95% Q-profile CI {ci['tau2_low']:.3f} to {ci['tau2_high']:.3f}), I² = {fit.i2:.0f}% "
        f"({ci['i2_low']:.0f} to {ci['i2_high']:.0f}%); neither interval contains this REML estimate: they invert the "
        f"generalised Q statistic and contain the Paule-Mandel estimate, tau² = {pm:.3f}")
    kept = CBT[CBT["yi"].abs() <= 3]
    plain = rma(kept["yi"], kept["vi"], method="REML")
    inside = plain.tau2_ci()
    assert tau2_interval_words(plain) == (
        f"tau² = {plain.tau2:.3f} (95% Q-profile CI {inside['tau2_low']:.3f} to {inside['tau2_high']:.3f}), "
        f"I² = {plain.i2:.0f}% ({inside['i2_low']:.0f} to {inside['i2_high']:.0f}%)")


def test_every_subgroup_is_said_whatever_its_code_and_the_contrast_needs_both_groups():
    from analysis.review.control_subgroups import contrast_words, subgroup_estimates_words

    groups = pd.DataFrame({"subgroup": ["wl", "pla"], "estimate": [0.871, 0.2], "ci_low": [0.75, -0.1],
                           "ci_high": [0.99, 0.5], "k": [250, 1], "clusters": [200, 1]})
    assert subgroup_estimates_words(groups.iloc[::-1], {"wl": "waitlist"}) == (
        "g = 0.87 (0.75 to 0.99; 250 comparisons in 200 trials) in the waitlist subgroup and "
        "g = 0.20 (-0.10 to 0.50; 1 comparison in 1 trial) in the pla subgroup")
    assert contrast_words(None, "waitlist", "care as usual").endswith(
        "cannot be made: the pooled comparisons have no waitlist or no care as usual subgroup.")
    larger = {"difference": 0.36, "ci_low": 0.14, "ci_high": 0.58, "df": 34.9, "p": 0.002}
    assert contrast_words(larger, "waitlist", "care as usual") == (
        "A contrast of waitlist with care as usual in the primary CHE model, added after the first results, "
        "finds the effect against "
        "waitlist larger than against care as usual (difference in g 0.36, 95% CI 0.14 to 0.58; CR2 t-test on "
        "34.9 df, p = 0.002).")
    assert "not significantly different from that against care as usual" in contrast_words(
        dict(larger, p=0.3), "waitlist", "care as usual")
