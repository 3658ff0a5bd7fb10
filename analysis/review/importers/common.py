"""What every importer shares: required columns, numeric cells, validation under the source's own names."""

from __future__ import annotations

import pandas as pd

from analysis.review.errors import DataError, Problem
from analysis.review.trials import validate_trials

#: The columns of the data standards (Metapsy's psychotherapy and response databases) that identify
#: a trial apart from its label, each used where a release has it: a study whose label changed but
#: whose year and arms (and arm sizes) did not is the same trial renamed (the changelog's test).
SIGNATURE_COLUMNS = ("year", "condition_arm1", "condition_arm2", "multi_arm1", "multi_arm2", "n_arm1", "n_arm2",
                     "therapy", "n.ig", "n.cg")


#: The columns that name a study (or a claim, a comparison, a source) in each data standard, in the
#: order tried: Turner's drug and study, Linde's author, year and id, Metapsy response's comparison id
#: (``study.es``, where a release has it), GRISELDA's ``StudyID``, Metapsy's ``study``, and the
#: review's own tables.
ID_COLUMNS = (("Drug", "Study"), ("author", "year", "id"), ("study.es",), ("StudyID",), ("study",), ("claim_id",),
              ("comparison",), ("source_id",))


def study_ids(frame):
    """The identifiers of the studies (or claims, comparisons, sources) in a validated dataset; None
    for one without (e.g. a search flow's counts)."""
    if not hasattr(frame, "columns"):
        return None
    for columns in ID_COLUMNS:
        if all(c in frame.columns for c in columns):
            return frame[list(columns)].astype(str).agg(" ".join, axis=1)
    return None


def _validate_mapped(trials: pd.DataFrame, measure: str, name: str, mapping: dict) -> pd.DataFrame:
    """Validate derived trials, naming the source's own columns in any error."""
    try:
        return validate_trials(trials, measure, name)
    except DataError as err:
        raise DataError([Problem(p.file, p.line, mapping.get(p.column, p.column), p.message) for p in err.problems]) from None



def arm_totals(trials: pd.DataFrame) -> dict:
    """Crude (unweighted) response proportions summed over trials, for description only."""
    treat = trials["treat_events"].sum() / trials["treat_n"].sum()
    ctrl = trials["ctrl_events"].sum() / trials["ctrl_n"].sum()
    return {"treat": float(treat), "ctrl": float(ctrl), "treat_n": int(trials["treat_n"].sum()), "ctrl_n": int(trials["ctrl_n"].sum())}

