"""Exact marginal likelihood of a Gompertz population model, written independently of
tgsim's SAEM code (used as the reference in the population tests).

Model: V(t) = K exp(log(V0/K) exp(-r t)) (V0 fixed at t = 0), log r = mu_r + eta_r,
log K = mu_K + eta_K, eta ~ N(0, Omega) (2x2), and either log-normal error
(log y = log V + sigma eps) or proportional error (y = V (1 + sigma eps)).

Per subject the integral over eta is computed by adaptive quadrature (Pinheiro & Bates
1995): the integrand's mode by damped Newton iterations (finite-difference derivatives)
from the best point of a coarse grid (25 x 25 over +-6 omega), the scale from the Hessian
there, and the trapezoid rule on a 65 x 65 grid over +-8 scaled units (not Gauss-Hermite
nodes: dividing out the Gaussian weight amplifies heavier-than-Gaussian tails of strongly
correlated posteriors). The maximum likelihood estimate is
found by scipy.optimize (L-BFGS-B, then Nelder-Mead) over
(mu_r, mu_K, log omega_r, log omega_K, [atanh rho], log sigma).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

STEP = 0.25
_z = np.arange(-8.0, 8.0 + STEP / 2, STEP)
zx, zy = np.meshgrid(_z, _z, indexing="ij")


def arrays(ds):
    """(T, Y, mask) from a series Dataset, zeros and NaNs masked."""
    T = np.asarray(ds["time"].values, float)
    Y = np.asarray(ds["value"].values, float)
    mask = np.isfinite(T) & np.isfinite(Y) & (Y > 0)
    return np.where(mask, T, 0.0), np.where(mask, Y, 1.0), mask


def _neg2_cond(eta, mu, T, Y, mask, sigma, v0, error, shift):
    """-2 log p(y_i | eta) for eta (..., N, 2) -> (..., N)."""
    r = np.exp(mu[0] + shift[:, 0] + eta[..., 0])[..., None]
    K = np.exp(mu[1] + shift[:, 1] + eta[..., 1])[..., None]
    with np.errstate(all="ignore"):
        f = K * np.exp(np.log(v0 / K) * np.exp(-r * T))
        if error == "lognormal":
            t = np.log(2 * np.pi * sigma**2) + ((np.log(Y) - np.log(f)) / sigma) ** 2 \
                + 2 * np.log(Y)
        else:
            s = sigma * f
            t = np.log(2 * np.pi * s**2) + ((Y - f) / s) ** 2
    out = np.where(mask, t, 0.0).sum(-1)
    return np.where(np.isfinite(out), out, 1e300)


def _positive(H, floor=1e-6):
    """Symmetrise and lift eigenvalues to at least ``floor`` (a safe Newton matrix)."""
    H = 0.5 * (H + np.swapaxes(H, -1, -2))
    w, U = np.linalg.eigh(H)
    w = np.maximum(np.where(np.isfinite(w), w, 1.0), floor)
    return np.einsum("nij,nj,nkj->nik", U, w, U)


def neg2ll(params, T, Y, mask, *, v0=1.0, error="lognormal", full=False, shift=None):
    """Exact -2 log L (adaptive Gauss-Hermite) at the given population parameters.

    ``shift`` (N, 2): covariate terms added to (log r, log K) of each subject."""
    mu = np.asarray(params[:2], float)
    om = np.exp(np.asarray(params[2:4], float))
    rho = np.tanh(params[4]) if full else 0.0
    sigma = float(np.exp(params[-1]))
    if abs(rho) > 0.9999 or not np.all(np.isfinite(om)) or np.any(om < 1e-8):
        return 1e12  # outside the parameter space (a singular Omega)
    Om = np.array([[om[0] ** 2, rho * om[0] * om[1]], [rho * om[0] * om[1], om[1] ** 2]])
    Oi = np.linalg.inv(Om)
    logdet = np.linalg.slogdet(Om)[1]
    N = T.shape[0]
    shift = np.zeros((N, 2)) if shift is None else np.asarray(shift, float)

    def g(eta):  # -2 log [p(y|eta) N(eta; 0, Omega)]
        q = np.einsum("...i,ij,...j->...", eta, Oi, eta)
        return _neg2_cond(eta, mu, T, Y, mask, sigma, v0, error, shift) + q + logdet + \
            2 * np.log(2 * np.pi)

    # start Newton from the best point of a coarse grid (+-6 omega, 25 x 25)
    z = np.linspace(-6, 6, 25)
    Zg = np.stack(np.meshgrid(z, z, indexing="ij"), -1).reshape(-1, 2) * om   # (G, 2)
    grid = g(np.broadcast_to(Zg[:, None, :], (Zg.shape[0], N, 2)))          # (G, N)
    eta = Zg[np.argmin(grid, axis=0)].copy()
    h = 1e-4
    E = np.eye(2) * h

    def derivatives(eta):
        g0 = g(eta)
        gp = np.stack([g(eta + E[k]) for k in range(2)], -1)
        gm = np.stack([g(eta - E[k]) for k in range(2)], -1)
        H = np.empty((N, 2, 2))
        for k in range(2):
            H[:, k, k] = (gp[:, k] - 2 * g0 + gm[:, k]) / h**2
        gpp = g(eta + E[0] + E[1])
        H[:, 0, 1] = H[:, 1, 0] = (gpp - gp[:, 0] - gp[:, 1] + g0) / h**2
        return g0, (gp - gm) / (2 * h), H

    for _ in range(100):  # damped Newton with backtracking, per subject
        g0, grad, H = derivatives(eta)
        step = -np.linalg.solve(_positive(H), grad[..., None])[..., 0]
        step = np.clip(step, -1.0, 1.0)
        t = np.ones(N)
        for _ in range(30):
            worse = g(eta + t[:, None] * step) > g0
            if not worse.any():
                break
            t[worse] *= 0.5
        t[g(eta + t[:, None] * step) > g0] = 0.0
        eta = eta + t[:, None] * step
        if np.abs(t[:, None] * step).max() < 1e-9:
            break
    H = derivatives(eta)[2]  # at the mode
    # scale: L L^T = (H/2)^-1, the covariance of the Laplace approximation
    # the curvature is at least half the prior's (a failed Hessian cannot widen the grid
    # beyond the prior's scale and leave the integrand between two grid points)
    floor = 0.5 * np.linalg.eigvalsh(2 * Oi).min()
    L = np.linalg.cholesky(np.linalg.inv(_positive(H, floor) / 2))
    # trapezoid rule on a dense grid in the Laplace-scaled coordinates (z in [-8, 8]^2):
    # no Gaussian weight to divide out, so heavier-than-Gaussian tails cannot blow up
    Z = np.stack([zx.ravel(), zy.ravel()], -1)                 # (Q, 2)
    pts = eta[None] + np.einsum("nij,qj->qni", L, Z)           # (Q, N, 2)
    lg = -0.5 * g(pts)
    mx = lg.max(0)
    ll = mx + np.log(np.exp(lg - mx).sum(0) * STEP**2) + np.log(np.abs(np.linalg.det(L)))
    return float(-2 * ll.sum())


def exact_ml(start, T, Y, mask, *, v0=1.0, error="lognormal", full=False):
    """Maximise the exact likelihood from ``start`` (L-BFGS-B with central-difference
    gradients, then Nelder-Mead to polish); returns (params, -2LL)."""
    x0 = np.asarray(start, float)

    def fun(x):
        return neg2ll(x, T, Y, mask, v0=v0, error=error, full=full)

    def grad(x, h=1e-5):
        e = np.eye(x.size) * h
        return np.array([(fun(x + e[k]) - fun(x - e[k])) / (2 * h) for k in range(x.size)])

    res = minimize(fun, x0, jac=grad, method="L-BFGS-B", options={"maxiter": 200,
                                                                  "ftol": 1e-12})
    res2 = minimize(fun, res.x, method="Nelder-Mead",
                    options={"xatol": 1e-5, "fatol": 1e-5, "maxfev": 300})
    best = res2 if res2.fun < res.fun else res
    return best.x, float(best.fun)


def params_of(res, full=False):
    """The parameter vector of this module from a PopulationResult."""
    j_r = res.param_names.index("growth_rate")
    j_k = res.param_names.index("carrying_capacity")
    p = [res.mu[j_r], res.mu[j_k], np.log(res.omega[j_r]), np.log(res.omega[j_k])]
    if full:
        p.append(np.arctanh(res.correlation[j_r, j_k]))
    return np.array(p + [np.log(res.sigma)])
