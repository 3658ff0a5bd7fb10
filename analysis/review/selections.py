"""Each chapter's selection of studies from its datasets, as functions of the validated data.

The comparison functions in :mod:`analysis.review.comparisons` select their trials by calling
these functions, and the build checks every chapter's selection before any notebook runs by
calling the same functions (:data:`CHAPTER_SELECTIONS`): the rules exist once.
"""

from __future__ import annotations

import pandas as pd

from analysis.review.importers import (
    cipriani_vs_placebo, linde_vs_placebo, metapsy_comparisons, metapsy_response, pst_vs_antidepressants,
    turner_trials,
)
from analysis.review.multiarm import split_shared_controls


def ssri_trials(arms: pd.DataFrame, active_class: str = "SSRI", name: str = "cipriani",
                outcome: str = "response") -> pd.DataFrame:
    """Placebo-controlled trials of ``active_class`` from the GRISELDA arms (response, or dropouts)."""
    return cipriani_vs_placebo(arms, active_class=active_class, name=name, outcome=outcome)


def primary_care_trials(rows: pd.DataFrame, active: str = "SSRI", name: str = "linde") -> pd.DataFrame:
    """Placebo-controlled trials of ``active`` in primary care (Linde et al., 2015)."""
    return linde_vs_placebo(rows, active=active, name=name)


def psychotherapy_trials(rows: pd.DataFrame, therapy: str = "cbt", low_rob_items: int = 4,
                         name: str = "metapsy", outcome_selection: str = "auto",
                         instrument_priority=None) -> pd.DataFrame:
    """Comparisons of ``therapy`` with control conditions (Metapsy), one outcome each (the release's
    primary flag or the instrument priority rule: ``outcome_selection``), with RoB items."""
    return metapsy_comparisons(rows, therapy=therapy, low_rob_items=low_rob_items, name=name, require_rob=True,
                               outcome_selection=outcome_selection, instrument_priority=instrument_priority)


def response_trials(rows: pd.DataFrame, therapy: str, name: str = "metapsy") -> pd.DataFrame:
    """Response comparisons of ``therapy`` with control conditions (Metapsy total response), a
    control arm shared by several comparisons of one trial split between them."""
    return split_shared_controls(metapsy_response(rows, therapy=therapy, name=name))


def pst_antidepressant_trials(rows: pd.DataFrame, name: str = "linde2016") -> pd.DataFrame:
    """Trials comparing face-to-face problem-solving therapy with an antidepressant (Linde 2016)."""
    return pst_vs_antidepressants(rows, name=name)


def turner_published(rows: pd.DataFrame, name: str = "turner") -> pd.DataFrame:
    """The published trials, with the effect as the journals printed it."""
    return turner_trials(rows, "journal", name=name)


def turner_fda(rows: pd.DataFrame, name: str = "turner") -> pd.DataFrame:
    """Every FDA-registered trial, with the effect from the FDA review."""
    return turner_trials(rows, "fda", name=name)


# chapter -> (dataset parameter, selector, {selector argument: chapter parameter}) for each selection
CHAPTER_SELECTIONS = {
    "ssri-placebo": [
        ("cipriani_arms", ssri_trials, {"active_class": "active_class"}),
        ("linde", primary_care_trials, {}),
    ],
    "cbt-control": [
        ("psyctr", psychotherapy_trials, {"therapy": "therapy", "low_rob_items": "low_rob_items",
                                          "outcome_selection": "outcome_selection",
                                          "instrument_priority": "instrument_priority"}),
        ("response", response_trials, {"therapy": "pst_label"}),
        ("response", response_trials, {"therapy": "cbt_label"}),
        ("linde2016", pst_antidepressant_trials, {}),
    ],
    "summary-of-findings": [
        ("linde2016", pst_antidepressant_trials, {}),
        ("psyctr", psychotherapy_trials, {}),
        ("response", response_trials, {"therapy": "pst_label"}),
    ],
    "publication-bias": [
        ("turner", turner_fda, {}),
        ("turner", turner_published, {}),
    ],
}
