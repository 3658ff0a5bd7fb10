"""The book's figure style, applied by each figure function (never on import), and label escaping.

Every figure function is wrapped by :func:`styled`, which draws it inside seaborn's "paper" context
and "whitegrid" style without touching the global matplotlib settings; every label that comes from
data passes through :func:`label` so that a ``$`` in a study name is text, not mathtext.
"""

from __future__ import annotations

import functools

import numpy as np
from cycler import cycler

from analysis.escape import mathtext as label  # noqa: F401 (re-exported for the figure modules)

# Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/), in the order matplotlib
# cycles through it; the named roles below are what the figures use.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
PALETTE = {"study": "#0072B2", "pooled": "#D55E00", "subgroup": "#009E73", "claim": "#CC79A7"}
INK = "#1a1a1a"
#: Above this many points a scatter is drawn rasterized in the SVG and PDF (at the save dpi): a
#: vector file of ten thousand markers is slow to write and to display, and no reader tells them apart.
RASTER_ABOVE = 2000

# What a figure is saved with: SVG for the web book (text kept as text, ids salted so that two
# builds write the same bytes, no date) and PDF for the LaTeX build (no date either); an artist
# drawn rasterized (a cloud of ten thousand points, :data:`RASTER_ABOVE`) at the figure's dpi. Tick labels are
# formatted when the figure is drawn, so the ASCII minus the book's text and tables print ("-0.5", not
# matplotlib's Unicode minus) is a save setting too: a number reads the same in a figure as in the text.
SAVE_RC = {"svg.hashsalt": "review", "svg.fonttype": "none", "savefig.bbox": "tight", "savefig.pad_inches": 0.05,
           "axes.unicode_minus": False}
RC = {"figure.dpi": 110, **SAVE_RC, "font.family": ["DejaVu Sans"],
      "axes.prop_cycle": cycler(color=list(OKABE_ITO))}


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
    """Ratios on a log axis labelled 0.8, 1, 1.5, not in powers of ten. Minor ticks are labelled only
    where the axis spans less than a factor of 4 (so 1.1, 1.2, 1.3 on a narrow axis); on a wider
    one the labels are 1, 2, 3 and 5 times each power of ten, not crowded."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    def narrow() -> bool:
        low, high = sorted(axis.get_view_interval())
        return low > 0 and high / low < 4

    def minor(v, _):
        return f"{v:g}" if narrow() else ""

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(minor))
