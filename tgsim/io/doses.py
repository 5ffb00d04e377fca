"""Dosing records per subject: a tidy CSV or a table <-> :class:`DoseTable`.

CSV layout
----------
::

    subject,day,amount,amount_unit[,drug][,route][,duration_days]

* ``subject`` — the subject the dose was given to (the same labels as the series file).
* ``day`` — dose day (days); or ``time`` with a ``time_unit`` column (``day``, ``week``,
  ``hour``, ... as in :mod:`tgsim.io.series`).
* ``amount`` — amount per dose, >= 0. **Its unit is never guessed**: it comes from an
  ``amount_unit`` (or ``unit``) column, from the header (``amount_mg``,
  ``amount_mg_per_kg``, ``amount_ug``), or from the ``amount_unit`` argument (CLI
  ``--dose-unit``). One drug has one amount unit.
* ``drug`` (optional) — drug name; absent means one drug, ``"drug"``.
* ``route`` (optional) — ``bolus`` (intravenous bolus; also ``iv``, ``iv_bolus``),
  ``infusion`` (also ``iv_infusion``) or ``oral`` (also ``po``); absent means ``bolus``.
* duration (optional) — of an infusion: ``duration_days``, ``duration_hours`` (also
  ``duration_h``), or ``duration`` with a ``duration_unit`` column. An infusion needs a
  positive duration; a bolus or oral dose has none (0 or empty).

Errors name the source, the 1-based line (the header is line 1) and the column: a
negative or missing amount, a day that is not a number, an unknown route, an infusion
without a duration, the same drug twice on one day for one subject, and — through
:meth:`DoseTable.check_subjects` (called by the fitting and simulation functions that take
``doses=``) — a dose record for a subject that has no measurements.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError
from .series import TIME_UNITS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["DoseTable", "read_doses", "ROUTES"]

#: accepted route spellings -> route
ROUTES: dict[str, str] = {
    "bolus": "bolus", "iv": "bolus", "iv_bolus": "bolus", "ivbolus": "bolus",
    "infusion": "infusion", "iv_infusion": "infusion",
    "oral": "oral", "po": "oral",
}
_AMOUNT_HEADERS = {
    "amount_mg": "mg", "amount_mg_per_kg": "mg/kg", "amount_mg_kg": "mg/kg",
    "amount_ug": "ug", "amount_ug_per_kg": "ug/kg", "amount_g": "g",
}
_DURATION_HEADERS = {"duration_days": 1.0, "duration_day": 1.0, "duration_hours": 1 / 24,
                     "duration_h": 1 / 24}


@dataclass(frozen=True)
class DoseTable:
    """Dose records of many subjects, sorted by subject, drug and day.

    Attributes
    ----------
    subject, drug, route : numpy.ndarray of str
        One entry per dose; ``route`` is ``"bolus"``, ``"infusion"`` or ``"oral"``.
    day, amount, duration : numpy.ndarray of float64
        Dose day (days), amount (in ``amount_unit[drug]``), infusion duration (days;
        0 for a bolus or oral dose).
    amount_unit : dict
        Unit of the amounts of each drug (``{"docetaxel": "mg/kg"}``).
    source : str
        Where the records came from (a path or ``"<table>"``).

    Examples
    --------
    >>> import pandas as pd
    >>> from tgsim.io.doses import read_doses
    >>> t = read_doses(pd.DataFrame({"subject": ["m1", "m1"], "day": [0, 7],
    ...                              "amount_mg_per_kg": [10.0, 10.0]}))
    >>> t.for_subject("m1")["amount"].tolist(), t.amount_unit
    ([10.0, 10.0], {'drug': 'mg/kg'})
    """

    subject: np.ndarray
    drug: np.ndarray
    route: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    duration: np.ndarray
    amount_unit: Mapping[str, str]
    source: str = "<table>"

    def __len__(self) -> int:
        return int(self.day.size)

    @property
    def subjects(self) -> list[str]:
        """Subjects with at least one dose, in order of first appearance."""
        return list(dict.fromkeys(self.subject.tolist()))

    @property
    def drugs(self) -> list[str]:
        """Drug names, in order of first appearance."""
        return list(dict.fromkeys(self.drug.tolist()))

    def for_subject(self, subject: str, drug: str | None = None) -> dict[str, np.ndarray]:
        """The doses of one subject (and one drug): ``day``, ``amount``, ``route``,
        ``duration`` arrays, sorted by day (empty when it has none)."""
        m = self.subject == subject
        if drug is not None:
            m &= self.drug == drug
        return {k: getattr(self, k)[m] for k in ("day", "amount", "route", "duration")}

    def check_subjects(self, known: Iterable[str], what: str = "the measurements") -> None:
        """Raise a :class:`DataError` naming a dose record whose subject is not in
        ``known``."""
        known_set = {str(k) for k in known}
        for i, s in enumerate(self.subject.tolist()):
            if s not in known_set:
                shown = sorted(known_set)[:5]
                raise DataError(
                    f"{self.source}: a dose record for subject {s!r} (day {self.day[i]:g}) "
                    f"but {what} have no subject {s!r}; subjects there include "
                    f"{', '.join(map(repr, shown))}"
                )

    def to_frame(self) -> pd.DataFrame:
        """The records as a tidy DataFrame (the CSV layout, with ``duration_days``)."""
        import pandas as pd

        return pd.DataFrame({
            "subject": self.subject, "day": self.day, "amount": self.amount,
            "amount_unit": [self.amount_unit[d] for d in self.drug], "drug": self.drug,
            "route": self.route, "duration_days": self.duration,
        })


def _norm(name: str) -> str:
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


class _Rows:
    """Column access with source and line numbers for messages."""

    def __init__(self, frame: pd.DataFrame, source: str, header_line: bool):
        self.frame = frame
        self.source = source
        self.offset = 2 if header_line else 0
        self.cols = {_norm(c): c for c in frame.columns}

    def where(self, i: int, col: str) -> str:
        row = f"line {i + self.offset}" if self.offset else f"row {i}"
        return f"{self.source}, {row}, column {col!r}"

    def has(self, col: str) -> bool:
        return col in self.cols

    def strings(self, col: str) -> np.ndarray:
        raw = self.frame[self.cols[col]].to_numpy(dtype=object)
        return np.array(["" if (v is None or (isinstance(v, float) and np.isnan(v)))
                         else str(v).strip() for v in raw], dtype=object)

    def numbers(self, col: str, *, empty: float | None = None) -> np.ndarray:
        s = self.strings(col)
        out = np.empty(s.size)
        for i, v in enumerate(s):
            if v == "" and empty is not None:
                out[i] = empty
                continue
            try:
                out[i] = float(v)
            except ValueError:
                raise DataError(f"{self.where(i, col)}: must be a number; got {v!r}") from None
            if not np.isfinite(out[i]):
                raise DataError(f"{self.where(i, col)}: must be finite; got {v!r}")
        return out


def _amounts(t: _Rows, amount_unit: str | None, drug: np.ndarray) -> tuple[np.ndarray, dict]:
    header = [c for c in _AMOUNT_HEADERS if t.has(c)]
    if t.has("amount") and header or len(header) > 1:
        raise DataError(f"{t.source}: two amount columns ({', '.join(['amount', *header])}); "
                        "keep one")
    if header:
        col, units = header[0], np.full(drug.size, _AMOUNT_HEADERS[header[0]], dtype=object)
    elif t.has("amount"):
        col = "amount"
        ucol = "amount_unit" if t.has("amount_unit") else ("unit" if t.has("unit") else None)
        if ucol is not None:
            units = t.strings(ucol)
            blank = np.flatnonzero(units == "")
            if blank.size:
                raise DataError(f"{t.where(int(blank[0]), ucol)}: empty amount unit")
        elif amount_unit:
            units = np.full(drug.size, amount_unit, dtype=object)
        else:
            raise DataError(
                f"{t.source}: the unit of 'amount' is not stated; add an 'amount_unit' "
                "column, name the column after its unit (amount_mg, amount_mg_per_kg) or "
                "pass amount_unit='mg/kg' (CLI --dose-unit mg/kg)"
            )
    else:
        raise DataError(f"{t.source}: no 'amount' column (columns: "
                        f"{', '.join(map(str, t.frame.columns))})")
    amount = t.numbers(col)
    neg = np.flatnonzero(amount < 0)
    if neg.size:
        i = int(neg[0])
        raise DataError(f"{t.where(i, col)}: a dose amount must be >= 0; got {amount[i]:g}")
    per_drug: dict[str, str] = {}
    for i, (d, u) in enumerate(zip(drug.tolist(), units.tolist(), strict=True)):
        if per_drug.setdefault(d, u) != u:
            raise DataError(f"{t.source}, line {i + t.offset}: drug {d!r} has amounts in "
                            f"{per_drug[d]!r} and {u!r}; one drug has one amount unit")
    return amount, per_drug


def _days(t: _Rows) -> np.ndarray:
    if t.has("day"):
        return t.numbers("day")
    if t.has("time"):
        if not t.has("time_unit"):
            raise DataError(f"{t.source}: a 'time' column needs a 'time_unit' column "
                            "(day, week, hour); or name the column 'day'")
        units = t.strings("time_unit")
        factor = np.empty(units.size)
        for i, u in enumerate(units):
            if u.lower() not in TIME_UNITS:
                raise DataError(f"{t.where(i, 'time_unit')}: unknown time unit {u!r}; use one "
                                f"of {', '.join(sorted(TIME_UNITS))}")
            factor[i] = TIME_UNITS[u.lower()]
        return t.numbers("time") * factor
    raise DataError(f"{t.source}: no 'day' column (or 'time' with 'time_unit')")


def _durations(t: _Rows, route: np.ndarray) -> tuple[np.ndarray, str | None]:
    col = next((c for c in _DURATION_HEADERS if t.has(c)), None)
    if col is not None:
        dur = t.numbers(col, empty=0.0) * _DURATION_HEADERS[col]
    elif t.has("duration"):
        col = "duration"
        if not t.has("duration_unit"):
            raise DataError(f"{t.source}: the unit of 'duration' is not stated; name the "
                            "column duration_days or duration_hours, or add a "
                            "'duration_unit' column")
        units = t.strings("duration_unit")
        dur = t.numbers("duration", empty=0.0)
        for i, u in enumerate(units):
            if dur[i] != 0 and u.lower() not in TIME_UNITS:
                raise DataError(f"{t.where(i, 'duration_unit')}: unknown time unit {u!r}")
            dur[i] *= TIME_UNITS.get(u.lower(), 1.0)
    else:
        dur = np.zeros(route.size)
    for i, (r, d) in enumerate(zip(route.tolist(), dur.tolist(), strict=True)):
        if d < 0:
            raise DataError(f"{t.where(i, col or 'duration')}: duration must be >= 0; got {d:g}")
        if r == "infusion" and d <= 0:
            raise DataError(f"{t.source}, line {i + t.offset}: an infusion needs a positive "
                            "duration (column duration_days or duration_hours)")
        if r != "infusion" and d > 0:
            raise DataError(f"{t.where(i, col)}: a {r} dose has no duration; got {d:g} days "
                            "(use route 'infusion')")
    return dur, col


def read_doses(
    source: str | os.PathLike[str] | pd.DataFrame | Mapping[str, Any],
    *,
    amount_unit: str | None = None,
    subjects: Iterable[str] | None = None,
) -> DoseTable:
    """Read dosing records from a CSV file or a table.

    Parameters
    ----------
    source : path, DataFrame or mapping of columns
        The records, in the layout of :mod:`tgsim.io.doses`.
    amount_unit : str, optional
        Unit of the amounts when neither a column nor the header states it.
    subjects : iterable of str, optional
        The subjects that have measurements; a dose record for any other subject is a
        :class:`~tgsim.errors.DataError`.

    Returns
    -------
    DoseTable

    Examples
    --------
    >>> t = read_doses({"subject": ["a", "a", "b"], "day": [0, 7, 0],
    ...                 "amount": [5, 5, 10], "amount_unit": "mg/kg",
    ...                 "route": ["oral", "oral", "bolus"]})
    >>> t.subjects, t.for_subject("b")["route"].tolist()
    (['a', 'b'], ['bolus'])
    """
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        frame, where, header = source.reset_index(drop=True), "<table>", False
    elif isinstance(source, Mapping):
        frame, where, header = pd.DataFrame(dict(source)), "<table>", False
    else:
        where = os.fspath(source)
        try:
            frame = pd.read_csv(where, dtype=str, keep_default_na=False, skipinitialspace=True)
        except FileNotFoundError:
            raise DataError(f"dose file {where!r} does not exist") from None
        header = True
    t = _Rows(frame, where, header)
    if len(frame) == 0:
        raise DataError(f"{where}: no dose records")
    if not t.has("subject"):
        raise DataError(f"{where}: no 'subject' column (columns: "
                        f"{', '.join(map(str, frame.columns))})")
    subject = t.strings("subject")
    blank = np.flatnonzero(subject == "")
    if blank.size:
        raise DataError(f"{t.where(int(blank[0]), 'subject')}: empty subject")
    drug = t.strings("drug") if t.has("drug") else np.full(subject.size, "drug", dtype=object)
    drug[drug == ""] = "drug"
    if t.has("route"):
        raw = t.strings("route")
        route = np.empty(raw.size, dtype=object)
        for i, r in enumerate(raw):
            key = _norm(r) or "bolus"
            if key not in ROUTES:
                raise DataError(f"{t.where(i, 'route')}: unknown route {r!r}; use bolus, "
                                "infusion or oral")
            route[i] = ROUTES[key]
    else:
        route = np.full(subject.size, "bolus", dtype=object)
    day = _days(t)
    amount, units = _amounts(t, amount_unit, drug)
    duration, _ = _durations(t, route)
    order = np.lexsort((day, drug.astype(str), subject.astype(str)))
    seen: dict[tuple[str, str, float], int] = {}
    for i in order.tolist():
        key = (subject[i], drug[i], float(day[i]))
        if key in seen:
            raise DataError(f"{where}: subject {subject[i]!r} has two doses of {drug[i]!r} on "
                            f"day {day[i]:g} (lines {seen[key] + t.offset} and {i + t.offset}); "
                            "merge them into one amount")
        seen[key] = i
    table = DoseTable(
        subject=subject[order].astype(str), drug=drug[order].astype(str),
        route=route[order].astype(str), day=day[order], amount=amount[order],
        duration=duration[order], amount_unit=dict(units), source=where,
    )
    if subjects is not None:
        table.check_subjects(subjects)
    return table
