"""Three-level models, vcalc/CHE and CR2 robust inference against R's metafor and clubSandwich.

The fixtures are written by tests/reference/make_multilevel_reference.R and carry their own
input data, so no R is needed here. Every stored number is compared to 1e-6 (absolute below 1,
relative above), as tests/test_metafor_reference.py does.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.meta import BlockCov, che, rma, rma_mv, robust, vcalc
from conftest import assert_close as shared_assert_close

REFERENCE = json.loads((Path(__file__).parent.parent / "reference" / "multilevel_reference.json").read_text())
CASES = REFERENCE["cases"]
TOL = 1e-6


def assert_close(actual, expected, what, tol=TOL):
    shared_assert_close(actual, expected, what, tol, "R")


def inputs(case):
    d = case["data"]
    V = None
    if "V" in d:
        V = BlockCov(np.asarray(d["cluster"]), np.asarray(d["V"]["rows"]), np.asarray(d["V"]["cols"]),
                     np.asarray(d["V"]["vals"], dtype=float))
    return np.asarray(d["yi"], dtype=float), np.asarray(d["vi"], dtype=float), np.asarray(d["cluster"]), V


FITS = [(c, f) for c in CASES for f in c["fits"]]
CHE = [(c, f) for c in CASES for f in c["che"]]
ROBUST = [(c, r) for c in CASES for r in c["robust"]]


def test_fixture_coverage():
    assert REFERENCE["source"]["metafor"] == "3.8.1"
    assert REFERENCE["source"]["clubSandwich"] == "0.5.8"
    names = {c["name"] for c in CASES}
    assert {"konstantopoulos2011", "assink2016", "kalaian1996_zero", "bornmann2007", "berkey1998_fullV",
            "bcg_by_allocation"} <= names
    assert {(f["method"], f["test"]) for _, f in FITS} == {(m, t) for m in ("REML", "ML") for t in ("z", "t")}
    zero = [f for c, f in FITS if c["name"] == "kalaian1996_zero"]
    assert zero and all(f["result"]["sigma2_between"] < 1e-8 for f in zero)
    assert any(min(np.unique(c["data"]["cluster"], return_counts=True)[1]) == 1 for c, _ in FITS)
    assert {r["on"].split()[0] for _, r in ROBUST} == {"rma.mv", "rma.uni"} and CHE


@pytest.mark.parametrize("case,fit", FITS, ids=[f"{c['name']}-{f['method']}-{f['test']}" for c, f in FITS])
def test_three_level_matches_metafor(case, fit):
    yi, vi, cluster, V = inputs(case)
    res = rma_mv(yi, vi, cluster, V=V, method=fit["method"], test=fit["test"])
    got = res.to_dict()
    for key, expected in fit["result"].items():
        assert_close(got[key], expected, f"{case['name']} {key}")


@pytest.mark.parametrize("case,fit", CHE, ids=[f"{c['name']}-che-{f['method']}" for c, f in CHE])
def test_che_matches_metafor_and_clubsandwich(case, fit):
    yi, vi, cluster, _ = inputs(case)
    model, rob = che(yi, vi, cluster, obs=case["data"].get("obs"), rho=fit["rho"], method=fit["method"])
    for key, expected in fit["result"].items():
        assert_close(model.to_dict()[key], expected, f"{case['name']} che {key}")
    for key, expected in fit["robust"].items():
        assert_close(rob.to_dict()[key], expected, f"{case['name']} che robust {key}")


@pytest.mark.parametrize("case,rob", ROBUST, ids=[f"{c['name']}-{r['on']}" for c, r in ROBUST])
def test_robust_matches_clubsandwich(case, rob):
    yi, vi, cluster, V = inputs(case)
    kind, method, *test = rob["on"].split()
    if kind == "rma.mv":
        fit = rma_mv(yi, vi, cluster, V=V, method=method, test=test[0])
    else:
        fit = rma(yi, vi, method=method)
    got = robust(fit, cluster).to_dict()
    for key, expected in rob["result"].items():
        assert_close(got[key], expected, f"{case['name']} {rob['on']} {key}")


# ---- properties -----------------------------------------------------------------------------------

def simulate(n_clusters=40, seed=1, sizes=(1, 2, 3, 5)):
    rng = np.random.default_rng(seed)
    size = rng.choice(sizes, n_clusters)
    cluster = np.repeat(np.arange(n_clusters), size)
    k = len(cluster)
    vi = rng.uniform(0.01, 0.2, k)
    yi = 0.3 + rng.normal(0, 0.3, n_clusters)[cluster] + rng.normal(0, 0.2, k) + rng.normal(0, np.sqrt(vi))
    return yi, vi, cluster


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_all_singletons_reduce_to_random_effects(method):
    """With one effect per cluster only the sum of the components is identified: it is rma's tau²."""
    yi, vi, _ = simulate(sizes=(1,))
    res = rma_mv(yi, vi, np.arange(len(yi)), method=method)
    uni = rma(yi, vi, method=method)
    assert_close(res.sigma2_between + res.sigma2_within, uni.tau2, "tau2")
    assert_close(res.estimate, uni.estimate, "estimate")
    assert_close(res.se, uni.se[0], "se")
    assert_close(res.q, uni.q, "Q")
    total = res.sigma2_between + res.sigma2_within  # rma stops Fisher scoring at a change of 1e-5, so
    assert_close(res.i2_between + res.i2_within, 100 * total / (uni.vt + total), "I2")  # I² from its vt


def test_vcalc_dense_equals_blocks_and_formula():
    yi, vi, cluster = simulate(n_clusters=8)
    obs = np.arange(len(vi)) % 3
    V = vcalc(vi, cluster, obs=obs, rho=0.4).to_dense()
    same_cluster = cluster[:, None] == cluster[None, :]
    r = np.where(obs[:, None] == obs[None, :], 1.0, 0.4) * same_cluster
    np.testing.assert_allclose(V, r * np.sqrt(np.outer(vi, vi)), rtol=1e-14)
    assert np.array_equal(V, V.T)
    blocks = rma_mv(yi, vi, cluster, V=vcalc(vi, cluster, rho=0.4))
    dense = rma_mv(yi, vi, cluster, V=vcalc(vi, cluster, rho=0.4).to_dense())
    assert_close(blocks.estimate, dense.estimate, "estimate")
    assert_close(blocks.sigma2_between, dense.sigma2_between, "sigma2")


def test_rho_zero_is_diagonal_and_row_order_does_not_matter():
    yi, vi, cluster = simulate()
    base = rma_mv(yi, vi, cluster)
    zero = rma_mv(yi, vi, cluster, V=vcalc(vi, cluster, rho=0.0))
    perm = np.random.default_rng(3).permutation(len(yi))
    shuffled = rma_mv(yi[perm], vi[perm], cluster[perm].astype(str))
    for other in (zero, shuffled):
        for key, value in base.to_dict().items():
            assert_close(other.to_dict()[key], value, key)


def test_robust_on_balanced_clusters_is_the_cluster_mean_t_test():
    """Equal weights, equal cluster sizes: CR2 gives the t test on cluster means with J - 1 df."""
    rng = np.random.default_rng(5)
    J, n = 12, 3
    cluster = np.repeat(np.arange(J), n)
    yi = rng.normal(0.2, 0.3, J * n)
    fit = rma(yi, np.full(J * n, 0.05), method="FE")
    rob = robust(fit, cluster)
    means = yi.reshape(J, n).mean(axis=1)
    assert_close(rob.df, J - 1, "df")
    assert_close(rob.se, means.std(ddof=1) / np.sqrt(J), "se")


def test_robust_needs_nested_clusters_and_accepts_coarser_ones():
    yi, vi, cluster = simulate()
    fit = rma_mv(yi, vi, cluster)
    coarse = robust(fit, cluster // 4)
    assert coarse.k_clusters == len(np.unique(cluster // 4)) and coarse.df > 0
    with pytest.raises(ValueError):
        robust(fit, np.arange(len(yi)))


@pytest.mark.parametrize("rho", [None, 0.0, 0.3, 0.8])
def test_the_flat_likelihood_is_the_block_one(rho):
    """Woodbury without blocks (diagonal V, or one constant correlation) gives the block
    computation's log-likelihood, score and information, at zero components too."""
    from analysis.meta.blocks import diagonal_cov, grouping
    from analysis.meta.mvlik import evaluate
    from analysis.meta.mvlik_lowrank import lowrank

    yi, vi, cluster = simulate(n_clusters=15, sizes=(1, 2, 3, 5, 8))
    V = diagonal_cov(vi, cluster) if rho is None else vcalc(vi, cluster, rho=rho)
    grp = grouping(cluster)
    flat = lowrank(yi, grp.codes, grp.n_clusters, V)
    assert flat is not None and flat.U.shape[1] == (1 if rho in (None, 0.0) else 2)
    blocks, ys = grp.stack(V.rows, V.cols, V.vals), grp.gather(yi)
    for theta in ([0.0, 0.0], [0.05, 0.0], [0.0, 0.02], [0.03, 0.07], [1.5, 0.4]):
        for reml in (True, False):
            a, b = flat.evaluate(np.array(theta), reml), evaluate(np.array(theta), blocks, ys, reml)
            for name in ("loglik", "mu", "S", "rss", "tr_p"):
                assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-11, abs=1e-13), name
            for name in ("score", "expected", "observed"):
                np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-10, atol=1e-12, err_msg=name)


def test_a_covariance_of_other_form_keeps_the_block_likelihood():
    from analysis.meta.blocks import grouping
    from analysis.meta.mvlik_lowrank import lowrank

    yi, vi, cluster = simulate(n_clusters=8)
    grp = grouping(cluster)
    assert lowrank(yi, grp.codes, grp.n_clusters, vcalc(vi, cluster, obs=np.arange(len(vi)) % 3, rho=0.4)) is None
    assert lowrank(yi, grp.codes, grp.n_clusters, vcalc(vi, cluster, rho=-0.2)) is None
