"""The contrasts of a dose-response meta-analysis: each study's log odds ratios (or log relative
risks) against its reference dose, with the Greenland & Longnecker (1992) covariance of the
estimates that share the reference arm.

References
----------
Greenland, S., & Longnecker, M. P. (1992). Methods for trend estimation from summarized
dose-response data, with applications to meta-analysis. *Am J Epidemiol*, 135, 1301-1309.
Orsini, N., Li, R., Wolk, A., Khudyakov, P., & Spiegelman, D. (2012). Meta-analysis for linear
and nonlinear dose-response relations. *Am J Epidemiol*, 175, 66-73.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GL_TOL = 1e-5  # dosresmeta's grl(): stop when the squared change of the pseudo-cases is below this
GL_MAXITER = 200


def log_ratios(cases, n, ref: int, measure: str = "OR") -> tuple[np.ndarray, np.ndarray]:
    """Crude log odds ratios (``"OR"``) or log relative risks (``"RR"``) of every arm against
    arm ``ref`` and their variances (0 for the reference, as dosresmeta expects)."""
    a, m = np.asarray(cases, float), np.asarray(n, float)
    if measure == "OR":
        logit, var = np.log(a / (m - a)), 1 / a + 1 / (m - a)
    else:
        logit, var = np.log(a / m), 1 / a - 1 / m
    y, v = logit - logit[ref], var + var[ref]
    y[ref], v[ref] = 0.0, 0.0
    return y, v


def gl_covariance(y, v, cases, n, type: str = "cc") -> np.ndarray:
    """Greenland & Longnecker (1992) covariance of a study's log OR/RR against its reference arm.

    A direct port of dosresmeta's ``covar.logrr(covariance = "gl")`` with ``grl()``: pseudo-cases
    A_x are fitted (Newton steps, the reference's cases keeping the total of cases) so that
    they reproduce the reported y with the arms' sizes ``n``; the correlation of estimates i and j
    is s_0 / sqrt(s_i s_j) with s_0 = 1/A_0 + 1/(N_0 - A_0) (``type="cc"``, odds ratios) or
    1/A_0 - 1/N_0 (``type="ci"``, relative risks) and s_i = s_0 + the same for arm i; the
    covariance is that correlation times sqrt(v_i v_j). The reference arm is the one with v = 0.
    As in dosresmeta, the pseudo-cases are fitted to y on the odds scale for both types, so for
    crude log odds ratios they are the observed counts (and the covariance is 1/a_0 + 1/b_0 off
    the diagonal), while for crude log relative risks they move.

    Returns
    -------
    ndarray
        The (m - 1) x (m - 1) covariance of the non-reference estimates, in their order.
    """
    from scipy import linalg  # here: importing the engine stays light

    y, v, a, m = (np.asarray(z, float) for z in (y, v, cases, n))
    ref, act = v == 0, v != 0
    if ref.sum() != 1:
        raise ValueError("exactly one arm must be the reference (v = 0)")
    ax = a.copy()
    for _ in range(GL_MAXITER):
        a0 = a.sum() - ax[act].sum()
        cx = 1 / ax + 1 / (m - ax)
        e = y[act] + np.log(a0) + np.log(m[act] - ax[act]) - np.log(ax[act]) - np.log(m[ref][0] - a0)
        h = np.full((act.sum(), act.sum()), cx[ref][0]) + np.diag(cx[act])
        step = linalg.solve(h, e, assume_a="sym")
        new = ax.copy()
        new[ref], new[act] = a0, ax[act] + step
        if np.sum(step ** 2) < GL_TOL:
            ax = new
            break
        ax = new
    else:
        raise ValueError("the Greenland-Longnecker pseudo-counts did not converge")
    if type == "cc":
        s = 1 / ax + 1 / (m - ax)
    elif type == "ci":
        s = 1 / ax - 1 / m
    else:
        raise ValueError("type must be 'cc' (odds ratios) or 'ci' (relative risks)")
    s0 = s[ref][0]
    si = s0 + s[act]
    corr = s0 / np.sqrt(np.outer(si, si))
    np.fill_diagonal(corr, 1.0)
    return np.sqrt(np.outer(v[act], v[act])) * corr


@dataclass(frozen=True)
class DoseData:
    """The stacked non-reference estimates of every study: what :func:`rma_dose` takes."""

    study: np.ndarray
    dose: np.ndarray
    y: np.ndarray
    V: np.ndarray


def dose_contrasts(study, dose, cases, n, ref_dose: float = 0.0, measure: str = "OR") -> DoseData:
    """Each study's log ratios against its arm at ``ref_dose`` with their Greenland-Longnecker
    covariance (``type="cc"`` for odds ratios, ``"ci"`` for relative risks), studies in order of
    first appearance; a study with only its reference arm contributes nothing. Raises ValueError
    for a study without exactly one reference arm, or with an arm of 0 or n events."""
    from scipy import linalg  # here: importing the engine stays light

    study, dose = np.asarray(study), np.asarray(dose, float)
    cases, n = np.asarray(cases, float), np.asarray(n, float)
    ys, blocks, labels, doses = [], [], [], []
    for s in dict.fromkeys(study.tolist()):
        rows = np.flatnonzero(study == s)
        ref = np.flatnonzero(dose[rows] == ref_dose)
        if len(ref) != 1:
            raise ValueError(f"study {s}: {len(ref)} arms at the reference dose {ref_dose:g}, need exactly one")
        if len(rows) < 2:
            continue  # a reference arm alone contrasts nothing
        if np.any(cases[rows] <= 0) or np.any(cases[rows] >= n[rows]):
            raise ValueError(f"study {s}: an arm with no or only responders has no finite log ratio "
                             "(no continuity correction is applied)")
        y, v = log_ratios(cases[rows], n[rows], int(ref[0]), measure)
        blocks.append(gl_covariance(y, v, cases[rows], n[rows], "cc" if measure == "OR" else "ci"))
        keep = np.arange(len(rows)) != ref[0]
        ys.append(y[keep])
        doses.append(dose[rows][keep])
        labels += [s] * int(keep.sum())
    return DoseData(np.asarray(labels), np.concatenate(doses), np.concatenate(ys), linalg.block_diag(*blocks))
