"""Data-dependent words of the publication-bias, SSRI and serotonin chapters (the style of
:mod:`analysis.review.wording`: each word a tested function of the numbers)."""

from __future__ import annotations

from analysis.review.bias_suite import MIN_PER_INTERVAL
from analysis.review.wording import count_of, counted, format_p, listing


def count_difference(file_n: int, reported_n: int, noun: str) -> str:
    """How a count in the file stands against the paper's: "the same 50 trials", "1 trial fewer
    than the 51 reported", "2 trials more than the 40 reported"."""
    diff = int(file_n) - int(reported_n)
    if diff == 0:
        return f"the same {counted(file_n, noun)} as reported"
    return f"{counted(abs(diff), noun)} {'fewer' if diff < 0 else 'more'} than the {int(reported_n):,} reported"


def rounding_explains(exact_pct: float, rounded_pct: float, reported_pct: float) -> str:
    """Whether the paper's percentage is what its two rounded estimates give: "the two estimates
    as printed, rounded to two decimals, give 32%, the paper's figure; unrounded they give 33%"."""
    shown_exact, shown_rounded = round(exact_pct), round(rounded_pct)
    if shown_rounded == round(reported_pct) != shown_exact:
        return (f"the paper's {round(reported_pct)}% is what the two estimates give rounded to two decimals, as the "
                f"paper prints them ({shown_rounded}%); unrounded they give {shown_exact}%")
    if shown_exact == round(reported_pct):
        return f"the unrounded estimates give the paper's {shown_exact}%"
    return (f"neither the unrounded estimates ({shown_exact}%) nor the rounded ones ({shown_rounded}%) give the "
            f"paper's {round(reported_pct)}%")


def outside_range(by_drug, low: float, high: float) -> str:
    """The drugs whose per-drug increase (``increase_pct``, rounded to whole per cent as the paper
    reports) lies outside the paper's range, named with their increase, or "no drug"."""
    shown = by_drug.assign(shown=by_drug["increase_pct"].round())
    out = shown[(shown["shown"] < low) | (shown["shown"] > high)]
    if out.empty:
        return "no drug"
    return listing([f"{d} ({v:.0f}%)" for d, v in zip(out["drug"], out["shown"])])


def small_study_sentence(table) -> str:
    """The reported small-study test (the last row of
    :func:`analysis.review.bias_suite.small_study_tests`) in words, with the classic one beside it."""
    reported, classic = table.iloc[-1], table.iloc[0]
    finds = "finds" if reported["p"] < 0.05 else "does not find"
    text = (f"{reported['test']} with the {reported['precision']} {finds} funnel-plot asymmetry "
            f"(slope {reported['bias']:.2f}, p {format_p(reported['p'])})")
    if len(table) > 1:
        text += (f"; with the usual SE, as if independent, the slope is {classic['bias']:.2f} "
                 f"(p {format_p(classic['p'])})")
    return text


def outside_range_sentence(by_drug, low: float, high: float) -> str:
    """:func:`outside_range` with what it suggests: the drugs outside the paper's range are where a
    trial missing from the file would most plausibly lie."""
    named = outside_range(by_drug, low, high)
    if named == "no drug":
        return "no drug, so the per-drug increases do not point to where the missing trial lies"
    return f"{named}, where a trial missing from the file would most plausibly lie (the file cannot confirm it)"


def lowest_method_caveat(summary: dict, unit: str = "trial") -> str:
    """What to keep in mind about the lowest bias-corrected estimate (:func:`~analysis.review.bias_suite.suite_summary`):
    for a selection model, ", whose sparsest p-value interval holds 6 trials" (a step-function model
    estimates the selection in each interval from the studies in it); for any other method, ""."""
    fewest = summary.get("min_fewest")
    return "" if fewest is None else f", whose sparsest p-value interval holds {counted(fewest, unit)}"


def unreliable_words(summary: dict, unit: str = "trial", label: str = "g") -> str:
    """The selection models set aside as unreliable (:func:`~analysis.review.bias_suite.suite_summary`'s
    ``unreliable``), as a sentence, with the median had they been counted: "4PSM, though fitted, is
    set aside as unreliable: its sparsest p-value interval holds 6 trials, fewer than the 10 this
    review asks for (a rule added after the first results); its estimate, g = -1.98, stays in the
    table; counting it, the median would be 0.47."; "" when none is."""
    rows = summary.get("unreliable") or []
    if not rows:
        return ""
    parts = [f"{m}, though fitted, is set aside as unreliable: its sparsest p-value interval holds {counted(n, unit)}, "
             f"fewer than the {MIN_PER_INTERVAL} this review asks for (a rule added after the first results); its "
             f"estimate, {label} = {e:.2f}, stays in the table" for m, n, e in rows]
    return "; ".join(parts) + f"; counting {'it' if len(rows) == 1 else 'them'}, the median would be " \
        f"{summary['median_with_unreliable']:.2f}."


def method_result(suite, method: str, label: str = "g", back=None) -> str:
    """One row of a :func:`~analysis.review.bias_suite.bias_suite` in words: "trim-and-fill R0: 28
    filled on the left, g = 0.62", or "trim-and-fill R0: not fitted (its reason)"."""
    row = suite.set_index("method").loc[method]
    if row["estimate"] != row["estimate"]:
        return f"{method}: not fitted ({row['note']})"
    value = row["estimate"] if back is None else back(row["estimate"])
    return f"{method}: {row['note']}, {label} = {value:.2f}" if row["note"] else f"{method}: {label} = {value:.2f}"


def sample_size_words(suite, label: str = "g", threshold: float | None = None, null: float = 0.0) -> str:
    """PET and PEESE on the sample-size based SE (the :data:`~analysis.review.bias_suite.SAMPLE_SIZE_ROWS`
    of a suite) against the same methods on the usual SE, as sentences: the two estimates of each,
    whether both move up (consistent with the usual SE, which contains g, pulling the intercept
    down), how the differences change without the implausible comparisons (the suite's
    ``attrs["without_implausible"]``, when given), and what the median of the bias-corrected
    estimates and the count below ``threshold`` would be with these rows in place of PET and PEESE
    (:func:`~analysis.review.bias_suite.swapped_in`). "" when the suite has no such rows."""
    from analysis.review.bias_suite import SAMPLE_SIZE_ROWS, suite_summary, swapped_in

    by = suite.set_index("method")
    if not all(m in by.index for m in SAMPLE_SIZE_ROWS):
        return ""
    parts, moves = [], []
    for modified, usual in zip(SAMPLE_SIZE_ROWS, ("PET", "PEESE")):
        new, old = by.loc[modified], by.loc[usual]
        if new["estimate"] != new["estimate"]:
            parts.append(f"{usual} could not be fitted ({new['note']})")
            continue
        parts.append(f"{usual} gives {label} = {new['estimate']:.2f} (95% CI {new['ci_low']:.2f} to "
                     f"{new['ci_high']:.2f}) rather than {old['estimate']:.2f}")
        moves.append("higher" if new["estimate"] > old["estimate"] else "lower" if new["estimate"] < old["estimate"]
                     else "the same")
    text = ("With the sample-size based SE in place of the usual one (a sensitivity analysis added after the "
            "first results), " + ", and ".join(parts))
    if moves and all(m == "higher" for m in moves):
        text += (": " + ("both" if len(moves) == 2 else "it is") + " higher, consistent with the usual SE, which "
                 f"contains {label}, pulling the intercept down")
    elif moves:
        text += ": " + ", ".join(f"{u} {m}" for u, m in zip(("PET", "PEESE"), moves))
    text += "." + _without_words(suite, by, label)
    if threshold is not None:
        shown = " and ".join(f"{by.loc[m, 'estimate']:.2f}" for m in SAMPLE_SIZE_ROWS)
        text += " " + _swapped_words(suite_summary(suite, null, threshold), suite_summary(swapped_in(suite), null,
                                                                                           threshold), label, threshold,
                                     shown)
    return text


def _without_words(suite, by, label: str) -> str:
    """How the usual-versus-sample-size differences change without the implausible comparisons."""
    without = suite.attrs.get("without_implausible")
    if not without:
        return ""
    changes = []
    for modified, usual in zip(("PET, sample-size SE", "PEESE, sample-size SE"), ("PET", "PEESE")):
        old, new = without[usual]
        # differences of the figures as printed, so that a reader's subtraction gives the same
        before = round(by.loc[modified, "estimate"], 2) - round(by.loc[usual, "estimate"], 2)
        after = round(new, 2) - round(old, 2)
        if not (after == after and before == before):
            continue
        trend = ("shrinks" if abs(after) < abs(before) - 1e-9 else "grows" if abs(after) > abs(before) + 1e-9
                 else "stays the same")
        changes.append(f"{usual} gives {label} = {old:.2f} on the usual SE and {new:.2f} on the sample-size SE, so "
                       f"the difference {trend} from {before:.2f} to {after:.2f}")
    if not changes:
        return ""
    return (f" Without the {counted(without['dropped'], 'implausible comparison')} (a rule added after the first "
            f"results), " + "; ".join(changes) + ".")


def _swapped_words(summary: dict, swapped: dict, label: str, threshold: float, shown: str) -> str:
    """What the range's median and its count below ``threshold`` would be with the sample-size rows."""
    same = round(summary["median"], 2) == round(swapped["median"], 2)
    median = (f"leave the median of the bias-corrected estimates at {label} = {summary['median']:.2f}" if same else
              f"move the median of the bias-corrected estimates from {label} = {summary['median']:.2f} to "
              f"{swapped['median']:.2f}")
    below = count_of(swapped["below"], swapped["n"], "methods counted", ("would fall", "would fall"))
    return (f"PET and PEESE on the sample-size SE ({label} = {shown}), counted in place of PET and PEESE on the "
            f"usual SE, would {median}, and {below} below "
            f"{label} = {threshold:.2f}" + ("" if swapped["below"] == summary["below"] else
                                           f" (against {summary['below']:,} as counted)") + ".")
