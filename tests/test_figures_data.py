"""The numbers behind the reader's figures: risk-of-bias judgements, PRISMA counts,
leave-one-out and cumulative summaries, and the absolute effects of the Summary of Findings."""

import json

import numpy as np
import pandas as pd
import pytest

from analysis.review.errors import DataError
from analysis.review.importers import metapsy_comparisons, read_metapsy_psyctr
from analysis.meta.fit import rma
from analysis.review.prisma import prisma_boxes, prisma_counts, read_search_flow, source_boxes
from analysis.review.risk_of_bias import (low_risk, metapsy_domains, most_often_high, protocol_judgements, protocol_levels,
                                          rob_summary, rob_table)
from analysis.review.wording import acronym, comparison_label
from analysis.meta import cumulative, cumulative_summary, leave_one_out, leave_one_out_summary
from analysis.review.trials import LINE
from conftest import ROOT
from analysis.review.risk_of_bias import DOMAINS as DOMAIN_ORDER

PSYCTR = ROOT / "data/trials/metapsy-psyctr/data_v22.0.2_raw.csv"
FLOW = ROOT / "data/trials/metapsy-psyctr/search_flow_v22.json"


@pytest.fixture(scope="module")
def cbt():
    return metapsy_comparisons(read_metapsy_psyctr(PSYCTR), "cbt")


def test_metapsy_items_become_judgements_and_agree_with_the_database_score(cbt):
    rows = read_metapsy_psyctr(PSYCTR)
    assert set(cbt.filter(like="rob_").columns) == {"rob_sg", "rob_ac", "rob_ba", "rob_itt"}
    # the database's own 0-4 score counts low and self-report as low risk
    sel = rows[(rows["condition_arm1"] == "cbt") & (rows["primary"] == 1)]
    domains = metapsy_domains(sel)
    low = domains.isin(["low", "self-report"]).sum(axis=1)
    assert (low.to_numpy() == sel["rob"].to_numpy()).all()
    table = rob_table(cbt).set_index("domain")
    assert table.loc["Random sequence generation", "low"] == 152
    assert table.loc["Blinding of outcome assessment", "high (self-report)"] == 173
    assert (table[list(protocol_levels("high"))].sum(axis=1) == len(cbt)).all()
    as_database = rob_table(cbt, self_report="low").set_index("domain")
    assert as_database.loc["Blinding of outcome assessment", "low (self-report)"] == 173


def test_one_risk_of_bias_definition_for_table_figure_and_low_risk_rule(cbt):
    """A self-reported outcome is what the protocol's rule makes it everywhere: high by default
    (never drawn as low), and the low-risk rule, the table and the summary agree."""
    judged = protocol_judgements(cbt, "high")
    assert "self-report" not in set(judged.to_numpy().ravel())
    low = low_risk(cbt)
    all_low = np.logical_and.reduce([judged[c].str.startswith("low").to_numpy() for c in judged.columns])
    assert (low == all_low).all()
    summary = rob_summary(cbt)
    blinding = summary.loc["Blinding of outcome assessment"]
    assert blinding["high (self-report)"] == pytest.approx(100 * 173 / len(cbt))
    domain, pct = most_often_high(summary)
    high = summary["high"] + summary["high (self-report)"]
    assert domain == high.idxmax() and pct == pytest.approx(high.max())
    assert most_often_high(rob_summary(cbt, self_report="low"))[1] == pytest.approx(rob_summary(cbt)["high"].max())


def test_traffic_light_draws_self_report_as_the_protocol_counts_it(cbt):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.colors import to_hex

    from analysis.figures import ROB_COLOURS, rob_traffic_light

    few = cbt[cbt["rob_ba"] == "self-report"].head(3)
    fig = rob_traffic_light(few, few["study"].tolist())
    ax = fig.axes[0]
    blinding = list(DOMAIN_ORDER).index("ba")
    colours = {to_hex(c) for c in ax.collections[blinding].get_facecolors()}
    assert colours == {ROB_COLOURS["high (self-report)"].lower()}
    assert ROB_COLOURS["high (self-report)"] != ROB_COLOURS["low"]


def test_rob_summary_shares_sum_to_100_and_weights_count():
    trials = pd.DataFrame({"rob_sg": ["low", "high", "high", "not reported"]})
    plain = rob_summary(trials)
    assert plain.loc["Random sequence generation"].tolist() == [25.0, 0.0, 50.0, 25.0]
    assert list(plain.columns) == ["low", "high (self-report)", "high", "not reported"]
    weighted = rob_summary(trials, weights=[2, 1, 1, 0])
    assert weighted.loc["Random sequence generation"].tolist() == [50.0, 0.0, 50.0, 0.0]


def test_unknown_risk_of_bias_code_names_the_line_and_column():
    rows = pd.DataFrame({"sg": ["1", "maybe"], "ac": ["0", "NA"], LINE: [2, 3]})
    with pytest.raises(DataError) as err:
        metapsy_domains(rows, "x.csv")
    assert str(err.value) == "x.csv, line 3, column 'sg': 'maybe' is not a risk-of-bias code (1, 0, sr or NA)"


def test_prisma_counts_from_the_metapsy_search_flow():
    counts = prisma_counts(read_search_flow(FLOW))
    assert counts["databases"] == 30889 and counts["other"] == 126
    assert counts["duplicates"] == 30889 + 126 - 21563
    assert counts["excluded_screening"] == 21563 - 3584
    assert counts["excluded_full_text"] == 3584 - 809 == sum(counts["reasons"].values())
    assert list(counts["reasons"])[0] == "Companion papers"  # largest first
    boxes = prisma_boxes(counts, released=415, analysed=222, comparisons=270, therapy="CBT")
    assert [b["stage"] for b in boxes] == ["Identification", "Screening", "Screening", "Included", "Included", "Included"]
    assert "(n\u00a0=\u00a0394)" in boxes[4]["side"] and "(n\u00a0=\u00a0193)" in boxes[5]["side"]


def test_source_flow_boxes():
    boxes = source_boxes({"sources": 5, "sources_with_claims": 4, "claims": 13, "quantitative": 9, "narrative": 4,
                          "testable": 3, "untestable": 2, "outside_scope": 3, "checked_against_source": 1})
    assert "(n\u00a0=\u00a01)" in boxes[1]["side"] and "(n\u00a0=\u00a03)" in boxes[-1]["main"]
    side = boxes[3]["side"]
    assert "data are not open (n\u00a0=\u00a02)" in side and "scope of trial data (n\u00a0=\u00a03)" in side
    assert "cited publication (n\u00a0=\u00a01)" in side


@pytest.mark.parametrize(
    "edit,words",
    [
        (lambda d: d.pop("included"), "column 'included': required key is missing"),
        (lambda d: d.update({"records.screened": -1}), "line 5, column 'records.screened': -1 is not a whole number >= 0"),
        (lambda d: d.update({"records.screened": 40000}), "column 'records.screened': 40000 is more than the 21563 records left"),
    ],
)
def test_bad_search_flow_is_refused(tmp_path, edit, words):
    data = json.loads(FLOW.read_text())
    edit(data)
    bad = tmp_path / "flow.json"
    bad.write_text(json.dumps(data, indent=1))
    with pytest.raises(DataError) as err:
        read_search_flow(bad)
    assert str(bad) in str(err.value) and words in str(err.value), str(err.value)


def test_search_flow_that_is_not_json(tmp_path):
    bad = tmp_path / "flow.json"
    bad.write_text('{\n "included": 3,\n oops\n}')
    with pytest.raises(DataError, match=r"flow.json, line 3, column 'character [0-9]+': not valid JSON"):
        read_search_flow(bad)


def test_leave_one_out_summary_finds_the_study_that_matters():
    # fixed effect, equal variances: the pooled estimate is the mean. With every study it is 0.1625
    # (CI +-0.098, excludes 0); without the 0.5 study it is 0.05 (CI +-0.113, includes 0).
    yi = np.array([0.5, 0.05, 0.0, 0.1])
    res = rma(yi, np.full(4, 0.01), method="FE")
    summary = leave_one_out_summary(leave_one_out(res, list("abcd")), res)
    assert summary["min_omitted"] == "a" and summary["min"] == pytest.approx(0.05)
    assert summary["max_omitted"] == "c" and summary["max"] == pytest.approx(0.65 / 3)
    assert summary["max_shift"] == pytest.approx(0.1625 - 0.05)
    assert summary["flips"] == 1


def test_cumulative_summary_settles_after_the_last_interval_that_includes_the_null():
    cum = pd.DataFrame({"added": list("abcd"), "order": [1990, 1991, 1992, np.nan], "k": [1, 2, 3, 4],
                        "estimate": [0.5, 0.15, 0.3, 0.2], "ci_low": [0.1, -0.2, 0.05, 0.02], "ci_high": [0.9, 0.5, 0.6, 0.4]})
    summary = cumulative_summary(cum)
    assert (summary["settled_k"], summary["settled_added"], summary["settled_order"]) == (3, "c", 1992)
    assert (summary["half_k"], summary["half_estimate"], summary["half_order"]) == (2, 0.15, 1991)
    assert summary["final_estimate"] == 0.2 and summary["unordered"] == 1
    cum.loc[3, "ci_low"] = -0.01
    assert cumulative_summary(cum)["settled_k"] is None


def test_cumulative_orders_by_year_with_unknown_years_last():
    yi, vi = np.array([0.5, 0.4, 0.6, 0.3]), np.array([0.01, 0.02, 0.01, 0.02])
    steps = cumulative(rma(yi, vi, method="REML"), [2001, 1999, np.nan, 2000], list("abcd"))
    assert steps["added"].tolist() == ["b", "d", "a", "c"]
    assert steps["order"].tolist()[:3] == [1999, 2000, 2001] and np.isnan(steps["order"].iloc[3])
    assert cumulative_summary(steps)["settled_k"] == 1


def test_labels():
    assert comparison_label("ssri_placebo") == "SSRI vs placebo"
    assert acronym("cbt") == "CBT" and acronym("other psy") == "other psy"


def test_missing_risk_of_bias_column_is_refused_when_required():
    rows = pd.DataFrame({"sg": ["1"], "ac": ["0"], "itt": ["1"], LINE: [2]})
    assert list(metapsy_domains(rows, "x.csv").columns) == ["rob_sg", "rob_ac", "rob_itt"]
    with pytest.raises(DataError) as err:
        metapsy_domains(rows, "x.csv", required=True)
    assert str(err.value) == "x.csv, line 1, column 'ba': required column is missing (the risk-of-bias figures need it)"


def test_a_study_wholly_beyond_the_axis_gets_an_arrow_at_that_edge():
    import matplotlib.pyplot as plt

    from analysis.figures.forest_table import _marks

    fig, ax = plt.subplots()
    ax.set_xlim(-1, 5)
    row = {"kind": "study", "lo": 6.97, "hi": 12.15, "mid": 9.56, "weight": 0.3}
    studies = []
    _marks(ax, 1.0, row, (-1.0, 5.0), studies)
    arrows = [c for c in ax.get_children() if c.__class__.__name__ == "Annotation"]
    assert len(arrows) == 1 and arrows[0].xy == (5.0, 1.0) and arrows[0].xyann[0] < 5.0
    assert not studies and not ax.collections and not ax.lines  # no whisker, no square drawn off the axis
    _marks(ax, 2.0, {**row, "lo": -9.0, "hi": -4.0, "mid": -6.5}, (-1.0, 5.0), studies)
    left = [c for c in ax.get_children() if c.__class__.__name__ == "Annotation"][-1]
    assert left.xy == (-1.0, 2.0) and left.xyann[0] > -1.0
    # a study on the axis: its CI (cut at the axis, with an arrow) and its square, sized by its weight
    _marks(ax, 3.0, {**row, "lo": 0.5, "hi": 7.0, "mid": 2.0, "weight": 1.0}, (-1.0, 5.0), studies)
    assert studies == [(3.0, 0.5, 5.0, 2.0, pytest.approx(2.0 + 5.5 * np.sqrt(0.4)))]
    plt.close(fig)


def test_every_study_of_a_forest_page_is_one_line_collection_and_one_scatter():
    import matplotlib.pyplot as plt

    from analysis.figures import forest_plot
    from analysis.meta import rma

    k = 50
    y = np.linspace(0.1, 0.9, k)
    fig = forest_plot(rma(y, np.full(k, 0.04)), [f"Study {i}" for i in range(k)], transform=lambda x: x,
                      xlabel="Hedges' g", ref=0.0)
    ax = next(a for a in fig.axes if a.collections)
    lines = [c for c in ax.collections if c.__class__.__name__ == "LineCollection" and len(c.get_segments()) == k]
    squares = [c for c in ax.collections if c.__class__.__name__ == "PathCollection"]
    assert len(lines) == 1 and len(squares) == 1 and len(squares[0].get_offsets()) == k
    assert np.allclose(squares[0].get_offsets()[:, 0], y) and np.allclose(squares[0].get_offsets()[:, 1], range(k))
    plt.close(fig)


@pytest.mark.parametrize("k", [3, 40])
def test_the_favours_labels_sit_just_under_the_axis_whatever_the_rows(k):
    import matplotlib.pyplot as plt

    from analysis.figures import forest_plot
    from analysis.meta import rma

    y = np.linspace(0.1, 0.9, k)
    fig = forest_plot(rma(y, np.full(k, 0.04)), [f"Study {i}" for i in range(k)], transform=lambda x: x,
                      xlabel="Hedges' g", ref=0.0, favours=("control", "CBT"))
    fig.canvas.draw()
    ax = next(a for a in fig.axes if any(t.get_text().startswith("← favours") for t in a.texts))
    label = next(t for t in ax.texts if t.get_text().startswith("← favours"))
    gap = (ax.get_window_extent().y0 - label.get_window_extent().y1) / fig.dpi  # inches under the axis
    assert 0.3 < gap < 0.7, gap
    plt.close(fig)


def test_a_forest_page_that_starts_inside_a_subgroup_repeats_its_heading():
    import matplotlib.pyplot as plt

    from analysis.figures import forest_plot
    from analysis.meta import rma

    k = 14
    y = np.linspace(0.1, 0.9, k)
    groups = ["waitlist"] * 9 + ["care as usual"] * 5
    fig = forest_plot(rma(y, np.full(k, 0.04)), [f"Study {i}" for i in range(k)], transform=lambda x: x,
                      xlabel="Hedges' g", ref=0.0, subgroups=groups, max_rows=6)
    titles = [next(t.get_text() for t in p.texts if "(part " in t.get_text()) for p in fig.pages]
    assert titles[0].endswith(f"(part 1 of {len(fig.pages)})") and "continued" not in " ".join(titles)
    headings = [[t.get_text() for t in p.texts if t.get_text() in ("waitlist", "care as usual", "waitlist (continued)",
                                                                    "care as usual (continued)")] for p in fig.pages]
    assert headings[0] == ["waitlist"] and headings[1][0] == "waitlist (continued)"
    assert all(h for h in headings[:-1]), headings  # every page within the subgroups names its subgroup
    assert sum(h.count("care as usual") for h in headings) == 1
    plt.close(fig)


@pytest.mark.parametrize("n, rasterized", [(50, False), (3000, True)])
def test_a_specification_curve_of_thousands_draws_its_points_rasterized(n, rasterized):
    import matplotlib.pyplot as plt
    import pandas as pd

    from analysis.figures.multiverse import specification_curve
    from analysis.figures.style import RASTER_ABOVE

    est = np.sort(np.random.default_rng(1).normal(0.5, 0.2, n))
    curve = pd.DataFrame({"rank": np.arange(1, n + 1), "estimate": est, "ci_low": est - 0.2, "ci_high": est + 0.2,
                          "spec_id": np.arange(n), "model": np.where(np.arange(n) % 2, "FE", "REML")})
    fig = specification_curve(curve, ["model"], ylabel="g")
    top = fig.axes[0]
    assert (n > RASTER_ABOVE) == rasterized
    assert [c.get_rasterized() for c in top.collections] == [rasterized, rasterized]  # the CI band and the points
    plt.close(fig)


def test_the_caption_counts_the_labels_the_forest_plot_cuts():
    from analysis.figures.forest_rows import LABEL_CHARS, cut_labels_note, short

    long = "x" * (LABEL_CHARS + 1)
    assert short(long).endswith("…") and len(short(long)) == LABEL_CHARS
    assert cut_labels_note(["a", long, long]) == (f"2 labels longer than {LABEL_CHARS} characters end in “…” "
                                                  "(the data file the chapter offers for download names them in "
                                                  "full).")
    assert cut_labels_note(["a", long]).startswith("1 label longer") and cut_labels_note(["a", "b"]) == ""
