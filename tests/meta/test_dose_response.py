"""One-stage dose-response meta-analysis against R: the Greenland-Longnecker covariance (a port
of dosresmeta's algorithm in the R script), rms's restricted cubic splines and metafor's
rma.mv(struct = "GEN") fit and predictions.

The fixtures are written by tests/reference/make_dose_reference.R and carry their inputs, so no
R is needed here. Every stored number is compared to 1e-6 (absolute below 1, relative above).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.meta.dose_contrasts import dose_contrasts, gl_covariance, log_ratios
from analysis.meta.dose_response import (dose_knots, dose_response,
                                         rcs_basis, rma_dose)
from conftest import assert_close as shared_assert_close

REFERENCE = json.loads((Path(__file__).parent.parent / "reference" / "dose_reference.json").read_text())
CASES = REFERENCE["cases"]
TOL = 1e-6


def assert_close(actual, expected, what, tol=TOL):
    shared_assert_close(actual, expected, what, tol, "R")


def arms(case):
    return (np.asarray(case["study"]), np.asarray(case["dose"], float), np.asarray(case["cases"], float),
            np.asarray(case["n"], float))


def shifted_contrasts(case):
    """Per study (y, v, cases, n) as the R script made them (crude, plus its stated shift)."""
    study, dose, cases, n = arms(case)
    for s in dict.fromkeys(study.tolist()):
        rows = study == s
        y, v = log_ratios(cases[rows], n[rows], int(np.flatnonzero(dose[rows] == 0)[0]), case["measure"])
        d = dose[rows]
        yield y + np.where(d > 0, case["shift"] * d / d.max(), 0.0), v, cases[rows], n[rows]


@pytest.mark.parametrize("name", sorted(CASES))
def test_greenland_longnecker_covariance(name):
    case = CASES[name]
    kind = "cc" if case["measure"] == "OR" else "ci"
    blocks = list(shifted_contrasts(case))
    assert len(blocks) == len(case["gl"])
    for (y, v, a, m), expected in zip(blocks, case["gl"]):
        assert_close(gl_covariance(y, v, a, m, kind), expected, f"{name} GL covariance")


@pytest.mark.parametrize("name", sorted(CASES))
def test_knots_and_spline_basis(name):
    case = CASES[name]
    dose = np.asarray(case["dose"], float)
    active = dose[dose > 0]
    knots = dose_knots(np.unique(active), case["percentiles"])
    assert_close(knots, case["knots"], f"{name} knots")
    assert_close(rcs_basis(active, knots), case["basis"], f"{name} basis")


@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_and_predictions(name):
    case = CASES[name]
    blocks = list(shifted_contrasts(case))
    from scipy.linalg import block_diag

    V = block_diag(*[gl_covariance(y, v, a, m, "cc" if case["measure"] == "OR" else "ci") for y, v, a, m in blocks])
    y = np.concatenate([b[0][b[1] != 0] for b in blocks])
    assert_close(y, case["y"], f"{name} y")
    study, dose, _, _ = arms(case)
    X = np.asarray(case["basis"], float)
    fit = rma_dose(y, V, X, study[dose > 0], case["knots"])
    assert_close(fit.coef, case["coef"], f"{name} coef")
    assert_close(fit.vcov, case["vcov"], f"{name} vcov")
    assert_close(fit.psi, case["psi"], f"{name} psi")
    assert_close(fit.loglik, case["loglik"], f"{name} loglik")
    curve = fit.curve(case["grid"])
    for key, ours in (("pred", curve.estimate), ("se", curve.se), ("ci_low", curve.ci_low), ("ci_high", curve.ci_high)):
        assert_close(ours, case[key], f"{name} {key}")


@pytest.mark.parametrize("name", [n for n in sorted(CASES) if CASES[n]["shift"] == 0])
def test_from_arms_in_one_call(name):
    case = CASES[name]
    fit = dose_response(*arms(case), percentiles=case["percentiles"], measure=case["measure"])
    assert_close(fit.knots, case["knots"], f"{name} knots")
    assert_close(fit.coef, case["coef"], f"{name} coef")
    assert_close(fit.psi, case["psi"], f"{name} psi")
    assert_close(dose_contrasts(*arms(case), measure=case["measure"]).y, case["y"], f"{name} y")
    assert fit.k == len(case["y"]) and fit.k_studies == len(case["gl"])


def test_knots_at_percentiles_of_arms_can_coincide():
    """17 of fluoxetine's 25 arms are at 20 mg: the 10th and 50th percentiles of the arms tie."""
    with pytest.raises(ValueError, match="not distinct"):
        dose_response(*arms(CASES["fluoxetine"]), knots_of="arms")


def test_crude_log_or_covariance_is_the_shared_reference_variance():
    """For crude log ORs the pseudo-counts are the counts: cov = 1/a0 + 1/b0 (Greenland & Longnecker 1992)."""
    cases, n = np.array([40.0, 50.0, 60.0]), np.array([100.0, 100.0, 110.0])
    y, v = log_ratios(cases, n, 0, "OR")
    S = gl_covariance(y, v, cases, n, "cc")
    assert S[0, 1] == pytest.approx(1 / 40 + 1 / 60) and S[0, 0] == pytest.approx(v[1])


def test_tied_knots_and_missing_reference_are_refused():
    with pytest.raises(ValueError, match="not distinct"):
        dose_knots([20, 20, 20, 20, 40], (10, 50, 90))
    with pytest.raises(ValueError, match="study s: 0 arms at the reference dose"):
        dose_contrasts(["s", "s"], [10, 20], [5, 6], [20, 20])


def test_curve_peak_and_frame():
    case = CASES["citalopram"]
    fit = dose_response(*arms(case), knots=case["knots"])
    curve = fit.curve(np.linspace(0, 60, 61))
    assert curve.estimate[0] == 0 and curve.se[0] == 0
    frame = curve.to_frame()
    assert curve.peak == int(np.argmax(frame["ratio"]))
    assert frame["ratio_low"].le(frame["ratio"]).all()
    assert list(fit.to_frame().index) == ["dose", "dose'"]


def test_zero_cells_are_refused_and_lone_reference_arms_ignored():
    with pytest.raises(ValueError, match="study b: an arm with no or only responders"):
        dose_contrasts(["b", "b"], [0, 20], [0, 5], [20, 20])
    data = dose_contrasts(["a", "a", "c"], [0, 20, 0], [5, 9, 4], [20, 20, 20])
    assert data.study.tolist() == ["a"] and data.V.shape == (1, 1)
