r"""Asymptotic covariance of maximum-likelihood estimates, on the working and natural scales.

The kernel returns the expected Fisher information :math:`I(x)` of each subject on the
working scale (log parameters, log sigma). For the estimated components that are not at a
bound, :math:`\mathrm{Cov}(\hat x) = I^{-1}`; parameters held at a bound get no standard
error (NaN). With ``dof_correction`` the covariance is multiplied by
:math:`n / (n - k + 1)` (n usable points, k estimated parameters including sigma): the
residual variance then has n - k + 1 = n - p degrees of freedom, as in ordinary nonlinear
regression (the usual :math:`s^2 (J^TJ)^{-1}` of R's ``nls`` or scipy's ``curve_fit``), and
intervals use Student's t with n - p degrees of freedom. Natural-scale covariances follow by
the delta method, :math:`D\,\mathrm{Cov}(\hat x)\,D^T` with :math:`D = \partial q / \partial x`.

Wald intervals are built on the log scale for positive parameters (those fitted as logs
and the error parameters), :math:`q \exp(\pm t\,\mathrm{se}_{\log q})`, which keeps them
positive, and on the natural scale otherwise.
"""

from __future__ import annotations

import numpy as np

from .lm import Setup

__all__ = ["working_covariance", "natural_covariance", "wald_intervals", "dof", "dof_factor"]


def dof(nu: np.ndarray, k: int) -> np.ndarray:
    """Residual degrees of freedom n - p = n - (k - 1) (k counts sigma)."""
    return np.asarray(nu, dtype=np.float64) - (k - 1)


def dof_factor(nu: np.ndarray, k: int, dof_correction: bool = True) -> np.ndarray:
    """The factor n / (n - p) applied to the covariance (1 without the correction; NaN
    where there are no residual degrees of freedom)."""
    nu = np.asarray(nu, dtype=np.float64)
    if not dof_correction:
        return np.ones(nu.shape)
    d = dof(nu, k)
    return np.where(d > 0, nu / np.where(d > 0, d, 1.0), np.nan)


def _at_bound(setup: Setup, X: np.ndarray) -> np.ndarray:
    span = setup.hi - setup.lo
    tol = 1e-9 * np.maximum(span, 1.0)
    return (setup.free[None, :] == 1) & (
        (X - setup.lo[None, :] <= tol) | (setup.hi[None, :] - X <= tol)
    )


def working_covariance(setup: Setup, X: np.ndarray, info: np.ndarray, nu: np.ndarray,
                       *, dof_correction: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Covariance of the working estimates (n, K, K) and the at-bound mask (n, K).

    Components that are fixed get zero variance; components at a bound, or in a singular
    direction of the information, get NaN.
    """
    n, K = X.shape
    bound = _at_bound(setup, X)
    act = (setup.free[None, :] == 1) & ~bound
    A = np.where(act[:, :, None] & act[:, None, :], info, 0.0)
    eye = np.broadcast_to(np.eye(K), A.shape)
    A = np.where((~act)[:, :, None] & np.eye(K, dtype=bool)[None], eye, A)
    cov = np.full((n, K, K), np.nan)
    finite = np.all(np.isfinite(A), axis=(1, 2))
    if finite.any():
        w, V = np.linalg.eigh(A[finite])
        wmax = np.max(np.abs(w), axis=1, keepdims=True)
        sing = w <= 1e-12 * wmax
        winv = np.where(sing, 0.0, 1.0 / np.where(sing, 1.0, w))
        C = (V * winv[:, None, :]) @ V.transpose(0, 2, 1)  # V diag(1/w) V' (batched)
        C = 0.5 * (C + C.transpose(0, 2, 1))
        # a singular direction leaves every component it touches undetermined
        touched = ((V**2) @ sing.astype(float)[:, :, None])[:, :, 0] > 1e-8
        C = np.where(touched[:, :, None] | touched[:, None, :], np.nan, C)
        cov[finite] = C
    cov = np.where(act[:, :, None] & act[:, None, :], cov, 0.0)
    cov = np.where((bound[:, :, None] | bound[:, None, :]), np.nan, cov)
    fixed = setup.free == 0
    cov[:, fixed, :] = 0.0
    cov[:, :, fixed] = 0.0
    if dof_correction:
        cov = cov * dof_factor(nu, setup.k_free)[:, None, None]
    return cov, bound


def natural_covariance(setup: Setup, X: np.ndarray, cov_w: np.ndarray) -> np.ndarray:
    """Covariance (n, q, q) of the reported parameters (growth, then error)."""
    D = setup.natural_jacobian(X)
    Dz = np.where(np.isnan(cov_w).any(axis=2, keepdims=True).transpose(0, 2, 1) & (D == 0),
                  0.0, D)
    C = Dz @ np.nan_to_num(cov_w, nan=0.0) @ Dz.transpose(0, 2, 1)
    C = 0.5 * (C + C.transpose(0, 2, 1))
    # propagate NaN from undetermined working components actually used
    nanw = np.isnan(np.diagonal(cov_w, axis1=1, axis2=2))  # (n, K)
    used = ((D != 0).astype(float) @ nanw.astype(float)[:, :, None])[:, :, 0] > 0
    C = np.where(used[:, :, None] | used[:, None, :], np.nan, C)
    return C


def wald_intervals(estimate: np.ndarray, cov: np.ndarray, log_type: np.ndarray,
                   tq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wald intervals (lower, upper), on the log scale where ``log_type`` (q,) is True."""
    se = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
    se = np.where(np.isnan(np.diagonal(cov, axis1=1, axis2=2)), np.nan, se)
    t = np.asarray(tq, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rel = se / np.abs(estimate)
        lo_log = estimate * np.exp(-t * rel)
        hi_log = estimate * np.exp(t * rel)
    lo_lin = estimate - t * se
    hi_lin = estimate + t * se
    lg = np.asarray(log_type, bool)[None, :] & (estimate > 0)
    return np.where(lg, lo_log, lo_lin), np.where(lg, hi_log, hi_lin)
