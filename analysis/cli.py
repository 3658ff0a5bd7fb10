"""Command line: ``python -m analysis {pool,sensitivity,checks,validate,build} ...``."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from analysis.review.errors import DataError

# Kept here rather than imported from the statistics modules, so that `build` starts without them.
from analysis.meta.effect_sizes import MEASURES, RATIO_MEASURES
from analysis.meta.fit import METHODS


def _clean(obj):
    """JSON-ready: NaN becomes null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _records(frame, columns) -> list[dict]:
    return [_clean(dict(zip(columns, row))) for row in frame[list(columns)].itertuples(index=False)]


def _fit(args):
    from analysis.meta.effect_sizes import effect_sizes
    from analysis.meta.fit import rma
    from analysis.review.trials import load_trials

    data = load_trials(args.file, args.measure, min_studies=1 if args.method == "FE" else 2)
    yi, vi = effect_sizes(data, args.measure)
    return data, rma(yi, vi, method=args.method, hksj=args.hksj)


def cmd_pool(args) -> dict:
    _, res = _fit(args)
    return res.to_dict()


def cmd_sensitivity(args) -> dict:
    from analysis.review.robustness import run_checks
    from analysis.meta import cumulative, egger, influence, leave_one_out, outliers, trimfill

    data, res = _fit(args)
    labels = data["study"].tolist()
    out = {
        "leave_one_out": _records(leave_one_out(res, labels), ("omitted", "estimate", "ci_low", "ci_high", "tau2")),
        "influence": _records(
            influence(res, labels), ("study", "rstudent", "dffits", "cook_d", "cov_r", "hat", "weight", "influential")
        ),
        "outliers": [s for s, o in zip(labels, outliers(res)) if o],
    }
    if res.k >= 3:
        out["egger"] = {k: v for k, v in egger(res.yi, res.vi).items() if k in ("bias", "se", "t", "df", "p")}
        tf = trimfill(res)
        out["trimfill"] = {k: tf[k] for k in ("k0", "side", "estimate", "ci_low", "ci_high")}
    if "year" in data.columns and data["year"].notna().all():
        out["cumulative"] = _records(cumulative(res, data["year"].to_numpy(), labels), ("added", "k", "estimate", "ci_low", "ci_high", "tau2"))
    out["checks"] = _records(
        run_checks(data, args.measure, args.method, args.hksj, which=["estimators", "hksj", "outliers", "low_rob"]),
        ("analysis", "k", "estimate", "ci_low", "ci_high", "tau2", "i2", "note"),
    )
    return out


def _print_table(result: dict, measure: str) -> None:
    import pandas as pd

    scale = " (log scale)" if measure in RATIO_MEASURES else ""
    for key, value in result.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"\n{key}{scale}:")
            print(pd.DataFrame(value).to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        elif isinstance(value, dict):
            print(f"\n{key}:")
            for k, v in value.items():
                print(f"  {k:>10}: {v:.4f}" if isinstance(v, float) else f"  {k:>10}: {v}")
        else:
            print(f"{key:>10}: {value:.4f}" if isinstance(value, float) else f"{key:>10}: {value}")
    if measure in RATIO_MEASURES and "estimate" in result:
        print(f"\n{'ratio':>10}: {np.exp(result['estimate']):.4f} [{np.exp(result['ci_low']):.4f}, {np.exp(result['ci_high']):.4f}]")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("pool", "pool one trial table"), ("sensitivity", "sensitivity checks of one trial table")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("file", help="CSV trial table in the project schema")
        p.add_argument("--measure", choices=MEASURES, required=True)
        p.add_argument("--method", choices=METHODS, default="REML")
        p.add_argument("--hksj", action="store_true", help="Hartung-Knapp-Sidik-Jonkman inference")
        p.add_argument("--json", action="store_true", help="print one JSON object")
    b = sub.add_parser("build", help="validate inputs, execute the notebooks, build the book")
    b.add_argument("--params", default=None, help="YAML file overriding parameters/defaults.yml")
    b.add_argument("--pdf", action="store_true", help="also build the PDF")
    v = sub.add_parser("validate", help="validate every input and parameter without building")
    v.add_argument("--params", default=None)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("build", "validate"):
            from analysis.book import pipeline as build

            return build.main(args)
        result = _clean({"pool": cmd_pool, "sensitivity": cmd_sensitivity}[args.command](args))
    except DataError as err:
        print(f"error: invalid input\n{err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        _print_table(result, args.measure)
    return 0
