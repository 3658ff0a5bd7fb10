"""The Furukawa 2019 dose reader and the dose-response glue of the review layer."""

from pathlib import Path

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
