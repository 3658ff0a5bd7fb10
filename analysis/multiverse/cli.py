"""``python -m analysis multiverse``: run the multiverse and write ``DIR/specifications.parquet``.

Wired into :mod:`analysis.cli` by two lines: ``multiverse_cli.add_parser(sub)`` in its parser
and ``if args.command == "multiverse": return multiverse_cli.main(args)`` in its ``main``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from analysis.review.errors import DataError

DEFAULT_GRID = "params/multiverse.yml"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``multiverse`` command to an argparse subparsers object."""
    p = subparsers.add_parser("multiverse", help="run the multiverse (specification curve) of the meta-analyses")
    p.add_argument("--grid", default=DEFAULT_GRID, help=f"grid YAML (default {DEFAULT_GRID})")
    p.add_argument("--only", default=None, help="comma-separated grid names to run (default: all)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running Dask scheduler (default: an embedded local cluster)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of the embedded cluster (default: the machine's cores)")
    p.add_argument("--budget", type=int, default=None, metavar="N",
                   help="at most N specifications x rows per grid; above it a random sample that keeps the grid's main "
                        "analysis (default: every specification)")
    p.add_argument("--seed", type=int, default=2020, help="seed of that sample (default 2020)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for specifications.parquet and run.json")
    p.add_argument("--force", action="store_true", help="recompute even when the stored result is up to date")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(args) -> int:
    """Run (or reuse) the multiverse into ``args.out``; print ``{n_specs, hash, seconds, workers}``."""
    from analysis.multiverse.store import cached_run

    start = time.perf_counter()
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    try:
        result, reused = cached_run(args.grid, args.out, only=only, force=args.force, scheduler=args.scheduler,
                                    workers=args.workers, progress=not args.no_progress, budget=args.budget,
                                    seed=args.seed)
    except DataError as err:
        print(f"error: invalid input\n{err}", file=sys.stderr)
        return 1
    except OSError as err:  # e.g. no scheduler at the address
        print(f"error: {err}", file=sys.stderr)
        return 1
    out = {**result.summary(), "seconds": round(time.perf_counter() - start, 3), "reused": reused}
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:>8}: {value}")
    return 0


def run_cli(argv=None) -> int:
    """Parse ``argv`` for the ``multiverse`` command alone and run it (for tests and scripts)."""
    parser = argparse.ArgumentParser(prog="python -m analysis")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return main(parser.parse_args(["multiverse", *(argv or [])]))
