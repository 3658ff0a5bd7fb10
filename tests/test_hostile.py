"""Hostile and broken input (issue 12): every bad input is refused in-process, before anything
runs, with the file, the line and the column named, a non-zero exit and no traceback; `_build/`
and `data/` are byte-identical afterwards. Faults (read-only or full disk, a held lock, a kill at
every step of publishing) leave a complete last good book and no half-written files."""

from __future__ import annotations

import csv
import errno
import io
import hashlib
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from analysis.book import params as parameters
from analysis.book import pipeline, publish as publishing
from analysis.cli import main

ROOT = Path(__file__).resolve().parent.parent
TURNER = "data/trials/turner2008/trials.csv"
PSYCTR = "data/trials/metapsy-psyctr/data_v22.0.2_raw.csv"
FLOW = "data/trials/metapsy-psyctr/search_flow_v22.json"
GEN = "study,effect,se\n"
BIN = "study,treat_events,treat_n,ctrl_events,ctrl_n\n"
SMD = "study,treat_mean,treat_sd,treat_n,ctrl_mean,ctrl_sd,ctrl_n\n"


def tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    if folder.exists():
        for path in sorted(folder.rglob("*")):
            digest.update(str(path.relative_to(folder)).encode())
            if path.is_symlink():
                digest.update(os.readlink(path).encode())
            elif path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    """A repository with the real parameters and data (no notebooks): refusals happen in validation."""
    root = tmp_path_factory.mktemp("root")
    shutil.copytree(ROOT / "params", root / "params")
    shutil.copytree(ROOT / "data", root / "data")
    (root / "data" / "adir").mkdir()
    os.mkfifo(root / "data" / "fifo.csv")
    return root


@pytest.fixture
def root(fake_root, monkeypatch):
    monkeypatch.setattr(parameters, "ROOT", fake_root)
    monkeypatch.setattr(parameters, "DEFAULTS", fake_root / "params" / "defaults.yml")
    before = tree_hash(fake_root / "data"), tree_hash(ROOT / "data"), tree_hash(ROOT / "_build")
    yield fake_root
    assert (tree_hash(fake_root / "data"), tree_hash(ROOT / "data"), tree_hash(ROOT / "_build")) == before


def refused(capsys, argv) -> str:
    """Run the command line in-process (with a watchdog: a FIFO must not hang it); return stderr."""
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("rc", main(argv)), daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), f"{argv} hangs"
    out, err = capsys.readouterr()
    assert result["rc"] != 0, out + err
    assert "Traceback" not in err and "Traceback" not in out, err
    assert err.startswith("error:"), err
    return err


def write(path: Path, content) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


# --- trial tables, through `python -m analysis pool` ------------------------------------------------

TRIALS = [
    # (id, content, measure, expected "where" and words)
    ("inf", GEN + "A,inf,0.1\nB,0.1,0.1\n", "GEN", "line 2, column 'effect'", "finite"),
    ("minus-inf", GEN + "A,-inf,0.1\nB,0.1,0.1\n", "GEN", "line 2, column 'effect'", "finite"),
    ("Infinity", GEN + "A,0.1,0.1\nB,Infinity,0.1\n", "GEN", "line 3, column 'effect'", "finite"),
    ("1e400", GEN + "A,1e400,0.1\nB,0.1,0.1\n", "GEN", "line 2, column 'effect'", "finite"),
    ("-1e999", GEN + "A,-1e999,0.1\nB,0.1,0.1\n", "GEN", "line 2, column 'effect'", "finite"),
    ("se-denormal", GEN + "A,0.1,1e-320\nB,0.1,0.1\n", "GEN", "line 2, column 'se'", "finite"),
    ("se-underflows", GEN + "A,0.1,1e-200\nB,0.1,0.1\n", "GEN", "line 2, column 'se'", "variance"),
    ("se-overflows", GEN + "A,0.1,1e200\nB,0.1,0.1\n", "GEN", "line 2, column 'se'", "variance"),
    ("se-zero", GEN + "A,0.1,0\nB,0.1,0.1\n", "GEN", "line 2, column 'se'", "must be > 0"),
    ("se-inf", GEN + "A,0.1,inf\nB,0.1,0.1\n", "GEN", "line 2, column 'se'", "finite"),
    ("smd-n1", SMD + "A,1,1,1,1,1,5\nB,1,1,5,2,1,5\n", "SMD", "line 2, column 'treat_n'", ">= 2"),
    ("smd-infinite-d", SMD + "A,1e300,1e-300,5,-1e300,1e-300,5\nB,1,1,5,2,1,5\n", "SMD", "line 2, column", "finite"),
    ("smd-sd-zero", SMD + "A,1,0,5,1,1,5\nB,1,1,5,2,1,5\n", "SMD", "line 2, column 'treat_sd'", "> 0"),
    ("rr-n-zero", BIN + "A,0,0,1,10\nB,1,10,2,10\n", "RR", "line 2, column 'treat_n'", "> 0"),
    ("events-above-n", BIN + "A,12,10,1,10\nB,1,10,2,10\n", "RR", "line 2, column 'treat_events'", "exceed"),
    ("duplicate-columns", "study,effect,se,se\nA,0.1,0.1,0.2\nB,0.1,0.1,0.2\n", "GEN", "line 1, column 'se'",
     "duplicate column name"),
    ("duplicate-study", GEN + "A,0.1,0.1\nA,0.2,0.1\n", "GEN", "line 3, column 'study'", "duplicate study id"),
    ("huge-field", GEN + "A,0.1,0.1\n" + "B" * 140_000 + ",0.1,0.1\n", "GEN", "line 3, column 'study'",
     "longer than 131,072"),
    ("unclosed-quote", GEN + "A,0.1,0.1\n\"B" + ",0.1" * 40_000 + "\n", "GEN", "line", "longer than"),
    ("nul-in-name", GEN + "A\x00x,0.1,0.1\nB,0.1,0.1\n", "GEN", "line 2, column 'character 2'", "NUL byte"),
    ("not-utf8", b"study,effect,se\nA,0.1,0.1\nB\xe9,0.1,0.1\n", "GEN", "line 3, column 'character 2'", "not UTF-8"),
    ("utf16", "study,effect,se\nA,0.1,0.1\n".encode("utf-16"), "GEN", "line 1", "not UTF-8"),
    ("not-a-number", GEN + "A,about 1,0.1\nB,0.1,0.1\n", "GEN", "line 2, column 'effect'", "not a number"),
    ("missing-column", "study,effect\nA,0.1\n", "GEN", "line 1, column 'se'", "missing"),
    ("wrong-field-count", GEN + "A,0.1\nB,0.1,0.1\n", "GEN", "line 2", "2 fields where the header has 3"),
    ("bad-rob", "study,effect,se,rob\nA,0.1,0.2,unclear\nB,0.1,0.1,low\n", "GEN", "line 2, column 'rob'", "not one of"),
    ("blank-study", GEN + "A,0.1,0.1\n   ,0.2,0.1\nC,0.3,0.2\n", "GEN", "line 3, column 'study'", "study id is empty"),
    ("empty-study", GEN + ",0.1,0.1\nB,0.2,0.1\nC,0.3,0.2\n", "GEN", "line 2, column 'study'", "study id is empty"),
]


@pytest.mark.parametrize("case,content,measure,where,words", TRIALS, ids=[t[0] for t in TRIALS])
def test_trial_table_is_refused_with_its_location(root, tmp_path, capsys, case, content, measure, where, words):
    path = write(tmp_path / "trials.csv", content)
    err = refused(capsys, ["pool", str(path), "--measure", measure])
    assert f"{path}, {where}" in err and words in err, err


# --- datasets named by parameters, through `python -m analysis validate --params` -------------------

def override(tmp_path, chapter, key, value, name="params.yml") -> Path:
    return write(tmp_path / name, f"{chapter}:\n  {key}: {value}\n")


DATASETS = [
    # (id, parameter (chapter, key), file name, content, "where", words); the file is written to tmp
    ("turner-inf", ("publication-bias", "turner"), "t.csv", "TURNER:inf", "line 2, column 'Nonstandardized_effect_size'",
     "finite"),
    ("turner-dup-column", ("publication-bias", "turner"), "t.csv", "TURNER:dupcol", "line 1, column 'Drug'",
     "duplicate column name"),
    ("turner-nul", ("publication-bias", "turner"), "t.csv", "TURNER:nul", "line 2, column 'character", "NUL byte"),
    ("grade-latin1", ("summary-of-findings", "grade"), "g.csv", b"comparison,outcome\nx\xff,y\n", "line 2, column 'character",
     "not UTF-8"),
    ("flow-deep", ("cbt-control", "search_flow"), "f.json", "[" * 100_000 + "]" * 100_000, "line 1, column 'character 65'",
     "nested deeper"),
    ("flow-dup-key", ("cbt-control", "search_flow"), "f.json", '{"included": 1,\n "included": 2}', "line 2, column",
     "duplicate key 'included'"),
    ("flow-nan", ("cbt-control", "search_flow"), "f.json", '{"included":\n NaN}', "line 2, column", "NaN"),
    ("flow-infinity", ("cbt-control", "search_flow"), "f.json", '{"included": Infinity}', "line 1, column", "Infinity"),
    ("flow-1e400", ("cbt-control", "search_flow"), "f.json", '{"included": 1e400}', "line 1, column", "out of the range"),
    ("flow-long-int", ("cbt-control", "search_flow"), "f.json", '{"included": ' + "9" * 5000 + "}", "line 1, column",
     "too long"),
    ("flow-latin1", ("cbt-control", "search_flow"), "f.json", b'{"database.hits": "\xe9"}', "line 1, column 'character",
     "not UTF-8"),
    ("flow-invalid", ("cbt-control", "search_flow"), "f.json", '{"included": 1,,}', "line 1, column 'character 16'",
     "not valid JSON"),
    ("flow-nul", ("cbt-control", "search_flow"), "f.json", '{"included": "\x00"}', "line 1, column 'character 15'",
     "NUL byte"),
    ("metapsy-blank-study", ("all", "psyctr"), "m.csv", "METAPSY:blank-study", "line 6, column 'study'", "is empty"),
    ("turner-blank-drug", ("publication-bias", "turner"), "t.csv", "TURNER:blank", "line 2, column 'Drug'", "is empty"),
]


def _metapsy_variant(kind: str) -> str:
    """The bundled Metapsy release (';'-separated) with one cell changed."""
    rows = list(csv.reader(io.StringIO((ROOT / PSYCTR).read_text(encoding="utf-8")), delimiter=";"))
    header = rows[0]
    if kind == "blank-study":
        rows[5][header.index("study")] = "   "
    elif kind == "nan-g":
        cbt = [r for r in rows[1:] if r[header.index("condition_arm1")].strip().lower() == "cbt"]
        cbt[0][header.index(".g")], cbt[1][header.index(".g_se")] = "NaN", "NA"
    out = io.StringIO()
    csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _turner_variant(kind: str) -> str:
    rows = list(csv.reader(io.StringIO((ROOT / TURNER).read_text())))
    header, first = rows[0], rows[1]
    if kind == "blank":
        first[header.index("Drug")] = "  "
    if kind == "inf":
        first[header.index("Nonstandardized_effect_size")] = "inf"
    elif kind == "dupcol":
        header[header.index("Study")] = "Drug"
    elif kind == "nul":
        first[0] = first[0] + "\x00"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize("case,param,name,content,where,words", DATASETS, ids=[d[0] for d in DATASETS])
def test_dataset_is_refused_with_its_location(root, tmp_path, capsys, case, param, name, content, where, words):
    if isinstance(content, str) and content.startswith("TURNER:"):
        content = _turner_variant(content.split(":")[1])
    if isinstance(content, str) and content.startswith("METAPSY:"):
        content = _metapsy_variant(content.split(":")[1])
    data = write(tmp_path / name, content)
    params = override(tmp_path, *param, str(data))
    err = refused(capsys, ["validate", "--params", str(params)])
    assert f"{data}, {where}" in err and words in err, err


# --- parameter files ----------------------------------------------------------------------------------

PARAMS = [
    # (id, YAML text (str or bytes), "where", words)
    ("low-rob-5", "cbt-control:\n  low_rob_items: 5\n", "line 2, column 'cbt-control.low_rob_items'", "out of range"),
    ("low-rob-negative", "cbt-control:\n  low_rob_items: -1\n", "line 2, column 'cbt-control.low_rob_items'", "out of range"),
    ("forest-0", "ssri-placebo:\n  forest_max_rows: 0\n", "line 2, column 'ssri-placebo.forest_max_rows'", "out of range"),
    ("forest-minus-3", "cbt-control:\n  forest_max_rows: -3\n", "line 2, column 'cbt-control.forest_max_rows'", "out of range"),
    ("forest-float", "ssri-placebo:\n  forest_max_rows: 1.5\n", "line 2, column 'ssri-placebo.forest_max_rows'", "expected int"),
    ("forest-string", "ssri-placebo:\n  forest_max_rows: '10'\n", "line 2, column 'ssri-placebo.forest_max_rows'",
     "expected int"),
    ("forest-bool", "ssri-placebo:\n  forest_max_rows: true\n", "line 2, column 'ssri-placebo.forest_max_rows'",
     "expected int"),
    ("forest-inf", "ssri-placebo:\n  forest_max_rows: .inf\n", "line 2, column 'character 20'", "not a finite number"),
    ("hksj-string", "ssri-placebo:\n  hksj: 'yes'\n", "line 2, column 'ssri-placebo.hksj'", "expected bool"),
    ("method", "ssri-placebo:\n  method: reml\n", "line 2, column 'ssri-placebo.method'", "not one of"),
    ("unknown-parameter", "ssri-placebo:\n  estimator: REML\n", "line 2, column 'ssri-placebo.estimator'", "unknown parameter"),
    ("unknown-chapter", "nochapter:\n  x: 1\n", "line 1, column 'nochapter'", "unknown chapter"),
    ("data-dir-root", "reproducibility:\n  data_dir: /\n", "line 2, column 'reproducibility.data_dir'", "inside the repository"),
    ("data-dir-parent", "reproducibility:\n  data_dir: ..\n", "line 2, column 'reproducibility.data_dir'",
     "inside the repository"),
    ("data-dir-repo", "reproducibility:\n  data_dir: .\n", "line 2, column 'reproducibility.data_dir'", "inside the repository"),
    ("data-dir-file", "reproducibility:\n  data_dir: data/claims.csv\n", "line 2, column 'reproducibility.data_dir'",
     "not a directory"),
    ("data-dir-missing", "reproducibility:\n  data_dir: data/nope\n", "line 2, column 'reproducibility.data_dir'",
     "does not exist"),
    ("data-dir-empty", "reproducibility:\n  data_dir: ''\n", "line 2, column 'reproducibility.data_dir'", "empty"),
    ("path-empty", "publication-bias:\n  turner: ''\n", "line 2, column 'publication-bias.turner'", "empty"),
    ("path-directory", "publication-bias:\n  turner: data/adir\n", "line 2, column 'publication-bias.turner'",
     "not a regular file"),
    ("path-fifo", "publication-bias:\n  turner: data/fifo.csv\n", "line 2, column 'publication-bias.turner'", "FIFO"),
    ("path-device", "publication-bias:\n  turner: /dev/zero\n", "line 2, column 'publication-bias.turner'", "device"),
    ("path-missing", "publication-bias:\n  turner: data/nope.csv\n", "line 2, column 'publication-bias.turner'",
     "does not exist"),
    ("path-number", "publication-bias:\n  turner: 3\n", "line 2, column 'publication-bias.turner'", "expected str"),
    ("duplicate-key", "ssri-placebo:\n  method: DL\n  method: REML\n", "line 3, column 'character 3'", "duplicate key"),
    ("duplicate-chapter", "ssri-placebo:\n  method: DL\nssri-placebo:\n  hksj: true\n", "line 3, column 'character 1'",
     "duplicate key"),
    ("billion-laughs", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n", "line 1, column 'character 4'",
     "anchors and aliases"),
    ("merge-key", "base: &b {method: DL}\nssri-placebo:\n  <<: *b\n", "line 1, column 'character 7'", "anchors and aliases"),
    ("deep-nesting", "a: " + "[" * 200 + "]" * 200 + "\n", "line 1, column", "nested deeper"),
    ("python-tag", "ssri-placebo:\n  method: !!python/object/apply:os.system ['true']\n", "line 2, column", "not valid YAML"),
    ("latin1", b"ssri-placebo:\n  pst_label: Th\xe9rapie\n", "line 2, column 'character 16'", "not UTF-8"),
    ("nul-escape", 'cbt-control:\n  pst_label: "PST\\0"\n', "line 2, column 'cbt-control.pst_label'", "control character"),
    ("line-break", 'cbt-control:\n  pst_label: "a\\nb"\n', "line 2, column 'cbt-control.pst_label'", "control character"),
    ("too-long", "cbt-control:\n  therapy: " + "x" * 500 + "\n", "line 2, column 'cbt-control.therapy'", "at most"),
    ("not-a-mapping", "- just\n- a list\n", "line 1", "expected a mapping"),
    ("syntax", "ssri-placebo:\n  method: [REML\n", "line 3, column", "not valid YAML"),
    ("all-unknown", "all:\n  estimator: REML\n", "line 2, column 'all.estimator'", "no chapter has this parameter"),
    ("all-wrong-type", "all:\n  method: reml\n", "line 2, column 'all.method'", "not one of"),
    # the network is fitted by REML, ML or FE only: another estimator is refused before anything runs
    ("network-estimator", "network:\n  method: DL\n", "line 2, column 'network.method'",
     "'DL' is not one of REML, ML, FE (the network chapter's range)"),
    ("all-estimator-not-for-the-network", "all:\n  method: DL\n", "line 2, column 'all.method'",
     "(the network chapter's range)"),
    ("all-not-a-mapping", "all: REML\n", "line 1", "expected a mapping"),
]


@pytest.mark.parametrize("case,text,where,words", PARAMS, ids=[p[0] for p in PARAMS])
def test_parameter_file_is_refused_with_its_location(root, tmp_path, capsys, case, text, where, words):
    params = write(tmp_path / "params.yml", text)
    for command in ("validate", "build"):  # the build refuses before it touches _build/
        err = refused(capsys, [command, "--params", str(params)])
        assert f"{params}, {where}" in err and words in err, err


@pytest.mark.parametrize("kind", ["missing", "directory", "fifo", "empty-path"])
def test_parameter_file_that_is_not_a_file(root, tmp_path, capsys, kind):
    path = {"missing": tmp_path / "nope.yml", "directory": tmp_path, "fifo": tmp_path / "p.yml", "empty-path": ""}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    err = refused(capsys, ["validate", "--params", str(path)])
    assert ("not a regular file" in err or "does not exist" in err or "empty" in err), err


def test_all_section_sets_a_parameter_in_every_chapter_that_has_it_and_a_chapter_section_wins(root, tmp_path):
    path = write(tmp_path / "p.yml", "all:\n  method: ML\n  psyctr: data/claims.csv\nabstract:\n  method: PM\n")
    resolved = parameters.resolve(path)
    having = [ch for ch, values in parameters.defaults().items() if "psyctr" in values]
    assert len(having) >= 4 and all(resolved[ch]["psyctr"] == "data/claims.csv" for ch in having)
    assert resolved["abstract"]["method"] == "PM" and resolved["ssri-placebo"]["method"] == "ML"
    assert resolved["network"]["method"] == "ML"
    assert all(resolved[ch]["method"] in ("ML", "PM") for ch, values in parameters.defaults().items() if "method" in values)
    assert "method" not in resolved["serotonin"]  # a chapter without the parameter does not get it


def test_missing_effect_sizes_in_a_release_are_dropped_with_a_warning_naming_where(root, tmp_path, capsys):
    data = write(tmp_path / "m.csv", _metapsy_variant("nan-g"))
    params = override(tmp_path, "all", "psyctr", str(data))
    assert main(["validate", "--params", str(params)]) == 0
    err = capsys.readouterr().err
    rows = list(csv.reader(io.StringIO(data.read_text(encoding="utf-8")), delimiter=";"))
    cbt = [i + 1 for i, r in enumerate(rows) if i and r[rows[0].index("condition_arm1")].strip().lower() == "cbt"]
    assert f"(lines {cbt[0]}, {cbt[1]}; columns '.g', '.g_se')" in err, err
    assert err.count("DroppedRowsWarning") == 1, err  # said once, however many chapters read the file
    assert f"{data}: 2 row(s) with a missing effect size or SE dropped" in err and "columns '.g', '.g_se'" in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("method", ["FE", "REML"])
def test_sensitivity_on_one_study_is_refused_not_a_traceback(root, tmp_path, capsys, method):
    path = write(tmp_path / "one.csv", GEN + "A,0.5,0.1\n")
    err = refused(capsys, ["sensitivity", str(path), "--measure", "GEN", "--method", method])
    assert f"{path}: 1 study; this analysis needs at least 2" in err, err


def test_schema_declares_every_default_parameter():
    for chapter, values in parameters.defaults().items():
        for key, value in values.items():
            assert parameters.check_value(key, value, chapter) is None, (chapter, key)


# --- faults: full disk, read-only build folder, a held lock ------------------------------------------------

def _published_book(build_dir: Path, marker: str) -> None:
    """A fake complete book, published the way the build publishes."""
    staging = build_dir / ".staging"
    (staging / "html").mkdir(parents=True)
    (staging / "html" / "index.html").write_text(f"<html>{marker}</html>")
    (staging / "notebooks").mkdir()
    (staging / "notebooks" / "a.ipynb").write_text(marker)
    (staging / "results.csv").write_text(f"key,value,chapter\nm,{marker},x\n")
    publishing.publish(staging, build_dir, pipeline.PUBLISHED, key=marker)
    shutil.rmtree(staging, ignore_errors=True)


def _assert_complete(build_dir: Path, markers) -> str:
    html = (build_dir / "html" / "index.html").read_text()
    marker = html[len("<html>"):-len("</html>")]
    assert marker in markers, html
    assert (build_dir / "notebooks" / "a.ipynb").read_text() == marker
    assert marker in (build_dir / "results.csv").read_text()
    return marker


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_disk_full_or_read_only_gives_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch, code):
    build_dir = tmp_path / "_build"
    _published_book(build_dir, "old")
    (build_dir / ".lock").touch()  # the lock file stays (empty); everything else must be as it was
    before = tree_hash(build_dir)

    def fail(staging):
        (staging / "book").mkdir(parents=True)
        (staging / "book" / "half.txt").write_text("half")
        raise OSError(code, os.strerror(code), str(staging / "book" / "half.txt"))

    monkeypatch.setattr(pipeline, "stage_sources", fail)
    monkeypatch.setattr(pipeline, "ROOT", ROOT)
    real_build = pipeline.build
    monkeypatch.setattr(pipeline, "build", lambda override=None, pdf=False: real_build(override, pdf, build_dir))
    err = refused(capsys, ["build"])
    assert len(err.strip().splitlines()) == 1, err
    assert ("free some space" if code == errno.ENOSPC else "make the build folder writable") in err, err
    assert not (build_dir / ".staging").exists()
    assert tree_hash(build_dir) == before
    _assert_complete(build_dir, {"old"})


def test_a_second_build_waits_for_the_lock_or_says_it_is_busy(tmp_path, capsys):
    build_dir = tmp_path / "_build"
    build_dir.mkdir()
    with pipeline.build_lock(build_dir):
        with pytest.raises(pipeline.BuildBusy, match="another build is running"):
            with pipeline.build_lock(build_dir, wait=False):
                pass
        got = []
        waiter = threading.Thread(target=lambda: pipeline.build_lock(build_dir).__enter__() and None or got.append(1))
        waiter.start()
        time.sleep(0.5)
        assert not got  # still waiting while the first build holds the lock
    waiter.join(10)
    assert got == [1]
    assert "waiting for it to finish" in capsys.readouterr().err


# --- a kill at every step of publishing ---------------------------------------------------------------

def _count_steps(tmp_path, legacy: bool) -> int:
    build_dir = tmp_path / "count"
    _setup(build_dir, legacy)
    calls = []
    real = {name: getattr(os, name) for name in ("replace", "rename", "symlink")}
    for name, fn in real.items():
        setattr(os, name, lambda *a, _fn=fn, **k: (calls.append(1), _fn(*a, **k))[1])
    try:
        _published_book(build_dir, "new")
    finally:
        for name, fn in real.items():
            setattr(os, name, fn)
    return len(calls)


def _setup(build_dir: Path, legacy: bool) -> None:
    if legacy:  # the older layout: real folders in _build
        (build_dir / "html").mkdir(parents=True)
        (build_dir / "html" / "index.html").write_text("<html>old</html>")
        (build_dir / "notebooks").mkdir()
        (build_dir / "notebooks" / "a.ipynb").write_text("old")
        (build_dir / "results.csv").write_text("key,value,chapter\nm,old,x\n")
    else:
        _published_book(build_dir, "old")


class Killed(BaseException):
    pass


@pytest.mark.parametrize("legacy", [False, True], ids=["releases", "older-layout"])
def test_a_kill_at_every_step_of_publishing_leaves_a_complete_book(tmp_path, monkeypatch, legacy):
    steps = _count_steps(tmp_path, legacy)
    assert steps >= 5
    for step in range(steps):
        build_dir = tmp_path / f"kill-{step}"
        _setup(build_dir, legacy)
        calls = []
        with monkeypatch.context() as m:
            for name in ("replace", "rename", "symlink"):
                real = getattr(os, name)

                def fake(*args, _real=real, **kwargs):
                    calls.append(1)
                    if len(calls) == step + 1:
                        raise Killed(f"killed at step {step}")
                    return _real(*args, **kwargs)

                m.setattr(os, name, fake)
            with pytest.raises(Killed):
                _published_book(build_dir, "new")
        _assert_complete(build_dir, {"old", "new"})
        # the next publish recovers: the new book, and no leftovers
        shutil.rmtree(build_dir / ".staging", ignore_errors=True)
        _published_book(build_dir, "newer")
        assert _assert_complete(build_dir, {"newer"}) == "newer"
        assert [p.name for p in (build_dir / "releases").iterdir()] == ["newer"]
        assert not list(build_dir.glob(".tmp-*"))
