"""The project's trial schema and its rules, checked with numpy alone.

A trial table has a ``study`` column (unique) and the columns of one measure. The rules are
data (:data:`COLUMNS`, :data:`RANGES`, :data:`WITHIN`), checked by :func:`check_numbers`
with numpy, so that the command line validates a table of ten million rows without pandas or
pandera; the book's :func:`analysis.review.trials.validate_trials` calls the same function.
The raw data standards (GRISELDA, Metapsy, Turner, Linde) are pandera models
(:mod:`analysis.review.schemas`).
"""

from __future__ import annotations

import numpy as np

from analysis.review.errors import Problem

COLUMNS = {
    "RR": ("treat_events", "treat_n", "ctrl_events", "ctrl_n"),
    "OR": ("treat_events", "treat_n", "ctrl_events", "ctrl_n"),
    "RD": ("treat_events", "treat_n", "ctrl_events", "ctrl_n"),
    "SMD": ("treat_mean", "treat_sd", "treat_n", "ctrl_mean", "ctrl_sd", "ctrl_n"),
    "GEN": ("effect", "se"),
}
# column -> (operator, bound, words); every numeric column must also be finite and not denormal
RANGES = {
    "binary": {"treat_events": (">=", 0, "must not be negative"), "ctrl_events": (">=", 0, "must not be negative"),
               "treat_n": (">", 0, "must be > 0"), "ctrl_n": (">", 0, "must be > 0")},
    "SMD": {"treat_sd": (">", 0, "must be > 0"), "ctrl_sd": (">", 0, "must be > 0"),
            "treat_n": (">=", 2, "must be >= 2 (a standard deviation needs two patients)"),
            "ctrl_n": (">=", 2, "must be >= 2 (a standard deviation needs two patients)")},
    "GEN": {"se": (">", 0, "must be > 0")},
}
WITHIN = {"binary": (("treat_events", "treat_n"), ("ctrl_events", "ctrl_n"))}
MISSING = ("", "NA", "nan", "NaN", "*")
ROB_LEVELS = ("low", "some", "high")
TINY = np.finfo(float).tiny


def family(measure: str) -> str:
    return "binary" if measure in ("RR", "OR", "RD") else measure


def parse_column(cells, lines: np.ndarray, column: str, name: str) -> tuple[np.ndarray, list[Problem]]:
    """Text cells as floats (missing cells NaN); each cell that is not a number is a problem."""
    values = np.full(len(cells), np.nan)
    problems = []
    for i, cell in enumerate(cells):
        if isinstance(cell, (float, int, np.floating, np.integer)):
            values[i] = cell
            continue
        text = "" if cell is None else str(cell).strip()
        if text in MISSING:
            continue
        try:
            values[i] = float(text)
        except ValueError:
            problems.append(Problem(name, int(lines[i]), column, f"'{text[:40]}' is not a number"))
    return values, problems


def check_numbers(values: dict, lines: np.ndarray, measure: str, name: str,
                  missing_ok: np.ndarray | None = None) -> list[Problem]:
    """Check parsed numeric columns against the rules for ``measure``.

    Parameters
    ----------
    values : dict of ndarray
        The measure's columns as floats (NaN where empty).
    lines : ndarray of int
        Each row's line in the file.
    missing_ok : ndarray of bool, optional
        Rows whose empty cells are not problems (dropped elsewhere, with a warning).
    """
    fam = family(measure)
    problems = []
    skip = np.zeros(len(lines), bool) if missing_ok is None else missing_ok
    for column in COLUMNS[measure]:
        v = values[column]
        for i in np.flatnonzero(np.isnan(v) & ~skip):
            problems.append(Problem(name, int(lines[i]), column, "is empty"))
        bad = ~np.isnan(v) & ~(np.isfinite(v) & ((v == 0) | (np.abs(v) >= TINY)))
        for i in np.flatnonzero(bad):
            problems.append(Problem(name, int(lines[i]), column, f"{v[i]:g} must be a finite number"))
        op, bound, words = RANGES.get(fam, {}).get(column, (None, None, None))
        if op is not None:
            with np.errstate(invalid="ignore"):
                fails = (v <= bound) if op == ">" else (v < bound)
            for i in np.flatnonzero(fails & np.isfinite(v)):
                problems.append(Problem(name, int(lines[i]), column, f"{v[i]:g} {words}"))
    for events, n in WITHIN.get(fam, ()):
        with np.errstate(invalid="ignore"):
            over = values[events] > values[n]
        for i in np.flatnonzero(over):
            problems.append(Problem(name, int(lines[i]), events,
                                    f"{values[events][i]:g} events exceed {n} = {values[n][i]:g}"))
    return problems


def blank_ids(studies, lines, name: str) -> list[Problem]:
    """A study id that is empty or only spaces is a problem: the study could not be named in a
    forest plot, a table or the changelog, and two such rows could not be told apart."""
    return [Problem(name, int(line), "study", "the study id is empty (or only spaces)")
            for study, line in zip(studies, lines) if not str(study).strip()]


def check_unique(studies, lines: np.ndarray, name: str) -> list[Problem]:
    """Each study id must be given (:func:`blank_ids`), and each later occurrence of one is a problem
    naming the line of the first."""
    first: dict = {}
    problems = blank_ids(studies, lines, name)
    for study, line in zip(studies, lines):
        if not str(study).strip():
            continue
        if study in first:
            problems.append(Problem(name, int(line), "study", f"duplicate study id '{study}' (first on line {first[study]})"))
        else:
            first[study] = int(line)
    return problems


#: The column named when a row's effect or its variance cannot be computed, per measure.
EFFECT_COLUMN = {"RR": "treat_events", "OR": "treat_events", "RD": "treat_events", "SMD": "treat_mean", "GEN": "effect"}
VARIANCE_COLUMN = {"RR": "treat_n", "OR": "treat_n", "RD": "treat_n", "SMD": "treat_sd", "GEN": "se"}


def effect_problems(columns: dict, lines: np.ndarray, measure: str, name: str) -> list[Problem]:
    """Rows whose effect size is not finite or whose sampling variance is not finite and > 0
    (an SE of 1e-200 squares to 0; a mean of 1e300 over an SD of 1e-300 gives an infinite d): the
    analysis could not weigh them, so they are refused, by line."""
    import warnings

    from analysis.meta.effect_sizes import effect_arrays

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yi, vi = effect_arrays(columns, measure)
    problems = []
    for i in np.flatnonzero(~np.isfinite(yi)):
        problems.append(Problem(name, int(lines[i]), EFFECT_COLUMN[measure],
                                f"gives an effect size of {yi[i]:g}: the {measure} of this row is not a finite number"))
    for i in np.flatnonzero(np.isfinite(yi) & ~(np.isfinite(vi) & (vi > 0))):
        problems.append(Problem(name, int(lines[i]), VARIANCE_COLUMN[measure],
                                f"gives a sampling variance of {vi[i]:g}: it must be finite and > 0"))
    return sorted(problems, key=lambda p: p.line)[:1000]
