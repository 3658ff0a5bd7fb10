"""The forest plot drawn as a reader expects it (metafor's ``forest``, RevMan): the rows of
:mod:`analysis.figures.forest_rows` (every study with its data, effect, confidence interval and
weight in columns, subgroup diamonds, the pooled diamond, the prediction interval and the
heterogeneity) on an axis with ticks across the whole range.

Long plots are never cut. :func:`analysis.figures.forest_plot` returns one figure with every study
(the web page shows it whole, as SVG); when there are more rows than fit a page, the figure also
carries ``pages``: the same plot split into figures of at most ``rows_per_page`` rows each, on the
same axis, the summary rows on the last; the PDF shows one page per figure
(:func:`analysis.book.glue.glue_value` writes them as a multi-page PDF and the book's
``_ext/reader.py`` places every page).
"""

from __future__ import annotations

import numpy as np

from analysis.figures.style import INK, PALETTE

ROW = 0.19          # inches per row
FONT = 7.5          # points
PLOT_WIDTH = 2.3    # inches of the graph column


def ratio_ticks(lo: float, hi: float) -> list[float]:
    """Ticks for a ratio on a log axis across [lo, hi], at values a reader reads (0.5, 1, 2, ...)."""
    grid = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 20, 50, 100]
    ticks = [t for t in grid if lo <= t <= hi]
    if len(ticks) > 8:
        ticks = [t for t in ticks if t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)]
    if len(ticks) < 4:
        fine = [0.6, 0.8, 0.9, 1.1, 1.2, 1.25, 1.4, 1.75, 2.5]
        ticks = sorted(set(ticks) | {t for t in fine if lo <= t <= hi})
    return ticks


def x_limits(rows, log: bool, ref: float) -> tuple[float, float]:
    """The axis range: every pooled interval and the reference line, and the studies' intervals up
    to their 2nd and 98th percentiles (longer whiskers end in an arrow)."""
    studies = [r for r in rows if r["kind"] == "study"]
    pooled = [r for r in rows if r["kind"] in ("overall", "pi", "subgroup")]
    lows = np.array([r["lo"] for r in studies]) if studies else np.array([ref])
    highs = np.array([r["hi"] for r in studies]) if studies else np.array([ref])
    lo = min([np.percentile(lows, 2), ref] + [r["lo"] for r in pooled])
    hi = max([np.percentile(highs, 98), ref] + [r["hi"] for r in pooled])
    if log:
        lo, hi = max(lo, 1e-3), min(hi, 1e3)
        span = np.log(hi / lo)
        return float(lo * np.exp(-0.04 * span)), float(hi * np.exp(0.04 * span))
    pad = 0.04 * (hi - lo)
    return float(lo - pad), float(hi + pad)


def text_width(text: str, bold: bool = False) -> float:
    """Width in inches of ``text`` at the plot's font size (measured, with a margin for the
    browser's rendering of SVG text)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(family="DejaVu Sans", size=FONT, weight="bold" if bold else "normal")
    width, _, _ = TextToPath().get_text_width_height_descent(str(text), prop, ismath=False)
    return 1.08 * width / 72


def layout(rows, columns: dict, effect_header: str) -> dict:
    """Column widths (inches) from the longest text in each column."""
    def width(texts, minimum):
        return max([minimum] + [text_width(t, bold=True) for t in texts]) + 0.15

    study_w = width([r["label"] for r in rows if r["kind"] in ("study", "header", "subgroup", "overall", "pi")], 0.6)
    data_w = [width([name] + list(values), 0.5) + 0.1 for name, values in columns.items()]
    effect_w = width([effect_header] + [r.get("effect", "") for r in rows], 1.0)
    weight_w = width(["Weight"], 0.4)
    return {"study": study_w, "data": data_w, "plot": PLOT_WIDTH, "effect": effect_w, "weight": weight_w}


def draw_page(fig, rows, columns, widths, xlim, log, ref, xlabel, effect_header, title, favours=None, pooled=None):
    """Draw one page of rows into ``fig`` (whose size is set here)."""
    from matplotlib.transforms import blended_transform_factory

    ax, height, total = _page_axes(fig, rows, widths, xlim, log, ref, favours, pooled)
    text = blended_transform_factory(fig.transFigure, ax.transData)
    edges = np.cumsum([0, widths["study"]] + widths["data"] + [widths["plot"], widths["effect"], widths["weight"]]) / total
    pad = 0.06 / total
    _headers(fig, ax, columns, effect_header, edges, pad, height)
    studies = []  # (y, from, to, mid, size): every study's CI and square, drawn as two artists
    for y, r in enumerate(rows):
        _text_cells(fig, text, y, r, edges, pad)
        _marks(ax, y, r, xlim, studies)
    _studies(ax, studies)
    _x_axis(ax, xlim, log, xlabel, favours, height)
    fig.suptitle(title, x=edges[0] + pad, y=1 - 0.08 / height, ha="left", va="top", fontsize=FONT + 1, color=INK)
    return ax


def _page_axes(fig, rows, widths, xlim, log, ref, favours, pooled):
    """Size the figure for its rows and columns and place the plot column's axes."""
    n = len(rows)
    height = ROW * (n + 1.5) + 0.95 + (0.2 if favours else 0)
    total = widths["study"] + sum(widths["data"]) + widths["plot"] + widths["effect"] + widths["weight"]
    note_w = max([text_width(r["label"]) for r in rows if r["kind"] == "note"], default=0)
    total = max(total, note_w + 0.2)
    fig.set_size_inches(total, height)
    bottom = (0.55 + (0.2 if favours else 0)) / height
    top = 1 - (0.4 + ROW * 1.2) / height
    x0 = widths["study"] + sum(widths["data"])
    ax = fig.add_axes((x0 / total, bottom, widths["plot"] / total, top - bottom))
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(*xlim)
    if log:
        ax.set_xscale("log")
    ax.set_facecolor("none")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", left=False, labelleft=False)
    ax.grid(False)
    ax.axvline(ref, color="0.55", lw=0.8, zorder=1)
    if pooled is not None:
        ax.axvline(pooled, color=PALETTE["pooled"], lw=0.7, ls=(0, (3, 2)), zorder=1)
    return ax, height, total


def _headers(fig, ax, columns, effect_header, edges, pad, height):
    from matplotlib.transforms import blended_transform_factory

    head = blended_transform_factory(fig.transFigure, ax.transAxes)
    headers = ["Study"] + list(columns) + [None, effect_header, "Weight"]
    align = ["left"] + ["right"] * len(columns) + [None, "right", "right"]
    for j, (h, a) in enumerate(zip(headers, align)):
        if h is None:
            continue
        x = edges[j] + pad if a == "left" else edges[j + 1] - pad
        fig.text(x, 1 + 0.6 * ROW / (ax.get_position().height * height), h, transform=head, ha=a, va="bottom",
                 fontsize=FONT, fontweight="bold", color=INK)


def _text_cells(fig, text, y, r, edges, pad) -> None:
    """A row's label, data cells, effect and weight."""
    kind = r["kind"]
    weight = "bold" if kind in ("header", "overall", "subgroup") else "normal"
    if kind == "note":
        fig.text(edges[0] + pad, y, r["label"], transform=text, ha="left", va="center", fontsize=FONT - 0.5,
                 color="0.25", style="italic")
        return
    fig.text(edges[0] + pad, y, r["label"], transform=text, ha="left", va="center", fontsize=FONT,
             fontweight=weight, color=INK)
    if kind == "header":
        return
    cells = [(edges[j + 2], cell) for j, cell in enumerate(r.get("cells", []))]
    for x, cell in cells + [(edges[-2], r["effect"]), (edges[-1], r["w"])]:
        fig.text(x - pad, y, cell, transform=text, ha="right", va="center", fontsize=FONT, color=INK, fontweight=weight)


def _studies(ax, studies) -> None:
    """The studies' CIs as one line collection and their squares as one scatter (a page of hundreds
    of rows is then two artists, not hundreds: as fast to build and save as a page of ten)."""
    from matplotlib.collections import LineCollection

    if not studies:
        return
    ax.add_collection(LineCollection([((a, y), (b, y)) for y, a, b, _, _ in studies], colors=INK, linewidths=0.8,
                                     zorder=2))
    shown = [(mid, y, size) for y, _, _, mid, size in studies if size is not None]
    if shown:
        mids, ys, sizes = (np.array(v, dtype=float) for v in zip(*shown))
        ax.scatter(mids, ys, s=sizes ** 2, marker="s", color=PALETTE["study"], edgecolors="none", zorder=3)


def _marks(ax, y, r, xlim, studies: list) -> None:
    """A row's square and CI (added to ``studies``, drawn by :func:`_studies`), diamond or prediction
    interval (arrows where the CI leaves the axis)."""
    kind, (lo_lim, hi_lim) = r["kind"], xlim
    if kind in ("note", "header"):
        return
    lo, hi, mid = r["lo"], r["hi"], r["mid"]
    if kind == "study":
        if lo > hi_lim or hi < lo_lim:  # the whole interval beyond the axis: an arrow at that edge
            edge, step = (hi_lim, -1) if lo > hi_lim else (lo_lim, 1)
            ax.annotate("", xy=(edge, y), xytext=(edge + step * 0.08 * (hi_lim - lo_lim), y),
                        arrowprops={"arrowstyle": "-|>", "color": INK, "lw": 0.8, "mutation_scale": 6})
            return
        for end, edge, sign in ((lo, lo_lim, -1), (hi, hi_lim, 1)):
            if (end < edge) if sign < 0 else (end > edge):
                ax.annotate("", xy=(edge, y), xytext=(mid if lo_lim < mid < hi_lim else edge, y),
                            arrowprops={"arrowstyle": "-|>", "color": INK, "lw": 0.8, "mutation_scale": 6})
        size = min(2.0 + 5.5 * np.sqrt(r["weight"] / 100 * 40), 9) if lo_lim <= mid <= hi_lim else None
        studies.append((y, max(lo, lo_lim), min(hi, hi_lim), mid, size))
    elif kind in ("overall", "subgroup"):
        colour = PALETTE["pooled"] if kind == "overall" else PALETTE["subgroup"]
        ax.fill([lo, mid, hi, mid], [y, y - 0.38, y, y + 0.38], color=colour, zorder=3, lw=0)
    elif kind == "pi":
        ax.hlines(y, max(lo, lo_lim), min(hi, hi_lim), color=PALETTE["pooled"], lw=2.2, zorder=3)
        ax.vlines([max(lo, lo_lim), min(hi, hi_lim)], y - 0.25, y + 0.25, color=PALETTE["pooled"], lw=1.2)


def _x_axis(ax, xlim, log, xlabel, favours, height) -> None:
    """Ticks across the whole range (ratios on a log axis), the label and the favours line."""
    if log:
        from matplotlib.ticker import FixedLocator, NullLocator

        ax.xaxis.set_major_locator(FixedLocator(ratio_ticks(*xlim)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:g}")
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.tick_params(axis="x", labelsize=FONT, length=3, color=INK, labelcolor=INK)
    ax.set_xlabel(xlabel, fontsize=FONT, color=INK)
    if favours:
        left, right = favours
        below = -0.5 / (ax.get_position().height * height)  # half an inch under the axis, beneath its label
        ax.text(0.0, below, f"← favours {left}", transform=ax.transAxes, ha="left", va="top", fontsize=FONT - 0.5,
                color="0.25")
        ax.text(1.0, below, f"favours {right} →", transform=ax.transAxes, ha="right", va="top", fontsize=FONT - 0.5,
                color="0.25")
