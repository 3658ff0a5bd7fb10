"""Outlying studies by the rule of metapsyTools' ``runMetaAnalysis``."""

from __future__ import annotations

import numpy as np
from scipy import special

from analysis.meta.fit import MetaResult


def outliers(res: MetaResult) -> np.ndarray:
    """Studies whose confidence interval does not overlap the pooled confidence interval.

    The "outliers" rule of metapsyTools' ``runMetaAnalysis`` (Harrer et al., 2021): a
    study is an outlier when its upper bound lies below the pooled lower bound, or its
    lower bound above the pooled upper bound. Study CIs are z-based.

    Returns
    -------
    ndarray of bool

    References
    ----------
    Harrer, M., Cuijpers, P., Furukawa, T. A., & Ebert, D. D. (2021). *Doing Meta-Analysis
    with R: A Hands-On Guide*, chapter 5.4. Chapman & Hall/CRC.
    """
    z = -special.ndtri((1 - res.level / 100) / 2)
    half = z * np.sqrt(res.vi)
    return (res.yi + half < res.ci_low[0]) | (res.yi - half > res.ci_high[0])
