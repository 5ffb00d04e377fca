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
