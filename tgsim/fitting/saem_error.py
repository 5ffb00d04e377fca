r"""Residual error models of the population fits, with one parameter row per SAEM run.

``ep`` holds the error parameters ``(sigma, 0)`` for the additive, proportional and
log-normal models and ``(a, b)`` for the combined model (sd = a + b f). Each function
takes them per row (``(M, 2)``) so that several independent runs share one batch.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

__all__ = ["sd_and_residual", "neg2ll_rows", "m_step_error", "EP_BOUNDS"]

#: bounds of the error parameters (a fit that ends on one is flagged)
EP_BOUNDS = {"sigma": (1e-6, 10.0), "additive": (1e-8, 1e12)}


def sd_and_residual(em: str, Y: np.ndarray, F: np.ndarray, ep: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Residual u and its standard deviation s on the scale of the error model.

    ``ep`` is (M, 2) for (M, m) arrays Y, F. Log-normal: u = log y - log f, s = sigma.
    """
    a = ep[:, 0:1]
    with np.errstate(all="ignore"):
        if em == "lognormal":
            return np.log(Y) - np.log(F), np.broadcast_to(a, F.shape)
        if em == "additive":
            return Y - F, np.broadcast_to(a, F.shape)
        if em == "proportional":
            return Y - F, a * np.abs(F)
        return Y - F, a + ep[:, 1:2] * np.abs(F)  # combined: sd = a + b f


def neg2ll_rows(em: str, Y: np.ndarray, F: np.ndarray, ep: np.ndarray, use: np.ndarray
                ) -> np.ndarray:
    """-2 log p(y_i | f_i) per row (log-normal: with the Jacobian of the log, 2 sum log y)."""
    u, s = sd_and_residual(em, Y, F, ep)
    with np.errstate(all="ignore"):
        terms = np.log(2 * np.pi * s**2) + (u / s) ** 2
        if em == "lognormal":
            terms = terms + 2 * np.log(Y)
    terms = np.where(use, terms, 0.0)
    out = terms.sum(axis=1)
    out[~np.isfinite(out)] = np.inf
    return out


def _combined_objective(logab: np.ndarray, r2: np.ndarray, f: np.ndarray, w: float) -> float:
    a, b = np.exp(logab)
    s = a + b * f
    return float(w * np.sum(np.log(s**2) + r2 / s**2))


def m_step_error(em: str, Y: np.ndarray, F: np.ndarray, use: np.ndarray, w: float,
                 ep_prev: np.ndarray) -> np.ndarray:
    """Maximiser of the expected residual likelihood over the current draws of one run.

    ``w`` weights the rows (1 / chains per subject). Returns ``(2,)``. The additive,
    proportional and log-normal models have a closed form (sigma^2 = mean square of the
    scaled residuals); the combined model is minimised numerically from ``ep_prev``.
    """
    m = use & np.isfinite(F) & (F > 0 if em != "additive" else np.isfinite(F))
    n = w * m.sum()
    if em == "combined":
        f = np.abs(F[m])
        r2 = (Y[m] - F[m]) ** 2
        x0 = np.log(np.maximum(ep_prev, 1e-8))
        res = minimize(_combined_objective, x0, args=(r2, f, w), method="Nelder-Mead",
                       options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 200})
        return np.exp(res.x)
    u, s = sd_and_residual(em, Y, F, np.array([[1.0, 0.0]]).repeat(F.shape[0], 0))
    ss = w * np.sum((u[m] / s[m]) ** 2)
    return np.array([np.sqrt(ss / max(n, 1.0)), 0.0])
