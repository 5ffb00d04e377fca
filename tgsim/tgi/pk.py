r"""Linear pharmacokinetics in closed form: drug concentration as data.

Every model here is linear in the doses, so the concentration in the central compartment
is a sum over doses of the model's response to one dose. Each response is a sum of
exponentials switched on at a time, and so is the whole profile:

.. math::

    C(t) = \sum_j [t \ge \tau_j]\; a_j\, e^{-\lambda_j (t - \tau_j)}

These *exposure terms* :math:`(\tau_j, a_j, \lambda_j)` are what a dosing table becomes;
a kernel that sums such terms (as the compiled treatment kernels do for chemotherapy
boluses) serves every dosing table without recompiling: the table changes the number
of rows, never the code.

Responses to one dose of amount :math:`D` at :math:`t_0` (:math:`\tau = t - t_0`), with
:math:`\sum_i c_i e^{-\lambda_i \tau}` the central concentration after a unit bolus:

* **bolus** (intravenous): :math:`D \sum_i c_i e^{-\lambda_i \tau}`.
* **infusion** over :math:`T` days at rate :math:`R = D/T`:
  :math:`R \sum_i \frac{c_i}{\lambda_i}\left[(1 - e^{-\lambda_i \tau})
  - [\tau \ge T](1 - e^{-\lambda_i (\tau - T)})\right]` — four terms per exponential, two
  of them with :math:`\lambda = 0`.
* **oral** (first-order absorption, rate :math:`k_a`, bioavailability :math:`F`):
  :math:`F D k_a \sum_i \frac{c_i}{k_a - \lambda_i}(e^{-\lambda_i \tau} - e^{-k_a \tau})`
  (Bateman; :math:`k_a = \lambda_i` is refused).

Unit responses:

* :class:`OneCompartment` (elimination rate :math:`k`, volume :math:`V`):
  :math:`c = 1/V`, :math:`\lambda = k`.
* :class:`TwoCompartment` (:math:`k_{10}, k_{12}, k_{21}`, central volume :math:`V_1`):
  :math:`\alpha, \beta = \tfrac12\left(s \pm \sqrt{s^2 - 4 k_{10} k_{21}}\right)`,
  :math:`s = k_{10} + k_{12} + k_{21}`;
  :math:`c_\alpha = \frac{\alpha - k_{21}}{V_1(\alpha - \beta)}`,
  :math:`c_\beta = \frac{k_{21} - \beta}{V_1(\alpha - \beta)}` (Gibaldi & Perrier,
  *Pharmacokinetics*, 2nd ed., 1982, ch. 2).

Units: rates in 1/day, durations in days; the concentration is in (dose amount unit) /
(volume unit); with the default ``volume = 1`` it is in dose units, as for
:class:`tgsim.Chemotherapy`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ScheduleError
from ..treatment import Free, _field

__all__ = ["OneCompartment", "TwoCompartment", "ExposureTerms", "exposure_terms"]


@dataclass(frozen=True)
class ExposureTerms:
    """Switched exponentials :math:`C(t) = \\sum_j [t \\ge \\tau_j] a_j e^{-\\lambda_j (t -
    \\tau_j)}`: arrays ``on`` (days), ``coef`` (concentration units) and ``rate`` (1/day)."""

    on: np.ndarray
    coef: np.ndarray
    rate: np.ndarray

    def __call__(self, t: Any) -> np.ndarray:
        """The concentration at times ``t`` (days), right-continuous at a dose."""
        t = np.asarray(t, dtype=np.float64)
        dt = t[..., None] - self.on
        live = dt >= 0
        return np.where(live, self.coef * np.exp(-self.rate * np.where(live, dt, 0.0)),
                        0.0).sum(-1)

    def __len__(self) -> int:
        return int(self.on.size)


class _PK:
    """Shared dose handling of the linear PK models."""

    absorption_rate: Any
    bioavailability: Any
    _FREE_NESTED = True            # its fields may be Free (named <drug>.pk.<field>)

    def unit_response(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def _check_scalars(self) -> None:
        from dataclasses import fields

        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if v is not None and not isinstance(v, Free) and np.ndim(v) != 0:
                raise ScheduleError(
                    f"{type(self).__name__}.{f.name} must be one number (PK parameters are "
                    f"shared by a drug's subjects); got {v!r}"
                )

    def _check_absorption(self) -> None:
        self._check_scalars()
        if self.absorption_rate is not None:
            _field(self, "absorption_rate", f"{type(self).__name__}.absorption_rate",
                   lo=0.0, lo_open=True)
        _field(self, "bioavailability", f"{type(self).__name__}.bioavailability",
               lo=0.0, hi=1.0, lo_open=True)

    def terms(self, day: Any, amount: Any, route: Any = "bolus",
              duration: Any = 0.0) -> ExposureTerms:
        """Exposure terms of the doses given on ``day`` (days) with ``amount`` by ``route``
        (``"bolus"``, ``"infusion"``, ``"oral"``; one per dose or one for all) over
        ``duration`` (days, infusions only)."""
        day = np.atleast_1d(np.asarray(day, dtype=np.float64))
        amount = np.broadcast_to(np.asarray(amount, dtype=np.float64), day.shape)
        route = np.broadcast_to(np.asarray(route, dtype=object), day.shape)
        duration = np.broadcast_to(np.asarray(duration, dtype=np.float64), day.shape)
        c, lam = self.unit_response()
        on: list[np.ndarray] = []
        coef: list[np.ndarray] = []
        rate: list[np.ndarray] = []
        for t0, d, r, T in zip(day, amount, route, duration, strict=True):
            if r == "bolus":
                on.append(np.full(c.size, t0))
                coef.append(d * c)
                rate.append(lam)
            elif r == "infusion":
                if not T > 0:
                    raise ScheduleError(f"an infusion on day {t0:g} needs a positive duration; "
                                        f"got {T!r}")
                a = (d / T) * c / lam
                z = np.zeros(c.size)
                on.append(np.concatenate([np.full(2 * c.size, t0), np.full(2 * c.size, t0 + T)]))
                coef.append(np.concatenate([a, -a, -a, a]))
                rate.append(np.concatenate([z, lam, z, lam]))
            elif r == "oral":
                ka = self.absorption_rate
                if ka is None:
                    raise ScheduleError(f"an oral dose on day {t0:g} needs the PK model's "
                                        "absorption_rate (1/day)")
                ka = float(np.asarray(ka))
                if np.any(np.isclose(lam, ka, rtol=1e-9, atol=0.0)):
                    raise ScheduleError(
                        f"{type(self).__name__}: absorption_rate {ka:g} equals an elimination "
                        "rate; the Bateman form is singular there (change either by 1e-6)"
                    )
                a = float(np.asarray(self.bioavailability)) * d * ka * c / (ka - lam)
                on.append(np.full(2 * c.size, t0))
                coef.append(np.concatenate([a, -a]))
                rate.append(np.concatenate([lam, np.full(c.size, ka)]))
            else:
                raise ScheduleError(f"unknown route {r!r} for the dose on day {t0:g}; use "
                                    "bolus, infusion or oral")
        if not on:
            return ExposureTerms(np.empty(0), np.empty(0), np.empty(0))
        return ExposureTerms(np.concatenate(on), np.concatenate(coef), np.concatenate(rate))

    def concentration(self, t: Any, day: Any, amount: Any, route: Any = "bolus",
                      duration: Any = 0.0) -> np.ndarray:
        """Central concentration at ``t`` (days) after the given doses (see :meth:`terms`).

        Examples
        --------
        >>> from tgsim.tgi.pk import OneCompartment
        >>> pk = OneCompartment(elimination_rate=math.log(2))      # half-life 1 day
        >>> pk.concentration([0.0, 1.0, 2.0], day=[0.0], amount=[8.0]).tolist()
        [8.0, 4.0, 2.0]
        """
        return self.terms(day, amount, route, duration)(t)


@dataclass(frozen=True)
class OneCompartment(_PK):
    """One-compartment linear PK: ``dA/dt = input - elimination_rate * A``, ``C = A / volume``.

    Parameters
    ----------
    elimination_rate : float or Free
        First-order elimination rate (1/day, > 0); half-life ``ln 2 / elimination_rate``.
    volume : float or Free, default 1
        Volume of distribution (concentration = amount / volume).
    absorption_rate : float or Free, optional
        First-order absorption rate of oral doses (1/day).
    bioavailability : float or Free, default 1
        Fraction of an oral dose absorbed, in (0, 1].

    Examples
    --------
    >>> OneCompartment(elimination_rate=2.0).terms(day=[0, 1], amount=1.0).rate.tolist()
    [2.0, 2.0]
    """

    elimination_rate: Any
    volume: Any = 1.0
    absorption_rate: Any = None
    bioavailability: Any = 1.0

    def __post_init__(self) -> None:
        _field(self, "elimination_rate", "OneCompartment.elimination_rate", lo=0.0, lo_open=True)
        _field(self, "volume", "OneCompartment.volume", lo=0.0, lo_open=True)
        self._check_absorption()

    @classmethod
    def from_half_life(cls, half_life_days: float, **kw: Any) -> OneCompartment:
        """The model with ``elimination_rate = ln 2 / half_life_days``."""
        if not half_life_days > 0:
            raise ScheduleError(f"half_life_days must be > 0; got {half_life_days!r}")
        return cls(elimination_rate=math.log(2.0) / half_life_days, **kw)

    def unit_response(self) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients and rates of the concentration after a unit bolus."""
        return (np.array([1.0 / float(np.asarray(self.volume))]),
                np.array([float(np.asarray(self.elimination_rate))]))


@dataclass(frozen=True)
class TwoCompartment(_PK):
    """Two-compartment linear PK (central 1, peripheral 2):
    ``dA1/dt = input - (k10 + k12) A1 + k21 A2``, ``dA2/dt = k12 A1 - k21 A2``, ``C = A1 / V1``.

    Parameters
    ----------
    k10, k12, k21 : float or Free
        Elimination and inter-compartment rate constants (1/day; k10 > 0, others >= 0).
    volume : float or Free, default 1
        Central volume V1.
    absorption_rate, bioavailability
        As in :class:`OneCompartment`.

    Examples
    --------
    >>> c, lam = TwoCompartment(k10=1.0, k12=0.5, k21=0.25).unit_response()
    >>> round(float(c.sum()), 12)        # C(0) = 1 / V1
    1.0
    """

    k10: Any
    k12: Any
    k21: Any
    volume: Any = 1.0
    absorption_rate: Any = None
    bioavailability: Any = 1.0

    def __post_init__(self) -> None:
        _field(self, "k10", "TwoCompartment.k10", lo=0.0, lo_open=True)
        _field(self, "k12", "TwoCompartment.k12")
        _field(self, "k21", "TwoCompartment.k21")
        _field(self, "volume", "TwoCompartment.volume", lo=0.0, lo_open=True)
        self._check_absorption()

    def unit_response(self) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients and rates (alpha, beta) of the concentration after a unit bolus."""
        k10, k12, k21, v = (float(np.asarray(x)) for x in (self.k10, self.k12, self.k21,
                                                             self.volume))
        s = k10 + k12 + k21
        disc = math.sqrt(max(s * s - 4.0 * k10 * k21, 0.0))
        alpha = 0.5 * (s + disc)
        beta = 2.0 * k10 * k21 / (s + disc)          # the small root, without cancellation
        if alpha - beta <= 1e-12 * alpha:
            return np.array([1.0 / v]), np.array([alpha])
        c = np.array([(alpha - k21) / (v * (alpha - beta)), (k21 - beta) / (v * (alpha - beta))])
        lam = np.array([alpha, beta])
        keep = c != 0.0                  # k12 = 0 or k21 = 0 leave one exponential
        return c[keep], lam[keep]


def exposure_terms(pk: _PK, doses: dict[str, np.ndarray]) -> ExposureTerms:
    """Exposure terms of a subject's doses (a :meth:`tgsim.io.doses.DoseTable.for_subject`
    dictionary: ``day``, ``amount``, ``route``, ``duration``)."""
    return pk.terms(doses["day"], doses["amount"], doses.get("route", "bolus"),
                    doses.get("duration", 0.0))
