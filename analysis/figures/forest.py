"""Forest, funnel, leave-one-out and cumulative plots drawn from fitted models."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from analysis.figures.style import PALETTE, RASTER_ABOVE, label, largest, plain_log_axis, styled
from analysis.meta.fit import MetaResult


@styled
def forest_plot(res: MetaResult, labels, transform=np.exp, xlabel: str = "Risk ratio", max_rows: int = 60, ref: float = 1.0,
                *, columns: dict | None = None, subgroups=None, favours: tuple[str, str] | None = None,
                effect_label: str | None = None, title: str | None = None, show=None, unit: str = "studies"):
    """Forest plot as metafor's ``forest`` and RevMan draw it: every study in its own row with its
    data, its effect and 95% CI in numbers and its weight; subgroup diamonds; the pooled diamond,
    the 95% prediction interval and the heterogeneity statistics.

    Parameters
    ----------
    res : MetaResult
    labels : sequence of str
        One label per study, in the model's order.
    transform : callable
        From the model's scale to the scale shown (``np.exp`` for ratios: a log axis).
    max_rows : int
        Rows per page. No study is ever left out: the returned figure holds every row (the web
        book shows it whole); with more rows than ``max_rows`` it also has ``pages``, a list of
        figures of at most ``max_rows`` rows each on the same axis (the PDF shows one per page).
    columns : dict, optional
        Header -> one string per study, printed left of the plot (e.g. ``arm_columns(trials)``:
        events/n per arm; ``events/n`` columns are summed on the pooled row).
    subgroups : sequence, optional
        A subgroup label per study: studies are grouped in order of first appearance, each group
        with its own diamond (same model) and the test for subgroup differences at the bottom.
    favours : (str, str), optional
        What lies left and right of the reference line ("placebo", "SSRI").
    show : array_like of int, optional
        Draw only these studies' rows (e.g. the heaviest, :func:`analysis.review.limits.heaviest_rows`,
        for tens of thousands of studies); every study stays in the diamonds and the statistics, and
        a note row says how many are not drawn.
    unit : str
        What a row is, plural, for the title and the alt text ("comparisons" where a trial gives
        more than one row).

    Returns
    -------
    matplotlib.figure.Figure
        With ``pages`` (list of figures, one per PDF page; ``[fig]`` when it fits one) and
        ``finding`` (one sentence stating the pooled result, used as the image's alt text).
    """
    from analysis.figures.forest_rows import build_rows
    from analysis.figures.forest_table import draw_page, layout, x_limits

    log = transform is np.exp
    effect_header = effect_label or f"{xlabel} [95% CI]"
    rows = build_rows(res, list(labels), transform, subgroups=subgroups, columns=columns, show=show, unit=unit)
    columns = {name: [str(v) for v in values] for name, values in (columns or {}).items()}
    drawn_columns = columns if show is None else {n: [v[i] for i in show] for n, v in columns.items()}
    widths = layout(rows, drawn_columns, effect_header)  # the widths of what is drawn
    xlim = x_limits(rows, log, ref)
    head = title or f"{res.k:,} {unit}, {res.method}{' + HKSJ' if res.hksj else ''}"
    overall = next(r for r in rows if r["kind"] == "overall")
    fig = plt.figure()
    draw_page(fig, rows, columns, widths, xlim, log, ref, xlabel, effect_header, head, favours, overall["mid"])
    fig.pages = _pages(fig, rows, max_rows, columns, widths, xlim, log, ref, xlabel, effect_header, head, favours,
                       overall["mid"])
    fig.finding = _finding(res, rows, overall, xlabel, unit, show)
    return fig


def _finding(res, rows, overall, xlabel, unit, show) -> str:
    """One sentence stating the pooled result (the figure's alt text)."""
    pi = next((r for r in rows if r["kind"] == "pi"), None)
    return (f"Pooled {xlabel.lower()} {overall['mid']:.2f} (95% CI {overall['lo']:.2f} to {overall['hi']:.2f}) "
            f"from {res.k:,} {unit}" + ("" if show is None or len(show) == res.k else f" ({len(show):,} drawn)")
            + (f"; 95% prediction interval {pi['lo']:.2f} to {pi['hi']:.2f}" if pi else "")
            + f"; I² {res.i2:.0f}%.")


def _pages(fig, rows, max_rows, columns, widths, xlim, log, ref, xlabel, effect_header, head, favours, pooled):
    """The figure split into pages of at most ``max_rows`` rows (``[fig]`` when it fits one)."""
    from matplotlib.figure import Figure

    from analysis.figures.forest_table import draw_page

    if len(rows) <= max_rows:
        return [fig]
    chunks = [rows[i:i + max_rows] for i in range(0, len(rows), max_rows)]
    if len(chunks) > 1 and not any(r["kind"] == "study" for r in chunks[-1]):
        chunks[-2:] = [chunks[-2] + chunks[-1]]  # the summary rows stay with the last studies
    pages = []
    for number, chunk in enumerate(_with_headings(chunks), 1):
        page = Figure()
        draw_page(page, chunk, columns, widths, xlim, log, ref, xlabel, effect_header,
                  f"{head} (part {number} of {len(chunks)})", favours, pooled)
        pages.append(page)
    return pages


def _with_headings(chunks: list[list[dict]]) -> list[list[dict]]:
    """Each page that starts inside a subgroup opens with that subgroup's heading again, marked
    "(continued)", as a table continued over pages repeats its heading."""
    out, current = [], None
    for chunk in chunks:
        if current is not None and chunk[0]["kind"] in ("study", "subgroup", "note"):
            chunk = [{"kind": "header", "label": f"{current} (continued)", "continued": True}] + chunk
        out.append(chunk)
        for row in chunk:
            if row["kind"] == "header" and not row.get("continued"):
                current = row["label"]
            elif row["kind"] == "overall":
                current = None
    return out


def arm_columns(trials, treat: str = "Intervention", ctrl: str = "Control") -> dict:
    """Events/n of each arm as whole numbers, for ``forest_plot(columns=...)``."""
    def pairs(events, n):
        return [f"{int(round(e))}/{int(round(m))}" for e, m in zip(trials[events], trials[n])]

    return {f"{treat} n/N": pairs("treat_events", "treat_n"), f"{ctrl} n/N": pairs("ctrl_events", "ctrl_n")}


MAX_NAMED = 12  # a funnel plot names at most this many of its circled points


@styled
def funnel_plot(res: MetaResult, xlabel: str = "Log risk ratio", annotate=None):
    """Contour-enhanced funnel plot: the pooled estimate with 90/95/99% significance contours around zero.

    Every study is drawn (the axis spans them all; the legend sits below the plot, never on a
    point); ``annotate`` maps study indices to labels (e.g. the effects the implausible-effect rule
    excluded): each is circled, and the :data:`MAX_NAMED` farthest from zero are named beside
    their points (thousands of names would cover the plot).
    """
    se = np.sqrt(res.vi)
    top = se.max() * 1.05
    grid = np.linspace(0, top, 50)
    fig, ax = plt.subplots(figsize=(6, 4.8))
    for level, shade in ((0.99, "0.92"), (0.95, "0.85"), (0.90, "0.75")):
        zq = {0.90: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}[level]
        ax.fill_betweenx(grid, -zq * grid, zq * grid, color=shade, label=f"p > {1 - level:.2f} (around 0)", lw=0)
    # thousands of points: a raster layer inside the SVG/PDF, so that the file stays small
    ax.scatter(res.yi, se, s=14, color=PALETTE["study"], zorder=3, label="study", rasterized=res.k > RASTER_ABOVE)
    ax.axvline(res.estimate, color=PALETTE["pooled"], lw=1, label="pooled estimate")
    marked = np.array(sorted(annotate or {}), dtype=int)
    if len(marked):
        ax.scatter(res.yi[marked], se[marked], s=30, facecolors="none", edgecolors="#D55E00", zorder=4,
                   rasterized=len(marked) > RASTER_ABOVE)
    for i in marked[np.argsort(-np.abs(res.yi[marked]), kind="stable")][:MAX_NAMED]:
        ax.annotate(label(annotate[int(i)]), (res.yi[i], se[i]), xytext=(-4, 4), textcoords="offset points",
                    ha="right", fontsize=6.5, color="#D55E00")
    span = np.ptp(res.yi) or 1.0
    ax.set_xlim(min(res.yi.min(), -2.6 * top) - 0.03 * span, max(res.yi.max(), 2.6 * top) + 0.03 * span)
    ax.set_ylim(top, 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Standard error")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


@styled
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
    rows = loo.iloc[largest((loo["estimate"] - res.estimate).abs(), max_rows)]
    n = len(rows)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.22 * (n + 1)))
    ypos = np.arange(n)[::-1] + 1
    ax.axvspan(transform(res.ci_low[0]), transform(res.ci_high[0]), color=PALETTE["pooled"], alpha=0.12, lw=0,
               label="all studies: 95% CI")
    ax.axvline(transform(res.estimate), color=PALETTE["pooled"], lw=1, label="all studies: estimate")
    ax.hlines(ypos, transform(rows["ci_low"]), transform(rows["ci_high"]), color="0.3", lw=1)
    ax.scatter(transform(rows["estimate"]), ypos, s=14, marker="s", color=PALETTE["study"], zorder=3)
    ax.axvline(ref, color="0.5", ls="--", lw=0.8)
    ax.set_yticks(ypos)
    ax.set_yticklabels([f"without {label(omitted)}" for omitted in rows["omitted"]], fontsize=7)
    if transform is np.exp:
        ax.set_xscale("log")
        plain_log_axis(ax.xaxis)
    ax.set_xlabel(xlabel)
    title = f"Leave-one-out, k = {res.k:,}"
    if len(loo) > max_rows:
        title += f" (the {max_rows} omissions that move the estimate most)"
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", visible=False)
    height = fig.get_size_inches()[1]
    fig.tight_layout(rect=(0, 0.3 / height, 1, 1))
    fig.legend(loc="lower center", ncol=2, fontsize=7, frameon=False)
    return fig


@styled
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
    ax.fill_between(step, transform(cum["ci_low"]), transform(cum["ci_high"]), color=PALETTE["study"], alpha=0.18, lw=0,
                    label="95% CI")
    ax.plot(step, transform(cum["estimate"]), color=PALETTE["study"], lw=1.5, label="pooled estimate")
    ax.axhline(ref, color="0.5", ls="--", lw=0.8)
    if transform is np.exp:
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
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
