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


def _row(method: str, compute) -> dict:
    try:
        d = compute()
    except (ValueError, RuntimeError, np.linalg.LinAlgError) as err:
        return {"method": method, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "note": str(err)}
    return {"method": method, "estimate": d["estimate"], "ci_low": d["ci_low"], "ci_high": d["ci_high"],
            "note": d.get("note", "")}


def bias_suite(model) -> pd.DataFrame:
    """Bias-corrected estimates on the model's scale (log ratio or g), one row per method.

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

    rows = [_row("trim-and-fill L0", lambda: tf("L0")), _row("trim-and-fill R0", lambda: tf("R0")),
            _row("PET", lambda: pet(y, v).to_dict()), _row("PEESE", lambda: peese(y, v).to_dict()),
            _row("PET-PEESE", choice),
            _row("3PSM", lambda: selmodel(y, v, steps=(0.025,)).to_dict()),
            _row("4PSM", lambda: selmodel(y, v, steps=(0.025, 0.5)).to_dict()), _row("WAAP-WLS", waap)]
    return pd.DataFrame(rows)


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
        ``n`` (methods fitted), ``min``, ``max`` (shown scale), ``min_method``, ``excludes_null``
        (fitted methods whose CI lies above ``null``), ``below`` (estimates below ``threshold``;
        None without one), ``not_fitted`` (the methods that could not be fitted, joined, or "none").
    """
    back = back or (lambda x: x)
    fitted = suite[suite["estimate"].notna()]
    if fitted.empty:
        raise ValueError("no publication-bias method could be fitted")
    return {
        "n": int(len(fitted)),
        "min": float(back(fitted["estimate"].min())),
        "max": float(back(fitted["estimate"].max())),
        "min_method": str(fitted.loc[fitted["estimate"].idxmin(), "method"]),
        "excludes_null": int((fitted["ci_low"] > null).sum()),
        "below": None if threshold is None else int((fitted["estimate"] < threshold).sum()),
        "not_fitted": ", ".join(suite.loc[suite["estimate"].isna(), "method"]) or "none",
    }
