"""Profile-likelihood CIs of the three-level / CHE variance components against metafor 3.8's
confint.rma.mv (tests/reference/make_profile_ci_reference.R)."""

import json

import numpy as np
import pytest

from analysis.meta import profile_ci, rma_mv, vcalc
from conftest import ROOT, assert_close

FIXTURE = json.loads((ROOT / "tests/reference/profile_ci_reference.json").read_text())
CASES = FIXTURE["cases"]


def _fit(case):
    rho = case["rho"]
    V = None if rho is None or rho != rho else vcalc(case["vi"], case["cluster"], rho=rho)
    return rma_mv(case["yi"], case["vi"], case["cluster"], V=V, method=case["method"])


def test_fixture_records_its_versions():
    assert FIXTURE["versions"]["metafor"].startswith("3.8") and FIXTURE["versions"]["R"]


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("component", ["sigma2_between", "sigma2_within"])
def test_profile_limits_match_metafor(name, component):
    case = CASES[name]
    fit = _fit(case)
    assert_close([fit.sigma2_between, fit.sigma2_within], case["sigma2"], f"{name}.sigma2")
    got = profile_ci(fit, component)
    want = case[component]
    assert_close([got["estimate"], got["ci_low"], got["ci_high"]], [want["estimate"], want["ci_low"], want["ci_high"]],
                 f"{name}.{component}")
    assert got["ci_low"] < got["estimate"] < got["ci_high"] and not got["high_at_bound"]


def test_a_component_estimated_at_zero_has_zero_as_its_lower_limit():
    rng = np.random.default_rng(4)
    cluster = np.repeat(np.arange(12), 3)
    yi = rng.normal(0.3, 0.05, 36)   # far less spread than the sampling variances: no heterogeneity
    fit = rma_mv(yi, np.full(36, 0.04), cluster)
    assert fit.sigma2_between == 0
    got = profile_ci(fit, "sigma2_between")
    assert got["ci_low"] == 0 and got["ci_high"] > 0 and not got["low_at_bound"]
    with pytest.raises(ValueError, match="component"):
        profile_ci(fit, "tau2")
