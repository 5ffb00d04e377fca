r"""Marginal likelihood and Fisher information of a population model at given estimates.

The marginal likelihood of subject i is :math:`p(y_i) = \int p(y_i|\phi_i(\eta))
N(\eta; 0, \Omega)\,d\eta` over the random effects (parameters without one sit at their
population value). Three approximations:

``"importance sampling"`` (default for reporting; Monolix's method)
    :math:`\hat p(y_i) = \frac1K\sum_k p(y_i|\eta_k)N(\eta_k;0,\Omega)/q_i(\eta_k)`, with
    :math:`q_i` a multivariate Student t (5 degrees of freedom) centred on the conditional
    mean of :math:`\eta_i` with its conditional covariance, both from MCMC draws at the
    final estimates. It converges to the exact value as K grows; its Monte Carlo standard
    error (from 10 independent batches) is reported.
``"gauss-hermite"`` (for at most 2 random effects)
    Adaptive Gauss–Hermite quadrature centred and scaled by the same conditional mean and
    covariance (Rabe-Hesketh, Skrondal & Pickles 2002), ``n_nodes`` per dimension.
``"linearisation"``
    The model is linearised in :math:`\eta` about the mode :math:`\hat\phi_i` of the
    *linearised* model: the residual variances :math:`R_i` are evaluated at
    :math:`f(\hat\phi_i)` and held, :math:`\hat\phi_i` minimises
    :math:`\|y_i - f(\phi)\|^2_{R_i^{-1}} + (\phi - X_i\theta)^T\Omega^{-1}(\phi - X_i\theta)`,
    and the two are iterated to a fixed point. Then :math:`y_i \approx N(f(\hat\phi_i)
    + Z_i(X_i\theta - \hat\phi_i),\ V_i)`, :math:`V_i = Z_i\Omega Z_i^T + R_i`. This is the
    approximation of the standard errors too (Monolix's "FIM by linearization"):
    :math:`I_\theta = \sum (Z_iX_i)^TV_i^{-1}(Z_iX_i)` and, for the variance and error
    parameters, :math:`I_{ab} = \tfrac12\sum\mathrm{tr}(V_i^{-1}\partial_aV_iV_i^{-1}
    \partial_bV_i)`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import gammaln

from .saem_engine import SaemProblem, fast_predict
from .saem_error import neg2ll_rows

__all__ = ["importance_sampling", "gauss_hermite", "Linearised", "linearise"]


def _subject_rows(prob: SaemProblem, rows: np.ndarray):
    su = prob.setup.rows(rows)
    return su, prob.batch.subset(rows), prob.use[rows]


def _u_eta(prob: SaemProblem, i: int, eta: np.ndarray, mean_i: np.ndarray,
           ep: np.ndarray) -> np.ndarray:
    """-2 log p(y_i | eta) for K values of the random effects of subject i (K, d)."""
    K = eta.shape[0]
    su, b, use = _subject_rows(prob, np.full(K, i))
    re_j = prob.idx[prob.re]
    ph = np.repeat(prob.fixed_w[i][None], K, 0)
    ph[:, prob.idx] = mean_i
    ph[:, re_j] += eta
    P = su.to_natural(np.concatenate([ph, np.zeros((K, 2))], 1))
    F, _, st = fast_predict(su, b, P)
    U = neg2ll_rows(prob.em, b.Y, F, np.repeat(ep[None], K, 0), use)
    U[st != 0] = np.inf
    return U


def _log_normal_pdf(eta: np.ndarray, Oinv: np.ndarray, logdet: float) -> np.ndarray:
    d = eta.shape[1]
    return -0.5 * (d * np.log(2 * np.pi) + logdet + np.einsum("ki,ij,kj->k", eta, Oinv, eta))


def _re_blocks(prob, Omega, cmean, ccov, theta):
    r = prob.re
    Om = Omega[np.ix_(r, r)]
    Oinv = np.linalg.inv(Om)
    logdet = float(np.linalg.slogdet(Om)[1])
    mean = prob.design.mean(theta)                   # (N, p)
    eta_m = cmean[:, r] - mean[:, r]
    C = ccov[:, r][:, :, r]
    return Oinv, logdet, mean, eta_m, C


def importance_sampling(prob: SaemProblem, theta, Omega, ep, cmean, ccov, *,
                        rng: np.random.Generator, n_samples: int = 2000, nu: float = 5.0
                        ) -> tuple[float, float]:
    """-2 log L by importance sampling and its Monte Carlo standard error."""
    Oinv, logdet, mean, eta_m, C = _re_blocks(prob, Omega, cmean, ccov, theta)
    d = int(prob.re.sum())
    nb = 10
    per = max(n_samples // nb, 1)
    total = np.zeros(nb)
    for i in range(prob.N):
        S = C[i] * 1.0 + 1e-10 * np.eye(d)
        Lc = np.linalg.cholesky(S)
        Sinv = np.linalg.inv(S)
        z = rng.standard_normal((nb * per, d))
        w = rng.chisquare(nu, nb * per) / nu
        eta = eta_m[i] + (z @ Lc.T) / np.sqrt(w)[:, None]
        dev = eta - eta_m[i]
        q = (gammaln((nu + d) / 2) - gammaln(nu / 2) - 0.5 * d * np.log(nu * np.pi)
             - np.log(np.diag(Lc)).sum()
             - 0.5 * (nu + d) * np.log1p(np.einsum("ki,ij,kj->k", dev, Sinv, dev) / nu))
        logw = -0.5 * _u_eta(prob, i, eta, mean[i], ep) + _log_normal_pdf(eta, Oinv, logdet) - q
        logw = logw.reshape(nb, per)
        mx = logw.max(axis=1, keepdims=True)
        total += (mx[:, 0] + np.log(np.mean(np.exp(logw - mx), axis=1)))
    batches = -2 * total
    return float(batches.mean()), float(batches.std(ddof=1) / np.sqrt(nb))


def gauss_hermite(prob: SaemProblem, theta, Omega, ep, cmean, ccov, *, n_nodes: int = 15
                  ) -> float:
    """-2 log L by adaptive Gauss-Hermite quadrature (at most 2 random effects)."""
    Oinv, logdet, mean, eta_m, C = _re_blocks(prob, Omega, cmean, ccov, theta)
    d = int(prob.re.sum())
    x, w = np.polynomial.hermite.hermgauss(n_nodes)
    grids = np.meshgrid(*([x] * d), indexing="ij")
    Z = np.stack([g.ravel() for g in grids], 1)                     # (K, d)
    Wt = np.prod(np.stack(np.meshgrid(*([w] * d), indexing="ij"), -1).reshape(-1, d), 1)
    total = 0.0
    for i in range(prob.N):
        Lc = np.linalg.cholesky(C[i] + 1e-12 * np.eye(d))
        eta = eta_m[i] + np.sqrt(2.0) * Z @ Lc.T
        logg = -0.5 * _u_eta(prob, i, eta, mean[i], ep) + _log_normal_pdf(eta, Oinv, logdet)
        lt = logg + (Z**2).sum(1) + np.log(Wt)
        mx = lt.max()
        total += mx + np.log(np.exp(lt - mx).sum()) + 0.5 * d * np.log(2.0) + \
            np.log(np.diag(Lc)).sum()
    return float(-2 * total)


@dataclass
class Linearised:
    neg2ll: float
    phi: np.ndarray       # (N, NP) the linearisation points (working scale)
    cov_theta: np.ndarray  # (q, q)
    cov_var: np.ndarray    # (nv, nv) of the variance parameters then error parameters
    var_pairs: list[tuple[int, int]]  # (a, b) indices in 0..p-1 of each covariance parameter
    cwres: np.ndarray      # (N, m) conditional weighted residuals (NaN where unused)


def _jac(prob: SaemProblem, ph: np.ndarray):
    su = prob.setup
    free_j = np.zeros(su.K, dtype=np.int64)
    free_j[prob.idx] = 1
    P = su.to_natural(np.concatenate([ph, np.zeros((ph.shape[0], 2))], 1))
    b = prob.batch
    F, J, _ = fast_predict(replace(su, free=free_j), b, P, jacobian=True)
    Z = J * np.where(su.scale == 1, P, 1.0)[:, None, :]
    return F, Z[:, :, prob.idx]


def _transform(prob: SaemProblem, F, Z):
    """Data, predictions and Jacobian on the scale of the error model."""
    Y = prob.batch.Y
    if prob.em == "lognormal":
        with np.errstate(all="ignore"):
            return np.log(Y), np.log(F), Z / F[:, :, None]
    return Y, F, Z


def _rdiag(prob: SaemProblem, F, ep):
    if prob.em in ("lognormal", "additive"):
        return np.full(F.shape, ep[0] ** 2)
    if prob.em == "proportional":
        return (ep[0] * F) ** 2
    return (ep[0] + ep[1] * np.abs(F)) ** 2


def _linear_mode(prob: SaemProblem, theta, Omega, ep, ph0):
    """Fixed point: mode of the linearised model with R at its own predictions."""
    r = prob.re
    Om = Omega[np.ix_(r, r)]
    Oinv = np.linalg.inv(Om)
    m = prob.design.mean(theta)
    ph = ph0.copy()
    ph[:, prob.idx[~r]] = m[:, ~r]
    use = prob.use
    cols = prob.idx[r]

    def objective(ph_, Rd):
        F, Z = _jac(prob, ph_)
        yt, ft, Zt = _transform(prob, F, Z)
        res = np.where(use, yt - ft, 0.0)
        d = ph_[:, cols] - m[:, r]
        obj = np.nansum(np.where(use, res**2 / Rd, 0.0), 1) + np.einsum("ni,ij,nj->n", d, Oinv, d)
        obj[~np.all(np.isfinite(np.where(use, ft, 0.0)), 1)] = np.inf
        return obj, res, Zt[:, :, r], d, F

    lam = np.full(prob.N, 1e-3)
    for _outer in range(30):
        F0, _ = _jac(prob, ph)
        Rd = np.where(use, _rdiag(prob, F0, ep), 1.0)
        ph_start = ph.copy()
        obj, res, Zr, d, _ = objective(ph, Rd)
        for _ in range(50):
            W = np.where(use, 1.0 / Rd, 0.0)
            H = np.einsum("nmi,nm,nmj->nij", Zr, W, Zr) + Oinv
            g = np.einsum("nmi,nm,nm->ni", Zr, W, res) - d @ Oinv
            Hd = H + lam[:, None, None] * np.einsum("nii->ni", H)[:, :, None] * np.eye(r.sum())
            step = np.linalg.solve(Hd, g[:, :, None])[:, :, 0]
            trial = ph.copy()
            trial[:, cols] += step
            o2, res2, Zr2, d2, _ = objective(trial, Rd)
            better = o2 < obj
            ph[better], obj[better] = trial[better], o2[better]
            res[better], Zr[better], d[better] = res2[better], Zr2[better], d2[better]
            lam = np.where(better, lam * 0.3, lam * 10.0).clip(1e-10, 1e10)
            if np.all(np.abs(step).max(1) < 1e-9):
                break
        if np.abs(ph - ph_start).max() < 1e-8:
            break
    return ph


def linearise(prob: SaemProblem, theta, Omega, ep, ph0) -> Linearised:
    """-2 log L by linearisation, the Fisher information and CWRES."""
    ph = _linear_mode(prob, theta, Omega, ep, ph0)
    F, Z = _jac(prob, ph)
    yt, ft, Zt = _transform(prob, F, Z)
    r = prob.re
    ri = np.flatnonzero(r)
    Om = Omega[np.ix_(r, r)]
    m = prob.design.mean(theta)
    Rall = _rdiag(prob, F, ep)
    if prob.covariance == "full":
        pairs = [(a, b) for k, a in enumerate(ri) for b in ri[k:]]
    else:
        pairs = [(a, a) for a in ri]
    n_err = 2 if prob.em == "combined" else 1
    q = theta.size
    I_th, I_v = np.zeros((q, q)), np.zeros((len(pairs) + n_err,) * 2)
    neg2ll = 0.0
    cwres = np.full(F.shape, np.nan)
    for i in range(prob.N):
        u = prob.use[i]
        if not u.any():
            continue
        Zi = Zt[i][u]                     # (n_i, p)
        Zr = Zi[:, r]
        Ri = Rall[i][u]
        V = Zr @ Om @ Zr.T + np.diag(Ri)
        Vinv = np.linalg.inv(V)
        ZX = Zi @ prob.design.X[i]
        I_th += ZX.T @ Vinv @ ZX
        dV = [np.outer(Zi[:, a], Zi[:, b]) + (np.outer(Zi[:, b], Zi[:, a]) if a != b else 0)
              for a, b in pairs]
        fi = np.abs(F[i][u])
        if prob.em == "combined":
            s = ep[0] + ep[1] * fi
            dV += [np.diag(2 * s), np.diag(2 * s * fi)]
        else:
            dV += [np.diag(Ri / ep[0] ** 2)]  # d V / d sigma^2
        A = [Vinv @ dd for dd in dV]
        I_v += 0.5 * np.array([[np.sum(a_ * c_.T) for c_ in A] for a_ in A])
        resid = yt[i][u] - ft[i][u] - Zi @ (m[i] - ph[i, prob.idx])
        neg2ll += np.linalg.slogdet(2 * np.pi * V)[1] + resid @ Vinv @ resid
        if prob.em == "lognormal":
            neg2ll += 2 * np.sum(yt[i][u])
        w, U = np.linalg.eigh(V)
        cw = np.full(u.sum(), np.nan)
        cw[:] = U @ ((U.T @ resid) / np.sqrt(w))
        cwres[i, np.flatnonzero(u)] = cw
    return Linearised(neg2ll=float(neg2ll), phi=ph, cov_theta=_pinv(I_th), cov_var=_pinv(I_v),
                      var_pairs=pairs, cwres=cwres)


def _pinv(A: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return np.full(A.shape, np.nan)
