"""Specifications: the grid expanded in a fixed order, and batches of them evaluated.

The order: the data dimensions (in the file's order), then the analysis dimensions, crossed as
``itertools.product`` crosses them (the last dimension varies fastest); the rules then skip or map
combinations, and a combination that a mapping makes equal to an earlier one is dropped. The
specification id is the position in what remains, so ids depend on the grid only.

A batch holds whole data combinations: each is subset once, and all its analysis choices are
fitted on that subset, sharing fits (:class:`analysis.multiverse.models.Fitter`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.multiverse.data import DATA_DIMENSIONS, subset
from analysis.multiverse.grid import EQUIVALENCE, Grid
from analysis.multiverse.models import Fitter

DEFAULTS = {"dependency": {"model": "independent"}, "bias": {"method": "none"}, "outliers": {}}


@dataclass(frozen=True)
class Specifications:
    """The specifications of a grid, in id order: ``names`` (the options chosen, data dimensions
    first), ``labels`` (the same after the rules' mappings), ``equivalence`` of each."""

    grid: Grid
    data_dims: tuple
    analysis_dims: tuple
    names: tuple
    labels: tuple
    equivalence: tuple
    ids: tuple | None = None  # the specification ids, when a part of the grid is kept (else 0, 1, ...)
    total: int | None = None  # the grid's number of specifications, when a part is kept

    @property
    def spec_ids(self) -> tuple:
        return tuple(range(len(self.names))) if self.ids is None else self.ids

    @property
    def grid_size(self) -> int:
        return len(self.names) if self.total is None else self.total

    def _keep(self, index) -> Specifications:
        ids = self.spec_ids
        return replace(self, names=tuple(self.names[i] for i in index), labels=tuple(self.labels[i] for i in index),
                       equivalence=tuple(self.equivalence[i] for i in index), ids=tuple(ids[i] for i in index),
                       total=self.grid_size)

    def head(self, n: int | None) -> Specifications:
        """The first ``n`` specifications (all when ``n`` is None)."""
        if n is None:
            return self
        return Specifications(self.grid, self.data_dims, self.analysis_dims, self.names[:n], self.labels[:n],
                              self.equivalence[:n])

    def sample(self, n: int, seed: int, keep: dict | None = None) -> Specifications:
        """``n`` specifications drawn at random without replacement (numpy's PCG64 with ``seed``),
        always with the one whose options are ``keep`` (the book's own analysis), in id order; all
        of them when ``n`` is at least their number. Simonsohn, Simmons and Nelson (2020) estimate a
        random sample of specifications when there are too many to estimate them all.

        References
        ----------
        Simonsohn, U., Simmons, J. P., & Nelson, L. D. (2020). Specification curve analysis.
        *Nature Human Behaviour*, 4, 1208-1214.
        """
        if n >= len(self.names):
            return self
        main = main_labels(self.grid, keep) if keep else None
        must = [i for i, labels in enumerate(self.labels) if labels == main]
        rest = np.setdiff1d(np.arange(len(self.names)), must)
        drawn = np.random.default_rng(seed).choice(rest, size=max(n - len(must), 0), replace=False)
        return self._keep(sorted(set(must) | set(int(i) for i in drawn)))

    @property
    def dims(self) -> tuple:
        return self.data_dims + self.analysis_dims

    def __len__(self) -> int:
        return len(self.names)

    def frame(self) -> pd.DataFrame:
        """One row per specification: ``grid``, ``spec_id``, a column per dimension, ``equivalence``."""
        out = pd.DataFrame(list(self.labels), columns=list(self.dims))
        out.insert(0, "spec_id", list(self.spec_ids))
        out.insert(0, "grid", self.grid.name)
        out["equivalence"] = list(self.equivalence)
        return out


def dimension_order(grid: Grid) -> tuple:
    """The grid's dimensions as specifications cross them: data dimensions first, then analysis."""
    data_dims = tuple(d for d in grid.dimensions if d in DATA_DIMENSIONS[grid.source])
    return data_dims + tuple(d for d in grid.dimensions if d not in data_dims)


def main_labels(grid: Grid, main: dict | None = None) -> tuple | None:
    """The labels (after the rules) of the specification whose options are ``main`` (the grid's
    own ``main`` by default), in :func:`dimension_order`; None when a rule skips it or none is named."""
    main = grid.main if main is None else main
    if not main:
        return None
    dims = dimension_order(grid)
    applied = _apply_rules(grid, dims, tuple(main[d] for d in dims))
    return None if applied is None else applied[0]


def main_choices(grid: Grid) -> dict:
    """dimension -> label of the grid's ``main`` specification (for :func:`analysis.multiverse.summary.row_of`)."""
    labels = main_labels(grid)
    return {} if labels is None else dict(zip(dimension_order(grid), labels))


def _apply_rules(grid: Grid, dims: tuple, names: tuple):
    """The labels of a combination after the rules, and the dimensions a rule set; None if skipped."""
    chosen = dict(zip(dims, names))
    labels, mapped = dict(chosen), set()
    for rule in grid.rules:
        if all(chosen[d] in allowed for d, allowed in rule.when.items()):
            if rule.skip:
                return None
            labels.update(rule.set)
            mapped.update(rule.set)
    return tuple(labels[d] for d in dims), mapped


def expand(grid: Grid) -> Specifications:
    """Every specification of ``grid``, in the fixed order described in the module docstring."""
    dims = dimension_order(grid)
    data_dims = tuple(d for d in dims if d in DATA_DIMENSIONS[grid.source])
    analysis_dims = dims[len(data_dims):]
    seen, names, labels, equivalence = set(), [], [], []
    options = [[o.name for o in grid.dimensions[d]] for d in dims]
    rank = {d: {o.name: EQUIVALENCE.index(o.equivalence) for o in grid.dimensions[d]} for d in dims}
    for combo in itertools.product(*options):
        applied = _apply_rules(grid, dims, combo)
        if applied is None or applied[0] in seen:
            continue
        label, mapped = applied
        seen.add(label)
        names.append(combo)
        labels.append(label)
        worst = max((rank[d][n] for d, n in zip(dims, combo) if d not in mapped), default=0)
        equivalence.append(EQUIVALENCE[worst])
    return Specifications(grid, data_dims, analysis_dims, tuple(names), tuple(labels), tuple(equivalence))


def batches(specs: Specifications, min_specs: int = 60, same_rows: dict | None = None) -> list:
    """Consecutive data combinations grouped until a batch holds at least ``min_specs``
    specifications. A batch is a list of ``(data option names, [(id, analysis names, analysis
    labels), ...])``. ``same_rows`` (data option names -> :meth:`Subset.key`) puts the
    combinations that keep the same rows in one batch, at the first one's place, so that their
    fits are done once (:func:`evaluate_batch`)."""
    n_data = len(specs.data_dims)
    groups = []
    for i, names, labels in zip(specs.spec_ids, specs.names, specs.labels):
        if not groups or groups[-1][0] != names[:n_data]:
            groups.append((names[:n_data], []))
        groups[-1][1].append((i, names[n_data:], labels[n_data:]))
    units: dict = {}  # combinations kept together: by their rows, or each alone
    for n, group in enumerate(groups):
        units.setdefault(same_rows[group[0]] if same_rows else n, []).append(group)
    out, current, size = [], [], 0
    for unit in units.values():
        current.extend(unit)
        size += sum(len(group[1]) for group in unit)
        if size >= min_specs:
            out.append(current)
            current, size = [], 0
    if current:
        out.append(current)
    return out


def row_keys(grid: Grid, base, specs: Specifications) -> dict:
    """Data option names -> :meth:`analysis.multiverse.data.Subset.key` of every data
    combination of ``specs`` (each subset once, in the driver)."""
    n_data = len(specs.data_dims)
    out = {}
    for names in specs.names:
        if names[:n_data] not in out:
            choices = {d: grid.option(d, n) for d, n in zip(specs.data_dims, names[:n_data])}
            out[names[:n_data]] = subset(grid, base, choices).key()
    return out


def settings(grid: Grid, dims: tuple, names: tuple, labels: tuple) -> dict:
    """What the fitter needs for one specification's analysis choices (see :class:`Fitter`)."""
    params = {d: grid.option(d, n).params for d, n in zip(dims, names)}
    label = dict(zip(dims, labels))
    for d, default in DEFAULTS.items():
        params.setdefault(d, default)
    test = label.get("inference", "z")
    test = params["inference"].get("test", "z") if test == names[dims.index("inference")] else test
    return {
        "model": params["dependency"].get("model", "independent"),
        "rho": float(params["dependency"].get("rho", 0.5)),
        "method": label.get("estimator", "REML"),
        "test": test,
        "bias": params["bias"].get("method", "none"),
        "steps": tuple(params["bias"].get("steps", (0.025,))),
        "remove": bool(params["outliers"].get("remove", False)),
        "reference_method": params["outliers"].get("reference_method", "REML"),
        "reference_test": params["outliers"].get("reference_test", "hksj"),
    }


def evaluate_batch(grid: Grid, base, batch: list, data_dims: tuple, analysis_dims: tuple) -> pd.DataFrame:
    """Fit every specification of a batch: one subset per data combination, every analysis
    choice on it; combinations that keep the same rows share their fits. Returns one row per specification: ``grid``, ``spec_id`` and the results."""
    rows, fitters = [], {}
    for data_names, members in batch:
        choices = {d: grid.option(d, n) for d, n in zip(data_dims, data_names)}
        rows_kept = subset(grid, base, choices)
        fitter = fitters.setdefault(rows_kept.key(), Fitter(rows_kept, grid.min_k))  # same rows, same fits
        for spec_id, names, labels in members:
            rows.append({"grid": grid.name, "spec_id": spec_id,
                         **fitter.row(settings(grid, analysis_dims, names, labels))})
    return pd.DataFrame(rows)
