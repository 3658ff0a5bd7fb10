"""What the multiverse says: the specification curve, shares of specifications, the choices that
move the estimate most, and the words for them.

Estimates are on the analysis scale (g, log RR, log OR). A claim is compared on each
specification's own scale: for a binary claim (treatment % vs control %), its RR or OR; the
clinically relevant effect is the review's minimal important difference (a g, or a risk ratio,
converted to an odds ratio at the claimed control rate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.meta.conversions import from_proportions
from analysis.multiverse.grid import EQUIVALENCE

RESULT_COLUMNS = ("k", "k_outliers", "estimate", "se", "ci_low", "ci_high", "tau2", "p", "status")


def choice_columns(frame: pd.DataFrame, order=None) -> list[str]:
    """The dimensions of choice in ``frame`` (columns other than ids and results that have values),
    in ``order`` where given (e.g. :func:`analysis.multiverse.specs.dimension_order`)."""
    fixed = {"grid", "spec_id", "rank", "equivalence", *RESULT_COLUMNS}
    present = [c for c in frame.columns if c not in fixed and frame[c].notna().any()]
    return [c for c in order if c in present] if order is not None else present


def fitted(frame: pd.DataFrame) -> pd.DataFrame:
    """The specifications with an estimate (``status`` ok)."""
    return frame[(frame["status"] == "ok") & frame["estimate"].notna()]


def restrict(frame: pd.DataFrame, level: str = "equivalent") -> pd.DataFrame:
    """Specifications at least as equivalent as ``level`` (equivalent < uncertain < not equivalent)."""
    allowed = EQUIVALENCE[: EQUIVALENCE.index(level) + 1]
    return frame[frame["equivalence"].isin(allowed)]


def scales(claim, relevant: float) -> dict:
    """The claimed and the relevant value on each measure's (log) scale: ``{"RR": (claim, relevant),
    "OR": (...)}`` for a binary claim (treatment %, control %), with ``relevant`` a risk ratio (the
    review's MID) and its odds ratio at the claimed control rate; ``{"g": (claim, relevant)}`` otherwise."""
    if not isinstance(claim, (list, tuple)):
        return {"g": (float(claim), float(relevant))}
    conv = from_proportions(claim[0] / 100, claim[1] / 100)
    p0 = claim[1] / 100
    p1 = min(p0 * float(relevant), 1 - 1e-12)
    return {"RR": (conv["log_rr"], float(np.log(relevant))),
            "OR": (conv["log_or"], float(np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0))))}


def thresholds(frame: pd.DataFrame, claim, relevant: float) -> tuple[np.ndarray, np.ndarray]:
    """The claimed and the clinically relevant value for each row, on the row's scale."""
    on = scales(claim, relevant)
    if "g" in on:
        return np.full(len(frame), on["g"][0]), np.full(len(frame), on["g"][1])
    is_or = (frame["measure"] == "OR").to_numpy() if "measure" in frame else np.zeros(len(frame), bool)
    return (np.where(is_or, on["OR"][0], on["RR"][0]), np.where(is_or, on["OR"][1], on["RR"][1]))


def shares(frame: pd.DataFrame, claim, relevant: float) -> dict:
    """Shares (per cent) of the fitted specifications: ``at_or_above_claim``, ``claim_in_ci``,
    ``significant`` (CI above 0), ``above_relevant`` (estimate above the relevant effect,
    ``ci_above_relevant`` the CI), with ``n`` fitted of ``n_total``; ``median``, ``q25``, ``q75``,
    ``min`` and ``max`` of the estimates (analysis scale)."""
    ok = fitted(frame)
    out = {"n_total": len(frame), "n": len(ok)}
    if ok.empty:
        return {**out, **dict.fromkeys(("at_or_above_claim", "claim_in_ci", "significant", "above_relevant",
                                        "ci_above_relevant", "median", "q25", "q75", "min", "max"), np.nan)}
    claimed, rel = thresholds(ok, claim, relevant)
    est, lo, hi = (ok[c].to_numpy(float) for c in ("estimate", "ci_low", "ci_high"))
    pct = lambda mask: float(100 * np.mean(mask))
    return {
        **out,
        "at_or_above_claim": pct(est >= claimed),
        "claim_in_ci": pct((lo <= claimed) & (claimed <= hi)),
        "significant": pct(lo > 0),
        "above_relevant": pct(est > rel),
        "ci_above_relevant": pct(lo > rel),
        "median": float(np.median(est)),
        "q25": float(np.quantile(est, 0.25)),
        "q75": float(np.quantile(est, 0.75)),
        "min": float(est.min()),
        "max": float(est.max()),
    }


def curve(frame: pd.DataFrame) -> pd.DataFrame:
    """The specification curve: fitted specifications sorted by estimate (ties by id), with ``rank``."""
    ok = fitted(frame).sort_values(["estimate", "spec_id"], kind="stable").reset_index(drop=True)
    ok.insert(0, "rank", np.arange(1, len(ok) + 1))
    return ok


def importance(frame: pd.DataFrame, dims=None) -> pd.DataFrame:
    """Which choices move the estimate most.

    For each dimension: ``eta2``, the share of the variance of the estimates between its options
    (one-way); ``unique_r2``, the drop in R² of the main-effects regression of the estimate on
    every choice when the dimension is left out; ``low``/``high``, the options with the lowest and
    highest mean estimate, and ``spread``, the difference of those means. Sorted by ``eta2``.
    ``r2`` in ``frame.attrs`` of the result is the R² of the full main-effects model.
    """
    ok = fitted(frame)
    dims = [d for d in (dims or choice_columns(ok)) if ok[d].nunique() > 1]
    y = ok["estimate"].to_numpy(float)
    total = float(np.sum((y - y.mean()) ** 2))
    full = _r2(ok, dims, y, total)
    rows = []
    for d in dims:
        means = ok.groupby(d, sort=False)["estimate"].agg(["mean", "size"])
        between = float(np.sum(means["size"] * (means["mean"] - y.mean()) ** 2))
        rows.append({"dimension": d, "eta2": between / total if total > 0 else 0.0,
                     "unique_r2": full - _r2(ok, [x for x in dims if x != d], y, total),
                     "low": str(means["mean"].idxmin()), "high": str(means["mean"].idxmax()),
                     "spread": float(means["mean"].max() - means["mean"].min())})
    out = pd.DataFrame(rows, columns=["dimension", "eta2", "unique_r2", "low", "high", "spread"])
    out = out.sort_values(["eta2", "dimension"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out.attrs["r2"] = full
    return out


def _r2(ok: pd.DataFrame, dims: list, y: np.ndarray, total: float) -> float:
    if not dims or total <= 0:
        return 0.0
    X = pd.get_dummies(ok[dims].astype(str), drop_first=True, dtype=float).to_numpy()
    X = np.column_stack([np.ones(len(y)), X])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return float(1 - np.sum((y - X @ beta) ** 2) / total)


def claim_value(register: pd.DataFrame, claim_id: str):
    """A claim of the register as :func:`thresholds` takes it: the effect (g), or the pair
    (treatment %, control %) of a claim reported as percentages."""
    claim = register.loc[claim_id]
    if claim["measure"] == "percent":
        return (float(claim["treat_value"]), float(claim["ctrl_value"]))
    return float(claim["effect"])


def percentile(frame: pd.DataFrame, estimate: float) -> float:
    """Per cent of the fitted specifications whose estimate lies below ``estimate``."""
    return float(100 * np.mean(fitted(frame)["estimate"].to_numpy(float) < estimate))


def grid_table(grid) -> pd.DataFrame:
    """The grid as a table: each dimension with its options, the options not marked equivalent
    flagged (``U`` uncertain, ``N`` not equivalent)."""
    flag = {"equivalent": "", "uncertain": " (U)", "not equivalent": " (N)"}
    from analysis.multiverse.specs import dimension_order

    return pd.DataFrame([{"dimension": d.replace("_", " "),
                          "options": ", ".join(o.name + flag[o.equivalence] for o in grid.dimensions[d])}
                         for d in dimension_order(grid)])


def rules_table(grid) -> pd.DataFrame:
    """The grid's rules in words: when (choices), then (skipped, or the choices mapped)."""
    rows = []
    for rule in grid.rules:
        when = "; ".join(f"{d.replace('_', ' ')} {' or '.join(v)}" for d, v in rule.when.items())
        then = "skipped" if rule.skip else ", ".join(f"{d} set to {v}" for d, v in rule.set.items())
        rows.append({"when": when, "then": then})
    return pd.DataFrame(rows, columns=["when", "then"])


def row_of(frame: pd.DataFrame, **choices) -> pd.Series:
    """The one specification with these choices (dimension=option); KeyError unless exactly one."""
    mask = np.ones(len(frame), dtype=bool)
    for dim, value in choices.items():
        mask &= (frame[dim] == value).to_numpy()
    if mask.sum() != 1:
        raise KeyError(f"{int(mask.sum())} specifications match {choices}")
    return frame[mask].iloc[0]


def describe_share(pct: float) -> str:
    """A share of specifications in words: none, almost none (< 5%), a minority (< 40%), about
    half (40-60%), most (> 60%), almost all (> 95%), all."""
    if pct <= 0:
        return "none"
    if pct >= 100:
        return "all"
    if pct < 5:
        return "almost none"
    if pct < 40:
        return "a minority"
    if pct <= 60:
        return "about half"
    return "most" if pct <= 95 else "almost all"


def claim_verdict(at_or_above_claim: float, claim_in_ci: float) -> str:
    """What the multiverse says of a claimed value, from the share of specifications at or above it
    and the share whose CI contains it."""
    if at_or_above_claim > 60:
        return "supported by most specifications"
    if at_or_above_claim >= 40:
        return "in the middle of the specifications"
    if claim_in_ci >= 50:
        return "larger than most specifications estimate, though within most of their intervals"
    return "larger than most specifications estimate"


SPREAD = ("median", "q25", "q75", "min", "max")  # on the analysis scale: transform before showing
#: Shares beyond the relevant effect: over the specifications on one scale, as the spread is
RELEVANT = ("above_relevant", "ci_above_relevant")


def report(part: pd.DataFrame, claim, relevant: float, main: dict, fixed: dict | None = None) -> dict:
    """Everything the chapter says about one grid, as a flat dict of numbers and words.

    Shares (:func:`shares`), with their words, are over every specification, and again over the
    equivalent ones (keys prefixed ``eq_``); the spread of the estimates (:data:`SPREAD`,
    ``n_spread``), the shares beyond the relevant effect (:data:`RELEVANT`: the review's MID is
    defined on one scale, so it is not converted to another at an assumed control rate), the main
    analysis' percentile and the importance of each choice are over the specifications with the
    ``fixed`` choices (e.g. ``{"measure": "RR"}``: one scale), all by default.
    ``main`` names the choices of the book's own analysis (``main``, ``main_ci_low``, ``main_ci_high``).
    """
    within = part
    for dim, value in (fixed or {}).items():
        within = within[within[dim] == value]
    out = {}
    for prefix, every, same_scale in (("", part, within), ("eq_", restrict(part), restrict(within))):
        s, inside = shares(every, claim, relevant), shares(same_scale, claim, relevant)
        out.update({f"{prefix}{k}": (inside[k] if k in SPREAD + RELEVANT else v) for k, v in s.items()})
        out[f"{prefix}n_spread"] = inside["n"]
        out[f"{prefix}verdict"] = claim_verdict(s["at_or_above_claim"], s["claim_in_ci"])
        out[f"{prefix}share_words"] = describe_share(s["at_or_above_claim"])
        out[f"{prefix}significant_words"] = describe_share(s["significant"])
    row = row_of(part, **main)
    out.update({"main": float(row["estimate"]), "main_ci_low": float(row["ci_low"]),
                "main_ci_high": float(row["ci_high"]), "main_percentile": percentile(within, row["estimate"])})
    out["not_fitted"] = int((part["status"] != "ok").sum())
    out["k_small"] = int(part["status"].str.startswith("k <").sum())
    return out


def describe_sample(sampled: dict | None, n_total: int, unit: str = "rows of data", label: str = "") -> str:
    """Whether every specification of a grid was run, or a random sample within the budget
    (``sampled``: :attr:`analysis.multiverse.run.RunResult.sampled` of the grid, or None), with the
    largest 95% sampling error of a share estimated from the sample (1.96 √(0.25 / n))."""
    grid = f"{label} specifications" if label else "specifications"
    if not sampled:
        return f"Every one of the {n_total:,} {grid} was run."
    error = 100 * 1.96 * (0.25 / sampled["run"]) ** 0.5
    return (f"The {sampled['total']:,} {grid}, each drawing on up to {sampled['rows']:,} {unit}, would need "
            f"{sampled['total'] * sampled['rows']:,} specification-rows, above the budget of {sampled['budget']:,} "
            f"(parameter budget), so {sampled['run']:,} of them were run: a random sample (seed {sampled['seed']}) "
            f"that always includes the book's own analysis, as Simonsohn et al. (2020) suggest when there are too "
            f"many specifications to run them all. Every share and spread below is over that sample; a share "
            f"estimated from it is within ±{error:.1f} percentage points of the whole grid's (95%).")


def describe_workers(workers: int) -> str:
    """Where the specifications were fitted: in one process, or on a Dask cluster of ``workers``."""
    if workers == 1:
        return "in one process"
    return f"on a Dask cluster of {workers:,} worker processes"


def grid_size(frame: pd.DataFrame, sampled: dict, name: str) -> int:
    """The number of specifications of grid ``name``: the whole grid's when a sample was run."""
    return int(sampled.get(name, {}).get("total", (frame["grid"] == name).sum()))


def describe_scope(sampled: dict | None) -> str:
    """`` (a random sample of 1,000 of the 12,288)`` after a count of specifications, or nothing."""
    return "" if not sampled else f" (a random sample of {sampled['run']:,} of the {sampled['total']:,})"


def describe_main(choices: dict) -> str:
    """The book's own analysis as its choices: ``dependency CHE-RVE, estimator REML, ...``."""
    return ", ".join(f"{dim.replace('_', ' ')} {option}" for dim, option in choices.items())
