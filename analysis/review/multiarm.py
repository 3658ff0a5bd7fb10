"""Multi-arm trials: a control group shared by several comparisons is split, never counted twice.

The Cochrane Handbook (section 23.3.4) lists the options; splitting the shared group's events
and participants evenly among the comparisons keeps every comparison while each control
participant counts once.
"""

from __future__ import annotations

import pandas as pd


def split_shared_controls(trials: pd.DataFrame, trial: str = "trial") -> pd.DataFrame:
    """Divide a control arm shared by ``m`` comparisons of one trial (same ``trial``, same control
    events and n) into ``m`` equal parts. Adds ``shared_by`` (1 where nothing was shared)."""
    out = trials.copy()
    key = [trial, "ctrl_events", "ctrl_n"]
    m = out.groupby(key, dropna=False)["ctrl_n"].transform("size")
    out["shared_by"] = m.astype(int)
    out["ctrl_events"] = out["ctrl_events"] / m
    out["ctrl_n"] = out["ctrl_n"] / m
    return out
