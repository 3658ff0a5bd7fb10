"""Words about a dose-response curve, from its numbers (the chapter types none of them).

Each function takes the curve's numbers and returns the phrase a sentence needs, by a stated
rule, so that the words change with the data.
"""

from __future__ import annotations

import numpy as np


def curve_shape(estimate, ci_low, ci_high) -> str:
    """How the odds ratio of response changes over the doses studied (log scale arrays, from
    dose 0 to the highest dose).

    Rules: the peak at the highest dose -> "rises up to the highest dose studied"; otherwise, if
    the upper confidence limit at the highest dose is below the estimate at the peak ->
    "rises to a peak and then declines"; otherwise -> "rises to a peak and then levels off (no
    clear decline at higher doses)". A peak at dose 0 (no dose better than placebo) -> "does not
    rise above placebo".
    """
    estimate, ci_high = np.asarray(estimate, float), np.asarray(ci_high, float)
    peak = int(np.argmax(estimate))
    if estimate[peak] <= 0:
        return "does not rise above placebo"
    if peak == len(estimate) - 1:
        return "rises up to the highest dose studied"
    if ci_high[-1] < estimate[peak]:
        return "rises to a peak and then declines"
    return "rises to a peak and then levels off (no clear decline at higher doses)"


def against_placebo(or_low: float, or_high: float) -> str:
    """Whether a 95% CI of an odds ratio of response excludes 1: "better than placebo",
    "worse than placebo" or "not distinguishable from placebo"."""
    if or_low > 1:
        return "better than placebo"
    if or_high < 1:
        return "worse than placebo"
    return "not distinguishable from placebo"


def peak_against_published(peak: float, published_low: float | None = None,
                           published_high: float | None = None) -> str:
    """Where a peak dose lies against a published range (same units): "within", "below" or
    "above" it; "not compared" when no published range is given (none verified)."""
    if published_low is None or published_high is None:
        return "not compared"
    if peak < published_low:
        return "below"
    if peak > published_high:
        return "above"
    return "within"


def agents_left_out(left_out: dict, min_studies: int) -> str:
    """A sentence naming the agents with too few trials, or saying that none was left out."""
    if not left_out:
        return f"Every agent asked for had at least {min_studies} placebo-controlled trials."
    named = "; ".join(f"{agent} ({n} trial{'s' if n != 1 else ''})" for agent, n in left_out.items())
    return f"Left out for fewer than {min_studies} placebo-controlled trials: {named}."


def describe_agent(agent: str, shape: str, peak: dict, versus: str) -> str:
    """One sentence on one agent's curve: its shape (:func:`curve_shape`), the dose of the
    largest odds ratio with its CI (``peak``: dose, or, ci_low, ci_high) and how that compares
    with placebo (:func:`against_placebo`)."""
    return (f"{agent.capitalize()}: the odds ratio of response {shape}; it is largest at {peak['dose']:.3g} mg "
            f"(OR {peak['or']:.2f}, 95% CI {peak['ci_low']:.2f} to {peak['ci_high']:.2f}, {versus}).")
