"""Read and check a multiverse grid (YAML): every problem at once, with the file and the line.

A grid file maps grid names (``cbt``, ``ssri``) to a grid: its data ``source`` and data files,
the ``claim`` it tests, a clinically ``relevant`` effect, ``min_k``, the ``dimensions`` of choice
(dimension -> option -> parameters) in the order they are crossed, and ``rules``. See
``params/multiverse.yml`` for the rules' meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis.review.errors import DataError, Problem
from analysis.review.grade_rules import MID

EQUIVALENCE = ("equivalent", "uncertain", "not equivalent")
ESTIMATORS = ("FE", "DL", "REML", "PM", "ML", "SJ", "HE", "EB")
# source -> dimension -> {parameter: check}; a check is a type, a tuple of allowed values, "list",
# or "rho" (a correlation in [0, 1): the compound-symmetric matrices are singular at 1)
_FLOAT, _INT, _BOOL, _LIST, _RHO = (int, float), int, bool, "list", "rho"
COMMON = {
    "outliers": {"remove": _BOOL, "reference_method": ESTIMATORS, "reference_test": ("z", "hksj")},
    "estimator": {},
    "inference": {"test": ("z", "hksj")},
    "bias": {"method": ("none", "pet-peese", "3psm", "waap-wls"), "steps": _LIST},
}
DIMENSIONS = {
    "metapsy": {
        "control": {"conditions": _LIST},
        "risk_of_bias": {"min_low_items": _INT},
        "diagnosis": {"keep": _LIST},
        "format": {"keep": _LIST},
        "implausible": {"threshold": _FLOAT},
        "instrument": {"use": ("primary", "average"), "rho": _RHO},
        "dependency": {"model": ("independent", "aggregate", "three-level", "che"), "rho": _RHO},
        **COMMON,
    },
    "griselda": {
        "drug": {"drugs": _LIST},
        "publication": {"published_only": _BOOL},
        "measure": {"measure": ("RR", "OR")},
        **COMMON,
    },
}
REQUIRED = {"metapsy": ("instrument", "dependency", "estimator", "inference"),
            "griselda": ("measure", "estimator", "inference")}
DATA_FILES = {"metapsy": ("psyctr",), "griselda": ("cipriani_arms",)}
#: ``relevant: mid`` (the default): the review's one minimal important difference
#: (:data:`analysis.review.grade_rules.MID`), on the scale of the grid's measure: a g for Metapsy,
#: a risk ratio for GRISELDA (compared with odds ratios at the claimed control rate).
MID_KEYWORD = "mid"
MID_MEASURE = {"metapsy": "SMD", "griselda": "RR"}

KEYS = {"source", "title", "data", "therapy", "claim", "relevant", "min_k", "dimensions", "rules", "main"}


@dataclass(frozen=True)
class Option:
    name: str
    params: dict
    equivalence: str = "equivalent"


@dataclass(frozen=True)
class Rule:
    when: dict  # dimension -> tuple of option names
    skip: bool = False
    set: dict = field(default_factory=dict)  # dimension -> mapped value


@dataclass(frozen=True)
class Grid:
    name: str
    source: str
    title: str
    data: dict
    claim: str | None
    relevant: float
    min_k: int
    dimensions: dict  # dimension -> tuple of Option, in the file's order
    rules: tuple
    therapy: str = "cbt"
    main: dict = field(default_factory=dict)  # dimension -> option of the book's own analysis

    def option(self, dimension: str, name: str) -> Option:
        for opt in self.dimensions[dimension]:
            if opt.name == name:
                return opt
        raise KeyError(f"{dimension}={name!r}")


def _plain(node, path, lines):
    """A YAML node as Python values, recording the line of every key path in ``lines``."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for k, v in node.value:
            key = str(yaml.safe_load(yaml.serialize(k)))
            lines[path + (key,)] = k.start_mark.line + 1
            out[key] = _plain(v, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(v, path + (i,), lines) for i, v in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _load(path: Path):
    name = str(path)
    if not path.is_file():
        raise DataError([Problem(name, None, None, "grid file does not exist")])
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise DataError([Problem(name, mark.line + 1 if mark else None, None, f"not valid YAML: {err}")])
    lines: dict = {}
    data = _plain(node, (), lines) if node is not None else None
    if not isinstance(data, dict) or not data or not all(isinstance(v, dict) for v in data.values()):
        raise DataError([Problem(name, 1, None, "expected a mapping of grid name -> grid")])
    return data, lines


def _check_param(value, check) -> bool:
    if check == _LIST:
        return isinstance(value, list) and len(value) > 0
    if check == _RHO:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1
    if isinstance(check, tuple) and all(isinstance(c, str) for c in check):
        return value in check
    return isinstance(value, check) and not (isinstance(value, bool) and check is not _BOOL)


def _options(gname, dim, options, allowed, where):
    problems, out = [], []
    if not isinstance(options, dict) or not options:
        return [where(f"{dim} needs at least one option", (gname, "dimensions", dim))], ()
    for oname, params in options.items():
        at = (gname, "dimensions", dim, oname)
        params = {} if params is None else params
        if not isinstance(params, dict):
            problems.append(where(f"{dim}.{oname}: expected a mapping of parameters", at))
            continue
        params = dict(params)
        equivalence = params.pop("equivalence", "equivalent")
        if equivalence not in EQUIVALENCE:
            problems.append(where(f"{dim}.{oname}: equivalence {equivalence!r} is not one of {', '.join(EQUIVALENCE)}",
                                  at + ("equivalence",)))
        if dim == "estimator" and oname not in ESTIMATORS:
            problems.append(where(f"estimator {oname!r} is not one of {', '.join(ESTIMATORS)}", at))
        for key, value in params.items():
            if key not in allowed:
                known = ", ".join(allowed) or "none"
                problems.append(where(f"{dim}.{oname}: unknown parameter {key!r}; known: {known}", at + (key,)))
            elif not _check_param(value, allowed[key]):
                expected = " (a correlation from 0 to below 1)" if allowed[key] == _RHO else ""
                problems.append(where(f"{dim}.{oname}.{key}: {value!r} is not a valid value{expected}", at + (key,)))
        out.append(Option(str(oname), params, equivalence))
    return problems, tuple(out)


def _rules(gname, rules, dimensions, where):
    problems, out = [], []
    if not isinstance(rules, list):
        return [where("rules: expected a list", (gname, "rules"))], ()
    for i, rule in enumerate(rules):
        at = (gname, "rules", i)
        if not isinstance(rule, dict) or not isinstance(rule.get("when"), dict):
            problems.append(where("a rule needs `when: {dimension: [options]}`", at))
            continue
        unknown = set(rule) - {"when", "skip", "set"}
        if unknown or ("skip" in rule) == ("set" in rule):
            problems.append(where("a rule has `when` and exactly one of `skip: true` or `set: {...}`", at))
            continue
        when = {}
        for dim, names in rule["when"].items():
            names = names if isinstance(names, list) else [names]
            known = {o.name for o in dimensions.get(dim, ())}
            bad = [n for n in names if str(n) not in known]
            if dim not in dimensions or bad:
                problems.append(where(f"rule: unknown {'dimension ' + repr(dim) if dim not in dimensions else 'option(s) ' + repr(bad)}",
                                      at + ("when", dim)))
            when[dim] = tuple(str(n) for n in names)
        mapped = rule.get("set") or {}
        if not isinstance(mapped, dict) or any(d not in dimensions for d in mapped):
            problems.append(where("rule: `set` maps known dimensions to values", at + ("set",)))
            continue
        out.append(Rule(when, bool(rule.get("skip")), {d: str(v) for d, v in mapped.items()}))
    return problems, tuple(out)


def _grid(gname, raw, where, root) -> tuple[list, Grid | None]:
    problems = [where(f"unknown key {k!r}; known: {', '.join(sorted(KEYS))}", (gname, k)) for k in raw if k not in KEYS]
    source = raw.get("source")
    if source not in DIMENSIONS:
        return problems + [where(f"source {source!r} is not one of {', '.join(DIMENSIONS)}", (gname, "source"))], None
    dims = raw.get("dimensions")
    if not isinstance(dims, dict) or not dims:
        return problems + [where("dimensions: expected a mapping", (gname, "dimensions"))], None
    dimensions = {}
    for dim, options in dims.items():
        if dim not in DIMENSIONS[source]:
            problems.append(where(f"unknown dimension {dim!r} for source {source}; known: {', '.join(DIMENSIONS[source])}",
                                  (gname, "dimensions", dim)))
            continue
        found, dimensions[dim] = _options(gname, dim, options, DIMENSIONS[source][dim], where)
        problems += found
    problems += [where(f"dimension {d!r} is required", (gname, "dimensions")) for d in REQUIRED[source] if d not in dims]
    found, rules = _rules(gname, raw.get("rules", []), dimensions, where)
    problems += found
    data = raw.get("data") or {}
    for key in DATA_FILES[source]:
        if not isinstance(data.get(key), str):
            problems.append(where(f"data.{key}: a file path is required", (gname, "data")))
        elif root is not None and not (root / data[key]).exists():
            problems.append(where(f"data.{key}: {data[key]!r} does not exist", (gname, "data", key)))
    claim, relevant, min_k = raw.get("claim"), raw.get("relevant", MID_KEYWORD), raw.get("min_k", 2)
    if claim is not None and not isinstance(claim, str):
        problems.append(where("claim: the id of a claim in the claims register (e.g. C03)", (gname, "claim")))
    if relevant == MID_KEYWORD and source in MID_MEASURE:
        relevant = MID[MID_MEASURE[source]]
    if isinstance(relevant, bool) or not isinstance(relevant, (int, float)) or not isinstance(min_k, int) or min_k < 2:
        problems.append(where(f"relevant must be {MID_KEYWORD} or a number and min_k an integer >= 2", (gname,)))
    main = raw.get("main") or {}
    problems += _check_main(gname, main, dimensions, where)
    if problems:
        return problems, None
    return [], Grid(gname, source, str(raw.get("title", gname)), dict(data), claim, float(relevant), min_k,
                    dimensions, rules, str(raw.get("therapy", "cbt")), dict(main))


def _check_main(gname, main, dimensions, where) -> list:
    """``main``: one option of every dimension (the book's own analysis), by name."""
    if not isinstance(main, dict):
        return [where("main: expected a mapping of dimension to option", (gname, "main"))]
    problems = [where(f"main: unknown dimension {d!r}", (gname, "main", d)) for d in main if d not in dimensions]
    for dim, opts in dimensions.items():
        names = [o.name for o in opts]
        if main and dim not in main:
            problems.append(where(f"main: no option for dimension {dim!r}", (gname, "main")))
        elif dim in main and main[dim] not in names:
            problems.append(where(f"main: {main[dim]!r} is not an option of {dim} ({', '.join(names)})",
                                  (gname, "main", dim)))
    return problems


def read_grid(path: str | Path, root: str | Path | None = None, only=None) -> dict[str, Grid]:
    """Read and check a grid file.

    Parameters
    ----------
    path : path of the YAML file.
    root : folder the data paths are relative to; when given, every data file must exist.
    only : grid names to keep (all by default).

    Raises
    ------
    DataError
        Bad YAML, unknown grids' sources, dimensions, parameters or options, bad rules,
        missing data files; each problem with the file and the line.
    """
    path = Path(path)
    data, lines = _load(path)

    def where(message, key_path):
        while key_path and key_path not in lines:
            key_path = key_path[:-1]
        return Problem(str(path), lines.get(key_path), None, message)

    problems, grids = [], {}
    for gname, raw in data.items():
        if only is not None and gname not in only:
            continue
        found, grid = _grid(gname, raw, where, Path(root) if root is not None else None)
        problems += found
        if grid is not None:
            grids[gname] = grid
    missing = set(only or ()) - set(data)
    problems += [Problem(str(path), None, None, f"no grid named {m!r}; known: {', '.join(data)}") for m in sorted(missing)]
    if problems:
        raise DataError(problems)
    return grids
