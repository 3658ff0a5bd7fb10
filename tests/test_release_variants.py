"""Issue 22: the book on releases of the Metapsy database that differ as real ones do, made from the
bundled v22.0.2 by scripts/release_variants.py. Each optional column dropped (validation, the CBT
analysis and the multiverse's data, in-process), each required one refused, and the whole book,
every chapter, built in a scratch copy on a much larger release with the optional columns dropped,
the columns reordered and the other delimiter and decimal mark (the next release, with studies
renamed, added and removed, is built by the README in test_release_build.py)."""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_analysis

sys.path.insert(0, str(ROOT / "scripts"))
from release_variants import REQUIRED, make_release, optional_columns, params_for  # noqa: E402

from analysis.cli import main  # noqa: E402


def named_in_package(column: str) -> bool:
    """Whether any module of the analysis package names ``column`` as a string literal."""
    pattern = re.compile(r"[\"']" + re.escape(column) + r"[\"']")
    return any(pattern.search(p.read_text(encoding="utf-8")) for p in (ROOT / "analysis").rglob("*.py"))


#: The optional columns some code reads (a column no module names cannot change a result).
READ = [c for c in optional_columns() if named_in_package(c)]


def test_the_package_reads_the_optional_columns_releases_drop():
    assert {"primary", "is_multiarm", "instrument", "year", "rob", "multi_arm1"} <= set(READ)
    assert len(READ) >= 10


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    folder = tmp_path_factory.mktemp("variants")
    return lambda name, **kw: make_release(folder / name, **kw)


@pytest.mark.parametrize("column", READ)
def test_a_release_without_an_optional_column_validates_and_analyses(variants, tmp_path, capsys, column):
    from analysis.multiverse.data import load_metapsy
    from analysis.review.psychotherapy import psychotherapy_control

    data = variants(f"drop-{column}", drop=[column])
    params = tmp_path / "p.yml"
    params.write_text(params_for(data))
    assert main(["validate", "--params", str(params)]) == 0, capsys.readouterr().err
    cbt = psychotherapy_control(str(data), max_refits=10)
    primary = cbt.extra["primary"]
    assert cbt.model.k > 200 and np.isfinite([primary["estimate"], primary["ci_low"], primary["ci_high"]]).all()
    base = load_metapsy(data)
    # the multiverse pools the outcomes the importer's rule keeps, as the CBT chapter does
    assert int(base["selected"].sum()) == cbt.model.k
    if column not in ("multi_arm1", "multi_arm2"):  # comparisons told apart: at most one outcome each
        assert base.groupby("comparison")["selected"].sum().le(1).all()


@pytest.mark.parametrize("column", REQUIRED)
def test_a_release_without_a_required_column_is_refused_naming_it(variants, tmp_path, capsys, column):
    data = variants(f"required-{column}", drop=[column])
    params = tmp_path / "p.yml"
    params.write_text(params_for(data))
    assert main(["validate", "--params", str(params)]) == 1
    err = capsys.readouterr().err
    assert f"{data}, line 1, column '{column}': required column is missing" in err, err
    assert "Traceback" not in err and err.count("required column is missing") == 1, err


def test_reordered_columns_and_standard_csv_read_as_the_published_file(variants):
    from analysis.review.psychotherapy import psychotherapy_control

    published = psychotherapy_control(str(variants("published")), max_refits=10).extra["primary"]
    other = psychotherapy_control(str(variants("reordered", reorder=True, standard_csv=True)), max_refits=10).extra["primary"]
    assert other["estimate"] == pytest.approx(published["estimate"], abs=1e-12)
    assert other["ci_high"] == pytest.approx(published["ci_high"], abs=1e-12)


def results(repo: Path) -> dict:
    with open(repo / "_build" / "results.csv", newline="", encoding="utf-8") as fh:
        return {(r["chapter"], r["key"]): r["value"] for r in csv.DictReader(fh)}


#: Dropped from the large release: every optional column a chapter can do without at once (the
#: release keeps ``instrument``: without ``primary`` too, no outcome could be chosen).
LARGE_DROPS = ("primary", "outcome_rank", "is_multiarm", "rob", "year", "n_arm1", "n_arm2", "multi_arm1",
               "multi_arm2", "rating", "time", "diagnosis", "format", "country")


def test_the_whole_book_builds_on_a_large_release_without_its_optional_columns(built_copy, tmp_path):
    repo = built_copy
    data = make_release(tmp_path / "data-depression-psyctr-24.0.0", drop=LARGE_DROPS, reorder=True,
                        standard_csv=True, copies=4)
    (repo / "large.yml").write_text(params_for(data, budget=1_000_000))
    done = run_analysis(repo, "build", "--params", "large.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    after = results(repo)
    chapters_reading = {ch for (ch, key) in after}
    assert {"cbt-control", "multiverse", "abstract", "summary-of-findings", "reproducibility"} <= chapters_reading
    cbt = {k: v for (ch, k), v in after.items() if ch == "cbt-control"}
    assert cbt["psyctr_version"] == "24.0.0" and cbt["outcome_rule"] == "priority"
    assert int(cbt["k"]) > 500  # more comparisons than max_refits: the refitting steps are limited, and say so
    assert cbt["loo_limit"].startswith(f"Leave-one-out was limited to 500 of the {int(cbt['k']):,} comparisons")
    multiverse = {k: v for (ch, k), v in after.items() if ch == "multiverse"}
    assert "sample" in multiverse["cbt_sample_words"], multiverse["cbt_sample_words"]
    # a release without years: the cumulative analysis says so, and no glued value is not a number
    assert cbt["cum_words"].startswith("The release gives no publication year"), cbt["cum_words"]
    assert all(v.lower() not in ("nan", "inf", "-inf") for (ch, k), v in after.items()), \
        [(ch, k) for (ch, k), v in after.items() if v.lower() in ("nan", "inf", "-inf")]
