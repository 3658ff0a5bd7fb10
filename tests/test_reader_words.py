"""The words of the abstract, the plain-language summary and the bottom line, and the protocol's
parameter table: each a tested function of the numbers."""

import pytest

from analysis.review.plain_language import effect_words, hedge, more_people, out_of, side_effect_words, smd_size
from analysis.review.protocol import DATA, MEANINGS, SAME, change_cell, parameter_table
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


def test_effect_side_effect_and_size_words_change_at_their_thresholds():
    assert effect_words(0.1, 0.3, 0.0) == "helps"
    assert effect_words(-0.1, 0.3, 0.0) == "may make little or no difference"
    assert effect_words(-0.3, -0.1, 0.0) == "does worse"
    assert side_effect_words(1.2, 2.0).startswith("more people stop")
    assert side_effect_words(0.5, 0.9).startswith("fewer people stop")
    assert side_effect_words(0.9, 1.4).startswith("about as many")
    assert [smd_size(g) for g in (0.1, 0.2, 0.5, 0.8, -0.9)] == ["very small", "small", "moderate", "large", "large"]


def test_the_protocol_says_what_every_parameter_means():
    table = parameter_table(ROOT / "params" / "defaults.yml")
    assert len(table) > 20
    missing = table[table["what a change means"].str.strip() == ""]
    assert missing.empty, f"parameters without a meaning in analysis/review/protocol.py: {missing[['chapter', 'parameter']].values.tolist()}"
    assert not (table["default"] == "True").any(), "booleans are shown as YAML writes them (true/false)"
    assert "method" in MEANINGS and "hksj" in MEANINGS


def test_the_parameter_table_does_not_say_the_same_thing_twice():
    table = parameter_table(ROOT / "params" / "defaults.yml").set_index(["chapter", "parameter"])
    sets, change = table["what it sets"], table["what a change means"]
    assert not ((sets == change) & (sets != "")).any()
    # a parameter without a meaning of its own: its comment once, a dash beside it
    assert sets[("cbt-control", "rho")] == "assumed correlation of comparisons within a trial"
    assert change[("cbt-control", "rho")] == SAME
    # a meaning of its own is shown beside the comment; a data file's meaning is the shared one
    assert change[("ssri-placebo", "method")] == MEANINGS["method"]
    assert change[("cbt-control", "psyctr")] == DATA
    # without a comment, the meaning alone
    assert sets[("cbt-control", "cbt_label")] == "" and change[("cbt-control", "cbt_label")] == MEANINGS["cbt_label"]


def test_a_change_cell_is_a_dash_where_it_would_repeat_what_the_parameter_sets():
    assert change_cell("Seed of that sample", None) == SAME
    assert change_cell("seed of that sample", "Seed of that sample.") == SAME  # the same words
    assert change_cell("seed", "Another seed draws another sample.") == "Another seed draws another sample."
    assert change_cell("", "What it means.") == "What it means." and change_cell("", None) == ""


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
