"""Validate every parameter and every dataset the parameters name, and each chapter's selection of
studies from them, before any notebook runs: every problem at once, by file, line and column."""

from __future__ import annotations

from analysis.book import params as parameters
from analysis.review.errors import DataError, Problem

ROOT = parameters.ROOT



def dataset_readers() -> dict:
    """The reader that validates each kind of dataset a parameter can name (by parameter name).
    Imported here, not at the top, so that a build with nothing to do starts fast."""
    from analysis.review.characteristics import read_release_dictionary
    from analysis.review.claims import read_appraisal, read_claims
    from analysis.review.grade import read_grade
    from analysis.review.importers import (
        read_cipriani_arms, read_furukawa_arms, read_linde, read_linde2016, read_metapsy_psyctr, read_metapsy_response,
        read_turner,
    )
    from analysis.review.prisma import read_search_flow

    return {
        "appraisal": read_appraisal,
        "cipriani_arms": read_cipriani_arms,
        "furukawa_arms": read_furukawa_arms,
        "linde": read_linde,
        "claims": read_claims,
        "psyctr": read_metapsy_psyctr,
        "response": read_metapsy_response,
        "turner": read_turner,
        "grade": read_grade,
        "linde2016": read_linde2016,
        "search_flow": read_search_flow,
        "psyctr_dictionary": read_release_dictionary,
    }


def validate_all(override=None) -> dict:
    """Check the parameters and every dataset they name; report all problems together."""
    resolved = parameters.resolve(override)
    validate_datasets(resolved)
    return resolved


def validate_datasets(resolved: dict) -> dict:
    """Validate every dataset the resolved parameters name, and every chapter's selection of
    studies from them; raise one DataError with every problem.

    Returns
    -------
    dict
        The manifest: dataset parameter -> file, sha256, rows and study ids, for the changelog.
    """
    from analysis.book.changelog import study_signatures
    from analysis.book.provenance import sha256
    from analysis.review.importers.common import study_ids

    problems = []
    readers = dataset_readers()
    frames, manifest, seen = {}, {}, set()
    for chapter, values in resolved.items():
        for key, value in values.items():
            reader = readers.get(key)
            if reader is None or value in seen:
                continue
            seen.add(value)  # each file is read once, whichever chapters name it
            try:
                frames[value] = frame = reader(parameters.ROOT / value)
            except DataError as err:
                problems.extend(err.problems)
                continue
            ids = study_ids(frame)
            # a second file under the same parameter (one chapter overridden) is recorded as chapter.parameter
            manifest[key if key not in manifest else f"{chapter}.{key}"] = {
                "file": value,
                "sha256": sha256(parameters.ROOT / value),
                "rows": int(len(frame)),
                "studies": sorted(set(map(str, ids))) if ids is not None else [],
                "signatures": study_signatures(frame, ids),  # to recognise a renamed study (changelog)
            }
    if not problems:
        problems.extend(check_selections(resolved, frames))
    if problems:  # a problem that several chapters' selections meet is reported once
        raise DataError(list(dict.fromkeys(problems)))
    return manifest


MIN_STUDIES = 2  # a random-effects model needs at least two studies


def check_selections(resolved: dict, frames: dict) -> list:
    """Run each chapter's selection of studies (e.g. which drug class, which therapy) on the
    validated data before any notebook runs, by calling the selectors the chapters' analyses
    call (:data:`analysis.review.selections.CHAPTER_SELECTIONS`); a selection that leaves fewer
    than two studies is a problem naming the dataset, the chapter and the parameter."""
    from analysis.review.selections import CHAPTER_SELECTIONS

    problems = []
    for chapter, selections in CHAPTER_SELECTIONS.items():
        params = resolved.get(chapter, {})
        for dataset, select, arguments in selections:
            kwargs = {arg: params[parameter] for arg, parameter in arguments.items()}
            try:
                k = len(select(frames[params[dataset]], name=params[dataset], **kwargs))
            except DataError as err:
                problems.extend(err.problems)
                continue
            if k < MIN_STUDIES:
                shown = ", ".join(f"{parameter}={params[parameter]!r}" for parameter in arguments.values()) or dataset
                problems.append(Problem(params[dataset], None, f"{chapter}.{next(iter(arguments.values()), dataset)}",
                                        f"the selection {shown} leaves {k} studies; at least {MIN_STUDIES} are needed"))
    return problems
