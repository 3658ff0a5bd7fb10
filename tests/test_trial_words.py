"""Words about the trials and comparisons an analysis pools (review.wording_trials), on real rows."""

import re

from analysis.book.params import defaults_for
from analysis.review.comparisons import pst_antidepressants
from analysis.review.importers import read_metapsy_psyctr
from analysis.review.psychotherapy import multiarm_counts
from analysis.review.selections import psychotherapy_trials
from analysis.review.wording_trials import indefinite, multiarm_difference, trials_by_comparator
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


def test_the_multiarm_and_shared_counts_differ_by_the_multiarm_trials_that_give_one_comparison():
    rows = read_metapsy_psyctr(ROOT / CBT["psyctr"])
    trials = psychotherapy_trials(rows, therapy=CBT["therapy"])
    c = multiarm_counts(rows, trials, CBT["therapy"])
    assert c == {"multiarm_k": 114, "multiarm_trials": 66, "n_shared": 86, "n_shared_trials": 38, "single": 28,
                 "single_other_therapy": 27, "single_outside": 1, "single_other": 0, "shared_unflagged": 0}
    # the identity the sentence explains: every trial that gives several comparisons is multi-arm
    assert c["multiarm_k"] - c["n_shared"] == c["multiarm_trials"] - c["n_shared_trials"] == c["single"]
    assert multiarm_difference(c, "CBT") == (
        "The 114 comparisons from 66 multi-arm trials and these 86 differ because 28 multi-arm trials give only "
        "one CBT comparison with a control condition, so nothing in them is shared: in 27 the other arms are of "
        "another therapy and in 1 the other arms are not in the file, which holds only comparisons of "
        "psychotherapies with control conditions.")


def test_the_multiarm_difference_when_nothing_differs_or_a_trial_is_not_flagged():
    same = {"multiarm_k": 4, "multiarm_trials": 2, "n_shared": 4, "n_shared_trials": 2, "single": 0,
            "single_other_therapy": 0, "single_outside": 0, "single_other": 0, "shared_unflagged": 0}
    assert multiarm_difference(same, "CBT").startswith("Every comparison from a multi-arm trial is among these")
    odd = same | {"n_shared": 6, "n_shared_trials": 3, "shared_unflagged": 1, "single": 1, "single_other": 1}
    assert multiarm_difference(odd, "CBT") == (
        "The 4 comparisons from 2 multi-arm trials and these 6 differ because 1 multi-arm trial gives only one CBT "
        "comparison with a control condition, so nothing in it is shared: in 1 the other arms are CBT comparisons "
        "that are not pooled; and 1 trial that the release does not flag as multi-arm gives more than one.")


def test_metapsy_instruments_are_named_as_the_literature_names_them():
    from analysis.review.scales import instrument_name

    assert [instrument_name(c) for c in ("hdrs", "hdrs-17", "bdi-1", "bdi-2", "cidi -adapt.", " phq-9 ", "madrs-s")] == [
        "HAM-D of unstated version", "17-item HAM-D", "BDI-I", "BDI-II", "adapted CIDI", "PHQ-9", "self-rated MADRS-S"]
    assert instrument_name("k10") == "K10"  # a code no table lists: still shown, as the release spells it
    assert all("," not in instrument_name(c) and "(" not in instrument_name(c) for c in ("hdrs", "bdi", "hamd-21"))
