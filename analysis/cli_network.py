"""The ``network`` verb's options and its arm-level table: columns, reading and checks.

The verb itself (:func:`analysis.cli_verbs.network`) calls the engine; this module names every
problem of the file by file, line and column (a :class:`~analysis.review.errors.DataError`) and
lists what the engine leaves out (:func:`dropped_arms`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from analysis.review.errors import DataError, Problem, dropped_rows

#: The engine's column -> the file's names that give it (compared without regard to case).
ALIASES = {"study": ("study", "studlab", "id", "slab"), "treatment": ("treatment", "trt", "treat"),
           "events": ("events", "event", "xi", "responders"), "n": ("n", "ni"), "mean": ("mean", "mi"),
           "sd": ("sd", "sdi")}
NUMERIC = {"OR": ("events", "n"), "MD": ("mean", "sd", "n"), "SMD": ("mean", "sd", "n")}
# column -> (operator, bound, words), as analysis.review.trial_rules.RANGES; SMD needs two patients an arm
RANGES = {"events": (">=", 0, "must not be negative"), "n": (">", 0, "must be > 0"), "sd": (">", 0, "must be > 0")}
SMD_N = (">=", 2, "must be >= 2 (a standard deviation needs two patients)")

EPILOG = """\
columns (the first row of FILE; names compared without regard to case):
  study      study, studlab, id, slab
  treatment  treatment, trt, treat
  events     events, event, xi, responders       (--measure OR)
  n          n, ni (also N, NI)                  (every measure)
  mean       mean, mi                            (--measure MD, SMD)
  sd         sd, sdi                             (--measure MD, SMD)
  any other name: --map NEW=OLD, e.g. --map study=StudyID --map treatment=drug_base
  --map events=Responders_num --map n=No_randomised_num

One row per arm. An arm with an empty value (or NA, nan, *) is left out and a study left with
one arm contributes nothing: both are warnings that list their lines. Two arms of one treatment
in a study are merged (binary counts summed; refused for MD and SMD).

--reference: by default the treatment named "placebo" (any case) if the network has one, else
the first treatment in sorted (code point) order. Estimates are each treatment against the
reference, for OR on the log scale (the table adds the odds ratio).
"""


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, not {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), not {value}")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``network`` command to an argparse subparsers object."""
    from analysis.cli import _mapping

    p = subparsers.add_parser(
        "network", help="network meta-analysis of an arm-level table (one row per arm)", epilog=EPILOG,
        description="Contrast-based network meta-analysis (metafor's rma.mv model) of an arm-level CSV.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="CSV arm table: study, treatment and events, n (OR) or mean, sd, n (MD, SMD)")
    p.add_argument("--measure", choices=("OR", "MD", "SMD"), default="OR", help="default OR")
    p.add_argument("--reference", metavar="NAME", default=None,
                   help='reference treatment (default: "placebo" if present, else the first in sorted order)')
    p.add_argument("--model", choices=("random", "fixed"), default="random", help="default random")
    p.add_argument("--method", choices=("REML", "ML"), default="REML", help="tau2 estimator (default REML)")
    p.add_argument("--level", type=_level, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--small-is-good", action="store_true",
                   help="smaller values are better (P-scores); default: larger values are better")
    p.add_argument("--map", type=_mapping, action="append", metavar="NEW=OLD",
                   help="read column OLD as NEW (study, treatment, events, n, mean, sd); repeatable")
    p.add_argument("--league", action="store_true", help="also every pair of treatments (the league table)")
    p.add_argument("--nodesplit", action="store_true", help="also direct against indirect evidence (node-splitting)")
    p.add_argument("--coherence", action="store_true",
                   help="also the design-by-treatment test and the decomposition of Q")
    p.add_argument("--output", choices=("table", "json", "csv"), default="table",
                   help="table (default), one JSON object, or CSV of one table (the estimates against the "
                        "reference with P-scores; with --league the league table; with --nodesplit the node split)")
    p.add_argument("--json", dest="output", action="store_const", const="json", help="same as --output json")
    return p


def problem(name, line, column, message) -> Problem:
    """A Problem whose file, column and message (which may quote the data) are safe to print."""
    from analysis.escape import visible

    return Problem(visible(name), line, None if column is None else safe(column), visible(message))


def safe(text) -> str:
    """Text from the data as one inert line for the terminal (no control or bidirectional characters)."""
    from analysis.escape import visible

    return visible(str(text).replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


def _columns(header: list, measure: str, column_map: dict, name: str) -> dict:
    """The file's column index of each column the engine needs (--map first, then the aliases)."""
    lower = [h.lower() for h in header]
    problems = []
    for new, old in column_map.items():
        if new not in ALIASES:
            problems.append(problem(name, 1, old, f"--map {new}={old}: {new!r} is not one of {', '.join(ALIASES)}"))
        elif old not in header and old.lower() not in lower:
            problems.append(problem(name, 1, old, "column named in --map is missing"))
    if problems:
        raise DataError(problems)
    index = {}
    for key in ("study", "treatment", *NUMERIC[measure]):
        old = column_map.get(key)
        hits = ([header.index(old) if old in header else lower.index(old.lower())] if old else
                [i for i, h in enumerate(lower) if h in ALIASES[key]])
        if not hits:
            problems.append(problem(name, 1, key, f"required column for {measure} is missing; accepted names: "
                                    f"{', '.join(ALIASES[key])} (any case), or --map {key}=COLUMN"))
        elif len(hits) > 1:
            problems.append(problem(name, 1, header[hits[1]], f"ambiguous: columns {header[hits[0]]!r} and "
                                    f"{header[hits[1]]!r} both give {key}; choose one with --map {key}=COLUMN"))
        else:
            index[key] = hits[0]
    if problems:
        raise DataError(problems)
    return index


def read_arms(path, measure: str, column_map: dict | None = None):
    """The arms of an arm-level CSV as the engine reads them, each with its line in the file.

    Parameters
    ----------
    path : str or Path
        The CSV, read by :func:`analysis.review.csvfile.records` (the one reader of delimited files).
    measure : {"OR", "MD", "SMD"}
    column_map : dict, optional
        Engine column -> the file's column (``--map``).

    Returns
    -------
    arms : DataFrame
        ``study``, ``treatment`` (stripped text) and the measure's numeric columns (NaN where missing).
    lines : ndarray of int
        Each arm's line in the file.
    names : dict
        Engine column -> the file's column name (for messages).

    Raises
    ------
    DataError
        With file, line and column: what ``records`` refuses, a missing or ambiguous column, an
        empty study or treatment, a cell that is not a finite number, a negative count, an arm
        size <= 0 (< 2 for SMD), events above n, an SD <= 0, two continuous arms of one treatment
        in one study, a file without arms.
    """
    import numpy as np
    import pandas as pd

    from analysis.review.csvfile import records
    from analysis.review.trial_rules import blank_ids

    name = str(path)
    header, rows = records(path)
    index = _columns(header, measure, dict(column_map or {}), name)
    names = {key: header[i] for key, i in index.items()}
    lines, cells = [], {key: [] for key in index}
    for line, record in rows:
        lines.append(line)
        for key, i in index.items():
            cells[key].append(record[i])
    if not lines:
        raise DataError([problem(name, 2, None, "no arms: the file has a header and no rows")])
    lines = np.asarray(lines, dtype=np.int64)
    study, treatment = [c.strip() for c in cells["study"]], [c.strip() for c in cells["treatment"]]
    problems = [replace(p, column=safe(names["study"])) for p in blank_ids(study, lines, name)]
    problems += [problem(name, int(line), names["treatment"], "the treatment is empty (or only spaces)")
                 for t, line in zip(treatment, lines) if not t]
    values, bad = _numbers(cells, lines, names, measure, name)
    arms = pd.DataFrame({"study": study, "treatment": treatment, **values})
    problems += bad + (_two_continuous_arms(arms, lines, names, measure, name) if measure != "OR" else [])
    if problems:
        raise DataError(sorted(problems, key=lambda p: (p.line or 0, p.column or ""))[:1000])
    return arms, lines, names


def _numbers(cells, lines, names, measure, name):
    """The numeric columns as floats (NaN where missing) and the problems of their cells."""
    import numpy as np

    from analysis.review.trial_rules import TINY, parse_column

    values, problems = {}, []
    for key in NUMERIC[measure]:
        values[key], bad = parse_column(cells[key], lines, names[key], name)
        problems += [problem(p.file, p.line, p.column, p.message) for p in bad]
        v = values[key]
        for i in np.flatnonzero(~np.isnan(v) & ~(np.isfinite(v) & ((v == 0) | (np.abs(v) >= TINY)))):
            problems.append(problem(name, int(lines[i]), names[key], f"{v[i]:g} must be a finite number"))
        op, bound, words = SMD_N if (key, measure) == ("n", "SMD") else RANGES.get(key, (None, None, None))
        if op is not None:
            with np.errstate(invalid="ignore"):
                fails = np.isfinite(v) & ((v <= bound) if op == ">" else (v < bound))
            problems += [problem(name, int(lines[i]), names[key], f"{v[i]:g} {words}") for i in np.flatnonzero(fails)]
    if measure == "OR":
        e, n = values["events"], values["n"]
        with np.errstate(invalid="ignore"):
            over = (e > n) & np.isfinite(e) & (n > 0)
        problems += [problem(name, int(lines[i]), names["events"], f"{e[i]:g} events exceed {names['n']} = {n[i]:g}")
                     for i in np.flatnonzero(over)]
    return values, problems


def _two_continuous_arms(arms, lines, names, measure, name) -> list:
    """A second complete arm of one treatment in one study: the engine cannot merge continuous arms."""
    complete = ~arms[list(NUMERIC[measure])].isna().any(axis=1)
    first, problems = {}, []
    for s, t, line, ok in zip(arms["study"], arms["treatment"], lines, complete):
        if ok and (s, t) in first:
            problems.append(problem(name, int(line), names["treatment"], f"a second arm of {t!r} in study {s!r} "
                                    f"(first on line {first[s, t]}); merge the two arms first"))
        elif ok:
            first[s, t] = int(line)
    return problems


def _warn(text: str) -> None:
    """One warning line on stderr, as the command line's table reader prints dropped rows."""
    print(f"warning: {safe(text)}", file=sys.stderr)


def dropped_arms(data, arms, lines, names, name, measure) -> list[dict]:
    """What the engine left out (``data.dropped``), each with its lines; a warning for each kind."""
    need = list(NUMERIC[measure])
    missing = arms[need].isna().any(axis=1).to_numpy()
    out = []
    for study, treatment, reason in data.dropped.itertuples(index=False):
        treatment = treatment if isinstance(treatment, str) else None  # a whole study: None (or NaN)
        at = arms["study"].to_numpy() == study
        if treatment is not None:
            at &= arms["treatment"].to_numpy() == treatment
        at &= missing if reason.startswith("missing") else ~missing  # else: merged, or a study's one arm
        out.append({"study": study, "treatment": treatment, "reason": reason, "lines": [int(x) for x in lines[at]]})
    if missing.any():
        _warn(dropped_rows(name, lines[missing], "a missing value", [names[c] for c in need if arms[c].isna().any()]))
    for reason, what in (("arms of one treatment merged", "{n} arm(s) of one treatment in one study merged"),
                         ("one arm left", "{n} row(s) with the only complete arm of their study dropped")):
        rows = [d for d in out if d["reason"] == reason]
        if rows:
            at = sorted(x for d in rows for x in d["lines"])
            shown = ", ".join(map(str, at[:20])) + (" ..." if len(at) > 20 else "")
            studies = ", ".join(repr(d["study"]) for d in rows[:20]) + (" ..." if len(rows) > 20 else "")
            tail = "; those studies contribute nothing" if reason == "one arm left" else ""
            _warn(f"{name}: {what.format(n=len(at))} (lines {shown}; column {names['study']!r}: studies {studies}){tail}")
    return out


def reference(wanted, data, arms, lines, names, name) -> str:
    """``--reference``, or "placebo" (any case) if in the network, else the first in sorted order."""
    present = data.treatments
    if wanted is None:
        return next((t for t in present if t.lower() == "placebo"), present[0])
    ref = wanted.strip()
    if ref in present:
        return ref
    at = lines[(arms["treatment"] == ref).to_numpy()]
    if len(at):
        raise DataError([problem(name, int(at[0]), names["treatment"], f"--reference {ref!r}: no arm of it is "
                                 f"left in the network (lines {', '.join(map(str, at[:20]))} are left out)")])
    shown = ", ".join(repr(t) for t in present[:20]) + (" ..." if len(present) > 20 else "")
    raise DataError([problem(name, None, names["treatment"],
                             f"--reference {ref!r} is not a treatment of this file; its treatments: {shown}")])


def disconnected(data, arms, lines, names, name, ref) -> None:
    """Refuse a disconnected network: each part without the reference, named by its first line."""
    parent = {t: t for t in data.treatments}

    def root(t):
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for a, b in zip(data.treat1, data.treat2):
        parent[root(a)] = root(b)
    parts: dict = {}
    for t in data.treatments:
        parts.setdefault(root(t), []).append(t)
    linked = parts.pop(root(ref))
    used = arms["study"].isin(set(data.study))
    if parts:
        raise DataError([problem(
            name, int(lines[(arms["treatment"].isin(part) & used).to_numpy()][0]), names["treatment"],
            f"the network is disconnected ({len(parts) + 1} parts): no study links "
            f"{', '.join(repr(t) for t in part[:10])} to the part of the reference {ref!r} "
            f"({', '.join(repr(t) for t in linked[:10])}); fit each part on its own or add a linking study")
            for part in parts.values()])
