"""Each subgroup under its own CHE model, and the separate-tau² test on the subgroups' CR2
estimates, against metafor 3.8 and clubSandwich (tests/reference/make_separate_subgroups_reference.R)."""

import json

import numpy as np
import pytest

from analysis.meta import multilevel_subgroups, separate_multilevel_subgroups
from conftest import ROOT, assert_close

FIXTURE = json.loads((ROOT / "tests/reference/separate_subgroups_reference.json").read_text())
CASES = FIXTURE["cases"]
COLUMNS = ("k", "clusters", "estimate", "se", "df", "ci_low", "ci_high", "sigma2_between", "sigma2_within")


def test_fixture_records_its_versions():
    assert FIXTURE["versions"]["metafor"].startswith("3.8") and FIXTURE["versions"]["clubSandwich"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_subgroup_s_own_che_fit_and_the_q_test_match_metafor(name):
    case = CASES[name]
    res = separate_multilevel_subgroups(case["yi"], case["vi"], case["cluster"], case["group"], rho=case["rho"])
    want = {g["subgroup"]: g for g in case["groups"]}
    assert list(res.groups["subgroup"]) == sorted(want)
    for column in COLUMNS:
        expected = [want[g][column] for g in res.groups["subgroup"]]
        assert_close(res.groups[column].to_numpy(dtype=float), np.asarray(expected, dtype=float), f"{name}.{column}")
    assert_close([res.q_between, res.p_between], [case["Q"], case["p"]], f"{name}.Q")
    assert res.df_between == case["df"] == len(want) - 1


def test_own_variance_components_differ_from_the_shared_ones():
    """The CBT case: the subgroups' own between-trial variances are not one value, and each
    subgroup's estimate moves from the shared-components model's."""
    case = CASES["metapsy_cbt_control"]
    own = separate_multilevel_subgroups(case["yi"], case["vi"], case["cluster"], case["group"], rho=case["rho"])
    shared = multilevel_subgroups(case["yi"], case["vi"], case["cluster"], case["group"], rho=case["rho"])
    assert own.groups["sigma2_between"].nunique() == len(own.groups)
    assert not np.allclose(own.groups["estimate"], shared.groups["estimate"])


def test_a_subgroup_of_one_study_is_refused_by_name():
    """Assink & Wibbelink's (2016) covert delinquency effects all come from one study."""
    wald = json.loads((ROOT / "tests/reference/wald_reference.json").read_text())["cases"]["assink2016_deltype"]
    with pytest.raises(ValueError, match="subgroup 'covert' has fewer than two clusters"):
        separate_multilevel_subgroups(wald["yi"], wald["vi"], wald["cluster"], wald["group"], rho=0.6)
    with pytest.raises(ValueError, match="subgroup 'b' has fewer than two clusters"):
        separate_multilevel_subgroups([0.1, 0.2, 0.3, 0.4], [0.1] * 4, ["s1", "s2", "s3", "s3"], ["a", "a", "b", "b"])
    with pytest.raises(ValueError, match="at least two subgroups"):
        separate_multilevel_subgroups([0.1, 0.2], [0.1] * 2, ["s1", "s2"], ["a", "a"])
