"""Words about the trials and comparisons an analysis pools (review.wording_trials), on real rows."""

import re

from analysis.book.params import defaults_for
from analysis.review.comparisons import pst_antidepressants
from analysis.review.wording_trials import indefinite, trials_by_comparator
from conftest import ROOT

CBT = defaults_for("cbt-control")


def test_the_indefinite_article_follows_the_sound():
    assert indefinite("SSRI") == "an SSRI" and indefinite("TCA") == "a TCA" and indefinite("MAOI") == "an MAOI"
    assert indefinite("antidepressant") == "an antidepressant" and indefinite("drug") == "a drug"


def test_the_pst_antidepressant_trials_are_listed_without_brackets():
    trials = pst_antidepressants(str(ROOT / CBT["linde2016"])).trials
    text = trials_by_comparator(trials["study"], trials["subgroup"])
    assert text == "Mynor-Wallis 2000 and Williams 2000 against an SSRI, Mynor-Wallis 1995 against a TCA"
    assert not re.search(r"[()]", text)
    assert all(study in text for study in trials["study"])


def test_one_comparator_is_one_group():
    assert trials_by_comparator(["a", "b", "c"], ["SSRI"] * 3) == "a, b and c against an SSRI"
