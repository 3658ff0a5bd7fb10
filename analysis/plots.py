"""Figures in one style: forest and funnel plots drawn from fitted models."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from analysis.pooling import MetaResult

sns.set_theme(context="paper", style="whitegrid", font_scale=1.0)
plt.rcParams.update({"svg.hashsalt": "review", "figure.dpi": 110, "savefig.bbox": "tight"})


def forest_plot(res: MetaResult, labels, transform=np.exp, xlabel: str = "Risk ratio", max_rows: int = 60, ref: float = 1.0):
    """Forest plot: each study's estimate and CI sized by weight, the pooled diamond and the prediction interval.

    With more than ``max_rows`` studies only the ``max_rows`` heaviest are drawn (the
    pooled result always uses all studies); the title says so.
    """
    z = 1.959963984540054
    order = np.argsort(-res.weights)[:max_rows] if res.k > max_rows else np.arange(res.k)
    order = np.sort(order)
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
