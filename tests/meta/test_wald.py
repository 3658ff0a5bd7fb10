"""The CR2 Wald test with the HTZ correction and subgroups under the CHE working model, against
metafor 3.8 and clubSandwich (tests/reference/make_wald_reference.R)."""

import json

import numpy as np
import pytest

from analysis.meta import equal_constraints, multilevel_regression, multilevel_subgroups, wald_test
from conftest import ROOT, assert_close

FIXTURE = json.loads((ROOT / "tests/reference/wald_reference.json").read_text())
CASES = FIXTURE["cases"]
SUBGROUP_CASES = ("assink2016_deltype", "bornmann2007_type", "metapsy_cbt_control")


def _dummies(case):
    group = np.asarray(case["group"])
    return (group[:, None] == np.array(case["levels"])[None, :]).astype(float)


def test_fixture_records_its_versions():
    assert FIXTURE["versions"]["metafor"].startswith("3.8") and FIXTURE["versions"]["clubSandwich"]


@pytest.mark.parametrize("name", SUBGROUP_CASES)
def test_subgroup_means_and_their_htz_test_match_clubsandwich(name):
    case, want = CASES[name], CASES[name]["result"]
    res = multilevel_subgroups(case["yi"], case["vi"], case["cluster"], case["group"], rho=case["rho"])
    assert list(res.groups["subgroup"]) == sorted(case["levels"])
    order = [case["levels"].index(g) for g in res.groups["subgroup"]]
    for key, col in (("beta", "estimate"), ("se", "se"), ("df", "df")):
        assert_close(res.groups[col].to_numpy(), np.asarray(want[key])[order], f"{name}.{key}")
    assert_close([res.fit.sigma2_between, res.fit.sigma2_within], want["sigma2"], f"{name}.sigma2")
    for key, got in (("Q", res.test.Q), ("F", res.test.F), ("df_denom", res.test.df_denom), ("p_wald", res.test.p)):
        assert_close(got, want[key], f"{name}.{key}")
    assert res.test.df_num == want["df_num"] == len(case["levels"]) - 1


def test_a_factor_beside_a_moderator_is_tested_as_a_block():
    case, want = CASES["assink2016_year_deltype"], CASES["assink2016_year_deltype"]["result"]
    mods = np.column_stack([case["x"], _dummies(case)[:, 1:]])
    fit = multilevel_regression(case["yi"], case["vi"], case["cluster"], mods, rho=case["rho"])
    for key, got in (("beta", fit.beta), ("se", fit.se), ("df", fit.df), ("p", fit.p)):
        assert_close(got, want[key], f"year_deltype.{key}")
    res = wald_test(fit, np.eye(4)[2:])
    for key, got in (("Q", res.Q), ("F", res.F), ("df_denom", res.df_denom), ("p_wald", res.p)):
        assert_close(got, want[key], f"year_deltype.{key}")


def test_one_constraint_is_the_cr2_t_test_with_satterthwaite_df():
    case = CASES["metapsy_cbt_control"]
    res = multilevel_subgroups(case["yi"], case["vi"], case["cluster"], case["group"], rho=case["rho"])
    for j in range(3):
        single = wald_test(res.fit, np.eye(3)[[j]])
        assert single.df_denom == pytest.approx(res.fit.df[j], rel=1e-10)
        assert single.p == pytest.approx(res.fit.p[j], rel=1e-8)
    diff = res.contrast("wl", "cau")
    assert diff["difference"] == pytest.approx(res.groups.set_index("subgroup").loc["wl", "estimate"]
                                               - res.groups.set_index("subgroup").loc["cau", "estimate"])
    assert 0 < diff["p"] < 0.05 and diff["df"] > 1


def test_the_htz_df_do_not_depend_on_how_the_equality_is_written():
    case = CASES["metapsy_cbt_control"]
    res = multilevel_subgroups(case["yi"], case["vi"], case["cluster"], case["group"], rho=case["rho"])
    other = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    a, b = wald_test(res.fit, equal_constraints(3)), wald_test(res.fit, other)
    assert (a.Q, a.nu, a.p) == pytest.approx((b.Q, b.nu, b.p), rel=1e-9)


def test_constraints_need_one_column_per_coefficient():
    case = CASES["bornmann2007_type"]
    res = multilevel_subgroups(case["yi"], case["vi"], case["cluster"], case["group"], rho=case["rho"])
    with pytest.raises(ValueError, match="2 columns"):
        wald_test(res.fit, np.ones((1, 3)))
    with pytest.raises(ValueError, match="two subgroups"):
        multilevel_subgroups(case["yi"], case["vi"], case["cluster"], ["a"] * len(case["yi"]))


@pytest.mark.parametrize("name", SUBGROUP_CASES)
def test_che_weights_are_metafors_rowsum_weights(name):
    from analysis.meta import che

    case = CASES[name]
    fit, _ = che(case["yi"], case["vi"], case["cluster"], rho=case["rho"])
    w = fit.weights
    assert_close(100 * w / w.sum(), case["rowsum_weights"], f"{name}.weights")
    assert float(w @ np.asarray(case["yi"]) / w.sum()) == pytest.approx(fit.estimate, rel=1e-12)
