r"""Emission of colonies by a simulated primary: the piecewise-exact intensity.

Between two times :math:`u_k < u_{k+1}` of the primary's trajectory (days) the primary
volume is taken log-linear, :math:`\ln V(u) = \ln V(u_k) + c_k (u - u_k) + J(u) - J(u_k)`,
where :math:`J` is the sum of the log jump factors of surgery and radiotherapy up to
:math:`u` (a jump inside an interval is placed at its day, so the known jump factor and
the interval's two end values fix the slope :math:`c_k`). This is exact for exponential
growth and second order in the step otherwise. The emission rate is then, on every piece
of a grid that also contains every event day,

.. math:: \beta(t) = m\,S\,V(t)^\alpha = a_j\, e^{\alpha c_k (t - w_j)},

whose integral is analytic: :math:`\Lambda(t) = C_j + a_j (e^{\alpha c_k (t - w_j)} - 1) /
(\alpha c_k)`. Shed colonies (``Surgery.shed_colonies``) are point masses of
:math:`\Lambda` at the day of the operation. Seeding stops (S = 0) from the day of a complete
resection (``resected_fraction >= MetastasisModel.complete_resection``); the
``seeding_factor`` of every :class:`~tgsim.treatment.Acceleration` multiplies S from its
onset (a step; its ``ramp_days`` applies to growth only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import TgsimError
from ..treatment import Schedule, Surgery
from . import _kernels as K
from .model import MetastasisModel

__all__ = ["Intensity", "emission_intensity", "secondary_intensity"]


@dataclass
class Intensity:
    """The cumulative emission intensity of each primary of a cohort, piecewise exact.

    Attributes
    ----------
    w : ndarray (L+1,)
        Shared piece nodes (days).
    C : ndarray (n, L+1)
        Continuous cumulative intensity at the nodes (colonies).
    amp, kk : ndarray (n, L)
        Emission rate at the start of each piece (colonies/day) and its log-slope (1/day).
    atoms : ndarray (n, L+1)
        Expected colonies shed at each node; ``Acum`` is their cumulative sum.
    bad : ndarray of bool (n,)
        Subjects whose primary trajectory is not usable (NaN, failed simulation).
    """

    w: NDArray[np.float64]
    C: NDArray[np.float64]
    amp: NDArray[np.float64]
    kk: NDArray[np.float64]
    atoms: NDArray[np.float64]
    Acum: NDArray[np.float64]
    log_volume: NDArray[np.float64]  # (n, L+1) log primary volume just after each node
    bad: NDArray[np.bool_]
    slope: NDArray[np.float64] | None = None  # (n, L+1) log-volume slope on each piece

    @property
    def n(self) -> int:
        return self.C.shape[0]

    def total(self) -> NDArray[np.float64]:
        """Expected number of colonies emitted by the last node (shed included)."""
        return self.C[:, -1] + self.Acum[:, -1]

    def cumulative(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Lambda_i(x[k]) for every subject, shape (n, len(x))."""
        x = np.asarray(x, dtype=np.float64).ravel()
        order = np.argsort(x, kind="stable")  # the kernel walks increasing times
        out = np.empty((self.n, x.size, 1))
        K.counts_autonomous(self.w, self.C, self.amp, self.kk, self.Acum,
                            np.ascontiguousarray(x[order]), np.zeros((1, 1)), out)
        res = np.empty((self.n, x.size))
        res[:, order] = out[:, :, 0]
        return res

    def continuous(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Continuous part of Lambda_i(x[k]) (shed colonies excluded), shape (n, len(x))."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        j = np.clip(np.searchsorted(self.w, x, side="right") - 1, 0, None)
        return self.cumulative(x) - np.where(x >= self.w[0], self.Acum[:, j], 0.0)

    def rate(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Emission rate (colonies/day) at x (right limit; left limit at the last node)."""
        x = np.asarray(x, dtype=np.float64)
        L = self.w.size - 1
        j = np.clip(np.searchsorted(self.w, x, side="right") - 1, 0, L - 1)
        inside = (x >= self.w[0]) & (x <= self.w[-1])
        r = self.amp[:, j] * np.exp(self.kk[:, j] * (x - self.w[j]))
        return np.where(inside, r, 0.0)

    def volume(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Primary volume (mm^3) at x as interpolated for seeding (right-continuous)."""
        x = np.asarray(x, dtype=np.float64)
        L = self.w.size - 1
        j = np.clip(np.searchsorted(self.w, x, side="right") - 1, 0, L - 1)
        assert self.slope is not None
        return np.exp(self.log_volume[:, j] + self.slope[:, j] * (x - self.w[j]))


def _broadcast(value, n: int, what: str) -> NDArray[np.float64]:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return np.full(n, float(a))
    if a.shape[0] == 1:
        return np.full(n, float(a[0]))
    if a.shape[0] != n:
        raise TgsimError(f"`{what}` has {a.shape[0]} values but there are {n} primaries "
                         "(give a scalar or one value per primary)")
    return a.astype(np.float64, copy=True)


def emission_intensity(times: NDArray[np.float64], volume: NDArray[np.float64],
                       schedule: Schedule, model: MetastasisModel, t0: float
                       ) -> Intensity:
    """Build the piecewise emission intensity from primary volumes on a time grid.

    Parameters
    ----------
    times : ndarray (M+1,)
        Times of the primary trajectory (days), increasing.
    volume : ndarray (n, M+1)
        Primary volume (mm^3), right-continuous at event days.
    schedule : Schedule
        The primary's treatment (jumps, resection, shedding, seeding factors).
    model : MetastasisModel
    t0 : float
        Start of the primary simulation (days), for packing the schedule.
    """
    u = np.asarray(times, dtype=np.float64)
    V = np.asarray(volume, dtype=np.float64)
    n, M1 = V.shape
    if M1 < 2:
        raise TgsimError("the primary trajectory needs at least 2 times to define seeding")
    bad = ~np.all(np.isfinite(V), axis=1)
    Vc = np.where(np.isfinite(V), V, 1.0)
    lnV = np.log(np.maximum(Vc, 1e-300))
    m = _broadcast(model.seeding_rate, n, "seeding_rate")
    alpha = _broadcast(model.seeding_exponent, n, "seeding_exponent")

    packed = schedule.pack(n, min(t0, float(u[0])), float(u[-1]), warn=False)
    jt, jf = packed.jt, packed.jf
    # a cell kill is stored as minus its surviving fraction (see the kernel header); the
    # primary's volume is interpolated between samples with the factor on sensitive cells
    logjf = np.log(np.maximum(np.abs(jf), 1e-300))

    # resection day, shed colonies, seeding factors
    resect = np.full(n, np.inf)
    shed_days: list[NDArray[np.float64]] = []
    shed_n: list[NDArray[np.float64]] = []
    for x in schedule:
        if isinstance(x, Surgery):
            day = _broadcast(x.day, n, f"{x.label}.day")
            frac = _broadcast(x.resected_fraction, n, f"{x.label}.resected_fraction")
            full = frac >= model.complete_resection - 1e-12
            resect = np.where(full, np.minimum(resect, day), resect)
            shed = _broadcast(x.shed_colonies, n, f"{x.label}.shed_colonies")
            if np.any(shed > 0):
                shed_days.append(day)
                shed_n.append(shed)
    sf_on: list[NDArray[np.float64]] = []
    sf_val: list[NDArray[np.float64]] = []
    for a in schedule.accelerations():
        f = _broadcast(a.seeding_factor, n, f"{a.label}.seeding_factor")
        if np.any(f != 1.0):
            sf_on.append(_broadcast(a.onset_day, n, f"{a.label}.onset_day"))
            sf_val.append(f)

    lo, hi = float(u[0]), float(u[-1])
    extra = [jt.ravel(), resect, *shed_days, *sf_on]
    ev = np.concatenate(extra) if extra else np.empty(0)
    ev = ev[np.isfinite(ev) & (ev > lo) & (ev < hi)]
    w = np.unique(np.concatenate([u, ev]))
    L = w.size - 1

    # cumulative log-jumps (right-continuous) at u and w
    def jumps_at(x: NDArray[np.float64]) -> NDArray[np.float64]:
        if jt.shape[1] == 0:
            return np.zeros((n, x.size))
        return np.einsum("ijk,ij->ik", (jt[:, :, None] <= x[None, None, :]).astype(float),
                         logjf)

    Ju = jumps_at(u)
    Jw = jumps_at(w)
    du = np.diff(u)
    c = (np.diff(lnV, axis=1) - np.diff(Ju, axis=1)) / du  # (n, M)
    kidx = np.clip(np.searchsorted(u, w[:-1], side="right") - 1, 0, M1 - 2)  # (L,)
    lnw = lnV[:, kidx] + c[:, kidx] * (w[:-1] - u[kidx]) + Jw[:, :-1] - Ju[:, kidx]
    S = np.ones((n, L))
    for on, val in zip(sf_on, sf_val, strict=True):
        S *= np.where(on[:, None] <= w[None, :-1], val[:, None], 1.0)
    S *= (w[None, :-1] < resect[:, None])
    with np.errstate(over="ignore", under="ignore"):
        amp = m[:, None] * S * np.exp(alpha[:, None] * lnw)
    kk = alpha[:, None] * c[:, kidx]
    dw = np.diff(w)
    with np.errstate(over="ignore", invalid="ignore"):
        x = kk * dw[None, :]
        small = np.abs(x) < 1e-10
        E = np.where(small, dw[None, :] * (1 + 0.5 * x), np.expm1(x) / np.where(small, 1.0, kk))
    cont = amp * E
    cont = np.where(amp > 0, cont, 0.0)
    C = np.concatenate([np.zeros((n, 1)), np.cumsum(cont, axis=1)], axis=1)
    atoms = np.zeros((n, L + 1))
    for day, shed in zip(shed_days, shed_n, strict=True):
        ok = np.isfinite(day) & (day >= lo) & (day <= hi)
        j = np.searchsorted(w, day[ok])
        np.add.at(atoms, (np.flatnonzero(ok), j), shed[ok])
    bad = bad | ~np.all(np.isfinite(C), axis=1)
    for arr in (C, amp, kk, atoms):
        arr[bad] = 0.0
    lnv_nodes = np.concatenate([lnw, (lnV[:, -1])[:, None]], axis=1)
    out = Intensity(w=w, C=np.ascontiguousarray(C), amp=np.ascontiguousarray(amp),
                    kk=np.ascontiguousarray(kk), atoms=atoms,
                    Acum=np.ascontiguousarray(np.cumsum(atoms, axis=1)),
                    log_volume=lnv_nodes, bad=bad,
                    slope=np.concatenate([c[:, kidx], c[:, -1:]], axis=1))
    if not math.isfinite(float(w[0])):
        raise TgsimError("primary times must be finite")
    return out


def secondary_intensity(primary: Intensity, ages: NDArray[np.float64],
                        logF: NDArray[np.float64], model: MetastasisModel, tend: float,
                        points: int) -> Intensity:
    r"""Emission by the colonies themselves, on a uniform grid of ``points`` nodes.

    With :math:`G(a) = F(a)^\alpha` the seeding power of a colony of age :math:`a`
    (untreated curve ``logF`` on ``ages``), the secondary rate solves

    .. math:: s(t) = m_2 \int_{t_0}^{t} G(t - \tau)\, (d\Lambda_p(\tau) + s(\tau)\,d\tau)

    (Iwata et al. 2000), discretised with the primary's exact emission per cell and the
    trapezoid rule for ``s`` (second order). Returns an :class:`Intensity` (log-linear
    between nodes) to be added to the primary's.
    """
    n = primary.n
    lo = float(primary.w[0])
    z = np.linspace(lo, max(float(tend), lo + 1e-9), max(int(points), 3))
    h = float(z[1] - z[0])
    m2 = _broadcast(model.secondary_seeding_rate, n, "secondary_seeding_rate")
    alpha = _broadcast(model.seeding_exponent, n, "seeding_exponent")
    per = logF.shape[0] > 1 or np.any(alpha != alpha[0])
    rows = n if per else 1

    def power(age: NDArray[np.float64], r: int) -> NDArray[np.float64]:
        lf = np.interp(age, ages, logF[r if logF.shape[0] > 1 else 0])
        return np.where(age >= 0, np.exp(alpha[r] * lf), 0.0)

    G = np.stack([power(z - lo, r) for r in range(rows)])
    dlp = np.diff(primary.continuous(z), axis=1)
    src = np.zeros((n, z.size))
    for j in np.flatnonzero(primary.atoms.any(axis=0) & (primary.w <= z[-1])):
        d = float(primary.w[j])
        for i in np.flatnonzero(primary.atoms[:, j] > 0):
            src[i] += m2[i] * primary.atoms[i, j] * power(z - d, i if per else 0)
    rate = np.empty((n, z.size))
    K.secondary_rate(h, np.ascontiguousarray(dlp), src, np.ascontiguousarray(G), m2, rate)
    a, b = rate[:, :-1], rate[:, 1:]
    pos = (a > 0) & (b > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kk = np.where(pos, np.log(np.where(pos, b / np.where(pos, a, 1.0), 1.0)) / h, 0.0)
    amp = np.where(pos, a, 0.5 * (a + b))
    cont = amp * np.where(np.abs(kk * h) < 1e-10, h, np.expm1(kk * h) / np.where(
        kk == 0, 1.0, kk))
    C = np.concatenate([np.zeros((n, 1)), np.cumsum(cont, axis=1)], axis=1)
    zeros = np.zeros((n, z.size))
    return Intensity(w=z, C=np.ascontiguousarray(C), amp=np.ascontiguousarray(amp),
                     kk=np.ascontiguousarray(kk), atoms=zeros, Acum=zeros.copy(),
                     log_volume=np.full((n, z.size), -np.inf), bad=primary.bad.copy(),
                     slope=np.zeros((n, z.size)))
