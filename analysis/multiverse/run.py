"""Run the multiverse on Dask: batches of specifications as tasks, gathered and sorted by id.

By default an embedded :class:`distributed.LocalCluster` is started, one single-threaded worker
process per core (or ``workers``), bound to 127.0.0.1 and without a dashboard; ``scheduler=ADDRESS``
uses an existing cluster instead. ``workers=1`` evaluates the batches in this process, in order,
without a cluster: what one worker would do, without starting and feeding one (the book's build
runs two chapters at once, one per core, so a cluster there only competes for the cores). The rows and their order do not depend on the number of
workers, and :func:`frame_hash` gives the same digest for the same rows.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.multiverse import data as datasets
from analysis.multiverse.grid import read_grid
from analysis.multiverse.specs import batches, evaluate_batch, expand, row_keys

RESULT_COLUMNS = ("k", "k_outliers", "estimate", "se", "ci_low", "ci_high", "tau2", "p", "status")


@dataclass(frozen=True)
class RunResult:
    """The specifications (one row each, sorted by grid and id), their hash, the wall time and
    the number of workers."""

    frame: pd.DataFrame
    hash: str
    seconds: float
    workers: int
    sampled: dict = field(default_factory=dict)  # grid -> {total, run, rows, budget, seed} when a sample ran

    def summary(self) -> dict:
        return {"n_specs": len(self.frame), "hash": self.hash, "seconds": round(self.seconds, 3),
                "workers": self.workers, "sampled": self.sampled}


def frame_hash(frame: pd.DataFrame) -> str:
    """sha256 of the frame as CSV with numbers to 12 significant digits (rows in their order)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.12g", lineterminator="\n")
    return hashlib.sha256(buffer.getvalue().encode()).hexdigest()


def _worker_count(workers: int | None) -> int:
    return max(1, int(workers or os.cpu_count() or 1))


def local_cluster(workers: int | None = None):
    """An embedded cluster: ``workers`` single-threaded processes on 127.0.0.1, no dashboard."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=_worker_count(workers), threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address=None, silence_logs=40)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="spec", desc="multiverse", file=sys.stderr, disable=not enabled, leave=False)


def _evaluate_all(client, jobs, progress: bool) -> list:
    """Submit (grid, base, batch, dims) jobs; return the result frames as they complete."""
    from distributed import as_completed

    futures, sizes, bases = [], {}, {}
    for grid, base, batch, data_dims, analysis_dims in jobs:
        if grid.name not in bases:  # the base data is sent to the workers once per grid
            bases[grid.name] = client.scatter(base, broadcast=True)
        future = client.submit(evaluate_batch, grid, bases[grid.name], batch, data_dims, analysis_dims,
                               pure=False)
        futures.append(future)
        sizes[future.key] = sum(len(members) for _, members in batch)
    out = []
    with _progress(sum(sizes.values()), progress) as bar:
        for future in as_completed(futures, loop=client.loop):
            out.append(future.result())
            bar.update(sizes[future.key])
    return out


def _evaluate_here(jobs, progress: bool) -> list:
    """Evaluate the (grid, base, batch, dims) jobs in this process, in order."""
    out = []
    with _progress(sum(len(members) for _, _, batch, _, _ in jobs for _, members in batch), progress) as bar:
        for job in jobs:
            out.append(evaluate_batch(*job))
            bar.update(len(out[-1]))
    return out


def run(grid_path: str | Path = "params/multiverse.yml", *, only=None, data: dict | None = None,
        root: str | Path = ".", scheduler: str | None = None, workers: int | None = None,
        min_batch: int = 128, progress: bool = True, limit: int | None = None, budget: int | None = None,
        seed: int = 2020) -> RunResult:
    """Expand and fit every specification of the grids in ``grid_path``.

    Parameters
    ----------
    only : grid names to run (all by default).
    data : grid name -> {data key: path, or read option: value} (:data:`analysis.multiverse.data.READ_OPTIONS`),
        overriding the grid file's data paths.
    root : folder the grid's data paths are relative to.
    scheduler : address of an existing Dask scheduler; by default an embedded LocalCluster.
    workers : workers of the embedded cluster (the machine's cores by default); 1 runs in this
        process, without a cluster.
    min_batch : a task holds whole data combinations, at least this many specifications.
    limit : run only the first ``limit`` specifications of each grid (benchmarks).
    budget : at most this many specifications times rows pooled per grid: when a grid's
        specifications times its data's rows exceed it, a random sample of ``budget // rows``
        of them (:meth:`Specifications.sample` with ``seed``), always with the grid's ``main``
        analysis; ``sampled`` in the result says so. None runs every specification.
    """
    start = time.perf_counter()
    grids = read_grid(grid_path, root=root, only=only)
    jobs, frames, sampled = [], [], {}
    for name, grid in grids.items():
        paths = datasets.resolve(grid, (data or {}).get(name), root)
        specs = expand(grid).head(limit)
        base = datasets.load(grid, paths)
        rows = datasets.size(base)
        if budget is not None and len(specs) * rows > budget:
            specs = specs.sample(max(budget // max(rows, 1), 1), seed, keep=grid.main)
            sampled[name] = {"total": specs.grid_size, "run": len(specs), "rows": rows, "budget": budget, "seed": seed}
        frames.append(specs.frame())
        jobs += [(grid, base, b, specs.data_dims, specs.analysis_dims)
                 for b in batches(specs, min_batch, row_keys(grid, base, specs))]
    if scheduler is None and _worker_count(workers) == 1:
        results, n_workers = _evaluate_here(jobs, progress), 1
    else:
        results, n_workers = _with_client(scheduler, workers, lambda client: _evaluate_all(client, jobs, progress))
    frame = assemble(frames, results)
    return RunResult(frame, frame_hash(frame), time.perf_counter() - start, n_workers, sampled)


def _with_client(scheduler, workers, work):
    from distributed import Client

    if scheduler:
        with Client(scheduler, set_as_default=False) as client:
            return work(client), len(client.scheduler_info()["workers"])
    with local_cluster(workers) as cluster, Client(cluster, set_as_default=False) as client:
        return work(client), len(cluster.workers)


def assemble(spec_frames: list, result_frames: list) -> pd.DataFrame:
    """Specifications joined with their results, sorted by grid (file order) and id."""
    order = {f["grid"].iloc[0]: i for i, f in enumerate(spec_frames)}
    specs = pd.concat(spec_frames, ignore_index=True)
    res = pd.concat(result_frames, ignore_index=True)
    if len(res) != len(specs):
        raise RuntimeError(f"the multiverse has {len(res)} results for {len(specs)} specifications")
    out = specs.merge(res, on=["grid", "spec_id"], how="left", validate="one_to_one")
    if out["status"].isna().any():
        raise RuntimeError("the multiverse lost specifications")
    out["_order"] = out["grid"].map(order)
    out = out.sort_values(["_order", "spec_id"], kind="stable").drop(columns="_order")
    out["k"] = out["k"].astype(np.int64)
    out["k_outliers"] = out["k_outliers"].astype(np.int64)
    columns = [c for c in out.columns if c not in RESULT_COLUMNS] + list(RESULT_COLUMNS)
    return out[columns].reset_index(drop=True)
