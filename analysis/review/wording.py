"""The wording of data-dependent phrases: each word is a tested function of the numbers."""

from __future__ import annotations

import math

from analysis.review.scales import instrument_name


def format_p(p: float) -> str:
    """A p-value with its relation, to follow a "p" ("p {format_p(x)}"): "= 0.042" or "< 0.001".

    The relation is part of the value so that no text writes "p = < 0.001"; a chapter writes
    "p {glue:text}`..._p`", never "p = ".
    """
    if not 0 <= p <= 1:
        raise ValueError(f"a p-value lies in [0, 1], got {p}")
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def format_cell(x: float, spec: str) -> str:
    """A number for a table cell, or "—" where there is none (NaN or infinite), never "nan"."""
    return format(x, spec) if math.isfinite(x) else "—"


def format_df(df: float) -> str:
    """Degrees of freedom for a table: a whole number as an integer ("268"), a Satterthwaite
    (fractional) one with one decimal ("51.6")."""
    return "—" if not math.isfinite(df) else (f"{df:.0f}" if float(df).is_integer() else f"{df:.1f}")


def describe_i2(i2: float) -> str:
    """I² in words, by the overlapping bands of the Cochrane Handbook (section 10.10.2)."""
    if i2 < 30:
        return "might not be important"
    if i2 < 50:
        return "may be moderate"
    if i2 < 75:
        return "may be substantial"
    return "considerable"


def describe_test(p: float, alpha: float = 0.05) -> str:
    """'finds' or 'does not find', for a test at level ``alpha``."""
    return "finds" if p < alpha else "does not find"


def significance(ci_low: float, ci_high: float, null: float = 0.0) -> str:
    """'significant' when the confidence interval excludes the null value, else 'not significant'."""
    return "significant" if ci_low > null or ci_high < null else "not significant"


def direction(estimate: float, null: float = 0.0) -> str:
    """Which arm the point estimate favours (higher = better outcome, e.g. response or g)."""
    return "favours the intervention" if estimate > null else "favours the control" if estimate < null else "no difference"


def describe_prediction(pi_low: float, pi_high: float, null: float = 0.0) -> str:
    """What a prediction interval says about the effect in a new study, in words."""
    if pi_low > null:
        return "a new trial would be expected to show benefit"
    if pi_high < null:
        return "a new trial would be expected to show harm"
    return "the effect in a new trial could lie anywhere from harm to benefit"


def acronym(name: str) -> str:
    """A short one-word label in capitals (``cbt`` -> ``CBT``, ``ssri`` -> ``SSRI``); longer
    names and phrases as they are (``placebo``, ``other psy``)."""
    return name.upper() if name.isalpha() and len(name) <= 4 else name


def comparison_label(key: str) -> str:
    """``ssri_placebo`` -> ``SSRI vs placebo``."""
    return " vs ".join(acronym(part) for part in key.split("_"))


def estimate_with_ci(estimate: float, low: float, high: float, digits: int = 2) -> str:
    """``0.41 (0.37 to 0.45)``, or ``not fitted`` where the estimate is missing."""
    if estimate != estimate:  # NaN
        return "not fitted"
    return f"{estimate:.{digits}f} ({low:.{digits}f} to {high:.{digits}f})"


def more_or_fewer(difference: int, noun: str = "") -> str:
    """A signed count in words: ``44 more``, ``7 fewer``, ``no more and no fewer``."""
    tail = f" {noun}" if noun else ""
    if difference > 0:
        return f"{difference:,} more{tail}"
    if difference < 0:
        return f"{-difference:,} fewer{tail}"
    return f"no more and no fewer{tail}"


# Counted nouns, outcome selection and search flow (issue 13).

_PLURALS = {"study": "studies", "comparison": "comparisons", "record": "records", "report": "reports",
            "file": "files", "trial": "trials"}


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: ``counted(1, "study")`` -> ``1 study``,
    ``counted(1234, "comparison")`` -> ``1,234 comparisons``."""
    n = int(n)
    word = noun if n == 1 else (plural or _PLURALS.get(noun, noun + "s"))
    return f"{n:,} {word}"


def listing(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [str(i) for i in items]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def describe_priority_entry(entry: str) -> str:
    """One entry of an instrument priority list in words: ``rating=clinician`` -> ``any other
    clinician-rated instrument``; ``hdrs|hdrs-17`` -> ``hdrs or hdrs-17``."""
    entry = str(entry).strip()
    if entry.lower().startswith("rating="):
        rating = entry.partition("=")[2].strip()
        return f"any other {'clinician-rated' if rating.lower() == 'clinician' else rating} instrument"
    return " or ".join(code.strip() for code in entry.split("|"))


def describe_outcome_selection(info: dict) -> str:
    """How one outcome per comparison was chosen, in a sentence (from
    :func:`analysis.review.importers.metapsy.select_outcomes`)."""
    if info.get("rule") == "primary":
        return ("One outcome per comparison was taken by the release's own primary-outcome flag "
                "(its hierarchy of instruments).")
    if info.get("rule") == "priority":
        order = "; ".join(describe_priority_entry(e) for e in info.get("priority", []))
        text = f"One outcome per comparison was taken by the instrument priority rule, highest first: {order}."
        if info.get("unmatched"):
            text += (f" {counted(info['unmatched'], 'comparison')} with none of these instruments "
                     f"{'was' if info['unmatched'] == 1 else 'were'} left out.")
        return text
    return "Every outcome of each comparison was kept."


def describe_instruments(counts: dict) -> str:
    """The comparisons each instrument gave, by the instruments' names
    (:func:`analysis.review.scales.instrument_name`): ``HAM-D of unstated version (72 comparisons),
    BDI-I (59) and CES-D (1)``."""
    items = [(instrument_name(k), v) for k, v in counts.items()]
    if not items:
        return "no instrument"
    first, *rest = items
    return listing([f"{first[0]} ({counted(first[1], 'comparison')})"] + [f"{k} ({v:,})" for k, v in rest])


def describe_release(version: str, last_search: str | None = None) -> str:
    """``release 22.0.2`` / ``release 23.0.0 (last search 2023-01-01)`` / ``a release of unstated version``."""
    text = f"release {version}" if version else "a release of unstated version"
    return text + (f" (last search {last_search})" if last_search else "")


def describe_search(counts: dict | None) -> str:
    """The search counts of a PRISMA flow (:func:`analysis.review.prisma.prisma_counts`) in a
    sentence, every box of identification included: records from databases and from other sources,
    the duplicates removed, the records screened, the full texts assessed, the studies included; or
    that the release has no search flow."""
    if counts is None:
        return ("This release was published without a search-flow file, so the numbers of records "
                "identified, screened and assessed are not known here.")
    return (f"The database comes from a systematic search: {counted(counts['databases'], 'record')} from "
            f"bibliographic databases and {counts['other']:,} from other sources, {counts['screened']:,} "
            f"screened after {counted(counts['duplicates'], 'duplicate')} were removed, "
            f"{counted(counts['assessed'], 'full text', 'full texts')} assessed and "
            f"{counted(counts['included'], 'study')} included.")


def describe_flow_mismatch(mismatch: dict | None) -> str:
    """The sentence under a PRISMA diagram whose full-text exclusions do not add up ('' if they do)."""
    if not mismatch:
        return ""
    diff = mismatch["expected"] - mismatch["reasons"]
    more_fewer = "fewer" if diff > 0 else "more"
    return (f" The published search flow does not add up: its reasons for excluding full texts sum to "
            f"{mismatch['reasons']:,}, but {counted(mismatch['assessed'], 'report')} assessed minus "
            f"{mismatch['included']:,} included is {mismatch['expected']:,} ({abs(diff):,} {more_fewer}); "
            f"the diagram shows the numbers as published.")


def describe_prisma_caption(counts: dict | None) -> str:
    """The caption of the PRISMA figure: where its counts come from, and whether they add up."""
    if counts is None:
        return ("The release was published without a search flow, so in place of the PRISMA 2020 diagram "
                "only this review's selection from the released data is shown.")
    return ("PRISMA 2020 flow diagram: the Metapsy search and this review's selection from the released data "
            "(counts from the release's search-flow file)." + describe_flow_mismatch(counts.get("mismatch")))


def describe_multiarm(k: int, trials: int) -> str:
    """``12 comparisons from 5 multi-arm trials`` / ``no comparison from a multi-arm trial``."""
    if not k:
        return "no comparison from a multi-arm trial"
    return f"{counted(k, 'comparison')} from {counted(trials, 'multi-arm trial')}"


def trimfill_sentence(k0: int, side: str, before: float, after: float, unit: str = "comparison",
                      symbol: str = "g") -> str:
    """What trim-and-fill did, in words that cannot contradict its numbers."""
    if k0 == 0:
        return f"trim-and-fill imputes no {unit} on either side, so the estimate is unchanged ({symbol} = {after:.2f})"
    change = "lowers" if after < before else "raises" if after > before else "leaves"
    return (f"trim-and-fill imputes {counted(k0, unit)} on the {side} and {change} the estimate from "
            f"{symbol} = {before:.2f} to {after:.2f}")


def robust_subgroup_sentence(test, by: str, alpha: float = 0.05) -> str:
    """Whether the effect differs by a subgroup variable, by the CR2 Wald test with the HTZ
    correction (a :class:`analysis.meta.wald.WaldResult`): F on its two df and p."""
    verb = "differs significantly" if test.p < alpha else "does not differ significantly"
    return (f"the effect {verb} by {by} (cluster-robust Wald test, F = {test.F:.2f} on {test.df_num} and "
            f"{test.df_denom:.1f} df, p {format_p(test.p)})")


def contrast_test_words(contrast: dict, symbol: str = "g") -> str:
    """A contrast of two subgroup means with its CR2 t-test (:meth:`MultilevelSubgroups.contrast`):
    ``difference in g 0.36, 95% CI 0.14 to 0.58; CR2 t-test on 34.9 df, p = 0.002``."""
    return (f"difference in {symbol} {contrast['difference']:.2f}, 95% CI {contrast['ci_low']:.2f} to "
            f"{contrast['ci_high']:.2f}; CR2 t-test on {contrast['df']:.1f} df, p {format_p(contrast['p'])}")


def verdict_dependence(with_rule: str, without_rule: str, rule: str) -> str:
    """Whether a verdict survives a choice: the same word either way, or both words and the choice."""
    if with_rule == without_rule:
        return f"the verdict, {with_rule}, holds with or without {rule}"
    return f"the verdict depends on {rule}: {with_rule} with it, {without_rule} without it"


def named_effects(names, effects, limit: int = 20, symbol: str = "g") -> str:
    """``A (g = 3.10); B (g = -3.40)``: each study with its effect, the ``limit`` farthest from zero
    first when there are more, then how many more (a release may hold thousands); ``none`` when empty."""
    pairs = sorted(zip(map(str, names), map(float, effects)), key=lambda p: -abs(p[1]))
    if not pairs:
        return "none"
    shown = pairs if len(pairs) <= limit else pairs[:limit]
    text = "; ".join(f"{n} ({symbol} = {e:.2f})" for n, e in shown)
    return text if len(pairs) <= limit else f"{text}; and {len(pairs) - limit:,} more"


def count_of(n: int, total: int, noun: str, verbs: tuple[str, str]) -> str:
    """``none of the 8 fitted methods falls``, ``1 of the 8 ... falls``, ``3 of the 8 ... fall``:
    ``verbs`` is the (singular, plural) form of the verb that follows."""
    n, total = int(n), int(total)
    head = "none" if n == 0 else f"{n:,}"
    return f"{head} of the {total:,} {noun} {verbs[0] if n <= 1 else verbs[1]}"


def describe_agreement(result: dict, log: bool = False) -> str:
    """The difference of :func:`analysis.review.verdicts.agreement` and where its interval lies against
    the margin, in words: on the log scale (``log``) as the ratio claimed / re-derived."""
    if log:
        shown = [math.exp(result[k]) for k in ("difference", "ci_low", "ci_high")]
        what = f"the ratio claimed / re-derived is {shown[0]:.2f}, 95% CI {shown[1]:.2f} to {shown[2]:.2f}"
        band = f"{math.exp(-result['margin']):.2f} to {math.exp(result['margin']):.2f}"
    else:
        shown = [result[k] for k in ("difference", "ci_low", "ci_high")]
        what = f"the difference claimed minus re-derived is {shown[0]:.2f}, 95% CI {shown[1]:.2f} to {shown[2]:.2f}"
        band = f"-{result['margin']:.2f} to {result['margin']:.2f}"
    where = {"reproduced": f"within the equivalence margin ({band})",
             "overstated": f"wholly above the equivalence margin ({band})",
             "understated": f"wholly below the equivalence margin ({band})",
             "inconclusive": f"reaching beyond the equivalence margin ({band}) without lying wholly outside it"}
    return f"{what}, {where[result['verdict']]}"


def describe_amendment(rule: dict | None, results: dict | None) -> str:
    """When a rule was added, against when the first results it answers were committed (both from
    :func:`analysis.review.amendments.first_change`)."""
    if rule is None:
        return "The date of this amendment cannot be read in this copy (it has no version history)."
    text = f"Added on {rule['date']} (commit {rule['commit']})"
    if results is None:
        return text + "."
    when = "after" if results["date"] < rule["date"] else ("on the same day as" if results["date"] == rule["date"] else "before")
    return text + f", {when} the CBT chapter's first results ({results['date']}, commit {results['commit']})."


def fixed(x: float, digits: int = 1) -> str:
    """``x`` to ``digits`` decimals with an ASCII minus, as the rest of the book prints numbers; a
    value that rounds to zero is printed without a minus ("0.0", never "-0.0")."""
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def fixed_with_ci(estimate: float, low: float, high: float, digits: int = 1) -> str:
    """``-1.4 (-2.3 to 0.0)``: an estimate and its interval by :func:`fixed`, or ``not fitted``
    where the estimate is missing."""
    if estimate != estimate:  # NaN
        return "not fitted"
    return f"{fixed(estimate, digits)} ({fixed(low, digits)} to {fixed(high, digits)})"

