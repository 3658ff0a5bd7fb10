"""Network meta-analysis against R's metafor: contrasts, rma.mv fits, league tables, P-scores,
the design-by-treatment test, the Q decomposition, node-splitting and the funnel data.

The fixtures are written by tests/reference/make_nma_reference.R (metafor's documented network
examples, dat.senn2013 and dat.hasselblad1998, and the bundled GRISELDA arms) and carry their
arm-level inputs, so no R is needed here. Every stored number is compared to 1e-6 (absolute
below 1, relative above).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.meta.nma import nma
from analysis.meta.nma_coherence import design_by_treatment, independent_columns, node_split, q_decomposition
from analysis.meta.nma_data import arm_contrasts, treatment_order
from conftest import assert_close as shared_assert_close

REFERENCE = json.loads((Path(__file__).parent.parent / "reference" / "nma_reference.json").read_text())
CASES = {c["name"]: c for c in REFERENCE["cases"]}
TOL = 1e-6


def assert_close(actual, expected, what, tol=TOL):
    shared_assert_close(actual, expected, what, tol, "R")


def data_of(case):
    arms = pd.DataFrame(case["arms"])
    return arm_contrasts(arms, case["measure"], order=case["order"], to=case["to"])


@pytest.fixture(scope="module")
def networks():
    return {name: data_of(case) for name, case in CASES.items()}


def test_reference_records_its_versions():
    assert REFERENCE["source"]["metafor"].startswith("3.")
    assert set(CASES) >= {"senn2013_md", "hasselblad1998_or", "griselda_response", "griselda_dropout"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_contrasts_and_covariance(name, networks):
    case, data = CASES[name], networks[name]
    ref = case["contrasts"]
    assert data.study.tolist() == [str(s) for s in ref["study"]]
    assert data.treat1.tolist() == ref["treat1"] and data.treat2.tolist() == ref["treat2"]
    assert_close(data.yi, ref["yi"], f"{name} yi")
    assert_close(data.vi, ref["vi"], f"{name} vi")
    dense = np.zeros((data.k, data.k))
    dense[ref["V"]["rows"], ref["V"]["cols"]] = ref["V"]["vals"]
    assert_close(data.V.to_dense(), dense, f"{name} V")


FITS = [(name, i) for name, case in sorted(CASES.items()) for i in range(len(case["fits"]))]


@pytest.mark.parametrize("name,i", FITS)
def test_fit_matches_rma_mv(name, i, networks):
    ref = CASES[name]["fits"][i]
    fit = nma(networks[name], model=ref["model"], method=ref["method"])
    what = f"{name} {ref['model']} {ref['method']}"
    r = ref["result"]
    assert (fit.k, fit.p) == (r["k"], r["p"])
    assert_close(fit.tau2, r["tau2"], what + " tau2")
    for key in ("loglik", "deviance", "aic", "bic", "aicc", "q", "p_q", "qm", "p_qm"):
        assert_close(getattr(fit, key), r[key], f"{what} {key}")
    assert fit.q_df == r["q_df"]
    coef = fit.coef_frame()
    assert coef["treatment"].tolist() == ref["coef"]["treatment"]
    for key in ("estimate", "se", "z", "p", "ci_low", "ci_high"):
        assert_close(coef[key].to_numpy(), ref["coef"][key], f"{what} coef {key}")
    assert_close(fit.vcov, np.asarray(ref["vcov"]), what + " vcov")
    league = fit.league()
    assert league["treat1"].tolist() == ref["league"]["treat2"]
    assert league["treat2"].tolist() == ref["league"]["treat1"]
    # R's league rows are treat1 - treat2 with treat1 earlier: ours are the reverse contrast
    for key, sign in (("estimate", -1), ("se", 1)):
        assert_close(sign * league[key].to_numpy(), ref["league"][key], f"{what} league {key}")
    assert_close(-league["ci_high"].to_numpy(), ref["league"]["ci_low"], what + " league ci")
    assert_close(-league["pi_high"].to_numpy(), ref["league"]["pi_low"], what + " league pi")
    assert_close(-league["pi_low"].to_numpy(), ref["league"]["pi_high"], what + " league pi")
    assert_close(fit.pscores(larger_is_better=True).to_numpy(), ref["pscore_large_good"], what + " P-scores")


def test_pscores_reverse_with_direction(networks):
    fit = nma(networks["griselda_response"])
    assert_close(fit.pscores(True).to_numpy() + fit.pscores(False).to_numpy(), np.ones(len(fit.treatments)),
                 "P-scores of both directions")


def test_sucra_approximates_pscores(networks):
    """Rücker & Schwarzer (2015): the P-score is the SUCRA of the normal approximation."""
    fit = nma(networks["griselda_response"])
    sucra = fit.sucra(draws=40000).set_index("treatment")["sucra"]
    assert np.max(np.abs(sucra.to_numpy() - fit.pscores().to_numpy())) < 0.01
    assert sucra.to_numpy().tolist() == fit.sucra(draws=40000)["sucra"].tolist()


def test_metafor_help_page_model(networks):
    """The dat.hasselblad1998 help page's own code (to.wide, calc.v, contrmat) gives the same fit."""
    ref = REFERENCE["help_page"]
    fit = nma(networks[ref["name"]])
    assert_close(fit.coef, ref["estimate"], "help page estimates")
    assert_close(fit.se, ref["se"], "help page SEs")
    assert_close(fit.tau2, ref["tau2"], "help page tau2")
    assert_close(fit.loglik, ref["loglik"], "help page loglik")


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "funnel" in c))
def test_comparison_adjusted_funnel(name, networks):
    f = nma(networks[name]).funnel()
    assert_close(f["deviation"].to_numpy(), CASES[name]["funnel"]["deviation"], name + " funnel")
    assert_close(f["se"].to_numpy(), CASES[name]["funnel"]["se"], name + " funnel se")


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "dbt" in c))
def test_design_by_treatment(name, networks):
    ref, res = CASES[name]["dbt"], design_by_treatment(networks[name])
    assert res.df == ref["df"]
    for key in ("q", "p", "tau2", "lrt", "p_lrt", "tau2_ml", "q_fixed", "p_fixed"):
        assert_close(getattr(res, key), ref[key], f"{name} design-by-treatment {key}")
    assert res.df == ref["lrt_df"]


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "qdecomp" in c))
def test_q_decomposition(name, networks):
    ref, res = CASES[name]["qdecomp"], q_decomposition(networks[name])
    for key in ("q_total", "p_total", "q_within", "p_within", "q_between", "p_between"):
        assert_close(getattr(res, key), ref[key], f"{name} {key}")
    assert (res.df_total, res.df_within, res.df_between) == (ref["df_total"], ref["df_within"], ref["df_between"])
    by = res.by_design.set_index("design")
    designs = np.atleast_1d(ref["designs"]).tolist()
    assert_close(by.loc[designs, "q"].to_numpy(), ref["q_design"], name + " Q per design")
    assert by.loc[designs, "df"].tolist() == np.atleast_1d(ref["df_design"]).tolist()
    assert_close(res.q_within + res.q_between, res.q_total, "within + between")


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "nodesplit" in c))
def test_node_split(name, networks):
    ref = pd.DataFrame(CASES[name]["nodesplit"])
    res = node_split(networks[name])
    assert list(zip(res["treat1"], res["treat2"])) == list(zip(ref["treat1"], ref["treat2"]))
    assert res["k_direct"].tolist() == ref["k_direct"].tolist()
    for key in ("tau2", "direct", "se_direct", "indirect", "se_indirect", "difference", "se_difference", "z", "p"):
        assert_close(res[key].to_numpy(), ref[key].to_numpy(float), f"{name} node-split {key}")


def test_zero_cells_only0_and_all():
    arms = pd.DataFrame({"study": ["a", "a", "b", "b"], "treatment": ["P", "X", "P", "X"],
                         "events": [0, 5, 3, 6], "n": [20, 20, 30, 30]})
    only0 = arm_contrasts(arms, "OR", reference="P")
    assert_close(only0.yi, [np.log(5.5 / 15.5) - np.log(0.5 / 20.5), np.log(6 / 24) - np.log(3 / 27)], "only0")
    every = arm_contrasts(arms, "OR", reference="P", to="all")
    assert_close(every.yi[1], np.log(6.5 / 24.5) - np.log(3.5 / 27.5), "all")


def test_dropped_arms_are_listed():
    arms = pd.DataFrame({"study": ["a", "a", "a", "b", "b", "c", "c"],
                         "treatment": ["P", "X", "X", "P", "Y", "P", "X"],
                         "events": [2, 5, 4, 3, np.nan, 4, 6], "n": [20, 20, 20, 30, 30, 25, 25]})
    data = arm_contrasts(arms, "OR", reference="P")
    reasons = data.dropped.set_index("study")["reason"]
    assert reasons["a"] == "arms of one treatment merged"
    assert set(data.dropped.loc[data.dropped["study"] == "b", "reason"]) == {"missing events/n", "one arm left"}
    assert data.study.tolist() == ["a", "c"] and data.n_arms == 4


def test_disconnected_network_is_refused():
    arms = pd.DataFrame({"study": ["a", "a", "b", "b"], "treatment": ["P", "X", "Y", "Z"],
                         "events": [2, 5, 3, 6], "n": [20, 20, 30, 30]})
    with pytest.raises(ValueError, match="disconnected"):
        nma(arm_contrasts(arms, "OR", reference="P"))


def test_treatment_order_and_independent_columns():
    assert treatment_order(["b", "placebo", "a", "B"], "placebo") == ("placebo", "B", "a", "b")
    X = np.array([[1, 0, 1, 2], [0, 1, 1, 0], [0, 0, 0, 0.0], [0, 0, 1, 1.0]]).T
    # a zero column and a sum of earlier columns are dropped, as lm() drops them
    assert independent_columns(np.column_stack([X, X[:, 0] + X[:, 1]])).tolist() == [0, 1, 3]


def test_random_effects_need_a_spare_contrast():
    # two studies, two effects: the contrasts fit exactly and tau^2 is not identified (metafor stops too)
    arms = pd.DataFrame({"study": ["a", "a", "b", "b"], "treatment": ["P", "X", "P", "Y"],
                         "events": [2, 5, 3, 6], "n": [20, 20, 30, 30]})
    data = arm_contrasts(arms, "OR", reference="P")
    with pytest.raises(ValueError, match="2 contrasts cannot estimate 2 effects"):
        nma(data)
    fixed = nma(data, model="fixed")
    assert fixed.q == pytest.approx(0.0, abs=1e-12) and fixed.q_df == 0
    assert fixed.coef[0] == pytest.approx(np.log(5 / 15) - np.log(2 / 18), abs=1e-12)
    assert fixed.bic == -np.inf


def test_a_saturated_inconsistency_model_gives_only_the_common_effect_test():
    # six designs, seven contrasts: the design-by-treatment model fits every contrast exactly
    arms = pd.DataFrame({
        "study": ["s1", "s1", "s2", "s2", "s3", "s3", "s3", "s4", "s4", "s5", "s5", "s6", "s6"],
        "treatment": ["P", "A", "P", "B", "P", "A", "B", "A", "B", "P", "C", "B", "C"],
        "events": [10, 32, 12, 18, 8, 12, 24, 22, 15, 1, 6, 16, 11],
        "n": [50, 50, 60, 60, 40, 40, 40, 55, 55, 30, 31, 48, 47]})
    data = arm_contrasts(arms, "OR", reference="P")
    dbt = design_by_treatment(data)
    q = q_decomposition(data)
    assert np.isnan(dbt.q) and np.isnan(dbt.p) and np.isnan(dbt.tau2)
    assert dbt.df == q.df_total == 4
    assert dbt.q_fixed == pytest.approx(q.q_total, rel=1e-9)
    splits = node_split(data)
    assert len(splits) > 0 and np.all(np.isfinite(splits["p"]))
    from analysis.review.network_wording import coherence
    assert coherence(dbt).endswith("with random effects it cannot be computed, since the inconsistency model "
                                   "fits every contrast")


@pytest.mark.parametrize("name", ["griselda_response", "hasselblad1998_or"])
def test_dense_blocks_and_sparse_matrices_give_one_fit(name, networks, monkeypatch):
    """A design small enough is fitted in dense study blocks, a large one with sparse matrices
    (nma_gls.DENSE_MAX); both paths must give the same fit and node-splits."""
    import analysis.meta.nma_gls as gls

    data = networks[name]
    dense_fit, dense_split = nma(data, method="REML"), node_split(data, method="REML")
    monkeypatch.setattr(gls, "DENSE_MAX", 0)
    sparse_fit, sparse_split = nma(data, method="REML"), node_split(data, method="REML")
    assert sparse_fit.tau2 == pytest.approx(dense_fit.tau2, rel=1e-9, abs=1e-14) and sparse_fit.loglik == pytest.approx(dense_fit.loglik, rel=1e-10)
    assert np.allclose(sparse_fit.coef, dense_fit.coef, rtol=1e-9, atol=1e-12)
    assert np.allclose(sparse_fit.vcov, dense_fit.vcov, rtol=1e-8, atol=1e-12)
    numeric = dense_split.select_dtypes("number").columns
    assert np.allclose(sparse_split[numeric].to_numpy(float), dense_split[numeric].to_numpy(float),
                       rtol=1e-7, atol=1e-10, equal_nan=True)
