"""The prediction interval of the multilevel models (issue 23, item 6: the CBT row of the Summary of
Findings takes estimate, heterogeneity and prediction interval from one model) against metafor 3.8 and
clubSandwich (tests/reference/make_che_prediction_reference.R)."""

import json
from pathlib import Path

import pytest

from analysis.review.dependency import dependency_table, multilevel_prediction

REF = json.loads((Path(__file__).parent / "reference" / "che_prediction_reference.json").read_text())


def test_the_che_prediction_interval_is_metafors_predict_of_the_robust_fit():
    d = REF["data"]
    table = dependency_table(d["yi"], d["vi"], d["cluster"], method="REML", hksj=False, rho=0.5).set_index("model")
    che, ref = table.loc["che"], REF["che"]
    assert che["estimate"] == pytest.approx(ref["estimate"], abs=1e-6)
    assert che["heterogeneity"] == pytest.approx(ref["sigma2"][0], abs=1e-6)
    assert che["within"] == pytest.approx(ref["sigma2"][1], abs=1e-6)
    assert che["pi_low"] == pytest.approx(ref["pi_low"], abs=1e-6)
    assert che["pi_high"] == pytest.approx(ref["pi_high"], abs=1e-6)


def test_the_three_level_prediction_interval_is_metafors():
    d = REF["data"]
    three = dependency_table(d["yi"], d["vi"], d["cluster"], hksj=False).set_index("model").loc["threelevel"]
    assert three["pi_low"] == pytest.approx(REF["threelevel"]["pi_low"], abs=1e-6)
    assert three["pi_high"] == pytest.approx(REF["threelevel"]["pi_high"], abs=1e-6)


def test_the_interval_formula_on_its_own():
    ref = REF["che"]
    low, high = multilevel_prediction(ref["estimate"], ref["se"], sum(ref["sigma2"]), ref["df"])
    assert low == pytest.approx(ref["pi_low"], abs=1e-9) and high == pytest.approx(ref["pi_high"], abs=1e-9)
    assert multilevel_prediction(0.0, 0.0, 1.0) == pytest.approx((-1.959963984540054, 1.959963984540054))
