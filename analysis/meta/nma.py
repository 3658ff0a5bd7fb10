"""Contrast-based network meta-analysis, as metafor's ``rma.mv`` fits it.

The model of Salanti et al. (2008) in metafor's parameterisation: the contrasts y of every study
(see :mod:`analysis.meta.nma_data`) satisfy y = X d + delta + e, where d holds each treatment's
effect against the reference, X has +1 for the arm's treatment and -1 for the study's baseline,
e ~ N(0, V) with V block-diagonal by study, and the random effects delta of a study are
N(0, tau^2 R) with R = 1 on the diagonal and 1/2 off it: one heterogeneity variance common to
every comparison, which makes the random effects consistent across the loops of a multi-arm
study (Higgins & Whitehead, 1996). That is

    rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2)

and, without the random term, the common-effect model.

tau^2 maximises the (restricted) log-likelihood; it is the root of the score

    dl/dtau2 = -1/2 tr(P R) + 1/2 (P y)' R (P y)      (REML; W for P in the trace under ML)

found by Brent's method to machine precision, or 0 when the score at 0 is not positive. No
Python library fits this model (statsmodels' MixedLM has no known sampling covariance; PyMARE
has no multivariate model), so the generalised least squares are written here with sparse
block-diagonal matrices: memory and time grow with the number of contrasts, and dense algebra is
needed only for the p-by-p information of the treatment effects.

References
----------
Higgins, J. P. T., & Whitehead, A. (1996). Borrowing strength from external trials in a
meta-analysis. *Statistics in Medicine*, 15, 2733-2749.
Salanti, G., Higgins, J. P. T., Ades, A. E., & Ioannidis, J. P. A. (2008). Evaluation of
networks of randomized trials. *Statistical Methods in Medical Research*, 17, 279-301.
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *JSS*, 36(3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse, stats

from analysis.meta.nma_data import NetworkData
from analysis.meta.nma_gls import LOG2PI, _gls, _Structure, fit_contrasts

@dataclass(frozen=True)
class NetworkFit:
    """A fitted network meta-analysis; ``coef`` are the treatments' effects against the reference.

    ``q``/``p_q`` is metafor's QE (the common-effect residual Q, k - p df); ``qm``/``p_qm`` the
    Wald test that every treatment equals the reference; ``loglik``, ``deviance``, ``aic``,
    ``bic`` and ``aicc`` are metafor's ``fit.stats`` for the fitting method.
    """

    data: NetworkData = field(repr=False)
    model: str
    method: str
    level: float
    k: int
    p: int
    tau2: float
    coef: np.ndarray = field(repr=False)
    vcov: np.ndarray = field(repr=False)
    q: float
    q_df: int
    p_q: float
    qm: float
    p_qm: float
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float

    @property
    def treatments(self) -> tuple:
        return self.data.treatments

    @property
    def crit(self) -> float:
        return float(stats.norm.ppf(1 - (1 - self.level) / 2))

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    def effects(self) -> np.ndarray:
        """Every treatment's effect against the reference, the reference's own (0) first."""
        return np.concatenate([[0.0], self.coef])

    def effects_vcov(self) -> np.ndarray:
        out = np.zeros((self.p + 1, self.p + 1))
        out[1:, 1:] = self.vcov
        return out

    def coef_frame(self) -> pd.DataFrame:
        """metafor's coefficient table: estimate, SE, z, p and CI of each treatment against the reference."""
        se = self.se
        z = self.coef / se
        return pd.DataFrame({
            "treatment": self.treatments[1:], "estimate": self.coef, "se": se, "z": z,
            "p": 2 * stats.norm.sf(np.abs(z)),
            "ci_low": self.coef - self.crit * se, "ci_high": self.coef + self.crit * se})

    def league(self) -> pd.DataFrame:
        """Every pair ``treat1`` versus ``treat2`` (treat1 later in the order), as ``predict()``.

        The prediction interval adds tau^2 to the estimate's variance with the normal quantile,
        metafor's default for ``rma.mv``.
        """
        T = len(self.treatments)
        i, j = np.triu_indices(T, 1)
        b, vb = self.effects(), self.effects_vcov()
        est = b[j] - b[i]
        var = vb[j, j] + vb[i, i] - 2 * vb[i, j]
        se = np.sqrt(var)
        half_pi = self.crit * np.sqrt(var + self.tau2)
        names = np.asarray(self.treatments, dtype=object)
        return pd.DataFrame({
            "treat1": names[j], "treat2": names[i], "estimate": est, "se": se,
            "ci_low": est - self.crit * se, "ci_high": est + self.crit * se,
            "pi_low": est - half_pi, "pi_high": est + half_pi})

    def pscores(self, larger_is_better: bool = True) -> pd.Series:
        """P-scores (Rücker & Schwarzer, 2015): the mean certainty that a treatment beats each other one.

        P_i = mean over j != i of Phi((d_i - d_j) / se(d_i - d_j)), with the sign reversed when
        smaller values are better. Equals the SUCRA of the normal approximation without sampling.

        References
        ----------
        Rücker, G., & Schwarzer, G. (2015). Ranking treatments in frequentist network
        meta-analysis works without resampling methods. *BMC Medical Research Methodology*, 15, 58.
        """
        b, vb = self.effects(), self.effects_vcov()
        diff = b[:, None] - b[None, :]
        var = np.diag(vb)[:, None] + np.diag(vb)[None, :] - 2 * vb
        with np.errstate(divide="ignore", invalid="ignore"):
            z = diff / np.sqrt(var)
        prob = stats.norm.cdf(z if larger_is_better else -z)
        np.fill_diagonal(prob, np.nan)
        return pd.Series(np.nanmean(prob, axis=1), index=list(self.treatments), name="pscore")

    def sucra(self, larger_is_better: bool = True, draws: int = 20000, seed: int = 1) -> pd.DataFrame:
        """SUCRA and mean rank from ``draws`` samples of the estimates' normal distribution (Salanti et al., 2011).

        SUCRA_i = sum over ranks r < T of the cumulative probability of rank <= r, over T - 1.

        References
        ----------
        Salanti, G., Ades, A. E., & Ioannidis, J. P. A. (2011). Graphical methods and numerical
        summaries for presenting results from multiple-treatment meta-analysis. *Journal of
        Clinical Epidemiology*, 64, 163-171.
        """
        T = len(self.treatments)
        rng = np.random.default_rng(seed)
        sample = rng.multivariate_normal(self.coef, self.vcov, size=draws, method="cholesky")
        sample = np.column_stack([np.zeros(draws), sample])
        if larger_is_better:
            sample = -sample
        ranks = sample.argsort(axis=1).argsort(axis=1) + 1
        prob = np.stack([(ranks == r).mean(axis=0) for r in range(1, T + 1)], axis=1)
        cum = prob.cumsum(axis=1)[:, :-1]
        return pd.DataFrame({"treatment": self.treatments, "sucra": cum.sum(axis=1) / (T - 1),
                             "mean_rank": ranks.mean(axis=0)})

    def funnel(self) -> pd.DataFrame:
        """The comparison-adjusted funnel plot's data (Chaimani et al., 2013).

        Each study's contrast minus the network estimate of the same comparison, beside its
        standard error; without small-study effects the points scatter symmetrically about 0.

        References
        ----------
        Chaimani, A., Higgins, J. P. T., Mavridis, D., Spyridonos, P., & Salanti, G. (2013).
        Graphical tools for network meta-analysis in STATA. *PLoS ONE*, 8, e76654.
        """
        d = self.data
        fitted = d.design_matrix() @ self.coef
        return pd.DataFrame({"study": d.study, "comparison": d.comparison, "deviation": d.yi - fitted,
                             "se": np.sqrt(d.vi)})

    def to_dict(self) -> dict:
        keys = ("model", "method", "k", "p", "tau2", "q", "q_df", "p_q", "qm", "p_qm",
                "loglik", "deviance", "aic", "bic", "aicc")
        return {key: getattr(self, key) for key in keys}


def nma(data: NetworkData, model: str = "random", method: str = "REML", level: float = 0.95) -> NetworkFit:
    """Random-effects (or common-effect) network meta-analysis of the contrasts in ``data``.

    Parameters
    ----------
    data : NetworkData
        From :func:`analysis.meta.nma_data.arm_contrasts`.
    model : {"random", "fixed"}
        "random" adds the common-variance random effects of the module docstring.
    method : {"REML", "ML"}
        How tau^2 is estimated (and which likelihood ``fit.stats`` report).
    level : float
        Confidence level of the intervals.

    Returns
    -------
    NetworkFit

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.meta.nma_data import arm_contrasts
    >>> arms = pd.DataFrame({"study": ["a", "a", "b", "b", "c", "c", "c"],
    ...                      "treatment": ["P", "X", "P", "Y", "P", "X", "Y"],
    ...                      "events": [10, 20, 12, 18, 8, 15, 14], "n": [50, 50, 60, 60, 40, 40, 40]})
    >>> fit = nma(arm_contrasts(arms, "OR", reference="P"), model="fixed")
    >>> fit.coef_frame()["treatment"].tolist()
    ['X', 'Y']
    """
    if model not in ("random", "fixed"):
        raise ValueError("model must be 'random' or 'fixed'")
    X = data.design_matrix()
    res = fit_contrasts(data.study, data.yi, data.V, X, random=model == "random", method=method)
    k, p = X.shape
    st = _Structure(data.study, data.V)
    qe = res if res.tau2 == 0 else _gls(st, data.yi, sparse.csr_matrix(X), 0.0, False, 0.0, with_score=False)
    vcov = np.linalg.inv(res.H)
    vcov = (vcov + vcov.T) / 2
    qm = float(res.beta @ res.H @ res.beta)
    ll = res.ll_reml if method == "REML" else res.ll_ml
    parms = p + (model == "random")
    n = k - p if method == "REML" else k
    if method == "REML":
        deviance = -2 * ll
    else:
        ll_saturated = -0.5 * k * LOG2PI - 0.5 * st.inverse_blocks(0.0)[1]
        deviance = -2 * (ll - ll_saturated)
    aicc_n = max(n, parms + 2)
    with np.errstate(divide="ignore"):  # no spare df under REML: BIC is -inf, as in R
        bic = -2 * ll + parms * np.log(n)
    return NetworkFit(
        data=data, model=model, method=method, level=level, k=k, p=p, tau2=float(res.tau2),
        coef=res.beta, vcov=vcov, q=qe.rss, q_df=k - p, p_q=float(stats.chi2.sf(qe.rss, k - p)),
        qm=qm, p_qm=float(stats.chi2.sf(qm, p)), loglik=float(ll), deviance=float(deviance),
        aic=-2 * ll + 2 * parms, bic=float(bic),
        aicc=-2 * ll + 2 * parms * aicc_n / (aicc_n - parms - 1))
