"""``python -m analysis network``: the engine's numbers (to 1e-12), metafor's and netmeta's column
names, ``--map`` on the bundled GRISELDA arms, and every bad file refused by file, line and
column without a traceback (in process through ``analysis.cli.main``, once in a subprocess)."""

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.meta.nma import nma
from analysis.meta.nma_coherence import design_by_treatment, node_split, q_decomposition
from analysis.meta.nma_data import arm_contrasts

ROOT = Path(__file__).resolve().parents[1]
CIPRIANI = ROOT / "data" / "trials" / "cipriani2018" / "arms.csv"

# a connected, heterogeneous (tau2 > 0) network with a three-arm study, a study without placebo and a zero cell
ARMS = pd.DataFrame({
    "study": ["s1", "s1", "s2", "s2", "s3", "s3", "s3", "s4", "s4", "s5", "s5", "s6", "s6"],
    "treatment": ["placebo", "A", "placebo", "B", "placebo", "A", "B", "A", "B", "placebo", "C", "B", "C"],
    "events": [10, 32, 12, 18, 8, 12, 24, 22, 15, 0, 6, 16, 11],
    "n": [50, 50, 60, 60, 40, 40, 40, 55, 55, 30, 31, 48, 47],
    "mean": [10.1, 5.9, 11.0, 8.2, 9.7, 8.1, 7.6, 6.9, 8.8, 10.5, 8.8, 7.2, 8.0],
    "sd": [4.0, 3.6, 4.4, 3.9, 4.1, 3.3, 3.8, 3.5, 3.7, 4.6, 4.2, 3.4, 3.9],
})


def run(capsys, *args):
    """``python -m analysis network ARGS`` in process: exit code, stdout (parsed JSON with --json), stderr."""
    capsys.readouterr()
    code = main(["network", *[str(a) for a in args]])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 and "--json" in args else out.out), out.err


def write(tmp_path, text, name="arms.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def frame_csv(tmp_path, frame, name="arms.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def assert_same(rows, frame, columns, tol=1e-12):
    assert len(rows) == len(frame)
    for column in columns:
        got = np.array([np.nan if r[column] is None else r[column] for r in rows], dtype=float)
        assert np.allclose(got, frame[column].to_numpy(float), rtol=0, atol=tol, equal_nan=True), column


def test_odds_ratios_are_the_engines_to_1e_12(capsys, tmp_path):
    code, out, err = run(capsys, frame_csv(tmp_path, ARMS), "--json", "--league", "--nodesplit", "--coherence")
    assert code == 0, err
    data = arm_contrasts(ARMS, "OR", reference="placebo")
    fit = nma(data)
    assert out["reference"] == "placebo" and out["treatments"] == ["placebo", "A", "B", "C"]
    assert [r["treatment"] for r in out["vs_reference"]] == ["A", "B", "C"]
    assert_same(out["vs_reference"], fit.coef_frame(), ("estimate", "se", "z", "p", "ci_low", "ci_high"))
    assert_same(out["league"], fit.league(), ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high"))
    assert [(r["treat1"], r["treat2"]) for r in out["league"]] == list(zip(fit.league()["treat1"], fit.league()["treat2"]))
    for key, value in fit.to_dict().items():
        assert out[key] == pytest.approx(value, abs=1e-12) if isinstance(value, float) else out[key] == value, key
    assert out["tau2"] == pytest.approx(fit.tau2, abs=1e-12) and out["tau2"] > 0
    scores = fit.pscores(larger_is_better=True)
    assert [r["treatment"] for r in out["ranking"]] == list(scores.sort_values(ascending=False).index)
    assert all(abs(r["pscore"] - scores[r["treatment"]]) <= 1e-12 for r in out["ranking"])
    split = node_split(data)
    assert_same(out["node_split"], split, ("direct", "indirect", "difference", "se_difference", "p"))
    dbt = design_by_treatment(data).to_dict()
    assert all(out["design_by_treatment"][k] == pytest.approx(v, abs=1e-12, nan_ok=True)
               or (out["design_by_treatment"][k] is None and math.isnan(v)) for k, v in dbt.items())
    assert out["q_decomposition"]["q_between"] == pytest.approx(q_decomposition(data).q_between, abs=1e-12)
    assert out["studies"] == 6 and out["arms"] == 13 and out["dropped"] == [] and err == ""


@pytest.mark.parametrize("measure", ["MD", "SMD"])
@pytest.mark.parametrize("model,method", [("random", "REML"), ("random", "ML"), ("fixed", "REML")])
def test_continuous_measures_models_and_options_are_the_engines(capsys, tmp_path, measure, model, method):
    code, out, err = run(capsys, frame_csv(tmp_path, ARMS), "--measure", measure, "--model", model, "--method",
                         method, "--level", "0.9", "--reference", "B", "--small-is-good", "--json")
    assert code == 0, err
    fit = nma(arm_contrasts(ARMS, measure, reference="B"), model=model, method=method, level=0.9)
    assert out["reference"] == "B" and [r["treatment"] for r in out["vs_reference"]] == ["A", "C", "placebo"]
    assert_same(out["vs_reference"], fit.coef_frame(), ("estimate", "se", "ci_low", "ci_high"))
    assert out["tau2"] == pytest.approx(fit.tau2, abs=1e-12)
    scores = fit.pscores(larger_is_better=False)
    assert all(abs(r["pscore"] - scores[r["treatment"]]) <= 1e-12 for r in out["ranking"])


def test_default_reference_is_placebo_in_any_case_else_the_first_in_sorted_order(capsys, tmp_path):
    upper = ARMS.assign(treatment=ARMS["treatment"].replace({"placebo": "Placebo"}))
    code, out, _ = run(capsys, frame_csv(tmp_path, upper), "--json")
    assert code == 0 and out["reference"] == "Placebo"
    without = ARMS.assign(treatment=ARMS["treatment"].replace({"placebo": "Z"}))
    code, out, _ = run(capsys, frame_csv(tmp_path, without), "--json")
    fit = nma(arm_contrasts(without, "OR"))
    assert code == 0 and out["reference"] == "A" and out["treatments"] == ["A", "B", "C", "Z"]
    assert_same(out["vs_reference"], fit.coef_frame(), ("estimate", "se"))


@pytest.mark.parametrize("measure,names", [
    ("OR", {"study": "studlab", "treatment": "treat", "events": "event", "n": "N"}),
    ("OR", {"study": "ID", "treatment": "trt", "events": "xi", "n": "ni"}),
    ("OR", {"study": "Study", "treatment": "Treatment", "events": "Responders", "n": "n"}),
    ("MD", {"study": "studlab", "treatment": "treat", "mean": "mi", "sd": "sdi", "n": "ni"}),
    ("SMD", {"study": "slab", "treatment": "TRT", "mean": "Mean", "sd": "SD", "n": "N"}),
])
def test_metafor_and_netmeta_names_give_the_same_output(capsys, tmp_path, measure, names):
    plain = ARMS[["study", "treatment", "events", "n"] if measure == "OR" else ["study", "treatment", "mean", "sd", "n"]]
    _, expected, _ = run(capsys, frame_csv(tmp_path, plain, "plain.csv"), "--measure", measure, "--json")
    code, out, err = run(capsys, frame_csv(tmp_path, plain.rename(columns=names), "renamed.csv"), "--measure",
                         measure, "--json")
    assert code == 0, err
    assert {k: v for k, v in out.items() if k != "file"} == {k: v for k, v in expected.items() if k != "file"}


def test_map_reads_the_bundled_griselda_arms_and_gives_the_engines_odds_ratio(capsys):
    raw = pd.read_csv(CIPRIANI, dtype=str, keep_default_na=False)
    arms = pd.DataFrame({"study": raw["StudyID"].str.strip(), "treatment": raw["drug_base"].str.strip(),
                         "events": pd.to_numeric(raw["Responders_num"].replace("", np.nan)),
                         "n": pd.to_numeric(raw["No_randomised_num"].replace("", np.nan))})
    fit = nma(arm_contrasts(arms, "OR", reference="placebo"))
    coef = fit.coef_frame().set_index("treatment").loc["amitriptyline"]
    mapping = ("--map", "study=StudyID", "--map", "treatment=drug_base", "--map", "events=Responders_num",
               "--map", "n=No_randomised_num")
    code, out, err = run(capsys, CIPRIANI, *mapping, "--json")
    assert code == 0, err
    row = next(r for r in out["vs_reference"] if r["treatment"] == "amitriptyline")
    assert out["reference"] == "placebo" and abs(row["estimate"] - coef["estimate"]) <= 1e-12
    assert abs(math.exp(row["estimate"]) - math.exp(coef["estimate"])) <= 1e-12
    assert "108 row(s) with a missing value dropped" in err and "'Responders_num'" in err
    code, text, _ = run(capsys, CIPRIANI, *mapping)
    line = next(x for x in text.splitlines() if x.strip().startswith("amitriptyline"))
    assert f"{math.exp(coef['estimate']):.4f}" in line.split() and f"{math.exp(coef['ci_low']):.4f}" in line.split()


def test_csv_output_has_the_json_values_and_neutralises_formulas(capsys, tmp_path):
    named = ARMS.assign(treatment=ARMS["treatment"].replace({"C": "=HYPERLINK(1)"}))
    path = frame_csv(tmp_path, named)
    _, js, _ = run(capsys, path, "--json")
    code, text, _ = run(capsys, path, "--output", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert code == 0 and [r["treatment"] for r in rows] == ["placebo", "'=HYPERLINK(1)", "A", "B"]  # code point order
    assert rows[0]["estimate"] == "" and float(rows[0]["pscore"]) == next(
        r["pscore"] for r in js["ranking"] if r["treatment"] == "placebo")
    assert [float(r["estimate"]) for r in rows[1:]] == [r["estimate"] for r in js["vs_reference"]]
    code, text, _ = run(capsys, path, "--output", "csv", "--league")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(text)))) == 6
    code, _, err = run(capsys, path, "--output", "csv", "--league", "--nodesplit")
    assert code == 1 and "--output csv: prints one table" in err and "Traceback" not in err


def test_table_output_makes_names_from_the_data_inert(capsys, tmp_path):
    named = ARMS.assign(treatment=ARMS["treatment"].replace({"C": "\x1b[2J\u202eevil\nname"}))
    code, text, err = run(capsys, frame_csv(tmp_path, named))
    assert code == 0, err
    assert "\x1b" not in text and "\u202e" not in text and "[2J<U+202E>evil name" in text
    assert "ratio" in text and "log odds ratios" in text


def test_error_messages_make_the_data_inert(capsys, tmp_path):
    path = write(tmp_path, HEAD + GOOD + "s3,placebo,\x1b[31m\u202ex,50\ns3,A,1,50\n")
    code, _, err = run(capsys, path)
    assert code == 1 and f"{path}, line 6, column 'events': '[31m<U+202E>x' is not a number" in err
    assert "\x1b" not in err and "\u202e" not in err


def test_missing_values_and_one_arm_studies_are_warned_and_listed(capsys, tmp_path):
    text = ("study,treatment,events,n\n"
            "s1,placebo,10,50\ns1,A,20,50\n"
            "s2,placebo,12,60\ns2,B,NA,60\n"          # s2 keeps one arm
            "s3,placebo,8,40\ns3,A,15,40\ns3,B,14,40\n"
            "s4,A,22,55\ns4,B,19,55\n"
            "s5,B,7,30\n")                            # one arm in the file
    path = write(tmp_path, text)
    code, out, err = run(capsys, path, "--json")
    assert code == 0, err
    assert f"{path}: 1 row(s) with a missing value dropped (lines 5; column 'events')" in err
    assert f"{path}: 2 row(s) with the only complete arm of their study dropped (lines 4, 11; column 'study'" in err
    assert "'s2', 's5'" in err
    assert {(d["study"], d["reason"]): d["lines"] for d in out["dropped"]} == {
        ("s2", "missing events/n"): [5], ("s2", "one arm left"): [4], ("s5", "one arm left"): [11]}
    arms = pd.read_csv(path)
    fit = nma(arm_contrasts(arms, "OR", reference="placebo"))
    assert_same(out["vs_reference"], fit.coef_frame(), ("estimate", "se", "ci_low", "ci_high"))


HEAD = "study,treatment,events,n\n"
GOOD = "s1,placebo,10,50\ns1,A,20,50\ns2,placebo,12,60\ns2,A,18,60\n"
CONT = "study,treatment,mean,sd,n\n"


@pytest.mark.parametrize("text,options,line,column,words", [
    ("", (), 1, None, "file is empty"),
    (HEAD, (), 2, None, "no arms"),
    ("study,treatment,events\ns1,placebo,1\n", (), 1, "n", "required column for OR is missing"),
    ("study,treatment,mean,n\ns1,placebo,1,10\n", ("--measure", "MD"), 1, "sd", "accepted names: sd, sdi"),
    (HEAD + GOOD + "s3,placebo,x,50\ns3,A,1,50\n", (), 6, "events", "'x' is not a number"),
    (HEAD + GOOD + "s3,placebo,4,-10\ns3,A,1,50\n", (), 6, "n", "-10 must be > 0"),
    (HEAD + GOOD + "s3,placebo,-1,10\ns3,A,1,50\n", (), 6, "events", "-1 must not be negative"),
    (HEAD + GOOD + "s3,placebo,4,10\ns3,A,51,50\n", (), 7, "events", "51 events exceed n = 50"),
    (HEAD + "s1,placebo,inf,10\ns1,A,1,50\n", (), 2, "events", "inf must be a finite number"),
    (CONT + "s1,placebo,1,2,10\ns1,A,2,0,10\n", ("--measure", "MD"), 3, "sd", "0 must be > 0"),
    (CONT + "s1,placebo,1,-2,10\ns1,A,2,1,10\n", ("--measure", "SMD"), 2, "sd", "-2 must be > 0"),
    (CONT + "s1,placebo,1,2,1\ns1,A,2,1,10\n", ("--measure", "SMD"), 2, "n", "1 must be >= 2"),
    (CONT + "s1,placebo,1,2,10\ns1,A,2,1,10\ns1,A,3,1,10\n", ("--measure", "MD"), 4, "treatment",
     "a second arm of 'A' in study 's1' (first on line 3)"),
    (HEAD + GOOD + "   ,placebo,4,10\n   ,A,1,50\n", (), 6, "study", "the study id is empty (or only spaces)"),
    (HEAD + GOOD + "s3, ,4,10\n", (), 6, "treatment", "the treatment is empty"),
    (HEAD + GOOD + "s3,B,4,10\ns3,C,5,10\n", (), 6, "treatment", "the network is disconnected (2 parts)"),
    (HEAD + GOOD + "s3,B,,10\ns3,A,5,10\n", ("--reference", "B"), 6, "treatment", "no arm of it is left"),
    ("study,studlab,treatment,events,n\ns1,s1,placebo,1,10\n", (), 1, "studlab", "ambiguous"),
    (HEAD + GOOD, ("--map", "dose=n"), 1, "n", "'dose' is not one of"),
    (HEAD + GOOD, ("--map", "n=size"), 1, "size", "column named in --map is missing"),
])
def test_bad_files_are_refused_with_file_line_and_column(capsys, tmp_path, text, options, line, column, words):
    path = write(tmp_path, text)
    code, _, err = run(capsys, path, *options)
    where = f"{path}, line {line}" + (f", column '{column}'" if column else "")
    assert code == 1 and err.startswith(f"error: invalid input\n{where}: ") and words in err and "Traceback" not in err, err


@pytest.mark.parametrize("text,options,column,words", [
    (HEAD + GOOD, ("--reference", "zz"), "treatment", "--reference 'zz' is not a treatment of this file"),
    (HEAD + "s1,placebo,10,50\ns1,A,20,50\n", (), None, "no degree of freedom is left"),
    (HEAD + "s1,placebo,,50\ns1,A,20,50\n", (), None, "no study has two arms with complete data"),
])
def test_whole_network_problems_name_the_file_and_column(capsys, tmp_path, text, options, column, words):
    path = write(tmp_path, text)
    code, _, err = run(capsys, path, *options)
    where = f"{path}" + (f", column '{column}'" if column else "")
    assert code == 1 and err.startswith(f"error: invalid input\n{where}: ") and err.count(str(path)) == 1 and words in err and "Traceback" not in err, err


def test_one_study_fits_with_the_common_effect_model(capsys, tmp_path):
    path = write(tmp_path, HEAD + "s1,placebo,10,50\ns1,A,20,50\n")
    code, out, err = run(capsys, path, "--model", "fixed", "--json")
    assert code == 0 and err == "" and out["bic"] is None  # REML BIC of a saturated fit: log(0)
    assert out["vs_reference"][0]["estimate"] == pytest.approx(math.log(20 * 40 / (30 * 10)), abs=1e-12)


def test_missing_file_and_directory_are_refused(capsys, tmp_path):
    code, _, err = run(capsys, tmp_path / "nothere.csv")
    assert code == 1 and f"{tmp_path / 'nothere.csv'}: data file does not exist" in err and "Traceback" not in err
    code, _, err = run(capsys, tmp_path)
    assert code == 1 and "not a regular file" in err


def test_python_m_analysis_network_in_a_subprocess(capsys, tmp_path):
    """The real entry point: the help names the accepted columns; the JSON is the in-process one."""
    help_text = subprocess.run([sys.executable, "-m", "analysis", "network", "--help"], capture_output=True,
                               text=True, check=True, cwd=ROOT).stdout
    for words in ("studlab", "trt", "xi", "responders", "ni", "mi", "sdi", "--map", '"placebo"'):
        assert words in help_text, words
    path = frame_csv(tmp_path, ARMS)
    done = subprocess.run([sys.executable, "-m", "analysis", "network", str(path), "--json"], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0 and json.loads(done.stdout) == run(capsys, path, "--json")[1]
    bad = write(tmp_path, HEAD + GOOD + "s3,placebo,x,50\ns3,A,1,50\n", "bad.csv")
    done = subprocess.run([sys.executable, "-m", "analysis", "network", str(bad)], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 1 and f"{bad}, line 6, column 'events'" in done.stderr
    assert "Traceback" not in done.stderr
