"""Closed forms for the metastasis tests: an exponential primary with exponential colonies
(Iwata et al. 2000)."""

from __future__ import annotations

import math

import numpy as np

#: primary volume at t0 (mm^3), primary rate (1/day), seeding rate, exponent, colony rate
V0, R, M, ALPHA, LAM = 50.0, 0.02, 1e-3, 0.8, 0.08
X0 = 1e-6  # colony start volume (mm^3): one cell at 1e6 cells/mm^3


def expected_count(t, v0=V0, r=R, m=M, alpha=ALPHA):
    """Iwata's closed form: colonies emitted by an exponential primary by time t."""
    t = np.asarray(t, dtype=float)
    tp = np.maximum(t, 0.0)
    return np.where(t > 0, m * v0**alpha * np.expm1(alpha * r * tp) / (alpha * r), 0.0)


def expected_above(t, size, lam=LAM, **kw):
    """Colonies larger than ``size`` (mm^3): the count at t - ln(size/x0)/lam."""
    return expected_count(np.asarray(t) - math.log(size / X0) / lam, **kw)


class PiecewiseExponential:
    """A primary whose log-volume is piecewise linear: segments (start, end, ln V(start), rate).

    ``cumulative(tau)`` is the exact emission m int V^alpha (closed form per segment),
    independent of the code under test.
    """

    def __init__(self, segments, m=M, alpha=ALPHA):
        self.segments = segments
        self.m, self.alpha = m, alpha

    def cumulative(self, tau):
        tau = np.atleast_1d(np.asarray(tau, dtype=float))
        out = np.zeros(tau.shape)
        for a, b, lnv, rate in self.segments:
            h = np.clip(tau - a, 0.0, b - a)
            k = self.alpha * rate
            part = h if k == 0 else np.expm1(k * h) / k
            out += self.m * math.exp(self.alpha * lnv) * part
        return out


def bisect(f, lo, hi, tol=1e-12):
    """Root of a monotone function on [lo, hi] (f(lo), f(hi) of opposite signs)."""
    flo = f(lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        fm = f(mid)
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
        if hi - lo < tol:
            break
    return 0.5 * (lo + hi)
