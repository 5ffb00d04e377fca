"""Shared constants and boundary checks for the clinical read-outs.

Units: days for time, mm for diameters, mm^3 for volumes. One month is
:data:`DAYS_PER_MONTH` = 30.4375 days (365.25 / 12), the convention used for every
"per month" rate and every "within N months" window in :mod:`tgsim.clinical`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import DataError

__all__ = ["DAYS_PER_MONTH", "REL_TOL", "as_float_array", "check_days", "at_least", "at_most"]

#: Length of a month in days (365.25 / 12), used for rates per month and month windows.
DAYS_PER_MONTH: float = 30.4375

#: Relative tolerance for percentage boundaries, so that e.g. exactly -30.0 % counts as
#: a 30 % decrease despite rounding in floating point.
REL_TOL: float = 1e-9


def as_float_array(
    name: str,
    values: ArrayLike,
    *,
    allow_nan: bool = False,
    minimum: float | None = None,
    strict: bool = False,
) -> NDArray[np.float64]:
    """Return ``values`` as a float64 array, checking it element by element.

    Parameters
    ----------
    name
        Argument name used in error messages.
    values
        Array-like of numbers.
    allow_nan
        Whether NaN is allowed (infinities never are).
    minimum
        Smallest allowed value (inclusive unless ``strict``).
    strict
        Require values strictly greater than ``minimum``.

    Raises
    ------
    DataError
        Naming the argument, the rule and the first offending element.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"`{name}` must be numeric; got {values!r}") from exc
    flat = arr.reshape(-1)
    bad_nan = np.isnan(flat)
    if not allow_nan and bad_nan.any():
        i = int(np.flatnonzero(bad_nan)[0])
        raise DataError(f"`{name}` must not contain NaN; got {_at(name, arr, i)}=nan")
    bad_inf = np.isinf(flat)
    if bad_inf.any():
        i = int(np.flatnonzero(bad_inf)[0])
        raise DataError(f"`{name}` must be finite; got {_at(name, arr, i)}={float(flat[i])!r}")
    if minimum is not None:
        with np.errstate(invalid="ignore"):
            bad = flat <= minimum if strict else flat < minimum
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            rule = ">" if strict else ">="
            raise DataError(
                f"`{name}` must be {rule} {minimum:g}; got {_at(name, arr, i)}={float(flat[i])!r}"
            )
    return arr


def check_days(days: ArrayLike, *, name: str = "days") -> NDArray[np.float64]:
    """Check a 1-D array of assessment days (finite, strictly increasing).

    Raises
    ------
    DataError
        e.g. "`days` must be increasing; got days[3]=2.0 after days[2]=5.0".
    """
    arr = as_float_array(name, days)
    if arr.ndim != 1:
        raise DataError(f"`{name}` must be one-dimensional; got shape {arr.shape}")
    step = np.diff(arr)
    bad = np.flatnonzero(step <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise DataError(
            f"`{name}` must be increasing; got {name}[{i}]={float(arr[i])!r} "
            f"after {name}[{i - 1}]={float(arr[i - 1])!r}"
        )
    return arr


def at_least(value: NDArray[np.float64] | float, bound: NDArray[np.float64] | float):
    """``value >= bound`` with a relative tolerance of :data:`REL_TOL`."""
    return np.asarray(value) >= np.asarray(bound) - REL_TOL * np.maximum(
        np.abs(np.asarray(bound)), 1.0
    )


def at_most(value: NDArray[np.float64] | float, bound: NDArray[np.float64] | float):
    """``value <= bound`` with a relative tolerance of :data:`REL_TOL`."""
    return np.asarray(value) <= np.asarray(bound) + REL_TOL * np.maximum(
        np.abs(np.asarray(bound)), 1.0
    )


def _at(name: str, arr: NDArray[np.float64], flat_index: int) -> str:
    if arr.ndim <= 1:
        return f"{name}[{flat_index}]" if arr.ndim == 1 else name
    idx = np.unravel_index(flat_index, arr.shape)
    return f"{name}[{', '.join(str(int(k)) for k in idx)}]"
