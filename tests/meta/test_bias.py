"""Publication-bias methods against R on the fixtures of tests/reference/make_bias_reference.R.

Selection models (3PSM, 4PSM) and trim-and-fill (L0, R0) are compared with metafor 3.8.1;
PET, PEESE, PET-PEESE, WLS and WAAP-WLS with ``lm``. Every number is compared at 1e-6
(absolute below 1, relative above), selection models at 1e-4; metafor's errors (an empty
p-value interval, BFGS not converging) must be errors here too. Property tests follow.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.meta import peese, pet, pet_peese, rma, selmodel, trimfill, waap_wls, wls
from analysis.meta.selmodel import _intervals, _log_likelihood
from conftest import assert_close as shared_assert_close

REFERENCE = json.loads((Path(__file__).parent.parent / "reference" / "bias_reference.json").read_text())
CASES = REFERENCE["cases"]
TOL = 1e-6
TOL_SELECTION = 1e-4


def assert_close(actual, expected, what, tol=TOL):
    shared_assert_close(actual, expected, what, tol, "R")


def data(case):
    return np.asarray(case["yi"], dtype=float), np.asarray(case["vi"], dtype=float)


def ids(cases):
    return [c["dataset"] for c in cases]


def test_fixture_is_complete():
    """Public data sets with small-study effects, both PET-PEESE branches, both WAAP outcomes,
    an empty 4PSM interval and a 4PSM that metafor cannot fit; it cannot shrink."""
    assert REFERENCE["source"]["metafor"] == "3.8.1"
    assert {c["dataset"] for c in CASES} >= {
        "hackshaw1998", "bangertdrowns2004", "lehmann2018", "baskerville2012", "bcg", "kalaian1996",
    }
    assert {c["pet_peese"] for c in CASES} == {"PET", "PEESE"}
    assert {c["waap"]["method"] for c in CASES} == {"WAAP", "WLS"}
    errors = [c["sel4"].get("error", "") for c in CASES]
    assert any("do not contain any observed p-values" in e for e in errors)
    assert any("did not achieve convergence" in e for e in errors)
    assert any(c["sel3"].get("k_per_interval", [1])[0] == 0 for c in CASES)  # empty first interval: fitted
    assert {c["trimfill_R0"]["k0"] > 0 for c in CASES} == {True, False}


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
@pytest.mark.parametrize("name,fun", [("pet", pet), ("peese", peese), ("wls", wls), ("waap", waap_wls)])
def test_lm_estimates_match_r(case, name, fun):
    res = fun(*data(case)).to_dict()
    for key in ("estimate", "se", "p", "ci_low", "ci_high", "k"):
        assert_close(res[key], case[name][key], f"{name}.{key}")
    if name == "waap":
        assert res["k_adequate"] == case["waap"]["k_adequate"]
        assert res["method"] == case["waap"]["method"]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_pet_peese_chooses_as_r(case):
    res = pet_peese(*data(case))
    assert res.chosen == case["pet_peese"]
    assert_close(res.estimate, case[case["pet_peese"].lower()]["estimate"], "pet_peese.estimate")


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
@pytest.mark.parametrize("estimator", ["L0", "R0"])
def test_trimfill_matches_metafor(case, estimator):
    expected = case[f"trimfill_{estimator}"]
    tf = trimfill(rma(*data(case), method="REML"), estimator=estimator)
    assert tf["k0"] == expected["k0"] and tf["side"] == expected["side"]
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2"):
        assert_close(tf[key], expected[key], f"trimfill_{estimator}.{key}")


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
@pytest.mark.parametrize("model,steps", [("sel3", (0.025,)), ("sel4", (0.025, 0.5))])
def test_selection_model_matches_metafor(case, model, steps):
    expected = case[model]
    if "error" in expected:
        kind = ValueError if "p-values" in expected["error"] else RuntimeError
        with pytest.raises(kind, match=re.escape(expected["error"][:30])):
            selmodel(*data(case), steps=steps)
        return
    res = selmodel(*data(case), steps=steps)
    out = res.to_dict()
    assert set(out) == {"estimate", "se", "ci_low", "ci_high", "tau2", "delta", "lrt_p", "k", "steps",
                        "k_per_interval"}
    assert out["k"] == expected["k"] and out["k_per_interval"] == expected["k_per_interval"]
    assert_close(out["steps"], expected["steps"], "steps")
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "delta", "lrt_p"):
        assert_close(out[key], expected[key], f"{model}.{key}", TOL_SELECTION)
    for key in ("se_tau2", "ll", "lrt"):
        assert_close(getattr(res, key), expected[key], f"{model}.{key}", TOL_SELECTION)
    assert_close(res.se_delta[1:], expected["se_delta"][1:], f"{model}.se_delta", TOL_SELECTION)


# ---- properties -----------------------------------------------------------------------------------

studies = st.integers(min_value=5, max_value=30)


def simulated(seed, k, shift=0.0):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.005, 0.3, k)
    return shift + rng.normal(0.2, np.sqrt(v + 0.02)), v


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10**6), studies, st.floats(0.01, 0.5))
def test_pet_peese_branch_rule(seed, k, alpha):
    y, v = simulated(seed, k)
    first, second = pet(y, v), peese(y, v)
    res = pet_peese(y, v, alpha=alpha)
    expected = second if first.p < alpha else first
    assert res.chosen == ("PEESE" if first.p < alpha else "PET")
    assert res.estimate == expected.estimate and res.se == expected.se


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), studies)
def test_waap_falls_back_to_wls_when_fewer_than_two_are_adequately_powered(seed, k):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.5, 1.0, k)  # se >= 0.7: none can detect an effect of about 0.1 with 80 % power
    y = rng.normal(0.1, 0.05, k)
    res, everyone = waap_wls(y, v), wls(y, v)
    assert res.k_adequate == int(np.sum(np.sqrt(v) <= abs(everyone.estimate) / 2.8)) < 2
    assert res.method == "WLS" and res.k == k and res.estimate == everyone.estimate


def test_waap_uses_only_the_adequately_powered():
    y = np.array([0.50, 0.52, 0.48, 0.9, 1.2, -0.3])
    v = np.array([0.001, 0.002, 0.0015, 0.2, 0.3, 0.25])
    res = waap_wls(y, v)
    assert res.method == "WAAP" and res.k_adequate == 3 and res.k == 3
    assert res.estimate == pytest.approx(wls(y[:3], v[:3]).estimate, abs=1e-14)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(3, 15), st.floats(-1, 1))
def test_r0_fills_nothing_on_a_symmetric_funnel(seed, pairs, centre):
    """(L0 may fill one here: metafor breaks the ties of each mirrored pair by order, which puts
    the positive member's rank above the negative one's, and L0 reads that as asymmetry.)"""
    rng = np.random.default_rng(seed)
    v = np.repeat(rng.uniform(0.01, 0.5, pairs), 2)
    d = np.repeat(rng.uniform(0.01, 1.0, pairs), 2) * np.tile([1, -1], pairs)
    tf = trimfill(rma(centre + d, v, method="FE"), estimator="R0")
    assert tf["k0"] == 0


def test_l0_is_the_default():
    y, v = simulated(1, 25)
    res = rma(y, v)
    default, l0 = trimfill(res), trimfill(res, estimator="L0")
    assert all(np.array_equal(default[key], l0[key]) for key in default)
    with pytest.raises(ValueError):
        trimfill(res, estimator="Q1")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), studies, st.floats(0.0, 0.5))
def test_selection_likelihood_without_selection_is_the_random_effects_one(seed, k, tau2):
    """With every delta 1 the step-function likelihood is the normal random-effects likelihood."""
    y, v = simulated(seed, k)
    steps = np.array([0.025, 0.5, 1.0])
    group, _, cuts = _intervals(y, v, steps)
    ll = _log_likelihood(0.1, tau2, np.ones(3), y, v, cuts, group)
    w = 1 / (v + tau2)
    assert ll == pytest.approx(-0.5 * np.sum(np.log(2 * np.pi) - np.log(w) + w * (y - 0.1) ** 2), rel=1e-12)


def test_selection_model_refuses_empty_intervals_but_not_an_empty_first_one():
    y = np.array([-0.5, -0.3, -0.2, -0.4, -0.1, -0.6, -0.25, -0.35])
    v = np.full(8, 0.0025)
    res = selmodel(y, v)  # no study has p <= .025: allowed, as metafor (that delta is fixed at 1)
    assert res.k_per_interval == (0, 8)
    with pytest.raises(ValueError, match="do not contain any observed p-values"):
        selmodel(-y, v)  # every p <= .025: the second interval is empty
    with pytest.raises(ValueError, match="too small"):
        selmodel(y[:2], v[:2], steps=(0.025, 0.5))


def test_selection_model_refits_any_random_effects_model_by_ml():
    y, v = data(CASES[0])
    assert selmodel(y, v, method="REML").to_dict() == selmodel(y, v, method="ML").to_dict()
    with pytest.raises(ValueError):
        selmodel(y, v, method="FE")
