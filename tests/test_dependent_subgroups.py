"""Issue 23: the CBT row and subgroups rest on the primary (CHE) model: its weights in the GRADE
shares, its subgroup test, the bias corrections on one effect per trial, and participants with a
shared arm counted once."""

import numpy as np
import pandas as pd
import pytest

from analysis.meta import multilevel_subgroups
from analysis.review.characteristics import participants
from analysis.review.dependency import MODELS, aggregation_shares, comparison_weights, dependency_fits, dependency_table
from analysis.review.trials import LINE
from analysis.review.verdicts import contrast_word
from analysis.review.wording import contrast_test_words, robust_subgroup_sentence
from conftest import ROOT

CBT = pd.read_csv(ROOT / "tests/reference/datasets/metapsy_cbt_control.csv")


@pytest.fixture(scope="module")
def fits():
    return dependency_fits(CBT["yi"], CBT["vi"], CBT["trial"], method="REML", hksj=True, rho=0.5)


@pytest.mark.parametrize("model", list(MODELS))
def test_each_models_weights_reproduce_its_estimate(fits, model):
    table = dependency_table(CBT["yi"], CBT["vi"], CBT["trial"], rho=0.5, fits=fits).set_index("model")
    w = comparison_weights(fits, model)
    assert len(w) == len(CBT) and (w > 0).all()
    assert float(w @ CBT["yi"] / w.sum()) == pytest.approx(table.loc[model, "estimate"], rel=1e-10)


def test_weight_shares_differ_between_the_independent_and_the_che_model(fits):
    waitlist = (CBT["control"] == "wl").to_numpy()
    ind, che = (comparison_weights(fits, m) for m in ("independent", "che"))
    share = lambda w: w[waitlist].sum() / w.sum()  # noqa: E731
    assert abs(share(ind) - share(che)) > 0.01  # the model matters: the shares are not interchangeable
    with pytest.raises(ValueError, match="model must be one of"):
        comparison_weights(fits, "fixed")


def test_aggregation_shares_sum_to_one_in_each_trial():
    shares = aggregation_shares(CBT["vi"], CBT["trial"], 0.5)
    sums = pd.Series(shares).groupby(CBT["trial"]).sum()
    assert np.allclose(sums, 1.0)
    single = CBT["trial"].map(CBT["trial"].value_counts()) == 1
    assert np.allclose(shares[single.to_numpy()], 1.0)


def test_a_shared_arm_is_counted_once():
    rows = pd.DataFrame({LINE: [2, 3, 4], "condition_arm1": ["cbt", "cbt", "cbt"],
                         "multi_arm1": ["cbt group", "cbt phone", "cbt"], "condition_arm2": ["wl", "wl", "cau"],
                         "multi_arm2": ["wl", "wl", "cau"], "n_arm1": [20, 18, 30], "n_arm2": [21, 21, 29]})
    trials = pd.DataFrame({LINE: [2, 3, 4], "trial": ["A", "A", "B"]})
    assert participants(rows, trials) == 20 + 18 + 21 + 30 + 29
    assert participants(rows.drop(columns=["multi_arm1", "multi_arm2"]), trials) == 20 + 18 + 21 + 30 + 29
    # one therapy arm against two waitlists (a and b): the therapy arm once, both waitlists
    two_waitlists = rows.assign(multi_arm1="cbt", n_arm1=[20, 20, 30], multi_arm2=["wl a", "wl b", "cau"])
    assert participants(two_waitlists, trials) == 20 + 21 + 21 + 30 + 29
    assert participants(rows.assign(n_arm1=np.nan, n_arm2=np.nan), trials) is None


def test_subgroup_words_follow_the_cluster_robust_test():
    res = multilevel_subgroups(CBT["yi"], CBT["vi"], CBT["trial"], CBT["control"])
    words = robust_subgroup_sentence(res.test, "control condition")
    assert words.startswith("the effect differs significantly by control condition (cluster-robust Wald test, F = ")
    assert f"on 2 and {res.test.df_denom:.1f} df" in words
    same = multilevel_subgroups(CBT["yi"], CBT["vi"], CBT["trial"], np.where(CBT["control"] == "wl", "a", "b"))
    assert "differs significantly" in robust_subgroup_sentence(same.test, "x")
    null = res.test.__class__(Q=1.0, F=0.5, df_num=2, df_denom=20.0, p=0.6, nu=21.0)
    assert robust_subgroup_sentence(null, "x").startswith("the effect does not differ significantly by x")
    diff = res.contrast("wl", "cau")
    assert contrast_word(diff["difference"], diff["p"]) == "larger"
    assert contrast_word(-diff["difference"], diff["p"]) == "smaller"
    assert contrast_word(diff["difference"], 0.2) == "not significantly different"
    assert diff["ci_low"] < diff["difference"] < diff["ci_high"] and diff["ci_low"] > 0  # p < 0.05
    assert contrast_test_words(diff) == (f"difference in g {diff['difference']:.2f}, 95% CI {diff['ci_low']:.2f} to "
                                         f"{diff['ci_high']:.2f}; CR2 t-test on {diff['df']:.1f} df, p = {diff['p']:.3f}")
    assert res.extra_memberships == res.groups["clusters"].sum() - CBT["trial"].nunique() > 0
    from analysis.meta.subgroups import spanning_clusters

    spans = spanning_clusters(CBT["trial"], CBT["control"])
    assert int((spans - 1).sum()) == res.extra_memberships  # a trial in three subgroups counts twice more
    assert spans.index[0] == "Moldovan, 2013" and spans.iloc[0] == 3 and (spans >= 2).all()


def test_a_subset_is_pooled_by_the_primary_model():
    from analysis.meta import che
    from analysis.review.psychotherapy import MIN_SUBSET_TRIALS, primary_on

    trials = CBT
    y, v = CBT["yi"].to_numpy(), CBT["vi"].to_numpy()
    wl = (CBT["control"] == "wl").to_numpy()
    row = primary_on(y, v, trials, wl, method="REML", hksj=True, rho=0.5, model="che")
    _, rob = che(y[wl], v[wl], CBT["trial"][wl], rho=0.5)
    assert row["estimate"] == pytest.approx(rob.estimate, rel=1e-12) and row["ci_low"] == pytest.approx(rob.ci_low)
    assert row["clusters"] == CBT.loc[wl, "trial"].nunique() and row["model"] == "che"
    few = CBT["trial"].isin(CBT["trial"].unique()[:MIN_SUBSET_TRIALS - 1]).to_numpy()
    assert primary_on(y, v, trials, few, method="REML", hksj=True, rho=0.5, model="che") is None


def test_the_primary_variances_carry_metafors_profile_intervals(fits):
    import json

    from analysis.review.dependency import variance_intervals
    from analysis.review.robustness_wording import variance_words

    want = json.loads((ROOT / "tests/reference/profile_ci_reference.json").read_text())["cases"]["metapsy_cbt_che"]
    got = variance_intervals(fits, "che")
    for part, key in (("between", "sigma2_between"), ("within", "sigma2_within")):
        assert got[part]["ci_low"] == pytest.approx(want[key]["ci_low"], abs=1e-6)
        assert got[part]["ci_high"] == pytest.approx(want[key]["ci_high"], abs=1e-6)
    b, w = got["between"], got["within"]
    assert variance_words(got) == (f"between-trial sigma² {b['estimate']:.3f} (95% CI {b['ci_low']:.3f} to "
                                   f"{b['ci_high']:.3f}), within-trial {w['estimate']:.3f} ({w['ci_low']:.3f} to "
                                   f"{w['ci_high']:.3f})")
    tau = variance_intervals(fits, "independent")
    ci = fits["independent"].tau2_ci()
    assert tau["within"] is None and tau["between"]["ci_low"] == ci["tau2_low"]
    assert variance_words(tau).startswith(f"tau² {fits['independent'].tau2:.3f} (95% CI {ci['tau2_low']:.3f} to ")
    assert "above 10.000" in variance_words({"between": {**b, "ci_high": 10.0, "high_at_bound": True}, "within": None})
    with pytest.raises(ValueError):
        variance_intervals(fits, "fourlevel")


def test_the_summary_of_findings_gives_i2_with_its_interval():
    from analysis.review.grade_rules import Indicators
    from analysis.review.indicators import heterogeneity_comment

    ind = Indicators(measure="RR", estimate=1.26, ci_low=1.22, ci_high=1.3, pi_low=1.06, pi_high=1.49, i2=23.4, k=139,
                     i2_low=10.6, i2_high=34.2)
    assert heterogeneity_comment(ind) == "I² 23% (95% CI 11 to 34%); PI 1.06 to 1.49"
    multilevel = Indicators(measure="SMD", estimate=0.8, ci_low=0.7, ci_high=0.9, pi_low=-0.5, pi_high=2.2, i2=92, k=270)
    assert heterogeneity_comment(multilevel, "between-trial sigma² 0.468") == (
        "I² 92% (total, without an interval; those of its variance components follow); between-trial sigma² 0.468; "
        "PI -0.50 to 2.20")
    assert heterogeneity_comment(multilevel) == "I² 92%; PI -0.50 to 2.20"
