"""The data of a grid: read once (in the driver), then subset once per combination of data choices.

``load(grid, paths)`` returns a small picklable base (sent once to every worker); ``subset(grid,
base, choices)`` applies the data choices and returns the effect sizes, their variances and the
study each belongs to (the cluster), in the order of the source's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIMENSIONS = {
    "metapsy": ("control", "risk_of_bias", "diagnosis", "format", "implausible", "instrument"),
    "griselda": ("drug", "publication", "measure"),
}


@dataclass(frozen=True)
class Subset:
    """Effect sizes of one combination of data choices: ``yi``, ``vi``, ``cluster`` (study ids)."""

    yi: np.ndarray
    vi: np.ndarray
    cluster: np.ndarray

    @property
    def k(self) -> int:
        return len(self.yi)

    def key(self) -> str:
        """A digest of the rows (effects, variances, clusters, in order): two combinations of data
        choices that keep the same rows have the same key, and every fit on them is the same."""
        import hashlib

        codes, labels = pd.factorize(pd.Series(self.cluster, dtype=object), sort=False)
        digest = hashlib.sha256(np.ascontiguousarray(self.yi, dtype=float).tobytes())
        digest.update(np.ascontiguousarray(self.vi, dtype=float).tobytes())
        digest.update(codes.astype(np.int64).tobytes())
        digest.update("\x1f".join(map(str, labels)).encode())
        return digest.hexdigest()


#: Inputs of a grid's data that are not files: how the importer reads the release (the CBT chapter's
#: parameters of the same names), passed beside the data paths.
READ_OPTIONS = ("outcome_selection", "instrument_priority", "self_report")


def resolve(grid, overrides: dict | None = None, root=".") -> dict:
    """A grid's data inputs: its data files (relative to ``root``) and the read options, after
    ``overrides`` (data key or read option -> value)."""
    merged = {**grid.data, **(overrides or {})}
    return {k: (v if k in READ_OPTIONS else str(Path(root) / v)) for k, v in merged.items()}


def load(grid, paths: dict) -> object:
    """The grid's base data from its files (``paths``: data key -> path, and the read options)."""
    if grid.source == "metapsy":
        options = {k: paths[k] for k in READ_OPTIONS if k in paths}
        return load_metapsy(paths["psyctr"], grid.therapy, **options)
    return load_griselda(paths["cipriani_arms"], grid.dimensions.get("drug", ()))


def size(base) -> int:
    """The rows a specification may pool: the base table's, or the largest drug option's."""
    return len(base) if isinstance(base, pd.DataFrame) else max((len(t) for t in base.values()), default=0)


def load_metapsy(path, therapy: str = "cbt", outcome_selection: str = "auto", instrument_priority=None,
                 self_report: str = "high") -> pd.DataFrame:
    """Every outcome instrument of every comparison of ``therapy`` vs control (Metapsy), one row each.

    The rows are :func:`analysis.review.importers.metapsy_comparisons`' with every outcome (so a
    release with or without the optional columns reads alike): ``selected`` marks the outcome its
    rule (``outcome_selection``, ``instrument_priority``: the CBT chapter's) keeps per comparison,
    ``comparison`` is the comparison an outcome belongs to, and ``rob_items`` counts the domains at
    low risk as the protocol judges them (:func:`analysis.review.risk_of_bias.low_risk`, a
    self-reported outcome counted as ``self_report``): one definition of risk of bias for the book.
    """
    from analysis.review.importers import metapsy_comparisons, read_metapsy_psyctr
    from analysis.review.risk_of_bias import DOMAINS, low_risk

    rows = read_metapsy_psyctr(path)
    every = metapsy_comparisons(rows, therapy=therapy, primary_only=False, name=str(path), require_rob=True,
                                outcome_selection=outcome_selection, instrument_priority=instrument_priority)
    rob_items = sum(low_risk(every, (item,), self_report).astype(int) for item in DOMAINS)
    base = every.assign(rob_items=rob_items)
    for col in ("subgroup", "trial"):
        base[col] = base[col].astype(str).str.strip()
    return base[["comparison", "study", "trial", "subgroup", "rob_items", "diagnosis", "format", "selected",
                 "effect", "se"]].reset_index(drop=True)


def load_griselda(path, drug_options=()) -> dict:
    """Placebo-controlled trials (response) per drug option: option name -> trial table, by
    :func:`analysis.review.importers.cipriani_vs_placebo` on the arms of the trials that have a
    placebo and an SSRI arm (the others give no comparison; leaving them out first is faster)."""
    from analysis.review.importers import cipriani_vs_placebo, read_cipriani_arms
    from analysis.review.trials import LINE

    arms = read_cipriani_arms(path)
    arms = arms[["StudyID", "drug_class_ssri", "drug_base", "responders", "n", "year", "published", LINE]]
    has = arms.groupby("StudyID")["drug_class_ssri"].agg(lambda c: {"placebo", "SSRI"} <= set(c))
    arms = arms[arms["StudyID"].map(has)]
    out = {}
    for opt in drug_options or ():
        out[opt.name] = cipriani_vs_placebo(arms, active_class="SSRI", drugs=opt.params.get("drugs"), name=str(path))
    if not out:
        out["SSRI class"] = cipriani_vs_placebo(arms, active_class="SSRI", name=str(path))
    return out


def aggregate(yi, vi, cluster, rho: float) -> Subset:
    """One effect per cluster (:func:`analysis.review.dependency.aggregate`: metafor's
    ``aggregate(..., struct = "CS", rho)``), clusters in order of first appearance."""
    from analysis.review.dependency import aggregate as aggregate_cs

    cluster = np.asarray(cluster)
    ys, vs, _ = aggregate_cs(yi, vi, cluster.astype(str), rho)
    _, first = np.unique(cluster.astype(str), return_index=True)
    return Subset(ys, vs, cluster[np.sort(first)])


def subset(grid, base, choices: dict) -> Subset:
    """Apply the data choices (dimension -> Option) to the base data."""
    if grid.source == "metapsy":
        return _metapsy_subset(base, choices)
    return _griselda_subset(base, choices)


def _metapsy_subset(base: pd.DataFrame, choices: dict) -> Subset:
    keep = np.ones(len(base), dtype=bool)
    p = {dim: opt.params for dim, opt in choices.items()}
    if "conditions" in p.get("control", {}):
        keep &= base["subgroup"].isin(p["control"]["conditions"]).to_numpy()
    if "min_low_items" in p.get("risk_of_bias", {}):
        keep &= (base["rob_items"] >= p["risk_of_bias"]["min_low_items"]).to_numpy()
    for dim, column in (("diagnosis", "diagnosis"), ("format", "format")):
        if "keep" in p.get(dim, {}):
            keep &= base[column].isin(p[dim]["keep"]).to_numpy()
    if "threshold" in p.get("implausible", {}):
        keep &= (base["effect"].abs() <= p["implausible"]["threshold"]).to_numpy()
    instrument = p.get("instrument", {"use": "primary"})
    if instrument.get("use", "primary") == "primary":  # the outcome the importer's rule selects
        sel = base[keep & base["selected"].to_numpy(bool)]
        return Subset(sel["effect"].to_numpy(float), sel["se"].to_numpy(float) ** 2, sel["trial"].to_numpy())
    sel = base[keep]
    return composites(sel["effect"].to_numpy(float), sel["se"].to_numpy(float) ** 2, sel["comparison"].to_numpy(),
                      sel["trial"].to_numpy(), float(instrument.get("rho", 0.5)))


def composites(y, v, comparison, trial, rho: float) -> Subset:
    """The mean of each comparison's correlated effects (its instruments) and its variance
    (Borenstein et al., 2009, ch. 24), var = (Σᵢ vᵢ + ρ Σᵢ≠ⱼ √(vᵢ vⱼ)) / m², for every comparison at
    once: with s = √v, Σᵢ≠ⱼ sᵢsⱼ = (Σs)² - Σv, so that every sum is one :func:`numpy.bincount`.
    Comparisons in order of first appearance, each with the trial of its first row."""
    code, _ = pd.factorize(np.asarray(comparison), sort=False)
    n = int(code.max()) + 1 if len(code) else 0
    m = np.bincount(code, minlength=n)
    sum_v = np.bincount(code, weights=v, minlength=n)
    sum_s = np.bincount(code, weights=np.sqrt(v), minlength=n)
    mean = np.bincount(code, weights=y, minlength=n) / np.maximum(m, 1)
    var = (sum_v + rho * (sum_s**2 - sum_v)) / np.maximum(m, 1) ** 2
    first = np.unique(code, return_index=True)[1]
    return Subset(mean, var, np.asarray(trial, dtype=object)[first])


def _griselda_subset(base: dict, choices: dict) -> Subset:
    from analysis.meta.effect_sizes import effect_sizes

    drug = choices["drug"].name if "drug" in choices else next(iter(base))
    trials = base[drug]
    if choices.get("publication") is not None and choices["publication"].params.get("published_only"):
        trials = trials[trials["published"].astype(bool)]
    measure = choices["measure"].params.get("measure", "RR") if "measure" in choices else "RR"
    if trials.empty:
        return Subset(np.array([]), np.array([]), np.array([], dtype=object))
    yi, vi = effect_sizes(trials, measure)
    return Subset(np.asarray(yi, float), np.asarray(vi, float), trials["study"].to_numpy())
