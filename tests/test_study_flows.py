"""Issue 23 (items 10 and 15): a study-characteristics table and a flow diagram for the network and
dose datasets, computed from the files."""

import pandas as pd
import pytest

from analysis.book.params import defaults_for
from analysis.review.characteristics import network_characteristics
from analysis.review.dose import dose_analysis, dose_flow
from analysis.review.exclusions import dataset_flow_boxes
from analysis.review.importers import read_cipriani_arms, read_furukawa_arms
from conftest import ROOT


def test_network_characteristics_count_each_trial_under_each_of_its_treatments():
    arms = pd.DataFrame({"StudyID": ["A", "A", "A", "B", "B"], "drug_base": ["placebo", "x", "x", "placebo", "y"],
                         "n": [10, 11, 12, 20, 21], "year": [2000, 2000, 2000, 2010, 2010],
                         "weeks": [6, 6, 6, 8, 8], "scale": ["HAMD17", "HAMD17", "HAMD17", "MADRS", "MADRS"],
                         "baseline_mean": [24.0, 26.0, 28.0, 30.0, 30.0]})
    table = network_characteristics(arms).set_index("treatment")
    assert list(table.index) == ["placebo", "x", "y", "all"]
    assert table.loc["placebo", "trials"] == 2 and table.loc["x", "arms"] == 2 and table.loc["x", "randomised"] == 23
    assert table.loc["all", "year"] == "2005 (2000 to 2010)"
    assert table.loc["x", "baseline HAM-D"] == "27.0 (27.0 to 27.0)"  # the trial's mean of its HAM-D arms
    assert table.loc["y", "baseline HAM-D"] == "not recorded"  # rated on the MADRS only


def test_the_griselda_characteristics_add_up_to_the_file():
    arms = read_cipriani_arms(ROOT / defaults_for("network")["cipriani_arms"])
    table = network_characteristics(arms).set_index("treatment")
    assert table.loc["all", "trials"] == arms["StudyID"].nunique() == 522
    assert table.loc["all", "arms"] == len(arms) == table.drop("all")["arms"].sum()


def test_the_dose_flow_adds_up_and_names_each_reason():
    d = defaults_for("dose-response")
    arms = read_furukawa_arms(ROOT / d["furukawa_arms"])
    result = dose_analysis(arms, d["dose_agents"], min_studies=d["min_dose_studies"])
    in_file, reasons, pooled = dose_flow(arms, result, d["min_dose_studies"])
    assert in_file == arms["study"].nunique()
    assert pooled == sum(res.k_trials for res in result["fits"].values())
    assert reasons[f"agent with fewer than {d['min_dose_studies']} trials"] == sum(result["left_out"].values())
    boxes = dataset_flow_boxes("the dose file", in_file, reasons, pooled)
    assert boxes[-1]["main"] == f"Trials pooled (n = {pooled:,})"
    narrower = dose_analysis(arms, ["paroxetine"], min_studies=d["min_dose_studies"])
    _, reasons, pooled = dose_flow(arms, narrower, d["min_dose_studies"])
    assert reasons["agent not among those analysed"] == in_file - reasons["no placebo arm"] - pooled
    with pytest.raises(ValueError, match="excluded is not"):
        dataset_flow_boxes("x", in_file, reasons, pooled + 1)


def test_a_selection_flow_counts_what_the_rule_leaves_out():
    from analysis.review.exclusions import selection_flow

    boxes = selection_flow("the file", 93, 3, "not the comparison")
    assert boxes[0]["side"] == "Trials excluded (n = 90):\n  not the comparison (n = 90)"
    assert boxes[1]["main"] == "Trials pooled (n = 3)"
    assert selection_flow("the file", 3, 3, "x")[0]["side"] is None
    with pytest.raises(ValueError, match="4 pooled of 3"):
        selection_flow("the file", 3, 4, "x")


def test_the_network_flow_leaves_out_the_trials_without_two_arms_with_the_outcome():
    from analysis.review.exclusions import network_flow
    from analysis.review.network import network_arms
    from analysis.meta.nma_data import arm_contrasts

    arms = read_cipriani_arms(ROOT / defaults_for("network")["cipriani_arms"])
    data = arm_contrasts(network_arms(arms, "response"), "OR", reference="placebo")
    in_file, reasons, pooled = network_flow(arms, data)
    assert in_file == 522 and pooled == data.n_studies < in_file
    assert reasons == {"fewer than two arms with the outcome and the number randomised": in_file - pooled}


def test_the_sof_comment_gives_the_range_its_median_and_the_waitlist_share():
    from analysis.review.grade_rules import Indicators
    from analysis.review.indicators import bias_and_waitlist_comment

    base = dict(measure="SMD", estimate=0.8, ci_low=0.7, ci_high=0.9, pi_low=0.1, pi_high=1.5, i2=80.0, k=20)
    ind = Indicators(**base, bias_corrected={"PET": 0.1, "3PSM": 0.7, "WAAP": 0.4}, waitlist_weight=0.523)
    assert bias_and_waitlist_comment(ind) == (
        "; bias-corrected 0.10 (PET) to 0.70 (3PSM), median 0.40; 52% of the weight from waiting lists")
    assert bias_and_waitlist_comment(Indicators(**base)) == ""


def test_the_response_and_primary_care_flows_count_trials_from_the_file():
    from analysis.review.exclusions import placebo_flow, response_flow

    rows = pd.DataFrame({"study": ["A", "A", "B", "C", "D"],
                         "disorder": ["Depression", "Depression", "Depression", "Anxiety", "Depression"]})
    trials = pd.DataFrame({"trial": ["A", "A"]})  # trial A gives two comparisons
    assert response_flow(rows, trials, "Problem-Solving Therapy") == (
        4, {"not depression": 1, "no comparison of problem-solving therapy with a control condition": 2}, 1)
    assert response_flow(rows[rows["disorder"] == "Depression"], pd.DataFrame({"trial": ["A", "B", "D"]}), "x") == (
        3, {}, 3)
    linde = pd.DataFrame({"id": ["1", "2", "3", "4"], "treatment1": ["SSRI", "SSRI", "TCA", "SSRI"],
                          "resp1": [5, 6, 7, float("nan")], "treatment2": ["Placebo", "TCA", "Placebo", "Placebo"],
                          "resp2": [3, 4, 2, 1]})
    assert placebo_flow(linde, pd.DataFrame({"study": ["s1"]}), "SSRI") == (
        4, {"no SSRI arm reporting response": 2, "no placebo arm reporting response": 1}, 1)
    with pytest.raises(ValueError):
        placebo_flow(linde, pd.DataFrame({"study": ["s1", "s2"]}), "SSRI")
