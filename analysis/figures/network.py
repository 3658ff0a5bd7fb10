"""Network meta-analysis figures of the data: the network graph, and what it is drawn from.

The figures of a fit (the league heatmap and the comparison-adjusted funnel) are in
:mod:`analysis.figures.network_fit` and re-exported here. Each takes what the engine returns
(:func:`analysis.meta.nma_data.arm_contrasts` and :func:`analysis.meta.nma.nma`), draws in the
book's style and returns the Figure with ``finding``, one sentence for its alt text. Every
treatment name is escaped with :func:`label` (no mathtext from data) and, in the alt text, with
:func:`analysis.escape.visible` (no bidirectional controls). The graph is drawn with plain
matplotlib (networkx is not a dependency of the package).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.escape import visible
from analysis.figures.network_fit import Z95, comparison_adjusted_funnel, league_heatmap, league_matrix
from analysis.figures.style import INK, PALETTE, label, styled

__all__ = ["Z95", "comparison_adjusted_funnel", "direct_comparisons", "league_heatmap", "league_matrix",
           "network_graph", "study_treatments", "treatment_sizes"]


def study_treatments(data) -> pd.DataFrame:
    """Each study's treatments, one row per (study, treatment), from the contrasts of ``data``
    (a study's baseline arm is the ``treat2`` of its contrasts, its other arms their ``treat1``)."""
    pairs = pd.concat([pd.DataFrame({"study": data.study, "treatment": data.treat2}),
                       pd.DataFrame({"study": data.study, "treatment": data.treat1})], ignore_index=True)
    return pairs.astype(str).drop_duplicates(ignore_index=True)


def direct_comparisons(data) -> pd.DataFrame:
    """Every pair of treatments that some study compares directly, with how many studies do.

    A study with arms A, B and C compares A-B, A-C and B-C, each counted once per study however
    many contrasts the data hold for it.

    Returns
    -------
    DataFrame
        ``treat_a``, ``treat_b`` (``treat_a`` earlier in ``data.treatments``, so the reference
        is always ``treat_a``) and ``studies``, one row per directly compared pair, in the order
        of the treatments.
    """
    rank = {t: i for i, t in enumerate(data.treatments)}
    rows = {}
    for _, group in study_treatments(data).groupby("study", sort=False):
        names = sorted(group["treatment"], key=rank.__getitem__)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                rows[(a, b)] = rows.get((a, b), 0) + 1
    frame = pd.DataFrame([(a, b, n) for (a, b), n in rows.items()], columns=["treat_a", "treat_b", "studies"])
    if frame.empty:
        return frame.astype({"studies": int})
    order = frame["treat_a"].map(rank) * len(rank) + frame["treat_b"].map(rank)
    return frame.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)


def treatment_sizes(data, arms=None) -> pd.DataFrame:
    """Per treatment, in the order of ``data.treatments``: the studies (arms) it has in the
    network and, given the ``arms`` frame (``study``, ``treatment``, ``n``), its participants,
    counting only the arms the network kept (the arms of one treatment in a study summed)."""
    pairs = study_treatments(data)
    out = pd.DataFrame({"treatment": list(data.treatments)})
    out["arms"] = out["treatment"].map(pairs["treatment"].value_counts()).fillna(0).astype(int)
    if arms is not None:
        arms = pd.DataFrame({"study": arms["study"].astype(str), "treatment": arms["treatment"].astype(str),
                             "n": pd.to_numeric(arms["n"], errors="coerce")})
        kept = arms.merge(pairs, on=["study", "treatment"], how="inner")
        out["participants"] = out["treatment"].map(kept.groupby("treatment")["n"].sum()).fillna(0.0)
    return out


def _circle(T: int) -> np.ndarray:
    """T points on the unit circle, the first at the top, the others clockwise."""
    angle = np.pi / 2 - 2 * np.pi * np.arange(T) / max(T, 1)
    return np.column_stack([np.cos(angle), np.sin(angle)])


def _draw_edges(ax, direct, pos, index, max_width: float, min_width: float, counts: bool | None) -> int:
    """The edges of ``direct`` (sorted thinnest first, so the most-studied lie on top) as the
    LineCollection with gid ``"edges"``, with each edge's number of studies at its middle when
    ``counts`` (by default when there are at most 20 edges); returns the largest number of studies."""
    from matplotlib.collections import LineCollection

    most = max(int(direct["studies"].max()), 1) if len(direct) else 1
    widths = np.maximum(max_width * direct["studies"].to_numpy(float) / most, min_width)
    segments = [(pos[index[a]], pos[index[b]]) for a, b in zip(direct["treat_a"], direct["treat_b"])]
    edges = LineCollection(segments, linewidths=widths, colors="0.45", alpha=0.65, capstyle="round", zorder=1)
    edges.set_gid("edges")
    ax.add_collection(edges)
    if counts is None:
        counts = len(direct) <= 20
    if counts:
        for (p, q), n in zip(segments, direct["studies"]):
            ax.text(*(np.add(p, q) / 2), f"{n}", ha="center", va="center", fontsize=6.5, color=INK, zorder=4,
                    gid="edge-count", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
    return most


def _draw_nodes(ax, pos, amount, max_area: float, min_area: float) -> tuple[np.ndarray, float]:
    """The nodes as the PathCollection with gid ``"nodes"``, area proportional to ``amount``
    (floored at ``min_area``), the reference (first) in the pooled colour; returns the areas
    and the largest amount."""
    biggest = amount.max() if len(amount) and amount.max() > 0 else 1.0
    area = np.maximum(max_area * amount / biggest, min_area)
    colours = [PALETTE["pooled"] if i == 0 else PALETTE["study"] for i in range(len(pos))]
    nodes = ax.scatter(pos[:, 0], pos[:, 1], s=area, c=colours, edgecolors="white", linewidths=0.8, zorder=2)
    nodes.set_gid("nodes")
    return area, biggest


def _draw_labels(ax, pos, treatments, area) -> None:
    """Each treatment's name (escaped) outside the circle, clear of its node's radius."""
    T = len(treatments)
    fontsize = 8 if T <= 15 else 7 if T <= 25 else 6
    for (x, y), t, s in zip(pos, treatments, area):
        gap = np.sqrt(s / np.pi) + 3  # the node's radius in points, plus a little
        ha = "center" if abs(x) < 0.2 else ("left" if x > 0 else "right")
        va = "center" if abs(y) < 0.8 else ("bottom" if y > 0 else "top")
        ax.annotate(label(t), (x, y), xytext=(gap * x, gap * y), textcoords="offset points", ha=ha, va=va,
                    fontsize=fontsize, color=INK, zorder=3, gid="node-label")


def _size_key(ax, unit: str, biggest: float, most: int, node_area: tuple, edge_width: tuple) -> None:
    """A key for the sizes below the graph: the largest node and edge and a smaller one of each.
    ``node_area`` and ``edge_width`` are (largest, floor)."""
    from matplotlib.lines import Line2D

    keys = []
    for share in (1.0, 0.25):
        value = biggest * share
        keys.append(Line2D([], [], ls="none", marker="o", color=PALETTE["study"], mec="white",
                           markersize=np.sqrt(max(node_area[0] * share, node_area[1])),
                           label=f"{value:,.0f} {unit}"))
    for share in (1.0, 0.25):
        value = max(round(most * share), 1)
        keys.append(Line2D([], [], color="0.45", alpha=0.65,
                           lw=max(edge_width[0] * value / most, edge_width[1]), label=f"{value:,} {'study' if value == 1 else 'studies'}"))
    ax.legend(handles=keys, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, fontsize=7, frameon=False,
              handlelength=2.5, borderaxespad=0.2)


def _graph_finding(data, direct) -> str:
    """The graph's alt text; ``direct`` sorted by number of studies, the most studied last."""
    T = len(data.treatments)
    pairs = T * (T - 1) // 2
    finding = (f"Network of {T} treatments from {data.n_studies:,} studies: {len(direct)} of the {pairs} "
               f"possible comparisons have direct evidence")
    if len(direct):
        top = direct.iloc[-1]
        finding += (f", the most studied being {visible(top['treat_b'])} against {visible(top['treat_a'])} "
                    f"({int(top['studies']):,} studies)")
    return finding + "."


@styled
def network_graph(data, ax=None, arms=None, *, max_node_area: float = 900.0, min_node_area: float = 12.0,
                  max_edge_width: float = 7.0, min_edge_width: float = 0.4, edge_counts: bool | None = None,
                  title: str | None = None):
    """The network graph: one node per treatment on a circle (the reference at the top, the
    others clockwise in the data's order), one edge per pair of treatments compared directly.

    Node area is proportional to the treatment's participants when ``arms`` is given, otherwise
    to its number of arms (studies); edge width is proportional to the number of studies
    comparing the pair (:func:`direct_comparisons`). Edges are drawn first, thinnest first, then
    the nodes, then the labels outside the circle.

    Parameters
    ----------
    data : NetworkData
    ax : Axes, optional
        Drawn into this axes (its figure is returned); a new 6.5 x 6.5 in figure otherwise.
    arms : DataFrame, optional
        The arm-level frame given to ``arm_contrasts`` (``study``, ``treatment``, ``n``): nodes
        sized by participants.
    max_node_area, max_edge_width : float
        The largest node's area (points²) and the widest edge's width (points). Nodes and edges
        are never drawn smaller than ``min_node_area`` and ``min_edge_width`` (so that one
        small study stays visible); above those floors sizes are proportional.
    edge_counts : bool, optional
        Print each edge's number of studies at its middle; by default when there are at most
        20 edges.

    Returns
    -------
    matplotlib.figure.Figure
        With ``finding`` (alt text). The edges are the LineCollection with gid ``"edges"``,
        the nodes the PathCollection with gid ``"nodes"`` (offsets in treatment order), the
        labels the texts with gid ``"node-label"``.
    """
    import matplotlib.pyplot as plt

    treatments = list(data.treatments)
    pos = _circle(len(treatments))
    unit = "participants" if arms is not None else "arms"
    amount = treatment_sizes(data, arms)[unit].to_numpy(float)
    fig, ax = plt.subplots(figsize=(6.5, 6.5)) if ax is None else (ax.figure, ax)
    direct = direct_comparisons(data)
    direct = direct.iloc[np.argsort(direct["studies"].to_numpy(), kind="stable")]
    index = {t: i for i, t in enumerate(treatments)}
    most = _draw_edges(ax, direct, pos, index, max_edge_width, min_edge_width, edge_counts)
    area, biggest = _draw_nodes(ax, pos, amount, max_node_area, min_node_area)
    _draw_labels(ax, pos, treatments, area)
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    _size_key(ax, unit, biggest, most, (max_node_area, min_node_area), (max_edge_width, min_edge_width))
    if title is not None:
        ax.set_title(label(title), fontsize=9)
    fig.tight_layout()
    fig.finding = _graph_finding(data, direct)
    return fig
