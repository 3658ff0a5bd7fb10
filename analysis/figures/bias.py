"""Publication-bias methods against the truth, and bias-corrected estimates beside the main one."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from analysis.figures.style import label, styled
from analysis.review.bias_suite import unreliable

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


@styled
def methods_against_truth_plot(overall, by_drug, truth: float, xlabel: str = "Standardised effect (g)"):
    """Each method's estimate and 95% CI from the published trials, beside the FDA estimate of all
    trials (the truth, a vertical line); one panel for all drugs and one per drug analysed.
    Methods that could not be fitted are marked "not fitted" rather than left out."""
    panels = [("all drugs", overall, truth)] + [
        (drug, part, float(part["truth"].iloc[0])) for drug, part in by_drug.groupby("drug", sort=True)
    ] if len(by_drug) else [("all drugs", overall, truth)]
    methods = list(overall["method"])
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 + 2.1 * len(panels), 0.6 + 0.32 * len(methods)),
                             sharey=True, squeeze=False)
    y = np.arange(len(methods))[::-1]
    for ax, (title, table, target) in zip(axes[0], panels):
        table = table.set_index("method").reindex(methods)
        fitted = table["estimate"].notna().to_numpy()
        ax.axvline(target, color=OKABE_ITO[1], lw=1.2, label="FDA, all trials")
        ax.hlines(y[fitted], table["ci_low"][fitted], table["ci_high"][fitted], color=OKABE_ITO[0], lw=1)
        ax.scatter(table["estimate"][fitted], y[fitted], color=OKABE_ITO[0], s=18, zorder=3, label="method (95% CI)")
        for yi in y[~fitted]:
            ax.text(target, yi, "not fitted", fontsize=6.5, color="0.35", ha="center", va="center")
        ax.set_title(label(title), fontsize=8.5)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.grid(axis="y", visible=False)
    axes[0][0].set_yticks(y)
    axes[0][0].set_yticklabels([label(m) for m in methods], fontsize=7.5)
    axes[0][0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / len(methods)), fontsize=7, frameon=False,
                      ncol=2)
    fig.tight_layout()
    return fig


@styled
def bias_corrected_plot(suite, estimate: float, ci_low: float, ci_high: float, transform=None,
                        xlabel: str = "Effect", ref: float | None = None):
    """The main estimate and every bias-corrected estimate (trim-and-fill, PET-PEESE, selection
    models, WAAP-WLS), each with its 95% CI; methods that could not be fitted are marked, and those
    set aside as unreliable (:func:`analysis.review.bias_suite.unreliable`) are drawn hollow."""
    f = transform or (lambda x: x)
    set_aside = set(unreliable(suite)["method"])
    rows = [("main analysis", estimate, ci_low, ci_high)] + [
        (m + (" (unreliable)" if m in set_aside else ""), e, lo, hi)
        for m, e, lo, hi in suite[["method", "estimate", "ci_low", "ci_high"]].itertuples(index=False, name=None)]
    fig, ax = plt.subplots(figsize=(6.4, 0.7 + 0.3 * len(rows)))
    y = np.arange(len(rows))[::-1]
    for yi, (name, est, lo, hi) in zip(y, rows):
        colour = OKABE_ITO[1] if name == "main analysis" else OKABE_ITO[0]
        if np.isnan(est):
            ax.text(f(estimate), yi, "not fitted", fontsize=7, color="0.35", ha="center", va="center")
            continue
        ax.hlines(yi, f(lo), f(hi), color=colour, lw=1)
        hollow = name.endswith(" (unreliable)")
        ax.scatter([f(est)], [yi], color="white" if hollow else colour, edgecolors=colour, s=18, zorder=3)
    if ref is not None:
        ax.axvline(ref, color="0.5", ls="--", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([label(r[0]) for r in rows], fontsize=7.5)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig
