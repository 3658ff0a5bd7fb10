"""Steps that refit once per study, limited for very large releases (issue 12, scale): the engine's
subsets agree with the whole step row for row, the closed-form screen is exact for fixed tau², the
screen finds what full leave-one-out and influence find on the real CBT data, and the words say
what was done."""

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from analysis.meta import (cumulative, deletion_candidates, deletion_screen, even_steps, influence, leave_one_out,
                           rma)
from analysis.review.limits import (Limit, heaviest_rows, limited_cumulative, limited_influence,
                                    limited_leave_one_out)
from analysis.review.psychotherapy import psychotherapy_control
from analysis.review.robustness_wording import describe_limit

PSYCTR = str(ROOT / "data/trials/metapsy-psyctr/data_v22.0.2_raw.csv")


@pytest.fixture(scope="module")
def cbt():
    return psychotherapy_control(PSYCTR, max_refits=40)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    v = rng.uniform(0.01, 0.2, 60)
    y = rng.normal(0.4, 0.3, 60) + rng.normal(0, np.sqrt(v))
    y[5] += 3.0  # one far outlier with little weight
    return y, v, rng.normal(size=60)


def test_the_screen_is_the_exact_deletion_with_tau2_held_fixed(data):
    y, v, x = data
    for mods in (None, x):
        res = rma(y, v, mods=mods, method="REML")
        screen = deletion_screen(res)
        w = 1 / (v + res.tau2)
        X = res.X
        for i in (0, 5, 33):
            keep = np.arange(len(y)) != i
            wk = w[keep]
            beta = np.linalg.solve(X[keep].T @ (wk[:, None] * X[keep]), X[keep].T @ (wk * y[keep]))
            full = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (w * y))
            assert screen["shift"][i] == pytest.approx(beta[0] - full[0], abs=1e-12)
        assert np.allclose(screen["hat"], influence(res)["hat"], atol=1e-12)


def test_subsets_of_leave_one_out_influence_and_cumulative_are_rows_of_the_whole(data):
    y, v, _ = data
    res = rma(y, v, method="REML", hksj=True)
    which = [3, 5, 40]
    full, part = leave_one_out(res), leave_one_out(res, which=which)
    pd.testing.assert_frame_equal(part, full.iloc[which].reset_index(drop=True))
    inf_full, inf_part = influence(res), influence(res, which=which)
    cols = ["rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "dfbetas_0"]
    pd.testing.assert_frame_equal(inf_part.loc[which, cols], inf_full.loc[which, cols])
    others = np.setdiff1d(np.arange(res.k), which)
    assert inf_part.loc[others, cols].isna().all().all() and inf_part["refitted"].sum() == 3
    assert np.allclose(inf_part["hat"], inf_full["hat"])
    order = np.arange(res.k)[::-1].astype(float)
    steps = even_steps(res.k, 7)
    assert list(steps[:4]) == [1, 2, 3, 4] and steps[-1] == res.k and len(steps) == 7
    cum_full, cum_part = cumulative(res, order), cumulative(res, order, steps=steps)
    pd.testing.assert_frame_equal(cum_part, cum_full.iloc[steps - 1].reset_index(drop=True))
    assert list(even_steps(5, 10)) == [1, 2, 3, 4, 5]


def test_candidates_hold_every_study_when_the_cap_allows_and_the_outlier_when_it_does_not(data):
    y, v, _ = data
    res = rma(y, v, method="REML")
    assert list(deletion_candidates(res, 60)) == list(range(60))
    few = deletion_candidates(res, 6)
    assert 5 in few and len(few) == 6 and list(few) == sorted(few)
    shift = deletion_screen(res)["shift"].to_numpy()
    assert int(np.argmin(shift)) in few and int(np.argmax(shift)) in few  # both directions


def test_on_the_real_cbt_data_the_screen_finds_the_extremes_of_full_leave_one_out(cbt):
    model = cbt.model
    assert model.k == 270
    full = leave_one_out(model)
    loo, limit = limited_leave_one_out(model, cbt.trials["study"], 50)
    assert limit.limited and limit.how == "screen" and limit.done == len(loo) == 50 and limit.total == 270
    assert loo["estimate"].min() == full["estimate"].min() and loo["estimate"].max() == full["estimate"].max()
    order = np.argsort(full["estimate"].to_numpy())
    assert set(order[:7]) | set(order[-7:]) <= set(deletion_candidates(model, 25))  # the 7 lowest and 7 highest
    frame, ilimit = limited_influence(model, None, 50)
    assert ilimit.done == limit.done
    assert (frame["influential"] == influence(model)["influential"]).all()
    whole, wlimit = limited_leave_one_out(model, cbt.trials["study"], 500)
    assert not wlimit.limited and len(whole) == 270


def test_the_influence_check_is_not_run_above_the_limit_and_says_why(cbt):
    checks = cbt.extra["checks"].set_index("analysis")
    row = checks.loc["influential removed"]
    assert row["note"] == "not run: 270 comparisons exceed max_refits = 40, and every one would need its own refit"
    assert np.isnan(row["estimate"])
    whole = psychotherapy_control(PSYCTR).extra["checks"].set_index("analysis").loc["influential removed"]
    assert whole["note"].endswith(" removed") and whole["estimate"] == whole["estimate"]


def test_cumulative_and_forest_limits(cbt):
    model = cbt.model
    cum, limit = limited_cumulative(model, cbt.trials["year"], cbt.trials["study"], 20)
    assert limit.limited and len(cum) == 20 and cum["k"].iloc[-1] == 270
    assert list(cum["k"].iloc[:11]) == list(range(1, 11)) + [11]  # every early step, then spaced
    assert cum["estimate"].iloc[-1] == pytest.approx(model.estimate, abs=1e-12)
    rows, flimit = heaviest_rows(model, 30)
    w = model.weights
    assert len(rows) == 30 and list(rows) == sorted(rows) and w[rows].min() >= np.sort(w)[-30]
    assert flimit.share == pytest.approx(w[rows].sum() / w.sum())
    all_rows, whole = heaviest_rows(model, 500)
    assert len(all_rows) == 270 and not whole.limited
    with pytest.raises(ValueError, match="at least 2"):
        heaviest_rows(model, 1)


def test_the_forest_plot_draws_only_the_rows_shown_and_says_so(cbt):
    from analysis.figures.forest_rows import build_rows

    model = cbt.model
    rows, _ = heaviest_rows(model, 30)
    built = build_rows(model, cbt.trials["study"].tolist(), lambda x: x, subgroups=cbt.trials["subgroup"], show=rows)
    assert sum(r["kind"] == "study" for r in built) == 30
    note = [r["label"] for r in built if r["kind"] == "note"][-1]
    assert note.startswith("240 studies with") and "all 270 are pooled" in note
    # the unit the chapter counts in (the CBT chapter pools comparisons, not studies)
    by_comparison = build_rows(model, cbt.trials["study"].tolist(), lambda x: x, show=rows, unit="comparisons")
    assert [r["label"] for r in by_comparison if r["kind"] == "note"][-1].startswith("240 comparisons with")
    overall = next(r for r in built if r["kind"] == "overall")
    assert overall["mid"] == pytest.approx(model.estimate)


def test_the_words_say_what_each_step_did():
    from analysis.review.robustness_wording import describe_flips, describe_loo_scope

    assert describe_limit(Limit("leave-one-out", 270, 270, "all", 500), "comparison") == (
        "The model was refitted without each of the 270 comparisons in turn.")
    assert describe_limit(Limit("cumulative", 1, 1, "all", 500), "trial") == (
        "The cumulative analysis adds the 1 trial one at a time.")
    words = describe_limit(Limit("leave-one-out", 500, 100_000, "screen", 500), "comparison")
    assert words.startswith("Leave-one-out was limited to 500 of the 100,000 comparisons (parameter max_refits = 500)")
    assert "lowers the estimate most" in words and "raises it most" in words and "deleted residuals" in words
    words = describe_limit(Limit("cumulative", 500, 100_000, "even", 500), "comparison")
    assert "fitted at 500 of its 100,000 steps (parameter max_refits = 500): at each of the first 250" in words
    assert "about 400 comparisons apart" in words and "holds at the steps fitted" in words
    words = describe_limit(Limit("forest", 500, 100_000, "heaviest", 500, 0.0123), "comparison", "forest_max_studies")
    assert "500 of the 100,000 comparisons with the largest weight (together 1.2% of the pooled weight)" in words
    assert "forest_max_studies = 500" in words
    assert [describe_flips(n) for n in (0, 1, 3)] == [
        "none of the omissions changes", "1 of the omissions changes", "3 of the omissions change"]
    assert describe_loo_scope(Limit("leave-one-out", 9, 9, "all", 500), "trial") == "Leaving out one trial at a time"
    assert describe_loo_scope(Limit("leave-one-out", 500, 9000, "screen", 500), "comparison") == (
        "Among the 500 omissions refitted, leaving out one comparison at a time")


# --- a large release in bounded memory and text ------------------------------------------------------------

def test_reading_drops_free_text_and_keeps_every_value(tmp_path):
    from analysis.review.trials import read_rows

    path = tmp_path / "t.csv"
    path.write_text("study;abstract;x\nA, 2001;long text here;NA\nB, 2002;more;1,5\n", encoding="utf-8")
    whole = read_rows(path, delimiter=";")
    part = read_rows(path, delimiter=";", drop=("abstract",))
    assert list(whole.columns) == ["study", "abstract", "x", "_line"]
    assert list(part.columns) == ["study", "x", "_line"]
    assert part["x"].tolist() == ["NA", "1,5"] and part["_line"].tolist() == [2, 3]
    assert part["x"][0] is whole["x"][0]  # short cells are interned: one object per distinct code


def test_a_release_keeps_no_bibliographic_free_text():
    from analysis.review.importers import read_metapsy_psyctr
    from analysis.review.importers.metapsy import FREE_TEXT

    rows = read_metapsy_psyctr(PSYCTR)
    assert not set(FREE_TEXT) & set(rows.columns) and {"study", ".g", ".g_se", "instrument"} <= set(rows.columns)


def test_long_lists_of_named_effects_stop_at_the_limit():
    from analysis.review.wording import named_effects

    assert named_effects([], []) == "none"
    assert named_effects(["A", "B"], [3.2, -3.5]) == "B (g = -3.50); A (g = 3.20)"
    many = named_effects([f"S{i}" for i in range(100)], [3 + i / 100 for i in range(100)], limit=3)
    assert many == "S99 (g = 3.99); S98 (g = 3.98); S97 (g = 3.97); and 97 more"


def test_the_funnel_plot_circles_every_marked_point_and_names_a_few(cbt):
    import matplotlib.pyplot as plt

    from analysis.figures.forest import MAX_NAMED, funnel_plot

    model = cbt.model
    marked = {i: f"study {i}" for i in range(0, 200)}
    fig = funnel_plot(model, xlabel="g", annotate=marked)
    ax = fig.axes[0]
    assert len(ax.texts) == MAX_NAMED
    circles = [c for c in ax.collections if c.get_offsets().shape[0] == 200]
    assert len(circles) == 1
    plt.close(fig)


def test_a_file_read_by_several_chapters_is_copied_once_for_download(tmp_path, monkeypatch):
    import nbformat

    from analysis.book import render

    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    for chapter in ("cbt-control", "abstract"):
        nb = nbformat.v4.new_notebook()
        path = tmp_path / f"{chapter}.ipynb"
        nbformat.write(nb, path)
        render.add_downloads(path, book, {"psyctr": "data/trials/metapsy-psyctr/data_v22.0.2_raw.csv"}, [])
        text = (book / "chapters" / f"{chapter}.ipynb").read_text()
        assert "../downloads/data/" in text and "data_v22.0.2_raw.csv" in text
    copies = list((book / "downloads").rglob("data_v22.0.2_raw.csv"))
    assert len(copies) == 1


def test_leave_one_trial_out_refits_the_che_model_without_each_trial(cbt):
    from analysis.meta import che, leave_one_out_summary
    from analysis.review.limits import limited_leave_one_trial_out

    kept = cbt.trials[~cbt.extra["implausible_mask"]]
    y, v, trial = kept["effect"].to_numpy(float), kept["se"].to_numpy(float) ** 2, kept["trial"].to_numpy()
    whole, limit = limited_leave_one_trial_out(y, v, trial, 0.5, "REML", 500)
    assert not limit.limited and limit.total == len(set(trial)) == len(whole) == 214
    name = whole["omitted"].iloc[3]
    fit, rob = che(y[trial != name], v[trial != name], trial[trial != name], rho=0.5)
    assert whole["estimate"].iloc[3] == pytest.approx(fit.to_dict()["estimate"], abs=1e-12)
    assert whole["ci_low"].iloc[3] == pytest.approx(rob.to_dict()["ci_low"], abs=1e-12)
    primary = cbt.extra["dependency"].set_index("model").loc["che"].to_dict()
    summary = leave_one_out_summary(whole, primary)
    part, plimit = limited_leave_one_trial_out(y, v, trial, 0.5, "REML", 12)
    assert plimit.limited and plimit.done == 12 and plimit.how == "screen"
    assert leave_one_out_summary(part, primary)["min"] == summary["min"]  # the screen finds both ends
    assert leave_one_out_summary(part, primary)["max"] == summary["max"]
    assert describe_limit(limit, "trial") == "Every one of the 214 trials was left out in turn."
    assert describe_limit(plimit, "trial").startswith("It was limited to 12 of the 214 trials (parameter max_refits = 12)")


def test_the_primary_leave_one_trial_out_is_the_che_refit_of_the_pooled_comparisons(cbt):
    from analysis.meta import leave_one_out_summary
    from analysis.review.limits import limited_leave_one_trial_out
    from analysis.review.psychotherapy import primary_leave_one_trial_out

    summary, limit = primary_leave_one_trial_out(cbt, 0.5, "DL", 500)  # DL: the multilevel model uses REML
    every = cbt.trials  # the primary analysis pools every comparison (issue 23)
    frame, _ = limited_leave_one_trial_out(every["effect"], every["se"] ** 2, every["trial"], 0.5, "REML", 500)
    full = cbt.extra["dependency"].set_index("model").loc["che"].to_dict()
    assert summary == leave_one_out_summary(frame, full) and limit.done == limit.total == 222
    assert summary["min"] < full["estimate"] < summary["max"] and summary["flips"] == 0
