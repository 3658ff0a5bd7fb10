"""Property-based tests (hypothesis) of conversions and invariants."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analysis.meta.conversions import from_proportions, log_or_to_smd, nnt_from_smd, smd_to_log_or
from analysis.meta.effect_sizes import binary_effects, smd_effects
from analysis.meta.fit import rma
from analysis.meta.tau2 import project

counts = st.integers(min_value=0, max_value=500)
sizes = st.integers(min_value=1, max_value=500)


@st.composite
def two_arms(draw):
    n1, n2 = draw(sizes), draw(sizes)
    return draw(st.integers(0, n1)), n1, draw(st.integers(0, n2)), n2


@given(two_arms(), st.sampled_from(["RR", "OR", "RD"]))
def test_swapping_arms_negates_the_effect_and_keeps_the_variance(arms, measure):
    a, n1, c, n2 = arms
    y, v = binary_effects([a], [n1], [c], [n2], measure)
    y2, v2 = binary_effects([c], [n2], [a], [n1], measure)
    assert np.allclose(y, -y2, atol=1e-12) and np.allclose(v, v2, rtol=1e-12)


@given(st.floats(-5, 5), st.floats(0.001, 4))
def test_or_smd_round_trip(log_or, var):
    d, vd = log_or_to_smd(log_or, var)
    back, vback = smd_to_log_or(d, vd)
    assert np.isclose(back, log_or, atol=1e-12) and np.isclose(vback, var, rtol=1e-12)


@given(st.floats(0.01, 0.99), st.floats(0.01, 0.99))
def test_proportions_are_consistent(p1, p2):
    c = from_proportions(p1, p2)
    assert np.isclose(c["rr"], p1 / p2)
    assert np.isclose(np.log(c["or"]), c["log_or"])
    assert np.isclose(c["smd"], c["log_or"] * np.sqrt(3) / np.pi)
    if abs(p1 - p2) > 1e-9:
        assert np.isclose(c["nnt"], 1 / (p1 - p2))


@given(st.floats(0.01, 2), st.floats(0.05, 0.95))
def test_nnt_from_smd_is_positive_and_falls_with_the_effect(g, cer):
    nnt = nnt_from_smd(g, cer)
    assert nnt > 1 and nnt_from_smd(g + 0.1, cer) < nnt


@given(st.floats(-3, 3), st.floats(0.1, 5), st.integers(3, 200), st.floats(-3, 3), st.floats(0.1, 5), st.integers(3, 200))
def test_smd_is_antisymmetric(m1, s1, n1, m2, s2, n2):
    g, v = smd_effects(m1, s1, n1, m2, s2, n2)
    g2, v2 = smd_effects(m2, s2, n2, m1, s1, n1)
    assert np.isclose(g, -g2, atol=1e-12) and np.isclose(v, v2, rtol=1e-12)


def fit(y, v, method):
    """rma, leaving out the data where Fisher scoring does not converge (metafor stops there too)."""
    try:
        return rma(y, v, method=method)
    except RuntimeError:
        assume(False)


def test_fisher_scoring_that_does_not_converge_is_an_error_as_in_metafor():
    # metafor 3.8.1: rma(c(0,0,0,0,1), c(1,1,1,1,0.125)) stops with "Fisher scoring algorithm did not converge."
    with pytest.raises(RuntimeError, match="did not converge"):
        rma([0, 0, 0, 0, 1], [1, 1, 1, 1, 0.125], method="REML")


studies = st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 1)), min_size=3, max_size=30)


@settings(max_examples=60, deadline=None)
@given(studies, st.sampled_from(["REML", "DL", "PM", "ML", "SJ", "HE", "EB"]))
def test_pooling_is_weighted_least_squares_with_weights_1_over_v_plus_tau2(data, method):
    y, v = (np.array(col) for col in zip(*data))
    res = fit(y, v, method)
    w = 1 / (v + res.tau2)
    assert np.isclose(res.estimate, np.sum(w * y) / np.sum(w), atol=1e-10)
    assert np.isclose(res.se[0], np.sqrt(1 / np.sum(w)), rtol=1e-10)
    assert res.tau2 >= 0 and 0 <= res.i2 < 100


@settings(max_examples=40, deadline=None)
@given(studies)
def test_reml_tau2_solves_the_reml_estimating_equation(data):
    y, v = (np.array(col) for col in zip(*data))
    res = fit(y, v, "REML")
    if res.tau2 > 1e-4:
        X = np.ones((len(y), 1))
        proj = project(y, 1 / (v + res.tau2), X)
        score = np.sum(proj.py() ** 2) - proj.tr_p  # zero at the REML estimate (metafor stops within 1e-5)
        assert abs(score / proj.tr_pp(X)) < 1e-4


@settings(max_examples=40, deadline=None)
@given(studies, st.floats(-1, 1))
def test_shifting_every_effect_shifts_the_estimate_and_keeps_tau2(data, shift):
    y, v = (np.array(col) for col in zip(*data))
    a, b = fit(y, v, "REML"), fit(y + shift, v, "REML")
    assert np.isclose(b.estimate, a.estimate + shift, atol=1e-8) and np.isclose(a.tau2, b.tau2, atol=1e-8)


def test_binary_effects_equal_statsmodels():
    """The escalc formulas written out agree with statsmodels' effectsize_2proportions."""
    from statsmodels.stats.meta_analysis import effectsize_2proportions

    from analysis.meta.effect_sizes import binary_effects

    rng = np.random.default_rng(7)
    n1, n2 = rng.integers(5, 300, 50), rng.integers(5, 300, 50)
    a, c = rng.integers(1, 5, 50), rng.integers(1, 5, 50)
    for measure, statistic in (("RR", "risk-ratio"), ("OR", "odds-ratio"), ("RD", "diff")):
        yi, vi = binary_effects(a, n1, c, n2, measure)
        ys, vs = effectsize_2proportions(a, n1, c, n2, statistic=statistic, zero_correction=None)
        assert np.allclose(yi, ys, rtol=0, atol=1e-14) and np.allclose(vi, vs, rtol=0, atol=1e-14)
