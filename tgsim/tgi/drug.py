r"""An exposure-driven drug: dosing records, PK, effect, resistance, damage transit.

:class:`Drug` is an intervention of a :class:`tgsim.Schedule`. Its kill hazard on the
tumour is

.. math::

    h(t) = E\big(C(t)\big)\, e^{-\lambda (t - t_1)} \quad (t \ge t_1)

with :math:`C(t)` the closed-form concentration of :mod:`tgsim.tgi.pk` for the subject's
doses, :math:`E` an effect of :mod:`tgsim.tgi.effect`, :math:`\lambda` the resistance rate
(Claret et al. 2009) and :math:`t_1` the subject's first dose. The volume obeys
:math:`dV/dt = g(V) - h(t) V` (log-kill).

With a :class:`~tgsim.tgi.effect.Linear` effect and no transit, :math:`h` is itself a sum
of switched exponentials — each PK term :math:`a e^{-k(t-\tau)}` becomes
:math:`K_D\, a\, e^{-\lambda(\tau - t_1)}\, e^{-(k+\lambda)(t-\tau)}` — and the drug packs
into the compiled treatment kernels' bolus rows (one row per term; negative amounts are
allowed there), so one compiled kernel per card serves every dosing table.
Emax, Hill and transit compartments need kernel support that does not exist yet; such a
drug is simulated by :func:`tgsim.tgi.reference.simulate_reference` (SciPy) and refused
by the compiled path with a message that says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ..errors import ScheduleError
from ..io.doses import DoseTable
from ..treatment import _field, _Intervention, _plain
from .effect import Emax, Hill, Linear, Transit
from .pk import ExposureTerms, OneCompartment, TwoCompartment, exposure_terms

__all__ = ["Drug"]


@dataclass(frozen=True)
class Drug(_Intervention):
    """Exposure-driven kill from dosing records through linear PK and an effect law.

    Parameters
    ----------
    doses : DoseTable or mapping
        A :class:`~tgsim.io.doses.DoseTable` (one regimen per subject; give ``subjects``),
        or one regimen for every subject: ``{"day": [...], "amount": [...]}`` with optional
        ``route`` and ``duration`` (days).
    pk : OneCompartment or TwoCompartment
        Pharmacokinetics (:mod:`tgsim.tgi.pk`).
    effect : Linear, Emax or Hill
        Kill hazard as a function of concentration (:mod:`tgsim.tgi.effect`).
    resistance_rate : float or Free, default 0
        Claret's lambda (1/day): the kill decays as ``exp(-lambda (t - first dose))``.
    transit : Transit, optional
        Simeoni damage compartments.
    drug : str, optional
        Which drug of the DoseTable (needed when it holds several).
    subjects : sequence of str, optional
        The DoseTable subject of each simulated or fitted subject, in order.
    name : str, optional
        Label of the intervention; free fields are reported as ``<name>.<field>``,
        ``<name>.effect.<field>``, ``<name>.pk.<field>``.

    Examples
    --------
    >>> from tgsim.tgi import Drug, Linear, OneCompartment
    >>> d = Drug(doses={"day": [0, 7], "amount": [10.0, 10.0]},
    ...          pk=OneCompartment(elimination_rate=2.0), effect=Linear(0.05), name="x")
    >>> round(float(d.hazard([0.0])[0]), 12)
    0.5
    """

    doses: DoseTable | Mapping[str, Any] = field(default_factory=dict)
    pk: OneCompartment | TwoCompartment | None = None
    effect: Linear | Emax | Hill | None = None
    resistance_rate: Any = 0.0
    transit: Transit | None = None
    drug: str | None = None
    subjects: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.pk, OneCompartment | TwoCompartment):
            raise ScheduleError(f"{self.label}.pk must be OneCompartment or TwoCompartment; "
                                f"got {self.pk!r}")
        if not isinstance(self.effect, Linear | Emax | Hill):
            raise ScheduleError(f"{self.label}.effect must be Linear, Emax or Hill; got "
                                f"{self.effect!r}")
        if self.transit is not None and not isinstance(self.transit, Transit):
            raise ScheduleError(f"{self.label}.transit must be a Transit; got {self.transit!r}")
        _field(self, "resistance_rate", f"{self.label}.resistance_rate")
        if isinstance(self.doses, DoseTable):
            drugs = self.doses.drugs
            if self.drug is None and len(drugs) > 1:
                raise ScheduleError(f"{self.label}: the dose table holds {', '.join(drugs)}; "
                                    "say which with drug=...")
            if self.drug is not None and self.drug not in drugs:
                raise ScheduleError(f"{self.label}.drug {self.drug!r} is not in the dose table "
                                    f"(drugs: {', '.join(drugs)})")
            if self.subjects is not None:
                object.__setattr__(self, "subjects", tuple(str(s) for s in self.subjects))
        elif isinstance(self.doses, Mapping):
            if "day" not in self.doses or "amount" not in self.doses:
                raise ScheduleError(f"{self.label}.doses needs 'day' and 'amount'; got keys "
                                    f"{sorted(self.doses)}")
            day = np.atleast_1d(np.asarray(self.doses["day"], dtype=np.float64))
            amount = np.broadcast_to(np.asarray(self.doses["amount"], dtype=np.float64),
                                     day.shape)
            if np.any(amount < 0) or not np.all(np.isfinite(amount)):
                i = int(np.flatnonzero(~(amount >= 0))[0])
                raise ScheduleError(f"{self.label}.doses amount[{i}] must be >= 0; got "
                                    f"{float(amount[i])!r}")
        else:
            raise ScheduleError(f"{self.label}.doses must be a DoseTable or a mapping with "
                                f"day and amount; got {type(self.doses).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (stored in result attrs)."""

        def sub(obj: Any) -> Any:
            if obj is None:
                return None
            d = {"type": type(obj).__name__}
            d.update({f.name: _plain(getattr(obj, f.name)) for f in fields(obj)})
            return d

        if isinstance(self.doses, DoseTable):
            doses: Any = {"table": self.doses.source, "drug": self.drug,
                          "subjects": list(self.subjects) if self.subjects else None}
        else:
            doses = {k: _plain(np.asarray(v)) for k, v in self.doses.items()}
        return {"type": "Drug", "name": self.name, "doses": doses, "pk": sub(self.pk),
                "effect": sub(self.effect), "resistance_rate": _plain(self.resistance_rate),
                "transit": sub(self.transit)}

    # ------------------------------------------------------------------ exposure
    def n_regimens(self) -> int | None:
        """Number of per-subject regimens (None: one regimen shared by all)."""
        if isinstance(self.doses, DoseTable):
            return len(self.subjects) if self.subjects is not None else 1
        return None

    def regimen(self, i: int = 0) -> dict[str, np.ndarray]:
        """Doses of subject ``i``: ``day``, ``amount``, ``route``, ``duration``."""
        if isinstance(self.doses, DoseTable):
            if self.subjects is None:
                subs = self.doses.subjects
                if len(subs) != 1:
                    raise ScheduleError(f"{self.label}: the dose table has {len(subs)} "
                                        "subjects; say which with subjects=[...]")
                who = subs[0]
            else:
                who = self.subjects[i]
            return self.doses.for_subject(who, self.drug)
        d = self.doses
        day = np.atleast_1d(np.asarray(d["day"], dtype=np.float64))
        return {"day": day,
                "amount": np.broadcast_to(np.asarray(d["amount"], float), day.shape).copy(),
                "route": np.broadcast_to(np.asarray(d.get("route", "bolus"), object),
                                         day.shape).copy(),
                "duration": np.broadcast_to(np.asarray(d.get("duration", 0.0), float),
                                            day.shape).copy()}

    def terms(self, i: int = 0) -> ExposureTerms:
        """Exposure (concentration) terms of subject ``i`` (cached per PK parameters: the
        doses, subjects and drug of an instance never change)."""
        cache = self.__dict__.setdefault("_terms_cache", {})
        key = (self.pk, i)
        try:
            hash(key)
        except TypeError:              # array-valued PK fields: no caching
            return exposure_terms(self.pk, self.regimen(i))
        if key not in cache:
            if len(cache) > 64:
                cache.clear()
            cache[key] = exposure_terms(self.pk, self.regimen(i))
        return cache[key]

    def concentration(self, t: Any, i: int = 0) -> np.ndarray:
        """Concentration of subject ``i`` at ``t`` (days)."""
        return self.terms(i)(t)

    def first_dose(self, i: int = 0) -> float:
        """Day of subject ``i``'s first dose (inf when it has none)."""
        day = self.regimen(i)["day"]
        return float(day.min()) if day.size else float("inf")

    def hazard(self, t: Any, i: int = 0) -> np.ndarray:
        """Kill hazard ``E(C(t)) exp(-lambda (t - t1))`` of subject ``i`` (1/day), before any
        transit delay."""
        t = np.asarray(t, dtype=np.float64)
        t1 = self.first_dose(i)
        lam = float(np.asarray(self.resistance_rate))
        fade = np.exp(-lam * np.maximum(t - t1, 0.0))
        return np.where(t >= t1, self.effect(self.concentration(t, i)) * fade, 0.0)

    def event_days(self) -> np.ndarray:
        n = self.n_regimens() or 1
        days = [self.terms(i).on for i in range(n)]
        out = np.unique(np.concatenate(days)) if days else np.empty(0)
        return out if out.size else np.array([np.inf])

    # ------------------------------------------------------------------ kernels
    def compiled_reason(self) -> str | None:
        """Why the compiled kernels cannot run this drug (None when they can)."""
        if self.transit is not None:
            return "transit (damage) compartments"
        if not isinstance(self.effect, Linear):
            return f"an {type(self.effect).__name__} effect (non-linear in concentration)"
        return None

    def dose_rows(self, n: int, t0: float) -> list[np.ndarray]:
        """The drug as bolus rows ``[day, amount, rate, kill, 0]`` (each ``(n, 5)``) for
        the compiled treatment kernels; subjects with fewer terms get zero rows."""
        why = self.compiled_reason()
        if why is not None:
            raise ScheduleError(
                f"{self.label}: {why} are not supported by the compiled kernels yet; "
                "simulate it with tgsim.tgi.simulate_reference or use a Linear effect"
            )
        k = self.n_regimens()
        if k is not None and k not in (1, n):
            raise ScheduleError(f"{self.label} has dose regimens for {k} subjects but there are "
                                f"{n} subjects")
        slope = float(np.asarray(self.effect.slope))
        lam = float(np.asarray(self.resistance_rate))
        per = []
        for i in range(n):
            j = i if k == n else 0
            if per and k != n:
                per.append(per[0])
                continue
            tm = self.terms(j)
            t1 = self.first_dose(j)
            per.append((tm.on, tm.coef * np.exp(-lam * (tm.on - t1)), tm.rate + lam))
        width = max(p[0].size for p in per)
        rows = []
        for m in range(width):
            r = np.zeros((n, 5))
            for i, (on, amt, rate) in enumerate(per):
                if m < on.size:
                    r[i] = (on[m], amt[m], rate[m], slope, 0.0)
                else:                      # padding: no effect, at a time already a breakpoint
                    r[i] = (on[0] if on.size else t0, 0.0, 0.0, 0.0, 0.0)
            rows.append(r)
        return rows
