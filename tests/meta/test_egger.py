"""Egger's test with the sample-size based SE and the multilevel (CHE + CR2) Egger test,
against metafor 3.8 and clubSandwich (tests/reference/make_egger_reference.R)."""

import json

import numpy as np
import pytest

from analysis.meta import egger, egger_multilevel, egger_sample_size, multilevel_regression, peters, sample_size_se
from conftest import ROOT, assert_close

FIXTURE = json.loads((ROOT / "tests/reference/egger_reference.json").read_text())
CASES = FIXTURE["cases"]
KEYS = ("bias", "se", "t", "df", "p", "limit")


def test_fixture_records_its_versions():
    assert FIXTURE["versions"]["metafor"].startswith("3.8") and FIXTURE["versions"]["clubSandwich"]


def test_classic_and_sample_size_egger_match_lm():
    case = CASES["normand1999"]
    classic = egger(case["yi"], case["vi"])
    modified = egger_sample_size(case["yi"], case["n1"], case["n2"])
    for key in KEYS:
        assert_close(classic[key], case["classic"][key], f"classic.{key}")
        assert_close(modified[key], case["modified"][key], f"modified.{key}")


def test_peters_test_matches_regtest_with_the_inverse_sample_size():
    case = CASES["bcg_peters"]
    result = peters(case["yi"], case["vi"], case["ni"])
    for key in KEYS:
        assert_close(result[key], case["peters"][key], f"peters.{key}")
    with pytest.raises(ValueError, match="total sample size"):
        peters(case["yi"], case["vi"], [0] * len(case["yi"]))


def test_sample_size_se_does_not_depend_on_the_effect():
    assert sample_size_se(10, 40) == pytest.approx(np.sqrt(50 / 400))
    with pytest.raises(ValueError, match="group sizes"):
        sample_size_se([10, 0], [10, 10])


@pytest.mark.parametrize("name", ["assink2016", "konstantopoulos2011"])
def test_multilevel_egger_matches_rma_mv_with_cr2(name):
    case = CASES[name]
    result = egger_multilevel(case["yi"], case["vi"], case["cluster"], case["predictor"], rho=case["rho"])
    for key in (*KEYS, "limit_se"):
        assert_close(result[key], case["multilevel"][key], f"{name}.{key}")
    fit = multilevel_regression(case["yi"], case["vi"], case["cluster"], case["predictor"], rho=case["rho"])
    assert_close([fit.sigma2_between, fit.sigma2_within], case["multilevel"]["sigma2"], f"{name}.sigma2")
    assert_close(fit.model_se[1], case["multilevel"]["model_se"], f"{name}.model_se")
    assert list(fit.to_frame().index) == ["intercept", "mod1"]


def test_multilevel_egger_needs_more_clusters_than_coefficients():
    with pytest.raises(ValueError, match="more clusters"):
        egger_multilevel([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], ["a", "a", "b"])


def test_higgins_prediction_interval_uses_t_with_k_minus_2_df():
    from analysis.meta import higgins_pi, rma

    case = CASES["bcg_higgins_pi"]
    fit = rma(case["yi"], case["vi"], method="REML")
    low, high = higgins_pi(fit)
    assert_close([low, high], [case["pi_low"], case["pi_high"]], "higgins_pi")
    metafor = fit.predict()
    assert_close([metafor["pi_low"], metafor["pi_high"]], case["metafor_pi"], "metafor z-based PI")
    assert low < metafor["pi_low"] and high > metafor["pi_high"]
    with pytest.raises(ValueError, match="at least 3"):
        higgins_pi(rma(case["yi"][:2], case["vi"][:2], method="REML"))
