"""Every chapter notebook runs under papermill on its default parameters (in the session's build),
and what it glues equals what the analysis package computes."""

import numpy as np
import pytest

from analysis.book import params
from analysis.book import pipeline as build
from analysis.meta.effect_sizes import effect_sizes
from analysis.review.importers import cipriani_vs_placebo, read_cipriani_arms
from analysis.meta.fit import pooled_proportion, rma

NOTEBOOKS = build.notebooks()


@pytest.fixture(scope="module")
def executed(built_book):
    """The glued values of every chapter notebook, executed with papermill on its default
    parameters by the session's build (which fails on any failing cell)."""
    out = built_book / "_build" / "notebooks"
    return {nb.stem: {row["key"]: row["value"] for row in build.glued_values(out / nb.name)} for nb in NOTEBOOKS}


def test_every_notebook_in_the_toc_executes(executed):
    assert {nb.stem for nb in NOTEBOOKS} == {
        "protocol", "abstract", "claims", "ssri-placebo", "cbt-control", "publication-bias", "serotonin", "multiverse", "summary-of-findings",
        "reproducibility", "dose-response", "prisma-checklist", "amstar", "network",
    }
    assert all(executed[name] for name in executed)


def test_ssri_headline_equals_the_analysis_package(executed):
    defaults = params.defaults_for("ssri-placebo")
    trials = cipriani_vs_placebo(read_cipriani_arms(params.ROOT / defaults["cipriani_arms"]))
    yi, vi = effect_sizes(trials, "RR")
    model = rma(yi, vi, method=defaults["method"])
    glued = executed["ssri-placebo"]
    assert int(glued["k_trials"]) == model.k == 139
    assert np.isclose(float(glued["rr"]), np.exp(model.estimate), rtol=1e-12)
    assert np.isclose(float(glued["rr_ci_low"]), np.exp(model.ci_low[0]), rtol=1e-12)
    placebo = pooled_proportion(trials["ctrl_events"], trials["ctrl_n"])
    assert np.isclose(float(glued["placebo_rate_pct"]), 100 * placebo["rate"], rtol=1e-12)
    # the claimed 48% vs 30% as a risk ratio
    assert np.isclose(float(glued["C01_rr"]), 48 / 30)
    # crude totals quoted (rounded to whole responders) in the dataset's SOURCE.txt: 9121/18856 vs 5218/13672;
    # some imputed responder counts are fractional, hence the tolerance of 0.01 percentage points
    assert int(glued["n_active"]) == 18856 and int(glued["n_placebo"]) == 13672
    assert abs(float(glued["crude_active_pct"]) - 100 * 9121 / 18856) < 0.01
    assert abs(float(glued["crude_placebo_pct"]) - 100 * 5218 / 13672) < 0.01


def test_network_chapter_equals_the_analysis_package(executed):
    from analysis.review import network_wording as words
    from analysis.review.network import network_analysis

    defaults = params.defaults_for("network")
    arms = read_cipriani_arms(params.ROOT / defaults["cipriani_arms"])
    response = network_analysis(arms, "response", reference=defaults["reference"], method=defaults["method"],
                                coherence=False)
    glued = executed["network"]
    assert int(glued["nma_response_trials"]) == response["data"].n_studies == 473
    assert glued["nma_response_range"] == words.range_of_effects(response["vs_reference"])
    assert glued["nma_response_sentence"].startswith("All 21 drugs had higher odds of response than placebo")


def test_reproducibility_appendix_hashes_every_data_file(executed):
    n_files = sum(1 for p in (params.ROOT / "data").rglob("*") if p.is_file())
    assert int(executed["reproducibility"]["n_files"]) == n_files


def test_primary_care_trials_match_the_dataset_source(executed):
    # SOURCE.txt of the Linde data: 7 SSRI-vs-placebo trials, SSRI 553/1046 vs placebo 367/900 responders
    from analysis.review.importers import linde_vs_placebo, read_linde

    trials = linde_vs_placebo(read_linde(params.ROOT / params.defaults_for("ssri-placebo")["linde"]))
    assert len(trials) == 7 == int(executed["ssri-placebo"]["pc_k"])
    assert (trials["treat_events"].sum(), trials["treat_n"].sum()) == (553, 1046)
    assert (trials["ctrl_events"].sum(), trials["ctrl_n"].sum()) == (367, 900)


# one quantity, shown in several chapters under each chapter's own key: (chapter, key) pairs that must agree
SAME_QUANTITY = {
    "SSRI risk ratio of response": [("ssri-placebo", "rr"), ("summary-of-findings", "ssri_placebo_effect"),
                                    ("abstract", "ssri_rr")],
    "SSRI number needed to treat": [("ssri-placebo", "ssri_abs_nnt"), ("summary-of-findings", "ssri_abs_nnt"),
                                    ("abstract", "ssri_nnt")],
    "SSRI risk ratio of discontinuation for adverse events": [
        ("ssri-placebo", "dropout_ae_rr"), ("summary-of-findings", "ssri_dropout_ae_effect"), ("abstract", "harm_rr")],
    "CBT primary g": [("cbt-control", "primary_estimate"), ("summary-of-findings", "cbt_control_effect"),
                      ("abstract", "cbt_g")],
    "CBT primary g, lower limit": [("cbt-control", "primary_ci_low"), ("summary-of-findings", "cbt_control_ci_low"),
                                   ("abstract", "cbt_g_low")],
    "PST vs antidepressants risk ratio": [("cbt-control", "pst_ad_rr"), ("summary-of-findings", "pst_antidepressants_effect"),
                                          ("abstract", "pst_rr")],
    "CBT certainty": [("summary-of-findings", "cbt_control_certainty"), ("abstract", "cbt_certainty")],
    "SSRI certainty": [("summary-of-findings", "ssri_placebo_certainty"), ("abstract", "ssri_certainty")],
    "PST vs antidepressants certainty": [("summary-of-findings", "pst_antidepressants_certainty"),
                                         ("abstract", "pst_certainty")],
}


@pytest.mark.parametrize("quantity", sorted(SAME_QUANTITY))
def test_a_quantity_shown_in_several_chapters_is_one_computation(executed, quantity):
    values = {(chapter, key): executed[chapter][key] for chapter, key in SAME_QUANTITY[quantity]}
    assert len(set(values.values())) == 1, values
