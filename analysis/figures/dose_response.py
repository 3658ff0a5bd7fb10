"""The dose-response curves: odds ratio of response against placebo over each SSRI's doses."""

from __future__ import annotations

import numpy as np

from analysis.figures.style import INK, PALETTE, label, plain_log_axis, styled


@styled
def dose_response_plot(fits: dict, finding: str | None = None):
    """One panel per agent: the fitted odds ratio with its 95% confidence band, each trial arm's
    observed odds ratio against its placebo arm (area proportional to its precision), the line
    of no effect, and the peak of the curve.

    Parameters
    ----------
    fits : dict
        Agent -> :class:`analysis.review.dose.AgentDose`.
    finding : str, optional
        The figure's finding, for its alt text.
    """
    import matplotlib.pyplot as plt

    n = len(fits)
    cols = min(n, 2)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False, sharey=True)
    for ax, (agent, res) in zip(axes.ravel(), fits.items()):
        c = res.curve
        ax.fill_between(c.dose, np.exp(c.ci_low), np.exp(c.ci_high), color=PALETTE["pooled"], alpha=0.2, lw=0,
                        label="95% CI")
        ax.plot(c.dose, np.exp(c.estimate), color=PALETTE["pooled"], lw=1.6, label="fitted")
        obs = res.observed
        sizes = 12 * (1 / obs["var"]) / np.max(1 / obs["var"]) * 4
        ax.scatter(obs["dose"], np.exp(obs["log_or"]), s=sizes, color=PALETTE["study"], alpha=0.6, lw=0,
                   label="trial arm")
        ax.axhline(1.0, color=INK, lw=0.8, ls="--")
        ax.axvline(res.peak_dose, color=INK, lw=0.6, ls=":")
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
        ax.set_title(label(agent.capitalize()), fontsize=9)
        ax.set_xlabel(label(f"{agent} dose (mg/day)"))
    for ax in axes[:, 0]:
        ax.set_ylabel("odds ratio of response vs placebo")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7, loc="upper left", frameon=False)
    fig.tight_layout()
    fig.finding = finding
    return fig
