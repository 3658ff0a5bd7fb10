"""A declared rule for implausible effect sizes, applied before pooling.

A standardised mean difference above ``threshold`` in absolute value is implausible for a
psychological treatment against a control condition: the largest effects of established
treatments in meta-analyses of depression lie near g = 1 to 1.5, and values of 3 or more
signal an error in extraction or a trial that is not comparable (Cuijpers et al., 2023, flag
such outliers; Harrer et al., 2021, chapter 5). The threshold is a parameter of the chapter; the
comparisons it excludes are named in the text and the headline is given with and without them.
"""

from __future__ import annotations

import numpy as np


def implausible(yi, threshold: float = 3.0) -> np.ndarray:
    """Which effects exceed ``threshold`` in absolute value (a mask, True = implausible)."""
    if not threshold > 0:
        raise ValueError(f"the implausible-effect threshold must be > 0, got {threshold}")
    return np.abs(np.asarray(yi, dtype=float)) > threshold
