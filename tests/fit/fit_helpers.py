"""Helpers for the fitting tests: independent model formulas and synthetic data."""

from __future__ import annotations

import numpy as np
import pytest


def gompertz(t, v0, r, k):
    """Gompertz volume written out independently of the card: K (V0/K)^exp(-r t)."""
    return k * (v0 / k) ** np.exp(-r * np.asarray(t))


def noisy(f, rng, error="proportional", sigma=0.1, n=1):
    """n noisy copies of the curve f under an error model."""
    f = np.asarray(f, dtype=float)
    eps = rng.standard_normal((n, f.size))
    if error == "proportional":
        return f * (1 + sigma * eps)
    if error == "additive":
        return f + sigma * eps
    if error == "lognormal":
        return f * np.exp(sigma * eps)
    raise ValueError(error)


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


GOMPERTZ_TRUE = {"initial_volume": 50.0, "growth_rate": 0.08, "carrying_capacity": 3000.0}
TIMES = np.arange(0.0, 30.0, 3.0)  # 10 points over 27 days


def multistart_reference(law, t, y, sigma, lo, hi, starts, log_scale, *, seed=1,
                         max_nfev=2000):
    """-2 log L (additive error, sigma fixed) of the best of scipy least_squares (trf,
    bounds) runs from ``starts(rng)`` draws: an optimiser independent of tgsim's. ``lo``,
    ``hi`` and the starts are on the fitting scale (log where ``log_scale``); inf when no
    run converges."""
    from scipy.optimize import least_squares

    rng = np.random.default_rng(seed)
    logs = np.asarray(log_scale, bool)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)

    def resid(x):
        p = np.where(logs, np.exp(x), x)
        with np.errstate(all="ignore"):
            r = (law(t, *p) - y) / sigma
        return np.where(np.isfinite(r), r, 1e10)

    best = np.inf
    for x0 in starts(rng):
        x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)
        r = least_squares(resid, x0, bounds=(lo, hi), xtol=1e-12, ftol=1e-12, gtol=1e-12,
                          max_nfev=max_nfev)
        if r.status > 0 and np.all(np.abs(r.fun) < 1e9):
            best = min(best, 2 * r.cost)
    return best + t.size * np.log(2 * np.pi * sigma**2)


def logistic_law(t, v0, r, k):
    return k * v0 / (v0 + (k - v0) * np.exp(-r * t))


def bertalanffy_law(t, v0, a, b):
    """Classical von Bertalanffy (gamma = 2/3) in closed form."""
    g = 1.0 / 3.0
    return (v0**g * np.exp(-g * b * t) - a * np.expm1(-g * b * t) / b) ** (1 / g)


#: Laleh battle laws: tgsim card, fixed values, scipy law, fitting-scale bounds (log of the
#: card bounds, a zero lower bound taken as 1e-12 x upper as tgsim does) and k random
#: starts (default 20)
LALEH_LAWS = {
    "logistic": ("logistic", {}, logistic_law,
                 np.log([1e-12, 1e-11, 1e-9]), np.log([1e12, 10.0, 1e12]),
                 lambda y, k=20: lambda rng: [
                     [np.log(max(y[0], 1e-9)) + rng.uniform(-1, 1),
                      np.log(10 ** rng.uniform(-4, 0)),
                      np.log(max(y.max(), 1e-9)) + rng.uniform(-3, 3)] for _ in range(k)]),
    "classical_bertalanffy": ("von_bertalanffy", {"exponent": 2.0 / 3.0}, bertalanffy_law,
                              np.log([1e-12, 1e-6, 1e-9]), np.log([1e12, 1e6, 10.0]),
                              lambda y, k=20: lambda rng: [
                                  [np.log(max(y[0], 1e-9)) + rng.uniform(-1, 1),
                                   np.log(10 ** rng.uniform(-4, 1)),
                                   np.log(10 ** rng.uniform(-4, 0))] for _ in range(k)]),
}


def laleh_training(records=None):
    """Training points of the Laleh battle (all but the last two of each record, time
    from the first point in weeks, normalised volume) and sigma = 10 % of their mean."""
    from studies.validation import laleh2022_lesions as L

    ids, T, V, _ = L.battle_records()
    idx = range(len(ids)) if records is None else [ids.index(r) for r in records]
    out = []
    for i in idx:
        k = int(np.isfinite(T[i]).sum()) - 2
        t, y = T[i, :k] - T[i, 0], V[i, :k]
        out.append((ids[i], t, y, 0.1 * float(np.mean(np.abs(y)))))
    return out
