"""The dose-response analysis of the review: which SSRIs are analysed, the fit of each, the
curve over the doses studied and its peak, as the chapter "How much SSRI?" shows them.

The primary analysis is agent-specific (doses in each drug's own milligrams): the review has
no verifiable copy of the fluoxetine-equivalent table (Hayasaka et al., 2015) that Furukawa et
al. (2019) used, so it does not pool the drugs on a common dose scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.meta.dose_contrasts import dose_contrasts
from analysis.meta.dose_response import DoseCurve, DoseResponseResult, dose_response
from analysis.review.errors import DataError, Problem
from analysis.review.importers.furukawa import PLACEBO, dose_arms


@dataclass(frozen=True)
class AgentDose:
    """One SSRI's dose-response fit (odds ratio of response against placebo) and its curve."""

    agent: str
    fit: DoseResponseResult
    curve: DoseCurve
    observed: pd.DataFrame  # each arm's dose, log OR and its variance against its trial's placebo
    k_trials: int
    k_arms: int

    @property
    def peak_dose(self) -> float:
        return float(self.curve.dose[self.curve.peak])

    def at(self, index: int) -> dict:
        """Odds ratio and 95% CI at grid point ``index``."""
        c = self.curve
        return {"dose": float(c.dose[index]), "or": float(np.exp(c.estimate[index])),
                "ci_low": float(np.exp(c.ci_low[index])), "ci_high": float(np.exp(c.ci_high[index]))}


def trials_per_agent(arms: pd.DataFrame) -> dict:
    """Placebo-controlled trials of each agent (validated arms from ``read_furukawa_arms``)."""
    usable = dose_arms(arms)
    active = usable[usable["agent"] != PLACEBO]
    return {agent: int(n) for agent, n in active.groupby("agent")["study"].nunique().items()}


def agent_dose_response(arms: pd.DataFrame, agent: str, percentiles=(10, 50, 90), knots_of: str = "distinct",
                        grid_points: int = 101, name: str = "furukawa") -> AgentDose:
    """The one-stage restricted cubic spline model of one agent's response odds ratio against
    placebo (:func:`analysis.meta.dose_response`), with its curve over ``grid_points`` doses from
    0 to the highest dose studied."""
    sel = dose_arms(arms, [agent], name=name)
    try:
        fit = dose_response(sel["study"].to_numpy(), sel["dose"].to_numpy(), sel["responders"].to_numpy(),
                            sel["n"].to_numpy(), percentiles=percentiles, knots_of=knots_of, measure="OR")
    except ValueError as err:  # tied knots, too few distinct doses: a problem of the data and parameters
        raise DataError([Problem(name, None, "dose", f"{agent}: {err}")]) from None
    data = dose_contrasts(sel["study"].to_numpy(), sel["dose"].to_numpy(), sel["responders"].to_numpy(),
                          sel["n"].to_numpy(), measure="OR")
    observed = pd.DataFrame({"study": data.study, "dose": data.dose, "log_or": data.y, "var": np.diag(data.V)})
    grid = np.linspace(0.0, float(sel["dose"].max()), grid_points)
    return AgentDose(agent, fit, fit.curve(grid), observed, fit.k_studies, int((sel["agent"] != PLACEBO).sum()))


def dose_analysis(arms: pd.DataFrame, agents, min_studies: int = 5, percentiles=(10, 50, 90),
                  knots_of: str = "distinct", grid_points: int = 101, name: str = "furukawa") -> dict:
    """Every agent of ``agents`` with at least ``min_studies`` placebo-controlled trials, fitted;
    the others listed with their number of trials.

    Returns
    -------
    dict
        ``fits`` (agent -> :class:`AgentDose`, in the order of ``agents``) and ``left_out``
        (agent -> trials).
    """
    counts = trials_per_agent(arms)
    fits, left_out = {}, {}
    for agent in agents:
        if counts.get(agent, 0) < min_studies:
            left_out[agent] = counts.get(agent, 0)
        else:
            fits[agent] = agent_dose_response(arms, agent, percentiles, knots_of, grid_points, name)
    return {"fits": fits, "left_out": left_out}


def dose_table(fits: dict) -> pd.DataFrame:
    """One row per agent: trials, arms, knots, peak dose and the odds ratio there, and the odds
    ratio at the highest dose studied, for the chapter's table."""
    rows = []
    for agent, res in fits.items():
        peak, top = res.at(res.curve.peak), res.at(len(res.curve.dose) - 1)
        rows.append({
            "agent": agent, "trials": res.k_trials, "active arms": res.k_arms,
            "knots (mg)": ", ".join(f"{k:g}" for k in res.fit.knots),
            "peak dose (mg)": f"{peak['dose']:.3g}",
            "OR at peak (95% CI)": f"{peak['or']:.2f} ({peak['ci_low']:.2f} to {peak['ci_high']:.2f})",
            "highest dose (mg)": f"{top['dose']:g}",
            "OR at highest dose (95% CI)": f"{top['or']:.2f} ({top['ci_low']:.2f} to {top['ci_high']:.2f})",
        })
    return pd.DataFrame(rows)


def agent_sentences(fits: dict) -> list[str]:
    """Each agent's curve in one sentence, words from :mod:`analysis.review.dose_wording`."""
    from analysis.review.dose_wording import against_placebo, curve_shape, describe_agent

    out = []
    for agent, res in fits.items():
        c, peak = res.curve, res.at(res.curve.peak)
        out.append(describe_agent(agent, curve_shape(c.estimate, c.ci_low, c.ci_high), peak,
                                  against_placebo(peak["ci_low"], peak["ci_high"])))
    return out


def knot_percentiles(low: int, middle: int, high: int, chapter: str = "dose-response") -> tuple:
    """The three knots' percentiles, refused unless increasing (naming the parameter)."""
    if not low < middle < high:
        raise DataError([Problem("params", None, f"{chapter}.knot_middle",
                                 f"knot percentiles {low}, {middle}, {high} must increase")])
    return (low, middle, high)


def single_dose_trials(arms: pd.DataFrame) -> int:
    """Trials (arms from :func:`dose_arms`) with a single active dose against placebo."""
    active = arms[arms["agent"] != PLACEBO]
    return int((active.groupby("study")["dose"].nunique() == 1).sum())


def rank_one(psi, tol: float = 1e-8) -> bool:
    """Whether a between-trial covariance is of rank one or less: its second largest eigenvalue
    below ``tol`` times its largest (a correlation of +-1, or no heterogeneity at all)."""
    values = np.sort(np.linalg.eigvalsh(np.asarray(psi, float)))[::-1]
    return bool(values[0] <= 0 or values[1] <= tol * values[0])


def dose_flow(arms: pd.DataFrame, result: dict, min_studies: int) -> tuple[int, dict, int]:
    """The trials of the dose file from the file to the analysis (for its flow diagram): trials in
    the file, those left out with the first reason that applies (no placebo arm; an agent with
    fewer than ``min_studies`` placebo-controlled trials; an agent not among those analysed), and
    the trials of the fitted agents."""
    usable = dose_arms(arms)
    active = usable[usable["agent"] != PLACEBO]
    agents = active.groupby("study")["agent"].agg(set)
    fitted = agents.map(lambda a: bool(a & set(result["fits"])))
    few = agents.map(lambda a: bool(a & set(result["left_out"]))) & ~fitted
    in_file = int(arms["study"].nunique())
    reasons = {"no placebo arm": in_file - int(usable["study"].nunique()),
               f"agent with fewer than {min_studies} trials": int(few.sum()),
               "agent not among those analysed": int((~fitted & ~few).sum())}
    return in_file, {r: n for r, n in reasons.items() if n}, int(fitted.sum())
