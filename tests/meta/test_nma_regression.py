"""Network meta-regression (common interaction) against metafor's rma.mv, fixtures written by
tests/reference/make_nma_regression_reference.R on the GRISELDA release."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.meta.nma_data import arm_contrasts
from analysis.meta.nma_regression import network_regression, regression_column
from analysis.review.importers.cipriani import read_cipriani_arms
from analysis.review.network import network_arms
from analysis.review.network_regression import COVARIATES, network_regressions, study_covariates

ROOT = Path(__file__).resolve().parents[2]
REF = json.loads((ROOT / "tests/reference/nma_regression_reference.json").read_text())
CASES = {case["name"]: case for case in REF["cases"]}


@pytest.fixture(scope="module")
def arms():
    return read_cipriani_arms(ROOT / "data/trials/cipriani2018/arms.csv")


def case_data(arms, case):
    base = network_arms(arms, "response")
    return arm_contrasts(base[~base["study"].isin(case["dropped"])], "OR", reference="placebo")


def test_fixtures_are_metafor_3_8_and_cover_every_covariate():
    assert REF["source"]["metafor"].startswith("3.8")
    assert set(CASES) == set(COVARIATES)


@pytest.mark.parametrize("name", sorted(COVARIATES))
def test_slope_and_effects_match_metafor(arms, name):
    case = CASES[name]
    data = case_data(arms, case)
    covariate = {s: (np.nan if v is None else v) for s, v in case["covariate"].items()}
    reg = network_regression(data, covariate)
    assert list(data.treatments) == case["treatments"]
    assert reg.k == case["k"] and reg.studies == case["studies"]
    assert reg.center == pytest.approx(case["center"], abs=1e-10)
    for key in ("slope", "se", "z", "p", "ci_low", "ci_high"):
        assert getattr(reg, key) == pytest.approx(case[key], abs=1e-6), key
    assert reg.tau2 == pytest.approx(case["tau2"], abs=1e-6)
    np.testing.assert_allclose(reg.coef, case["coef"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(reg.coef_se, case["coef_se"], atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", sorted(COVARIATES))
def test_the_review_defines_the_covariates_as_the_r_script(arms, name):
    ours = study_covariates(arms)[name]
    theirs = pd.Series({s: (np.nan if v is None else v) for s, v in CASES[name]["covariate"].items()})
    ours = ours.reindex(theirs.index)
    assert ours.isna().equals(theirs.isna())
    np.testing.assert_allclose(ours.dropna(), theirs.dropna(), atol=1e-9, rtol=0)


def test_network_regressions_report_the_engine_per_unit(arms):
    regs = network_regressions(arms).set_index("covariate")
    year = CASES["year"]
    assert regs.loc["year", "slope"] == pytest.approx(10 * year["slope"], abs=1e-6)
    assert regs.loc["year", "left_out"] == len(year["dropped"]) and regs.loc["year", "studies"] == year["studies"]
    assert regs.loc["placebo", "slope"] == pytest.approx(10 * CASES["placebo"]["slope"], abs=1e-6)
    assert (regs["tau2_base"] >= 0).all()


def test_the_covariate_is_needed_only_against_the_reference():
    arms = pd.DataFrame({"study": ["a", "a", "b", "b", "c", "c", "d", "d"],
                         "treatment": ["P", "X", "P", "Y", "X", "Y", "P", "X"],
                         "events": [10, 20, 12, 18, 15, 14, 9, 16], "n": [50] * 8})
    data = arm_contrasts(arms, "OR", reference="P")
    column, center = regression_column(data, {"a": 1.0, "b": 3.0, "d": 5.0})
    assert center == 3.0
    assert column.tolist() == [-2.0, 0.0, 0.0, 2.0]
    with pytest.raises(ValueError, match="missing for 1 study with the reference, first 'b'"):
        regression_column(data, {"a": 1.0, "d": 5.0})
    with pytest.raises(ValueError, match="does not vary"):
        network_regression(data, {"a": 2.0, "b": 2.0, "d": 2.0})
