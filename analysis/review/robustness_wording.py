"""Words for the robustness steps: leave-one-out, the cumulative analysis and the forest plot's rows,
including how each was limited for a very large release (:mod:`analysis.review.limits`), and the
variance components with their confidence intervals."""

from __future__ import annotations

from analysis.review.wording import _PLURALS, counted


def describe_limit(limit, unit: str = "study", parameter: str = "max_refits") -> str:
    """One sentence saying whether a step that refits the model once per study (leave-one-out, the
    cumulative analysis) or a forest plot's rows covered every study, and if not, what it did
    instead and why; ``limit`` is an :class:`analysis.review.limits.Limit`."""
    total, done = counted(limit.total, unit), f"{limit.done:,}"
    setting = f"(parameter {parameter} = {limit.cap:,})"
    if not limit.limited:
        return {
            "leave-one-out": f"The model was refitted without each of the {total} in turn.",
            "leave-one-trial-out": f"Every one of the {total} was left out in turn.",
            "cumulative": f"The cumulative analysis adds the {total} one at a time.",
            "forest": f"The forest plot draws every one of the {total}.",
        }[limit.step]
    cost = (f"refitting at every one would take {limit.total:,} fits of up to {total} each, a cost that grows "
            f"with the square of their number")
    if limit.step == "leave-one-out":
        return (f"Leave-one-out was limited to {done} of the {total} {setting}: those a closed-form screen "
                f"(tau² held at its estimate) ranks first, a third whose omission lowers the estimate most, a third "
                f"whose omission raises it most and a third farthest from the others (the largest deleted "
                f"residuals); {cost}.")
    if limit.step == "leave-one-trial-out":
        from analysis.review.limits import TRIAL_REFIT_ROWS

        return (f"It was limited to {done} of the {total} {setting}, and at most {TRIAL_REFIT_ROWS:,} comparisons "
                f"refitted in all: a multilevel refit costs about a hundred univariate ones. The trials refitted are "
                f"those the same closed-form screen ranks first on the trials' aggregated effects.")
    if limit.step == "cumulative":
        head = limit.cap // 2
        return (f"The cumulative analysis was fitted at {done} of its {limit.total:,} steps {setting}: at each of "
                f"the first {head:,}, then at evenly spaced steps about {limit.total / (limit.done - head):,.0f} "
                f"{unit}s apart, so what it says of when the interval settled holds at the steps fitted; {cost}.")
    return (f"The forest plot draws the {done} of the {total} with the largest weight "
            f"(together {100 * limit.share:.1f}% of the pooled weight) {setting}: every one is in the pooled "
            f"estimate and in the data file listed under Downloads. The largest trials are drawn, and they may "
            f"differ from the smaller ones (see the funnel plot).")


def describe_flips(n: int, what: str = "omissions") -> str:
    """``none of the omissions changes``, ``1 of the omissions changes``, ``3 of the omissions change``."""
    n = int(n)
    if n == 0:
        return f"none of the {what} changes"
    return f"{n:,} of the {what} {'changes' if n == 1 else 'change'}"


def describe_loo_scope(limit, unit: str = "study") -> str:
    """How the leave-one-out range is introduced: every omission, or the omissions refitted."""
    return (f"Leaving out one {unit} at a time" if not limit.limited
            else f"Among the {limit.done:,} omissions refitted, leaving out one {unit} at a time")


def describe_cumulative(summary: dict, steps: int, unit: str = "comparison", symbol: str = "g",
                        transform=lambda x: x, null: str = "0") -> str:
    """What a cumulative meta-analysis by year shows (:func:`analysis.meta.cumulative_summary` of
    ``steps`` fitted steps), in words: from which ``unit`` on (and year) the interval has excluded
    ``null`` (the no-effect value as shown), and the estimate half-way against the final one; a
    release without years says so (its units are then added in the order of the file), one with
    some says how many were added last. ``transform`` maps the model's scale to the one shown
    (``numpy.exp`` for ratios)."""
    undated = int(summary.get("unordered", 0))
    half = f"{transform(summary['half_estimate']):.2f}"
    final = f"{transform(summary['final_estimate']):.2f}"
    units = _PLURALS.get(unit, unit + "s")
    if summary["settled_k"] is not None:
        settled = f"the interval of the cumulative {symbol} has excluded {null} from {unit} {summary['settled_k']:,} on"
    else:
        settled = f"the interval of the cumulative {symbol} still includes {null} with every {unit} added"
    if steps and undated >= steps:
        return (f"The release gives no publication year, so the {units} were added in the order of the file: "
                f"{settled}, and the pooled {symbol} of the first {summary['half_k']:,} was {half}, against {final} for all.")
    year = summary["settled_order"]
    when = f" (published {year:.0f})" if summary["settled_k"] is not None and year == year else ""
    up_to = f" (up to {summary['half_order']:.0f})" if summary["half_order"] == summary["half_order"] else ""
    text = (f"Added in order of publication, {settled}{when}. The pooled {symbol} of the first "
            f"{summary['half_k']:,} {units}{up_to} was {half}, against {final} for all.")
    if undated:
        text += f" {counted(undated, unit)} without a year {'was' if undated == 1 else 'were'} added last."
    return text


def variance_words(intervals: dict) -> str:
    """The variance components of :func:`analysis.review.dependency.variance_intervals` with their
    95% CIs: ``between-trial sigma² 0.468 (95% CI 0.340 to 0.632), within-trial 0.033 (0.004 to
    0.090)`` for a multilevel model, ``tau² 0.458 (95% CI 0.345 to 0.640)`` for a univariate one; an
    upper limit at the end of the range searched is written ``above``."""
    def interval(c):
        high = f"above {c['ci_high']:.3f}" if c["high_at_bound"] else f"{c['ci_high']:.3f}"
        return f"{c['ci_low']:.3f} to {high}"

    between, within = intervals["between"], intervals["within"]
    if within is None:
        return f"tau² {between['estimate']:.3f} (95% CI {interval(between)})"
    return (f"between-trial sigma² {between['estimate']:.3f} (95% CI {interval(between)}), within-trial "
            f"{within['estimate']:.3f} ({interval(within)})")


def tau2_interval_words(res) -> str:
    """tau² and I² of a univariate fit with their Q-profile 95% CIs (metafor's ``confint``), and,
    when an interval does not contain its estimate (the intervals invert the generalised Q
    statistic, so they contain the Paule-Mandel estimate, not necessarily REML's), why: ``tau² = 0.458
    (95% Q-profile CI 0.677 to 1.163), I² = 91% (93 to 96%); neither interval contains this REML
    estimate: they invert the generalised Q statistic and contain the Paule-Mandel estimate, tau² = 0.883``."""
    from analysis.meta import rma

    ci = res.tau2_ci()
    text = (f"tau² = {res.tau2:.3f} (95% Q-profile CI {ci['tau2_low']:.3f} to {ci['tau2_high']:.3f}), "
            f"I² = {res.i2:.0f}% ({ci['i2_low']:.0f} to {ci['i2_high']:.0f}%)")
    if ci["tau2_low"] <= res.tau2 <= ci["tau2_high"]:
        return text
    pm = rma(res.yi, res.vi, method="PM").tau2
    return (f"{text}; neither interval contains this {res.method} estimate: they invert the generalised Q "
            f"statistic and contain the Paule-Mandel estimate, tau² = {pm:.3f}")
