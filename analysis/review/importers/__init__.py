"""Importers, one module per data standard: the source's own format in, the project's trial schema out.

Every derivation choice is an argument with a documented default, so that a chapter's parameters
can change it without touching code.
"""

from importlib import import_module

_WHERE = {
    "cipriani_vs_placebo": "cipriani", "read_cipriani_arms": "cipriani", "arm_totals": "common",
    "linde_vs_placebo": "linde", "read_linde": "linde",
    "metapsy_comparisons": "metapsy", "metapsy_response": "metapsy", "read_metapsy": "metapsy",
    "read_metapsy_psyctr": "metapsy", "read_metapsy_response": "metapsy", "sniff_format": "metapsy",
    "read_turner": "turner", "turner_trials": "turner", "read_turner_reported": "turner",
    "read_linde2016": "linde2016", "pst_vs_antidepressants": "linde2016",
    "read_furukawa_arms": "furukawa", "dose_arms": "furukawa",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    """Each importer loads on first use (PEP 562): the command line's table reader needs none of them."""
    if name not in _WHERE:
        raise AttributeError(f"module 'analysis.review.importers' has no attribute {name!r}")
    value = getattr(import_module(f"analysis.review.importers.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
