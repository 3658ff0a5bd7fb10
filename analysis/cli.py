"""Command line: ``python -m analysis {pool,sensitivity,bias,network,multiverse,validate,build} ...``."""

from __future__ import annotations

import argparse
import json
import warnings
import sys

from analysis.review.errors import DataError

BOOK_COMMANDS = ("build", "validate")  # need none of the engine: parsed alone, so a no-op rebuild starts fast


def _clean(obj):
    """JSON-ready: NaN becomes null, numpy scalars become Python numbers."""
    import numpy as np

    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _print_table(result: dict, measure: str) -> None:
    import numpy as np
    import pandas as pd

    from analysis.meta.effect_sizes import RATIO_MEASURES

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


NETWORK_SECTIONS = ("vs_reference", "ranking", "league", "node_split", "design_by_treatment", "q_decomposition",
                    "dropped")


def _print_network(result: dict, output: str) -> None:
    """The ``network`` verb's result as JSON, CSV (one table) or aligned text; every string from the
    data made inert (:func:`analysis.cli_network.safe`; :func:`analysis.escape.csv_cell` for CSV)."""
    if output == "json":
        print(json.dumps(result, indent=1))
    elif output == "csv":
        _network_csv(result)
    else:
        _network_table(result)


def _network_table(result: dict) -> None:
    import numpy as np
    import pandas as pd

    from analysis.cli_network import safe

    def show(v):
        return f"{v:.4f}" if isinstance(v, float) else safe(v) if isinstance(v, str) else v

    def table(rows):
        if result["measure"] == "OR" and rows and "ci_low" in rows[0] and "direct" not in rows[0]:  # the odds ratio
            rows = [{**r, "ratio": np.exp(r["estimate"]), "ratio_low": np.exp(r["ci_low"]),
                     "ratio_high": np.exp(r["ci_high"])} for r in rows]
        cells = [{k: "" if v is None else ", ".join(map(str, v)) if isinstance(v, list) else show(v) if
                  isinstance(v, str) else v for k, v in r.items()} for r in rows]
        return pd.DataFrame(cells).to_string(index=False, float_format=lambda x: f"{x:.4f}") if rows else "  (none)"

    for key, value in result.items():
        if key not in NETWORK_SECTIONS:
            print(f"{key:>12}: {', '.join(map(safe, value)) if isinstance(value, list) else show(value)}")
    for key in NETWORK_SECTIONS:
        value = result.get(key)
        if value is None or (key == "dropped" and not value):
            continue
        scale = " (log odds ratios)" if result["measure"] == "OR" and key in ("vs_reference", "league", "node_split") else ""
        print(f"\n{key}{scale}:")
        if isinstance(value, dict):
            for k, v in value.items():
                print(f"  {k}:\n{table(v)}" if isinstance(v, list) else f"  {k:>10}: {show(v)}")
        else:
            print(table(value))


def _network_csv(result: dict) -> None:
    """The league table, the node split, or else each treatment against the reference with its P-score."""
    import csv

    from analysis.escape import csv_cell, visible

    rows = result["league"] if "league" in result else result.get("node_split")
    if rows is None:
        scores, ref = {r["treatment"]: r["pscore"] for r in result["ranking"]}, result["reference"]
        columns = ("estimate", "se", "z", "p", "ci_low", "ci_high")
        rows = [{"treatment": ref, "versus": ref, **dict.fromkeys(columns), "pscore": scores[ref]}]
        rows += [{"treatment": r["treatment"], "versus": ref, **{c: r[c] for c in columns},
                  "pscore": scores[r["treatment"]]} for r in result["vs_reference"]]
    if rows:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: csv_cell(visible(v)) if isinstance(v, str) else v for k, v in r.items()} for r in rows)


def _mapping(text: str) -> tuple[str, str]:
    new, sep, old = text.partition("=")
    if not sep or not new.strip() or not old.strip():
        raise argparse.ArgumentTypeError(f"--map takes NEW=OLD (the project's column name = the file's), not {text!r}")
    return new.strip(), old.strip()


def _table_options(p) -> None:
    from analysis.meta.effect_sizes import MEASURES
    from analysis.meta.fit import METHODS

    p.add_argument("file", help="CSV trial table: the project's column names or metafor's (yi/vi, ai/bi/ci/di, ...)")
    p.add_argument("--measure", choices=MEASURES, required=True)
    p.add_argument("--method", choices=METHODS, default="REML")
    p.add_argument("--hksj", action="store_true", help="Hartung-Knapp-Sidik-Jonkman inference")
    p.add_argument("--exact", action="store_true", help="converge to the optimum (tau2 change < 1e-10, roots to 1e-12)")
    p.add_argument("--map", type=_mapping, action="append", metavar="NEW=OLD", help="rename a column (repeatable)")
    p.add_argument("--strict", action="store_true", help="refuse rows with a missing outcome instead of dropping them")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _at_least_two(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    pool = sub.add_parser("pool", help="pool one trial table (univariate, three-level or CHE)")
    _table_options(pool)
    pool.add_argument("--subgroup", metavar="COL", help="pool each subgroup and test their difference")
    pool.add_argument("--mods", type=lambda t: [c.strip() for c in t.split(",")], metavar="COL[,COL]",
                      help="meta-regression on these numeric columns")
    pool.add_argument("--cluster", metavar="COL", help="the study each effect belongs to")
    pool.add_argument("--model", choices=("univariate", "threelevel", "che"), default="univariate")
    pool.add_argument("--rho", type=float, default=0.5, help="CHE: correlation of effects within a study")
    pool.add_argument("--test", choices=("z", "t"), default="z", help="multilevel models: z or t tests")
    pool.add_argument("--robust", action="store_true", help="CR2 cluster-robust inference (needs --cluster)")
    sens = sub.add_parser("sensitivity", help="sensitivity checks of one trial table")
    _table_options(sens)
    sens.add_argument("--max-refits", type=_at_least_two, default=None, metavar="N",
                      help="leave-one-out, influence and cumulative: refit every study up to N studies, beyond it the "
                           "N screened as most influential (cumulative: N evenly spaced steps); default: every study")
    _table_options(sub.add_parser("bias", help="publication-bias methods on one trial table"))
    from analysis import cli_network

    cli_network.add_parser(sub)
    from analysis.multiverse import cli as multiverse_cli

    multiverse_cli.add_parser(sub)
    _book_parsers(sub)
    return parser


def _book_parsers(sub) -> None:
    b = sub.add_parser("build", help="validate inputs, execute the notebooks, build the book")
    b.add_argument("--params", default=None, help="YAML file overriding parameters/defaults.yml")
    b.add_argument("--pdf", action="store_true", help="also build the PDF")
    v = sub.add_parser("validate", help="validate every input and parameter without building")
    v.add_argument("--params", default=None)


def _book_parser() -> argparse.ArgumentParser:
    """The parser of :data:`BOOK_COMMANDS` alone (the same options as in :func:`build_parser`)."""
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    _book_parsers(parser.add_subparsers(dest="command", required=True))
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning about the input (e.g. rows dropped, a search flow that does not add up) as one line
    of the log, each said once, never with the source line that raised it."""
    text = f"warning: {category.__name__}: {message}"
    if text not in _SHOWN:
        _SHOWN.add(text)
        print(text, file=sys.stderr if file is None else file)


_SHOWN: set = set()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = (_book_parser() if argv[:1] and argv[0] in BOOK_COMMANDS else build_parser()).parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        if args.command == "multiverse":
            from analysis.multiverse import cli as multiverse_cli

            return multiverse_cli.main(args)
        if args.command in ("build", "validate"):
            from analysis.book import pipeline

            return pipeline.main(args)
        from analysis import cli_verbs

        result = _clean(getattr(cli_verbs, args.command)(args))
    except DataError as err:
        print(f"error: invalid input\n{err}", file=sys.stderr)
        return 1
    except OSError as err:  # a full disk, a read-only folder: one line that says what to free or fix
        from analysis.book.guard import os_error_message

        print(os_error_message(err), file=sys.stderr)
        return 1
    if args.command == "network":
        _print_network(result, args.output)
    elif args.json:
        print(json.dumps(result, indent=1))
    else:
        _print_table(result, args.measure)
    return 0
