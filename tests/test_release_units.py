"""Issue 13, the parts: outcome selection across releases, multi-arm trials, release metadata,
search flows that do not add up, counted nouns, renames in the changelog, files read."""

import json
import warnings

import pandas as pd
import pytest

from analysis.meta import rma

from analysis.book import changelog
from analysis.book.params import ROOT, defaults_for
from analysis.book.provenance import files_read
from analysis.review.errors import DataError
from analysis.review.importers.metapsy import (
    DEFAULT_INSTRUMENT_PRIORITY, metapsy_comparisons, multiarm, read_metapsy_psyctr, release_last_search,
    release_version, select_outcomes,
)
from analysis.review.prisma import SearchFlowWarning, prisma_counts, read_search_flow, release_search_flow
from analysis.review.robustness import run_checks
from analysis.review.wording import counted, describe_flow_mismatch, describe_instruments, describe_search

PSYCTR = "data/trials/metapsy-psyctr/data_v22.0.2_raw.csv"
FLOW = "data/trials/metapsy-psyctr/search_flow_v22.json"


@pytest.fixture(scope="module")
def v22():
    return read_metapsy_psyctr(ROOT / PSYCTR)


def frame(rows):
    cols = ["study", "condition_arm1", "condition_arm2", "multi_arm1", "multi_arm2", "instrument", "rating", "time"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows])


def test_default_priority_is_the_documented_hierarchy():
    assert defaults_for("cbt-control")["instrument_priority"] == list(DEFAULT_INSTRUMENT_PRIORITY)
    assert DEFAULT_INSTRUMENT_PRIORITY[0].startswith("hdrs") and DEFAULT_INSTRUMENT_PRIORITY[1].startswith("bdi")
    assert DEFAULT_INSTRUMENT_PRIORITY[2] == "rating=clinician" and DEFAULT_INSTRUMENT_PRIORITY[-1] == "rating=self-report"


def test_priority_rule_keeps_the_highest_instrument_present_per_comparison():
    rows = frame([
        ("A, 2001", "cbt", "wl", "", "", "bdi-1", "self-report", "post"),
        ("A, 2001", "cbt", "wl", "", "", "hdrs", "clinician", "post"),
        ("B, 2002", "cbt", "cau", "", "", "ces-d", "self-report", "post"),
        ("B, 2002", "cbt", "cau", "", "", "madrs", "clinician", "post"),    # any clinician-rated before ces-d
        ("C, 2003", "cbt", "wl", "", "", "phq-9", "self-report", "fu1"),
        ("C, 2003", "cbt", "wl", "", "", "k-10", "self-report", "post"),    # post-test before follow-up
        ("D, 2004", "cbt", "wl", "", "", "odd", "", "post"),                # nothing applies: left out
        ("E, 2005", "cbt", "wl", "", "", "scl", "self-report", "post"),
        ("E, 2005", "cbt", "wl", "", "", "sds", "self-report", "post"),     # a tie: the first in the file
    ])
    chosen, info = select_outcomes(rows, "priority")
    assert chosen.set_index("study")["instrument"].to_dict() == {
        "A, 2001": "hdrs", "B, 2002": "madrs", "C, 2003": "k-10", "E, 2005": "scl"}
    assert info["rule"] == "priority" and info["unmatched"] == 1 and info["selected"] == 4


def test_auto_uses_the_flag_where_the_release_has_one_and_the_rule_where_not(v22):
    with_flag = metapsy_comparisons(v22, "cbt", require_rob=True)
    assert with_flag.attrs["outcome_selection"]["rule"] == "primary"
    without = metapsy_comparisons(v22.drop(columns=["primary", "outcome_rank", "is_multiarm"]), "cbt", require_rob=True)
    info = without.attrs["outcome_selection"]
    assert info["rule"] == "priority" and sum(info["instruments"].values()) == len(without)
    # the rule reproduces the release's own flag for nearly every comparison
    same = with_flag.merge(without, on="study", suffixes=("", "_rule"))
    assert (same["instrument"] == same["instrument_rule"]).mean() > 0.95


def test_primary_selection_needs_the_flag(v22):
    with pytest.raises(DataError, match=r"line 1, column 'primary': required column is missing"):
        metapsy_comparisons(v22.drop(columns=["primary"]), "cbt", outcome_selection="primary", name="next.csv")
    with pytest.raises(DataError, match=r"column 'outcome_selection': 'best' is not one of auto, primary, priority"):
        metapsy_comparisons(v22, "cbt", outcome_selection="best")


def test_multiarm_trials_recognised_without_the_flag(v22):
    flag = multiarm(v22)
    derived = multiarm(v22.drop(columns=["is_multiarm"]))
    assert flag.equals(pd.to_numeric(v22["is_multiarm"]) == 1)
    assert derived[flag].all() and (derived & ~flag).sum() <= 5
    # from the arms alone: a study with more than one comparison in the file
    bare = frame([("A, 2001", "cbt", "wl", "", "", "bdi-1", "self-report", "post"),
                  ("A, 2001", "pst", "wl", "", "", "bdi-1", "self-report", "post"),
                  ("B, 2002", "cbt", "wl", "", "", "bdi-1", "self-report", "post"),
                  ("B, 2002", "cbt", "wl", "", "", "hdrs", "clinician", "post")])
    assert multiarm(bare.drop(columns=["multi_arm1", "multi_arm2"])).tolist() == [True, True, False, False]


def test_release_version_and_last_search(tmp_path):
    assert release_version(ROOT / PSYCTR) == "22.0.2" and release_version("/x/data_v22.0.2.csv") == "22.0.2"
    assert release_version("/x/data_v1.2.3.4.csv") == "" and release_version("/x/v23.0.1/data.csv") == "23.0.1"
    folder = tmp_path / "data-depression-psyctr-23.0.0"
    (folder / "metadata").mkdir(parents=True)
    (folder / "data.csv").write_text("x")
    assert release_version(folder / "data.csv") == "23.0.0" and release_version(folder / "data.csv", "24.1.0") == "24.1.0"
    assert release_last_search(folder / "data.csv") is None
    (folder / "metadata" / "last_search.txt").write_text("2023-03-01\n")
    assert release_last_search(folder / "data.csv") == "2023-03-01"


def test_the_search_flow_belongs_to_the_release_read(tmp_path):
    d = defaults_for("cbt-control")
    assert release_search_flow(d["psyctr"], d["search_flow"], d["psyctr"], d["search_flow"], ROOT) == (ROOT / FLOW, "named")
    other = tmp_path / "release" / "data.csv"
    other.parent.mkdir()
    other.write_text("x")
    # pointed at another release, the default release's search flow is not shown
    assert release_search_flow(str(other), d["search_flow"], d["psyctr"], d["search_flow"], ROOT) == (None, "none")
    (other.parent / "metadata").mkdir()
    (other.parent / "metadata" / "search_flow.json").write_text("{}")
    found = release_search_flow(str(other), d["search_flow"], d["psyctr"], d["search_flow"], ROOT)
    assert found == (other.parent / "metadata" / "search_flow.json", "beside")
    named = tmp_path / "flow.json"
    assert release_search_flow(str(other), str(named), d["psyctr"], d["search_flow"], ROOT) == (named, "named")


def test_search_flow_that_does_not_add_up_is_reported_not_refused(tmp_path):
    flow = json.loads((ROOT / FLOW).read_text())
    flow["full.text.assessed.for.eligibility"] += 84
    path = tmp_path / "search_flow.json"
    path.write_text(json.dumps(flow, indent=1))
    with pytest.warns(SearchFlowWarning, match=r"the reasons add up to 2775, but 3668 reports assessed minus 809"):
        counts = prisma_counts(read_search_flow(path))
    assert counts["mismatch"] == {"reasons": 2775, "assessed": 3668, "included": 809, "expected": 2859}
    note = describe_flow_mismatch(counts["mismatch"])
    assert "2,775" in note and "2,859" in note and "84 fewer" in note
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert prisma_counts(read_search_flow(ROOT / FLOW))["mismatch"] is None
    path.write_text('{\n "included": 3,\n oops\n}')
    with pytest.raises(DataError, match=r"search_flow.json, line 3, column 'character [0-9]+': not valid JSON"):
        read_search_flow(path)


def test_counted_nouns():
    assert counted(1, "study") == "1 study" and counted(2, "study") == "2 studies"
    assert counted(1, "comparison") == "1 comparison" and counted(1234, "comparison") == "1,234 comparisons"
    assert describe_instruments({"hdrs": 1, "bdi-1": 3}) == "HAM-D of unstated version (1 comparison) and BDI-I (3)"
    assert "without a search-flow file" in describe_search(None)


def test_the_search_sentence_counts_the_records_from_other_sources_too():
    counts = prisma_counts(read_search_flow(ROOT / FLOW))
    flow = json.loads((ROOT / FLOW).read_text())
    assert counts["other"] == flow["additional.records"] > 0
    sentence = describe_search(counts)
    assert sentence == (
        f"The database comes from a systematic search: {flow['database.hits']:,} records from bibliographic "
        f"databases and {flow['additional.records']:,} from other sources, {flow['records.screened']:,} screened "
        f"after {flow['database.hits'] + flow['additional.records'] - flow['database.hits.duplicates.removed']:,} "
        f"duplicates were removed, {flow['full.text.assessed.for.eligibility']:,} full texts assessed and "
        f"{flow['included']:,} studies included.")
    assert "126 from other sources" in sentence and "9,452 duplicates" in sentence  # 30,889 + 126 - 21,563


def test_low_risk_of_bias_note_counts_comparisons(v22):
    trials = metapsy_comparisons(v22, "cbt", require_rob=True)
    model = rma(trials["effect"].to_numpy(float), trials["se"].to_numpy(float) ** 2)
    note = run_checks(model, rob=trials["rob"], which=["low_rob"], unit="comparison").iloc[0]["note"]
    assert note.endswith(f"of {len(trials)} comparisons"), note


def test_changelog_recognises_a_renamed_study():
    sig = {"A, 2001": '["2001|cbt|wl"]', "B, 2002": '["2002|cbt|cau"]', "C, 2003": '["2003|pst|wl"]'}
    old = {"psyctr": {"file": "x", "sha256": "1", "rows": 3, "studies": sorted(sig), "signatures": sig}}
    new_sig = {"A et al., 2001": sig["A, 2001"], "B, 2002": sig["B, 2002"], "D, 2004": '["2004|cbt|wl"]'}
    new = {"psyctr": {"file": "y", "sha256": "2", "rows": 3, "studies": sorted(new_sig), "signatures": new_sig}}
    diff = changelog.compare({}, {}, old, new)
    (studies,) = diff["studies"]
    assert studies["renamed"] == [["A, 2001", "A et al., 2001"]]
    assert studies["added"] == ["D, 2004"] and studies["removed"] == ["C, 2003"]
    page = changelog.render(diff, first_build=False)
    renamed = page.split("## Studies renamed")[1].split("##")[0]
    assert "A et al\\.\\, 2001" in renamed and "D\\, 2004" not in renamed


def test_files_read_names_each_file_with_its_parameter(tmp_path):
    outside = tmp_path / "data.csv"
    outside.write_bytes((ROOT / PSYCTR).read_bytes())
    params = {ch: defaults_for(ch) for ch in ("cbt-control", "summary-of-findings")}
    params["cbt-control"]["psyctr"] = str(outside)
    table = files_read(params)
    assert table.loc[str(outside), "parameter"] == "cbt-control.psyctr"
    assert table.loc[PSYCTR, "parameter"] == "summary-of-findings.psyctr"
    assert len(table.loc[str(outside), "sha256"]) == 64
    assert FLOW not in table.index  # the default release's search flow is not this release's


def test_the_changes_page_names_at_most_fifty_added_studies_and_counts_the_rest():
    old = {"psyctr": {"file": "x", "sha256": "1", "rows": 1, "studies": ["A, 2001"], "signatures": {}}}
    added = [f"S{i:05d}, 2020" for i in range(1000)]
    new = {"psyctr": {"file": "y", "sha256": "2", "rows": 1001, "studies": ["A, 2001", *added], "signatures": {}}}
    diff = changelog.compare({}, {}, old, new)
    assert diff["studies"][0]["added"] == added  # changes.json keeps them all
    line = changelog.render(diff, first_build=False).split("## Studies added and removed")[1].split("##")[0]
    assert "S00049\\, 2020 and 950 more (1,000 in all, listed in changes.json); removed none." in line
    assert "S00050" not in line


def test_cumulative_words_follow_the_years_a_release_gives():
    from analysis.review.robustness_wording import describe_cumulative

    dated = {"settled_k": 12, "settled_order": 1995.0, "half_k": 135, "half_estimate": 0.91, "half_order": 2009.0,
             "final_estimate": 0.83, "unordered": 0}
    assert describe_cumulative(dated, 270) == (
        "Added in order of publication, the interval of the cumulative g has excluded 0 from comparison 12 on "
        "(published 1995). The pooled g of the first 135 comparisons (up to 2009) was 0.91, against 0.83 for all.")
    some = {**dated, "unordered": 3}
    assert describe_cumulative(some, 270).endswith("3 comparisons without a year were added last.")
    undated = {**dated, "settled_order": float("nan"), "half_order": float("nan"), "unordered": 270}
    words = describe_cumulative(undated, 270)
    assert words.startswith("The release gives no publication year, so the comparisons were added in the order of the file")
    assert "nan" not in words and "from comparison 12 on" in words
    never = {**dated, "settled_k": None, "settled_order": None}
    assert "still includes 0 with every comparison added" in describe_cumulative(never, 270)
    import numpy as np
    assert "pooled RR of the first 135 studies (up to 2009) was 2.48" in describe_cumulative(
        dated, 270, unit="study", symbol="RR", transform=np.exp, null="1")
