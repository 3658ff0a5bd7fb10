"""Glue computed values into the book (myst-nb ``glue``), as plain Python values.

numpy 2 scalars print as ``np.float64(...)``, which myst-nb cannot format; every value is
turned into the Python number, string or object it stands for before it is glued. The
build reads the glued values back from the executed notebooks into ``_build/results.csv``.
"""

from __future__ import annotations

import numpy as np
from myst_nb import glue


def plain(value):
    """A numpy scalar as the Python scalar it holds; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def glue_value(key: str, value) -> None:
    """Glue one value under ``key`` without displaying it."""
    glue(key, plain(value), display=False)
