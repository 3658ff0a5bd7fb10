"""Chapter parameters: defaults in ``params/defaults.yml``, overrides from a YAML file.

Parameters are data, never code: YAML is read with ``yaml.safe_load``, values keep the type
of their default, and papermill injects them as Python literals (``repr``), so a value with
quotes, newlines or code in it stays a string.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from analysis.review.errors import DataError, Problem

ROOT = Path(__file__).resolve().parents[2]  # the repository: analysis/book/params.py
DEFAULTS = ROOT / "params" / "defaults.yml"
# Parameters (in any chapter) that take one of a fixed set of values.
CHOICES = {
    "method": ("FE", "DL", "REML", "PM", "ML", "SJ", "HE", "EB"),
    "active_class": ("SSRI", "any"),
}


def _line_of(text: str, chapter: str, key: str | None = None) -> int | None:
    """Line (1-based) where ``chapter`` (or its ``key``) is set in a YAML mapping."""
    node = yaml.compose(text)
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
    name = str(path)
    if not path.is_file():
        raise DataError([Problem(name, None, None, "parameter file does not exist")])
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise DataError([Problem(name, mark.line + 1 if mark else None, None, f"not valid YAML: {err}")])
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise DataError([Problem(name, 1, None, "expected a mapping of chapter -> {parameter: value}")])
    return data, text


def defaults() -> dict:
    """All chapters' default parameters."""
    return _read_yaml(DEFAULTS)[0]


def defaults_for(chapter: str) -> dict:
    """One chapter's default parameters (what a notebook's parameters cell starts from)."""
    return dict(defaults()[chapter])


def _type_ok(default, value) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


def is_path_parameter(default) -> bool:
    """A parameter whose default names a file under ``data/`` is a path; overrides must exist."""
    return isinstance(default, str) and default.startswith("data/")


def resolve(override: str | Path | None = None) -> dict:
    """Defaults merged with an override file; every problem reported at once.

    Raises
    ------
    DataError
        Unknown chapter or parameter, a value of the wrong type, or a data path that does
        not exist; each with the file, the line and the parameter.
    """
    base = defaults()
    params = {ch: dict(v) for ch, v in base.items()}
    problems: list[Problem] = []
    source = {ch: {k: str(DEFAULTS) for k in v} for ch, v in params.items()}
    texts = {str(DEFAULTS): DEFAULTS.read_text(encoding="utf-8")}
    if override:
        path = Path(override)
        data, text = _read_yaml(path)
        texts[str(path)] = text
        for chapter, values in data.items():
            if chapter not in params:
                problems.append(
                    Problem(str(path), _line_of(text, chapter), chapter, f"unknown chapter; known: {', '.join(params)}")
                )
                continue
            for key, value in values.items():
                line = _line_of(text, chapter, key)
                if key not in params[chapter]:
                    known = ", ".join(params[chapter])
                    problems.append(Problem(str(path), line, f"{chapter}.{key}", f"unknown parameter; known: {known}"))
                elif not _type_ok(params[chapter][key], value):
                    want = type(params[chapter][key]).__name__
                    problems.append(
                        Problem(str(path), line, f"{chapter}.{key}", f"{value!r} is a {type(value).__name__}, expected {want}")
                    )
                elif key in CHOICES and value not in CHOICES[key]:
                    problems.append(
                        Problem(str(path), line, f"{chapter}.{key}", f"{value!r} is not one of {', '.join(CHOICES[key])}")
                    )
                else:
                    params[chapter][key] = value
                    source[chapter][key] = str(path)
    for chapter, values in params.items():
        for key, value in values.items():
            if is_path_parameter(base[chapter][key]) and not (ROOT / value).exists():
                file = source[chapter][key]
                problems.append(
                    Problem(file, _line_of(texts[file], chapter, key), f"{chapter}.{key}", f"'{value}' does not exist")
                )
    if problems:
        raise DataError(problems)
    return params
