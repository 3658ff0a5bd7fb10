"""Block-diagonal sampling covariance of dependent effects, as metafor's ``vcalc``.

Only the constant-correlation working model that the correlated-and-hierarchical-effects
(CHE) model uses: within a cluster, two different effects have covariance
rho * sqrt(v_i v_j); rows of a cluster that share an ``obs`` value are the same observation
(correlation 1), as in metafor. Clusters never share entries, so the result is kept as the
within-cluster entries of each block (:class:`analysis.meta.blocks.BlockCov`).
"""

from __future__ import annotations

import numpy as np

from analysis.meta.blocks import BlockCov, grouping, within_pairs


def vcalc(vi, cluster, obs=None, rho: float = 0.5) -> BlockCov:
    """Sampling covariance with constant within-cluster correlation.

    Parameters
    ----------
    vi : array_like
        Sampling variances (> 0).
    cluster : array_like
        Cluster (e.g. study) of each effect; effects of different clusters are independent.
    obs : array_like, optional
        Observation label of each effect within its cluster. Effects of one cluster with
        different labels correlate with ``rho``; with the same label, with 1. When omitted every
        row is a different observation. (metafor's ``vcalc`` without ``obs`` treats the rows of
        a cluster as one observation, correlation 1; pass ``obs`` to reproduce it exactly.)
    rho : float
        Assumed correlation between different effects of a cluster, in [-1, 1].

    Returns
    -------
    BlockCov
        Accepted by :func:`analysis.meta.rma_mv` as ``V``; ``to_dense()`` gives the k-by-k matrix.

    References
    ----------
    Pustejovsky, J. E., & Tipton, E. (2022). Meta-analysis with robust variance estimation:
    expanding the range of working models. *Prevention Science*, 23, 425-438.
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *JSS*, 36(3).
    """
    v = np.asarray(vi, dtype=float).ravel()
    cluster = np.asarray(cluster).ravel()
    if len(cluster) != len(v):
        raise ValueError("vi and cluster must have the same length")
    if np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ValueError("vi must be finite and > 0")
    if not -1 <= rho <= 1:
        raise ValueError("rho must lie in [-1, 1]")
    rows, cols = within_pairs(grouping(cluster))
    if obs is None:
        same = rows == cols
    else:
        obs = np.asarray(obs).ravel()
        if len(obs) != len(v):
            raise ValueError("obs must have the same length as vi")
        same = obs[rows] == obs[cols]
    r = np.where(same, 1.0, rho)
    return BlockCov(cluster, rows, cols, r * np.sqrt(v[rows] * v[cols]))
