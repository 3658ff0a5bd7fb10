"""The specification curve: every specification's estimate, sorted, with its CI, and beneath it
the choices that made it (Simonsohn, Simmons & Nelson, 2020)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from analysis.figures.style import RASTER_ABOVE, label, plain_log_axis, styled

SIGNIFICANT, NOT_SIGNIFICANT = "#1f4e79", "#b0b0b0"


def _chosen_panel(ax, curve, dims, sig):
    """Beneath the curve: one row per option, marked where a specification chose it (an image,
    so that ten thousand specifications draw as fast as ten)."""
    rows, names, gaps = [], [], []
    for dim in dims:
        for option in curve.sort_values("spec_id")[dim].drop_duplicates().tolist():
            chosen = curve[dim].to_numpy() == option
            rows.append(np.where(chosen, np.where(sig, 2, 1), 0))
            names.append(label(f"{dim.replace('_', ' ')}: {option}"))
        gaps.append(len(rows))
    image = np.array(rows)
    colours = ListedColormap(["white", NOT_SIGNIFICANT, SIGNIFICANT])
    ax.imshow(image, aspect="auto", interpolation="nearest", cmap=colours, vmin=0, vmax=2,
              extent=(0.5, image.shape[1] + 0.5, len(rows) - 0.5, -0.5))
    for g in gaps[:-1]:
        ax.axhline(g - 0.5, color="0.6", lw=0.6)
    ax.set_yticks(np.arange(len(rows)))
    ax.set_yticklabels(names, fontsize=6)
    ax.grid(False)


@styled
def specification_curve(curve, dims, *, transform=None, ylabel: str = "Estimate", references=(),
                        null: float = 0.0, title: str = ""):
    """Specification curve of ``curve`` (:func:`analysis.multiverse.summary.curve`).

    Parameters
    ----------
    curve : DataFrame
        Fitted specifications sorted by estimate, with ``rank``, ``estimate``, ``ci_low``,
        ``ci_high`` and a column per dimension in ``dims``.
    transform : callable, optional
        Applied to the estimates and limits for display (``np.exp`` for ratios: log axis).
    references : sequence of (value, text)
        Reference lines on the displayed scale, e.g. the claimed value and a clinically relevant one.
    null : float
        The null value (on the displayed scale); specifications whose CI excludes it are dark.
    """
    tf = transform or (lambda x: x)
    est, lo, hi = (tf(curve[c].to_numpy(float)) for c in ("estimate", "ci_low", "ci_high"))
    rank = curve["rank"].to_numpy()
    sig = (lo > null) | (hi < null)
    n_rows = sum(curve[d].nunique() for d in dims)
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7.5, 3.2 + 0.13 * n_rows),
                                      gridspec_kw={"height_ratios": [2.2, 0.16 * n_rows + 0.6]})
    top.fill_between(rank, lo, hi, color=NOT_SIGNIFICANT, alpha=0.5, lw=0, step="mid", label="95% CI",
                     rasterized=len(rank) > RASTER_ABOVE)
    top.scatter(rank, est, s=1.5, c=np.where(sig, SIGNIFICANT, NOT_SIGNIFICANT), lw=0, zorder=3,
                rasterized=len(rank) > RASTER_ABOVE)
    top.axhline(null, color="0.3", lw=0.8)
    for (value, text), style in zip(references, ("--", ":", "-.", (0, (1, 3)))):
        top.axhline(value, color="#b03a2e", lw=1, ls=style, label=label(f"{text} ({value:.2f})"))
    if transform is np.exp:
        top.set_yscale("log")
        plain_log_axis(top.yaxis)
    top.set_ylabel(ylabel)
    top.set_xlim(0.5, len(curve) + 0.5)
    top.legend(loc="upper left", fontsize=7, frameon=False)
    top.set_title(label(title) if title else f"{len(curve):,} specifications, sorted by estimate", fontsize=9)
    _chosen_panel(bottom, curve, dims, sig)
    bottom.set_xlabel("Specification (rank of the estimate)")
    fig.tight_layout()
    return fig


@styled
def importance_plot(table, *, xlabel: str = "Share of the variance of the estimates"):
    """Horizontal bars: each dimension's share of the variance between its options (``eta2``) and
    its unique contribution to a main-effects model (``unique_r2``), from
    :func:`analysis.multiverse.summary.importance`."""
    t = table.iloc[::-1]
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(6, 0.9 + 0.3 * len(t)))
    ax.barh(y + 0.18, 100 * t["eta2"].to_numpy(), height=0.36, color=SIGNIFICANT, label="between options (η²)")
    ax.barh(y - 0.18, 100 * t["unique_r2"].to_numpy(), height=0.36, color="#c9a227", label="unique (ΔR²)")
    ax.set_yticks(y)
    ax.set_yticklabels([label(d.replace("_", " ")) for d in t["dimension"]], fontsize=8)
    ax.set_xlabel(xlabel + " (%)")
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig
