"""Case-deletion diagnostics, as metafor's ``influence.rma.uni``."""

from __future__ import annotations

import numpy as np
from scipy import special

from analysis.meta.fit import MetaResult
from analysis.meta.tau2 import project


def influence(res: MetaResult, labels=None, which=None) -> "pd.DataFrame":  # noqa: F821
    """Case-deletion diagnostics (metafor's ``influence.rma.uni``).

    Parameters
    ----------
    res : MetaResult
    labels : sequence, optional
        One label per study (default 1 to k).
    which : array_like of int, optional
        Refit without only these studies (0-based indices); the other rows keep their ``hat``
        and ``weight`` (closed form) but NaN for the refitted diagnostics, so that only the hat
        rule can call them influential. By default every study, as metafor (see
        :func:`analysis.meta.leave1out.deletion_candidates` for choosing them when k is large).

    Raises
    ------
    ValueError
        When k <= p: no model is left to fit without a study (metafor stops there too).

    Returns
    -------
    DataFrame
        ``rstudent`` (externally studentized residual), ``dffits``, ``cook_d``, ``cov_r``,
        ``tau2_del``, ``qe_del``, ``hat``, ``weight`` (per cent), one ``dfbetas_j`` per
        coefficient, and ``influential`` by metafor's rule.

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for
    meta-analysis. *Research Synthesis Methods*, 1, 112-125.
    """
    labels = list(range(1, res.k + 1)) if labels is None else list(labels)
    k, p = res.k, res.p
    if k <= p:  # as metafor: nothing is left to fit without a study
        raise ValueError(f"influence needs more studies than coefficients (k = {k}, p = {p})")
    full = project(res.yi, res.weights, res.X)
    hat = res.weights * np.einsum("ij,jk,ik->i", res.X, full.vb, res.X)
    out, dfbs = _deletions(res, hat, range(k) if which is None else np.unique(np.asarray(which, dtype=int)))
    import pandas as pd  # here: importing the engine stays light

    frame = pd.DataFrame({"study": labels, **out, "hat": hat, "weight": res.weights_percent})
    frame["refitted"] = np.isfinite(out["tau2_del"]) if which is not None else True
    for j in range(p):
        frame[f"dfbetas_{j}"] = dfbs[:, j]
    frame["influential"] = (
        (np.abs(frame["dffits"]) > 3 * np.sqrt(p / (k - p)))
        | (special.chdtr(p, frame["cook_d"]) > 0.5)
        | (frame["hat"] > 3 * p / k)
        | (np.abs(dfbs) > 1).any(axis=1)
    )
    return frame


def _deletions(res: MetaResult, hat: np.ndarray, omit) -> tuple[dict, np.ndarray]:
    """The refitted diagnostics of each study in ``omit`` (NaN for the others)."""
    k, p = res.k, res.p
    vb_full = res.vcov()
    svb = np.linalg.inv(vb_full)
    pred_full = res.X @ res.beta
    out = {k_: np.full(k, np.nan) for k_ in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del")}
    dfbs = np.full((k, p), np.nan)
    for i in omit:
        fit = res.refit(np.arange(k) != i)
        if fit is None:
            continue
        xi = res.X[i]
        vb_del = fit.vcov()
        delpred = float(xi @ fit.beta)
        vdelpred = float(xi @ vb_del @ xi)
        out["tau2_del"][i] = fit.tau2
        out["qe_del"][i] = fit.q
        out["dffits"][i] = (pred_full[i] - delpred) / np.sqrt(fit.s2w * hat[i] * (fit.tau2 + res.vi[i]))
        vb_alt = project(res.yi, 1 / (res.vi + fit.tau2), res.X).vb
        dfb = res.beta - fit.beta
        dfbs[i] = dfb / np.sqrt(fit.s2w * np.diag(vb_alt))
        out["cook_d"][i] = float(dfb @ svb @ dfb)
        out["cov_r"][i] = np.linalg.det(vb_del) / np.linalg.det(vb_full)
        resid = res.yi[i] - delpred
        resid = 0.0 if abs(resid) < 100 * np.finfo(float).eps else resid
        out["rstudent"][i] = resid / np.sqrt(res.vi[i] * fit.s2w + vdelpred + fit.tau2 * fit.s2w)
    return out, dfbs
