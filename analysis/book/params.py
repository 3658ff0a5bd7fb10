"""Chapter parameters: defaults in ``params/defaults.yml``, overrides from a YAML file.

Parameters are data, never code: YAML is read with a strict safe loader (no tags, anchors,
aliases or duplicate keys), every value is checked against its declared type and range
(:data:`SCHEMA`) before anything runs, and papermill injects them as Python literals (``repr``),
so a value with quotes or code in it stays a string.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from analysis.review.errors import DataError, Problem

ROOT = Path(__file__).resolve().parents[2]  # the repository: analysis/book/params.py
DEFAULTS = ROOT / "params" / "defaults.yml"

#: The estimators the network is fitted by (:data:`analysis.review.network.NETWORK_METHODS`, kept equal
#: by a test; not imported, so that reading parameters loads no analysis).
NETWORK_METHODS = ("REML", "ML", "FE")
#: The declared type and range of every parameter, by name (a name means the same in every chapter;
#: :data:`CHAPTER_SCHEMA` narrows a range in one). Checked before anything runs, defaults and overrides:
#: ``file``: a path to a regular file (relative to the repository, or absolute);
#: ``directory``: a path to a folder inside the repository (not the repository itself);
#: ``int``: whole number within ``min``..``max``; ``bool``; ``str``: within ``max_length``, no
#: control characters, and one of ``choices`` when given.
SCHEMA: dict[str, dict] = {
    "claims": {"type": "file"}, "appraisal": {"type": "file"}, "cipriani_arms": {"type": "file"},
    "linde": {"type": "file"}, "psyctr": {"type": "file"}, "response": {"type": "file"},
    "search_flow": {"type": "file"}, "psyctr_dictionary": {"type": "file"},
    "turner": {"type": "file"}, "turner_reported": {"type": "file"},
    "prisma_items": {"type": "file"}, "prisma_book": {"type": "file"},
    "umbrella_findings": {"type": "file"}, "umbrella_source": {"type": "file"},
    "amstar_items": {"type": "file"}, "amstar_book": {"type": "file"}, "grade": {"type": "file"},
    "data_dir": {"type": "directory"}, "active_class": {"type": "str", "choices": ("SSRI", "any")},
    "method": {"type": "str", "choices": ("FE", "DL", "REML", "PM", "ML", "SJ", "HE", "EB")},
    "hksj": {"type": "bool"}, "forest_max_rows": {"type": "int", "min": 1, "max": 1000},
    # steps that refit once per study, and the forest plot's rows: all up to this many, else a declared part
    "max_refits": {"type": "int", "min": 2, "max": 1_000_000},
    "forest_max_studies": {"type": "int", "min": 2, "max": 1_000_000},
    "low_rob_items": {"type": "int", "min": 0, "max": 4},
    "therapy": {"type": "str", "max_length": 100},
    "pst_label": {"type": "str", "max_length": 200}, "cbt_label": {"type": "str", "max_length": 200},
    "linde2016": {"type": "file"}, "min_k_drug": {"type": "int", "min": 2, "max": 1000},
    "primary_model": {"type": "str", "choices": ("independent", "aggregated", "threelevel", "che")},
    "rho": {"type": "float", "min": 0.0, "max": 0.99},
    "implausible_g": {"type": "float", "min": 0.5, "max": 100.0},
    "self_report": {"type": "str", "choices": ("high", "low")},
    "rob_domains": {"type": "list", "choices": ("sg", "ac", "ba", "itt"), "min_length": 1},
    "psyctr_version": {"type": "str", "max_length": 50}, "defaults": {"type": "file"},
    "outcome_selection": {"type": "str", "choices": ("auto", "primary", "priority")},
    "instrument_priority": {"type": "list", "min_length": 1, "max_length": 100},
    "grid": {"type": "file"},  # the multiverse's grid (params/multiverse.yml)
    "workers": {"type": "int", "min": 0, "max": 1024},  # Dask worker processes; 0 = the machine's cores
    "budget": {"type": "int", "min": 1000, "max": 10**12},  # the multiverse's specifications x rows per grid
    "seed": {"type": "int", "min": 0, "max": 2**32 - 1},
    # the dose-response chapter (Furukawa et al. 2019 arms)
    "furukawa_arms": {"type": "file"},
    "dose_agents": {"type": "list", "choices": ("citalopram", "escitalopram", "fluoxetine", "paroxetine", "sertraline"),
                    "min_length": 1},
    "min_dose_studies": {"type": "int", "min": 3, "max": 1000},
    "knot_low": {"type": "int", "min": 1, "max": 98}, "knot_middle": {"type": "int", "min": 2, "max": 98},
    "knot_high": {"type": "int", "min": 3, "max": 99},
    "knots_of": {"type": "str", "choices": ("distinct", "arms")},
    "dose_grid_points": {"type": "int", "min": 11, "max": 10_000},
    # the network chapter (Cipriani et al. 2018 arms)
    "published": {"type": "file"}, "reference": {"type": "str", "max_length": 100},
    "reproduction_tolerance": {"type": "float", "min": 1.0, "max": 2.0},
    "nodesplit_alpha": {"type": "float", "min": 0.001, "max": 0.5},
    "hamd_mid": {"type": "float", "min": 0.1, "max": 20.0},
    "transitivity_min_trials": {"type": "int", "min": 2, "max": 100000},
    # the summary of findings' network rows (as the network chapter's reference and method)
    "network_reference": {"type": "str", "max_length": 100},
    "network_method": {"type": "str", "choices": NETWORK_METHODS},
}
#: A parameter whose declared range is narrower in one chapter than :data:`SCHEMA`'s, by (chapter, name).
CHAPTER_SCHEMA = {("network", "method"): {"type": "str", "choices": NETWORK_METHODS}}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_TYPES = {"file": str, "directory": str, "str": str, "int": int, "bool": bool, "float": (int, float), "list": list}


def _line_of(text: str, chapter: str, key: str | None = None) -> int | None:
    """Line (1-based) where ``chapter`` (or its ``key``) is set in a YAML mapping."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if node is None or not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if k.value == chapter:
            if key is None:
                return k.start_mark.line + 1
            if isinstance(v, yaml.MappingNode):
                for kk, _ in v.value:
                    if kk.value == key:
                        return kk.start_mark.line + 1
    return None


def _read_yaml(path: Path) -> tuple[dict, str]:
    """A parameter file, read strictly (:func:`analysis.review.safeio.load_yaml`: a regular file,
    UTF-8, no duplicate keys, anchors, aliases or deep nesting)."""
    from analysis.review.safeio import load_yaml

    name = str(path)
    if not name.strip():
        raise DataError([Problem(repr(name), None, None, "the parameter file path is empty")])
    try:
        data, text = load_yaml(path, "parameter file")
    except DataError as err:
        if any("does not exist" in p.message for p in err.problems):
            raise DataError([Problem(name, None, None, "parameter file does not exist")]) from None
        raise
    data = data or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise DataError([Problem(name, 1, None, "expected a mapping of chapter -> {parameter: value}")])
    return data, text


def spec_for(chapter: str | None, key: str) -> dict | None:
    """The declared type and range of parameter ``key`` in ``chapter``: :data:`CHAPTER_SCHEMA`'s
    where it narrows it, else :data:`SCHEMA`'s (None for an undeclared parameter)."""
    return CHAPTER_SCHEMA.get((chapter, key), SCHEMA.get(key))


def check_value(key: str, value, chapter: str | None = None) -> str | None:
    """What is wrong with ``value`` for parameter ``key`` (of ``chapter``) by :func:`spec_for`
    (None when it is fine); a range of :data:`CHAPTER_SCHEMA` is named as the chapter's."""
    wrong = _check(spec_for(chapter, key), value)
    return f"{wrong} (the {chapter} chapter's range)" if wrong and (chapter, key) in CHAPTER_SCHEMA else wrong


def _check(spec: dict | None, value) -> str | None:
    """What is wrong with ``value`` by the declared type and range ``spec`` (None when it is fine)."""
    if spec is None:
        return "the parameter has no declared type in analysis.book.params.SCHEMA"
    kind = spec["type"]
    want = _TYPES[kind]
    if isinstance(value, bool) and want is not bool or not isinstance(value, want):
        expected = {"file": "str", "directory": "str"}.get(kind, kind)
        kind_of = type(value).__name__
        return f"{value!r} is {'an' if kind_of[0] in 'aeiou' else 'a'} {kind_of}, expected {expected}"
    if kind in ("int", "float"):
        if value != value or not spec.get("min", value) <= value <= spec.get("max", value):
            return f"{value!r} is out of range: must be {spec['min']} to {spec['max']}"
    if kind == "list":
        return _check_list(value, spec)
    if isinstance(value, str):
        if _CONTROL.search(value):
            return f"{value!r} contains a control character (line break, tab, NUL)"
        if "choices" in spec and value not in spec["choices"]:
            return f"{value!r} is not one of {', '.join(spec['choices'])}"
        if len(value) > spec.get("max_length", 4096):
            return f"a text of {len(value)} characters; at most {spec.get('max_length', 4096)}"
        if kind in ("file", "directory"):
            return _check_path(value, kind)
    return None


def _check_list(value: list, spec: dict) -> str | None:
    """A list parameter: at least ``min_length`` items, each a text among ``choices`` (if any), no repeats."""
    if len(value) < spec.get("min_length", 0):
        return f"a list of {len(value)} items; at least {spec['min_length']}"
    for item in value:
        if not isinstance(item, str) or _CONTROL.search(item) or len(item) > spec.get("max_length", 200):
            return f"{item!r} is not a short text"
        if "choices" in spec and item not in spec["choices"]:
            return f"{item!r} is not one of {', '.join(spec['choices'])}"
    if len(set(value)) != len(value):
        return "an item is listed twice"
    return None


def _check_path(value: str, kind: str) -> str | None:
    """A file parameter names a regular file (checked with stat, before anything opens it); a
    directory parameter names a folder inside the repository, not the repository itself."""
    import stat

    if not value.strip():
        return "the path is empty"
    path = Path(value) if Path(value).is_absolute() else ROOT / value
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return f"'{value}' does not exist"
    except OSError as err:
        return f"'{value}' cannot be read ({err.strerror or err})"
    if kind == "directory":
        real, root = path.resolve(), ROOT.resolve()
        if not stat.S_ISDIR(mode):
            return f"'{value}' is not a directory"
        if real == root or not real.is_relative_to(root):
            return f"'{value}' must be a folder inside the repository (e.g. data)"
        return None
    if stat.S_ISDIR(mode):
        return f"'{value}' is not a regular file: it is a directory"
    if not stat.S_ISREG(mode):
        kind_ = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"
        return f"'{value}' is not a regular file: it is {kind_}"
    return None


def defaults() -> dict:
    """All chapters' default parameters."""
    return _read_yaml(DEFAULTS)[0]


def defaults_for(chapter: str) -> dict:
    """One chapter's default parameters (what a notebook's parameters cell starts from)."""
    return dict(defaults()[chapter])


def path_values(values: dict) -> dict:
    """The parameters among ``values`` that :data:`SCHEMA` declares a file or a directory, by name
    (only these are ever opened as paths; any other text, however it looks, stays text)."""
    return {key: value for key, value in values.items()
            if SCHEMA.get(key, {}).get("type") in ("file", "directory") and isinstance(value, str) and value}


def is_path_parameter(default) -> bool:
    """A parameter whose default names a file under ``data/`` is a path (see :data:`SCHEMA`)."""
    return isinstance(default, str) and default.startswith("data/")


#: The section of an override file whose parameters apply to every chapter that has them (e.g. one
#: dataset release for every chapter that reads it); a chapter's own section in the file still wins.
ALL = "all"


def _apply_to_all(values: dict, params: dict, source: dict, file: str, text: str) -> list[Problem]:
    """Set each parameter of the ``all`` section in every chapter that has it; a parameter that no
    chapter has is a problem."""
    problems = []
    for key, value in values.items():
        chapters = [ch for ch, have in params.items() if key in have]
        if not chapters:
            known = sorted({k for have in params.values() for k in have})
            problems.append(Problem(file, _line_of(text, ALL, key), f"{ALL}.{key}",
                                    f"no chapter has this parameter; known: {', '.join(known)}"))
        for chapter in chapters:
            params[chapter][key] = value
            source[chapter][key] = (file, ALL)
    return problems


def resolve(override: str | Path | None = None) -> dict:
    """Defaults merged with an override file, every value checked against :data:`SCHEMA`; every
    problem reported at once.

    An override file's ``all`` section (:data:`ALL`) sets its parameters in every chapter that has
    them, before the file's chapter sections.

    Raises
    ------
    DataError
        An unreadable parameter file, an unknown chapter or parameter, a value of the wrong
        type or out of its range, or a path that does not name a regular file (a directory
        inside the repository for ``directory`` parameters); each with the file, the line and
        the parameter.
    """
    base, defaults_text = _read_yaml(DEFAULTS)
    params = {ch: dict(v) for ch, v in base.items()}
    problems: list[Problem] = []
    source = {ch: {k: (str(DEFAULTS), ch) for k in v} for ch, v in params.items()}  # file, section
    texts = {str(DEFAULTS): defaults_text}
    if override is not None:
        path = Path(override) if str(override).strip() else override
        data, text = _read_yaml(path)
        texts[str(path)] = text
        problems += _apply_to_all(data.pop(ALL, {}), params, source, str(path), text)
        for chapter, values in data.items():
            if chapter not in params:
                problems.append(
                    Problem(str(path), _line_of(text, chapter), str(chapter), f"unknown chapter; known: {', '.join(params)} (or {ALL}, for every chapter that has the parameter)")
                )
                continue
            for key, value in values.items():
                if key not in params[chapter]:
                    known = ", ".join(params[chapter])
                    problems.append(Problem(str(path), _line_of(text, chapter, key), f"{chapter}.{key}",
                                            f"unknown parameter; known: {known}"))
                else:
                    params[chapter][key] = value
                    source[chapter][key] = (str(path), chapter)
    for chapter, values in params.items():
        for key, value in values.items():
            wrong = check_value(key, value, chapter)
            if wrong:
                file, section = source[chapter][key]
                problem = Problem(file, _line_of(texts[file], section, key), f"{section}.{key}", wrong)
                if problem not in problems:  # a value of the all section is reported once
                    problems.append(problem)
    if problems:
        raise DataError(problems)
    return params
