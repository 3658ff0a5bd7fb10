"""(Restricted) log-likelihood of the intercept-only three-level model, with its derivatives.

The marginal covariance is M = V + sigma2_within I + sigma2_between Z Z', block-diagonal by
cluster. With W = M⁻¹ (inverted block by block), a = W 1, S = 1'W1 and P = W - a a'/S, the
score and the information for theta = (sigma2_between, sigma2_within) follow from
Z_1 = blockdiag(J) and Z_2 = I (Searle, Casella & McCulloch, 1992, ch. 6):

    dl/dtheta_j = -1/2 tr(P Z_j) + 1/2 y'P Z_j P y            (REML; W for P in the trace: ML)
    expected information 1/2 tr(P Z_j P Z_l)                  (W for P: ML)
    observed information -1/2 tr(P Z_j P Z_l) + y'P Z_j P Z_l P y

Every trace reduces to sums over clusters of a, s_c = 1'W_c 1, W_c and r = P y, so nothing
bigger than a cluster's block is formed.

References
----------
Searle, S. R., Casella, G., & McCulloch, C. E. (1992). *Variance components*. Wiley.
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *JSS*, 36(3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.meta.blocks import matvec

LOG2PI = np.log(2 * np.pi)


@dataclass(frozen=True)
class Pieces:
    """Everything the fit needs at one value of theta."""

    loglik: float
    mu: float
    S: float
    score: np.ndarray
    expected: np.ndarray
    observed: np.ndarray
    rss: float
    tr_p: float


def _sum(parts) -> float:
    return float(sum(np.sum(p) for p in parts))


def inverse_blocks(vblocks: list, s_between: float, s_within: float) -> tuple[list, float]:
    """W = M⁻¹ block by block, and log|M|.

    Where a block of V is diagonal, M = D + sigma2_between J and Sherman-Morrison gives
    W = D⁻¹ - c u u' with u = 1/diag(D), c = sigma2_between / (1 + sigma2_between sum(u)) and
    log|M| = sum(log d) + log(1 + sigma2_between sum(u)); other blocks go through LAPACK.
    """
    ws, logdet = [], 0.0
    for vb in vblocks:
        n = vb.shape[-1]
        d = np.diagonal(vb, axis1=1, axis2=2)
        if not np.any(vb - d[:, :, None] * np.eye(n)):
            d = d + s_within
            u = 1 / d
            su = u.sum(axis=1)
            c = s_between / (1 + s_between * su)
            w = -c[:, None, None] * u[:, :, None] * u[:, None, :]
            w[:, np.arange(n), np.arange(n)] += u
            logdet += float(np.log(d).sum() + np.log1p(s_between * su).sum())
        else:
            m = vb + s_within * np.eye(n) + s_between
            chol = np.linalg.cholesky(m)
            logdet += 2 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())
            w = np.linalg.inv(m)
        ws.append(w)
    return ws, logdet


def evaluate(theta, vblocks: list, ys: list, reml: bool) -> Pieces:
    """Log-likelihood, score, expected and observed information at theta = (between, within)."""
    ws, logdet = inverse_blocks(vblocks, theta[0], theta[1])
    a = [w.sum(axis=-1) for w in ws]
    s = np.concatenate([ai.sum(axis=-1) for ai in a])
    S = float(s.sum())
    mu = _sum(ai * y for ai, y in zip(a, ys)) / S
    e = [y - mu for y in ys]
    r = matvec(ws, e)  # P y = W (y - mu)
    return pieces(
        k=sum(y.size for y in ys), logdet=logdet, s=s, S=S, mu=mu, rss=_sum(ei * ri for ei, ri in zip(e, r)),
        rs=np.concatenate([ri.sum(axis=-1) for ri in r]), tr_w=_sum(np.trace(w, axis1=1, axis2=2) for w in ws),
        aa_c=np.concatenate([(ai * ai).sum(axis=-1) for ai in a]), w_f2=_sum(w * w for w in ws),
        a_w_a=_sum(ai * bi for ai, bi in zip(a, matvec(ws, a))), r_w_r=_sum(ri * wr for ri, wr in zip(r, matvec(ws, r))),
        a_r=np.concatenate([(ai * ri).sum(axis=-1) for ai, ri in zip(a, r)]), r2=_sum(ri * ri for ri in r), reml=reml)


def pieces(*, k: int, logdet: float, s, S: float, mu: float, rss: float, rs, tr_w: float, aa_c, w_f2: float,
           a_w_a: float, r_w_r: float, a_r, r2: float, reml: bool) -> Pieces:
    """The likelihood and its derivatives from the sums over clusters: per cluster ``s`` = 1'W_c 1,
    ``rs`` = 1'r_c, ``aa_c`` = a_c'a_c and ``a_r`` = a_c'r_c (a = W 1, r = P y); over all rows
    ``rss`` = e'r, ``tr_w`` = tr W, ``w_f2`` = sum of W's squared entries, ``a_w_a`` = a'W a,
    ``r_w_r`` = r'W r and ``r2`` = r'r; ``logdet`` = log|M|."""
    aa = float(aa_c.sum())
    s2, s3 = float(s @ s), float((s ** 3).sum())
    # traces of W Z_j W Z_l and of P Z_j P Z_l
    tw = np.array([[s2, aa], [aa, w_f2]])
    tp = np.array([
        [s2 - 2 * s3 / S + s2 ** 2 / S ** 2, aa - 2 * float(s @ aa_c) / S + s2 * aa / S ** 2],
        [0.0, w_f2 - 2 * a_w_a / S + aa ** 2 / S ** 2],
    ])
    tp[1, 0] = tp[0, 1]
    # y'P Z_j P Z_l P y = (Z_j r)' P (Z_l r)
    z1 = float((rs * rs * s).sum()) - float(s @ rs) ** 2 / S
    z12 = float(rs @ a_r) - float(s @ rs) * float(a_r.sum()) / S
    z2 = r_w_r - float(a_r.sum()) ** 2 / S
    ypzpzpy = np.array([[z1, z12], [z12, z2]])
    if reml:
        score = -0.5 * np.array([s.sum() - s2 / S - rs @ rs, tr_w - aa / S - r2])
        expected = 0.5 * tp
        loglik = -0.5 * (k - 1) * LOG2PI + 0.5 * np.log(k) - 0.5 * logdet - 0.5 * np.log(S) - 0.5 * rss
    else:
        score = -0.5 * np.array([s.sum() - rs @ rs, tr_w - r2])
        expected = 0.5 * tw
        loglik = -0.5 * k * LOG2PI - 0.5 * logdet - 0.5 * rss
    observed = -expected + ypzpzpy
    return Pieces(float(loglik), float(mu), S, score, expected, observed, float(rss), tr_w - aa / S)
