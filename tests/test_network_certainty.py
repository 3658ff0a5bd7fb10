"""CINeMA-style certainty of the network estimates: each domain's rule, and the table they make."""

from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
import pytest

from analysis.book import params
from analysis.review import network_certainty as nc
from analysis.review.grade_rules import MID
from analysis.review.importers.cipriani import read_cipriani_arms
from analysis.review.network import network_analysis, network_arms


@pytest.fixture(scope="module")
def griselda_arms():
    return read_cipriani_arms(params.ROOT / params.defaults_for("network")["cipriani_arms"])


def test_the_one_mid_as_an_odds_ratio():
    # RR 1.25 at a control risk of 0.4: p1 = 0.5, OR = 1 / (0.4 / 0.6) = 1.5
    assert nc.odds_ratio_mid(1.25, 0.4) == pytest.approx(1.5, abs=1e-12)
    with pytest.raises(ValueError, match="cannot hold"):
        nc.odds_ratio_mid(1.25, 0.85)


def test_thresholds_turn_the_mid_and_its_mirror_into_odds_ratios():
    marks = nc.thresholds(1.25, 0.4)
    # RR 1.25 at 0.4: 0.5, OR 1.5; RR 0.8 at 0.4: 0.32, OR (0.32/0.68)/(0.4/0.6) = 0.70588...
    assert marks["an important benefit"] == pytest.approx(1.5, abs=1e-12)
    assert marks["an important harm"] == pytest.approx((0.32 / 0.68) / (0.4 / 0.6), abs=1e-12)
    fewer = nc.thresholds(1.25, 0.4, larger_is_better=False)
    assert fewer["an important benefit"] == marks["an important harm"]
    assert fewer["an important harm"] == pytest.approx(1.5, abs=1e-12)


def test_imprecision_counts_the_thresholds_the_ci_straddles():
    marks = nc.thresholds(1.25, 0.4)
    assert nc.imprecision(1.6, 2.0, marks)[0] == 0
    assert nc.imprecision(1.2, 2.0, marks) == (-1, "the 95% CI straddles an important benefit (OR 1.50)")
    assert nc.imprecision(0.6, 1.7, marks)[0] == -2
    # when fewer events are better, the benefit lies below 1
    assert nc.imprecision(0.6, 0.9, nc.thresholds(1.25, 0.4, False)) == (
        -1, "the 95% CI straddles an important benefit (OR 0.71)")


def test_heterogeneity_counts_thresholds_the_prediction_interval_adds():
    marks = nc.thresholds(1.25, 0.4)
    assert nc.heterogeneity(1.6, 2.0, 1.55, 2.4, marks)[0] == 0
    assert nc.heterogeneity(1.6, 2.0, 1.3, 2.4, marks) == (
        -1, "the 95% prediction interval, unlike the CI, crosses an important benefit")
    assert nc.heterogeneity(0.9, 1.1, 0.6, 1.7, marks)[0] == -2


def test_incoherence_uses_the_split_then_the_global_test():
    split = pd.DataFrame({"treat1": ["X"], "treat2": ["P"], "p": [0.004]})
    assert nc.incoherence(split, "X", "P", NS(df=3, p=0.5))[0] == -2
    assert nc.incoherence(split.assign(p=0.03), "X", "P", NS(df=3, p=0.5))[0] == -1
    assert nc.incoherence(split, "Y", "P", NS(df=3, p=0.02)) == (
        -1, "no node-split for this comparison; the design-by-treatment test p = 0.02")
    # a p-value just under a cut-off is printed under it
    assert nc.incoherence(split.assign(p=0.0097), "X", "P", NS(df=3, p=0.5)) == (
        -2, "direct and indirect evidence differ by node-splitting with p = 0.0097")
    assert nc.incoherence(split.assign(p=0.03), "X", "P", NS(df=3, p=0.5), alpha=0.01)[0] == 0
    assert nc.incoherence(split, "Y", "P", NS(df=0, p=np.nan))[0] == 0


def test_reporting_bias_needs_ten_trials_and_is_peters_test():
    from analysis.meta import peters

    data = NS(treatments=("P", "X"), treat1=np.array(["X"] * 9), treat2=np.array(["P"] * 9),
              yi=np.linspace(0, 1, 9), vi=np.linspace(0.01, 0.1, 9))
    assert nc.reporting_bias(data, "X", np.full(9, 100.0)) == (
        0, "9 placebo-controlled trials: too few to test for small-study effects (fewer than 10)")
    # twelve trials whose small ones show larger effects: Peters' test on 1/n, not Egger's on the SE
    n = np.array([40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 600], dtype=float)
    vi = 4 / n
    yi = 0.2 + 30 / n + np.random.default_rng(7).normal(0, 0.05, 12)
    data = NS(treatments=("P", "X"), treat1=np.array(["X"] * 12), treat2=np.array(["P"] * 12), yi=yi, vi=vi)
    down, text = nc.reporting_bias(data, "X", n)
    p = peters(yi, vi, n)["p"]
    assert p < nc.SMALL_STUDY_P and down == -1
    assert text == f"Peters' test on 12 placebo-controlled trials, {nc._p(p)} (< {nc.SMALL_STUDY_P:g})"
    # without the small-study pattern the same trials raise no concern
    flat = NS(**{**vars(data), "yi": 0.5 + np.random.default_rng(7).normal(0, 0.05, 12)})
    assert nc.reporting_bias(flat, "X", n)[0] == 0 and peters(flat.yi, vi, n)["p"] >= nc.SMALL_STUDY_P


def test_trial_sizes_add_both_arms_of_each_contrast(griselda_arms):
    analysis = network_analysis(griselda_arms, "response")
    arms = network_arms(griselda_arms, "response")
    data = analysis["data"]
    sizes = nc.trial_sizes(data, arms)
    first = arms[arms["study"] == data.study[0]]
    expected = first.loc[first["treatment"].isin([data.treat1[0], data.treat2[0]]), "n"].sum()
    assert sizes[0] == expected and len(sizes) == data.k and (sizes > 0).all()


def test_the_griselda_table(griselda_arms):
    table = nc.network_certainty(network_analysis(griselda_arms, "response"), network_arms(griselda_arms, "response"))
    assert len(table) == 21 and set(table["certainty"]) <= {"high", "moderate", "low", "very low"}
    downgrades = table[list(nc.DOMAINS)].sum(axis=1)
    levels = ("very low", "low", "moderate", "high")
    assert (table["certainty"] == [levels[max(0, 3 + d)] for d in downgrades]).all()
    assert table["benefit_or"].iloc[0] == pytest.approx(nc.odds_ratio_mid(MID["RR"], table["control_risk"].iloc[0]))
    assert table["harm_or"].iloc[0] == pytest.approx(nc.odds_ratio_mid(1 / MID["RR"], table["control_risk"].iloc[0]))
    assert nc.wholly_indirect(table) == " and ".join(table.loc[table["direct_studies"] == 0, "treatment"]) or "none"
    assert (table["within_study_bias"] == 0).all() and (table["indirectness"] == 0).all()


def test_certainty_table_and_counts():
    table = pd.DataFrame({"treatment": ["X", "Y"], "or": [1.8, 1.2], "ci_low": [1.6, 0.9], "ci_high": [2.0, 1.6],
                          **{d: [0, 0] for d in nc.DOMAINS}, **{f"{d}_reason": ["r", "r"] for d in nc.DOMAINS},
                          "certainty": ["high", "low"]})
    table.loc[1, "imprecision"], table.loc[1, "imprecision_reason"] = -2, "wide"
    shown = nc.certainty_table(table)
    assert shown["Imprecision"].tolist() == ["no concerns", "major concerns"]
    assert shown["Reasons for downgrading"].tolist() == ["none", "imprecision: wide"]
    assert shown["OR vs placebo (95% CI)"].tolist() == ["1.80 (1.60 to 2.00)", "1.20 (0.90 to 1.60)"]
    assert nc.certainty_counts(table) == "1 high and 1 low"


def test_summary_table_sets_both_outcomes_side_by_side(griselda_arms):
    tables = nc.certainty_by_outcome(griselda_arms)
    table = nc.summary_table(tables)
    assert len(table) == 21 and table["Drug"].tolist() == tables["response"]["treatment"].tolist()
    fluox = table.set_index("Drug").loc["fluoxetine"]
    drop = tables["dropout"].set_index("treatment").loc["fluoxetine"]
    assert fluox["Dropout: certainty"] == drop["certainty"]
    assert fluox["Dropout: OR vs placebo (95% CI)"] == f"{drop['or']:.2f} ({drop['ci_low']:.2f} to {drop['ci_high']:.2f})"
    p0 = drop["control_risk"]
    column = [c for c in table.columns if c.startswith("Dropout per 1,000")][0]
    odds = drop["or"] * p0 / (1 - p0)
    assert fluox[column].startswith(f"{1000 * odds / (1 + odds):.0f} (")


def test_per_thousand():
    # OR 1.5 at 0.4: odds 0.6667 * 1.5 = 1, risk 0.5
    assert nc.per_thousand(1.5, 0.4) == pytest.approx(500.0, abs=1e-9)


def test_the_funnel_sentence_follows_the_test_and_the_direction():
    from analysis.review import network_wording as words

    assert "too few to test" in words.funnel_asymmetry({"k": 4, "bias": np.nan, "p": np.nan}, True, 0.1)
    calm = words.funnel_asymmetry({"k": 40, "bias": 3.0, "p": 0.4}, True, 0.1)
    assert calm.startswith("Peters' test on the 40 contrasts against placebo gives p = 0.400") and "no clear sign" in calm
    assert words.funnel_asymmetry({"k": 40, "bias": 3.0, "p": 0.01}, True, 0.1).endswith("towards the drugs, as small-study effects would")
    # dropout (fewer is better): a negative slope is smaller trials with fewer dropouts on the drug
    assert "towards the drugs" in words.funnel_asymmetry({"k": 40, "bias": -3.0, "p": 0.01}, False, 0.1)
    assert "towards placebo" in words.funnel_asymmetry({"k": 40, "bias": -3.0, "p": 0.01}, True, 0.1)


def test_funnel_asymmetry_is_peters_test_on_the_adjusted_contrasts(griselda_arms):
    from analysis.meta import peters

    analysis = network_analysis(griselda_arms, "response")
    arms = network_arms(griselda_arms, "response")
    fit, data = analysis["fit"], analysis["data"]
    result = nc.funnel_asymmetry(fit, arms)
    sel = data.treat2 == "placebo"
    expected = peters(fit.funnel()["deviation"].to_numpy()[sel], data.vi[sel], nc.trial_sizes(data, arms)[sel])
    assert result["k"] == int(sel.sum()) and result["p"] == pytest.approx(expected["p"], rel=1e-12)


def test_every_pair_of_drugs_is_rated_by_the_same_rules(griselda_arms):
    from analysis.review.network_pair_certainty import pair_certainty, pair_certainty_download

    analysis = network_analysis(griselda_arms, "response")
    arms = network_arms(griselda_arms, "response")
    pairs = pair_certainty(analysis, arms)
    drugs = len(analysis["data"].treatments) - 1
    assert len(pairs) == drugs * (drugs - 1) // 2 and "placebo" not in set(pairs["treatment"]) | set(pairs["versus"])
    vs = nc.network_certainty(analysis, arms).set_index("treatment")
    for r in pairs.itertuples():
        assert r.reporting_bias == min(vs.loc[r.treatment, "reporting_bias"], vs.loc[r.versus, "reporting_bias"])
    split = analysis["node_split"]
    row = split[(split["treat1"] != "placebo") & (split["treat2"] != "placebo")].iloc[0]
    rated = pairs[(pairs["treatment"] == row["treat1"]) & (pairs["versus"] == row["treat2"])].iloc[0]
    assert rated["incoherence_reason"].startswith("direct and indirect evidence differ by node-splitting")
    league = analysis["fit"].league().set_index(["treat1", "treat2"])
    assert rated["or"] == pytest.approx(np.exp(league.loc[(row["treat1"], row["treat2"]), "estimate"]))
    assert set(pairs["certainty"]) <= {"high", "moderate", "low", "very low"}
    assert list(pair_certainty_download(pairs, "response").columns[:3]) == ["outcome", "treatment", "versus"]
