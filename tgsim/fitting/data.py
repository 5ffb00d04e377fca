"""Turn the inputs of the fitting functions into compact arrays (one row per subject).

Accepted data
-------------
* a series :class:`xarray.Dataset` (layout of :mod:`tgsim.io.series`: ``time(subject, obs)``
  in days, ``value(subject, obs)`` with ``units``, optional ``censored`` and ``n_obs``);
* a path to a tidy long CSV (read with :func:`tgsim.io.read_series`);
* a :class:`pandas.DataFrame` in the same tidy layout;
* a pair ``(times, values)``: 1-D arrays for one series, or 2-D arrays (subject, obs)
  padded with NaN for several.

Units
-----
A file or DataFrame must state its unit (see :func:`tgsim.io.read_series`; ``unit=``
supplies it); arrays are in mm^3 unless ``unit=`` says otherwise. Times are days: dates
(datetime64, pandas Timestamps) are refused with a message saying how to convert them.
Model cards describe volumes in mm^3. Values in mm^3 are used as they are; values in mm
(diameters) are converted to the volume of a sphere of that diameter, V = pi d^3 / 6
(the conversion is recorded in the result's attrs). Any other unit (a signal such as
``photons/s`` or an unspecified ``as_published`` quantity) is refused unless the caller
names it with ``unit=``, acknowledging that volume parameters then carry that unit.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DataError, TgsimWarning

__all__ = ["SeriesBatch", "as_batch", "SPHERE"]

#: volume of a sphere per cubed diameter, V = SPHERE * d^3 (mm^3 per mm^3)
SPHERE = math.pi / 6.0

_VOLUME_UNITS = {"mm^3": 1.0, "mm3": 1.0, "mm³": 1.0, "mm**3": 1.0, "cm^3": 1000.0,
                 "cm3": 1000.0, "cm³": 1000.0, "ml": 1000.0}
_LENGTH_UNITS = {"mm": 1.0, "cm": 10.0}


class _IfLoaded:
    """A module's attributes if the module is imported already, else a class nothing is
    an instance of: a DataFrame or a Dataset implies that pandas or xarray is loaded, so
    array input never pays for importing them (a first fit stays light)."""

    class _Never:
        pass

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        module = sys.modules.get(self._name)
        return self._Never if module is None else getattr(module, attr)


@dataclass
class SeriesBatch:
    """Measurements of ``n`` subjects, compacted to the front of each row.

    Attributes
    ----------
    subjects : ndarray
        Subject labels.
    T, Y, W : ndarray, shape (n, m)
        Times (days), values (in ``unit``) and kinds (1 = measured, 2 = left-censored at
        the value, 0 = padding) of the usable points, first ``nu[s]`` of each row.
    nu : ndarray of int64
        Number of usable points per subject.
    obs_index : ndarray of int64, shape (n, m)
        Position of each compact point in the input's ``obs`` axis (-1 for padding).
    n_obs_input : int
        Length of the input's ``obs`` axis.
    excluded : ndarray of int64
        Points of each subject left out (NaN rows, or non-positive under a log model).
    t0 : ndarray
        Time (days) at which ``initial_volume`` applies, per subject.
    unit : str
        Unit of ``Y`` (``"mm^3"`` unless the caller named another).
    conversion : str
        What was done to the input values (empty when nothing).
    all_equal : ndarray of bool
        True where a subject's measured values are all identical (a degenerate
        likelihood: a perfect fit drives the residual scale to zero).
    """

    subjects: np.ndarray
    T: np.ndarray
    Y: np.ndarray
    W: np.ndarray
    nu: np.ndarray
    obs_index: np.ndarray
    n_obs_input: int
    excluded: np.ndarray
    t0: np.ndarray
    unit: str
    conversion: str = ""
    all_equal: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    source: str = ""

    @property
    def n(self) -> int:
        return int(self.T.shape[0])

    def subset(self, rows: np.ndarray) -> SeriesBatch:
        """The batch restricted to ``rows`` (indices)."""
        r = np.asarray(rows)
        return SeriesBatch(
            subjects=self.subjects[r], T=self.T[r], Y=self.Y[r], W=self.W[r], nu=self.nu[r],
            obs_index=self.obs_index[r], n_obs_input=self.n_obs_input,
            excluded=self.excluded[r], t0=self.t0[r], unit=self.unit,
            conversion=self.conversion, all_equal=self.all_equal[r], source=self.source,
        )

    def truncate(self, k: int) -> SeriesBatch:
        """Keep the first ``k`` usable points of every subject."""
        nu = np.minimum(self.nu, k)
        T, Y, W, oi = self.T.copy(), self.Y.copy(), self.W.copy(), self.obs_index.copy()
        cols = np.arange(T.shape[1])[None, :] >= nu[:, None]
        W[cols] = 0.0
        oi[cols] = -1
        return SeriesBatch(
            subjects=self.subjects, T=T, Y=Y, W=W, nu=nu, obs_index=oi,
            n_obs_input=self.n_obs_input, excluded=self.excluded, t0=self.t0,
            unit=self.unit, conversion=self.conversion,
            all_equal=_all_equal(Y, W, nu), source=self.source,
        )


def _all_equal(Y: np.ndarray, W: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """True where a subject has >= 2 measured values, all identical."""
    cols = np.arange(Y.shape[1])[None, :] < np.asarray(nu)[:, None]
    m = cols & (W == 1.0)
    if m.size == 0:
        return np.zeros(Y.shape[0], bool)
    first = Y[np.arange(Y.shape[0]), np.argmax(m, axis=1)]
    same = np.all(np.where(m, Y == first[:, None], True), axis=1)
    return same & (m.sum(axis=1) >= 2)


def _unit_factor(unit: str, where: str) -> tuple[str, float, str]:
    """(stored unit, factor, kind) for a unit string; kind 'volume', 'length' or 'other'."""
    u = unit.strip().lower()
    if u in _VOLUME_UNITS:
        return "mm^3", _VOLUME_UNITS[u], "volume"
    if u in _LENGTH_UNITS:
        return "mm", _LENGTH_UNITS[u], "length"
    return unit.strip(), 1.0, "other"


def parameter_units(card_units: Sequence[str], data_unit: str) -> tuple[str, ...]:
    """Units of a card's parameters when fitted to data in ``data_unit``.

    Cards state sizes in mm³. Data in another size unit (a diameter in mm, a signal in
    photons/s, a marker in ng/mL) are fitted on their own scale, so the size parameters
    (initial volume, carrying capacity, linear rate, ...) carry that unit: ``mm^3`` in a
    card unit becomes the data unit (``mm^3/day`` -> ``photons/s/day``).
    """
    du = data_unit.strip()
    if du.lower() in ("mm^3", "mm3", "mm³"):
        return tuple(card_units)
    return tuple(u.replace("mm^3", du) for u in card_units)


def _from_dataset(ds: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str, str]:
    for var in ("time", "value"):
        if var not in ds.variables:
            raise DataError(
                f"`data`: the Dataset has no variable {var!r}; expected the series layout "
                "(time(subject, obs) in days, value(subject, obs)) of tgsim.io.read_series"
            )
        if tuple(ds[var].dims) != ("subject", "obs"):
            raise DataError(
                f"`data`: variable {var!r} must have dims ('subject', 'obs'); "
                f"got {tuple(ds[var].dims)}"
            )
    tunits = str(ds["time"].attrs.get("units", "day")).strip().lower()
    if tunits not in ("day", "days", "d"):
        raise DataError(f"`data`: time must be in days; the Dataset says units={tunits!r}")
    T = np.asarray(ds["time"].values, dtype=np.float64)
    Y = np.asarray(ds["value"].values, dtype=np.float64)
    if "censored" in ds.variables:
        C = np.asarray(ds["censored"].values, dtype=bool)
    else:
        C = np.zeros(T.shape, bool)
    labels = np.asarray(ds["subject"].values) if "subject" in ds.coords else np.arange(T.shape[0])
    units = ds["value"].attrs.get("units")
    if units is None:
        raise DataError(
            "`data`: variable 'value' has no 'units' attribute; set it (e.g. 'mm^3') or pass "
            "unit=..."
        )
    return labels, T, Y, C, str(units), str(ds.attrs.get("source", "<Dataset>"))


def _from_arrays(data: Any, censored: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if len(data) != 2:
        raise DataError(
            f"`data` as a sequence must be the pair (times, values); got {len(data)} items"
        )
    try:
        T = np.asarray(data[0], dtype=np.float64)
        Y = np.asarray(data[1], dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("`data`: times and values must be arrays of numbers") from None
    if T.ndim == 1 and Y.ndim == 1:
        T, Y = T[None, :], Y[None, :]
    elif T.ndim == 1 and Y.ndim == 2 and T.shape[0] == Y.shape[1]:
        T = T[None, :]  # one time row shared by every subject (not copied)
    if T.ndim != 2 or T.shape[1:] != Y.shape[1:] or T.shape[0] not in (1, Y.shape[0]):
        raise DataError(
            f"`data`: times and values must have the same shape, 1-D (one series) or 2-D "
            f"(subject, obs); got times {np.shape(data[0])} and values {np.shape(data[1])}"
        )
    if censored is None:
        C = np.zeros(Y.shape, bool)
    else:
        C = np.array(censored, dtype=bool)
        if C.ndim == 1 and Y.shape[0] == 1:
            C = C[None, :]
        if C.shape != Y.shape:
            raise DataError(
                f"`censored` must have the shape of the values {Y.shape}; got {C.shape}"
            )
    return np.arange(Y.shape[0]), T, Y, C


def _refuse_datetimes(data: Any) -> None:
    """Dates passed as times are refused: read as numbers they would be nanoseconds
    since 1970, and a fit of them a silent plateau."""
    if len(data) < 1:
        return
    times = data[0]
    kind = getattr(getattr(times, "dtype", None), "kind", None)
    if kind is None:
        try:
            kind = np.asarray(times).dtype.kind
        except (TypeError, ValueError):
            return
        if kind == "O":
            import datetime as _dt

            flat = np.asarray(times, dtype=object).ravel()
            if flat.size and isinstance(flat[0], _dt.date | np.datetime64):
                kind = "M"
    if kind in ("M", "m"):
        raise DataError(
            "`data`: times are dates or durations, not days; convert them explicitly, e.g. "
            "days = (dates - dates[0]) / np.timedelta64(1, 'D'), or read a CSV with "
            "tgsim.io.read_series, which turns a date column into days from each subject's "
            "first date"
        )


def as_batch(
    data: Any,
    *,
    unit: str | None = None,
    censored: Any = None,
    t0: Any = None,
    log_scale: bool = False,
) -> SeriesBatch:
    """Validate ``data`` and return a :class:`SeriesBatch`.

    Parameters
    ----------
    data : Dataset, path, DataFrame or (times, values)
        See the module docstring.
    unit : str, optional
        Unit of the values. With a Dataset or file it must agree with the data's own
        ``units`` (it is how a non-size unit is accepted); with arrays it declares the
        unit (default ``"mm^3"``).
    censored : array_like of bool, optional
        Left-censoring flags for array input (the value is then the detection limit).
    t0 : float or array_like, optional
        Time origin (days) of ``initial_volume``: None uses each subject's first usable
        time; a scalar or one value per subject must not exceed that first time.
    log_scale : bool
        The error model works on log values: non-positive values cannot be used and are
        left out (with a :class:`~tgsim.errors.TgsimWarning`).

    Raises
    ------
    DataError
        Malformed data, unknown units, negative sizes, unsorted times, a bad ``t0``.
    """
    labels, T, Y, C, data_unit, source = _read_input(data, unit, censored)
    stored, factor, kind = _unit_factor(data_unit, "data")
    if kind == "other" and unit is None:
        raise DataError(
            f"`data`: values are in {data_unit!r}, which is not a size unit (mm^3, cm^3, ml, "
            f"mm, cm); growth laws describe volumes in mm^3. Pass unit={data_unit!r} to fit "
            "in that unit anyway (volume parameters such as initial_volume then carry it)"
        )
    from ._kernels import count_rows

    n, m = Y.shape
    T = np.ascontiguousarray(T, dtype=np.float64)
    raw = np.ascontiguousarray(Y, dtype=np.float64)
    Y, out_unit, conversion = _in_stored_unit(raw, data_unit, stored, factor, kind)
    nu = np.empty(n, dtype=np.int64)
    flags = np.empty((n, 4), dtype=np.int64)
    count_rows(T, Y, kind != "other", log_scale, nu, flags)
    _check_flags(flags, labels, raw)
    n_log = int(flags[:, 2].sum())
    if n_log:
        warnings.warn(
            f"{n_log} non-positive value(s) cannot enter a log-scale error model and were "
            "left out (per subject: `excluded` of a population fit, `data.excluded` of a fit)",
            TgsimWarning,
            stacklevel=3,
        )
    Tc, Yc, Wc, oi, all_equal = _compact(T, Y, C, log_scale, nu, labels)
    excluded = np.maximum(flags[:, 3] - nu, 0)
    first = np.where(nu > 0, Tc[:, 0], np.nan)
    t0a = _time_origin(t0, nu, first, labels)
    return SeriesBatch(
        subjects=np.asarray(labels), T=Tc, Y=Yc, W=Wc, nu=nu, obs_index=oi, n_obs_input=m,
        excluded=excluded, t0=t0a.astype(np.float64), unit=out_unit, conversion=conversion,
        all_equal=all_equal, source=source,
    )


def _read_input(data: Any, unit: str | None, censored: Any) -> tuple[Any, ...]:
    """Labels, times, values, censoring flags, unit and source of any accepted input."""
    pd = _IfLoaded("pandas")
    xr = _IfLoaded("xarray")

    if isinstance(data, str | os.PathLike):
        from ..io.series import read_series

        data = read_series(data, unit=unit)
    elif isinstance(data, pd.DataFrame):
        from ..io.series import series_from_frame

        data = series_from_frame(data, unit=unit)
    if isinstance(data, xr.Dataset):
        if censored is not None:
            raise DataError("`censored` is only for array input; a Dataset carries its own")
        labels, T, Y, C, data_unit, source = _from_dataset(data)
        if unit is not None and _unit_factor(unit, "unit")[0].lower() != \
                _unit_factor(data_unit, "data")[0].lower():
            raise DataError(
                f"`unit`={unit!r} contradicts the data's units {data_unit!r}"
            )
    elif isinstance(data, tuple | list):
        _refuse_datetimes(data)
        labels, T, Y, C = _from_arrays(data, censored)
        data_unit = unit if unit is not None else "mm^3"
        source = "<arrays>"
    else:
        raise DataError(
            "`data` must be a series Dataset, a CSV path, a DataFrame or a pair "
            f"(times, values); got {type(data).__name__}"
        )
    return labels, T, Y, C, data_unit, source


def _in_stored_unit(
    raw: np.ndarray, data_unit: str, stored: str, factor: float, kind: str
) -> tuple[np.ndarray, str, str]:
    """Values in the fitted unit (diameters as sphere volumes in mm^3), that unit and a
    note of the conversion ("" when none)."""
    if kind == "length":
        return (SPHERE * (raw * factor) ** 3, "mm^3",
                "diameters d (mm) converted to sphere volumes pi d^3 / 6 (mm^3)")
    if factor != 1.0:
        return raw * factor, stored, f"values converted from {data_unit} to {stored} (x {factor:g})"
    return raw, stored, ""


def _check_flags(flags: np.ndarray, labels: Any, raw: np.ndarray) -> None:
    """Refuse the first infinite time or value, then the first negative size."""
    for col, what in ((0, "inf"), (1, "neg")):
        rows = np.flatnonzero(flags[:, col] >= 0)
        if rows.size:
            s_, o = int(rows[0]), int(flags[rows[0], col])
            if what == "inf":
                raise DataError(
                    f"`data`: subject '{labels[s_]}', obs {o}: time or value is infinite"
                )
            raise DataError(
                f"`data`: subject '{labels[s_]}', obs {o}: sizes must be >= 0; "
                f"got {float(raw[s_, o])!r}"
            )


def _compact(
    T: np.ndarray, Y: np.ndarray, C: Any, log_scale: bool, nu: np.ndarray, labels: Any
) -> tuple[np.ndarray, ...]:
    """The usable points of each subject packed to the left: times, values, censoring
    weights, input obs index and whether all values are equal; unsorted times raise."""
    from ._kernels import compact_rows

    n, m = Y.shape
    width = max(int(nu.max()) if n else 0, 1)
    Tc, Yc, Wc = np.empty((n, width)), np.empty((n, width)), np.empty((n, width))
    oi = np.empty((n, width), dtype=np.int64)
    unsorted = np.empty(n, dtype=np.int64)
    all_equal = np.empty(n, dtype=bool)
    C = np.ascontiguousarray(C, dtype=bool)
    if m:
        compact_rows(T, Y, C, log_scale, nu, Tc, Yc, Wc, oi, unsorted, all_equal)
    else:
        Tc[:], Yc[:], Wc[:], oi[:], unsorted[:], all_equal[:] = 0.0, 0.0, 0.0, -1, -1, False
    rows = np.flatnonzero(unsorted >= 0)
    if rows.size:
        s_, i = int(rows[0]), int(unsorted[rows[0]])
        raise DataError(
            f"`data`: times of subject '{labels[s_]}' must be strictly increasing; got "
            f"{Tc[s_, i + 1]:g} after {Tc[s_, i]:g} (obs {oi[s_, i + 1]} and {oi[s_, i]})"
        )
    return Tc, Yc, Wc, oi, all_equal


def _time_origin(t0: Any, nu: np.ndarray, first: np.ndarray, labels: Any) -> np.ndarray:
    """``t0`` per subject (default: the first usable time, 0 for a subject without one),
    never after the first measurement."""
    n = nu.size
    if t0 is None:
        return np.where(nu > 0, first, 0.0)
    try:
        t0a = np.array(t0, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"`t0` must be a number of days or one per subject; got {t0!r}"
        ) from None
    if t0a.ndim == 0:
        t0a = np.full(n, float(t0a))
    if t0a.shape != (n,):
        raise DataError(f"`t0` must be a scalar or have one value per subject ({n}); "
                        f"got shape {t0a.shape}")
    if not np.all(np.isfinite(t0a)):
        raise DataError(f"`t0` must be finite; got {t0!r}")
    late = (nu > 0) & (t0a > first)
    if late.any():
        s = int(np.flatnonzero(late)[0])
        raise DataError(
            f"`t0` must not be after a subject's first measurement; subject "
            f"{labels[s]!r} has t0={t0a[s]:g} > first time {first[s]:g} (days)"
        )
    return t0a
