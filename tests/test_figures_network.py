"""The network figures: the graph's nodes and edges, the league heatmap's cells and the
comparison-adjusted funnel's points are the engine's numbers, and treatment names from data are
escaped (no mathtext in matplotlib text, no bidirectional control in the alt text)."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib import cbook

from analysis.figures.network import (comparison_adjusted_funnel, direct_comparisons, league_heatmap,
                                      network_graph, study_treatments, treatment_sizes)
from analysis.figures.network_fit import league_matrix
from analysis.meta.nma import nma
from analysis.meta.nma_data import arm_contrasts

matplotlib.use("Agg")

# a 3-arm trial A/B/C and a 2-arm trial A/B; s3 loses its D arm (no events) and so contributes nothing
SMALL = pd.DataFrame({"study": ["s1", "s1", "s1", "s2", "s2", "s3", "s3"],
                      "treatment": ["A", "B", "C", "A", "B", "A", "D"],
                      "events": [10, 15, 12, 8, 14, 5, None], "n": [50, 50, 40, 60, 60, 30, 30]})

# four treatments, one 3-arm trial, enough studies for a random-effects fit
ARMS = pd.DataFrame([
    ("t1", "P", 10, 50), ("t1", "X", 20, 50), ("t1", "Y", 18, 50),
    ("t2", "P", 12, 60), ("t2", "X", 22, 60),
    ("t3", "P", 9, 45), ("t3", "Y", 15, 45),
    ("t4", "X", 25, 70), ("t4", "Z", 30, 70),
    ("t5", "P", 7, 40), ("t5", "Z", 16, 40),
    ("t6", "Y", 14, 55), ("t6", "Z", 19, 55),
    ("t7", "P", 11, 80), ("t7", "X", 24, 80),
], columns=["study", "treatment", "events", "n"])

# the reference carries a right-to-left override; the others mathtext and TeX-like markup
HOSTILE = {"P": "x\u202ey", "X": "$\\alpha$", "Y": "a_{b}", "Z": "plain"}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def small():
    return arm_contrasts(SMALL, "OR", reference="A")


@pytest.fixture(scope="module")
def fit():
    return nma(arm_contrasts(ARMS, "OR", reference="P"))


@pytest.fixture(scope="module")
def hostile_fit():
    arms = ARMS.assign(treatment=ARMS["treatment"].map(HOSTILE))
    return nma(arm_contrasts(arms, "OR", reference=HOSTILE["P"]))


def test_direct_comparisons_count_each_pair_once_per_study(small):
    assert small.treatments == ("A", "B", "C")
    direct = direct_comparisons(small)
    assert direct.to_dict("records") == [{"treat_a": "A", "treat_b": "B", "studies": 2},
                                         {"treat_a": "A", "treat_b": "C", "studies": 1},
                                         {"treat_a": "B", "treat_b": "C", "studies": 1}]


def test_direct_comparisons_follow_the_treatment_order():
    direct = direct_comparisons(arm_contrasts(SMALL, "OR", reference="C"))
    assert list(zip(direct["treat_a"], direct["treat_b"], direct["studies"])) == [
        ("C", "A", 1), ("C", "B", 1), ("A", "B", 2)]


def test_study_treatments_and_sizes_count_only_the_kept_arms(small):
    pairs = study_treatments(small)
    assert sorted(map(tuple, pairs.to_numpy())) == [("s1", "A"), ("s1", "B"), ("s1", "C"),
                                                    ("s2", "A"), ("s2", "B")]
    sizes = treatment_sizes(small)
    assert sizes.to_dict("list") == {"treatment": ["A", "B", "C"], "arms": [2, 2, 1]}
    sizes = treatment_sizes(small, SMALL)
    # s3's A arm (30) is not in the network: its study was left with one arm
    assert sizes["participants"].tolist() == [110.0, 110.0, 40.0]


def test_network_graph_draws_one_node_per_treatment_and_one_edge_per_comparison(small):
    fig = network_graph(small, max_node_area=900.0, max_edge_width=7.0)
    ax = fig.axes[0]
    nodes = next(c for c in ax.collections if c.get_gid() == "nodes")
    edges = next(c for c in ax.collections if c.get_gid() == "edges")
    offsets = nodes.get_offsets()
    assert len(offsets) == 3
    np.testing.assert_allclose(offsets[0], [0.0, 1.0], atol=1e-12)  # the reference at the top
    np.testing.assert_allclose(nodes.get_sizes(), [900.0, 900.0, 450.0])  # by arms: 2, 2, 1
    segments = edges.get_segments()
    assert len(segments) == 3
    np.testing.assert_allclose(edges.get_linewidths(), [3.5, 3.5, 7.0])  # thinnest first
    np.testing.assert_allclose(segments[-1], [offsets[0], offsets[1]])  # A-B, 2 studies, on top
    assert [t.get_text() for t in ax.texts if t.get_gid() == "node-label"] == ["A", "B", "C"]
    assert sorted(t.get_text() for t in ax.texts if t.get_gid() == "edge-count") == ["1", "1", "2"]
    assert fig.finding == ("Network of 3 treatments from 2 studies: 3 of the 3 possible comparisons have "
                           "direct evidence, the most studied being B against A (2 studies).")


def test_network_graph_sizes_nodes_by_participants_and_can_hide_counts(small):
    fig = network_graph(small, arms=SMALL, edge_counts=False, max_node_area=100.0, min_node_area=50.0)
    ax = fig.axes[0]
    nodes = next(c for c in ax.collections if c.get_gid() == "nodes")
    np.testing.assert_allclose(nodes.get_sizes(), [100.0, 100.0, 50.0])  # 40/110 * 100 floored at 50
    assert not [t for t in ax.texts if t.get_gid() == "edge-count"]
    assert [t.get_label() for t in ax.get_legend().legend_handles] == [
        "110 participants", "28 participants", "2 studies", "1 study"]


def test_league_heatmap_cells_are_the_exponentiated_league_estimates(fit):
    fig = league_heatmap(fit)
    pscores = fit.pscores()
    order = list(pscores.sort_values(ascending=False).index)
    image = fig.axes[0].get_images()[0].get_array()
    index = {t: i for i, t in enumerate(order)}
    league = fit.league()
    assert len(league) == 6
    for row in league.itertuples():
        i, j = index[row.treat1], index[row.treat2]
        assert image[i, j] == pytest.approx(np.exp(row.estimate), rel=1e-12)
        assert image[j, i] == pytest.approx(np.exp(-row.estimate), rel=1e-12)
        assert fig.league["ci_low"][i, j] == pytest.approx(np.exp(row.ci_low), rel=1e-12)
        assert fig.league["ci_high"][j, i] == pytest.approx(np.exp(-row.ci_low), rel=1e-12)
    assert np.ma.getmaskarray(image).diagonal().all()
    cells = [t for t in fig.axes[0].texts if t.get_gid() == "cell"]
    assert len(cells) == 12  # the off-diagonal cells, with their CI (4 treatments)
    first = league.iloc[0]
    assert f"{np.exp(first.estimate):.2f}\n({np.exp(first.ci_low):.2f},\n{np.exp(first.ci_high):.2f})" in {
        t.get_text() for t in cells}
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [f"{t} ({pscores[t]:.2f})" for t in order]
    excludes = int(((league["ci_low"] > 0) | (league["ci_high"] < 0)).sum())
    assert fig.finding == (f"League table of 4 treatments ordered by P-score, from {order[0]} "
                           f"({pscores[order[0]]:.2f}) to {order[-1]} ({pscores[order[-1]]:.2f}); the 95% CI "
                           f"excludes an odds ratio of 1 in {excludes} of the 6 pairs.")


def test_league_heatmap_on_the_model_scale_in_a_given_order(fit):
    order = ["Z", "Y", "X", "P"]
    fig = league_heatmap(fit, transform=lambda v: v, order=order, annotate=None)
    image = fig.axes[0].get_images()[0].get_array()
    b = dict(zip(fit.treatments, fit.effects()))
    expected = np.array([[b[r] - b[c] if r != c else np.nan for c in order] for r in order])
    np.testing.assert_allclose(np.ma.filled(image, np.nan), expected, rtol=1e-12, atol=1e-14)
    assert not [t for t in fig.axes[0].texts if t.get_gid() == "cell"]
    with pytest.raises(ValueError, match="every treatment"):
        league_matrix(fit, ["Z", "Y", "X"])


def expected_deviations(fit):
    b = dict(zip(fit.treatments, fit.effects()))
    d = fit.data
    return np.array([y - (b[t1] - b[t2]) for y, t1, t2 in zip(d.yi, d.treat1, d.treat2)])


def funnel_offsets(fig):
    return {c.get_gid(): c.get_offsets() for c in fig.axes[0].collections if c.get_gid()}


def test_comparison_adjusted_funnel_points_are_the_deviations_from_the_network_estimate(fit):
    fig = comparison_adjusted_funnel(fit)
    deviation = expected_deviations(fit)
    se = np.sqrt(fit.data.vi)
    vs_ref = (fit.data.treat1 == "P") | (fit.data.treat2 == "P")
    assert vs_ref.tolist() == fig.funnel["vs_reference"].tolist()
    drawn = funnel_offsets(fig)
    np.testing.assert_allclose(drawn["vs-reference"][:, 0], deviation[vs_ref], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(drawn["vs-reference"][:, 1], se[vs_ref], rtol=1e-12)
    np.testing.assert_allclose(drawn["active"][:, 0], deviation[~vs_ref], rtol=1e-10, atol=1e-12)
    outside = int((np.abs(deviation) > 1.959963984540054 * se).sum())
    assert fig.finding == (f"Comparison-adjusted funnel plot of {fit.data.k} contrasts from 7 studies "
                           f"({int(vs_ref.sum())} against P): {outside} lie outside the 95% "
                           f"pseudo-confidence limits.")
    assert fig.axes[0].get_ylim()[0] > fig.axes[0].get_ylim()[1]  # standard error 0 at the top


def test_comparison_adjusted_funnel_ticks_print_the_ascii_minus_of_the_text(fit):
    from analysis.book.glue import FigureOutput

    fig = comparison_adjusted_funnel(fit)
    with matplotlib.rc_context({"axes.unicode_minus": True}):  # matplotlib's default, outside the book's save
        svg = FigureOutput(fig).svg()  # as the book saves it: text kept as text
    assert "\u2212" not in svg and "&#8722;" not in svg and ">-" in svg
    plt.close(fig)


def test_comparison_adjusted_funnel_reorients_by_order(fit):
    order = ["P", "Z", "X", "Y"]  # Z against X and Y turn round, the rest stay
    fig = comparison_adjusted_funnel(fit, order=order)
    rank = {t: i for i, t in enumerate(order)}
    sign = np.array([1.0 if rank[a] > rank[b] else -1.0 for a, b in zip(fit.data.treat1, fit.data.treat2)])
    assert sign.tolist() == [1, 1, 1, 1, -1, 1, -1, 1]
    np.testing.assert_allclose(fig.funnel["deviation"].to_numpy(), sign * expected_deviations(fit),
                               rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="lacks"):
        comparison_adjusted_funnel(fit, order=["Z", "Y", "X"])


def texts_of(fig):
    """Every text matplotlib would draw: texts, tick labels, axis labels, titles, legends."""
    out = []
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        out += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title()]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return out


def assert_escaped(fig):
    texts = texts_of(fig)
    assert [t for t in texts if cbook.is_math_text(t)] == []
    assert [t for t in texts + [fig.finding] if "\u202e" in t] == []


def test_hostile_treatment_names_are_escaped_in_every_figure(hostile_fit):
    data = hostile_fit.data
    assert data.treatments == ("x\u202ey", "$\\alpha$", "a_{b}", "plain")
    graph = network_graph(data, title="$x$")
    labels = [t.get_text() for t in graph.axes[0].texts if t.get_gid() == "node-label"]
    assert labels == ["x<U+202E>y", "\\$\\alpha\\$", "a_{b}", "plain"]
    assert graph.axes[0].get_title() == "\\$x\\$"
    assert_escaped(graph)
    # the alt text is not mathtext: the name as it is, the bidirectional control shown
    assert graph.finding.endswith("the most studied being $\\alpha$ against x<U+202E>y (3 studies).")
    league = league_heatmap(hostile_fit)
    assert_escaped(league)
    ticks = {t.get_text() for t in league.axes[0].get_xticklabels()}
    assert ticks == {"x<U+202E>y", "\\$\\alpha\\$", "a_{b}", "plain"}
    funnel = comparison_adjusted_funnel(hostile_fit)
    assert_escaped(funnel)
    assert "against x<U+202E>y (6)" in texts_of(funnel)
    assert "(6 against x<U+202E>y)" in funnel.finding
    for fig in (graph, league, funnel):
        fig.canvas.draw()  # renders: a stray mathtext would fail to parse
