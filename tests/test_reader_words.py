"""The words of the abstract, the plain-language summary and the bottom line, and the protocol's
parameter table: each a tested function of the numbers."""

import numpy as np
import pytest

from analysis.review.plain_language import effect_words, hedge, more_people, out_of, side_effect_words
from analysis.book.params import spec_for
from analysis.review.protocol import DATA, MEANINGS, allowed, parameter_table, sets_cell
from conftest import ROOT


def test_hedges_follow_the_grade_certainty():
    assert hedge("high").startswith("We are confident")
    assert hedge("Moderate").startswith("It is probably")
    assert hedge("low").startswith("It may be")
    assert hedge("very low").startswith("We are very unsure")
    with pytest.raises(KeyError):
        hedge("unknown")


def test_people_out_of_a_hundred():
    assert out_of(0.4612) == 46
    assert more_people(0.46, 0.37) == "9 more people"
    assert more_people(0.37, 0.46) == "9 fewer people"
    assert more_people(0.461, 0.451) == "1 more person"
    assert more_people(0.40, 0.401) == "about the same number of people"
    assert more_people(0.364, 0.186) == "18 more people"  # 17.8 rounded once, though 36 - 19 = 17


def test_effect_side_effect_and_size_words_change_at_their_thresholds():
    assert effect_words(0.1, 0.3, 0.0) == "helps"
    assert effect_words(-0.1, 0.3, 0.0) == "may make little or no difference"
    assert effect_words(-0.3, -0.1, 0.0) == "does worse"
    assert side_effect_words(1.2, 2.0).startswith("more people stop")
    assert side_effect_words(0.5, 0.9).startswith("fewer people stop")
    assert side_effect_words(0.9, 1.4).startswith("about as many")


def test_the_protocol_says_what_every_parameter_sets_and_what_a_change_means():
    table = parameter_table(ROOT / "params" / "defaults.yml", spec_for)
    assert len(table) > 20
    for column in ("what it sets", "what a change means"):
        missing = table[table[column].str.strip().isin(["", "—"])]
        assert missing.empty, f"{column} empty or a dash: {missing[['chapter', 'parameter']].values.tolist()}"
    # what it sets is said, not only where it comes from ("as the CBT chapter")
    borrowed = table[table["what it sets"].str.match(r"as ")]
    assert borrowed.empty, borrowed[["chapter", "parameter"]].values.tolist()
    assert not (table["default"] == "True").any(), "booleans are shown as YAML writes them (true/false)"
    assert "method" in MEANINGS and "hksj" in MEANINGS


def test_the_parameter_table_does_not_say_the_same_thing_twice():
    table = parameter_table(ROOT / "params" / "defaults.yml", spec_for).set_index(["chapter", "parameter"])
    sets, change = table["what it sets"], table["what a change means"]
    assert not (sets.str.lower() == change.str.lower()).any()
    assert sets[("cbt-control", "rho")] == "assumed correlation of comparisons within a trial; allowed: a number from 0 to 0.99"
    assert change[("cbt-control", "rho")] == MEANINGS["rho"]
    assert change[("cbt-control", "implausible_g")].startswith("A lower threshold sets more comparisons aside")
    # a meaning of its own is shown beside the comment; a data file's meaning is the shared one
    assert change[("ssri-placebo", "method")] == MEANINGS["method"]
    assert change[("cbt-control", "psyctr")] == DATA
    assert sets[("cbt-control", "cbt_label")] == "therapy label in the response database of the CBT trials"


def test_every_row_lists_its_allowed_values_one_way_from_the_declared_ranges():
    table = parameter_table(ROOT / "params" / "defaults.yml", spec_for).set_index(["chapter", "parameter"])
    sets = table["what it sets"]
    # the network is fitted by REML, ML or FE: its row says so as the other rows list theirs
    assert sets[("network", "method")] == ("estimator of the heterogeneity variance common to every comparison; "
                                            "allowed: REML, ML or FE")
    assert sets[("summary-of-findings", "network_method")].endswith("; allowed: REML, ML or FE")
    assert sets[("ssri-placebo", "method")].endswith("; allowed: FE, DL, REML, PM, ML, SJ, HE or EB")
    assert sets[("cbt-control", "outcome_selection")] == ("the rule that picks one outcome per comparison; "
                                                          "allowed: auto, primary or priority")
    assert sets[("multiverse", "budget")].endswith("; allowed: a whole number from 1,000 to 1,000,000,000,000")
    # every list of options in the table is the generated one: no comment lists options of its own
    for (chapter, parameter), text in sets.items():
        assert text.count("allowed:") == (1 if allowed(spec_for(chapter, parameter)) else 0), (chapter, parameter)


def test_allowed_values_are_worded_from_the_type_and_range():
    assert allowed({"type": "str", "choices": ("REML", "ML", "FE")}) == "REML, ML or FE"
    assert allowed({"type": "str", "choices": ("high", "low")}) == "high or low"
    assert allowed({"type": "list", "choices": ("sg", "ac"), "min_length": 1}) == "any of sg or ac (at least 1)"
    assert allowed({"type": "int", "min": 2, "max": 1_000_000}) == "a whole number from 2 to 1,000,000"
    assert allowed({"type": "float", "min": 0.0, "max": 0.99}) == "a number from 0 to 0.99"
    assert allowed({"type": "bool"}) == "true or false"
    assert allowed({"type": "file"}) == allowed({"type": "str", "max_length": 9}) == allowed(None) == ""
    assert sets_cell("seed of that sample", {"type": "int", "min": 0, "max": 9}) == (
        "seed of that sample; allowed: a whole number from 0 to 9")
    assert sets_cell("the claims register", {"type": "file"}) == "the claims register"


def test_the_network_method_is_checked_against_what_the_network_fits():
    from analysis.book import params
    from analysis.review.network import NETWORK_METHODS

    assert params.NETWORK_METHODS == NETWORK_METHODS
    assert params.check_value("method", "DL", "network") == ("'DL' is not one of REML, ML, FE "
                                                             "(the network chapter's range)")
    assert params.check_value("method", "DL", "ssri-placebo") is None
    assert params.check_value("method", "FE", "network") is None


def test_a_finding_is_said_as_surely_as_its_certainty():
    from analysis.review.plain_language import claim_by_certainty

    assert claim_by_certainty("high", "CBT", "help", "people") == "CBT helps people"
    assert claim_by_certainty("moderate", "SSRIs", "help", "some people") == "SSRIs probably help some people"
    assert claim_by_certainty("low", "CBT", "help", "people") == "CBT may help people"
    assert claim_by_certainty("very low", "CBT", "help", "people") == "We are very uncertain whether CBT helps people"


def test_the_appendix_shows_parameter_values_as_the_yaml_spells_them():
    from analysis.review.protocol import yaml_value as shown

    assert [shown(v) for v in ("data/x.csv", "", True, False, None, 0.5, 3)] == [
        "data/x.csv", '""', "true", "false", "null", "0.5", "3"]
    assert shown(["hamd|hrsd", "bdi"]) == "hamd | hrsd; bdi"


def test_parameter_names_are_code_in_the_table_and_plain_in_its_download():
    import pandas as pd
    from markdown_it import MarkdownIt

    from analysis.book.glue import Table
    from analysis.escape import inline_code

    assert inline_code("implausible_g") == "`implausible_g`"
    assert inline_code("a`b") == "``a`b``" and inline_code("`x") == "`` `x ``"
    assert inline_code("a|b") == "a\\|b" and inline_code("") == ""  # no code span can hold these in a cell
    frame = pd.DataFrame({"parameter": ["implausible_g", "a`b"], "default": ["3", "`x`"]})
    table = Table(frame, code_columns=("parameter",))
    html = MarkdownIt("commonmark").enable("table").render(table._repr_markdown_())
    assert "<td><code>implausible_g</code></td>" in html and "<td><code>a`b</code></td>" in html
    assert "<td>`x`</td>" in html  # another column stays text
    assert table._repr_mimebundle_()["text/csv"].splitlines()[1] == "implausible_g,3"


def test_the_cbt_rows_say_what_method_and_hksj_change_in_its_che_primary_analysis():
    from analysis.review.dependency import dependency_fits

    table = parameter_table(ROOT / "params" / "defaults.yml", spec_for).set_index(["chapter", "parameter"])
    change = table["what a change means"]
    assert "REML for any other estimator" in change[("cbt-control", "method")]
    assert "cluster-robust (CR2) inference either way" in change[("cbt-control", "hksj")]
    assert change[("ssri-placebo", "hksj")] == MEANINGS["hksj"]
    # and the words are true of the code: the CHE fit is the same under DL as under REML, with or without HKSJ
    rng = np.random.default_rng(3)
    yi, vi = rng.normal(0.5, 0.4, 24), rng.uniform(0.02, 0.1, 24)
    trial = np.repeat(np.arange(12), 2)
    base = dependency_fits(yi, vi, trial, method="REML", hksj=True)
    for method, hksj in (("DL", True), ("REML", False), ("PM", False)):
        other = dependency_fits(yi, vi, trial, method=method, hksj=hksj)
        assert (other["che"][1].estimate, other["che"][1].ci_low) == (base["che"][1].estimate, base["che"][1].ci_low)
        assert other["independent"].ci_low != base["independent"].ci_low  # the univariate fits do change
