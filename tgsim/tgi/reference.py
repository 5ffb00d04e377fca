"""SciPy reference integration of exposure-driven kill, for any effect and transit.

:func:`simulate_reference` integrates

* without transit: :math:`dV/dt = g(V) - \\sum_d h_d(t) V`;
* with Simeoni damage compartments for drug ``d``: proliferating cells :math:`x_1` obey
  :math:`\\dot x_1 = g(w) x_1 / w - \\sum_d h_d(t) x_1`, the killed cells enter that drug's
  chain and pass through it at its transit rate; :math:`w` (the returned size) is the sum
  of all compartments;

with ``scipy.integrate.solve_ivp`` (DOP853 by default), restarting at every dose-term onset
so that no step straddles a switch. It is slow (one Python call per right-hand side) and
serves as the oracle of the compiled path and as the simulator of effects that the
compiled kernels do not support yet.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import ScheduleError
from .drug import Drug

__all__ = ["simulate_reference"]


def simulate_reference(
    growth: Callable[[float], float],
    initial_volume: float,
    drugs: Drug | Sequence[Drug],
    times: Any,
    *,
    subject: int = 0,
    t0: float | None = None,
    method: str = "DOP853",
    rtol: float = 1e-11,
    atol: float = 1e-12,
) -> np.ndarray:
    """Tumour size (mm³) at ``times`` under exposure-driven drugs, by ``solve_ivp``.

    Parameters
    ----------
    growth : callable
        Untreated growth rate ``g(V)`` (mm³/day) as a function of the size ``V``.
    initial_volume : float
        Size at ``t0`` (mm³).
    drugs : Drug or sequence of Drug
        The drugs (:class:`tgsim.tgi.Drug`).
    times : array
        Output times (days, increasing, >= ``t0``).
    subject : int
        Which regimen of each drug (its ``subjects`` index).
    t0 : float, optional
        Start (default ``times[0]``).

    Returns
    -------
    numpy.ndarray
        Total size (proliferating plus damaged cells) at ``times``.

    Examples
    --------
    >>> from tgsim.tgi import Drug, Linear, OneCompartment
    >>> d = Drug(doses={"day": [0.0], "amount": [1.0]}, pk=OneCompartment(1.0),
    ...          effect=Linear(0.0))
    >>> v = simulate_reference(lambda v: 0.1 * v, 1.0, d, [0.0, 10.0])
    >>> round(float(v[1]), 9)
    2.718281828
    """
    from scipy.integrate import solve_ivp

    drugs = [drugs] if isinstance(drugs, Drug) else list(drugs)
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) <= 0):
        raise ScheduleError("times must be a non-empty increasing 1-D array of days")
    start = float(t[0] if t0 is None else t0)
    chains = []
    k = 1
    for d in drugs:
        if d.transit is not None:
            chains.append((k, d.transit.n, float(np.asarray(d.transit.rate))))
            k += d.transit.n
        else:
            chains.append(None)

    # the hazard's pieces, computed once: exposure terms, first dose, resistance, effect
    pieces = []
    for d in drugs:
        tm = d.terms(subject)
        pieces.append((tm.on, tm.coef, tm.rate, d.first_dose(subject),
                       float(np.asarray(d.resistance_rate)), d.effect))

    def hazard(tt: float, on, coef, rate, t1, lam, effect) -> float:
        if tt < t1:
            return 0.0
        live = on <= tt
        c = float(np.sum(coef[live] * np.exp(-rate[live] * (tt - on[live]))))
        return float(effect(np.array(c))) * math.exp(-lam * (tt - t1))

    def rhs(tt: float, y: np.ndarray) -> np.ndarray:
        w = float(y.sum())
        dy = np.zeros_like(y)
        dy[0] = growth(w) * y[0] / w if w > 0 else 0.0
        for piece, chain in zip(pieces, chains, strict=True):
            kill = hazard(tt, *piece) * y[0]
            dy[0] -= kill
            if chain is not None:
                j, n, rate = chain
                dy[j] += kill - rate * y[j]
                for m in range(j + 1, j + n):
                    dy[m] += rate * (y[m - 1] - y[m])
        return dy

    onsets = np.unique(np.concatenate([d.terms(subject).on for d in drugs] + [np.empty(0)]))
    cuts = [start, *[float(x) for x in onsets if start < x < t[-1]], float(t[-1])]
    y = np.zeros(k)
    y[0] = float(initial_volume)
    out = np.full(t.size, np.nan)
    out[t == start] = y.sum()
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        if b <= a:
            continue
        inside = (t > a) & (t <= b)
        grid = np.unique(np.append(t[inside], b))
        sol = solve_ivp(rhs, (a, b), y, method=method, rtol=rtol, atol=atol, t_eval=grid)
        if not sol.success:
            raise ScheduleError(f"reference integration failed on [{a:g}, {b:g}]: "
                                f"{sol.message}")
        out[inside] = sol.y.sum(0)[: int(inside.sum())]
        y = sol.y[:, -1]
    return out

