"""The Furukawa 2019 dose reader and the dose-response glue of the review layer."""

from pathlib import Path

import numpy as np
import pytest

from analysis.review.errors import DataError
from analysis.review.importers import dose_arms, read_furukawa_arms

DATA = Path(__file__).resolve().parents[1] / "data" / "trials" / "furukawa2019" / "ssri.csv"
HEADER = '"studyID","bias","age","weeks","agent","dose","n","r"\n'


def _write(tmp_path, body):
    path = tmp_path / "ssri.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_reads_the_bundled_arms():
    arms = read_furukawa_arms(DATA)
    assert len(arms) == 145 and arms["study"].nunique() == 60
    assert arms.loc[0, ["study", "agent", "dose", "n", "responders"]].tolist() == ["1", "placebo", 0.0, 149.0, 69.0]
    assert arms.groupby("agent").size().to_dict() == {"citalopram": 16, "escitalopram": 15, "fluoxetine": 25,
                                                       "paroxetine": 25, "placebo": 59, "sertraline": 5}


def test_crude_totals_are_those_of_the_source_text():
    """SOURCE.txt: "Crude: SSRI 4515/9618 = 46.9% vs placebo 2183/5556 = 39.3%"."""
    arms = read_furukawa_arms(DATA)
    placebo = arms["agent"] == "placebo"
    assert arms.loc[~placebo, ["responders", "n"]].sum().tolist() == [4515, 9618]
    assert arms.loc[placebo, ["responders", "n"]].sum().tolist() == [2183, 5556]


def test_dose_arms_keeps_placebo_controlled_trials_of_the_agents():
    arms = dose_arms(read_furukawa_arms(DATA))
    assert arms["study"].nunique() == 59  # one trial has no placebo arm
    fluox = dose_arms(read_furukawa_arms(DATA), ["fluoxetine"])
    assert set(fluox["agent"]) == {"placebo", "fluoxetine"} and fluox["study"].nunique() == 18
    assert (fluox.groupby("study")["dose"].min() == 0).all()


@pytest.mark.parametrize("body, line, column, words", [
    ('1,"Low",40,6,"placebo",0,100,120\n', 2, "r", "responders exceed n"),
    ('1,"Low",40,6,"placebo",0,0,0\n', 2, "n", "must be > 0"),
    ('1,"Low",40,6,"placebo",5,100,30\n', 2, "dose", "placebo arm must have dose 0"),
    ('1,"Low",40,6,"placebo",0,100,30\n1,"Low",40,6,"fluoxetine",about 20,100,30\n', 3, "dose", "not a number"),
    ('1,"Low",40,6,"placebo",0,100,30\n1,"Low",40,6,"placebo",0,100,30\n', 3, "dose", "same agent and dose"),
])
def test_bad_rows_are_named_by_file_line_and_column(tmp_path, body, line, column, words):
    path = _write(tmp_path, body)
    with pytest.raises(DataError) as err:
        read_furukawa_arms(path)
    problem = err.value.problems[0]
    assert (problem.file, problem.line, problem.column) == (str(path), line, column)
    assert words in problem.message


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "ssri.csv"
    path.write_text('"studyID","agent","dose","n"\n1,"placebo",0,100\n', encoding="utf-8")
    with pytest.raises(DataError, match="column 'r': required column is missing"):
        read_furukawa_arms(path)


def test_no_trial_of_an_agent_is_an_error():
    with pytest.raises(DataError, match="no placebo-controlled trial of venlafaxine"):
        dose_arms(read_furukawa_arms(DATA), ["venlafaxine"])


# ---- the review's dose-response analysis, its words and its figure ----

from analysis.review.dose import (agent_sentences, dose_analysis, dose_table, knot_percentiles, rank_one,  # noqa: E402
                                  single_dose_trials, trials_per_agent)
from analysis.review.dose_wording import (against_placebo, agents_left_out, curve_shape,  # noqa: E402
                                          describe_agent, peak_against_published)

AGENTS = ["citalopram", "escitalopram", "fluoxetine", "paroxetine", "sertraline"]


@pytest.fixture(scope="module")
def analysis():
    return dose_analysis(read_furukawa_arms(DATA), AGENTS, min_studies=5)


def test_agents_with_too_few_trials_are_left_out(analysis):
    assert trials_per_agent(read_furukawa_arms(DATA)) == {"citalopram": 8, "escitalopram": 11, "fluoxetine": 18,
                                                         "paroxetine": 19, "sertraline": 3}
    assert list(analysis["fits"]) == AGENTS[:4] and analysis["left_out"] == {"sertraline": 3}
    assert agents_left_out(analysis["left_out"], 5) == \
        "Left out for fewer than 5 placebo-controlled trials: sertraline (3 trials)."
    assert agents_left_out({}, 5) == "Every agent asked for had at least 5 placebo-controlled trials."


def test_fits_are_the_engine_fits_and_peaks_lie_on_the_grid(analysis):
    cit = analysis["fits"]["citalopram"]
    assert cit.fit.knots.tolist() == pytest.approx([13, 30, 54])
    assert cit.fit.coef == pytest.approx([0.0205101002, -0.0267176399], abs=1e-8)  # as metafor (fixture)
    assert cit.peak_dose == pytest.approx(34.8) and cit.curve.dose[-1] == 60
    table = dose_table(analysis["fits"])
    assert table["agent"].tolist() == AGENTS[:4]
    assert table.loc[0, "OR at peak (95% CI)"] == "1.74 (1.37 to 2.21)"


def test_sentences_come_from_the_curves(analysis):
    sentences = agent_sentences(analysis["fits"])
    assert sentences[3].startswith("Paroxetine: the odds ratio of response rises up to the highest dose studied; "
                                   "it is largest at 40 mg (OR 2.26")
    assert "levels off" in sentences[2] and "better than placebo" in sentences[2]


def test_counts_for_the_limits(analysis):
    assert single_dose_trials(dose_arms(read_furukawa_arms(DATA))) == 42
    assert all(rank_one(res.fit.psi) for res in analysis["fits"].values())
    assert not rank_one([[1.0, 0.2], [0.2, 1.0]]) and rank_one([[1.0, 1.0], [1.0, 1.0]]) and rank_one([[0, 0], [0, 0]])


@pytest.mark.parametrize("estimate, ci_high, words", [
    ([0, 0.2, 0.4, 0.5], [0, 0.5, 0.7, 0.9], "rises up to the highest dose studied"),
    ([0, 0.4, 0.3, 0.1], [0, 0.6, 0.5, 0.3], "rises to a peak and then declines"),
    ([0, 0.4, 0.3, 0.2], [0, 0.6, 0.5, 0.45], "rises to a peak and then levels off (no clear decline at higher doses)"),
    ([0, -0.1, -0.2, -0.3], [0, 0.1, 0.1, 0.1], "does not rise above placebo"),
])
def test_curve_shape_rules(estimate, ci_high, words):
    assert curve_shape(estimate, np.asarray(estimate) - 0.2, ci_high) == words


def test_placebo_and_published_words():
    assert against_placebo(1.01, 1.5) == "better than placebo"
    assert against_placebo(0.5, 0.99) == "worse than placebo"
    assert against_placebo(0.9, 1.2) == "not distinguishable from placebo"
    assert peak_against_published(30) == "not compared"
    assert [peak_against_published(x, 20, 40) for x in (10, 30, 50)] == ["below", "within", "above"]
    assert describe_agent("fluoxetine", "rises", {"dose": 30.0, "or": 1.3, "ci_low": 1.02, "ci_high": 1.71},
                          "better than placebo") == \
        "Fluoxetine: the odds ratio of response rises; it is largest at 30 mg (OR 1.30, 95% CI 1.02 to 1.71, better than placebo)."


def test_bad_parameters_are_named():
    with pytest.raises(DataError, match="dose-response.knot_middle.*must increase"):
        knot_percentiles(50, 50, 90)
    assert knot_percentiles(10, 50, 90) == (10, 50, 90)
    with pytest.raises(DataError, match="fluoxetine: knots .* are not distinct"):
        dose_analysis(read_furukawa_arms(DATA), ["fluoxetine"], knots_of="arms")


def test_figure_has_one_panel_per_agent_and_its_finding(analysis):
    import matplotlib.pyplot as plt

    from analysis.figures.dose_response import dose_response_plot

    fig = dose_response_plot(analysis["fits"], finding="the finding")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["Citalopram", "Escitalopram", "Fluoxetine", "Paroxetine"]
    assert fig.finding == "the finding"
    line = visible[0].lines[0]
    assert np.allclose(line.get_ydata(), np.exp(analysis["fits"]["citalopram"].curve.estimate))
    plt.close(fig)


# ---- any file: a validated table or a DataError naming where, never a traceback ----

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CELL = st.one_of(st.sampled_from(["", "NA", "0", "-1", "20", "1e309", "nan", "placebo", "fluoxetine", "x", '"']),
                 st.text(max_size=6))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(CELL, min_size=8, max_size=8), min_size=1, max_size=5))
def test_any_table_is_read_or_refused_with_a_location(tmp_path, rows):
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path = tmp_path / "fuzz.csv"
    path.write_text(HEADER + buffer.getvalue(), encoding="utf-8")
    try:
        arms = read_furukawa_arms(path)
    except DataError as err:
        assert err.problems and all(p.file == str(path) for p in err.problems)
        return
    assert (arms["responders"] <= arms["n"]).all() and (arms["n"] > 0).all()
    try:
        dose_analysis(arms, AGENTS, min_studies=1)
    except DataError as err:
        assert err.problems


@pytest.mark.parametrize("body, words", [
    ('1,"L",40,6,"placebo",0,100,30\n1,"L",40,6,"fluoxetine",20,100,0\n'
     '2,"L",40,6,"placebo",0,100,30\n2,"L",40,6,"fluoxetine",40,100,40\n', "no or only responders"),
    ('1,"L",40,6,"placebo",0,100,30\n1,"L",40,6,"fluoxetine",20,100,40\n'
     '2,"L",40,6,"placebo",0,100,30\n2,"L",40,6,"fluoxetine",20,100,40\n', "not distinct"),
])
def test_data_a_curve_cannot_be_fitted_to_is_refused_by_name(tmp_path, body, words):
    path = _write(tmp_path, body)
    with pytest.raises(DataError) as err:
        dose_analysis(read_furukawa_arms(path), ["fluoxetine"], min_studies=1, name=str(path))
    problem = err.value.problems[0]
    assert problem.file == str(path) and problem.column == "dose" and words in problem.message
