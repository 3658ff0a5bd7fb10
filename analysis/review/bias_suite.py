"""Every publication-bias method of the engine on one model, as one table.

Methods: trim-and-fill (L0 and R0; Duval & Tweedie, 2000), PET, PEESE and conditional
PET-PEESE (Stanley & Doucouliagos, 2014), the three- and four-parameter selection models
(Vevea & Hedges, 1995; metafor's ``selmodel``), and WAAP-WLS (Stanley, Doucouliagos & Ioannidis,
2017). A method that cannot be fitted (as metafor stops: an empty p-value interval, no
convergence) gets a row with its reason and no estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.meta import pet, pet_peese, peese, selmodel, trimfill, waap_wls

METHODS = ("trim-and-fill L0", "trim-and-fill R0", "PET", "PEESE", "PET-PEESE", "3PSM", "4PSM", "WAAP-WLS")
#: Methods whose estimate is another row's: conditional PET-PEESE reports PET or PEESE, whichever its
#: test picks, so a summary of the methods counts that estimate once.
REPEATS = ("PET-PEESE",)
#: PET and PEESE on the sample-size based SE of g (:func:`with_sample_size_rows`), a sensitivity
#: analysis: shown, never in the range or median.
SAMPLE_SIZE_ROWS = ("PET, sample-size SE", "PEESE, sample-size SE")
#: A step-function selection model estimates the selection weight of each p-value interval from
#: the studies in it; with fewer than this many in its sparsest interval its estimate, though
#: fitted, is set aside as unreliable (kept in the table, left out of the range, median and counts,
#: the median with it said beside). A rule of this
#: review, by analogy with the ten studies the Cochrane Handbook asks of a funnel-plot test
#: (Page, Higgins & Sterne 2023, section 13.3.5.4); step models with sparse intervals are unstable
#: (Vevea & Woods 2005).
MIN_PER_INTERVAL = 10


def _row(method: str, compute) -> dict:
    try:
        d = compute()
    except (ValueError, RuntimeError, np.linalg.LinAlgError) as err:
        return {"method": method, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "note": str(err),
                "fewest": np.nan}
    fewest = min(d["k_per_interval"]) if "k_per_interval" in d else np.nan
    return {"method": method, "estimate": d["estimate"], "ci_low": d["ci_low"], "ci_high": d["ci_high"],
            "note": d.get("note", ""), "fewest": fewest}


def bias_suite(model) -> pd.DataFrame:
    """Bias-corrected estimates on the model's scale (log ratio or g), one row per method, with
    ``fewest``: for a selection model, the fewest studies in any of its p-value intervals (NaN else).

    Parameters
    ----------
    model : MetaResult
        An intercept-only model; trim-and-fill refits with its method.
    """
    y, v = model.yi, model.vi

    def tf(estimator):
        out = trimfill(model, estimator=estimator)
        return {**out, "note": f"{out['k0']} filled on the {out['side']}"}

    def choice():
        out = pet_peese(y, v).to_dict()
        return {**out, "note": f"{out['chosen']} chosen"}

    def waap():
        out = waap_wls(y, v).to_dict()
        return {**out, "note": f"{out['k_adequate']} adequately powered; {out['method']}"}

    def psm(steps):
        out = selmodel(y, v, steps=steps).to_dict()
        bounds = (0.0, *out["steps"])
        counts = ", ".join(f"{n:,} with p {lo:g} to {hi:g}" for lo, hi, n in zip(bounds, bounds[1:], out["k_per_interval"]))
        sparse = "" if min(out["k_per_interval"]) >= MIN_PER_INTERVAL else (
            f"; unreliable: fewer than {MIN_PER_INTERVAL} in an interval")
        return {**out, "note": f"{counts} (one-sided){sparse}"}

    rows = [_row("trim-and-fill L0", lambda: tf("L0")), _row("trim-and-fill R0", lambda: tf("R0")),
            _row("PET", lambda: pet(y, v).to_dict()), _row("PEESE", lambda: peese(y, v).to_dict()),
            _row("PET-PEESE", choice),
            _row("3PSM", lambda: psm((0.025,))), _row("4PSM", lambda: psm((0.025, 0.5))), _row("WAAP-WLS", waap)]
    return pd.DataFrame(rows)


def unreliable(suite: pd.DataFrame) -> pd.DataFrame:
    """The fitted selection models of a :func:`bias_suite` whose sparsest p-value interval holds
    fewer than :data:`MIN_PER_INTERVAL` studies (none in a table without the ``fewest`` column)."""
    fewest = suite["fewest"] if "fewest" in suite else pd.Series(np.nan, index=suite.index)
    return suite[suite["estimate"].notna() & (fewest < MIN_PER_INTERVAL)]


def distinct_fitted(suite: pd.DataFrame, reliable_only: bool = True) -> pd.DataFrame:
    """The fitted rows of a :func:`bias_suite` that a summary counts: each estimate once (without
    the :data:`REPEATS` and the :data:`SAMPLE_SIZE_ROWS` sensitivity analysis) and, with ``reliable_only``, none that is :func:`unreliable` (the range and
    median the chapters and GRADE read; scoring the methods against a known truth keeps them all)."""
    keep = suite["estimate"].notna() & ~suite["method"].isin(REPEATS + SAMPLE_SIZE_ROWS)
    return suite[keep & ~suite.index.isin(unreliable(suite).index)] if reliable_only else suite[keep]


def suite_summary(suite: pd.DataFrame, null: float = 0.0, threshold: float | None = None, back=None) -> dict:
    """What the bias-corrected estimates say together, for the text.

    Parameters
    ----------
    suite : DataFrame
        From :func:`bias_suite` (model scale).
    null : float
        No effect on the model scale (0 for log ratios and g).
    threshold : float, optional
        A value on the model scale (e.g. the minimal important difference): how many estimates lie below it.
    back : callable, optional
        From the model scale to the scale shown (``np.exp`` for ratios).

    Returns
    -------
    dict
        Over the distinct fitted methods (:func:`distinct_fitted`): ``n`` (how many), ``min``, ``max``,
        ``median`` (shown scale), ``min_method``, ``min_fewest`` (for a selection model at the minimum, the
        fewest studies in one of its p-value intervals; None for other methods), ``excludes_null``
        (fitted methods whose CI lies above ``null``), ``below`` (estimates below ``threshold``;
        None without one), ``not_fitted`` (the methods that could not be fitted, joined, or "none"),
        ``unreliable`` (method, studies in its sparsest interval, estimate on the shown scale, for
        each method :func:`unreliable` sets aside) and ``median_with_unreliable`` (the median had
        they been counted).
    """
    back = back or (lambda x: x)
    fitted = distinct_fitted(suite)
    if fitted.empty:
        raise ValueError("no publication-bias method could be fitted")
    lowest = fitted.loc[fitted["estimate"].idxmin()]
    return {
        "n": int(len(fitted)),
        "min": float(back(fitted["estimate"].min())),
        "max": float(back(fitted["estimate"].max())),
        "min_method": str(lowest["method"]),
        "min_fewest": None if pd.isna(lowest["fewest"]) else int(lowest["fewest"]),
        "median": float(back(fitted["estimate"].median())),
        "excludes_null": int((fitted["ci_low"] > null).sum()),
        "below": None if threshold is None else int((fitted["estimate"] < threshold).sum()),
        "not_fitted": ", ".join(suite.loc[suite["estimate"].isna(), "method"]) or "none",
        "unreliable": [(r.method, int(r.fewest), float(back(r.estimate))) for r in unreliable(suite).itertuples()],
        "median_with_unreliable": float(back(distinct_fitted(suite, reliable_only=False)["estimate"].median())),
    }


def small_study_tests(yi, vi, cluster=None, sample_se=None, rho: float = 0.5, sample_se_note: str = "") -> pd.DataFrame:
    """Egger's test as the data allow, one row per variant: with the usual SE, with the
    sample-size based SE of a standardised mean difference (Pustejovsky & Rodgers, 2019; given as
    ``sample_se``), and, where a study gives more than one effect (``cluster``), the multilevel
    test (CHE working model with the precision as moderator, CR2 inference; Rodgers &
    Pustejovsky, 2021) with each precision.

    Returns
    -------
    DataFrame
        ``test``, ``precision`` ("usual SE" or "sample-size SE" + ``sample_se_note``), ``bias``,
        ``se``, ``df``, ``p``; the reported test is the last row (the most appropriate the data allow).
    """
    from analysis.meta.regtest import egger, egger_multilevel

    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    precisions = [("usual SE", np.sqrt(v))]
    if sample_se is not None:
        precisions.append(("sample-size SE" + sample_se_note, np.asarray(sample_se, dtype=float)))
    rows = [{"test": "Egger (independent effects)", "precision": name, **egger(y, x ** 2 if name != "usual SE" else v)}
            for name, x in precisions]
    dependent = cluster is not None and len(set(cluster)) < len(y)
    if dependent:
        rows += [{"test": "multilevel Egger (CHE, CR2)", "precision": name, **egger_multilevel(y, v, cluster, x, rho=rho)}
                 for name, x in precisions]
    keys = ["test", "precision", "bias", "se", "df", "p"]
    return pd.DataFrame([{k: r[k] for k in keys} for r in rows])


def metapsy_group_sizes(rows: pd.DataFrame, trials: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The randomised group sizes (``n_arm1``, ``n_arm2``) of each comparison of a Metapsy trial
    table, from the rows of its file (matched by line); NaN where the file leaves a size empty.

    Raises
    ------
    DataError
        A size that is given but is not a number above 0, naming the file, line and column.
    """
    from analysis.review.errors import DataError, Problem
    from analysis.review.trials import LINE

    by_line = rows.set_index(LINE)
    sizes, problems = [], []
    for column in ("n_arm1", "n_arm2"):
        if column not in by_line.columns:
            sizes.append(np.full(len(trials), np.nan))
            continue
        raw = by_line.loc[trials[LINE].to_numpy(), column]
        empty = (raw.isna() | raw.astype(str).str.strip().isin(["", "NA", "nan"])).to_numpy()
        values = pd.to_numeric(raw, errors="coerce").to_numpy(float)
        for line, value, blank in zip(trials[LINE], values, empty):
            if not blank and not (np.isfinite(value) and value > 0):
                problems.append(Problem(name, int(line), column, "a group size must be a number above 0"))
        sizes.append(np.where(empty, np.nan, values))
    if problems:
        raise DataError(problems)
    return sizes[0], sizes[1]


def sample_size_se_where_known(yi, vi, n1, n2) -> tuple[np.ndarray, int]:
    """The sample-size based SE of each standardised mean difference
    (:func:`analysis.meta.regtest.sample_size_se`, Pustejovsky & Rodgers, 2019) from its group
    sizes where both are known, else recovered from the effect and its variance under equal arms
    (:func:`analysis.meta.regtest.equal_arms_se`).

    Returns
    -------
    (ndarray, int)
        W for each effect, and how many of them assumed equal arms.
    """
    from analysis.meta.regtest import equal_arms_se, sample_size_se

    n1, n2 = np.asarray(n1, dtype=float), np.asarray(n2, dtype=float)
    known = np.isfinite(n1) & np.isfinite(n2)
    w = equal_arms_se(yi, vi)
    if known.any():
        w[known] = sample_size_se(n1[known], n2[known])
    return w, int((~known).sum())


def metapsy_sample_size_se(rows: pd.DataFrame, trials: pd.DataFrame, name: str) -> tuple[np.ndarray, int]:
    """:func:`sample_size_se_where_known` of each comparison of a Metapsy trial table, from the group
    sizes of its file (:func:`metapsy_group_sizes`), and how many assumed equal arms."""
    yi, vi = trials["effect"].to_numpy(float), trials["se"].to_numpy(float) ** 2
    return sample_size_se_where_known(yi, vi, *metapsy_group_sizes(rows, trials, name))


def with_sample_size_rows(suite: pd.DataFrame, yi, sample_vi) -> pd.DataFrame:
    """A :func:`bias_suite` of standardised mean differences with PET and PEESE refitted on the
    sample-size based variance ``sample_vi`` (W², as predictor and in the weights) in place of the
    usual one, which contains g itself and so pulls PET's intercept down (Pustejovsky & Rodgers,
    2019). A sensitivity analysis added after the first results: the rows (:data:`SAMPLE_SIZE_ROWS`)
    stay out of the range and median of :func:`suite_summary`."""
    y, w2 = np.asarray(yi, dtype=float), np.asarray(sample_vi, dtype=float)
    note = "sensitivity analysis added after the first results: the sample-size based SE as predictor and in the weights"
    rows = [_row(method, lambda f=f: {**f(y, w2).to_dict(), "note": note})
            for method, f in zip(SAMPLE_SIZE_ROWS, (pet, peese))]
    return pd.concat([suite, pd.DataFrame(rows)], ignore_index=True)


def usual_and_sample_size(yi, vi, sample_vi) -> dict:
    """PET's and PEESE's estimates on the usual variance ``vi`` and on the sample-size based one
    ``sample_vi``: ``{"PET": (usual, sample-size), "PEESE": (...)}`` (NaN where one cannot be fitted)."""
    def estimate(f, v):
        try:
            return float(f(yi, v).estimate)
        except (ValueError, np.linalg.LinAlgError):
            return float("nan")

    return {name: (estimate(f, vi), estimate(f, sample_vi)) for name, f in (("PET", pet), ("PEESE", peese))}


def swapped_in(suite: pd.DataFrame) -> pd.DataFrame:
    """The suite with PET and PEESE on the sample-size SE (:data:`SAMPLE_SIZE_ROWS`) in place of
    PET and PEESE on the usual SE: what :func:`suite_summary` would read had they been the methods."""
    by = suite.set_index("method")
    out = suite[~suite["method"].isin(SAMPLE_SIZE_ROWS)].copy()
    for modified, usual in zip(SAMPLE_SIZE_ROWS, ("PET", "PEESE")):
        if modified in by.index and usual in by.index:
            out.loc[out["method"] == usual, ["estimate", "ci_low", "ci_high"]] = \
                by.loc[modified, ["estimate", "ci_low", "ci_high"]].to_numpy(float)
    return out


def metapsy_small_study(rows: pd.DataFrame, trials: pd.DataFrame, name: str, rho: float = 0.5) -> pd.DataFrame:
    """:func:`small_study_tests` on a Metapsy comparison table (g and its SE): with the usual and
    the sample-size based SE, and the multilevel test with comparisons clustered in trials."""
    yi, vi = trials["effect"].to_numpy(float), trials["se"].to_numpy(float) ** 2
    w, assumed = metapsy_sample_size_se(rows, trials, name)
    note = f" (equal arms for {assumed})" if assumed else ""
    return small_study_tests(yi, vi, cluster=trials["trial"].to_numpy(), sample_se=w, rho=rho, sample_se_note=note)
