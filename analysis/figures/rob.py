"""Risk-of-bias figures in the style of robvis: the weighted summary and the traffic light."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from analysis.figures.style import label, largest, styled
from analysis.review.risk_of_bias import DOMAINS, protocol_judgements, protocol_levels

#: One colour per protocol judgement (:func:`analysis.review.risk_of_bias.protocol_levels`): a
#: self-reported outcome takes a lighter shade of what the protocol counts it as.
ROB_COLOURS = {"low": "#02C100", "low (self-report)": "#9ad89a", "high (self-report)": "#E07070", "high": "#BF0000",
               "not reported": "#4EA1F7"}
SYMBOLS = {"low": "+", "low (self-report)": "+", "high (self-report)": "−", "high": "−", "not reported": "?"}


@styled
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
                        color="white" if judgement.startswith("high") else "black")
        left += share
    ax.set_yticks(y)
    ax.set_yticklabels([label(i) for i in summary.index], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=4, fontsize=7, frameon=False)
    ax.grid(False)
    fig.tight_layout()
    return fig


@styled
def rob_traffic_light(trials, labels, max_rows: int = 30, weights=None, self_report: str = "high"):
    """Traffic-light plot: each study's judgement in each risk-of-bias domain (robvis'
    ``rob_traffic_light``); with more than ``max_rows`` studies, the ``max_rows`` heaviest.

    Parameters
    ----------
    trials : DataFrame
        Holds the ``rob_*`` judgement columns (:func:`analysis.review.risk_of_bias.metapsy_domains`);
        the domains are labelled D1, D2, ... with their names printed as a key.
    self_report : {"high", "low"}
        The protocol's rule for a self-reported outcome: each judgement is drawn as
        :func:`analysis.review.risk_of_bias.protocol_judgements` makes it.
    """
    judged = protocol_judgements(trials, self_report)
    columns = list(judged.columns)
    names = [f"D{i + 1}" for i in range(len(columns))]
    domain_names = [DOMAINS[c.removeprefix("rob_")] for c in columns]
    idx = np.arange(len(trials)) if weights is None else largest(weights, max_rows)
    n = len(idx)
    fig, ax = plt.subplots(figsize=(6.2, 1.3 + 0.22 * n))
    y = np.arange(n)[::-1]
    for j, col in enumerate(columns):
        judgements = judged[col].to_numpy()[idx]
        ax.scatter(np.full(n, j), y, s=90, c=[ROB_COLOURS[v] for v in judgements], edgecolors="0.3", linewidths=0.4)
        for yi, v in zip(y, judgements):
            ax.text(j, yi, SYMBOLS[v], ha="center", va="center", fontsize=7, color="white", fontweight="bold")
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels(names, fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks(y)
    ax.set_yticklabels([label(labels[i]) for i in idx], fontsize=7)
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.set_ylim(-0.8, n - 0.2)
    handles = [plt.Line2D([], [], marker="o", ls="", markersize=7, color=c, label=k) for k, c in ROB_COLOURS.items()
               if k in protocol_levels(self_report)]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=4, fontsize=7, frameon=False)
    key = "   ".join(f"{short}: {name}" for short, name in zip(names, domain_names))
    ax.text(0.5, -0.9 / (n ** 0.5 + 1) - 0.02, key, transform=ax.transAxes, ha="center", va="top", fontsize=6.5, wrap=True)
    if len(trials) > max_rows:
        ax.set_title(f"The {n} heaviest of {len(trials)} comparisons", fontsize=9, pad=22)
    ax.grid(False)
    fig.tight_layout()
    return fig
