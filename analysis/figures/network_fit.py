"""Network meta-analysis figures of a fit: the league heatmap and the comparison-adjusted funnel.

Each takes what :func:`analysis.meta.nma.nma` returns, draws in the book's style and returns the
Figure with ``finding``, one sentence for its alt text. Every treatment name is escaped with
:func:`label` (no mathtext from data) and, in the alt text, with :func:`analysis.escape.visible`
(no bidirectional controls). The figures of the data (the network graph) are in
:mod:`analysis.figures.network`.
"""

from __future__ import annotations

import numpy as np

from analysis.escape import visible
from analysis.figures.style import INK, OKABE_ITO, PALETTE, RASTER_ABOVE, label, plain_log_axis, styled

Z95 = 1.959963984540054


def league_matrix(fit, order=None, transform=np.exp) -> dict:
    """The league table as T x T arrays in ``order``: cell (i, j) is row treatment i against
    column treatment j on the scale of ``transform`` (estimate, CI low and high), NaN on the
    diagonal."""
    order = list(order if order is not None else fit.treatments)
    missing = set(order) ^ set(fit.treatments)
    if missing:
        raise ValueError(f"order must hold every treatment of the network once; differs in: {sorted(map(str, missing))}")
    index = {t: i for i, t in enumerate(order)}
    T = len(order)
    out = {key: np.full((T, T), np.nan) for key in ("estimate", "ci_low", "ci_high")}
    league = fit.league()
    r = league["treat1"].map(index).to_numpy()
    c = league["treat2"].map(index).to_numpy()
    est, lo, hi = (league[k].to_numpy(float) for k in ("estimate", "ci_low", "ci_high"))
    out["estimate"][r, c], out["ci_low"][r, c], out["ci_high"][r, c] = transform(est), transform(lo), transform(hi)
    out["estimate"][c, r], out["ci_low"][c, r], out["ci_high"][c, r] = transform(-est), transform(-hi), transform(-lo)
    return out


def _annotation(annotate, T: int) -> str | None:
    """What each cell of a league heatmap of T treatments shows: ``annotate`` unless ``"auto"``."""
    if annotate != "auto":
        return annotate
    return "ci" if T <= 10 else "estimate" if T <= 30 else None


def _colour_norm(est: np.ndarray, log: bool):
    """A diverging colour scale symmetric about no effect (1 on a log scale, 0 otherwise), wide
    enough for the largest finite estimate."""
    from matplotlib.colors import LogNorm, Normalize

    finite = est[np.isfinite(est)]
    if log:
        spread = float(np.max(np.abs(np.log(finite)))) if finite.size else 1.0
        spread = spread if spread > 0 else 1.0
        return LogNorm(vmin=np.exp(-spread), vmax=np.exp(spread))
    spread = float(np.max(np.abs(finite))) if finite.size else 1.0
    spread = spread if spread > 0 else 1.0
    return Normalize(vmin=-spread, vmax=spread)


def _annotate_cells(ax, m: dict, norm, mode: str, ref: float) -> None:
    """Each off-diagonal cell's estimate (and its CI when ``mode`` is ``"ci"``) as texts with gid
    ``"cell"``, bold where the CI excludes ``ref``, white on the deep colours."""
    est = m["estimate"]
    T = len(est)
    fontsize = float(np.clip((7.5 if mode == "ci" else 9.5) - 0.17 * T, 4.5, 8))
    excludes = (m["ci_low"] > ref) | (m["ci_high"] < ref)
    for i in range(T):
        for j in range(T):
            if i == j:
                continue
            text = f"{est[i, j]:.2f}"
            if mode == "ci":
                text += f"\n({m['ci_low'][i, j]:.2f},\n{m['ci_high'][i, j]:.2f})"
            dark = abs(float(norm(est[i, j])) - 0.5) > 0.3  # white text on the deep colours
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize, linespacing=1.0,
                    color="white" if dark else INK, fontweight="bold" if excludes[i, j] else "normal",
                    gid="cell")


def _league_axes(ax, order: list, pscores) -> None:
    """The treatments (escaped) as column labels on top and row labels with their P-scores; no
    ticks, grid or spines."""
    T = len(order)
    names = [label(t) for t in order]
    tick_size = 8 if T <= 12 else 7 if T <= 25 else 5.5
    ax.set_xticks(range(T))
    ax.set_yticks(range(T))
    ax.set_xticklabels(names, rotation=60, ha="left", rotation_mode="anchor", fontsize=tick_size)
    ax.set_yticklabels([f"{n} ({pscores[t]:.2f})" for n, t in zip(names, order)], fontsize=tick_size)
    ax.xaxis.tick_top()
    ax.set_ylabel("Row treatment (P-score)", fontsize=8)
    ax.set_xlabel("against the column treatment", fontsize=8)
    ax.xaxis.set_label_position("top")
    ax.tick_params(length=0)
    ax.grid(False)
    for edge in ax.spines.values():
        edge.set_visible(False)


def _colour_bar(fig, ax, image, effect_label: str, log: bool) -> None:
    """The horizontal colour bar below the heatmap, ratios labelled plainly on a log scale."""
    bar = fig.colorbar(image, ax=ax, orientation="horizontal", fraction=0.035, pad=0.03, aspect=40)
    bar.set_label(label(f"{effect_label}, row against column" + ("" if not log else " (log scale)")), fontsize=8)
    bar.ax.tick_params(labelsize=7)
    if log:
        plain_log_axis(bar.ax.xaxis)


def _league_finding(m: dict, order: list, pscores, ref: float) -> str:
    """The heatmap's alt text: the first and last treatment and how many pairs' CI excludes ``ref``."""
    T = len(order)
    pairs = T * (T - 1) // 2
    upper = np.triu_indices(T, 1)
    clear = int(((m["ci_low"] > ref) | (m["ci_high"] < ref))[upper].sum())
    return (f"League table of {T} treatments ordered by P-score, from {visible(order[0])} "
            f"({pscores[order[0]]:.2f}) to {visible(order[-1])} ({pscores[order[-1]]:.2f}); "
            f"the 95% CI excludes {'an odds ratio of 1' if ref == 1.0 else 'no difference'} in {clear} of the {pairs} pairs.")


@styled
def league_heatmap(fit, transform=np.exp, order=None, *, larger_is_better: bool = True, annotate="auto",
                   effect_label: str = "Odds ratio", title: str | None = None, cmap: str = "PuOr"):
    """The league table as a heatmap: cell (row i, column j) is the effect of the row treatment
    against the column treatment (an odds ratio with ``np.exp``), coloured on a diverging scale
    centred at no effect (log scale, centred at 1, for ratios), treatments ordered by P-score
    (best at the top and left) unless ``order`` is given.

    Each cell is annotated by ``annotate``: ``"ci"`` the estimate and its 95% CI, ``"estimate"``
    the estimate alone, ``None`` nothing; ``"auto"`` (default) chooses by the number of treatments
    T (CI to 10, estimate to 30) and the font size by T too. Estimates whose CI excludes no
    effect are in bold. At 22 treatments the figure is a full page (7.2 in wide).

    Parameters
    ----------
    fit : NetworkFit
    transform : callable
        From the model's scale to the one shown: ``np.exp`` for ratios (log colour scale centred
        at 1); anything else is shown on a linear scale centred at 0.
    order : sequence of str, optional
        The treatments' order; default by P-score, highest first.
    larger_is_better : bool
        For the P-scores of the default order.

    Returns
    -------
    matplotlib.figure.Figure
        With ``finding`` (alt text) and ``league`` (the arrays drawn, :func:`league_matrix`). The
        image is the axes' only AxesImage; its array holds the estimates.
    """
    import matplotlib.pyplot as plt

    pscores = fit.pscores(larger_is_better)
    if order is None:
        order = list(pscores.sort_values(ascending=False, kind="stable").index)
    order = list(order)
    T = len(order)
    m = league_matrix(fit, order, transform)
    log = transform is np.exp
    ref = 1.0 if log else 0.0
    norm = _colour_norm(m["estimate"], log)
    side = min(7.2, 2.2 + 0.24 * T)
    fig, ax = plt.subplots(figsize=(side, side + 0.9))
    colours = plt.get_cmap(cmap).with_extremes(bad="0.93")
    image = ax.imshow(np.ma.masked_invalid(m["estimate"]), cmap=colours, norm=norm, aspect="equal",
                      interpolation="nearest")
    mode = _annotation(annotate, T)
    if mode is not None:
        _annotate_cells(ax, m, norm, mode, ref)
    _league_axes(ax, order, pscores)
    _colour_bar(fig, ax, image, effect_label, log)
    if title is not None:
        ax.set_title(label(title), fontsize=9, pad=12)
    fig.tight_layout()
    fig.league = m
    fig.finding = _league_finding(m, order, pscores, ref)
    return fig


def _reorient(fit, order):
    """+1 where a contrast (treat1 vs treat2) already has the later treatment of ``order`` first, -1 otherwise."""
    rank = {t: i for i, t in enumerate(order)}
    missing = set(fit.treatments) - set(rank)
    if missing:
        raise ValueError(f"order lacks the treatment(s) {sorted(map(str, missing))}")
    later = np.array([rank[a] > rank[b] for a, b in zip(fit.data.treat1, fit.data.treat2)])
    return np.where(later, 1.0, -1.0)


def _funnel_points(fit, order):
    """``fit.funnel()`` with ``deviation`` reoriented by ``order`` (if given) and ``vs_reference``:
    whether the contrast involves the reference treatment."""
    points = fit.funnel()
    if order is not None:
        points["deviation"] = points["deviation"] * _reorient(fit, order)
    reference = str(fit.treatments[0])
    treat1, treat2 = np.asarray(fit.data.treat1, dtype=str), np.asarray(fit.data.treat2, dtype=str)
    points["vs_reference"] = (treat1 == reference) | (treat2 == reference)
    return points


def _pseudo_limits(ax, top: float) -> None:
    """The 95% pseudo-confidence region ±1.96 SE about 0, from SE 0 to ``top``, and the line at 0."""
    grid = np.array([0.0, top])
    ax.fill_betweenx(grid, -Z95 * grid, Z95 * grid, color="0.92", lw=0, zorder=0)
    ax.plot(-Z95 * grid, grid, color="0.45", lw=0.9, ls="--", zorder=1, label="95% pseudo-confidence limits")
    ax.plot(Z95 * grid, grid, color="0.45", lw=0.9, ls="--", zorder=1)
    ax.axvline(0, color=INK, lw=0.8, zorder=1)


def _funnel_scatter(ax, x, se, vs_ref, reference) -> None:
    """The contrasts against the reference (gid ``"vs-reference"``) and between two active
    treatments (gid ``"active"``), in two colours and markers, rasterised above :data:`RASTER_ABOVE` points."""
    many = len(x) > RASTER_ABOVE
    name = label(str(reference))
    groups = ((vs_ref, "vs-reference", "o", PALETTE["study"], f"against {name}"),
              (~vs_ref, "active", "^", OKABE_ITO[4], "between two active treatments"))
    for mask, gid, marker, colour, text in groups:
        if mask.any():
            drawn = ax.scatter(x[mask], se[mask], s=16, marker=marker, color=colour, alpha=0.75, lw=0, zorder=3,
                               label=f"{text} ({int(mask.sum()):,})", rasterized=many)
            drawn.set_gid(gid)


@styled
def comparison_adjusted_funnel(fit, order=None, *, xlabel: str = "Deviation from the network estimate (log odds ratio)",
                               title: str | None = None):
    """Comparison-adjusted funnel plot (Chaimani et al., 2013): each study's contrast minus the
    network estimate of its comparison (x) against its standard error (y, 0 at the top), with the
    95% pseudo-confidence limits ±1.96 SE around 0. Contrasts against the reference treatment and
    between two active treatments are drawn in two colours and markers.

    Parameters
    ----------
    fit : NetworkFit
    order : sequence of str, optional
        Orients each contrast as the later treatment of ``order`` against the earlier (e.g. newer
        against older, so that asymmetry means small studies favour the newer). By default the
        data's own orientation: each study's arm against its baseline, i.e. against the
        reference wherever the study has it.

    Returns
    -------
    matplotlib.figure.Figure
        With ``finding`` (alt text) and ``funnel`` (the points drawn: ``fit.funnel()`` with
        ``deviation`` reoriented by ``order`` and a ``vs_reference`` column). The points are the
        PathCollections with gid ``"vs-reference"`` and ``"active"``.
    """
    import matplotlib.pyplot as plt

    points = _funnel_points(fit, order)
    reference = fit.treatments[0]
    vs_ref = points["vs_reference"].to_numpy(bool)
    x, se = points["deviation"].to_numpy(float), points["se"].to_numpy(float)
    top = (se.max() if len(se) else 1.0) * 1.05
    fig, ax = plt.subplots(figsize=(6, 4.8))
    _pseudo_limits(ax, top)
    _funnel_scatter(ax, x, se, vs_ref, reference)
    span = max(np.abs(x).max() if len(x) else 0.0, Z95 * top) * 1.08
    ax.set_xlim(-span, span)
    ax.set_ylim(top, 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Standard error")
    if title is not None:
        ax.set_title(label(title), fontsize=9)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=7, frameon=False)
    fig.tight_layout()
    fig.funnel = points
    outside = int((np.abs(x) > Z95 * se).sum())
    fig.finding = (f"Comparison-adjusted funnel plot of {len(points):,} contrasts from {fit.data.n_studies:,} studies "
                   f"({int(vs_ref.sum()):,} against {visible(reference)}): {outside:,} lie outside the 95% "
                   f"pseudo-confidence limits.")
    return fig
