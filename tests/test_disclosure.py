"""What the book discloses about its data: the trials each file loses and why, the sensitivity
analysis without imputed responders, Turner et al.'s counts against the open file, the
small-study tests, and their words."""

import numpy as np
import pandas as pd
import pytest

from analysis.review import comparisons
from analysis.review.bias_suite import metapsy_group_sizes, metapsy_small_study, sample_size_se_where_known, small_study_tests
from analysis.review.errors import DataError
from analysis.review.exclusions import (NO_ACTIVE, NO_OUTCOME, NO_PLACEBO, dataset_flow_boxes, griselda_exclusions,
                                        reason_counts, without_imputed)
from analysis.review.importers import read_cipriani_arms, read_turner_reported
from analysis.review.selections import ssri_trials
from analysis.review.wording_bias import count_difference, outside_range, rounding_explains, small_study_sentence
from conftest import ROOT

ARMS = str(ROOT / "data/trials/cipriani2018/arms.csv")
TURNER = str(ROOT / "data/trials/turner2008/trials.csv")
REPORTED = ROOT / "data/trials/turner2008/reported.csv"


@pytest.fixture(scope="module")
def arms():
    return read_cipriani_arms(ARMS)


def test_every_griselda_trial_is_pooled_or_excluded_with_one_reason(arms):
    table = griselda_exclusions(arms)
    assert len(table) == arms["StudyID"].nunique() == 522
    pooled = ssri_trials(arms)
    assert set(table.loc[table["pooled"], "study"]) == set(pooled["study"])
    assert reason_counts(table) == {NO_PLACEBO: 218, NO_ACTIVE: 151, NO_OUTCOME: 14}
    assert (table["reason"] == "").sum() == len(pooled) == 139


def test_exclusion_reasons_on_a_small_file():
    arms = pd.DataFrame({"StudyID": ["A", "A", "B", "C", "C", "D", "D"],
                         "drug_class_ssri": ["SSRI", "placebo", "SSRI", "other_active", "placebo", "SSRI", "placebo"],
                         "responders": [5, 3, 4, 2, 1, np.nan, 3], "n": [10, 10, 10, 10, 10, 10, 10],
                         "Responders_imputed": ["1", "0", "0", "0", "0", "*", "0"]})
    table = griselda_exclusions(arms).set_index("study")
    assert table["reason"].to_dict() == {"A": "", "B": NO_PLACEBO, "C": NO_ACTIVE, "D": NO_OUTCOME}
    assert table.loc["A", "imputed_arms"] == 1
    assert set(without_imputed(arms)["StudyID"]) == {"B", "C", "D"}


def test_sensitivity_without_imputed_responders_drops_those_trials(arms):
    table = griselda_exclusions(arms)
    sens = comparisons.ssri_without_imputed(ARMS)
    imputed = table.loc[table["pooled"] & (table["imputed_arms"] > 0), "study"]
    assert sens.model.k == 139 - len(imputed) == 91
    assert not set(sens.trials["study"]) & set(imputed)


def test_flow_boxes_add_up_or_refuse():
    boxes = dataset_flow_boxes("a file", 10, {"no placebo arm": 3}, 7)
    assert boxes[0]["main"] == "Trials in a file (n = 10)" and "no placebo arm (n = 3)" in boxes[0]["side"]
    with pytest.raises(ValueError, match="is not 8 pooled"):
        dataset_flow_boxes("a file", 10, {"no placebo arm": 3}, 8)


def test_turner_reported_counts_and_the_file():
    reported = read_turner_reported(REPORTED)
    assert reported["registered"]["value"] == 74 and reported["published"]["value"] == 51
    assert "74 FDA-registered" in reported["registered"]["quote"]
    result = comparisons.turner(TURNER)
    assert result["fda"].model.k == 73 and result["journal"].model.k == 50
    assert count_difference(73, 74, "trial") == "1 trial fewer than the 74 reported"
    assert count_difference(50, 50, "trial") == "the same 50 trials as reported"
    # 32% is the ratio of the two estimates rounded to two decimals (0.41 / 0.31); unrounded 33%
    assert round(result["inflation_pct"]) == 33 and round(result["inflation_rounded_pct"]) == 32
    words = rounding_explains(result["inflation_pct"], result["inflation_rounded_pct"], 32)
    assert words.startswith("the paper's 32% is what the two estimates give rounded")
    by_drug = result["by_drug"]
    assert by_drug["fda_k"].sum() == 73 and by_drug["published_k"].sum() == 50
    assert outside_range(by_drug, 11, 69) == "fluoxetine (4%)"


def test_turner_reported_refuses_a_figure_without_quote(tmp_path):
    bad = tmp_path / "reported.csv"
    bad.write_text(REPORTED.read_text().replace('74,"Among', '74x,"Among'))
    with pytest.raises(DataError, match="line 2, column 'value'"):
        read_turner_reported(bad)


def test_small_study_tests_report_the_multilevel_test_last():
    rng = np.random.default_rng(3)
    n1 = rng.integers(10, 80, 30)
    n2 = rng.integers(10, 80, 30)
    g = rng.normal(0.4, 0.3, 30)
    vi = (n1 + n2) / (n1 * n2) + g ** 2 / (2 * (n1 + n2))
    cluster = np.repeat(np.arange(15), 2)
    table = small_study_tests(g, vi, cluster, np.sqrt((n1 + n2) / (n1 * n2)))
    assert list(table["test"]) == ["Egger (independent effects)"] * 2 + ["multilevel Egger (CHE, CR2)"] * 2
    assert list(table["precision"]) == ["usual SE", "sample-size SE"] * 2
    assert small_study_sentence(table).startswith("multilevel Egger (CHE, CR2) with the sample-size SE")
    independent = small_study_tests(g, vi)
    assert len(independent) == 1


def test_sample_size_se_uses_the_group_sizes_where_known_and_equal_arms_elsewhere():
    g, n = np.array([0.5, 1.2]), np.array([40.0, 40.0])
    vi = (1 / 20 + 1 / 20) + g ** 2 / (2 * n)  # the usual variance of g with equal arms of 20
    w, assumed = sample_size_se_where_known(g, vi, [20, np.nan], [20, np.nan])
    # the known pair gives sqrt(1/20 + 1/20); the unknown one recovers it exactly under equal arms
    assert w == pytest.approx([np.sqrt(0.1), np.sqrt(0.1)], rel=1e-12) and assumed == 1


def test_metapsy_small_study_counts_the_comparisons_without_sizes():
    rng = np.random.default_rng(5)
    k = 24
    n1, n2 = rng.integers(10, 80, k).astype(float), rng.integers(10, 80, k).astype(float)
    g = rng.normal(0.5, 0.3, k)
    se = np.sqrt((n1 + n2) / (n1 * n2) + g ** 2 / (2 * (n1 + n2)))
    lines = np.arange(2, k + 2)
    rows = pd.DataFrame({"n_arm1": [str(int(x)) for x in n1], "n_arm2": [str(int(x)) for x in n2], "_line": lines})
    rows.loc[[0, 5], "n_arm1"] = ""
    trials = pd.DataFrame({"_line": lines, "effect": g, "se": se, "trial": np.repeat(np.arange(12), 2)})
    table = metapsy_small_study(rows, trials, "f.csv")
    assert table["precision"].iloc[-1] == "sample-size SE (equal arms for 2)"
    assert table["test"].iloc[-1] == "multilevel Egger (CHE, CR2)"
    # the classic row is Egger's test on the usual SE, as metafor's regtest(model = "lm") would give
    from analysis.meta.regtest import egger
    assert table.iloc[0]["bias"] == pytest.approx(egger(g, se ** 2)["bias"], rel=1e-12)


def test_group_sizes_name_the_bad_line():
    rows = pd.DataFrame({"n_arm1": ["20", "x"], "n_arm2": ["20", "21"], "_line": [2, 3]})
    trials = pd.DataFrame({"_line": [2, 3]})
    with pytest.raises(DataError, match="line 3, column 'n_arm1'"):
        metapsy_group_sizes(rows, trials, "f.csv")
    n1, n2 = metapsy_group_sizes(rows.iloc[:1], trials.iloc[:1], "f.csv")
    assert n1.tolist() == [20.0] and n2.tolist() == [20.0]


def test_outside_range_sentence_for_none_and_some():
    from analysis.review.wording_bias import outside_range_sentence

    frame = pd.DataFrame({"drug": ["a", "b"], "increase_pct": [12.0, 70.4]})
    assert outside_range_sentence(frame, 11, 69).startswith("b (70%), where a trial missing")
    assert outside_range_sentence(frame, 11, 71).startswith("no drug")


def test_a_drug_with_no_published_trial_has_no_journal_estimate_and_a_dash(tmp_path):
    from analysis.review.wording import format_cell
    text = open(TURNER).read().splitlines()
    header, rows = text[0], text[1:]
    # rename one unpublished trial's drug: a drug with one FDA trial and none in journals
    unpublished = next(i for i, r in enumerate(rows) if r.split(",")[2] == "0")
    cells = rows[unpublished].split(",")
    rows[unpublished] = ",".join(['"lonely drug"'] + cells[1:])
    path = tmp_path / "trials.csv"
    path.write_text("\n".join([header] + rows) + "\n")
    by_drug = comparisons.turner(str(path))["by_drug"].set_index("drug")
    lonely = by_drug.loc["lonely drug"]
    assert lonely["fda_k"] == 1 and lonely["published_k"] == 0
    assert np.isfinite(lonely["fda_g"]) and np.isnan(lonely["journal_g"]) and np.isnan(lonely["increase_pct"])
    assert format_cell(lonely["journal_g"], ".3f") == "—" and format_cell(0.25, ".3f") == "0.250"


def test_degrees_of_freedom_print_whole_numbers_as_integers():
    from analysis.review.wording import format_df

    assert [format_df(268.0), format_df(51.63), format_df(float("nan"))] == ["268", "51.6", "—"]


def test_a_glued_string_carries_no_bidirectional_control(monkeypatch):
    import myst_nb

    from analysis.book import glue as glue_module

    seen = {}
    monkeypatch.setattr(myst_nb, "glue", lambda key, value, display: seen.update({key: value}))
    glue_module.glue_value("name", "Fluox\u202eetine\x07")
    assert seen == {"name": "Fluox<U+202E>etine"}


def test_the_lowest_bias_corrected_estimate_is_qualified_only_for_a_selection_model():
    from analysis.review.wording_bias import lowest_method_caveat

    assert lowest_method_caveat({"min_fewest": 6}) == ", whose sparsest p-value interval holds 6 trials"
    assert lowest_method_caveat({"min_fewest": 1}, "study") == ", whose sparsest p-value interval holds 1 study"
    assert lowest_method_caveat({"min_fewest": None}) == ""


def test_one_bias_method_in_words():
    from analysis.review.wording_bias import method_result

    suite = pd.DataFrame({"method": ["trim-and-fill R0", "PET", "4PSM"], "estimate": [0.62, 0.09, np.nan],
                          "note": ["28 filled on the left", "", "no p-value in an interval"]})
    assert method_result(suite, "trim-and-fill R0") == "trim-and-fill R0: 28 filled on the left, g = 0.62"
    assert method_result(suite, "PET", "RR", back=np.exp) == "PET: RR = 1.09"
    assert method_result(suite, "4PSM") == "4PSM: not fitted (no p-value in an interval)"


def text_of_counts(text: str) -> str:
    return text[text.rindex(", and ") + len(", and "):]


def test_pet_and_peese_on_the_sample_size_se_are_shown_but_never_summarised():
    from analysis.meta import pet, peese, rma
    from analysis.review.bias_suite import SAMPLE_SIZE_ROWS, bias_suite, suite_summary, with_sample_size_rows
    from analysis.review.wording_bias import sample_size_words

    rng = np.random.default_rng(11)
    k = 30
    n1, n2 = rng.integers(10, 120, k).astype(float), rng.integers(10, 120, k).astype(float)
    g = rng.normal(0.6, 0.25, k) + 2 / np.sqrt(n1 + n2)  # small trials, larger effects
    w2 = (n1 + n2) / (n1 * n2)
    vi = w2 + g ** 2 / (2 * (n1 + n2))
    model = rma(g, vi)
    base = bias_suite(model)
    suite = with_sample_size_rows(base, g, w2)
    rows = suite.set_index("method").loc[list(SAMPLE_SIZE_ROWS)]
    # PET and PEESE with W² as predictor and in the weights, as the modified Egger test
    assert rows["estimate"].tolist() == pytest.approx([pet(g, w2).estimate, peese(g, w2).estimate], rel=1e-12)
    assert rows["ci_low"].tolist() == pytest.approx([pet(g, w2).ci_low, peese(g, w2).ci_low], rel=1e-12)
    assert (rows["note"].str.startswith("sensitivity analysis")).all()
    assert suite_summary(suite, 0.0, 0.24) == suite_summary(base, 0.0, 0.24)  # the range and median ignore them
    text = sample_size_words(suite)
    new_pet, old_pet = pet(g, w2).estimate, pet(g, vi).estimate
    assert text.startswith("With the sample-size based SE in place of the usual one (a sensitivity analysis added")
    assert f"PET gives g = {new_pet:.2f} (95% CI {pet(g, w2).ci_low:.2f} to {pet(g, w2).ci_high:.2f}) " \
           f"rather than {old_pet:.2f}" in text
    assert sample_size_words(base) == ""
    up = pd.DataFrame({"method": ["PET", "PEESE", *SAMPLE_SIZE_ROWS], "estimate": [0.1, 0.3, 0.2, 0.5],
                       "ci_low": [0.0] * 4, "ci_high": [1.0] * 4, "note": [""] * 4, "fewest": [np.nan] * 4})
    assert sample_size_words(up).endswith(": both higher, consistent with the usual SE, which contains g, pulling "
                                          "the intercept down.")
    mixed = up.assign(estimate=[0.1, 0.6, 0.2, 0.5])
    assert sample_size_words(mixed).endswith(": PET higher, PEESE lower.")
    # without the implausible comparisons, and what the median would be with these rows counted
    up.attrs["without_implausible"] = {"PET": (0.21, 0.29), "PEESE": (0.39, 0.44), "dropped": 10}
    text = sample_size_words(up, threshold=0.24)
    assert ("Without the 10 implausible comparisons (a rule added after the first results), PET gives g = 0.21 on "
            "the usual SE and 0.29 on the sample-size SE, so the difference shrinks from 0.10 to 0.08; PEESE gives "
            "g = 0.39 on the usual SE and 0.44 on the sample-size SE, so the difference shrinks from 0.20 to 0.05.") in text
    # counted: PET 0.2 and PEESE 0.5 in place of 0.1 and 0.3 -> median 0.35 rather than 0.2; one below 0.24 either way
    assert text.endswith("PET and PEESE on the sample-size SE (g = 0.20 and 0.50), counted in place of PET and "
                         "PEESE on the usual SE, would move the median of the bias-corrected estimates from g = 0.20 "
                         "to 0.35, and 1 of the 2 methods counted would fall below g = 0.24.")
    assert text_of_counts(sample_size_words(up.assign(estimate=[0.1, 0.3, 0.3, 0.5]), threshold=0.24)) == \
        "none of the 2 methods counted would fall below g = 0.24 (against 1 as counted)."
