"""The review's rules, each driven across its threshold: GRADE domains, overrides, verdicts,
wording, absolute effects, aggregation, shared controls, implausible effects, risk of bias."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.review import grade_rules, verdicts, wording
from analysis.review.absolute import absolute_effects
from analysis.review.dependency import aggregate
from analysis.review.errors import DataError
from analysis.review.grade import certainty, footnotes, judge, read_grade
from analysis.review.grade_rules import Indicators, optimal_information_size
from analysis.review.implausible import implausible
from analysis.review.multiarm import split_shared_controls
from analysis.review.risk_of_bias import low_risk

REF = json.loads((Path(__file__).parent / "reference" / "review_reference.json").read_text())
BASE = Indicators(measure="SMD", estimate=0.7, ci_low=0.6, ci_high=0.8, pi_low=0.2, pi_high=1.2, i2=30, k=40,
                  participants=None, not_low_rob_weight=0.3, waitlist_weight=0.2, egger_p=0.5,
                  bias_corrected={"PET-PEESE": 0.6, "3PSM": 0.65})


def with_(**changes):
    return dataclasses.replace(BASE, **changes)


def test_the_base_case_is_high_certainty():
    assert certainty(judge(BASE)) == "high"


@pytest.mark.parametrize("below,above", [(0.5, 0.51), (0.0, 0.9)])
def test_risk_of_bias_rule(below, above):
    assert grade_rules.risk_of_bias(with_(not_low_rob_weight=below))[0] == 0
    assert grade_rules.risk_of_bias(with_(not_low_rob_weight=above))[0] == -1
    assert grade_rules.risk_of_bias(with_(not_low_rob_weight=None))[0] == 0


def test_inconsistency_needs_both_i2_and_a_prediction_interval_through_no_effect():
    assert grade_rules.inconsistency(with_(i2=49.9, pi_low=-0.1))[0] == 0
    assert grade_rules.inconsistency(with_(i2=50, pi_low=0.05))[0] == 0
    assert grade_rules.inconsistency(with_(i2=50, pi_low=-0.1))[0] == -1


def test_imprecision_rule_across_its_thresholds():
    assert grade_rules.imprecision(with_(ci_low=0.3, ci_high=0.5))[0] == 0  # all above the MID (0.24)
    assert grade_rules.imprecision(with_(ci_low=-0.05, ci_high=0.3))[0] == -1  # straddles the MID
    assert grade_rules.imprecision(with_(ci_low=0.05, ci_high=0.3))[0] == -1  # the same, without no effect
    assert grade_rules.imprecision(with_(ci_low=-0.1, ci_high=0.1))[0] == 0  # a precise null
    assert grade_rules.imprecision(with_(ci_low=-0.3, ci_high=0.3))[0] == -2  # important harm and benefit
    rr = with_(measure="RR", estimate=1.4, ci_low=1.26, ci_high=1.5, control_risk=0.3)
    ois = optimal_information_size("RR", 0.3)
    assert grade_rules.imprecision(dataclasses.replace(rr, participants=ois))[0] == 0
    assert grade_rules.imprecision(dataclasses.replace(rr, participants=ois - 1))[0] == -1
    straddles = dataclasses.replace(rr, ci_low=1.1, participants=ois)  # 1.1 to 1.5 straddles RR 1.25
    assert grade_rules.imprecision(straddles) == (-1, "the confidence interval straddles the threshold of an "
                                                  "important benefit (RR 1.25), the MID")
    assert grade_rules.imprecision(dataclasses.replace(rr, ci_low=0.7, ci_high=1.1, participants=ois))[1] == (
        "the confidence interval straddles the threshold of an important harm (RR 0.80), the MID")
    assert grade_rules.imprecision(dataclasses.replace(rr, ci_low=0.7, participants=ois))[0] == -2  # 0.8 and 1.25


def test_optimal_information_size_by_the_usual_formula():
    # two arms, alpha 0.05 two-sided, power 0.8; SMD 0.24 -> 273 per arm
    assert optimal_information_size("SMD") == 2 * 273
    p0, p1 = 0.3, 0.375
    per_arm = math.ceil((1.959963984540054 + 0.8416212335729143) ** 2 * (p0 * (1 - p0) + p1 * (1 - p1)) / (p1 - p0) ** 2)
    assert optimal_information_size("RR", 0.3) == 2 * per_arm


def test_indirectness_rule():
    assert grade_rules.indirectness(with_(waitlist_weight=0.5))[0] == 0
    assert grade_rules.indirectness(with_(waitlist_weight=0.51))[0] == -1
    assert grade_rules.indirectness(with_(direct=False))[0] == -1


def test_publication_bias_rule():
    assert grade_rules.publication_bias(with_(k=9, egger_p=0.001))[0] == 0  # too few to assess
    assert grade_rules.publication_bias(with_(egger_p=0.10))[0] == 0
    assert grade_rules.publication_bias(with_(egger_p=0.099))[0] == -1
    down, reason = grade_rules.publication_bias(with_(egger_p=0.05, bias_corrected={"PET": 0.5, "3PSM": 0.6}))
    assert down == -1 and reason.endswith("p < 0.10; the median bias-corrected estimate (0.55) is still beyond "
                                          "the MID for benefit")
    assert grade_rules.publication_bias(with_(bias_corrected={"PET": 0.2}))[0] == -1  # the median below the MID
    assert grade_rules.publication_bias(with_(bias_corrected={"PET": 0.2, "3PSM": 0.5, "WAAP": 0.6}))[0] == 0
    assert grade_rules.publication_bias(with_(bias_corrected={"PET": 0.2, "3PSM": 0.22, "WAAP": 0.6}))[0] == -1
    assert grade_rules.publication_bias(with_(estimate=0.2, bias_corrected={"PET": 0.1}))[0] == 0
    # a harm beyond its threshold taken back inside it counts too; an estimate inside both cannot be moved
    harm = dict(measure="RR", estimate=0.7, ci_low=0.6, ci_high=0.8, pi_low=0.5, pi_high=0.9)
    assert grade_rules.publication_bias(with_(**harm, bias_corrected={"PET": 0.9}))[0] == -1
    assert grade_rules.publication_bias(with_(**harm, bias_corrected={"PET": 0.75}))[0] == 0
    assert grade_rules.publication_bias(with_(**harm, bias_corrected={"PET": 0.9}))[1] == (
        "the median bias-corrected estimate (0.90) is not beyond the MID for harm, which the main estimate (0.70) is")
    down, reason = grade_rules.publication_bias(with_(**{**harm, "estimate": 0.98}, bias_corrected={"PET": 1.1}))
    assert down == 0 and "inside both thresholds of importance" in reason and "median 1.10" in reason


def test_certainty_counts_down_and_floors_at_very_low():
    worst = with_(not_low_rob_weight=0.9, i2=90, pi_low=-1, ci_low=-0.3, ci_high=0.3, direct=False, egger_p=0.01)
    assert certainty(judge(worst)) == "very low"
    assert certainty(judge(with_(not_low_rob_weight=0.9))) == "moderate"
    assert certainty(judge(with_(not_low_rob_weight=0.9, direct=False))) == "low"


def write(tmp_path, text):
    path = tmp_path / "grade.csv"
    path.write_text(text)
    return path


def test_an_override_replaces_the_rule_and_says_so(tmp_path):
    path = write(tmp_path, "comparison,domain,downgrade,reason\nx,publication_bias,-1,documented selective publication\n")
    j = judge(BASE, read_grade(path), "x")
    assert j["publication_bias"]["source"] == "override" and j["publication_bias"]["rule_downgrade"] == 0
    assert certainty(j) == "moderate"
    assert "reviewers' judgement" in footnotes(j)[0] and "documented selective publication" in footnotes(j)[0]
    assert certainty(judge(BASE, read_grade(path), "other comparison")) == "high"


@pytest.mark.parametrize("row,column,words", [
    ("x,risk,-1,why", "domain", "is not one of"),
    ("x,risk_of_bias,-3,why", "downgrade", "is not 0, -1 or -2"),
    ("x,risk_of_bias,-1,", "reason", "needs its reason"),
])
def test_bad_overrides_are_refused(tmp_path, row, column, words):
    with pytest.raises(DataError) as err:
        read_grade(write(tmp_path, "comparison,domain,downgrade,reason\n" + row + "\n"))
    assert f"line 2, column '{column}'" in str(err.value) and words in str(err.value)


def test_the_committed_overrides_are_valid():
    frame = read_grade(Path(__file__).parent.parent / "data" / "grade.csv")
    assert len(frame) >= 1 and frame["reason"].str.len().min() > 20


def test_larger_only_when_the_test_says_so():
    assert verdicts.compare(0.9, 0.05, 0.6, 0.05) == "larger"
    assert verdicts.compare(0.6, 0.05, 0.9, 0.05) == "smaller"
    assert verdicts.compare(0.7, 0.2, 0.6, 0.2) == "not significantly different"
    assert verdicts.subgroups_differ(0.049) and not verdicts.subgroups_differ(0.05)


def test_wording_follows_the_numbers():
    assert wording.counted(1, "study") == "1 study" and wording.counted(2, "study") == "2 studies"
    assert wording.counted(0, "comparison") == "0 comparisons" and wording.counted(1234, "trial") == "1,234 trials"
    assert wording.more_or_fewer(44) == "44 more" and wording.more_or_fewer(-7) == "7 fewer"
    assert wording.more_or_fewer(0) == "no more and no fewer"
    assert wording.describe_test(0.049) == "finds" and wording.describe_test(0.05) == "does not find"
    assert wording.significance(0.1, 0.5) == "significant" and wording.significance(-0.1, 0.5) == "not significant"
    assert wording.estimate_with_ci(float("nan"), 0, 1) == "not fitted"


def test_absolute_effects_are_the_corresponding_risk_and_its_nnt():
    a = absolute_effects(0.366, 1.26, 1.22, 1.30)
    assert (a["control"], a["intervention"], a["low"], a["high"]) == (366, 461, 447, 476)
    assert a["nnt"] == pytest.approx(1 / (0.366 * 0.26))
    assert a["nnt_low"] == pytest.approx(1 / (0.366 * 0.30)) and a["nnt_high"] == pytest.approx(1 / (0.366 * 0.22))
    assert absolute_effects(0.5, 2.5, 1.5, 4.0)["high"] == 1000  # a risk never exceeds 1
    through = absolute_effects(0.3, 0.98, 0.93, 1.02)
    assert through["difference"] == -6 and math.isnan(through["nnt_low"])  # the NNT interval runs through infinity


@pytest.mark.parametrize("case", REF["aggregate"], ids=lambda c: f"rho={c['rho']}")
def test_aggregate_matches_metafor(case):
    y, v, clusters = aggregate(REF["input"]["yi"], REF["input"]["vi"], REF["input"]["study"], case["rho"])
    order = [list(clusters).index(s) for s in case["study"]]
    assert np.allclose(y[order], case["yi"], atol=1e-10) and np.allclose(v[order], case["vi"], atol=1e-12)


def test_a_shared_control_arm_is_split_not_counted_twice():
    trials = pd.DataFrame({"trial": ["Nezu", "Nezu", "Other"], "ctrl_events": [1.0, 1.0, 5.0], "ctrl_n": [11.0, 11.0, 20.0]})
    out = split_shared_controls(trials)
    assert list(out["ctrl_n"]) == [5.5, 5.5, 20.0] and list(out["ctrl_events"]) == [0.5, 0.5, 5.0]
    assert out["ctrl_n"].sum() == 31 and list(out["shared_by"]) == [2, 2, 1]


def test_implausible_effects_rule():
    assert list(implausible([0.5, -3.5, 15.96, 3.0], 3.0)) == [False, True, True, False]
    with pytest.raises(ValueError):
        implausible([1.0], 0)


def test_low_risk_of_bias_needs_every_named_domain():
    trials = pd.DataFrame({"rob_sg": ["low", "low", "low"], "rob_ac": ["low", "low", "high"],
                           "rob_ba": ["low", "self-report", "low"], "rob_itt": ["low", "low", "low"]})
    assert list(low_risk(trials)) == [True, False, False]
    assert list(low_risk(trials, self_report="low")) == [True, True, False]
    assert list(low_risk(trials, domains=("sg", "ba"), self_report="low")) == [True, True, True]
    with pytest.raises(ValueError):
        low_risk(trials, domains=("xx",))


def test_verdict_dependence_in_words():
    assert wording.verdict_dependence("reproduced", "reproduced", "the rule") == (
        "the verdict, reproduced, holds with or without the rule")
    assert wording.verdict_dependence("overstated", "reproduced", "the rule") == (
        "the verdict depends on the rule: overstated with it, reproduced without it")


def test_bias_suite_summary_counts_what_the_text_says():
    from analysis.review.bias_suite import suite_summary

    suite = pd.DataFrame({"method": ["PET", "PEESE", "PET-PEESE", "3PSM", "4PSM"], "estimate": [0.1, 0.5, 0.1, 0.3, np.nan],
                          "ci_low": [-0.1, 0.3, -0.1, 0.05, np.nan], "ci_high": [0.3, 0.7, 0.3, 0.55, np.nan],
                          "fewest": [np.nan, np.nan, np.nan, 16, np.nan]})
    s = suite_summary(suite, null=0.0, threshold=0.24)  # PET-PEESE repeats PET: counted once
    assert (s["n"], s["min"], s["max"], s["min_method"], s["median"]) == (3, 0.1, 0.5, "PET", 0.3)
    assert s["min_fewest"] is None and s["unreliable"] == []
    assert suite_summary(suite.assign(estimate=[0.1, 0.5, 0.1, -0.2, np.nan]))["min_fewest"] == 16
    assert (s["excludes_null"], s["below"], s["not_fitted"]) == (2, 1, "4PSM")
    # a selection model with fewer than MIN_PER_INTERVAL in an interval leaves the summary
    sparse = suite.assign(estimate=[0.1, 0.5, 0.1, -1.98, np.nan], fewest=[np.nan, np.nan, np.nan, 6, np.nan])
    t = suite_summary(sparse)
    assert (t["n"], t["min"], t["min_method"], t["median"]) == (2, 0.1, "PET", 0.3)
    assert t["unreliable"] == [("3PSM", 6, -1.98)]
    assert t["median_with_unreliable"] == pytest.approx(0.1)  # PET, PEESE and 3PSM: 0.1, 0.5, -1.98
    assert suite_summary(suite, back=np.exp)["max"] == pytest.approx(np.exp(0.5))
    with pytest.raises(ValueError):
        suite_summary(suite.assign(estimate=np.nan))


def test_sparse_selection_models_are_named_as_set_aside():
    from analysis.review.bias_suite import MIN_PER_INTERVAL
    from analysis.review.wording_bias import unreliable_words

    assert unreliable_words({"unreliable": []}) == ""
    assert unreliable_words({"unreliable": [("4PSM", 6, -1.98)], "median_with_unreliable": 0.47}) == (
        f"4PSM, though fitted, is set aside as unreliable: its sparsest p-value interval holds 6 trials, fewer than "
        f"the {MIN_PER_INTERVAL} this review asks for (a rule added after the first results); its estimate, g = -1.98, "
        f"stays in the table; counting it, the median would be 0.47.")
    two = unreliable_words({"unreliable": [("3PSM", 1, 1.2), ("4PSM", 2, 0.9)], "median_with_unreliable": 1.1},
                           unit="study", label="RR")
    assert "1 study" in two and "; 4PSM, though fitted" in two and two.endswith("counting them, the median would be 1.10.")


def test_truth_summary_counts_methods_against_the_truth():
    from analysis.review.bias_truth import truth_summary

    overall = pd.DataFrame({"method": ["published, uncorrected", "A", "B", "C", "PET-PEESE"],
                            "estimate": [0.4, 0.32, 0.2, np.nan, 0.2], "abs_error": [0.1, 0.02, 0.1, np.nan, 0.1],
                            "covers_truth": [False, True, False, False, False]})
    assert truth_summary(overall, 0.05) == {"n_fitted": 2, "n_cover": 1, "n_closer": 1, "n_within": 1,
                                            "not_fitted": "C", "sparse": "none"}
    sparse = overall.assign(fewest=[np.nan, 4, np.nan, np.nan, np.nan])  # A: a sparse selection model, scored all the same
    assert truth_summary(sparse, 0.05) == {"n_fitted": 2, "n_cover": 1, "n_closer": 1, "n_within": 1,
                                           "not_fitted": "C", "sparse": "A"}


def test_a_footnote_says_whether_the_reviewers_overrode_the_rule(tmp_path):
    text = ("comparison,domain,downgrade,reason\n"
            "x,risk_of_bias,-1,no data but judged\nx,publication_bias,-1,as the rule\nx,inconsistency,-1,stricter\n")
    ind = with_(not_low_rob_weight=None, egger_p=0.01)
    notes = " ".join(footnotes(judge(ind, read_grade(write(tmp_path, text)), "x")))
    assert "Risk of bias: downgraded one level (reviewers' judgement: the rule has no data to judge)" in notes
    assert "Publication bias: downgraded one level (reviewers' judgement, as the rule)" in notes
    assert ("Inconsistency: downgraded one level (reviewers' judgement, overriding the rule, which would not "
            "downgrade: I² 30%; the prediction interval excludes no effect): stricter.") in notes


def test_an_override_that_prevents_a_downgrade_has_its_footnote(tmp_path):
    text = "comparison,domain,downgrade,reason\nx,inconsistency,0,the spread is clinically trivial\n"
    ind = with_(i2=80, pi_low=-0.1)
    j = judge(ind, read_grade(write(tmp_path, text)), "x")
    assert j["inconsistency"]["rule_downgrade"] == -1 and certainty(j) == "high"
    assert footnotes(j) == ["Inconsistency: not downgraded (reviewers' judgement, overriding the rule, which would "
                            "downgrade one level: I² 80%; the prediction interval includes no effect): the spread is "
                            "clinically trivial."]
    assert footnotes(judge(ind)) == ["Inconsistency: downgraded one level: I² 80%; the prediction interval includes no effect."]


def test_a_computed_statement_joins_its_domain_footnote():
    j = judge(BASE, facts={"publication_bias": "no arm of the 3 in the file reports more"})
    assert j["publication_bias"]["downgrade"] == 0
    assert footnotes(j)[0].endswith("Data check: no arm of the 3 in the file reports more.")
    with pytest.raises(ValueError, match="not a GRADE domain"):
        judge(BASE, facts={"bias": "x"})


def test_the_dropout_statement_is_computed_from_the_arms():
    from analysis.review.grade import describe_dropout_reporting, dropout_reporting

    arms = pd.DataFrame({"StudyID": ["a", "a", "b", "b", "c"], "Dropouts_total_num": [5, 4, 3, np.nan, 2],
                         "Dropouts_sideeffects_num": [6, 1, 4, 1, 1]})
    counts = dropout_reporting(arms, ["a", "c"])
    assert counts == {"arms": 5, "ae_exceeds_total": 2, "ae_exceeds_total_pooled": 1, "pooled_trials": 2}
    assert describe_dropout_reporting(counts) == ("2 arms of the 5 in the file report more dropouts for adverse "
                                                  "events than dropouts in all, 1 of them in the 2 pooled trials")
    assert describe_dropout_reporting(dropout_reporting(arms, ["c"])).endswith("none of them in a pooled trial")
    assert describe_dropout_reporting(dropout_reporting(arms.iloc[[1, 4]], ["c"])).startswith("no arm of the 2")


def test_the_griselda_file_has_one_impossible_dropout_arm_in_no_pooled_trial():
    from analysis.review import comparisons as evidence
    from analysis.review.grade import describe_dropout_reporting, dropout_reporting
    from analysis.review.importers import read_cipriani_arms

    path = str(Path(__file__).parent.parent / "data" / "trials" / "cipriani2018" / "arms.csv")
    arms = read_cipriani_arms(path)
    for outcome in ("dropout", "dropout_ae"):
        counts = dropout_reporting(arms, evidence.ssri_harms(path, outcome).trials["study"])
        assert counts["ae_exceeds_total"] == 1 and counts["ae_exceeds_total_pooled"] == 0
    assert describe_dropout_reporting(counts) == ("1 arm of the 1,199 in the file reports more dropouts for adverse "
                                                  "events than dropouts in all, none of them in a pooled trial")


def test_no_committed_override_asserts_the_false_dropout_statement():
    frame = read_grade(Path(__file__).parent.parent / "data" / "grade.csv")
    assert not frame["reason"].str.contains("more than their dropouts|more dropouts for adverse", regex=True).any()
    dropouts = frame[frame["comparison"].isin(["ssri_dropout", "ssri_dropout_ae"])]
    # the same reasoning for both dropout outcomes: the same domains overridden, the same way
    by = {c: sorted(zip(p["domain"], p["downgrade"])) for c, p in dropouts.groupby("comparison")}
    assert by["ssri_dropout"] == by["ssri_dropout_ae"]


def test_the_protocols_grade_table_states_the_thresholds_the_rules_apply():
    from analysis.review import grade_rules as R

    rows = {r["domain"]: r["downgrade one level when"] for r in R.rules_table()}
    assert list(rows) == ["Risk of bias", "Inconsistency", "Indirectness", "Imprecision", "Publication bias"]
    base = dict(measure="RR", estimate=1.4, ci_low=1.3, ci_high=1.5, pi_low=0.9, pi_high=2.0, i2=60.0, k=12)
    # each rule turns at the threshold its row states
    assert f"more than {100 * R.ROB_SHARE:.0f}%" in rows["Risk of bias"]
    assert R.risk_of_bias(R.Indicators(**base, not_low_rob_weight=R.ROB_SHARE))[0] == 0
    assert R.risk_of_bias(R.Indicators(**base, not_low_rob_weight=R.ROB_SHARE + 0.01))[0] == -1
    assert f"at least {R.I2_MIN:.0f}%" in rows["Inconsistency"]
    assert R.inconsistency(R.Indicators(**{**base, "i2": R.I2_MIN}))[0] == -1
    assert R.inconsistency(R.Indicators(**{**base, "i2": R.I2_MIN - 0.1}))[0] == 0
    assert f"RR {R.MID['RR']:.2f}" in rows["Imprecision"] and f"g = {R.MID['SMD']:.2f}" in rows["Imprecision"]
    assert f"at least {R.SMALL_STUDY_K} studies, Egger's test p < {R.EGGER_P:.2f}" in rows["Publication bias"]
    assert R.publication_bias(R.Indicators(**base, egger_p=R.EGGER_P - 0.001))[0] == -1
    assert R.publication_bias(R.Indicators(**{**base, "k": R.SMALL_STUDY_K - 1}, egger_p=0.001))[0] == 0
