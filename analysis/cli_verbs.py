"""What each command-line verb computes, as a JSON-ready dict (keys are the contract).

Imports are inside the verbs so that ``pool`` loads numpy and scipy only: no pandas, pandera,
statsmodels, matplotlib or the book.
"""

from __future__ import annotations

import numpy as np

from analysis.review.errors import DataError, Problem


def read(args, extra=(), keep_labels=True, minimum=None):
    """The table, its effect sizes and labels, from the verb's arguments; at least ``minimum``
    studies (by default 1 for a fixed-effect model, 2 for a random-effects one)."""
    from analysis.meta.effect_sizes import effect_arrays
    from analysis.review.importers.table import read_table
    from analysis.review.trial_rules import effect_problems

    table = read_table(args.file, args.measure, dict(args.map or ()), extra=extra, keep_labels=keep_labels,
                       strict=args.strict)
    if minimum is None:
        minimum = 1 if getattr(args, "method", "FE") == "FE" else 2
    if len(table.lines) < minimum:
        k = len(table.lines)
        raise DataError([Problem(args.file, None, None, f"{k} {'study' if k == 1 else 'studies'}; this analysis needs at "
                                 f"least {minimum}")])
    problems = effect_problems(table.values, table.lines, args.measure, args.file)
    if problems:
        raise DataError(problems)
    yi, vi = effect_arrays(table.values, args.measure)
    return table, yi, vi


def numeric(table, column: str, name: str) -> np.ndarray:
    """An extra column (a moderator) as floats; a cell that is not a number is a problem."""
    from analysis.review.trial_rules import parse_column

    values, problems = parse_column(list(table.extra[column]), table.lines, column, name)
    problems += [Problem(name, int(line), column, "is empty") for line in table.lines[np.isnan(values)]]
    if problems:
        raise DataError(problems)
    return values


def pool(args) -> dict:
    """The model (univariate, three-level or CHE) with its heterogeneity, subgroups, moderators, robust block."""
    extra = [c for c in (args.subgroup, args.cluster) if c] + list(args.mods or ())
    table, yi, vi = read(args, extra=extra, keep_labels=False)
    if args.model != "univariate":
        return multilevel(args, table, yi, vi)
    from analysis.meta.fit import rma

    mods = np.column_stack([numeric(table, m, args.file) for m in args.mods]) if args.mods else None
    res = rma(yi, vi, method=args.method, mods=mods, hksj=args.hksj, exact=args.exact)
    out = res.to_dict()
    out.update(tau2_ci(res))
    if args.mods:
        out.update(coefficients(res, ["intercept"] + list(args.mods)))
    if args.subgroup:
        out.update(subgroups(yi, vi, table.extra[args.subgroup], args))
    if args.cluster and args.robust:
        from analysis.meta.robust import robust

        out["robust"] = robust(res, table.extra[args.cluster]).to_dict()
    return out


def tau2_ci(res) -> dict:
    """Q-profile confidence intervals for tau² and I² (None for the fixed-effect model or k - p < 1)."""
    keys = ("tau2_ci_low", "tau2_ci_high", "i2_ci_low", "i2_ci_high")
    if res.method == "FE" or res.k - res.p < 1:
        return dict.fromkeys(keys)
    ci = res.tau2_ci()
    return dict(zip(keys, (ci["tau2_low"], ci["tau2_high"], ci["i2_low"], ci["i2_high"])))


def coefficients(res, names) -> dict:
    """A meta-regression's coefficients and the omnibus test of the moderators (QM)."""
    rows = [{"name": n, "estimate": float(b), "se": float(s), "ci_low": float(lo), "ci_high": float(hi), "p": float(p)}
            for n, b, s, lo, hi, p in zip(names, res.beta, res.se, res.ci_low, res.ci_high, res.pval)]
    test = res.moderator_test()
    return {"coefficients": rows, "qm": test["qm"], "p_qm": test["p"]}


def subgroups(yi, vi, labels, args) -> dict:
    from analysis.meta.subgroups import subgroup_analysis

    try:
        sub = subgroup_analysis(yi, vi, labels, method=args.method, hksj=args.hksj)
    except ValueError as err:
        raise DataError([Problem(args.file, None, args.subgroup, str(err))]) from None
    rows = sub.groups[["subgroup", "k", "estimate", "ci_low", "ci_high", "tau2"]].to_dict("records")
    return {"subgroups": rows, "q_between": sub.q_between, "p_between": sub.p_between}


def multilevel(args, table, yi, vi) -> dict:
    """Three-level model, or CHE (vcalc with rho) with CR2 robust inference (clubSandwich)."""
    if not args.cluster:
        raise DataError([Problem(args.file, None, None, f"--model {args.model} needs --cluster COLUMN")])
    if args.method not in ("REML", "ML"):
        raise DataError([Problem(args.file, None, None, f"--model {args.model} takes --method REML or ML")])
    from analysis.meta.multilevel import rma_mv
    from analysis.meta.robust import robust
    from analysis.meta.vcalc import vcalc

    cluster = table.extra[args.cluster]
    V = vcalc(vi, cluster, rho=args.rho) if args.model == "che" else None
    fit = rma_mv(yi, vi, cluster, V=V, method=args.method, test=args.test)
    out = fit.to_dict()
    if args.model == "che" or args.robust:
        out["robust"] = robust(fit, cluster).to_dict()
    return out


def bias(args) -> dict:
    """Every publication-bias method of the engine on one table."""
    from analysis.meta import egger, pet, pet_peese, peese, rma, selmodel, trimfill, waap_wls

    _, yi, vi = read(args, keep_labels=False)
    res = rma(yi, vi, method=args.method, exact=args.exact)
    out = {}
    for key, steps in (("selection_3psm", (0.025,)), ("selection_4psm", (0.025, 0.5))):
        out[key] = attempt(lambda: selmodel(yi, vi, steps=steps).to_dict())
    out["pet"] = pet(yi, vi).to_dict()
    out["peese"] = peese(yi, vi).to_dict()
    out["pet_peese"] = pet_peese(yi, vi).to_dict()
    out["waap_wls"] = waap_wls(yi, vi).to_dict()
    for key, estimator in (("trimfill_l0", "L0"), ("trimfill_r0", "R0")):
        out[key] = attempt(lambda: trimmed(trimfill(res, estimator=estimator)))
    out["egger"] = {k: v for k, v in egger(yi, vi).items() if k in ("bias", "se", "t", "df", "p")}
    return out


def trimmed(tf: dict) -> dict:
    return {k: tf[k] for k in ("k0", "side", "estimate", "se", "ci_low", "ci_high", "tau2")}


def attempt(compute) -> dict:
    """A method's result, or ``{"error": ...}`` where it cannot be fitted (as metafor stops)."""
    try:
        return compute()
    except (ValueError, RuntimeError, np.linalg.LinAlgError) as err:
        return {"error": str(err)}


def sensitivity(args) -> dict:
    """Leave-one-out, influence, outliers, Egger, trim-and-fill, cumulative and the checks table;
    with ``--max-refits``, the steps that refit once per study are limited (``limits`` says how)."""
    from analysis.meta import egger, outliers, rma, trimfill
    from analysis.review.limits import limited_cumulative, limited_influence, limited_leave_one_out
    from analysis.review.robustness import run_checks

    # leaving one study out needs two (metafor's leave1out and influence stop at k = 1)
    table, yi, vi = read(args, extra=[c for c in ("year",) if c in header_of(args)], minimum=2)
    res = rma(yi, vi, method=args.method, hksj=args.hksj, exact=args.exact)
    labels = table.studies
    cap = getattr(args, "max_refits", None) or max(res.k, 2)  # no cap: every study, as metafor
    loo, loo_limit = limited_leave_one_out(res, labels, cap)
    infl, infl_limit = limited_influence(res, labels, cap)
    out = {
        "leave_one_out": records(loo, ("omitted", "estimate", "ci_low", "ci_high", "tau2")),
        # a study not refitted (above --max-refits) has no influence verdict: null, not false
        "influence": records(infl.assign(influential=infl["influential"].astype(object).where(infl["refitted"], None)),
                             ("study", "rstudent", "dffits", "cook_d", "cov_r", "hat", "weight", "influential")),
        "outliers": [s for s, o in zip(labels, outliers(res)) if o],
    }
    limits = [loo_limit, infl_limit]
    if res.k >= 3:
        out["egger"] = {k: v for k, v in egger(yi, vi).items() if k in ("bias", "se", "t", "df", "p")}
        out["trimfill"] = {k: v for k, v in trimmed(trimfill(res)).items() if k != "se" and k != "tau2"}
    if "year" in table.extra:
        years = numeric(table, "year", args.file)
        cum, cum_limit = limited_cumulative(res, years, labels, cap)
        out["cumulative"] = records(cum, ("added", "k", "estimate", "ci_low", "ci_high", "tau2"))
        limits.append(cum_limit)
    out["checks"] = records(run_checks(res, which=["estimators", "hksj", "outliers"]),
                            ("analysis", "k", "estimate", "ci_low", "ci_high", "tau2", "i2", "note"))
    out["limits"] = {lim.step: {"done": lim.done, "of": lim.total, "how": lim.how} for lim in limits}
    return out


def header_of(args) -> list[str]:
    from analysis.review.csvfile import records

    return records(args.file)[0]


def records(frame, columns) -> list[dict]:
    return [dict(zip(columns, row)) for row in frame[list(columns)].itertuples(index=False)]


def network(args) -> dict:
    """Network meta-analysis of an arm-level table (:mod:`analysis.cli_network` reads and checks it).

    Returns
    -------
    dict
        ``file``, ``measure``, ``reference``, ``treatments``, ``studies``, ``arms``, ``level``, the
        fit's statistics (:meth:`~analysis.meta.nma.NetworkFit.to_dict`), ``vs_reference`` (each
        treatment against the reference), ``ranking`` (P-scores, best first), ``dropped`` and, with
        the flags, ``league``, ``node_split``, ``design_by_treatment`` and ``q_decomposition``.
    """
    from analysis import cli_network as net
    from analysis.meta import nma_coherence as coherence
    from analysis.meta.nma import nma
    from analysis.meta.nma_data import arm_contrasts

    name = str(args.file)
    if args.output == "csv" and args.league and args.nodesplit:
        raise DataError([Problem("--output csv", None, None, "prints one table: give --league or --nodesplit, not both")])
    arms, lines, names = net.read_arms(args.file, args.measure, dict(args.map or ()))
    try:
        data = arm_contrasts(arms, args.measure)
    except ValueError as err:  # e.g. no study with two complete arms
        raise DataError([net.problem(name, None, None, str(err))]) from None
    ref = net.reference(args.reference, data, arms, lines, names, name)
    data = data if ref == data.treatments[0] else arm_contrasts(arms, args.measure, reference=ref)
    dropped = net.dropped_arms(data, arms, lines, names, name, args.measure)
    net.disconnected(data, arms, lines, names, name, ref)
    if args.model == "random" and data.k < len(data.treatments):
        raise DataError([net.problem(name, None, None, f"{data.k} contrast(s) for {len(data.treatments) - 1} "
                                     "treatment effect(s): no degree of freedom is left to estimate the "
                                     "heterogeneity; use --model fixed")])
    try:
        with np.errstate(divide="ignore"):  # BIC of a saturated REML fit: log(0), reported as null
            fit = nma(data, model=args.model, method=args.method, level=args.level)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
        raise DataError([net.problem(name, None, None, f"the network cannot be fitted: {err}")]) from None
    scores = fit.pscores(larger_is_better=not args.small_is_good).sort_values(ascending=False, kind="stable")
    out = {"file": name, "measure": args.measure, "reference": ref, "treatments": list(data.treatments),
           "studies": data.n_studies, "arms": data.n_arms, "level": args.level, **fit.to_dict(),
           "vs_reference": fit.coef_frame().to_dict("records"),
           "ranking": [{"treatment": t, "pscore": float(p)} for t, p in scores.items()], "dropped": dropped}
    if args.league:
        out["league"] = fit.league().to_dict("records")
    if args.nodesplit:
        out["node_split"] = coherence.node_split(data, method=args.method, level=args.level).to_dict("records")
    if args.coherence:
        q = coherence.q_decomposition(data)
        out["design_by_treatment"] = coherence.design_by_treatment(data).to_dict()
        out["q_decomposition"] = {**{k: v for k, v in q.to_dict().items() if k != "by_design"},
                                  "by_design": q.by_design.to_dict("records")}
    return out
