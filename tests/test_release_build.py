"""Issue 13, end to end: the book builds against a next Metapsy release made here from v22.0.2 (no
`primary`, `outcome_rank` or `is_multiarm`; studies renamed, added and removed; a search flow whose
reasons do not add up), by the README's walk-through word for word; and a real release gives the
same numbers in its published ';'-separated format and as standard CSV."""

import csv
import hashlib
import json
import re
import sys

import pytest

from conftest import ROOT, executed_notebooks, run_analysis

FLOW = "data/trials/metapsy-psyctr/search_flow_v22.json"
sys.path.insert(0, str(ROOT / "scripts"))
from release_variants import ADDED, REMOVED, RENAMED, make_release  # noqa: E402

REMOVED = REMOVED[0]


def next_release(folder):
    """A 23.0.0 release made from v22.0.2 (scripts/release_variants.py), laid out as Metapsy
    publishes one, its search flow's reasons 84 short of the reports assessed minus included."""
    data = make_release(folder, next_release=True)
    flow = json.loads((ROOT / FLOW).read_text())
    flow["full.text.assessed.for.eligibility"] += 84  # the reasons now sum to 84 fewer than assessed minus included
    (folder / "metadata" / "search_flow.json").write_text(json.dumps(flow, indent=4))
    return data


def standard_csv(dest):
    """The bundled release in its published format (';', ',' decimals, index column) as standard
    CSV at ``dest``, with no release metadata beside it."""
    made = make_release(dest.parent.parent / f"{dest.parent.name}-made", standard_csv=True)
    made.replace(dest)


def results(repo):
    with open(repo / "_build" / "results.csv", newline="", encoding="utf-8") as fh:
        return {(r["chapter"], r["key"]): r["value"] for r in csv.DictReader(fh)}


@pytest.fixture
def built(built_copy):
    """A copy of the session's book (its executed notebooks reused) and its glued values."""
    return built_copy, results(built_copy)


def readme_params(release_folder) -> str:
    """The YAML of the README's walk-through, with its path pointed at ``release_folder``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Rerunning with a new release of a dataset")[1].split("\n## ")[0]
    yaml_text = re.search(r"cat > new-release.yml <<'YAML'\n(.*?)\nYAML\n", section, re.S).group(1)
    assert "make book PARAMS=new-release.yml" in section
    return yaml_text.replace("/path/to/data-depression-psyctr-23.0.0", str(release_folder)) + "\n"


def test_next_release_builds_by_the_readme(built, tmp_path):
    repo, before = built
    data = next_release(tmp_path / "data-depression-psyctr-23.0.0")
    (repo / "new-release.yml").write_text(readme_params(data.parent))
    assert run_analysis(repo, "validate", "--params", "new-release.yml").returncode == 0
    done = run_analysis(repo, "build", "--params", "new-release.yml")
    assert done.returncode == 0, done.stderr
    log = done.stdout + done.stderr
    assert "SearchFlowWarning" in log and "the reasons add up to 2775, but 3668 reports assessed minus 809" in log

    after = results(repo)
    # every chapter that reads the release was re-executed on it, the multiverse too
    executed = set(executed_notebooks(done.stdout))
    assert {f"chapters/{ch}.ipynb" for ch in ("cbt-control", "multiverse", "abstract", "summary-of-findings",
                                              "reproducibility")} <= executed, done.stdout
    assert "chapters/ssri-placebo.ipynb" not in executed
    cbt = {k: v for (ch, k), v in after.items() if ch == "cbt-control"}
    assert cbt["psyctr_version"] == "23.0.0"
    assert cbt["psyctr_release"] == "release 23.0.0 (last search 2023-03-01)"
    assert cbt["outcome_rule"] == "priority" and "instrument priority rule" in cbt["outcome_selection_words"]
    assert cbt["prisma_assessed"] == "3668" and "3,668 full texts assessed" in cbt["search_sentence"]
    assert "2,775" in cbt["prisma_caption"] and "2,859" in cbt["prisma_caption"]
    assert cbt["studies_in_file"] == str(int(before[("cbt-control", "studies_in_file")]) + len(ADDED) - 1)
    assert sum(int(v) for k, v in cbt.items() if k.startswith("instrument_k_")) == int(cbt["k"])
    page = (repo / "_build/html/chapters/cbt-control.html").read_text(encoding="utf-8")
    assert "release 23.0.0 (last search 2023-03-01)" in page and "3,668 full texts assessed" in page
    assert "2,859" in page

    # the appendix hashes the file the chapter read, named with its parameter
    appendix = (repo / "_build/html/chapters/reproducibility.html").read_text(encoding="utf-8")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert str(data) in appendix and digest in appendix and "cbt-control.psyctr" in appendix
    assert hashlib.sha256((data.parent / "metadata/search_flow.json").read_bytes()).hexdigest() in appendix
    # the release's data, search flow and last search, beside the protocol's and the multiverse's own files
    assert int(after[("reproducibility", "n_files_read_outside")]) >= 3

    # the changelog lists the studies added, removed and renamed
    changes = json.loads((repo / "_build/changes.json").read_text())
    (psyctr,) = [s for s in changes["studies"] if str(data) in s["file"]]
    assert sorted(psyctr["renamed"]) == sorted([old, new] for old, new in RENAMED.items())
    assert psyctr["added"] == sorted(ADDED) and psyctr["removed"] == [REMOVED]
    what = (repo / "_build/html/chapters/changes.html").read_text(encoding="utf-8")
    assert "Studies renamed" in what and "Aagaard et al." in what


def test_a_release_as_published_and_as_standard_csv_gives_the_same_numbers(built, tmp_path):
    repo, published = built
    folder = tmp_path / "metapsy"
    folder.mkdir()
    standard_csv(folder / "data_v22.0.2.csv")
    (repo / "csv.yml").write_text(f"cbt-control:\n  psyctr: {folder / 'data_v22.0.2.csv'}\n")
    done = run_analysis(repo, "build", "--params", "csv.yml")
    assert done.returncode == 0, done.stderr
    as_csv = results(repo)
    search = ("prisma_", "search_", "psyctr_release")
    same = {k: v for k, v in published.items() if k[0] == "cbt-control" and not k[1].startswith(search)}
    assert same and all(as_csv[k] == v for k, v in same.items()), [k for k, v in same.items() if as_csv[k] != v]
    # a release without a search flow: the chapter says so in place of the diagram
    assert as_csv[("cbt-control", "search_flow_found")] == "none"
    assert "without a search-flow file" in as_csv[("cbt-control", "search_sentence")]
    assert ("cbt-control", "prisma_assessed") not in as_csv
    page = (repo / "_build/html/chapters/cbt-control.html").read_text(encoding="utf-8")
    assert "published without a search flow" in page
