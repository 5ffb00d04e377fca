"""Free treatment fields of a schedule: naming, freeing, substituting and identifiability.

A field given as :class:`tgsim.Free` is a *free treatment parameter*. It is named
``<label>.<field>``, where ``<label>`` is the intervention's ``name=`` (or its type when
unnamed); a field of an intervention's swelling or acceleration is
``<label>.swelling.<field>`` / ``<label>.acceleration.<field>``. Two interventions with free
fields and the same label must be told apart by ``name=``.

The functions here are used through :class:`tgsim.Schedule` methods
(:meth:`~tgsim.Schedule.free_parameters`, :meth:`~tgsim.Schedule.with_values`,
:meth:`~tgsim.Schedule.free`, :meth:`~tgsim.Schedule.uninformed`).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .errors import ScheduleError
from .treatment import (
    Acceleration,
    Free,
    Radiotherapy,
    Schedule,
    Surgery,
    Swelling,
    TargetedTherapy,
    _Intervention,
)

__all__ = ["free_parameters", "with_values", "free_fields", "numeric_fields", "uninformed"]

#: fields that are never numeric magnitudes (lists of days, labels, switches, sub-objects)
_NOT_NUMERIC = {"days", "hypothesis", "colony_growth", "name", "acceleration", "swelling",
                "doses", "drug", "subjects", "pk", "effect", "transit", "n"}


def _parts(x: Any) -> list[tuple[str, Any]]:
    """(prefix, object) for an intervention and its nested swelling/acceleration."""
    out: list[tuple[str, Any]] = [("", x)]
    if not isinstance(x, _Intervention):
        return out
    for f in dataclasses.fields(x):
        inner = getattr(x, f.name)
        if isinstance(inner, Swelling | Acceleration) or getattr(inner, "_FREE_NESTED", False):
            out.append((f.name + ".", inner))
    return out


def numeric_fields(schedule: Schedule) -> dict[str, tuple[int, str, str]]:
    """Every numeric field: ``{"<label>.<field>": (index, prefix, field)}``.

    Labels may repeat here (unnamed interventions of one type); the first wins.
    """
    out: dict[str, tuple[int, str, str]] = {}
    for i, x in enumerate(schedule.interventions):
        for prefix, obj in _parts(x):
            for f in dataclasses.fields(obj):
                if f.name not in _NOT_NUMERIC:
                    out.setdefault(f"{x.label}.{prefix}{f.name}", (i, prefix, f.name))
    return out


def _free_entries(schedule: Schedule) -> dict[str, tuple[Free, int, str]]:
    """``{"<label>.<field>": (Free, intervention index, prefix)}``."""
    out: dict[str, tuple[Free, int, str]] = {}
    for i, x in enumerate(schedule.interventions):
        for prefix, obj in _parts(x):
            for f in dataclasses.fields(obj):
                v = getattr(obj, f.name)
                if not isinstance(v, Free):
                    continue
                key = f"{x.label}.{prefix}{f.name}"
                if key in out and out[key][1] != i:
                    raise ScheduleError(
                        f"two interventions are labelled {x.label!r} and both have a free "
                        f"{prefix}{f.name}; give them different names (name=...)"
                    )
                out[key] = (v, i, prefix)
    return out


def free_parameters(schedule: Schedule) -> dict[str, Free]:
    """The free fields of ``schedule`` in order: ``{"<label>.<field>": Free}``.

    Raises
    ------
    ScheduleError
        When two interventions with free fields share a label (give them ``name=``).
    """
    return {k: v[0] for k, v in _free_entries(schedule).items()}


def _set(x: Any, name: str, value: Any, validate: bool) -> Any:
    if validate:
        return dataclasses.replace(x, **{name: value})
    y = copy.copy(x)
    object.__setattr__(y, name, value)
    return y


def _replace(x: Any, prefix: str, name: str, value: Any, validate: bool = True) -> Any:
    if not prefix:
        return _set(x, name, value, validate)
    sub = prefix[:-1]
    return _set(x, sub, _set(getattr(x, sub), name, value, validate), validate)


def _locate(schedule: Schedule, key: str) -> list[tuple[str, int, str, str]]:
    """Resolve a full name ``label.field`` or a bare field name to numeric fields."""
    fields_ = numeric_fields(schedule)
    if key in fields_:
        return [(key, *fields_[key])]
    hits = [(k, *v) for k, v in fields_.items()
            if key in (k.split(".", 1)[1], k.rsplit(".", 1)[1])]
    if not hits:
        listed = ", ".join(fields_) or "(the schedule has no interventions)"
        raise ScheduleError(
            f"no intervention has a numeric field {key!r}; the numeric fields are: {listed}"
        )
    return hits


def with_values(schedule: Schedule, values: Mapping[str, Any], *,
                validate: bool = True) -> Schedule:
    """``schedule`` with the named free fields fixed at ``values`` (numbers or one value per
    subject); fields not named keep their :class:`Free` (simulated at the start value).

    ``validate=False`` skips the interventions' checks: for values already known to lie
    within each :class:`Free`'s bounds (which lie within the field's range), as an
    optimiser's trial values do.

    Raises
    ------
    ScheduleError
        A name that is not a free field of the schedule, or a value outside the field's
        range (the message names the field and the value).
    """
    free = free_parameters(schedule)
    unknown = [k for k in values if k not in free]
    if unknown:
        raise ScheduleError(
            f"{unknown[0]!r} is not a free treatment parameter of this schedule; the free "
            f"ones are: {', '.join(free) or '(none)'}"
        )
    fields_ = numeric_fields(schedule)
    items = list(schedule.interventions)
    for key, value in values.items():
        i, prefix, name = fields_[key]
        items[i] = _replace(items[i], prefix, name, value, validate)
    if not validate:
        out = Schedule.__new__(Schedule)
        out.interventions = tuple(items)
        return out
    return Schedule(items)


def free_fields(schedule: Schedule, spec: Mapping[str, Free | None] | Iterable[str]) -> Schedule:
    """``schedule`` with more fields made free.

    ``spec`` names fields by ``"<label>.<field>"`` or by a bare field name (every
    intervention that has it, nested fields included: ``"slope"`` frees
    ``"<label>.effect.slope"``); a mapping may give the :class:`Free` for each, else the
    current value is the start and the field's range the bounds.

    Raises
    ------
    ScheduleError
        A field that does not exist (the message lists the numeric fields), or a field
        with per-subject values freed without a start.
    """
    pairs = spec.items() if isinstance(spec, Mapping) else ((k, None) for k in spec)
    items = list(schedule.interventions)
    for key, given in pairs:
        for full, i, prefix, name in _locate(schedule, str(key)):
            current = getattr(getattr(items[i], prefix[:-1]) if prefix else items[i], name)
            if given is not None:
                new = given
            elif isinstance(current, Free):
                continue
            else:
                arr = np.asarray(current, dtype=np.float64)
                if arr.size != 1:
                    raise ScheduleError(
                        f"{full} has one value per subject; free it with an explicit start, "
                        f"e.g. {{{full!r}: tgsim.Free(...)}}"
                    )
                new = Free(float(arr.ravel()[0]))
            items[i] = _replace(items[i], prefix, name, new)
    return Schedule(items)


def _first_effect(x: Any) -> tuple[np.ndarray, bool]:
    """First day an intervention acts (per subject where days vary) and whether its
    effect is a jump (seen at an observation on that very day)."""
    if isinstance(x, Acceleration):
        return np.atleast_1d(np.asarray(x.onset_day, dtype=np.float64)), False
    days = x.event_days()
    if isinstance(x, TargetedTherapy):
        return np.atleast_1d(np.asarray(x.start, dtype=np.float64)), False
    jump = isinstance(x, Surgery | Radiotherapy)
    return np.atleast_1d(np.min(np.asarray(days, dtype=np.float64))), jump


def uninformed(schedule: Schedule, last_day: Any) -> dict[str, np.ndarray]:
    """Which free parameters the data cannot inform, per subject.

    A free field of an intervention is uninformed for a subject whose last observation
    (``last_day``, days; a scalar or one per subject) is not after the intervention's first
    effect: no dose, fraction or exposure before the last observation (an acceleration:
    no onset before it). A jump (surgery, a radiotherapy fraction) on the day of the last
    observation does show in it (outputs are right-continuous).

    Returns
    -------
    dict
        ``{"<label>.<field>": bool array (one per subject)}``, True where uninformed.
    """
    last = np.atleast_1d(np.asarray(last_day, dtype=np.float64))
    out: dict[str, np.ndarray] = {}
    for key, (_, i, prefix) in _free_entries(schedule).items():
        x = schedule.interventions[i]
        first, jump = _first_effect(x)
        if prefix == "acceleration.":
            first = first + np.asarray(x.acceleration.onset_day, dtype=np.float64)
            jump = False
        out[key] = (first > last) if jump else (first >= last)
    return out
