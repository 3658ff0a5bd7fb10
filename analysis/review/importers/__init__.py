"""Importers, one module per data standard: the source's own format in, the project's trial schema out.

Every derivation choice is an argument with a documented default, so that a chapter's parameters
can change it without touching code.
"""

from analysis.review.importers.cipriani import cipriani_vs_placebo, read_cipriani_arms
from analysis.review.importers.common import arm_totals
from analysis.review.importers.linde import linde_vs_placebo, read_linde
from analysis.review.importers.metapsy import (
    metapsy_comparisons, metapsy_response, read_metapsy, read_metapsy_psyctr, read_metapsy_response, sniff_format,
)
from analysis.review.importers.turner import read_turner, turner_trials

__all__ = [
    "arm_totals", "cipriani_vs_placebo", "linde_vs_placebo", "metapsy_comparisons", "metapsy_response",
    "read_cipriani_arms", "read_linde", "read_metapsy", "read_metapsy_psyctr", "read_metapsy_response",
    "read_turner", "sniff_format", "turner_trials",
]
