"""Rerunning with new data: bad inputs are refused before anything runs, with file, line and
column named, and nothing is lost (the previous book and data/ byte for byte). The refused builds
run in process (``analysis.cli.main``); the changelog after a dataset change is a real build, on a
copy of the session's book."""

import csv
import functools
import json
import shutil
from pathlib import Path

import pytest
from papermill.translators import PythonTranslator

from conftest import ROOT, executed_notebooks, run_analysis, tree_hash


def edit_csv(src: Path, dest: Path, edit, delimiter=","):
    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    rows = edit(rows)
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)


def drop_column(rows, column):
    i = rows[0].index(column)
    return [row[:i] + row[i + 1 :] for row in rows]


def set_cell(rows, row, column, value):
    rows[row][rows[0].index(column)] = value
    return rows


ARMS = "data/trials/cipriani2018/arms.csv"
PSYCTR = "data/trials/metapsy-psyctr/data_v22.0.2_raw.csv"
TURNER = "data/trials/turner2008/trials.csv"

# name -> (chapter, parameter, source file, edit, expected line, expected column, expected words)
DATA_CASES = {
    "missing column": ("ssri-placebo", "cipriani_arms", ARMS,
                       lambda r: drop_column(r, "Responders_num"), 1, "Responders_num", "required column is missing"),
    "misnamed column": ("publication-bias", "turner", TURNER,
                        lambda r: [["drug"] + r[0][1:]] + r[1:], 1, "Drug", "required column is missing"),
    "non-numeric cell": ("ssri-placebo", "cipriani_arms", ARMS,
                         lambda r: set_cell(r, 5, "Responders_num", "about 60"), 6, "Responders_num", "'about 60' is not a number"),
    "events above n": ("ssri-placebo", "cipriani_arms", ARMS,
                       lambda r: set_cell(r, 3, "Responders_num", "999"), 4, "Responders_num", "exceed No_randomised_num"),
    "zero n": ("ssri-placebo", "cipriani_arms", ARMS,
               lambda r: set_cell(r, 2, "No_randomised_num", "0"), 3, "No_randomised_num", "must be > 0"),
    "se not above zero": ("publication-bias", "turner", TURNER,
                          lambda r: set_cell(r, 4, "Nonstandardized_SE", "0"), 5, "Nonstandardized_SE", "must be > 0"),
    "duplicate study id": ("publication-bias", "turner", TURNER,
                           lambda r: set_cell(set_cell(r, 3, "Study", r[2][1]), 3, "Drug", r[2][0]), 4, "Study", "duplicate study id"),
}


@pytest.fixture(scope="module")
def previous_book(built_book, tmp_path_factory) -> Path:
    """A copy of the session's built book (HTML, PDF, executed notebooks, results): the previous
    book a refused build must leave exactly as it was."""
    dest = tmp_path_factory.mktemp("previous") / "_build"
    shutil.copytree(built_book / "_build", dest, symlinks=True)
    return dest


@pytest.fixture
def refuse(previous_book, tmp_path, monkeypatch, capsys):
    """Run ``python -m analysis build --params FILE`` in process (``analysis.cli.main``) on this
    repository's notebooks and data, building into ``previous_book``; it must be refused. Return
    its stderr and the parameter file, after checking nothing was lost."""
    from analysis import cli
    from analysis.book import params as parameters
    from analysis.book import pipeline
    from analysis.book.render import source_date_epoch

    assert parameters.ROOT == ROOT, "run the tests with this checkout's analysis package on PYTHONPATH"
    monkeypatch.setattr(pipeline, "build", functools.partial(pipeline.build, build_dir=previous_book))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", source_date_epoch())  # build() would set it in this process for good

    def run(override_text):
        before_build, before_data = tree_hash(previous_book), tree_hash(ROOT / "data")
        root_build = (ROOT / "_build").exists()
        params = tmp_path / "params.yml"
        params.write_text(override_text)
        capsys.readouterr()
        code = cli.main(["build", "--params", str(params)])
        out, err = capsys.readouterr()
        assert code != 0
        # refused before any notebook ran: no plan printed, no notebook executed
        assert "notebook(s) to execute" not in out and executed_notebooks(out) == [], out
        assert "nothing was built and the previous book is unchanged" in err, err
        assert tree_hash(previous_book) == before_build
        assert not (previous_book / ".staging").exists()
        assert tree_hash(ROOT / "data") == before_data
        assert (ROOT / "_build").exists() == root_build  # the repository's own build folder was not touched
        return err, params

    return run


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_dataset_is_refused_with_file_line_and_column(refuse, tmp_path, case):
    chapter, parameter, source, edit, line, column, words = DATA_CASES[case]
    bad = tmp_path / Path(source).name
    edit_csv(ROOT / source, bad, edit)
    err, _ = refuse(f"{chapter}:\n  {parameter}: {bad}\n")
    assert f"{bad}, line {line}, column '{column}'" in err, err
    assert words in err, err


@pytest.mark.parametrize(
    "name,content,words",
    [
        ("empty file", b"", "file is empty"),
        ("wrong delimiter", b"StudyID;Year_Published;Drug\nA;2001;x\n", "looks ';'-separated"),
        ("wrong encoding", "StudyID,Year_Published\nA,2001\n".encode("utf-16"), "not UTF-8"),
    ],
)
def test_unreadable_dataset_is_refused(refuse, tmp_path, name, content, words):
    bad = tmp_path / "arms.csv"
    bad.write_bytes(content)
    err, _ = refuse(f"ssri-placebo:\n  cipriani_arms: {bad}\n")
    assert str(bad) in err and words in err, err


def test_metapsy_release_in_its_own_format_with_a_bad_cell(refuse, tmp_path):
    bad = tmp_path / "metapsy.csv"
    edit_csv(ROOT / PSYCTR, bad, lambda r: set_cell(r, 10, ".g_se", "n/a"), delimiter=";")
    err, _ = refuse(f"cbt-control:\n  psyctr: {bad}\n")
    assert f"{bad}, line" in err and "column '.g_se': 'n/a' is not a number" in err, err


def test_metapsy_risk_of_bias_code_that_is_not_one(refuse, tmp_path):
    bad = tmp_path / "metapsy.csv"

    def edit(rows):
        header = rows[0]
        row = next(i for i, r in enumerate(rows) if i and r[header.index("condition_arm1")] == "cbt"
                   and r[header.index("primary")] == "1")
        return set_cell(rows, row, "ac", "unclear")

    edit_csv(ROOT / PSYCTR, bad, edit, delimiter=";")
    err, _ = refuse(f"cbt-control:\n  psyctr: {bad}\n")
    assert f"{bad}, line" in err and "column 'ac': 'unclear' is not a risk-of-bias code" in err, err


def test_metapsy_release_without_a_risk_of_bias_item(refuse, tmp_path):
    bad = tmp_path / "metapsy.csv"
    edit_csv(ROOT / PSYCTR, bad, lambda r: drop_column(r, "ba"), delimiter=";")
    err, _ = refuse(f"cbt-control:\n  psyctr: {bad}\n")
    assert f"{bad}, line 1, column 'ba': required column is missing" in err, err


def test_search_flow_with_a_count_that_is_not_a_count(refuse, tmp_path):
    # reasons that do not add up are reported, not refused (test_release_build.py); a malformed count is refused
    flow = json.loads((ROOT / "data/trials/metapsy-psyctr/search_flow_v22.json").read_text())
    flow["included"] = -1
    bad = tmp_path / "flow.json"
    bad.write_text(json.dumps(flow, indent=1))
    err, _ = refuse(f"cbt-control:\n  search_flow: {bad}\n")
    assert f"{bad}, line" in err and "column 'included'" in err, err


@pytest.mark.parametrize(
    "override,words",
    [
        ("ssri-placebo:\n  cipriani_arms: data/trials/nope.csv\n", "line 2, column 'ssri-placebo.cipriani_arms': 'data/trials/nope.csv' does not exist"),
        ("ssri-placebo:\n  estimator: REML\n", "line 2, column 'ssri-placebo.estimator': unknown parameter"),
        ("ssri-placebo:\n  hksj: 'yes'\n", "line 2, column 'ssri-placebo.hksj': 'yes' is a str, expected bool"),
        ("ssri-placebo:\n  method: reml\n", "'reml' is not one of"),
        ("nochapter:\n  x: 1\n", "line 1, column 'nochapter': unknown chapter"),
        ("cbt-control:\n  therapy: hypnosis\n", "column 'condition_arm1': no comparisons for therapy 'hypnosis'"),
        ("cbt-control:\n  pst_label: Eye Movement Desensitization\n", "column 'therapy': no 'Eye Movement Desensitization' comparisons for Depression"),
    ],
)
def test_bad_parameter_is_refused(refuse, override, words):
    err, params = refuse(override)
    assert words in err, err


def test_subgroup_selection_leaving_too_few_studies(refuse, tmp_path):
    # keep one problem-solving therapy comparison for depression: the PST selection leaves 1 study
    bad = tmp_path / "response.csv"
    source = "data/trials/metapsy-response/data_v23.0.1_raw.csv"

    def edit(rows):
        t, d = rows[0].index("therapy"), rows[0].index("disorder")
        pst = [i for i, r in enumerate(rows) if r[t] == "Problem-Solving Therapy" and r[d] == "Depression"]
        return [r for i, r in enumerate(rows) if i not in pst[1:]]

    edit_csv(ROOT / source, bad, edit, delimiter=";")
    err, _ = refuse(f"cbt-control:\n  response: {bad}\n")
    assert f"{bad}, column 'cbt-control.pst_label': the selection pst_label='Problem-Solving Therapy' leaves 1 studies" in err, err


def test_parameters_are_data_never_code(tmp_path):
    nasty = "SSRI\"; open('%s', 'w').write('pwned') #\n'''\nimport os" % (tmp_path / "pwned")
    code = PythonTranslator.codify({"active_class": nasty, "method": "REML'); import os; ('"})
    namespace = {}
    exec(code, namespace)  # what papermill's injected cell runs
    assert namespace["active_class"] == nasty and namespace["method"] == "REML'); import os; ('"
    assert not (tmp_path / "pwned").exists()


def test_yaml_is_read_safely(refuse):
    err, _ = refuse("ssri-placebo:\n  method: !!python/object/apply:os.system ['touch /tmp/yaml-pwned']\n")
    assert not Path("/tmp/yaml-pwned").exists()
    assert "not valid YAML" in err, err


def test_changelog_lists_exactly_the_studies_added_and_removed(built_copy, tmp_path):
    repo = built_copy  # its previous good build: the session's, on the default parameters
    new = tmp_path / "turner_new.csv"

    def edit(rows):
        kept = [r for r in rows if r[1] not in ("5", "17")]
        return kept + [["sertraline", "74", "1", "0.35", "0.12", "0.36", "0.12"]]

    edit_csv(repo / TURNER, new, edit)
    params = tmp_path / "new.yml"
    params.write_text(f"all:\n  turner: {new}\n")  # every chapter that reads the Turner trials
    res = run_analysis(repo, "build", "--params", str(params))
    assert res.returncode == 0, res.stdout + res.stderr
    changes = json.loads((repo / "_build" / "changes.json").read_text())
    assert [d["file"] for d in changes["datasets"]] == [f"turner: {TURNER} → {new}"]
    expected_removed = sorted(f"{r[0]} {r[1]}" for r in csv.reader(open(repo / TURNER)) if r[1] in ("5", "17"))
    assert changes["studies"] == [
        {"file": f"turner: {TURNER} → {new}", "added": ["sertraline 74"], "removed": expected_removed, "renamed": []}
    ]
    keys = {v["key"] for v in changes["values"]}
    assert "fda_k" in keys and all(v["chapter"] in ("publication-bias", "abstract", "protocol", "reproducibility") for v in changes["values"])
    page = (repo / "_build" / "html" / "chapters" / "changes.html").read_text()
    assert "sertraline 74" in page and "fda_k" in page
