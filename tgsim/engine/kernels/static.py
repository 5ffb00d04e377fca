"""Card-independent kernel helpers: compiled once, shared by every card's job modules.

Dose grouping, treatment rates and segment bookkeeping do not depend on the card, so
they live here rather than in the templates: a new card compiles only its own functions
and the job templates around them. A job module's hash includes this file's text
(:func:`tgsim.engine.compile.job_source`), so an edit here rebuilds the job modules too.
Numba caches these beside the installed package, like its bytecode.
"""

import math
import sys

from numba import njit

from .cache import guard_module


@njit(cache=True, error_model="numpy")
def dose_groups(dose, tseg, gk, gh, gsum):
    """Bolus doses given by ``tseg``, summed per (elimination rate, hypothesis).

    A dose of amount A given at t_i acts as A exp(-k (t - t_i)); the doses of one group
    together act as gsum[g] exp(-gk[g] (t - tseg)) on the segment that starts at tseg, so
    a stage needs one exp per group instead of one per dose. gh[g] is 1 for Norton-Simon,
    0 for log-kill. Returns the number of groups.
    """
    ng = 0
    for i in range(dose.shape[0]):
        ti = dose[i, 0]
        if ti <= tseg:
            k = dose[i, 2]
            h = 1.0 if dose[i, 4] > 0.5 else 0.0
            g = 0
            while g < ng and not (gk[g] == k and gh[g] == h):
                g += 1
            if g == ng:
                gk[g] = k
                gh[g] = h
                gsum[g] = 0.0
                ng += 1
            gsum[g] += dose[i, 3] * dose[i, 1] * math.exp(-k * (tseg - ti))
    return ng


@njit(cache=True, error_model="numpy")
def treatment_rates(t, tseg, gk, gh, gsum, ng, expo, acc):
    """Growth multiplier, log-kill hazard, Norton-Simon fraction and infiltration at t
    (doses as grouped by dose_groups at the segment start tseg)."""
    a = 1.0
    for i in range(acc.shape[0]):
        onset = acc[i, 0]
        if onset <= tseg:
            ramp = acc[i, 2]
            if ramp > 0.0:
                frac = (t - onset) / ramp
                if frac > 1.0:
                    frac = 1.0
                elif frac < 0.0:
                    frac = 0.0
                a *= 1.0 + (acc[i, 1] - 1.0) * frac
            else:
                a *= acc[i, 1]
    lk = 0.0
    ns = 0.0
    for g in range(ng):
        c = gsum[g] * math.exp(-gk[g] * (t - tseg))
        if gh[g] > 0.5:
            ns += c
        else:
            lk += c
    infil = 0.0
    for i in range(expo.shape[0]):
        if expo[i, 0] <= tseg and tseg < expo[i, 1]:
            lk += expo[i, 2] * math.exp(-expo[i, 3] * (t - expo[i, 0]))
            infil += expo[i, 4]
    return a, lk, ns, infil


@njit(cache=True, error_model="numpy")
def segment_end(bp, ib, t, tend):
    """The next breakpoint after ``t`` (or ``tend``), and its index in ``bp``."""
    nb = bp.shape[0]
    while ib < nb and bp[ib] <= t:
        ib += 1
    if ib < nb and bp[ib] < tend:
        return ib, bp[ib]
    return ib, tend


@njit(cache=True, error_model="numpy")
def _norm(y):
    acc = 0.0
    for i in range(y.shape[0]):
        acc += y[i] * y[i]
    return math.sqrt(acc / y.shape[0])


@njit(cache=True, error_model="numpy", inline="always")
def first_step(d0, d1, span):
    """Initial step of an adaptive segment: about a 1 % change of the state (d0: its size,
    d1: the size of its derivative; 1e-3 days when either is tiny), at most a tenth of
    the segment ``span``."""
    h = 0.01 * d0 / d1 if d0 > 1e-5 and d1 > 1e-5 else 1e-3
    return min(h, 0.1 * span)


@njit(cache=True, error_model="numpy", inline="always")
def step_to(t, h, b):
    """The step to try from ``t`` with size ``h`` towards the breakpoint ``b``: ``(hs,
    last)``, landing exactly on ``b`` when it is within reach (or rounding of it)."""
    if t + h >= b or (b - t - h) <= 1e-13 * abs(b):
        return b - t, True
    return h, False


@njit(cache=True, error_model="numpy", inline="always")
def record_until(out, k, times, at, y, n):
    """Write the state ``y[:n]`` to every output row ``k..`` whose time is ``<= at`` (the
    outputs at an event or the start: right-continuous); returns the next row."""
    while k < times.shape[0] and times[k] <= at:
        for i in range(n):
            out[k, i] = y[i]
        k += 1
    return k


# a cache entry that cannot be read is rebuilt, not an UnpicklingError (see cache.py)
guard_module(sys.modules[__name__])
