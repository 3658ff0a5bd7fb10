"""The rows of a forest plot, top to bottom, from a fitted model: each study with its cells,
effect and weight, the subgroup headings, diamonds and heterogeneity, the pooled diamond, the
prediction interval and the notes (drawn by :mod:`analysis.figures.forest_table`)."""

from __future__ import annotations

import numpy as np

from analysis.figures.style import label
from analysis.review.wording import fixed, format_p

Z = 1.959963984540054
LABEL_CHARS = 60    # longer study labels end in an ellipsis (the data file the chapter offers names them in full)


def short(text: str) -> str:
    text = str(text)
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def cut_labels_note(labels) -> str:
    """The caption's note on the labels :func:`short` cuts: "3 labels longer than 60 characters end in
    “…” (the data file the chapter offers for download names them in full)."; "" when none is cut."""
    n = sum(len(str(t)) > LABEL_CHARS for t in labels)
    if not n:
        return ""
    return (f"{n:,} {'label' if n == 1 else 'labels'} longer than {LABEL_CHARS} characters "
            f"{'ends' if n == 1 else 'end'} in “…” (the data file the chapter offers for download names "
            f"{'it' if n == 1 else 'them'} in full).")


def fmt_effect(est, lo, hi) -> str:
    """``0.26 [0.00, 0.51]``: never "-0.00" (:func:`analysis.review.wording.fixed`)."""
    return f"{fixed(est, 2)} [{fixed(lo, 2)}, {fixed(hi, 2)}]"


def build_rows(res, labels, transform, subgroups=None, columns=None, method_label=None, show=None,
               unit: str = "studies") -> list[dict]:
    """The rows of the plot, top to bottom: dicts with ``kind`` (``header``, ``study``, ``subgroup``,
    ``overall``, ``pi``, ``note``), the cells of the text columns and the interval to draw. With
    ``show`` (indices), only those studies get a row; every study stays in the diamonds."""
    from analysis.meta.subgroups import subgroup_analysis

    k = res.k
    est, se = np.asarray(res.yi, float), np.sqrt(np.asarray(res.vi, float))
    weights = np.asarray(res.weights_percent, float)
    columns = {name: [str(v) for v in values] for name, values in (columns or {}).items()}

    def study(i):
        lo, hi = est[i] - Z * se[i], est[i] + Z * se[i]
        return {"kind": "study", "label": label(short(labels[i])), "cells": [c[i] for c in columns.values()],
                "mid": transform(est[i]), "lo": transform(lo), "hi": transform(hi), "weight": weights[i],
                "effect": fmt_effect(transform(est[i]), transform(lo), transform(hi)), "w": f"{weights[i]:.1f}%"}

    drawn = np.ones(k, bool) if show is None else np.isin(np.arange(k), np.asarray(show, int))
    rows: list[dict] = []
    model_name = method_label or f"Random-effects model ({res.method}{', HKSJ' if res.hksj else ''})"
    if subgroups is not None:
        groups = np.asarray(subgroups).astype(str)
        order = list(dict.fromkeys(groups))
        for g in order:
            sel = np.flatnonzero(groups == g)
            rows.append({"kind": "header", "label": label(g)})
            rows.extend(study(i) for i in sel if drawn[i])
            fit = res.refit(groups == g) if len(sel) > 1 else None
            if fit is not None:
                mid, lo, hi = (transform(x) for x in (fit.estimate, fit.ci_low[0], fit.ci_high[0]))
                rows.append({"kind": "subgroup", "label": f"Subtotal, {label(g)} (k = {len(sel)})", "mid": mid, "lo": lo,
                             "hi": hi, "effect": fmt_effect(mid, lo, hi), "w": f"{weights[sel].sum():.1f}%",
                             "cells": [""] * len(columns)})
                rows.append({"kind": "note", "label": f"Heterogeneity: I² = {fit.i2:.0f}%, tau² = {fit.tau2:.3f}"})
        if len(order) > 1:
            try:
                sub = subgroup_analysis(res.yi, res.vi, groups, method=res.method, hksj=res.hksj)
                test = f"Test for subgroup differences: Q = {sub.q_between:.2f}, df = {sub.df_between}, p {format_p(sub.p_between)}"
            except (ValueError, RuntimeError, np.linalg.LinAlgError):
                test = None
        else:
            test = None
    else:
        rows.extend(study(i) for i in range(k) if drawn[i])
        test = None
    return rows + _summary_rows(res, transform, model_name, columns, test, drawn, weights, unit)


def _summary_rows(res, transform, model_name, columns, test, drawn, weights, unit="studies") -> list[dict]:
    """The pooled diamond, the prediction interval and the notes below the studies."""
    k = res.k
    pred = res.predict()
    mid, lo, hi = (transform(pred[x]) for x in ("pred", "ci_low", "ci_high"))
    rows = [{"kind": "overall", "label": f"{model_name}, k = {k}", "mid": mid, "lo": lo, "hi": hi,
             "effect": fmt_effect(mid, lo, hi), "w": "100%", "cells": _totals(columns)}]
    if not np.isnan(pred["pi_low"]):
        plo, phi = transform(pred["pi_low"]), transform(pred["pi_high"])
        rows.append({"kind": "pi", "label": "95% prediction interval", "mid": mid, "lo": plo, "hi": phi,
                     "effect": f"[{fixed(plo, 2)}, {fixed(phi, 2)}]", "w": "", "cells": [""] * len(columns)})
    rows.append({"kind": "note", "label": f"Heterogeneity: tau² = {res.tau2:.3f}; I² = {res.i2:.0f}%; "
                                          f"Q = {res.q:.1f}, df = {k - 1}, p {format_p(res.p_q)}"})
    if test:
        rows.append({"kind": "note", "label": test})
    if not drawn.all():
        rows.append({"kind": "note", "label": f"{int((~drawn).sum()):,} {unit} with {weights[~drawn].sum():.1f}% of the "
                                              f"weight not drawn; all {k:,} are pooled"})
    return rows


def _totals(columns: dict) -> list[str]:
    """Column totals where every cell is ``events/n`` (integers): the sums, as RevMan prints them."""
    out = []
    for values in columns.values():
        try:
            pairs = [tuple(int(x) for x in v.split("/")) for v in values]
            out.append(f"{sum(p[0] for p in pairs)}/{sum(p[1] for p in pairs)}")
        except ValueError:
            out.append("")
    return out
