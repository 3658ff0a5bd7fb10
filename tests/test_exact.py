"""``rma(..., exact=True)`` against metafor run with tight control, and the default-vs-exact bound.

The fixtures are written by tests/reference/make_exact_reference.R: metafor 3.8.1 with
``control = list(threshold = 1e-10, maxiter = 1000, tol = 1e-12)`` and
``confint(..., control = list(tol = 1e-12))``, on the datasets of make_reference.R. Agreement
is asked to 1e-8 (absolute below 1, relative above), four orders tighter than the defaults'
1e-4 root tolerance, so it can only hold if both converge to the same optimum.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis.meta import cumulative, leave_one_out, prop_above, se_tau2, trimfill
from analysis.meta.effect_sizes import effect_sizes
from analysis.meta.fit import METHODS, rma
from analysis.review.trials import load_trials
from conftest import assert_close as shared_assert_close

REFERENCE_DIR = Path(__file__).parent / "reference"
EXACT = json.loads((REFERENCE_DIR / "metafor_exact_reference.json").read_text())
DEFAULT = json.loads((REFERENCE_DIR / "metafor_reference.json").read_text())
TOL = 1e-8
# rma's docstring: by default tau² and the Q-profile limits are within about 1e-4 (absolute) of the
# optimum, and within 1% of it where tau² > 0.01.
DEFAULT_ABS_BOUND = 2e-4
DEFAULT_REL_BOUND = 0.01


def assert_close(actual, expected, what, tol=TOL):
    shared_assert_close(actual, expected, what, tol, "metafor")


def case_id(case):
    return f"{case['dataset']}-{case['measure']}"


def load_case(case):
    data = load_trials(REFERENCE_DIR / "datasets" / f"{case['dataset']}.csv", case["measure"])
    yi, vi = effect_sizes(data, case["measure"])
    return data, yi, vi


CASES = EXACT["cases"]
FITS = [(c, f) for c in CASES for f in c["fits"]]
FIT_IDS = [f"{case_id(c)}-{f['method']}-{'hksj' if f['hksj'] else 'z'}" for c, f in FITS]


def test_exact_fixture_is_tight_control_metafor_on_the_default_grid():
    source = EXACT["source"]
    assert source["metafor"] == "3.8.1" and source["R"].startswith("R version")
    assert source["control"] == {"threshold": 1e-10, "maxiter": 1000, "tol": 1e-12}
    assert source["confint_control"]["tol"] == 1e-12
    assert [case_id(c) for c in CASES] == [case_id(c) for c in DEFAULT["cases"]]
    for exact, default in zip(CASES, DEFAULT["cases"]):
        assert_close(exact["yi"], default["yi"], "yi", tol=0)
        grid = [{(f["method"], f["hksj"]) for f in entry["fits"]} for entry in (exact, default)]
        assert grid[0] == grid[1]
    assert {(f["method"], f["hksj"]) for _, f in FITS} == {(m, h) for m in METHODS for h in (False, True)}


@pytest.mark.parametrize("case,fit", FITS, ids=FIT_IDS)
def test_exact_fit_matches_tight_metafor(case, fit):
    data, yi, vi = load_case(case)
    res = rma(yi, vi, method=fit["method"], hksj=fit["hksj"], exact=True)
    assert res.exact
    row = res.to_dict()
    for key, expected in fit["pool"].items():
        assert_close(row[key], expected, f"pool.{key}")
    assert_close(se_tau2(res), fit["se_tau2"], "se_tau2")
    if "tau2_ci" in fit:
        ci = res.tau2_ci()
        for key, expected in fit["tau2_ci"].items():
            assert_close(ci[key], expected, f"tau2_ci.{key}")
    if "leave_one_out" in fit:
        loo = leave_one_out(res)
        for key, expected in fit["leave_one_out"].items():
            assert_close(loo[key], expected, f"leave_one_out.{key}")
    if "trimfill" in fit:
        tf = trimfill(res)
        assert (tf["k0"], tf["side"]) == (fit["trimfill"]["k0"], fit["trimfill"]["side"])
        for key in ("estimate", "se", "ci_low", "ci_high", "tau2"):
            assert_close(tf[key], fit["trimfill"][key], f"trimfill.{key}")
    if "cumulative" in fit:
        cu = cumulative(res, order=data["year"].to_numpy())
        for key, expected in fit["cumulative"].items():
            assert_close(cu[key], expected, f"cumulative.{key}")


METAREG = [(c, f) for c in CASES if "metareg" in c for f in c["metareg"]["fits"]]


METAREG_IDS = [f"{case_id(c)}-{f['method']}-{f['hksj']}" for c, f in METAREG]


@pytest.mark.parametrize("case,fit", METAREG, ids=METAREG_IDS)
def test_exact_metaregression_matches_tight_metafor(case, fit):
    data, yi, vi = load_case(case)
    mods = data[case["metareg"]["moderator"]].to_numpy(float)
    res = rma(yi, vi, method=fit["method"], hksj=fit["hksj"], mods=mods, exact=True)
    for key in ("beta", "se", "ci_low", "ci_high", "tau2", "i2", "q", "p_q"):
        assert_close(getattr(res, key), fit[key], key)
    test = res.moderator_test()
    assert_close(test["qm"], fit["qm"], "qm")
    assert_close(test["p"], fit["p_qm"], "p_qm")


def test_default_is_metafor_default_and_exact_is_kept_by_refits():
    _, yi, vi = load_case(CASES[0])
    default, explicit = rma(yi, vi), rma(yi, vi, exact=False)
    assert not default.exact
    assert default.to_dict() == explicit.to_dict() and default.tau2_ci() == explicit.tau2_ci()
    exact = rma(yi, vi, exact=True)
    assert exact.refit(np.arange(exact.k) != 0).exact
    assert not default.refit(np.arange(default.k) != 0).exact


@pytest.mark.parametrize("case,fit", [(c, f) for c, f in FITS if not f["hksj"] and f["method"] != "FE"],
                         ids=[i for i, (_, f) in zip(FIT_IDS, FITS) if not f["hksj"] and f["method"] != "FE"])
def test_default_is_within_the_documented_bound_of_exact(case, fit):
    _, yi, vi = load_case(case)
    default = rma(yi, vi, method=fit["method"])
    exact = rma(yi, vi, method=fit["method"], exact=True)
    assert abs(default.tau2 - exact.tau2) < DEFAULT_ABS_BOUND
    if exact.tau2 > 0.01:
        assert abs(default.tau2 - exact.tau2) < DEFAULT_REL_BOUND * exact.tau2
    if "tau2_ci" in fit:
        d, e = default.tau2_ci(), exact.tau2_ci()
        for key in ("tau2_low", "tau2_high"):
            assert abs(d[key] - e[key]) < DEFAULT_ABS_BOUND


def test_default_and_exact_differ_where_tau2_is_small():
    """The documented example: REML on the nielweise2007 risk differences (tau² about 1.2e-4)."""
    case = next(c for c in CASES if case_id(c) == "nielweise2007_zero_cells-RD")
    _, yi, vi = load_case(case)
    default, exact = rma(yi, vi), rma(yi, vi, exact=True)
    assert abs(default.tau2 - exact.tau2) / exact.tau2 > 0.1


# ---- proportion of true effects above a threshold ----------------------------------------------------

def hand_prop_above(mu, se_mu, tau2, se_t2, q, level=0.95):
    """Mathur & VanderWeele (2019) written out: z = (q - mu)/tau, SE(z) by the delta method."""
    tau = np.sqrt(tau2)
    z = (q - mu) / tau
    dz_dmu, dz_dt2 = -1 / tau, -(q - mu) / (2 * tau2**1.5)
    se_z = np.sqrt(dz_dmu**2 * se_mu**2 + dz_dt2**2 * se_t2**2)
    c = stats.norm.ppf(1 - (1 - level) / 2)
    return stats.norm.sf(z), stats.norm.sf(z + c * se_z), stats.norm.sf(z - c * se_z)


@pytest.mark.parametrize("threshold", [-1.0, -0.5, np.log(0.8), 0.0, 0.3])
def test_prop_above_matches_hand_computation_from_metafor_numbers(threshold):
    """Share of true log risk ratios above a threshold in BCG (REML), by hand from metafor's
    mu, se, tau² and se(tau²)."""
    case = next(c for c in CASES if case_id(c) == "bcg-RR")
    fit = next(f for f in case["fits"] if f["method"] == "REML" and not f["hksj"])
    _, yi, vi = load_case(case)
    got = prop_above(rma(yi, vi, exact=True), threshold)
    pool = fit["pool"]
    prop, low, high = hand_prop_above(pool["estimate"], pool["se"], pool["tau2"], fit["se_tau2"], threshold)
    assert_close([got["prop"], got["ci_low"], got["ci_high"]], [prop, low, high], "prop_above")
    assert 0 <= got["ci_low"] <= got["prop"] <= got["ci_high"] <= 1


def test_prop_above_ci_is_first_order_equal_to_the_proportion_scale_interval():
    """With a small SE(z) (k = 401) the z-scale interval and Mathur & VanderWeele's p ± 1.96 φ(z) SE(z)
    agree."""
    yi, vi = np.linspace(-1, 1, 401), np.full(401, 0.01)
    res = rma(yi, vi, exact=True)
    threshold = res.estimate + 0.2
    got = prop_above(res, threshold)
    z = 0.2 / np.sqrt(res.tau2)
    se_z = np.sqrt(res.se[0] ** 2 / res.tau2 + se_tau2(res) ** 2 * 0.2**2 / (4 * res.tau2**3))
    half = stats.norm.ppf(0.975) * stats.norm.pdf(z) * se_z
    assert got["prop"] == pytest.approx(stats.norm.sf(z), abs=1e-15)
    assert half > 0.02
    assert got["ci_low"] == pytest.approx(got["prop"] - half, abs=half / 20)
    assert got["ci_high"] == pytest.approx(got["prop"] + half, abs=half / 20)


def test_prop_above_without_heterogeneity_is_zero_or_one():
    case = next(c for c in CASES if case_id(c) == "hine1989_tau2_zero-RD")
    _, yi, vi = load_case(case)
    for res in (rma(yi, vi, method="FE"), rma(yi, vi, method="DL")):
        assert res.method == "FE" or res.tau2 == 0
        above, below = prop_above(res, res.estimate - 0.01), prop_above(res, res.estimate + 0.01)
        assert (above["prop"], below["prop"]) == (1.0, 0.0)
        assert np.isnan(above["ci_low"]) and np.isnan(above["ci_high"])
