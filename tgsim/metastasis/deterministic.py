r"""Expected colony counts by the method of characteristics (McKendrick-von Foerster).

The colony size density :math:`\rho(t, x)` solves :math:`\partial_t\rho +
\partial_x(g\rho) = 0` with the boundary flux :math:`g(x_0, t)\rho(t, x_0) = \beta(t)`.
Along characteristics, the colonies born at :math:`\tau` have the size
:math:`X(t; \tau)` (the colony law started from :math:`x_0` at :math:`\tau`), so the expected
number of colonies larger than :math:`s` at time :math:`t` is

.. math:: N(t, s) = \int_{t_0}^{t} \beta(\tau)\, \mathbf 1[X(t;\tau) > s]\, d\tau
          + \sum_{d_i \le t} n_i\, \mathbf 1[X(t; d_i) > s]

(the sum over shed boluses of :math:`n_i` colonies at days :math:`d_i`).

* **Untreated colonies** (``method="age"``): :math:`X(t;\tau) = F(t - \tau)` with
  :math:`F` increasing, so :math:`X > s \iff \tau < t - F^{-1}(s)` and
  :math:`N(t, s) = \Lambda(t - F^{-1}(s))` with :math:`\Lambda` the cumulative intensity.
  :math:`\Lambda` is analytic (:mod:`tgsim.metastasis.seeding`) and :math:`F^{-1}` comes from
  a log-linear inversion of a fine table of :math:`F`; both are exact for exponential
  growth (Iwata et al. 2000: :math:`N(t) = m V_0^\alpha (e^{\alpha r t} - 1)/(\alpha r)`).
* **Treated colonies** (``method="characteristics"``): :math:`X(t; \tau_j)` is integrated for
  every node of a birth grid; between nodes :math:`\ln X` is taken linear in :math:`\tau`,
  which places the crossing of :math:`s` inside a birth interval, and the exact
  :math:`\Lambda` integrates the emission over the part of the interval above :math:`s`.
  This is exact for exponential colonies and second order in the birth step otherwise.

The expected burden :math:`\int x \rho\, dx = \int \beta(\tau) X(t;\tau)\, d\tau` uses the
midpoint (untreated) or trapezoid (treated) rule in the measure :math:`d\Lambda`.
Counts of a Poisson process are Poisson, so P(at least one) = 1 - exp(-N).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import TgsimError
from . import _kernels as K
from .colonies import ColonyGrowth, age_table, grow
from .model import MetastasisModel
from .seeding import Intensity, secondary_intensity

__all__ = ["Counts", "expected_counts"]

LN2 = math.log(2.0)


@dataclass
class Counts:
    """Colony counts above volume thresholds at the output times, and related values."""

    above: NDArray[np.float64]          # (n, K, Q) colonies with volume > thr[q]
    burden: NDArray[np.float64]         # (n, K) mm^3
    time_to_detection: NDArray[np.float64]  # (n,) days (NaN: not within the times)
    p_detected: NDArray[np.float64]     # (n,) P(a colony detectable by the last time)
    cum_detected: NDArray[np.float64]   # (n, K) P(a colony has been detectable by t[k])
    status: NDArray[np.int8]            # (n,)
    method: str
    p_any: NDArray[np.float64] | None = None  # stochastic: (n, K, Q') empirical
    se: dict[str, NDArray[np.float64]] | None = None


def birth_grid(intensity: Intensity, t: NDArray[np.float64], points: int,
               extra: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Shared birth nodes: the output times, the days of shed boluses, ``extra`` days
    (treatment breakpoints of the colonies) and ``points`` uniform nodes from the start of
    seeding to t[-1]."""
    w = intensity.w
    lo, hi = float(w[0]), float(t[-1])
    atoms = w[intensity.atoms.any(axis=0)]
    parts = [t, atoms, np.linspace(lo, hi, max(int(points), 2)), [lo]]
    if extra is not None:
        parts.append(np.asarray(extra, dtype=np.float64).ravel())
    nodes = np.concatenate(parts)
    nodes = nodes[np.isfinite(nodes)]
    return np.unique(nodes[(nodes >= lo) & (nodes <= hi)])


def _atoms_on(intensity: Intensity, tb: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.zeros((intensity.n, tb.size))
    j = np.flatnonzero(intensity.atoms.any(axis=0))
    for jj in j:
        wj = intensity.w[jj]
        if wj <= tb[-1]:
            out[:, int(np.searchsorted(tb, wj))] += intensity.atoms[:, jj]
    return out


def expected_counts(intensity: Intensity, growth: ColonyGrowth, t: NDArray[np.float64],
                    thr: NDArray[np.float64], det_index: int, *, v_ext: float,
                    age_points: int, birth_points: int, rtol: float, atol: float,
                    max_steps: int, model: MetastasisModel | None = None,
                    secondary_points: int = 1001, chunk_values: int = 20_000_000) -> Counts:
    """Expected colonies above each volume threshold ``thr`` (mm^3) at times ``t``.

    ``thr[det_index]`` is the detection volume. Uses the exact untreated path when the
    colonies are untreated and their curve increases, else characteristics on a birth grid.
    With ``model.secondary_seeding_rate`` > 0 the colonies' own emission is added
    (untreated path only).
    """
    secondary = model is not None and model.has_secondary_seeding
    if not growth.treated and v_ext <= growth.P[0, growth.model.parameter_names.index(
            "initial_volume")]:
        horizon = float(t[-1] - intensity.w[0])
        ages, logF, ok = age_table(growth, horizon, age_points)
        if np.all(ok):
            parts = [intensity]
            if secondary:
                parts.append(secondary_intensity(intensity, ages, logF, model, float(t[-1]),
                                                 secondary_points))
            return _untreated(parts, ages, logF, t, thr, det_index)
    if secondary:
        raise TgsimError(
            "secondary seeding (secondary_seeding_rate > 0) needs untreated colonies with an "
            "increasing growth curve (no systemic therapy or colony acceleration in the "
            "schedule, no extinction)")
    return _characteristics(intensity, growth, t, thr, det_index, v_ext=v_ext,
                            birth_points=birth_points, rtol=rtol, atol=atol,
                            max_steps=max_steps, chunk_values=chunk_values)


def _above(I: Intensity, A: NDArray[np.float64], t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Lambda_i(t_k - A_q): colonies above each threshold with an age curve."""
    above = np.empty((I.n, t.size, A.shape[1]))
    if A.shape[0] == 1:
        x = t[:, None] - A[0][None, :]
        jq = np.searchsorted(I.w, x, side="right").astype(np.int64) - 1
        jq[~np.isfinite(x)] = -1
        dq = np.where(jq >= 0, x - I.w[np.clip(jq, 0, I.w.size - 1)], 0.0)
        K.counts_shared_queries(I.C, I.amp, I.kk, I.Acum, jq, dq, above)
    else:
        K.counts_autonomous(I.w, I.C, I.amp, I.kk, I.Acum, t, A, above)
    return above


def _burden(I: Intensity, ages, logF, t) -> NDArray[np.float64]:
    """Expected metastatic volume: midpoint rule in dLambda over sub-pieces of the nodes
    and output times, plus the shed boluses exactly."""
    n = I.n
    nodes = np.unique(np.concatenate([I.w[I.w <= t[-1]], t]))
    nodes = nodes[nodes >= I.w[0]]
    sub = 4
    z = np.unique(np.concatenate([nodes, (nodes[:-1, None] + np.diff(nodes)[:, None]
                                          * (np.arange(1, sub) / sub)[None, :]).ravel()]))
    dlam = np.diff(I.continuous(z), axis=1)
    zmid = 0.5 * (z[:-1] + z[1:])
    watoms = np.flatnonzero(I.atoms.any(axis=0) & (I.w <= t[-1]))
    if logF.shape[0] == 1:
        ageq = t[:, None] - zmid[None, :]
        Fm = np.where(ageq >= 0, np.exp(np.interp(ageq, ages, logF[0])), 0.0)
        burden = dlam @ Fm.T
        if watoms.size:
            agea = t[:, None] - I.w[watoms][None, :]
            Fa = np.where(agea >= 0, np.exp(np.interp(agea, ages, logF[0])), 0.0)
            burden += I.atoms[:, watoms] @ Fa.T
        return burden
    ageq = t[:, None] - zmid[None, :]
    nq = np.sum(ageq >= 0, axis=1).astype(np.int64)  # zmid increasing
    jq = np.clip(np.searchsorted(ages, ageq, side="right") - 1, 0, ages.size - 2)
    fq = np.clip((ageq - ages[jq]) / (ages[jq + 1] - ages[jq]), 0.0, 1.0)
    burden = np.empty((n, t.size))
    K.burden_table_index(logF, jq.astype(np.int64), fq, nq, np.ascontiguousarray(dlam),
                         burden)
    for j in watoms:
        agea = t - I.w[j]
        for i in range(n):
            Fa = np.where(agea >= 0, np.exp(np.interp(agea, ages, logF[i])), 0.0)
            burden[i] += I.atoms[i, j] * Fa
    return burden


def _untreated(parts: list[Intensity], ages, logF, t, thr, det_index) -> Counts:
    I = parts[0]
    n = I.n
    with np.errstate(divide="ignore"):
        logs = np.log(thr)
    A = np.empty((logF.shape[0], thr.size))
    K.invert_log_table(ages, logF, logs, A)
    above = _above(I, A, t)
    burden = _burden(I, ages, logF, t)
    for extra in parts[1:]:
        above += _above(extra, A, t)
        burden += _burden(extra, ages, logF, t)

    # median time to the first detectable colony: Lambda(t* - A_det) = ln 2
    a_det = A[:, det_index] if A.shape[0] > 1 else np.full(n, A[0, det_index])
    tau = np.empty(n)
    if len(parts) == 1:
        K.inverse_lam_total(I.w, I.C, I.amp, I.kk, I.Acum, np.full(n, LN2), tau)
    else:
        grid = np.unique(np.concatenate([p.w[p.w <= t[-1]] for p in parts]))
        lam = sum(p.cumulative(grid) for p in parts)
        for i in range(n):
            hit = np.flatnonzero(lam[i] >= LN2)
            if not hit.size:
                tau[i] = np.inf
            elif hit[0] == 0:
                tau[i] = grid[0]
            else:
                h = hit[0]
                f = (LN2 - lam[i, h - 1]) / (lam[i, h] - lam[i, h - 1])
                tau[i] = grid[h - 1] + f * (grid[h] - grid[h - 1])
    ttd = tau + a_det
    ttd = np.where(np.isfinite(ttd) & (ttd <= t[-1]), ttd, np.nan)
    cum = -np.expm1(-above[:, :, det_index])
    status = np.zeros(n, dtype=np.int8)
    return Counts(above=above, burden=burden, time_to_detection=ttd, p_detected=cum[:, -1],
                  cum_detected=cum, status=status,
                  method="age" if len(parts) == 1 else "age+secondary")


def _characteristics(I: Intensity, growth: ColonyGrowth, t, thr, det_index, *, v_ext,
                     birth_points, rtol, atol, max_steps, chunk_values) -> Counts:
    n = I.n
    packed = growth.schedule.pack(n, float(I.w[0]), float(t[-1]), warn=False)
    tb = birth_grid(I, t, birth_points, packed.bp)
    J = tb.size
    kidx = np.searchsorted(tb, t).astype(np.int64)
    atoms_tb = _atoms_on(I, tb)
    above = np.zeros((n, t.size, thr.size))
    burden = np.zeros((n, t.size))
    ttd = np.full(n, np.nan)
    cum = np.zeros((n, t.size))
    status = np.zeros(n, dtype=np.int8)
    v_det = float(thr[det_index])
    per = max(1, int(chunk_values // max(J * (t.size + 1), 1)))
    for s0 in range(0, n, per):
        rows = np.arange(s0, min(n, s0 + per))
        births = np.tile(tb, rows.size)
        owner = np.repeat(rows, J).astype(np.int64)
        X, first, st = grow(growth, packed, tb, kidx, births, owner, v_ext=v_ext, v_det=v_det,
                            rtol=rtol, atol=atol, max_steps=max_steps)
        X = X.reshape(rows.size, J, t.size)
        D = first.reshape(rows.size, J)
        st = st.reshape(rows.size, J)
        sl = slice(rows[0], rows[-1] + 1)
        a = np.empty((rows.size, t.size, thr.size))
        b = np.empty((rows.size, t.size))
        C, amp, kk = I.C[sl], I.amp[sl], I.kk[sl]
        K.counts_general(tb, np.ascontiguousarray(X), kidx, I.w, C, amp, kk,
                         np.ascontiguousarray(atoms_tb[sl]), thr, a, b)
        above[sl] = a
        burden[sl] = b
        ever = np.empty((rows.size, J))
        K.ever_detected_general(tb, np.ascontiguousarray(D), I.w, C, amp, kk,
                                np.ascontiguousarray(atoms_tb[sl]), tb, ever)
        for r, i in enumerate(rows):
            hit = np.flatnonzero(ever[r] >= LN2)
            if hit.size:
                h = hit[0]
                if h == 0:
                    ttd[i] = tb[0]
                else:
                    e0, e1 = ever[r, h - 1], ever[r, h]
                    f = (LN2 - e0) / (e1 - e0) if e1 > e0 else 1.0
                    ttd[i] = tb[h - 1] + f * (tb[h] - tb[h - 1])
            cum[i] = -np.expm1(-ever[r, kidx])
            bad = st[r] != 0
            if bad.any():
                status[i] = st[r][bad][0]
    ttd = np.where(ttd <= t[-1], ttd, np.nan)
    return Counts(above=above, burden=burden, time_to_detection=ttd, p_detected=cum[:, -1],
                  cum_detected=cum, status=status, method="characteristics")
