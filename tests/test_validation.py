"""Bad input gets an error that names the file, the line and the column, and a non-zero exit."""

import pytest

from analysis.cli import main
from analysis.review.trials import DataError, load_trials

HEADER = "study,treat_events,treat_n,ctrl_events,ctrl_n\n"

BAD_INPUTS = [
    # (file content, measure, expected line, expected column, expected words)
    (HEADER + "A,5,10,3,x\n", "RR", 2, "ctrl_n", "'x' is not a number"),
    (HEADER + "A,5,10,3,10\nB,12,10,3,10\n", "RR", 3, "treat_events", "exceed treat_n"),
    (HEADER + "A,-1,10,3,10\n", "RR", 2, "treat_events", "must not be negative"),
    (HEADER + "A,1,0,3,10\n", "RR", 2, "treat_n", "must be > 0"),
    (HEADER + "A,1,10,3,10\nA,2,10,3,10\n", "RR", 3, "study", "duplicate study id 'A' (first on line 2)"),
    (HEADER + "A,1,10,,10\n", "RR", 2, "ctrl_events", "is empty"),
    ("study,treat_events,treat_n,ctrl_n\nA,1,10,10\n", "RR", 1, "ctrl_events", "required column for RR is missing"),
    ("study,effect,se\nA,0.1,0\n", "GEN", 2, "se", "must be > 0"),
    ("study,treat_mean,treat_sd,treat_n,ctrl_mean,ctrl_sd,ctrl_n\nA,1,-2,10,1,1,10\n", "SMD", 2, "treat_sd", "must be > 0"),
    ("study,effect,se,rob\nA,0.1,0.2,unclear\n", "GEN", 2, "rob", "'unclear' is not one of low, some, high"),
    ('study,effect,se\n"multi\nline",0.1,0.2\n"B",x,0.1\n', "GEN", 4, "effect", "'x' is not a number"),
]


@pytest.mark.parametrize("content,measure,line,column,words", BAD_INPUTS)
def test_bad_input_names_file_line_and_column(tmp_path, content, measure, line, column, words):
    path = tmp_path / "trials.csv"
    path.write_text(content)
    with pytest.raises(DataError) as err:
        load_trials(path, measure)
    message = str(err.value)
    assert str(path) in message
    assert f"line {line}" in message
    assert f"column '{column}'" in message
    assert words in message


@pytest.mark.parametrize(
    "raw,words",
    [
        (b"", "file is empty"),
        (b"study;effect;se\nA;0,1;0,2\n", "looks ';'-separated"),
        (b"study,effect,se\nA,0.1,0.2\nB\xe9,0.1,0.2\n", "not UTF-8"),
        (b"study,effect,se\nA,0.1\n", "2 fields where the header has 3"),
    ],
)
def test_unreadable_files_are_named(tmp_path, raw, words):
    path = tmp_path / "trials.csv"
    path.write_bytes(raw)
    with pytest.raises(DataError) as err:
        load_trials(path, "GEN")
    assert str(path) in str(err.value) and words in str(err.value)


def test_all_problems_are_reported_together(tmp_path):
    path = tmp_path / "trials.csv"
    path.write_text(HEADER + "A,5,10,3,x\nB,12,10,3,10\nA,1,10,3,10\n")
    with pytest.raises(DataError) as err:
        load_trials(path, "RR")
    assert len(err.value.problems) == 3


def test_too_few_studies_for_a_random_effects_model(tmp_path, capsys):
    path = tmp_path / "one.csv"
    path.write_text("study,effect,se\nA,0.1,0.2\n")
    assert main(["pool", str(path), "--measure", "GEN", "--method", "REML"]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "1 study; this analysis needs at least 2" in err


def test_cli_exits_non_zero_and_names_the_problem(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "A,5,10,3,x\n")
    assert main(["pool", str(path), "--measure", "RR", "--json"]) == 1
    err = capsys.readouterr().err
    assert f"{path}, line 2, column 'ctrl_n': 'x' is not a number" in err
