"""The legend of the arm names in the psychotherapy labels: dictionary codes by their verbatim
meaning, free-text specifications counted and never given a guessed meaning."""

import json

import pytest

from analysis.review.arm_labels import arm_legend, arm_names, dictionary_codes, release_codes
from analysis.review.errors import DataError
from conftest import ROOT

ENTRIES = {"condition_arm1": "Type of treatment (cbt= cognitive behaviour therapy, bat = behavioural activation)",
           "condition_arm2": "Type of comparator (cau= care as usual, wl= waitlist,  other ctr= other control)",
           "study": "Author and year (not a code list: a= b is outside brackets)"}


def test_codes_are_read_from_the_bracketed_lists_of_the_condition_entries_only():
    assert dictionary_codes(ENTRIES) == {"cbt": "cognitive behaviour therapy", "bat": "behavioural activation",
                                         "cau": "care as usual", "wl": "waitlist", "other ctr": "other control"}
    assert dictionary_codes({"condition_arm1": "no list here"}) == {}


def test_arm_names_are_the_parts_after_the_colon_without_the_numbering():
    names = arm_names(["Berger, 2011: guided i-cbt vs wl", "Berger, 2011: unguided i-cbt vs wl #2", "Chan, 2012",
                       "Moldovan, 2013: cbt vs other ctr"])
    assert names == {"wl": 2, "guided i-cbt": 1, "unguided i-cbt": 1, "cbt": 1, "other ctr": 1}


def test_the_legend_says_what_each_code_means_and_counts_the_names_it_cannot_define():
    codes = dictionary_codes(ENTRIES)
    labels = ["A, 2001: tbct vs wl", "B, 2002: cbt vs wl", "C, 2003: guided i-cbt vs cau", "D, 2004: rct-nt vs wl"]
    text = arm_legend(labels, codes)
    assert "wl is “waitlist”, cau is “care as usual” and cbt is “cognitive behaviour therapy”" in text
    assert "3 other names (such as rct-nt, tbct and guided i-cbt) are the release's free-text specifications" in text
    one = arm_legend(["A, 2001: tbct vs placebo pill"], codes)
    assert "2 names (such as tbct and placebo pill)" in one and "data dictionary" not in one.split(";")[1]
    assert "1 other name (tbct) is the release's free-text specification" in arm_legend(["A, 2001: tbct vs wl"], codes)
    assert arm_legend(["Chan, 2012", "Han, 2020"], codes) == ""


def test_the_bundled_release_defines_its_control_codes(tmp_path):
    codes = release_codes(ROOT / "data" / "trials" / "metapsy-psyctr" / "variable_description_v22.json")
    assert {"wl": "waitlist", "cau": "care as usual", "cbt": "cognitive behaviour therapy"}.items() <= codes.items()
    bad = tmp_path / "dictionary.json"
    bad.write_text(json.dumps({"condition_arm1": 3}))
    with pytest.raises(DataError, match="dictionary.json"):
        release_codes(bad)
