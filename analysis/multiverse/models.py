"""The analysis choices of one specification fitted on one data subset: dependency handling,
estimator, inference, outliers and bias correction, with the fits a subset's specifications
share computed once (:class:`Fitter`).

Multilevel models are :func:`analysis.meta.multilevel.rma_mv` (three-level, z or t) and
:func:`analysis.meta.robust.che` (correlated and hierarchical effects with CR2 robust inference).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special

from analysis.multiverse.data import Subset, aggregate

RESULT = ("k", "estimate", "se", "ci_low", "ci_high", "tau2", "p")
NAN = dict.fromkeys(RESULT, np.nan)
FAILURES = (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError)


def multilevel():
    """``(rma_mv, che)`` from the engine (imported on first use)."""
    from analysis.meta.multilevel import rma_mv
    from analysis.meta.robust import che

    return rma_mv, che


def outside(yi, vi, ci_low, ci_high, level: float = 95.0) -> np.ndarray:
    """metapsyTools' outlier rule for any pooled CI: a study's z-based CI does not overlap it
    (as :func:`analysis.meta.outliers` for a univariate fit)."""
    half = -special.ndtri((1 - level / 100) / 2) * np.sqrt(vi)
    return (yi + half < ci_low) | (yi - half > ci_high)


class Fitter:
    """Fits of one data subset, memoised: every specification of the subset asks it for its row.

    ``settings`` of a specification: ``model`` (independent, aggregate, three-level, che),
    ``rho`` (aggregation and CHE), ``method`` (tau² estimator; WLS or ML for bias corrections),
    ``test`` (z, hksj, t, robust), ``bias`` (none, pet-peese, 3psm, waap-wls), ``steps``,
    ``remove`` (outliers) and the outlier reference model of a bias correction
    (``reference_method``, ``reference_test``).
    """

    def __init__(self, subset: Subset, min_k: int):
        self.subset = subset
        self.min_k = min_k
        self._levels: dict = {}
        self._fits: dict = {}

    def level(self, model: str, rho: float) -> Subset:
        if model != "aggregate":
            return self.subset
        if rho not in self._levels:
            self._levels[rho] = aggregate(self.subset.yi, self.subset.vi, self.subset.cluster, rho)
        return self._levels[rho]

    def row(self, s: dict) -> dict:
        """The specification's result: ``k``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``tau2``, ``p``, ``k_outliers`` and ``status`` ("ok" or why there is no estimate)."""
        data = self.level(s["model"], s.get("rho", 0.5))
        keep = np.ones(data.k, dtype=bool)
        if data.k < self.min_k:
            return {**NAN, "k": data.k, "k_outliers": 0, "status": f"k < {self.min_k}"}
        out, ci = self._fit(data, keep, s)
        removed = 0
        if s.get("remove") and out["status"] == "ok":
            ref_out, ref_ci = (out, ci) if s["bias"] == "none" else self._fit(data, keep, self._reference(s))
            if ref_out["status"] != "ok":
                return {**NAN, "k": data.k, "k_outliers": 0, "status": "outlier reference: " + ref_out["status"]}
            keep = ~outside(data.yi, data.vi, *ref_ci)
            removed = int((~keep).sum())
            if removed and keep.sum() < self.min_k:
                return {**NAN, "k": int(keep.sum()), "k_outliers": removed, "status": f"k < {self.min_k}"}
            if removed:
                out, _ = self._fit(data, keep, s)
        return {**out, "k_outliers": removed}

    @staticmethod
    def _reference(s: dict) -> dict:
        method = s.get("reference_method", "REML")
        return {**s, "bias": "none", "method": method, "test": s.get("reference_test", "hksj")}

    def _fit(self, data: Subset, keep: np.ndarray, s: dict):
        key = (s["model"], s.get("rho"), s["method"], s["test"], s["bias"], tuple(s.get("steps") or ()),
               keep.tobytes())
        if key not in self._fits:
            y, v, c = data.yi[keep], data.vi[keep], data.cluster[keep]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    row, ci = self._compute(y, v, c, s)
                self._fits[key] = ({**row, "k": len(y), "status": "ok"}, ci)
            except FAILURES as err:
                message = f"{type(err).__name__}: {str(err).splitlines()[0][:80] if str(err) else ''}"
                self._fits[key] = ({**NAN, "k": len(y), "status": message}, (np.nan, np.nan))
        return self._fits[key]

    def _compute(self, y, v, c, s):
        bias = s["bias"]
        if bias == "pet-peese":
            from analysis.meta import pet_peese

            return _row(pet_peese(y, v).to_dict())
        if bias == "waap-wls":
            from analysis.meta import waap_wls

            return _row(waap_wls(y, v).to_dict())
        if bias == "3psm":
            from analysis.meta import selmodel

            return _row(selmodel(y, v, steps=tuple(s.get("steps") or (0.025,))).to_dict())
        if s["model"] in ("three-level", "che"):
            return self._multilevel(y, v, c, s)
        from analysis.meta.fit import rma

        return _row(rma(y, v, method=s["method"], hksj=s["test"] == "hksj").to_dict())

    @staticmethod
    def _multilevel(y, v, c, s):
        rma_mv, che = multilevel()
        if s["model"] == "three-level":
            d = rma_mv(y, v, c, method=s["method"], test="t" if s["test"] == "t" else "z").to_dict()
            return _row({**d, "tau2": d["sigma2_between"] + d["sigma2_within"]})
        fit, robust = che(y, v, c, rho=s.get("rho", 0.5), method=s["method"])
        d, r = fit.to_dict(), robust.to_dict()
        return _row({**d, **{k: r[k] for k in ("se", "ci_low", "ci_high", "p")},
                     "tau2": d["sigma2_between"] + d["sigma2_within"]})


def _row(d: dict):
    row = {k: float(d.get(k, np.nan)) for k in RESULT if k != "k"}
    if np.isnan(row["p"]) and row["se"] > 0:  # the selection model reports no p: Wald z, as metafor
        row["p"] = float(2 * special.ndtr(-abs(row["estimate"] / row["se"])))
    return row, (row["ci_low"], row["ci_high"])
