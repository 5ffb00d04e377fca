"""Treatment schedules: surgery, radiotherapy, chemotherapy, targeted and immunotherapy.

A :class:`Schedule` is a list of interventions acting on half-open intervals
``[start, stop)`` (days). Its effects on the tumour states (volume ``V``, mm³) are

* **Surgery** ``(day, resected_fraction f)``: ``V -> (1 - f) V`` at ``day``.
* **Radiotherapy** ``(days, dose_gy d, alpha, beta)``: each fraction multiplies ``V`` by
  the linear-quadratic survival fraction ``exp(-alpha d - beta d^2)``.
* **Chemotherapy** ``(days, dose, half_life_days, kill_rate k, hypothesis)``: boluses with
  concentration ``C(t) = sum_i dose * 2^(-(t - t_i)/half_life)``. Log-kill:
  ``dV/dt = g(V) - k C(t) V``; Norton-Simon: ``dV/dt = g(V) (1 - k C(t))``.
* **TargetedTherapy** ``(start, stop, kill_rate k, resistance_rate rho)``: on
  ``[start, stop)``, ``dV/dt = g(V) - k exp(-rho (t - start)) V``.
* **Immunotherapy**: the same kill, plus optional :class:`Swelling` (pseudoprogression:
  an infiltrate/oedema state ``S`` with ``dS/dt = infiltration_rate E(t) V - clearance_rate S``;
  the observed size is ``V + S``) and optional :class:`Acceleration`.
* **Acceleration** ``(onset_day, factor, ramp_days, seeding_factor)``: from the onset the
  growth term ``g(V)`` is multiplied by ``factor`` (linearly ramped in over ``ramp_days``);
  ``seeding_factor`` multiplies metastatic seeding (used by :mod:`tgsim.metastasis`).

Magnitudes (fractions, doses, rates) may be scalars or 1-D arrays with one value per
subject; event days are shared (``Surgery.day``, ``Acceleration.onset_day``, therapy
``start``/``stop`` may also vary per subject). Every event time becomes an integration
breakpoint: no step straddles one, and an output at an event time shows the state just
after it (right-continuous).
"""

from __future__ import annotations

import math
import os
import tomllib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .errors import ConfigError, ScheduleError, TgsimError, TgsimWarning
from .schema import check_unknown

__all__ = [
    "Free",
    "Surgery",
    "Radiotherapy",
    "Chemotherapy",
    "TargetedTherapy",
    "Immunotherapy",
    "Acceleration",
    "Swelling",
    "Schedule",
    "weekday_fractions",
    "load_schedule",
    "PackedSchedule",
]

ArrayLike = float | int | Sequence[float] | np.ndarray


def _arr(
    value: ArrayLike,
    what: str,
    *,
    lo: float | None = 0.0,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> np.ndarray:
    """Validate a scalar-or-per-subject magnitude and return it as a float64 array."""
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ScheduleError(
            f"{what} must be a number or a 1-D array of numbers; got {value!r}"
        ) from None
    if a.ndim > 1:
        raise ScheduleError(f"{what} must be a scalar or a 1-D array; got shape {a.shape}")
    flat = np.atleast_1d(a)
    bad = ~np.isfinite(flat)
    if lo is not None:
        bad |= (flat <= lo) if lo_open else (flat < lo)
    if hi is not None:
        bad |= (flat >= hi) if hi_open else (flat > hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        lo_s = "" if lo is None else ("(" if lo_open else "[") + f"{lo:g}"
        hi_s = "" if hi is None else f"{hi:g}" + (")" if hi_open else "]")
        rule = f"in {lo_s}, {hi_s or 'inf)'}" if lo is not None else "finite"
        where = f"[{i}]" if a.ndim == 1 else ""
        raise ScheduleError(f"{what}{where} must be {rule}; got {float(flat[i])!r}")
    return a


@dataclass(frozen=True)
class Free:
    """A treatment field to be estimated: its start value and bounds.

    Any numeric field of an intervention (a rate, a fraction, a dose, a day) may be given
    as ``Free(value, lower=..., upper=...)`` instead of a number. Simulation uses the
    start ``value``; fitting estimates the field within ``[lower, upper]`` and reports it
    as ``<name>.<field>`` (``<name>`` is the intervention's ``name=``, or its type).
    The bounds are intersected with the field's own range (a rate is >= 0, a resected
    fraction is in [0, 1)); at an open end of that range the bound moves inside by
    1e-12 times the start (or 1e-12) so that every value the optimiser tries is valid.

    Parameters
    ----------
    value : float
        Start value; must lie within ``[lower, upper]`` and within the field's range.
    lower, upper : float, default -inf, inf
        Bounds of the estimate (``lower < upper``).

    Examples
    --------
    >>> import tgsim
    >>> chemo = tgsim.Chemotherapy(days=[0, 7], dose=1.0, half_life_days=0.5,
    ...                            kill_rate=tgsim.Free(0.1, lower=0), name="chemo")
    >>> tgsim.Schedule([chemo]).free_parameters()["chemo.kill_rate"].value
    0.1
    """

    value: float
    lower: float = -math.inf
    upper: float = math.inf

    def __post_init__(self) -> None:
        for key in ("value", "lower", "upper"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
                raise ScheduleError(f"Free {key} must be a number; got {v!r}")
            object.__setattr__(self, key, float(v))
        if math.isnan(self.lower) or math.isnan(self.upper) or not math.isfinite(self.value):
            raise ScheduleError(
                f"Free(value={self.value!r}, lower={self.lower!r}, upper={self.upper!r}): "
                "the start must be finite and the bounds must be numbers (not NaN)"
            )
        if not self.lower < self.upper:
            raise ScheduleError(
                f"Free(value={self.value:g}, lower={self.lower:g}, upper={self.upper:g}): "
                "lower must be below upper (give a plain number to fix a field)"
            )
        if not self.lower <= self.value <= self.upper:
            raise ScheduleError(
                f"Free(value={self.value:g}, lower={self.lower:g}, upper={self.upper:g}): "
                f"the bounds exclude the start value {self.value:g}"
            )

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.value, dtype=dtype or np.float64)

    def __float__(self) -> float:
        return self.value

    def within(
        self,
        what: str,
        *,
        lo: float | None = 0.0,
        hi: float | None = None,
        lo_open: bool = False,
        hi_open: bool = False,
    ) -> Free:
        """This Free with its bounds cut to a field's range (errors name ``what``)."""
        _arr(self.value, f"{what} (start of Free)", lo=lo, hi=hi, lo_open=lo_open,
             hi_open=hi_open)
        eps = 1e-12 * max(1.0, abs(self.value))
        lower, upper = self.lower, self.upper
        if lo is not None and lower <= lo:
            lower = lo + eps if lo_open else lo
        if hi is not None and upper >= hi:
            upper = hi - eps if hi_open else hi
        if not lower < upper:
            raise ScheduleError(
                f"{what}: the bounds [{self.lower:g}, {self.upper:g}] of Free leave no room "
                "within the field's range"
            )
        return Free(self.value, lower=lower, upper=upper)


def _field(obj: Any, name: str, what: str, **domain: Any) -> np.ndarray:
    """Validate the numeric field ``name`` of ``obj``; a :class:`Free` gets its bounds cut to
    the field's range and is stored back. Returns the (start) value as an array."""
    value = getattr(obj, name)
    if isinstance(value, Free):
        freed = value.within(what, **domain)
        object.__setattr__(obj, name, freed)
        return np.asarray(freed.value)
    return _arr(value, what, **domain)


def _plain(value: Any) -> Any:
    """A JSON-able copy of a field value (arrays as lists, Free as a small table)."""
    if isinstance(value, Free):
        return {"free": value.value, "lower": value.lower, "upper": value.upper}
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _days(value: ArrayLike, what: str) -> np.ndarray:
    if isinstance(value, Free) or (
        isinstance(value, Sequence | np.ndarray)
        and any(isinstance(v, Free) for v in np.asarray(value, dtype=object).ravel())
    ):
        raise ScheduleError(
            f"{what} cannot be free: a list of event days is data; free a magnitude "
            "(dose, rate, fraction) instead"
        )
    d = np.atleast_1d(np.array(value, dtype=np.float64))
    if d.ndim != 1 or d.size == 0:
        raise ScheduleError(f"{what} must be a non-empty 1-D list of days; got {value!r}")
    if not np.all(np.isfinite(d)):
        i = int(np.flatnonzero(~np.isfinite(d))[0])
        raise ScheduleError(f"{what}[{i}] must be finite; got {float(d[i])!r}")
    if d.size > 1:
        diff = np.diff(d)
        if np.any(diff == 0):
            i = int(np.flatnonzero(diff == 0)[0]) + 1
            raise ScheduleError(f"{what} has the same day twice: {what}[{i}] = {d[i]:g}")
        if np.any(diff < 0):
            i = int(np.flatnonzero(diff < 0)[0]) + 1
            raise ScheduleError(
                f"{what} must be increasing; got {what}[{i}]={d[i]:g} "
                f"after {what}[{i - 1}]={d[i - 1]:g}"
            )
    return d


@dataclass(frozen=True)
class Swelling:
    """Pseudoprogression swelling: immune infiltrate and oedema around a responding tumour.

    ``dS/dt = infiltration_rate * E(t) * V - clearance_rate * S`` where ``E(t)`` is 1 while
    the therapy is on. The observed size is ``V + S`` (mm³).

    Parameters
    ----------
    infiltration_rate : float or array
        Swelling volume recruited per unit tumour volume per day (1/day).
    clearance_rate : float or array
        First-order clearance of the swelling (1/day); half-life ln 2 / clearance_rate.

    Examples
    --------
    The swelling's half-life is ln 2 / clearance_rate:

    >>> import math, tgsim
    >>> sw = tgsim.Swelling(infiltration_rate=0.1, clearance_rate=0.03)
    >>> round(math.log(2) / sw.clearance_rate, 1)
    23.1
    """

    infiltration_rate: ArrayLike
    clearance_rate: ArrayLike

    def __post_init__(self) -> None:
        _field(self, "infiltration_rate", "Swelling.infiltration_rate")
        _field(self, "clearance_rate", "Swelling.clearance_rate")


@dataclass(frozen=True)
class Acceleration:
    """Treatment-induced acceleration of growth (hyperprogression) and of seeding.

    Parameters
    ----------
    onset_day : float or array
        Onset (days). In a schedule it counts from day 0; passed as ``acceleration=`` to an
        intervention it counts from that intervention's start.
    factor : float or array
        Multiplier of the growth term from the onset on (> 0; 1 = no change).
    ramp_days : float or array, default 0
        Ramp-in duration: the multiplier rises linearly from 1 to ``factor`` over this time.
    seeding_factor : float or array, default 1
        Multiplier of metastatic seeding from the onset on (used by the spread model).
    colony_growth : bool, default False
        Whether metastatic colonies are accelerated too.

    Examples
    --------
    >>> import tgsim
    >>> hpd = tgsim.Acceleration(onset_day=0, factor=3.0, ramp_days=14)
    >>> immuno = tgsim.Immunotherapy(start=0, stop=180, kill_rate=0.0, acceleration=hpd)
    >>> immuno.acceleration.factor
    3.0
    """

    onset_day: ArrayLike
    factor: ArrayLike
    ramp_days: ArrayLike = 0.0
    seeding_factor: ArrayLike = 1.0
    colony_growth: bool = False
    name: str | None = None

    def __post_init__(self) -> None:
        _field(self, "onset_day", f"{self.label}.onset_day", lo=None)
        _field(self, "factor", f"{self.label}.factor", lo=0.0, lo_open=True)
        _field(self, "ramp_days", f"{self.label}.ramp_days")
        _field(self, "seeding_factor", f"{self.label}.seeding_factor")

    @property
    def label(self) -> str:
        return self.name or "Acceleration"

    def shifted(self, start: ArrayLike) -> Acceleration:
        """This acceleration with its onset counted from ``start`` instead of day 0."""
        return Acceleration(
            onset_day=np.asarray(start, dtype=np.float64)
            + np.asarray(self.onset_day, dtype=np.float64),
            factor=self.factor,
            ramp_days=self.ramp_days,
            seeding_factor=self.seeding_factor,
            colony_growth=self.colony_growth,
            name=self.name,
        )


@dataclass(frozen=True)
class _Intervention:
    acceleration: Acceleration | None = field(default=None, kw_only=True)
    name: str | None = field(default=None, kw_only=True)

    @property
    def label(self) -> str:
        return self.name or type(self).__name__

    def event_days(self) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": type(self).__name__}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Acceleration | Swelling):
                v = {g.name: _plain(getattr(v, g.name)) for g in fields(v)}
            out[f.name] = _plain(v)
        return out


@dataclass(frozen=True)
class Surgery(_Intervention):
    """Resection: ``V -> (1 - resected_fraction) V`` at ``day``.

    Parameters
    ----------
    day : float or array
        Day of surgery.
    resected_fraction : float or array
        Fraction of the tumour removed, in [0, 1).
    shed_colonies : float or array, default 0
        Expected number of metastatic colonies shed by the operation (iatrogenic
        spread; used by :mod:`tgsim.metastasis`).

    Examples
    --------
    >>> import tgsim
    >>> cut = tgsim.Surgery(day=30.0, resected_fraction=0.9)   # removes 90 % on day 30
    >>> cut.event_days().tolist()
    [30.0]
    >>> cut.to_dict()["resected_fraction"]
    0.9
    """

    day: ArrayLike
    resected_fraction: ArrayLike
    shed_colonies: ArrayLike = 0.0

    def __post_init__(self) -> None:
        _field(self, "day", f"{self.label}.day", lo=None)
        _field(self, "resected_fraction", f"{self.label}.resected_fraction", lo=0.0, hi=1.0,
               hi_open=True)
        _field(self, "shed_colonies", f"{self.label}.shed_colonies")

    def event_days(self) -> np.ndarray:
        return np.atleast_1d(np.asarray(self.day, dtype=np.float64))


@dataclass(frozen=True)
class Radiotherapy(_Intervention):
    """External-beam radiotherapy: one fraction on each day in ``days``.

    Each fraction multiplies the tumour volume by the linear-quadratic surviving fraction
    ``SF = exp(-alpha d - beta d^2)`` (Fowler 1989), so after ``n`` fractions of ``d`` Gy
    the untreated growth is scaled by ``exp(-n (alpha d + beta d^2))``; the biologically
    effective dose is ``BED = n d (1 + d / (alpha/beta))``.

    Parameters
    ----------
    days : sequence of float
        Fraction days (increasing, no repeats). See :func:`weekday_fractions`.
    dose_gy : float or array
        Dose per fraction (Gy), >= 0.
    alpha : float or array, default 0.3
        Linear radiosensitivity (1/Gy).
    beta : float or array, default 0.03
        Quadratic radiosensitivity (1/Gy²); alpha/beta = 10 Gy is typical of tumours.

    Examples
    --------
    Thirty fractions of 2 Gy, Monday to Friday: per fraction the surviving fraction is
    ``exp(-0.3 * 2 - 0.03 * 2**2)``, and the BED with alpha/beta = 10 Gy is 30 * 2 * 1.2 = 72 Gy.

    >>> import tgsim
    >>> rt = tgsim.Radiotherapy(tgsim.weekday_fractions(30, 0), dose_gy=2.0,
    ...                         alpha=0.3, beta=0.03)
    >>> rt.event_days()[:6].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 7.0]
    >>> round(float(rt.surviving_fraction()), 4), float(rt.bed())
    (0.4868, 72.0)
    """

    days: Sequence[float] | np.ndarray
    dose_gy: ArrayLike
    alpha: ArrayLike = 0.3
    beta: ArrayLike = 0.03

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", _days(self.days, f"{self.label}.days"))
        _field(self, "dose_gy", f"{self.label}.dose_gy")
        _field(self, "alpha", f"{self.label}.alpha")
        _field(self, "beta", f"{self.label}.beta")

    def surviving_fraction(self) -> np.ndarray:
        """Per-fraction LQ surviving fraction ``exp(-alpha d - beta d^2)``."""
        d = np.asarray(self.dose_gy, dtype=np.float64)
        return np.exp(-np.asarray(self.alpha) * d - np.asarray(self.beta) * d * d)

    def bed(self) -> np.ndarray:
        """Biologically effective dose ``n d (1 + d/(alpha/beta))`` (Gy)."""
        d = np.asarray(self.dose_gy, dtype=np.float64)
        ab = np.asarray(self.alpha, dtype=np.float64) / np.asarray(self.beta, dtype=np.float64)
        return len(self.days) * d * (1.0 + d / ab)

    def event_days(self) -> np.ndarray:
        return np.asarray(self.days, dtype=np.float64)


_HYPOTHESES = {"log-kill": 0.0, "norton-simon": 1.0}


@dataclass(frozen=True)
class Chemotherapy(_Intervention):
    """Bolus chemotherapy with first-order elimination.

    ``C(t) = sum_{t_i <= t} dose * 2^(-(t - t_i)/half_life_days)`` (dose units, e.g. mg/kg).

    * ``hypothesis="log-kill"`` (Skipper): ``dV/dt = g(V) - kill_rate C(t) V`` — a dose
      kills a constant fraction whatever the size.
    * ``hypothesis="norton-simon"`` (Norton & Simon 1977): ``dV/dt = g(V) (1 - kill_rate C(t))``
      — the kill is proportional to the unperturbed growth rate, so a tumour near its
      plateau responds less.

    One log-kill bolus on exponential growth scales the volume by
    ``exp(-kill_rate * dose * half_life / ln 2)`` relative to no treatment.

    Parameters
    ----------
    days : sequence of float
        Dose days (increasing, no repeats).
    dose : float or array
        Amount per dose (>= 0).
    half_life_days : float or array
        Elimination half-life (days, > 0).
    kill_rate : float or array
        Kill per unit concentration per day (log-kill, 1/(dose·day)) or per unit
        concentration (Norton-Simon, 1/dose).
    hypothesis : {"log-kill", "norton-simon"}

    Examples
    --------
    >>> import tgsim
    >>> chemo = tgsim.Chemotherapy(days=[0, 21, 42], dose=1.0, half_life_days=2.0,
    ...                            kill_rate=0.2, hypothesis="norton-simon")
    >>> chemo.event_days().tolist(), chemo.hypothesis
    ([0.0, 21.0, 42.0], 'norton-simon')
    """

    days: Sequence[float] | np.ndarray
    dose: ArrayLike
    half_life_days: ArrayLike
    kill_rate: ArrayLike
    hypothesis: str = "log-kill"

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", _days(self.days, f"{self.label}.days"))
        _field(self, "dose", f"{self.label}.dose")
        _field(self, "half_life_days", f"{self.label}.half_life_days", lo=0.0, lo_open=True)
        _field(self, "kill_rate", f"{self.label}.kill_rate")
        if self.hypothesis not in _HYPOTHESES:
            raise ScheduleError(
                f"{self.label}.hypothesis must be one of {', '.join(_HYPOTHESES)}; "
                f"got {self.hypothesis!r}"
            )

    def event_days(self) -> np.ndarray:
        return np.asarray(self.days, dtype=np.float64)


@dataclass(frozen=True)
class TargetedTherapy(_Intervention):
    """Continuous exposure whose kill wanes through resistance.

    On ``[start, stop)``: ``dV/dt = g(V) - kill_rate exp(-resistance_rate (t - start)) V``.

    Parameters
    ----------
    start, stop : float or array
        Exposure interval (days), ``stop > start``.
    kill_rate : float or array
        Initial kill hazard (1/day).
    resistance_rate : float or array, default 0
        Rate at which the kill wanes (1/day); 0 = constant kill.

    Examples
    --------
    >>> import tgsim
    >>> drug = tgsim.TargetedTherapy(start=0, stop=180, kill_rate=0.03, resistance_rate=0.01)
    >>> drug.event_days().tolist()                  # exposure on [0, 180)
    [0.0, 180.0]
    """

    start: ArrayLike
    stop: ArrayLike
    kill_rate: ArrayLike
    resistance_rate: ArrayLike = 0.0

    def __post_init__(self) -> None:
        a = _field(self, "start", f"{self.label}.start", lo=None)
        b = _field(self, "stop", f"{self.label}.stop", lo=None)
        if np.any(
            np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape))
            <= np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape))
        ):
            raise ScheduleError(
                f"{self.label}: stop must be after start; got start={self.start!r}, "
                f"stop={self.stop!r}"
            )
        _field(self, "kill_rate", f"{self.label}.kill_rate")
        _field(self, "resistance_rate", f"{self.label}.resistance_rate")

    def event_days(self) -> np.ndarray:
        return np.concatenate(
            [
                np.atleast_1d(np.asarray(self.start, dtype=np.float64)),
                np.atleast_1d(np.asarray(self.stop, dtype=np.float64)),
            ]
        )


@dataclass(frozen=True)
class Immunotherapy(TargetedTherapy):
    """Immune checkpoint or other immunotherapy: the targeted-therapy kill plus optional
    pseudoprogression ``swelling`` (:class:`Swelling`) and ``acceleration``
    (:class:`Acceleration`, e.g. hyperprogression).

    Examples
    --------
    >>> import tgsim
    >>> immuno = tgsim.Immunotherapy(start=0, stop=295, kill_rate=0.025,
    ...                              swelling=tgsim.Swelling(infiltration_rate=0.1,
    ...                                                      clearance_rate=0.03))
    >>> immuno.event_days().tolist(), immuno.swelling.clearance_rate
    ([0.0, 295.0], 0.03)
    """

    swelling: Swelling | None = None


def _check_pack_size(interventions: Sequence[Any], n: int) -> None:
    """Refuse a schedule whose packed arrays (about 12 float64 per subject and event:
    times, factors, breakpoints, dose rows) would exceed :mod:`tgsim.limits`."""
    from .limits import check_bytes, check_count

    events = 0
    for x in interventions:
        days = getattr(x, "days", None)
        count = int(np.size(days)) if days is not None else 2
        check_count("events", count, f"the number of days of {x.label}")
        events += count
    check_bytes(96.0 * n * events, f"the schedule for {n} subject(s) x {events} event(s)",
                "use fewer events or simulate the cohort in chunks (tgsim.simulate_cohort)")


def weekday_fractions(
    n_fractions: int, start_day: float = 0.0, *, start_weekday: int = 0, per_week: int = 5
) -> np.ndarray:
    """Fraction days for a Monday-to-Friday radiotherapy course.

    Parameters
    ----------
    n_fractions : int
        Number of fractions (e.g. 30 for 30 x 2 Gy).
    start_day : float
        Day of the first fraction.
    start_weekday : int
        Weekday of ``start_day`` (0 = Monday ... 4 = Friday).
    per_week : int
        Treatment days per week (5 = Monday-Friday).

    Returns
    -------
    numpy.ndarray
        ``n_fractions`` increasing days, skipping weekends.

    Examples
    --------
    >>> weekday_fractions(7)
    array([0., 1., 2., 3., 4., 7., 8.])
    """
    if (isinstance(n_fractions, bool) or not isinstance(n_fractions, int | float | np.integer)
            or not math.isfinite(n_fractions) or int(n_fractions) != n_fractions
            or n_fractions < 1):
        raise ScheduleError(f"n_fractions must be a positive integer; got {n_fractions!r}")
    from .limits import check_count

    check_count("events", int(n_fractions), "n_fractions (radiotherapy fractions)",
                "a course has at most a few hundred fractions")
    if not 0 <= start_weekday < per_week or not 1 <= per_week <= 7:
        raise ScheduleError(
            f"start_weekday must be in [0, {per_week}) and per_week in [1, 7]; "
            f"got {start_weekday}, {per_week}"
        )
    days = []
    d, wd = float(start_day), int(start_weekday)
    while len(days) < n_fractions:
        if wd < per_week:
            days.append(d)
        d += 1.0
        wd = (wd + 1) % 7
    return np.array(days)


# ---------------------------------------------------------------------------- schedule
@dataclass
class PackedSchedule:
    """Arrays for the kernels (see the header of the kernel template)."""

    jt: np.ndarray
    jf: np.ndarray
    dose: np.ndarray
    expo: np.ndarray
    acc: np.ndarray
    clear: np.ndarray
    bp: np.ndarray
    has_swelling: bool
    constant_kill: bool  # exposures all have zero resistance
    step_acceleration: bool  # no ramps

    @property
    def has_doses(self) -> bool:
        return self.dose.shape[1] > 0


class Schedule:
    """A treatment schedule: an ordered collection of interventions.

    Parameters
    ----------
    interventions : iterable
        :class:`Surgery`, :class:`Radiotherapy`, :class:`Chemotherapy`,
        :class:`TargetedTherapy`, :class:`Immunotherapy` and :class:`Acceleration` objects.

    Raises
    ------
    ScheduleError
        On clashes: the same intervention twice at one time, or overlapping exposures of
        one therapy (same type and name).

    Examples
    --------
    >>> import tgsim
    >>> schedule = tgsim.Schedule([
    ...     tgsim.Chemotherapy(days=[0, 21, 42], dose=1.0, half_life_days=2.0, kill_rate=0.2),
    ...     tgsim.Surgery(day=30, resected_fraction=0.9)])
    >>> len(schedule), schedule.event_days().tolist()
    (2, [0.0, 21.0, 30.0, 42.0])
    >>> try:                                      # the same intervention twice on one day
    ...     tgsim.Schedule([tgsim.Surgery(10, 0.5), tgsim.Surgery(10, 0.5)])
    ... except tgsim.ScheduleError as exc:
    ...     print(exc)
    Surgery clashes with Surgery: the same intervention twice on day 10
    """

    def __init__(self, interventions: Iterable[Any] = ()):
        items = list(interventions)
        for x in items:
            if not isinstance(x, _Intervention | Acceleration):
                raise ScheduleError(
                    f"a schedule holds interventions (Surgery, Radiotherapy, Chemotherapy, "
                    f"TargetedTherapy, Immunotherapy, Acceleration); got {x!r}"
                )
        self.interventions: tuple[Any, ...] = tuple(items)
        self._check_clashes()

    def __iter__(self):
        return iter(self.interventions)

    def __len__(self) -> int:
        return len(self.interventions)

    def __repr__(self) -> str:
        return f"Schedule({list(self.interventions)!r})"

    def __add__(self, other: Schedule | Iterable[Any]) -> Schedule:
        return Schedule([*self.interventions, *other])

    @classmethod
    def coerce(cls, schedule: Schedule | Iterable[Any] | None) -> Schedule:
        """Accept a Schedule, a list of interventions, a single intervention or None."""
        if schedule is None:
            return cls()
        if isinstance(schedule, Schedule):
            return schedule
        if isinstance(schedule, _Intervention | Acceleration):
            return cls([schedule])
        if isinstance(schedule, str | os.PathLike):
            return load_schedule(schedule)
        return cls(schedule)

    # ------------------------------------------------------------ free parameters
    def free_parameters(self) -> dict[str, Free]:
        """The fields given as :class:`Free`, named ``<label>.<field>`` (see
        :mod:`tgsim.freeparams`).

        Examples
        --------
        >>> import tgsim
        >>> s = tgsim.Schedule([tgsim.TargetedTherapy(0, 28, kill_rate=tgsim.Free(0.05),
        ...                                           name="tki")])
        >>> list(s.free_parameters())
        ['tki.kill_rate']
        """
        from .freeparams import free_parameters

        return free_parameters(self)

    def with_values(self, values: Mapping[str, Any]) -> Schedule:
        """This schedule with the named free fields fixed at ``values``.

        Examples
        --------
        >>> import tgsim
        >>> s = tgsim.Schedule([tgsim.TargetedTherapy(0, 28, kill_rate=tgsim.Free(0.05),
        ...                                           name="tki")])
        >>> s.with_values({"tki.kill_rate": 0.08}).interventions[0].kill_rate
        0.08
        """
        from .freeparams import with_values

        return with_values(self, values)

    def free(self, spec: Mapping[str, Free | None] | Iterable[str]) -> Schedule:
        """This schedule with the named fields (``"<label>.<field>"`` or a bare field name)
        made free; a field that does not exist raises a :class:`ScheduleError` listing
        the numeric fields.

        Examples
        --------
        >>> import tgsim
        >>> s = tgsim.Schedule([tgsim.TargetedTherapy(0, 28, kill_rate=0.05)])
        >>> list(s.free(["kill_rate"]).free_parameters())
        ['TargetedTherapy.kill_rate']
        """
        from .freeparams import free_fields

        return free_fields(self, spec)

    def uninformed(self, last_day: Any) -> dict[str, np.ndarray]:
        """Free parameters that observations up to ``last_day`` cannot inform (no dose,
        fraction or exposure before it), per subject; see
        :func:`tgsim.freeparams.uninformed`.

        Examples
        --------
        >>> import tgsim
        >>> s = tgsim.Schedule([tgsim.TargetedTherapy(30, 60, kill_rate=tgsim.Free(0.05))])
        >>> s.uninformed(last_day=21)["TargetedTherapy.kill_rate"]
        array([ True])
        """
        from .freeparams import uninformed

        return uninformed(self, last_day)

    def _check_clashes(self) -> None:
        seen: dict[tuple[str, float], str] = {}
        for x in self.interventions:
            if isinstance(x, Surgery | Radiotherapy | Chemotherapy):
                key_type = type(x).__name__ + "/" + (x.name or "")
                for d in np.unique(x.event_days()):
                    key = (key_type, float(d))
                    if key in seen:
                        raise ScheduleError(
                            f"{x.label} clashes with {seen[key]}: the same intervention twice "
                            f"on day {d:g}"
                        )
                    seen[key] = x.label
        expos = [x for x in self.interventions if isinstance(x, TargetedTherapy)]
        for i, a in enumerate(expos):
            for b in expos[i + 1 :]:
                if type(a) is not type(b) or a.name != b.name:
                    continue
                a0, a1 = np.asarray(a.start, float), np.asarray(a.stop, float)
                b0, b1 = np.asarray(b.start, float), np.asarray(b.stop, float)
                if np.any((a0 < b1) & (b0 < a1)):
                    raise ScheduleError(
                        f"overlapping exposures of one therapy: {a.label} on "
                        f"[{a.start}, {a.stop}) and [{b.start}, {b.stop}); give them different "
                        "names if they are different drugs"
                    )

    def accelerations(self) -> list[Acceleration]:
        """Every acceleration, with onsets in absolute days."""
        out: list[Acceleration] = []
        for x in self.interventions:
            if isinstance(x, Acceleration):
                out.append(x)
            elif x.acceleration is not None:
                if isinstance(x, TargetedTherapy):
                    start = x.start
                elif isinstance(x, Surgery):
                    start = x.day
                else:
                    start = x.event_days()[0]
                out.append(x.acceleration.shifted(start))
        return out

    def event_days(self) -> np.ndarray:
        """Every event day (flattened over subjects where days vary)."""
        parts = [
            np.atleast_1d(np.asarray(x.event_days(), float)).ravel()
            for x in self.interventions
            if isinstance(x, _Intervention)
        ]
        for a in self.accelerations():
            on = np.atleast_1d(np.asarray(a.onset_day, float))
            parts += [on, on + np.atleast_1d(np.asarray(a.ramp_days, float))]
        return np.unique(np.concatenate(parts)) if parts else np.empty(0)

    def to_dict(self) -> list[dict[str, Any]]:
        """A JSON-able description (stored in result attrs)."""
        out = []
        for x in self.interventions:
            if isinstance(x, Acceleration):
                d = {"type": "Acceleration"}
                for f in fields(x):
                    d[f.name] = _plain(getattr(x, f.name))
                out.append(d)
            else:
                out.append(x.to_dict())
        return out

    # ----------------------------------------------------------------------- packing
    def pack(self, n: int, t0: float, tend: float, *, warn: bool = True) -> PackedSchedule:
        """Encode the schedule as kernel arrays for ``n`` subjects.

        Per-subject magnitudes are broadcast to ``n``; a length other than 1 or ``n``
        raises a :class:`ScheduleError` naming the field.
        """

        def per_subject(value: ArrayLike, what: str) -> np.ndarray:
            a = np.asarray(value, dtype=np.float64)
            if a.ndim == 0:
                return np.full(n, float(a))
            if a.shape[0] == 1:
                return np.full(n, float(a[0]))
            if a.shape[0] != n:
                raise ScheduleError(
                    f"{what} has {a.shape[0]} values but there are {n} subjects "
                    "(give a scalar or one value per subject)"
                )
            return a.copy()

        _check_pack_size(self.interventions, n)
        jumps: list[tuple[np.ndarray, np.ndarray]] = []
        doses: list[np.ndarray] = []
        expos: list[np.ndarray] = []
        accs: list[np.ndarray] = []
        clear = np.zeros(n)
        clear_src: str | None = None
        has_swelling = False
        constant_kill = True
        for x in self.interventions:
            if isinstance(x, Surgery):
                day = per_subject(x.day, f"{x.label}.day")
                jumps.append(
                    (day, 1.0 - per_subject(x.resected_fraction, f"{x.label}.resected_fraction"))
                )
            elif isinstance(x, Radiotherapy):
                d = per_subject(x.dose_gy, f"{x.label}.dose_gy")
                sf = np.exp(
                    -per_subject(x.alpha, f"{x.label}.alpha") * d
                    - per_subject(x.beta, f"{x.label}.beta") * d * d
                )
                for day in x.days:  # negative: a cell kill, acting by each state's sensitivity
                    jumps.append((np.full(n, day), -sf))
            elif isinstance(x, Chemotherapy):
                amount = per_subject(x.dose, f"{x.label}.dose")
                ke = math.log(2.0) / per_subject(x.half_life_days, f"{x.label}.half_life_days")
                kill = per_subject(x.kill_rate, f"{x.label}.kill_rate")
                hyp = _HYPOTHESES[x.hypothesis]
                for day in x.days:
                    doses.append(np.stack([np.full(n, day), amount, ke, kill, np.full(n, hyp)], 1))
            elif isinstance(x, TargetedTherapy):
                start = per_subject(x.start, f"{x.label}.start")
                stop = per_subject(x.stop, f"{x.label}.stop")
                kill = per_subject(x.kill_rate, f"{x.label}.kill_rate")
                rho = per_subject(x.resistance_rate, f"{x.label}.resistance_rate")
                infil = np.zeros(n)
                if np.any(rho > 0):
                    constant_kill = False
                if isinstance(x, Immunotherapy) and x.swelling is not None:
                    has_swelling = True
                    infil = per_subject(
                        x.swelling.infiltration_rate, f"{x.label}.swelling.infiltration_rate"
                    )
                    c = per_subject(x.swelling.clearance_rate, f"{x.label}.swelling.clearance_rate")
                    if clear_src is not None and not np.array_equal(c, clear):
                        raise ScheduleError(
                            f"{x.label}.swelling.clearance_rate differs from that of {clear_src}; "
                            "one swelling compartment has one clearance rate"
                        )
                    clear, clear_src = c, x.label
                expos.append(np.stack([start, stop, kill, rho, infil], 1))
            elif hasattr(x, "dose_rows"):  # exposure-driven drugs (tgsim.tgi.Drug)
                doses.extend(x.dose_rows(n, t0))
        step_acc = True
        for a in self.accelerations():
            onset = per_subject(a.onset_day, f"{a.label}.onset_day")
            ramp = per_subject(a.ramp_days, f"{a.label}.ramp_days")
            if np.any(ramp > 0):
                step_acc = False
            accs.append(np.stack([onset, per_subject(a.factor, f"{a.label}.factor"), ramp], 1))

        if jumps:
            jt = np.stack([j[0] for j in jumps], 1)
            jf = np.stack([j[1] for j in jumps], 1)
            order = np.argsort(jt, axis=1, kind="stable")
            jt = np.take_along_axis(jt, order, 1)
            jf = np.take_along_axis(jf, order, 1)
        else:
            jt = np.empty((n, 0))
            jf = np.empty((n, 0))
        dose = np.stack(doses, 1) if doses else np.empty((n, 0, 5))
        expo = np.stack(expos, 1) if expos else np.empty((n, 0, 5))
        acc = np.stack(accs, 1) if accs else np.empty((n, 0, 3))
        bps = [jt]
        if dose.shape[1]:
            bps.append(dose[:, :, 0])
        if expo.shape[1]:
            bps += [expo[:, :, 0], expo[:, :, 1]]
        if acc.shape[1]:
            bps += [acc[:, :, 0], acc[:, :, 0] + acc[:, :, 2]]
        bp = np.sort(np.concatenate(bps, 1), axis=1) if bps else np.empty((n, 0))
        # onsets (not stops or ramp ends: a therapy may run past the last time)
        starts = [jt]
        if dose.shape[1]:
            starts.append(dose[:, :, 0])
        if expo.shape[1]:
            starts.append(expo[:, :, 0])
        if acc.shape[1]:
            starts.append(acc[:, :, 0])
        onsets = np.concatenate(starts, 1)
        if warn and onsets.size:
            outside = (onsets < t0) | (onsets > tend)
            if outside.any():
                days = np.unique(onsets[outside])
                names = self._labels_for_days(days)
                warnings.warn(
                    f"treatment event(s) on day(s) {', '.join(f'{d:g}' for d in days[:5])} "
                    f"({names}) fall outside the simulated times [{t0:g}, {tend:g}] and have "
                    "no or partial effect",
                    TgsimWarning,
                    stacklevel=3,
                )
        return PackedSchedule(
            jt=np.ascontiguousarray(jt),
            jf=np.ascontiguousarray(jf),
            dose=np.ascontiguousarray(dose),
            expo=np.ascontiguousarray(expo),
            acc=np.ascontiguousarray(acc),
            clear=np.ascontiguousarray(clear),
            bp=np.ascontiguousarray(bp),
            has_swelling=has_swelling,
            constant_kill=constant_kill,
            step_acceleration=step_acc,
        )

    def _labels_for_days(self, days: np.ndarray) -> str:
        labels = []
        for x in self.interventions:
            ev = (
                x.event_days()
                if isinstance(x, _Intervention)
                else np.atleast_1d(np.asarray(x.onset_day, float))
            )
            if np.isin(np.asarray(ev, float).ravel(), days).any():
                labels.append(x.label)
        return ", ".join(dict.fromkeys(labels)) or "acceleration ramp"


# -------------------------------------------------------------------------- TOML
_TOML_TYPES: dict[str, type] = {
    "surgery": Surgery,
    "radiotherapy": Radiotherapy,
    "chemotherapy": Chemotherapy,
    "targeted": TargetedTherapy,
    "targeted_therapy": TargetedTherapy,
    "immunotherapy": Immunotherapy,
    "acceleration": Acceleration,
}


def _free_tables(row: dict[str, Any], here: str) -> dict[str, Any]:
    """Turn ``field = {free = 0.1, lower = 0, upper = 1}`` into :class:`Free` values."""
    out = dict(row)
    for key, value in row.items():
        if isinstance(value, dict) and "free" in value:
            bad = set(value) - {"free", "lower", "upper"}
            if bad:
                raise ConfigError(
                    f"{here}: {key} = {{free = ...}} takes free, lower and upper; got "
                    f"{', '.join(sorted(bad))}"
                )
            try:
                out[key] = Free(value["free"], lower=value.get("lower", -math.inf),
                                upper=value.get("upper", math.inf))
            except ScheduleError as exc:
                raise ConfigError(f"{here}: {key}: {exc}") from None
    return out


def schedule_from_tables(tables: Mapping[str, Any], where: str) -> Schedule:
    """Build a Schedule from parsed TOML tables (``[[surgery]]``, ``[[radiotherapy]]``, ...).

    ``where`` names the source (file and table) in error messages. Radiotherapy accepts
    ``weekdays = {fractions = 30, start = 0}`` instead of ``days``.
    """
    items: list[Any] = []
    check_unknown(tables, _TOML_TYPES, where, what="intervention table")
    for key, value in tables.items():
        cls = _TOML_TYPES[key]
        rows = value if isinstance(value, list) else [value]
        for i, row in enumerate(rows):
            here = f"{where}: [[{key}]] #{i + 1}"
            if not isinstance(row, dict):
                raise ConfigError(f"{here}: must be a table")
            row = dict(row)
            if cls is Radiotherapy and "weekdays" in row:
                wk = row.pop("weekdays")
                if not isinstance(wk, dict) or set(wk) - {"fractions", "start", "start_weekday"}:
                    raise ConfigError(f"{here}: 'weekdays' takes fractions, start, start_weekday")
                try:
                    row["days"] = weekday_fractions(
                        wk.get("fractions", 0),
                        wk.get("start", 0.0),
                        start_weekday=wk.get("start_weekday", 0),
                    )
                except TgsimError as exc:
                    raise type(exc)(f"{here}: weekdays: {exc}") from None
            allowed = {f.name for f in fields(cls)}
            row = _free_tables(row, here)
            check_unknown(row, allowed, here)
            for sub, subcls in (("acceleration", Acceleration), ("swelling", Swelling)):
                if sub in row and isinstance(row[sub], dict):
                    check_unknown(row[sub], {f.name for f in fields(subcls)}, f"{here}.{sub}")
                    try:
                        row[sub] = subcls(**_free_tables(row[sub], f"{here}.{sub}"))
                    except ScheduleError as exc:
                        raise ConfigError(f"{here}.{sub}: {exc}") from None
            try:
                items.append(cls(**row))
            except ScheduleError as exc:
                raise ConfigError(f"{here}: {exc}") from None
            except TypeError as exc:
                raise ConfigError(f"{here}: {exc}") from None
    try:
        return Schedule(items)
    except ScheduleError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_schedule(path: str | os.PathLike[str]) -> Schedule:
    """Read a schedule from a TOML file.

    The file holds arrays of tables named after the interventions, e.g.

    .. code-block:: toml

        [[surgery]]
        day = 30
        resected_fraction = 0.99

        [[immunotherapy]]
        start = 0
        stop = 84
        kill_rate = 0.04
        swelling = { infiltration_rate = 0.05, clearance_rate = 0.03 }

    A ``[schedule]`` table holding these is accepted too (the experiment-file layout).
    Unknown keys raise a :class:`~tgsim.errors.ConfigError` naming the file and key.

    Examples
    --------
    >>> import os, tempfile, tgsim
    >>> text = '''
    ... [[surgery]]
    ... day = 30
    ... resected_fraction = 0.99
    ...
    ... [[immunotherapy]]
    ... start = 0
    ... stop = 84
    ... kill_rate = 0.04
    ... swelling = { infiltration_rate = 0.05, clearance_rate = 0.03 }
    ... '''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "schedule.toml")
    ...     with open(path, "w") as fh:
    ...         _ = fh.write(text)
    ...     schedule = tgsim.load_schedule(path)
    >>> [type(item).__name__ for item in schedule]
    ['Surgery', 'Immunotherapy']
    """
    p = os.fspath(path)
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"schedule file {p!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    if set(data) == {"schedule"} and isinstance(data["schedule"], dict):
        data = data["schedule"]
    return schedule_from_tables(data, p)
