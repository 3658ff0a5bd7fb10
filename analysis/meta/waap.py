"""WAAP-WLS: the weighted average of the adequately powered studies (Stanley et al., 2017)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from analysis.meta.small_study import _inputs, wls_intercept

POWER_FACTOR = 2.8  # 80 % power at a two-sided 5 % test: 1.96 + 0.84


@dataclass(frozen=True)
class WAAPResult:
    """WAAP-WLS estimate with t-based inference (as ``lm``, k - 1 df of the studies pooled).

    ``method`` is "WAAP" when at least two studies are adequately powered and "WLS" (all
    studies) otherwise; ``k_adequate`` counts the adequately powered studies either way.
    """

    method: str
    estimate: float
    se: float
    p: float
    ci_low: float
    ci_high: float
    k: int
    k_adequate: int

    def to_dict(self) -> dict:
        return asdict(self)


def wls(yi, vi, level: float = 95.0):
    """Unrestricted weighted least squares: ``lm(yi/sei ~ 0 + I(1/sei))``.

    The point estimate is the fixed-effect one; its variance is scaled by the residual mean
    square (multiplicative dispersion) and inference uses t with k - 1 df.

    References
    ----------
    Stanley, T. D., & Doucouliagos, H. (2015). Neither fixed nor random: weighted least squares
    meta-analysis. *Statistics in Medicine*, 34, 2116-2127.
    """
    y, v = _inputs(yi, vi, 2)
    return wls_intercept(y, np.ones((len(y), 1)), 1 / v, "WLS", level)


def waap_wls(yi, vi, level: float = 95.0) -> WAAPResult:
    """WAAP-WLS: WLS on the studies adequately powered to detect the WLS estimate.

    A study is adequately powered when its standard error is at most |WLS estimate| / 2.8.
    When fewer than two are, the WLS estimate of all studies is returned (``method`` "WLS").

    Returns
    -------
    WAAPResult
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p``, ``k`` (studies pooled) and
        ``k_adequate``.

    References
    ----------
    Stanley, T. D., Doucouliagos, H., & Ioannidis, J. P. A. (2017). Finding the power to reduce
    publication bias. *Statistics in Medicine*, 36, 1580-1598.
    """
    y, v = _inputs(yi, vi, 2)
    everyone = wls(y, v, level)
    adequate = np.sqrt(v) <= abs(everyone.estimate) / POWER_FACTOR
    n_adequate = int(adequate.sum())
    fit = wls(y[adequate], v[adequate], level) if n_adequate >= 2 else everyone
    return WAAPResult(
        method="WAAP" if n_adequate >= 2 else "WLS",
        estimate=fit.estimate,
        se=fit.se,
        p=fit.p,
        ci_low=fit.ci_low,
        ci_high=fit.ci_high,
        k=fit.k,
        k_adequate=n_adequate,
    )
