"""The book's figure style, applied by each figure function (never on import), and label escaping.

Every figure function is wrapped by :func:`styled`, which draws it inside seaborn's "paper" context
and "whitegrid" style without touching the global matplotlib settings; every label that comes from
data passes through :func:`label` so that a ``$`` in a study name is text, not mathtext.
"""

from __future__ import annotations

import functools

import numpy as np

from analysis.book.escape import mathtext as label  # noqa: F401 (re-exported for the figure modules)

RC = {"figure.dpi": 110, "savefig.bbox": "tight", "svg.hashsalt": "review"}


def styled(draw):
    """Draw a figure in the book's style, leaving matplotlib's global settings unchanged."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        import matplotlib.pyplot as plt
        import seaborn as sns

        rc = {**sns.axes_style("whitegrid"), **sns.plotting_context("paper", font_scale=1.0), **RC}
        with plt.rc_context(rc):
            return draw(*args, **kwargs)

    return wrapper


def largest(values, n: int) -> np.ndarray:
    """Indices of the ``n`` largest values, in their original order (all of them if fewer)."""
    values = np.asarray(values, dtype=float)
    if len(values) <= n:
        return np.arange(len(values))
    return np.sort(np.argsort(-values, kind="stable")[:n])


def plain_log_axis(axis):
    """Ratios on a log axis labelled 0.8, 1, 1.5, not in powers of ten."""
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(plain)
