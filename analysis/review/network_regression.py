"""Effect modifiers of the antidepressant network: one meta-regression per study-level covariate.

Each covariate is defined once here, from the importer's normalised columns, and the R script
``tests/reference/make_nma_regression_reference.R`` defines them the same way:

- ``year``: the year of publication (unpublished trials have none and are left out);
- ``weeks``: the mean of the arms' trial duration in weeks;
- ``baseline``: the mean of the arms' baseline means, in trials rated on a version of the HAM-D;
- ``placebo``: the placebo arms' responders per 100 randomised.

A trial with a contrast against placebo (once arms without the outcome are left out) and no
value of the covariate is left out of that regression (and counted); a trial without one needs none (see :mod:`analysis.meta.nma_regression`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.meta.nma import nma
from analysis.meta.nma_data import arm_contrasts
from analysis.meta.nma_regression import network_regression
from analysis.review.network import network_arms

# covariate -> (what it is, the unit the slope is reported per, that unit in the covariate's own
# units, and "the more" of it in words)
COVARIATES = {
    "year": ("year of publication", "10 years", 10.0, "the later the trial was published"),
    "weeks": ("trial duration", "week", 1.0, "the longer the trial"),
    "baseline": ("baseline severity (HAM-D)", "HAM-D point", 1.0, "the more severe the depression at baseline"),
    "placebo": ("response on placebo", "10 percentage points", 10.0, "the higher the response on placebo"),
}


def study_covariates(arms: pd.DataFrame, reference: str = "placebo") -> pd.DataFrame:
    """One row per trial (index: study), one column per covariate of :data:`COVARIATES`."""
    study = arms["StudyID"].str.strip()
    hamd = arms["scale"].str.startswith("HAMD")
    frame = pd.DataFrame({"study": study, "year": arms["year"], "weeks": arms["weeks"],
                          "baseline": arms["baseline_mean"].where(hamd)})
    out = frame.groupby("study", sort=False)[["year", "weeks", "baseline"]].mean()
    on_ref = arms["drug_base"] == reference
    placebo = pd.DataFrame({"study": study[on_ref], "r": arms.loc[on_ref, "responders"],
                            "n": arms.loc[on_ref, "n"]}).groupby("study")[["r", "n"]]
    complete = placebo.count().eq(placebo.size(), axis=0).all(axis=1)  # a missing count leaves no rate
    rate = 100 * placebo.sum()["r"] / placebo.sum()["n"]
    out["placebo"] = rate.where(complete).reindex(out.index)
    return out


def network_regressions(arms: pd.DataFrame, outcome: str = "response", reference: str = "placebo",
                        method: str = "REML") -> pd.DataFrame:
    """The meta-regression of the network of ``outcome`` on each covariate, one row each.

    Returns
    -------
    DataFrame
        ``covariate``, ``label``, ``per`` (the unit of ``slope``), ``more`` (words), ``studies``, ``left_out`` (trials
        with the reference and no value), ``center``, ``slope``/``ci_low``/``ci_high`` per
        ``per`` (on the log odds ratio scale), ``p``, ``tau2`` of the regression and ``tau2_base``
        of the network without a covariate fitted to the same trials.
    """
    if method not in ("REML", "ML"):
        raise ValueError("the meta-regressions are fitted by REML or ML")
    base_arms = network_arms(arms, outcome)
    covs = study_covariates(arms, reference)
    full = arm_contrasts(base_arms, "OR", reference=reference)
    with_ref = set(full.study[full.treat2 == reference])
    rows = []
    for name, (label, per, scale, more) in COVARIATES.items():
        x = covs[name]
        left_out = sorted(with_ref & set(x.index[x.isna()]))
        sub = base_arms[~base_arms["study"].isin(left_out)]
        data = arm_contrasts(sub, "OR", reference=reference)
        reg = network_regression(data, x, method=method)
        base = nma(data, method=method)
        rows.append({"covariate": name, "label": label, "per": per, "more": more, "studies": reg.studies,
                     "left_out": len(left_out), "center": reg.center, "slope": reg.slope * scale,
                     "ci_low": reg.ci_low * scale, "ci_high": reg.ci_high * scale, "p": reg.p,
                     "tau2": reg.tau2, "tau2_base": base.tau2})
    return pd.DataFrame(rows)


def regression_table(regs: pd.DataFrame) -> pd.DataFrame:
    """:func:`network_regressions` as the chapter shows it: the slope as a ratio of odds ratios."""
    from analysis.review.wording import estimate_with_ci, format_p

    return pd.DataFrame({
        "Covariate": regs["label"],
        "Per": regs["per"],
        "Trials": regs["studies"],
        "Ratio of ORs (95% CI)": [estimate_with_ci(np.exp(r.slope), np.exp(r.ci_low), np.exp(r.ci_high), 3)
                                  for r in regs.itertuples()],
        "p": ["p " + format_p(p) for p in regs["p"]],
        "tau² without / with": [f"{a:.3f} / {b:.3f}" for a, b in zip(regs["tau2_base"], regs["tau2"])]})
