"""Figures in one style: forest and funnel plots drawn from fitted models."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter
import seaborn as sns

from analysis.meta.fit import MetaResult
from analysis.review.risk_of_bias import DOMAINS, domain_columns

sns.set_theme(context="paper", style="whitegrid", font_scale=1.0)
plt.rcParams.update({"svg.hashsalt": "review", "figure.dpi": 110, "savefig.bbox": "tight"})


def _largest(values, n: int) -> np.ndarray:
    """Indices of the ``n`` largest values, in their original order (all of them if fewer)."""
    values = np.asarray(values, dtype=float)
    if len(values) <= n:
        return np.arange(len(values))
    return np.sort(np.argsort(-values, kind="stable")[:n])


def _plain_log_axis(axis):
    """Ratios on a log axis labelled 0.8, 1, 1.5, not in powers of ten."""
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(plain)


def forest_plot(res: MetaResult, labels, transform=np.exp, xlabel: str = "Risk ratio", max_rows: int = 60, ref: float = 1.0):
    """Forest plot: each study's estimate and CI sized by weight, the pooled diamond and the prediction interval.

    With more than ``max_rows`` studies only the ``max_rows`` heaviest are drawn (the
    pooled result always uses all studies); the title says so.
    """
    z = 1.959963984540054
    order = _largest(res.weights, max_rows)
    est, se = res.yi[order], np.sqrt(res.vi[order])
    w = res.weights_percent[order]
    n = len(order)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.22 * (n + 3)))
    ypos = np.arange(n)[::-1] + 3
    ax.hlines(ypos, transform(est - z * se), transform(est + z * se), color="0.3", lw=1)
    ax.scatter(transform(est), ypos, s=10 + 12 * w, marker="s", color="#1f4e79", zorder=3)
    pred = res.predict()
    lo, hi, mid = transform(pred["ci_low"]), transform(pred["ci_high"]), transform(pred["pred"])
    ax.fill([lo, mid, hi, mid], [1, 1.35, 1, 0.65], color="#b03a2e", zorder=3)
    if not np.isnan(pred["pi_low"]):
        ax.hlines(0.2, transform(pred["pi_low"]), transform(pred["pi_high"]), color="#b03a2e", lw=2)
    ax.axvline(ref, color="0.5", ls="--", lw=0.8)
    ax.set_yticks(list(ypos) + [1, 0.2])
    ax.set_yticklabels([str(labels[i]) for i in order] + ["Pooled (95% CI)", "Prediction interval"], fontsize=7)
    if transform is np.exp:
        ax.set_xscale("log")
        _plain_log_axis(ax.xaxis)
    ax.set_xlabel(xlabel)
    title = f"{res.k} studies, {res.method}{' + HKSJ' if res.hksj else ''}"
    if res.k > max_rows:
        title += f" (the {max_rows} heaviest shown)"
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def funnel_plot(res: MetaResult, xlabel: str = "Log risk ratio"):
    """Contour-enhanced funnel plot: the pooled estimate with 90/95/99% significance contours around zero."""
    se = np.sqrt(res.vi)
    top = se.max() * 1.05
    grid = np.linspace(0, top, 50)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for level, shade in ((0.99, "0.92"), (0.95, "0.85"), (0.90, "0.75")):
        zq = {0.90: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}[level]
        ax.fill_betweenx(grid, -zq * grid, zq * grid, color=shade, label=f"p > {1 - level:.2f}", lw=0)
    ax.scatter(res.yi, se, s=14, color="#1f4e79", zorder=3)
    ax.axvline(res.estimate, color="#b03a2e", lw=1)
    ax.set_ylim(top, 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Standard error")
    ax.legend(loc="lower right", fontsize=7, title="contours around 0", title_fontsize=7)
    fig.tight_layout()
    return fig


def claims_plot(frame):
    """Every headline claim beside its re-derived estimate, on one scale (SMD by the logit method)."""
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.7 * len(frame)))
    y = np.arange(len(frame))[::-1]
    ax.scatter(frame["claimed"], y + 0.12, marker="D", color="#b03a2e", label="claimed", zorder=3)
    has_ci = ~np.isnan(frame["claimed_low"].to_numpy(float))
    ax.hlines((y + 0.12)[has_ci], frame["claimed_low"][has_ci], frame["claimed_high"][has_ci], color="#b03a2e")
    ok = ~np.isnan(frame["data"].to_numpy(float))
    ax.scatter(frame["data"][ok], (y - 0.12)[ok], marker="s", color="#1f4e79", label="open trial data (95% CI)", zorder=3)
    ax.hlines((y - 0.12)[ok], frame["data_low"][ok], frame["data_high"][ok], color="#1f4e79")
    for yi in y[~ok]:
        ax.text(0.02, yi - 0.12, "no open data", va="center", fontsize=7, color="0.4", transform=ax.get_yaxis_transform())
    ax.axvline(0, color="0.5", lw=0.8, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels(frame["claim"], fontsize=8)
    ax.set_xlabel("Standardised mean difference (logit method for response rates)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=7, frameon=False)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def leave_one_out_plot(loo, res: MetaResult, transform=np.exp, xlabel: str = "Risk ratio", max_rows: int = 30, ref: float = 1.0):
    """Leave-one-out plot: the pooled estimate and CI with each study omitted (metafor's
    ``forest(leave1out(res))``), against the full model's estimate and CI (shaded).

    With more than ``max_rows`` studies only the ``max_rows`` omissions that move the
    estimate most are drawn; the title says so.

    Parameters
    ----------
    loo : DataFrame
        From :func:`analysis.meta.leave_one_out`.
    """
    rows = loo.iloc[_largest((loo["estimate"] - res.estimate).abs(), max_rows)]
    n = len(rows)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.22 * (n + 1)))
    ypos = np.arange(n)[::-1] + 1
    ax.axvspan(transform(res.ci_low[0]), transform(res.ci_high[0]), color="#b03a2e", alpha=0.12, lw=0,
               label="all studies: 95% CI")
    ax.axvline(transform(res.estimate), color="#b03a2e", lw=1, label="all studies: estimate")
    ax.hlines(ypos, transform(rows["ci_low"]), transform(rows["ci_high"]), color="0.3", lw=1)
    ax.scatter(transform(rows["estimate"]), ypos, s=14, marker="s", color="#1f4e79", zorder=3)
    ax.axvline(ref, color="0.5", ls="--", lw=0.8)
    ax.set_yticks(ypos)
    ax.set_yticklabels([f"without {label}" for label in rows["omitted"]], fontsize=7)
    if transform is np.exp:
        ax.set_xscale("log")
        _plain_log_axis(ax.xaxis)
    ax.set_xlabel(xlabel)
    title = f"Leave-one-out, k = {res.k}"
    if len(loo) > max_rows:
        title += f" (the {max_rows} omissions that move the estimate most)"
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", visible=False)
    height = fig.get_size_inches()[1]
    fig.tight_layout(rect=(0, 0.3 / height, 1, 1))
    fig.legend(loc="lower center", ncol=2, fontsize=7, frameon=False)
    return fig


def cumulative_plot(cum, transform=np.exp, xlabel: str = "Risk ratio", ref: float = 1.0):
    """Cumulative meta-analysis by year: the pooled estimate and its CI as studies are added in
    order of publication (metafor's ``cumul``), drawn as a line with a band so that hundreds of
    steps stay legible.

    Parameters
    ----------
    cum : DataFrame
        From :func:`analysis.meta.cumulative` ordered by year: ``order`` holds the year
        of the study added at each step (NaN where unknown: those come last).
    """
    years = cum["order"].to_numpy(float)
    step = cum["k"].to_numpy()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.fill_between(step, transform(cum["ci_low"]), transform(cum["ci_high"]), color="#1f4e79", alpha=0.18, lw=0,
                    label="95% CI")
    ax.plot(step, transform(cum["estimate"]), color="#1f4e79", lw=1.5, label="pooled estimate")
    ax.axhline(ref, color="0.5", ls="--", lw=0.8)
    if transform is np.exp:
        ax.set_yscale("log")
        _plain_log_axis(ax.yaxis)
    ax.set_ylabel(xlabel)
    known = ~np.isnan(years)
    ticks = np.unique(np.linspace(0, max(known.sum() - 1, 0), 6).round().astype(int))
    ax.set_xticks(step[ticks])
    ax.set_xticklabels([f"{step[i]}\n({years[i]:.0f})" for i in ticks], fontsize=7)
    ax.set_xlabel("Studies included (year of the last one added)")
    if (~known).any():
        ax.axvspan(step[known.sum()] - 0.5, step[-1] + 0.5, color="0.93", lw=0, zorder=0, label="studies with no year")
    ax.set_title(f"Cumulative meta-analysis by year, k = {len(cum)}", fontsize=9)
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return fig


ROB_COLOURS = {"low": "#02C100", "self-report": "#9ad89a", "high": "#BF0000", "not reported": "#4EA1F7"}


def rob_summary_plot(summary, xlabel: str = "Per cent of studies"):
    """Risk-of-bias summary: per domain, the share of studies (or of weight) at each judgement
    (robvis' ``rob_summary``)."""
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.45 * len(summary)))
    left = np.zeros(len(summary))
    y = np.arange(len(summary))[::-1]
    for judgement in summary.columns:
        share = summary[judgement].to_numpy()
        ax.barh(y, share, left=left, color=ROB_COLOURS[judgement], edgecolor="white", height=0.7, label=judgement)
        for yi, x0, w in zip(y, left, share):
            if w >= 6:
                ax.text(x0 + w / 2, yi, f"{w:.0f}%", ha="center", va="center", fontsize=7,
                        color="white" if judgement == "high" else "black")
        left += share
    ax.set_yticks(y)
    ax.set_yticklabels(summary.index, fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=4, fontsize=7, frameon=False)
    ax.grid(False)
    fig.tight_layout()
    return fig


def rob_traffic_light(trials, labels, max_rows: int = 30, weights=None):
    """Traffic-light plot: each study's judgement in each risk-of-bias domain (robvis'
    ``rob_traffic_light``); with more than ``max_rows`` studies, the ``max_rows`` heaviest.

    Parameters
    ----------
    trials : DataFrame
        Holds the ``rob_*`` judgement columns (:func:`analysis.review.risk_of_bias.metapsy_domains`);
        the domains are labelled D1, D2, ... with their names printed as a key.
    """
    columns = domain_columns(trials)
    names = [f"D{i + 1}" for i in range(len(columns))]
    domain_names = [DOMAINS[c.removeprefix("rob_")] for c in columns]
    idx = np.arange(len(trials)) if weights is None else _largest(weights, max_rows)
    n = len(idx)
    fig, ax = plt.subplots(figsize=(6.2, 1.3 + 0.22 * n))
    y = np.arange(n)[::-1]
    symbols = {"low": "+", "self-report": "+", "high": "−", "not reported": "?"}
    for j, col in enumerate(columns):
        judgements = trials[col].to_numpy()[idx]
        ax.scatter(np.full(n, j), y, s=90, c=[ROB_COLOURS[v] for v in judgements], edgecolors="0.3", linewidths=0.4)
        for yi, v in zip(y, judgements):
            ax.text(j, yi, symbols[v], ha="center", va="center", fontsize=7, color="white", fontweight="bold")
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels(names, fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks(y)
    ax.set_yticklabels([str(labels[i]) for i in idx], fontsize=7)
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.set_ylim(-0.8, n - 0.2)
    handles = [plt.Line2D([], [], marker="o", ls="", markersize=7, color=c, label=k) for k, c in ROB_COLOURS.items()]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=4, fontsize=7, frameon=False)
    key = "   ".join(f"{short}: {name}" for short, name in zip(names, domain_names))
    ax.text(0.5, -0.9 / (n ** 0.5 + 1) - 0.02, key, transform=ax.transAxes, ha="center", va="top", fontsize=6.5, wrap=True)
    if len(trials) > max_rows:
        ax.set_title(f"The {n} heaviest of {len(trials)} comparisons", fontsize=9, pad=22)
    ax.grid(False)
    fig.tight_layout()
    return fig


def flow_diagram(rows, title: str | None = None):
    """A PRISMA 2020-style flow diagram: one main box per row, arrows down, and a box to the
    right for the records leaving at that row; stage labels (Identification, Screening,
    Included) run down the left. Drawn in inches on a 7.2-inch-wide figure, text wrapped to
    the boxes.

    Parameters
    ----------
    rows : list of dict
        ``stage``, ``main`` and ``side`` (text or None), e.g. from
        :func:`analysis.review.prisma.prisma_boxes`.
    """
    import textwrap

    def wrap(text, width):
        return "\n".join(textwrap.fill(part, width, subsequent_indent="    " if part.startswith("  ") else "")
                         for part in text.split("\n")) if text else None

    line_h, pad, gap, fontsize = 0.125, 0.09, 0.28, 7
    band_x, main_x, main_w, side_x, side_w = 0.02, 0.45, 3.25, 4.0, 3.15
    rows = [{**r, "main": wrap(r["main"], 58), "side": wrap(r["side"], 62)} for r in rows]

    def box_h(text):
        return (text.count("\n") + 1) * line_h + 2 * pad if text else 0.0

    heights = [max(box_h(r["main"]), box_h(r["side"])) for r in rows]
    # a stage's band must be tall enough for its rotated label
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i]["stage"] != rows[start]["stage"]:
            span = sum(heights[start:i]) + gap * (i - 1 - start)
            need = 0.062 * len(rows[start]["stage"]) + 0.1
            heights[i - 1] += max(0.0, need - span)
            start = i
    total = sum(heights) + gap * (len(rows) - 1)
    fig = plt.figure(figsize=(7.2, total + 0.1 + (0.3 if title else 0)))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 7.2)
    ax.set_ylim(total + 0.05, -0.05 - (0.3 if title else 0))
    ax.axis("off")
    tops, y = [], 0.0
    for r, h in zip(rows, heights):
        tops.append(y)
        mh = box_h(r["main"])
        ax.add_patch(plt.Rectangle((main_x, y), main_w, mh, fill=False, lw=0.8, ec="0.2"))
        ax.text(main_x + main_w / 2, y + mh / 2, r["main"], ha="center", va="center", fontsize=fontsize)
        if r["side"]:
            sh = box_h(r["side"])
            ax.add_patch(plt.Rectangle((side_x, y), side_w, sh, fill=False, lw=0.8, ec="0.2"))
            ax.text(side_x + 0.08, y + sh / 2, r["side"], ha="left", va="center", fontsize=fontsize)
            ax.annotate("", xy=(side_x, y + mh / 2), xytext=(main_x + main_w, y + mh / 2),
                        arrowprops={"arrowstyle": "-|>", "color": "0.2", "lw": 0.8})
        y += h + gap
    for i in range(len(rows) - 1):
        ax.annotate("", xy=(main_x + main_w / 2, tops[i + 1]), xytext=(main_x + main_w / 2, tops[i] + box_h(rows[i]["main"])),
                    arrowprops={"arrowstyle": "-|>", "color": "0.2", "lw": 0.8})
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i]["stage"] != rows[start]["stage"]:
            top, bottom = tops[start], tops[i - 1] + heights[i - 1]
            ax.add_patch(plt.Rectangle((band_x, top), 0.3, bottom - top, color="#d6e4f0", lw=0))
            ax.text(band_x + 0.15, (top + bottom) / 2, rows[start]["stage"], rotation=90, ha="center", va="center",
                    fontsize=fontsize, fontweight="bold")
            start = i
    if title:
        ax.text(3.6, -0.2, title, ha="center", va="center", fontsize=8.5)
    return fig
