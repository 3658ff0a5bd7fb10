"""PRISMA 2020 flow diagrams and the claims-against-data figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from analysis.figures.style import label, styled


@styled
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
        ax.text(main_x + main_w / 2, y + mh / 2, label(r["main"]), ha="center", va="center", fontsize=fontsize)
        if r["side"]:
            sh = box_h(r["side"])
            ax.add_patch(plt.Rectangle((side_x, y), side_w, sh, fill=False, lw=0.8, ec="0.2"))
            ax.text(side_x + 0.08, y + sh / 2, label(r["side"]), ha="left", va="center", fontsize=fontsize)
            ax.annotate("", xy=(side_x, y + mh / 2), xytext=(main_x + main_w, y + mh / 2),
                        arrowprops={"arrowstyle": "-|>", "color": "0.2", "lw": 0.8})
        y += h + gap
    for i in range(len(rows) - 1):
        ax.annotate("", xy=(main_x + main_w / 2, tops[i + 1]), xytext=(main_x + main_w / 2, tops[i] + box_h(rows[i]["main"])),
                    arrowprops={"arrowstyle": "-|>", "color": "0.2", "lw": 0.8})
    _stage_bands(ax, rows, tops, heights, band_x, fontsize)
    if title:
        ax.text(3.6, -0.2, label(title), ha="center", va="center", fontsize=8.5)
    return fig


def _stage_bands(ax, rows, tops, heights, band_x, fontsize):
    """The shaded stage labels (Identification, Screening, Included) down the left."""
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i]["stage"] != rows[start]["stage"]:
            top, bottom = tops[start], tops[i - 1] + heights[i - 1]
            ax.add_patch(plt.Rectangle((band_x, top), 0.3, bottom - top, color="#d6e4f0", lw=0))
            ax.text(band_x + 0.15, (top + bottom) / 2, label(rows[start]["stage"]), rotation=90, ha="center", va="center",
                    fontsize=fontsize, fontweight="bold")
            start = i


@styled
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
    ax.set_yticklabels([label(c) for c in frame["claim"]], fontsize=8)
    ax.set_xlabel("Standardised mean difference (logit method for response rates)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=7, frameon=False)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig
