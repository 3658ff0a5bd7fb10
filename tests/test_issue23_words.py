"""Words and tables of issue 23 (items 1, 3, 6, 15), each driven by real values."""

import math

import pandas as pd
import pytest
from scipy import stats

from analysis.meta.conversions import nnt_from_smd
from analysis.review.absolute import smd_absolute_effects
from analysis.review.characteristics import binary_characteristics, psychotherapy_characteristics
from analysis.review.verdicts import agreement
from analysis.review.wording import describe_agreement, describe_amendment


def test_agreement_in_words_on_both_scales():
    a = agreement(0.79, 0.833, 0.732, 0.934, 0.24, 0.70, 0.89)
    assert describe_agreement(a) == ("the difference claimed minus re-derived is -0.04, 95% CI -0.18 to 0.10, "
                                     "within the equivalence margin (-0.24 to 0.24)")
    r = agreement(1.88, 0.89, 0.72, 1.10, math.log(1.25), log=True)
    assert describe_agreement(r, log=True) == ("the ratio claimed / re-derived is 2.11, 95% CI 1.71 to 2.61, "
                                               "wholly above the equivalence margin (0.80 to 1.25)")
    assert "reaching beyond" in describe_agreement(agreement(0.55, 0.40, 0.30, 0.50, 0.24))
    assert "wholly below" in describe_agreement(agreement(0.05, 0.40, 0.30, 0.50, 0.24))


def test_an_amendment_in_words():
    rule = {"date": "2026-11-23", "commit": "4f0d8ed", "change": "x"}
    first = {"date": "2026-11-21", "commit": "cb3e5b6", "change": "y"}
    assert describe_amendment(rule, first) == ("Added on 2026-11-23 (commit 4f0d8ed), after the CBT chapter's first "
                                               "results (2026-11-21, commit cb3e5b6).")
    assert "on the same day as" in describe_amendment(rule, dict(first, date="2026-11-23"))
    assert describe_amendment(rule, None) == "Added on 2026-11-23 (commit 4f0d8ed)."
    assert "cannot be read" in describe_amendment(None, first)


def test_g_as_responders_is_furukawas_conversion():
    out = smd_absolute_effects(0.185, 0.83, 0.73, 0.93)
    assert out["risk_intervention"] == pytest.approx(0.185 + 1 / float(nnt_from_smd(0.83, 0.185)), abs=1e-12)
    assert (out["control"], out["intervention"]) == (185, round(1000 * out["risk_intervention"]))
    assert out["low"] < out["intervention"] < out["high"]
    low, high = (float(stats.norm.cdf(g + stats.norm.ppf(0.185))) for g in (0.73, 0.93))
    assert (out["more_low"], out["more_high"]) == (round(1000 * (low - 0.185)), round(1000 * (high - 0.185)))
    per100 = smd_absolute_effects(0.185, 0.83, 0.73, 0.93, per=100)
    assert per100["control"] == 18 and per100["more_low"] == round(100 * (low - 0.185)) > 0  # the abstract's "out of 100"
    assert smd_absolute_effects(0.3, 0.0, -0.1, 0.1)["nnt"] == math.inf
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        smd_absolute_effects(1.0, 0.5, 0.4, 0.6)


def test_study_characteristics_are_counted_from_the_rows():
    rows = pd.DataFrame({"_line": [2, 3, 4, 5], "n_arm1": [10, 20, 30, None], "n_arm2": [10, 20, 30, 5],
                         "condition_arm2": ["wl", "wl", "cau", "cau"], "country": ["us", "us", "uk", "eu"],
                         "format": ["ind", "grp", "ind", "ind"]})
    trials = pd.DataFrame({"_line": [4, 2, 3], "trial": ["B", "A", "A"], "year": [2001, 1999, 1999]})
    table = psychotherapy_characteristics(rows, trials).set_index("characteristic")["value"]
    assert table["trials"] == "2" and table["comparisons"] == "3"
    # trial B's line 4 has both arms; trial A's two comparisons have arms of unequal sizes, counted apart
    assert table["participants (each arm once)"] == "120 (0 comparisons lack one or both arm sizes; only the sizes given are counted)"
    assert table["years of publication"] == "1999 to 2001 (median 1999)"
    assert table["control condition: comparisons (trials)"] == "wl: 2 (1); cau: 1 (1)"
    assert table["format: comparisons (trials)"] == "ind: 2 (2); grp: 1 (1)"
    binary = pd.DataFrame({"study": ["s1", "s2"], "treat_n": [10, 20], "ctrl_n": [11, 21], "year": [2000, float("nan")],
                           "subgroup": ["fluoxetine", "sertraline"], "published": [True, False]})
    b = binary_characteristics(binary).set_index("characteristic")["value"]
    assert b["participants (both arms)"] == "62"
    assert b["years of publication"] == "2000 to 2000 (median 2000; the 1 of 2 comparisons that record one)"
    assert b["publication status: comparisons (trials)"] == "published: 1 (1); unpublished: 1 (1)"


def test_an_empty_characteristic_is_counted_as_not_recorded_and_the_codes_are_the_release_dictionary(tmp_path):
    from analysis.review.characteristics import read_release_dictionary
    from analysis.review.errors import DataError

    rows = pd.DataFrame({"_line": [2, 3, 4], "n_arm1": [10, 20, 30], "n_arm2": [10, 20, 30],
                         "age_group": ["adul", None, "NA"]})
    trials = pd.DataFrame({"_line": [2, 3, 4], "trial": ["A", "B", "C"], "year": [2001, 1999, 1999]})
    table = psychotherapy_characteristics(rows, trials).set_index("characteristic")["value"]
    assert table["age group: comparisons (trials)"] == "not recorded: 2 (2); adul: 1 (1)"
    path = tmp_path / "variable_description.json"
    path.write_text('{"study": "the study", "format": "ind= individual; grp= group", "age_group": "adul= adults"}')
    codes = read_release_dictionary(path)
    assert codes.values.tolist() == [["format", "ind= individual; grp= group"], ["age group", "adul= adults"]]
    path.write_text('{\n "format": 3\n}')
    with pytest.raises(DataError, match=r"line 2, column 'format': the description is not text"):
        read_release_dictionary(path)
    path.write_text('[1]')
    with pytest.raises(DataError, match="line 1"):
        read_release_dictionary(path)


def test_the_codes_the_data_use_and_the_dictionary_does_not_define_are_named():
    from analysis.review.characteristics import codes_in_use, undefined_codes

    rows = pd.DataFrame({"_line": [2, 3, 4], "age_group": ["adul", "yadul", "NA"], "format": ["ind", "grp", "ind"]})
    trials = pd.DataFrame({"_line": [2, 3, 4], "trial": ["A", "B", "C"]})
    codes = codes_in_use(rows, trials)
    assert codes == {"format": ["grp", "ind"], "age group": ["adul", "yadul"]}
    dictionary = pd.DataFrame({"characteristic": ["format", "age group"],
                               "the release's data dictionary": ["ind= individual; grp = group", "adul= adults, 5= older"]})
    assert undefined_codes(dictionary, codes)["codes in the data it does not define"].tolist() == ["none", "yadul"]
