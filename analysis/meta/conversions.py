"""Conversions between effect measures, each with the formula and where it comes from."""

from __future__ import annotations

import numpy as np
from scipy import stats

LOGIT_SCALE = np.sqrt(3) / np.pi  # Chinn (2000): d = ln(OR) * √3/π


def log_or_to_smd(log_or, var_log_or=None):
    """Standardised mean difference from a log odds ratio by the logit method.

    d = ln(OR) √3/π, var(d) = var(ln OR) 3/π².

    References
    ----------
    Chinn, S. (2000). A simple method for converting an odds ratio to effect size for use in
    meta-analysis. *Statistics in Medicine*, 19, 3127-3131.
    """
    d = np.asarray(log_or, dtype=float) * LOGIT_SCALE
    if var_log_or is None:
        return d
    return d, np.asarray(var_log_or, dtype=float) * LOGIT_SCALE**2


def smd_to_log_or(d, var_d=None):
    """Log odds ratio from a standardised mean difference (inverse of :func:`log_or_to_smd`)."""
    log_or = np.asarray(d, dtype=float) / LOGIT_SCALE
    if var_d is None:
        return log_or
    return log_or, np.asarray(var_d, dtype=float) / LOGIT_SCALE**2


def nnt_from_smd(g, control_event_rate):
    """Number needed to treat from an SMD at an assumed control event rate.

    NNT = 1 / (Φ(g + Φ⁻¹(CER)) - CER), with higher scores meaning better outcomes (response).

    References
    ----------
    Furukawa, T. A. (1999). From effect size into number needed to treat. *Lancet*, 353, 1680.
    Furukawa, T. A., & Leucht, S. (2011). How to obtain NNT from Cohen's d. *PLoS ONE*, 6, e19070.
    """
    cer = np.asarray(control_event_rate, dtype=float)
    eer = stats.norm.cdf(np.asarray(g, dtype=float) + stats.norm.ppf(cer))
    return 1 / (eer - cer)


def from_proportions(p_treat, p_ctrl) -> dict:
    """Every common measure from two event proportions (e.g. response 48% vs 30%).

    Returns
    -------
    dict
        ``rr``, ``log_rr``, ``or``, ``log_or``, ``rd``, ``nnt`` (1/RD), and ``smd`` by the
        logit method (Chinn, 2000).

    References
    ----------
    Deeks, J. J., Higgins, J. P. T., & Altman, D. G. (2023). *Cochrane Handbook*, chapter 6.4.1.
    Laupacis, A., Sackett, D. L., & Roberts, R. S. (1988). An assessment of clinically useful
    measures of the consequences of treatment. *NEJM*, 318, 1728-1733.
    """
    p1, p2 = float(p_treat), float(p_ctrl)
    if not (0 < p1 < 1 and 0 < p2 < 1):
        raise ValueError("proportions must lie strictly between 0 and 1")
    log_or = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
    rd = p1 - p2
    return {
        "rr": p1 / p2,
        "log_rr": float(np.log(p1 / p2)),
        "or": float(np.exp(log_or)),
        "log_or": float(log_or),
        "rd": rd,
        "nnt": float(1 / rd) if rd != 0 else float("inf"),
        "smd": float(log_or_to_smd(log_or)),
    }


def combine_groups(n, mean, sd) -> tuple[float, float, float]:
    """One group from several: total n, pooled mean and the SD of the combined group.

    The Cochrane Handbook's formula for two groups (Table 6.5.a), applied one group at a time:
    N = n1 + n2, M = (n1 m1 + n2 m2) / N and
    SD^2 = ((n1 - 1) s1^2 + (n2 - 1) s2^2 + n1 n2 (m1 - m2)^2 / N) / (N - 1).

    References
    ----------
    Higgins, J. P. T., Li, T., & Deeks, J. J. (Eds.) (2023). Chapter 6: Choosing effect measures and
    computing estimates of effect. In *Cochrane Handbook for Systematic Reviews of Interventions*
    (version 6.4), Table 6.5.a.
    """
    n, mean, sd = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (n, mean, sd))
    if not (len(n) == len(mean) == len(sd)) or len(n) == 0:
        raise ValueError("n, mean and sd must have the same, non-zero length")
    N, M, S = n[0], mean[0], sd[0]
    for n2, m2, s2 in zip(n[1:], mean[1:], sd[1:]):
        total = N + n2
        var = ((N - 1) * S ** 2 + (n2 - 1) * s2 ** 2 + N * n2 * (M - m2) ** 2 / total) / (total - 1)
        M = (N * M + n2 * m2) / total
        N, S = total, np.sqrt(var)
    return float(N), float(M), float(S)
