"""The review's network of antidepressants (GRISELDA arms) and the words of its chapter."""

import re

import numpy as np
import pandas as pd
import pytest

from analysis.book import params
from analysis.meta.nma import nma
from analysis.meta.nma_data import arm_contrasts
from analysis.review import network_wording as words
from analysis.review.errors import DataError
from analysis.review.importers.cipriani import read_cipriani_arms
from analysis.review.network import (imputed_trials, network_analysis, network_arms, published_comparison,
                                     read_published, reproduction, shift, versus_reference)
from analysis.review.scales import scale_name

DEFAULTS = params.defaults_for("network")


@pytest.fixture(scope="module")
def arms():
    return read_cipriani_arms(params.ROOT / DEFAULTS["cipriani_arms"])


@pytest.fixture(scope="module")
def analyses(arms):
    return {o: network_analysis(arms, o) for o in ("response", "dropout")}


def test_network_counts(arms, analyses):
    r = analyses["response"]["data"]
    assert len(r.treatments) == 22 and r.treatments[0] == "placebo"
    assert r.n_studies == 473 and r.k == 542
    assert (r.dropped["reason"] == "missing events/n").sum() == 108
    assert len(imputed_trials(arms)) == arms.loc[arms["Responders_imputed"].astype(str).str.strip() == "1",
                                                 "StudyID"].str.strip().nunique()


def test_versus_reference_is_the_league_against_placebo(analyses):
    a = analyses["response"]
    vs = a["vs_reference"].set_index("treatment")
    coef = a["fit"].coef_frame().set_index("treatment")
    assert np.allclose(vs.loc[coef.index, "or"], np.exp(coef["estimate"]), rtol=1e-12)
    assert np.allclose(vs.loc[coef.index, "ci_low"], np.exp(coef["ci_low"]), rtol=1e-12)
    assert vs["pscore"].is_monotonic_decreasing
    assert vs.index[0] == "amitriptyline" and round(vs.loc["amitriptyline", "or"], 2) == 2.10
    assert vs.loc["fluoxetine", "direct_studies"] > 0


def test_same_fit_as_the_engine(arms, analyses):
    fit = nma(arm_contrasts(network_arms(arms, "dropout"), "OR", reference="placebo"))
    assert np.allclose(fit.coef, analyses["dropout"]["fit"].coef, rtol=0, atol=1e-14)


def test_reproduction_rule():
    assert reproduction(1.02, 0.9, 1.2, 1.0, 1.05) == "reproduced"
    assert reproduction(1.0, 0.9, 1.2, 1.05, 1.05) == "reproduced"
    assert reproduction(1.2, 1.1, 1.3, 1.12, 1.05) == "within the interval"
    assert reproduction(1.2, 1.15, 1.3, 1.0, 1.05) == "differs"
    with pytest.raises(ValueError):
        reproduction(1.0, 0.9, 1.1, 1.0, 0.9)


def test_published_comparison(analyses):
    pub = read_published(params.ROOT / DEFAULTS["published"])
    table = published_comparison(analyses, pub, 1.05)
    assert table["treatment"].tolist() == ["amitriptyline", "reboxetine", "agomelatine", "fluoxetine", "clomipramine"]
    ami = table.iloc[0]
    assert ami["published_or"] == 2.13 and np.isclose(ami["ratio"], ami["or"] / 2.13)
    assert table["verdict"].tolist() == ["reproduced"] * 4 + ["within the interval"]
    # clomipramine's published dropout OR excludes 1 (1.30, 1.01 to 1.68); the re-derived CI includes it
    assert table["same_conclusion"].tolist() == [True, True, True, True, False]
    assert words.count_of_verdicts(table) == (
        "4 of the 5 published odds ratios are reproduced; 1 is further away but within the re-derived 95% CI; "
        "the published conclusion (whether the interval excludes an odds ratio of 1, and on which side) is not "
        "reproduced for clomipramine (dropout)")
    assert words.quoted(table).count("“") == 2
    assert words.interval_widths(table).endswith("narrower than the published interval")


def test_published_file_errors_name_line_and_column(tmp_path):
    bad = tmp_path / "pub.csv"
    bad.write_text("outcome,treatment,or,ci_low,ci_high,source,location,quote\n"
                   "response,x,abc,1,2,s,l,q\nresponse,y,1.2,-1,2,s,l,q\n")
    with pytest.raises(DataError) as err:
        read_published(bad)
    text = str(err.value)
    assert "line 2, column 'or'" in text and "line 3, column 'ci_low'" in text
    (tmp_path / "short.csv").write_text("outcome,treatment\nresponse,x\n")
    with pytest.raises(DataError, match="column 'or'"):
        read_published(tmp_path / "short.csv")


def test_unsupported_method_is_refused(arms):
    with pytest.raises(DataError, match="network.method"):
        network_analysis(arms, method="DL", coherence=False)


def test_sensitivity_without_imputed(arms, analyses):
    sens = network_analysis(arms, "response", drop_imputed=True, coherence=False)
    assert sens["data"].n_studies < analyses["response"]["data"].n_studies
    assert not set(sens["data"].study) & imputed_trials(arms)
    moved = shift(analyses["response"]["vs_reference"], sens["vs_reference"])
    both = analyses["response"]["vs_reference"].set_index("treatment")["or"]
    other = sens["vs_reference"].set_index("treatment")["or"]
    assert np.isclose(moved["max_ratio"], (other / both).loc[moved["drug"]])
    assert abs(np.log(moved["max_ratio"])) == pytest.approx(np.abs(np.log(other / both)).max())


def small_vs(or_, low, high):
    return pd.DataFrame({"treatment": list("abc"), "or": or_, "ci_low": low, "ci_high": high,
                         "pscore": [0.9, 0.5, 0.1]})


def test_against_reference_words():
    assert words.against_reference(small_vs([2, 1.5, 1.2], [1.5, 1.1, 1.01], [2.5, 2, 1.4]), True,
                                   "odds of response") == ("All 3 drugs had higher odds of response than placebo "
                                                           "(every 95% CI above 1)")
    mixed = words.against_reference(small_vs([0.8, 1.0, 1.3], [0.7, 0.8, 1.1], [0.9, 1.2, 1.5]), False, "odds of dropping out")
    assert mixed == ("1 of the 3 drugs has higher odds of dropping out than placebo; 1 of the 3 drugs has lower odds "
                     "of dropping out than placebo; for 1 drug the 95% CI includes 1 (no clear difference from placebo)")
    assert words.range_of_effects(small_vs([2, 1.5, 1.2], [1, 1, 1], [3, 3, 3])) == "from OR 1.20 (c) to 2.00 (a)"
    assert words.best_by_pscore(small_vs([2, 1.5, 1.2], [1, 1, 1], [3, 3, 3]), top=2) == "a (0.90) and b (0.50)"


def test_ranking_certainty_reads_the_contrast_of_the_top_two():
    vs = small_vs([2, 1.9, 1.1], [1.5, 1.4, 1.0], [2.5, 2.4, 1.2])  # a, then b, by P-score
    # the league holds b versus a (treat1 later): log OR of b against a
    league = pd.DataFrame({"treat1": ["b"], "treat2": ["a"], "estimate": [np.log(0.8)],
                           "ci_low": [np.log(0.7)], "ci_high": [np.log(0.9)]})
    assert words.ranking_certainty(vs, league) == (
        "a is ahead of b in the network's direct contrast of the two (OR 1.25, 95% CI 1.11 to 1.43)")
    wide = league.assign(ci_low=np.log(0.6), ci_high=np.log(1.1))
    assert words.ranking_certainty(vs, wide).startswith(
        "the network's contrast of a with b does not tell them apart (OR 1.25, 95% CI 0.91 to 1.67)")


def test_split_summary_and_coherence_words(analyses):
    splits = pd.DataFrame({"p": [0.01, 0.2, 0.5, 0.03]})
    text = words.split_summary(splits, 0.05)
    assert text.startswith("2 of the 4 comparisons with both direct and indirect evidence show a difference")
    assert "against 0.2 expected" in text and "would be 0.01" in text
    assert words.split_summary(pd.DataFrame({"p": []})) == "no comparison has both direct and indirect evidence"
    dbt = analyses["response"]["design_by_treatment"]
    assert words.coherence(dbt) == (f"{'finds' if dbt.p < 0.05 else 'does not find'} evidence of incoherence "
                                    f"(Q = {dbt.q:.1f}, df {dbt.df}, p = {dbt.p:.3f})")


def test_coherence_overall_names_every_check_and_their_disagreement():
    from types import SimpleNamespace as NS

    dbt = NS(df=141, q=166.1, p=0.073, lrt=201.3, p_lrt=0.0004, tau2=0.034, tau2_ml=0.01)
    q = NS(q_between=237.0, df_between=141, p_between=0.00001)
    text = words.coherence_overall(dbt, q, tau2_consistency=0.036)
    assert text.startswith("the checks disagree: the between-design Q under common effects (Q = 237.0, df 141, "
                           "p < 0.001) and the likelihood-ratio test (chi² = 201.3, df 141, p < 0.001) find evidence")
    assert "the random-effects Wald test (Q = 166.1, df 141, p = 0.073) does not" in text
    assert text.endswith("fitted by REML, tau² is 0.036 in the consistency model and 0.034 in the inconsistency model")
    # ML puts the inconsistency model's tau² at 0: the likelihood-ratio test is left out, with the reason
    collapsed = words.coherence_overall(NS(**{**dbt.__dict__, "tau2_ml": 0.0}), q)
    assert "likelihood-ratio test (" not in collapsed
    assert collapsed.endswith("the likelihood-ratio test is not used, since fitted by ML the inconsistency model's "
                              "tau² is 0 and the test would compare a common-effect with a random-effects model")
    calm = NS(df=3, q=1.0, p=0.8, lrt=1.2, p_lrt=0.75, tau2=0.01, tau2_ml=0.01)
    assert words.coherence_overall(calm, NS(q_between=1.5, df_between=3, p_between=0.68)).startswith(
        "no global check finds evidence of incoherence at p < 0.05")
    saturated = NS(df=4, q=float("nan"), p=float("nan"), lrt=float("nan"), p_lrt=float("nan"), tau2=float("nan"),
                   tau2_ml=float("nan"))
    assert words.coherence_overall(saturated, NS(q_between=12.0, df_between=4, p_between=0.017)) == (
        "every global check finds evidence of incoherence at p < 0.05: the between-design Q under common effects "
        "(Q = 12.0, df 4, p = 0.017)")


def test_heterogeneity_words():
    assert words.heterogeneity(0.25, "HAM-D points", ratio=False) == (
        "tau² = 0.250 (tau = 0.50 on the HAM-D points scale): about 95% of trials' true mean differences lie within "
        "1.0 HAM-D points of the network's")
    assert words.heterogeneity(0.04) == ("tau² = 0.040 (tau = 0.20 on the log odds ratio scale): about 95% of trials' "
                                         "true odds ratios lie within a factor of 1.48 of the network's")


def test_sensitivity_shift_words():
    assert words.sensitivity_shift({"max_ratio": 1.26, "drug": "vilazodone", "n": 21, "spearman": 0.83}) == (
        "the odds ratio that moves most is vilazodone's, 26 per cent higher without the imputed trials, and the "
        "rank correlation of the P-scores of the 21 drugs is 0.83")


def test_versus_reference_direction():
    arms = pd.DataFrame({"study": ["a", "a", "b", "b", "c", "c"], "treatment": ["P", "X", "P", "Y", "X", "Y"],
                         "events": [10, 20, 10, 12, 20, 13], "n": [50] * 6})
    fit = nma(arm_contrasts(arms, "OR", reference="P"), model="fixed")
    good = versus_reference(fit, True)
    bad = versus_reference(fit, False)
    assert good["treatment"].tolist() == ["X", "Y"] and bad["treatment"].tolist() == ["Y", "X"]


def test_effect_modifier_words_follow_the_slope():
    row = {"slope": -0.1611, "ci_low": -0.2051, "ci_high": -0.1170, "per": "10 percentage points",
           "label": "response on placebo", "more": "the higher the response on placebo", "tau2": 0.0293,
           "tau2_base": 0.0361}
    assert words.effect_modifier(row) == (
        "the odds ratio of response against placebo is smaller the higher the response on placebo (ratio of odds "
        "ratios 0.851 per 10 percentage points, 95% CI 0.815 to 0.890); it accounts for 19% of the heterogeneity "
        "variance")
    up = dict(row, slope=0.027, ci_low=0.013, ci_high=0.041, per="HAM-D point", label="baseline severity (HAM-D)",
              more="the more severe the depression at baseline")
    assert words.effect_modifier(up).startswith("the odds ratio of response against placebo is larger the more severe")
    flat = dict(row, slope=-0.01, ci_low=-0.05, ci_high=0.03, tau2=0.037)
    assert "shows no clear change with the response on placebo" in words.effect_modifier(flat)
    assert words.effect_modifier(flat).endswith("it accounts for none of the heterogeneity variance")


def test_against_mid_counts_names_the_largest_difference_apart():
    vs = pd.DataFrame({"treatment": ["a", "b", "c"], "md": [-3.9, -2.5, -1.0],
                       "ci_low": [-4.4, -3.4, -1.8], "ci_high": [-3.5, -1.6, -0.2]})
    assert words.against_mid_counts(vs, 3.0) == (
        "by its 95% CI, 1 of the 3 drugs is beyond the 3-point minimal important difference (MID); 1 may reach the "
        "MID; 1 is smaller than the MID; the largest difference is a's, -3.9 points")


def test_the_mid_judgement_on_one_version_names_the_drugs_that_move_grouped_by_how():
    from analysis.review.mid_wording import mid_judgement_on_one_version

    pooled = pd.DataFrame({"treatment": ["a", "b", "c", "d"], "md": [-3.9, -2.5, -2.6, -1.0],
                           "ci_low": [-4.4, -3.4, -3.2, -1.8], "ci_high": [-3.5, -1.6, -2.0, -0.2]})
    one = pooled.iloc[:3].assign(ci_low=[-4.4, -2.9, -2.8])
    text = mid_judgement_on_one_version(pooled, one, 3.0, "HAM-D, 17 items", trials=(369, 192))
    assert text == ("on HAM-D, 17 items alone, the version the criterion is defined on, the judgement against the "
                    "minimal important difference changes between the two networks for 2 of the 3 drugs they share: "
                    "b and c (may reach the MID on every version, smaller than the MID on HAM-D, 17 items alone); "
                    "1 drug of the network of every version has no trial on HAM-D, 17 items alone; the HAM-D, 17 "
                    "items network has 192 of the 369 trials, so a change mixes the version of the scale with the "
                    "trials that use it")
    beyond = pooled.iloc[:3].assign(ci_high=[-3.5, -3.1, -2.0])  # b's CI wholly below -3
    assert "b (beyond the MID on every version, may reach the MID on HAM-D-17 alone)" in \
        mid_judgement_on_one_version(beyond, pooled.iloc[:3], 3.0, "HAM-D-17")
    assert mid_judgement_on_one_version(pooled, pooled, 3.0, "X").endswith(
        "is the same for all 4 drugs the two networks share")


def test_scale_name_spells_the_release_codes_for_the_reader():
    assert scale_name("HAMD17") == "HAM-D, 17 items" and scale_name("hamd21") == "HAM-D, 21 items"
    assert scale_name("HAMDunspecified") == "HAM-D, number of items not stated"
    assert scale_name(" MADRS ") == "MADRS" and scale_name("IDS-IVR-30") == "IDS-IVR-30"
    assert scale_name("*") == "not recorded"


def test_hamd_versions_counts_the_trials_of_each_version(arms):
    result = network_analysis(arms, "hamd", coherence=False)
    hamd = result["data"]
    text = words.hamd_versions(arms, hamd, result["mixed_versions"])
    assert text.startswith("HAM-D, 17 items: ")
    assert "HAMD" not in text  # no release code reaches the reader
    used = arms[arms["StudyID"].str.strip().isin(set(hamd.study)) & arms["scale"].str.startswith("HAMD")]
    assert f"HAM-D, 17 items: {used.loc[used['scale'] == 'HAMD17', 'StudyID'].nunique()} trials;" in text
    # Kramer1998's paroxetine arm is rated on the HAM-D-21, its placebo arm on the HAM-D-24: no
    # version rates most of its arms, so it is left out of the network, and named as a reader names it
    assert "Kramer1998" not in set(hamd.study)
    assert text.endswith("; rated on more than one version, left out where no version rates most of their arms: "
                         "Kramer 1998 (HAM-D, 21 items and HAM-D, 24 items; left out)")
    counts = [int(n) for n in re.findall(r": (\d+) trials?", text)]
    assert sum(counts) == hamd.n_studies
    assert not re.search(r"\([^)]*\(", text)  # no bracket inside a bracket


def test_each_trial_keeps_the_arms_of_one_version():
    from analysis.review.scales import one_version_per_trial, study_label

    arms = pd.DataFrame({"StudyID": ["a", "a", "b", "b", "c", "c", "c"],
                         "drug_base": ["placebo", "x", "placebo", "x", "placebo", "x", "y"],
                         "scale": ["HAMD17", "HAMD17", "HAMD21", "HAMD24", "HAMD17", "HAMD17", "HAMD21"],
                         "mean": [10.0, 8.0, 11.0, 9.0, 12.0, 9.0, 8.0], "sd": [4.0] * 7, "n": [30] * 7})
    keep, mixed = one_version_per_trial(arms["StudyID"], arms["scale"])
    assert keep.tolist() == [True, True, False, False, True, True, False]
    assert mixed["study"].tolist() == ["b", "c"] and mixed["versions"].tolist() == [("HAMD21", "HAMD24"), ("HAMD17", "HAMD21")]
    assert pd.isna(mixed.loc[0, "kept"]) and mixed.loc[1, "kept"] == "HAMD17"
    data = arm_contrasts(arms[keep].rename(columns={"StudyID": "study", "drug_base": "treatment"}), "MD",
                         reference="placebo")
    assert words.hamd_versions(arms, data, mixed) == (
        "HAM-D, 17 items: 2 trials; rated on more than one version, left out where no version rates most of their "
        "arms: b (HAM-D, 21 items and HAM-D, 24 items; left out), c (HAM-D, 17 items and HAM-D, 21 items; kept on "
        "the HAM-D, 17 items)")
    assert words.hamd_versions(arms, data) == "HAM-D, 17 items: 2 trials"
    assert [study_label(s) for s in ("Kramer1998", "Smith2004a", "GSK 29060/785", "Lee")] == [
        "Kramer 1998", "Smith 2004a", "GSK 29060/785", "Lee"]


def test_fixed_never_prints_minus_zero():
    assert words.fixed(-0.04) == "0.0" and words.fixed(-0.0) == "0.0" and words.fixed(0.04) == "0.0"
    assert words.fixed(-2.84) == "-2.8" and words.fixed(-0.06) == "-0.1" and words.fixed(-0.004, 2) == "0.00"
    assert words.fixed_with_ci(-1.43, -2.8, -0.01) == "-1.4 (-2.8 to 0.0)"
    assert words.fixed_with_ci(float("nan"), 0, 1) == "not fitted"
    from analysis.review.network import md_table

    vs = pd.DataFrame({"treatment": ["a"], "md": [-1.43], "ci_low": [-2.3], "ci_high": [-0.6],
                       "pi_low": [-2.81], "pi_high": [-0.04], "direct_studies": [2]})
    row = md_table(vs, 3.0).iloc[0]
    assert row["95% prediction interval"] == "-2.8 to 0.0" and row["MD vs placebo, HAM-D points (95% CI)"] == (
        "-1.4 (-2.3 to -0.6)")
    ranked = pd.DataFrame({"treatment": ["a", "b"], "pscore": [0.9, 0.8]})
    league = pd.DataFrame({"treat1": ["a"], "treat2": ["b"], "estimate": [-0.3], "ci_low": [-0.6], "ci_high": [-0.004]})
    assert "difference -0.30, 95% CI -0.60 to 0.00" in words.ranking_certainty(ranked, league, ratio=False)


def test_the_characteristics_table_prints_counts_with_a_thousands_separator(arms):
    from analysis.review.characteristics import network_characteristics, network_characteristics_table

    counts = network_characteristics(arms).set_index("treatment")
    shown = network_characteristics_table(arms).set_index("treatment")
    assert shown.loc["all", "arms"] == f"{len(arms):,}" == "1,199"
    assert shown.loc["placebo", "randomised"] == f"{counts.loc['placebo', 'randomised']:,}"
    assert "," in shown.loc["placebo", "randomised"] and shown.loc["all", "trials"] == "522"
    assert shown.loc["all", "year"] == counts.loc["all", "year"]  # years are not counts: 1999, not 1,999


def test_the_league_download_has_every_pair_as_odds_ratios(analyses):
    from analysis.review.network import league_table

    fit = analyses["response"]["fit"]
    table = league_table(fit, "response")
    T = len(fit.treatments)
    assert len(table) == T * (T - 1) // 2 == 231
    vs = analyses["response"]["vs_reference"].set_index("treatment")
    row = table[(table["treatment"] == "amitriptyline") & (table["versus"] == "placebo")].iloc[0]
    assert row["odds_ratio"] == pytest.approx(vs.loc["amitriptyline", "or"], abs=1e-4)
    assert row["ci_low"] == pytest.approx(vs.loc["amitriptyline", "ci_low"], abs=1e-4)
    assert (table["ci_low"] <= table["odds_ratio"]).all() and (table["pi_low"] <= table["ci_low"]).all()


def test_a_glued_table_offers_its_cells_as_csv_with_formulas_neutralised():
    import csv
    import io

    from analysis.book.glue import Table

    text = Table(pd.DataFrame({"drug": ["=HYPERLINK(\"x\")", "a, b"], "n": [1.0, None]}))._repr_mimebundle_()["text/csv"]
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["drug", "n"], ["'=HYPERLINK(\"x\")", "1"], ["a, b", ""]]


def test_transitivity_table_counts_each_comparisons_trials_and_words_name_the_extremes(arms):
    from analysis.review.network_transitivity import OTHER, transitivity_frame, transitivity_table, transitivity_words

    frame = transitivity_frame(arms, min_trials=10)
    named = frame[frame["comparison"] != OTHER]
    assert (named["trials"] >= 10).all() and frame["comparison"].iloc[-1] == OTHER
    top = named.iloc[0]
    data = network_analysis(arms, "response")["data"]
    a, b = top["comparison"].split(" vs ")
    assert top["trials"] == len(set(data.study[(data.treat1 == a) & (data.treat2 == b)]))
    years = arms[arms["StudyID"].str.strip().isin(set(data.study[(data.treat1 == a) & (data.treat2 == b)]))]
    assert top["year_median"] == pytest.approx(years.groupby(years["StudyID"].str.strip())["year"].mean().median())
    words = transitivity_words(frame)
    low = named.loc[named["year_median"].idxmin()]
    assert f"ranges from {low['year_median']:.0f} ({low['comparison']})" in words
    assert "Baseline HAM-D: median (quartiles; trials with a value)" in transitivity_table(frame).columns
    assert transitivity_words(frame.iloc[:1]).startswith("fewer than two comparisons")


def test_the_hamd17_sensitivity_network_keeps_the_17_item_version_only(arms):
    every, only17 = network_analysis(arms, "hamd", coherence=False), network_analysis(arms, "hamd17", coherence=False)
    trials17 = set(arms.loc[arms["scale"] == "HAMD17", "StudyID"].str.strip())
    assert set(only17["data"].study) <= trials17
    assert 0 < only17["data"].n_studies < every["data"].n_studies
    assert only17["data"].measure == "MD" and not only17["larger_is_better"]


def test_the_published_table_names_the_place_once_and_the_coverage_is_counted(analyses):
    from analysis.review.network import published_table

    comparison = published_comparison(analyses, read_published(params.ROOT / DEFAULTS["published"]),
                                      DEFAULTS["reproduction_tolerance"])
    table = published_table(comparison)
    assert comparison["location"].nunique() == 1 and "Where published" not in table.columns
    two = comparison.assign(location=["p. 1"] + ["p. 2"] * (len(comparison) - 1))
    assert "Where published" in published_table(two).columns
    words_ = words.published_coverage(comparison, analyses)
    assert words_.startswith("for response, 2 of the 21 drugs (amitriptyline and reboxetine); for dropout, 3 of the 21 drugs")
