"""Agreement with R's metafor on the fixtures written by tests/reference/make_reference.R.

Every number of every fit in metafor_reference.json is compared: pooled estimate, se, CI,
prediction interval, tau², I², H², Q and its p-value, the Q-profile CI for tau²/I²/H²,
leave-one-out, influence diagnostics, cumulative analysis, trim-and-fill, Egger's test,
meta-regression and subgroup tests.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.meta.effect_sizes import effect_sizes
from analysis.meta.fit import METHODS, rma
from analysis.meta import cumulative, egger, influence, leave_one_out, trimfill
from analysis.meta.subgroups import subgroup_analysis
from analysis.review.trials import load_trials
from conftest import assert_close as shared_assert_close

REFERENCE_DIR = Path(__file__).parent / "reference"
REFERENCE = json.loads((REFERENCE_DIR / "metafor_reference.json").read_text())
# The standard asks for agreement to 1e-6: absolute below 1, relative above (Q and tau² bounds can be large).
TOL = 1e-6


def assert_close(actual, expected, what, tol=TOL):
    shared_assert_close(actual, expected, what, tol, "metafor")


def case_id(case):
    return f"{case['dataset']}-{case['measure']}"


CASES = REFERENCE["cases"]
FITS = [(c, f) for c in CASES for f in c["fits"]]


def test_reference_grid_is_complete():
    """The fixture covers every measure, estimator, HKSJ, zero cells, k = 2 and tau² = 0; it cannot shrink."""
    assert REFERENCE["source"]["metafor"] == "3.8.1"
    assert {c["measure"] for c in CASES} == {"RR", "OR", "RD", "SMD", "GEN"}
    assert {c["dataset"] for c in CASES} >= {
        "bcg", "bcg_k2", "nielweise2007_zero_cells", "hine1989_tau2_zero", "normand1999", "hackshaw1998",
        "raudenbush1985",
    }
    assert {(f["method"], f["hksj"]) for _, f in FITS} == {(m, h) for m in METHODS for h in (False, True)}
    assert len(FITS) >= 200
    zero_tau2 = [f for c, f in FITS if c["dataset"] == "hine1989_tau2_zero" and f["method"] == "DL"]
    assert zero_tau2 and all(f["pool"]["tau2"] == 0 for f in zero_tau2)


def load_case(case):
    data = load_trials(REFERENCE_DIR / "datasets" / f"{case['dataset']}.csv", case["measure"])
    yi, vi = effect_sizes(data, case["measure"])
    return data, yi, vi


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_effect_sizes_match_escalc(case):
    _, yi, vi = load_case(case)
    assert_close(yi, case["yi"], "yi")
    assert_close(vi, case["vi"], "vi")


@pytest.mark.parametrize("case,fit", FITS, ids=[f"{case_id(c)}-{f['method']}-{'hksj' if f['hksj'] else 'z'}" for c, f in FITS])
def test_fit_matches_metafor(case, fit):
    data, yi, vi = load_case(case)
    res = rma(yi, vi, method=fit["method"], hksj=fit["hksj"])
    for key, expected in fit["pool"].items():
        assert_close(res.to_dict()[key], expected, f"pool.{key}")
    if "tau2_ci" in fit:
        ci = res.tau2_ci()
        for key, expected in fit["tau2_ci"].items():
            assert_close(ci[key], expected, f"tau2_ci.{key}")
    if "leave_one_out" in fit:
        loo = leave_one_out(res)
        for key, expected in fit["leave_one_out"].items():
            assert_close(loo[key], expected, f"leave_one_out.{key}")
    if "influence" in fit:
        inf = influence(res)
        for key, expected in fit["influence"].items():
            assert_close(inf[key], expected, f"influence.{key}")
    if "trimfill" in fit:
        tf = trimfill(res)
        assert tf["k0"] == fit["trimfill"]["k0"]
        assert tf["side"] == fit["trimfill"]["side"]
        for key in ("estimate", "se", "ci_low", "ci_high", "tau2"):
            assert_close(tf[key], fit["trimfill"][key], f"trimfill.{key}")
    if "cumulative" in fit:
        cu = cumulative(res, order=data["year"].to_numpy())
        for key, expected in fit["cumulative"].items():
            assert_close(cu[key], expected, f"cumulative.{key}")


@pytest.mark.parametrize("case", [c for c in CASES if "egger" in c], ids=case_id)
def test_egger_matches_regtest_lm(case):
    _, yi, vi = load_case(case)
    result = egger(yi, vi)
    for key, expected in case["egger"].items():
        assert_close(result[key], expected, f"egger.{key}")


METAREG = [(c, f) for c in CASES if "metareg" in c for f in c["metareg"]["fits"]]


@pytest.mark.parametrize("case,fit", METAREG, ids=[f"{case_id(c)}-{f['method']}-{f['hksj']}" for c, f in METAREG])
def test_metaregression_matches_metafor(case, fit):
    data, yi, vi = load_case(case)
    res = rma(yi, vi, method=fit["method"], hksj=fit["hksj"], mods=data[case["metareg"]["moderator"]].to_numpy(float))
    assert_close(res.beta, fit["beta"], "beta")
    assert_close(res.se, fit["se"], "se")
    assert_close(res.ci_low, fit["ci_low"], "ci_low")
    assert_close(res.ci_high, fit["ci_high"], "ci_high")
    assert_close(res.tau2, fit["tau2"], "tau2")
    assert_close(res.i2, fit["i2"], "i2")
    assert_close(res.q, fit["q"], "q")
    test = res.moderator_test()
    assert_close(test["qm"], fit["qm"], "qm")
    assert_close(test["p"], fit["p_qm"], "p_qm")


SUBGROUPS = [(c, f) for c in CASES if "subgroups" in c for f in c["subgroups"]]


@pytest.mark.parametrize("case,fit", SUBGROUPS, ids=[f"{case_id(c)}-{f['method']}" for c, f in SUBGROUPS])
def test_subgroup_difference_matches_metafor(case, fit):
    data, yi, vi = load_case(case)
    result = subgroup_analysis(yi, vi, data["subgroup"].to_numpy(), method=fit["method"])
    assert list(result.groups["subgroup"]) == fit["groups"]
    assert_close(result.groups["estimate"], fit["estimate"], "estimate")
    assert_close(result.groups["se"], fit["se"], "se")
    assert_close(result.groups["tau2"], fit["tau2"], "tau2")
    assert_close(result.q_between, fit["q_between"], "q_between")
    assert result.df_between == fit["df_between"]
    assert_close(result.p_between, fit["p_between"], "p_between")
