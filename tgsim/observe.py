"""Observation: from simulated tumour volumes to scan-like measurements.

Units: time in **days**, diameters in **mm**, volumes in **mm^3**.

* Size conversions: sphere :math:`V = \\pi/6\\,D^3`, caliper ellipsoid
  :math:`V = \\pi/6\\,L W^2`, the common caliper formula :math:`V = L W^2 / 2`, and
  volume to cell count at :data:`CELLS_PER_MM3` = 1e6 cells per mm^3 by default.
* Measurement-error models (:class:`AdditiveError`, :class:`ProportionalError`,
  :class:`CombinedError`, :class:`LogNormalError`), seeded through
  ``numpy.random.default_rng(seed)``.
* An imaging detection limit (:func:`is_visible`), scan schedules
  (:func:`scan_schedule`), sums of longest diameters (:func:`sum_of_diameters`).
* :func:`scan`: sample a simulation Dataset on a scan schedule, and
  :func:`scans_to_lesions` to feed the result to :func:`tgsim.clinical.recist`.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import DataError, TgsimWarning

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import xarray as xr

__all__ = [
    "CELLS_PER_MM3",
    "DAYS_PER_WEEK",
    "DAYS_PER_MONTH",
    "EVERY_6_WEEKS",
    "EVERY_8_WEEKS",
    "EVERY_3_MONTHS",
    "sphere_volume",
    "sphere_diameter",
    "ellipsoid_volume",
    "caliper_volume",
    "volume_to_cells",
    "cells_to_volume",
    "MeasurementError",
    "AdditiveError",
    "ProportionalError",
    "CombinedError",
    "LogNormalError",
    "add_measurement_error",
    "is_visible",
    "parse_interval",
    "scan_schedule",
    "sum_of_diameters",
    "scan",
    "scans_to_lesions",
]

#: Default cell density used to turn a volume into a cell count: 1e6 cells per mm^3
#: (the usual order-of-magnitude value of about 1e9 cells per cm^3).
CELLS_PER_MM3: float = 1e6
#: Days per week.
DAYS_PER_WEEK: float = 7.0
#: Days per month (365.25 / 12), as in :mod:`tgsim.clinical`.
DAYS_PER_MONTH: float = 30.4375
#: Scan every 6 weeks (42 days).
EVERY_6_WEEKS: float = 6 * DAYS_PER_WEEK
#: Scan every 8 weeks (56 days).
EVERY_8_WEEKS: float = 8 * DAYS_PER_WEEK
#: Scan every 3 months (91.3125 days).
EVERY_3_MONTHS: float = 3 * DAYS_PER_MONTH


def _arr(name: str, values: ArrayLike, *, allow_nan: bool = False) -> NDArray[np.float64]:
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"`{name}` must be numeric; got {values!r}") from exc
    flat = a.reshape(-1)
    bad = (flat < 0) | np.isinf(flat) | (np.isnan(flat) & (not allow_nan))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"{name}[{i}]" if a.ndim else name
        raise DataError(f"`{name}` must be finite and >= 0; got {where}={flat[i]!r}")
    return a


def _ret(a: NDArray[np.float64]) -> float | NDArray[np.float64]:
    return float(a) if a.ndim == 0 else a


# --------------------------------------------------------------------------- sizes


def sphere_volume(diameter_mm: ArrayLike) -> float | NDArray[np.float64]:
    r"""Volume of a sphere of diameter :math:`D`: :math:`V = \frac{\pi}{6} D^3`.

    Parameters
    ----------
    diameter_mm
        Diameter(s) in mm, >= 0.

    Returns
    -------
    float or numpy.ndarray
        Volume in mm^3.

    Examples
    --------
    >>> round(sphere_volume(10.0), 4)
    523.5988
    """
    d = _arr("diameter_mm", diameter_mm, allow_nan=True)
    return _ret(math.pi / 6.0 * d**3)


def sphere_diameter(volume_mm3: ArrayLike) -> float | NDArray[np.float64]:
    r"""Sphere-equivalent diameter of a volume: :math:`D = (6 V / \pi)^{1/3}`.

    Parameters
    ----------
    volume_mm3
        Volume(s) in mm^3, >= 0.

    Returns
    -------
    float or numpy.ndarray
        Diameter in mm.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> float(tgsim.sphere_diameter(np.pi / 6 * 20.0**3))   # a 20 mm sphere
    20.0
    """
    v = _arr("volume_mm3", volume_mm3, allow_nan=True)
    return _ret(np.cbrt(6.0 * v / math.pi))


def ellipsoid_volume(length_mm: ArrayLike, width_mm: ArrayLike) -> float | NDArray[np.float64]:
    r"""Caliper ellipsoid volume: :math:`V = \frac{\pi}{6} L W^2`.

    The ellipsoid with axes :math:`L, W, W` (the unmeasured depth taken equal to the
    width), the usual formula for calipered subcutaneous tumours.

    Parameters
    ----------
    length_mm, width_mm
        Longest diameter :math:`L` and the perpendicular width :math:`W`, in mm.

    Returns
    -------
    float or numpy.ndarray
        Volume in mm^3.

    References
    ----------
    Tomayko MM, Reynolds CP. Determination of subcutaneous tumor size in athymic (nude)
    mice. *Cancer Chemother Pharmacol* 1989;24(3):148-154.

    Examples
    --------
    >>> import tgsim
    >>> round(float(tgsim.ellipsoid_volume(length_mm=10.0, width_mm=8.0)), 2)
    335.1
    """
    length = _arr("length_mm", length_mm, allow_nan=True)
    width = _arr("width_mm", width_mm, allow_nan=True)
    return _ret(np.asarray(math.pi / 6.0 * length * width**2))


def caliper_volume(length_mm: ArrayLike, width_mm: ArrayLike) -> float | NDArray[np.float64]:
    r"""The common caliper formula :math:`V = L W^2 / 2` (mm^3).

    A rounded form of :func:`ellipsoid_volume` (:math:`\pi/6 \approx 0.524`), about
    4.5 % larger.

    Parameters
    ----------
    length_mm, width_mm
        Longest diameter :math:`L` and the perpendicular width :math:`W`, in mm.

    Returns
    -------
    float or numpy.ndarray
        Volume in mm^3.

    References
    ----------
    Euhus DM, Hudd C, LaRegina MC, Johnson FE. Tumor measurement in the nude mouse.
    *J Surg Oncol* 1986;31(4):229-234.

    Examples
    --------
    >>> import tgsim
    >>> float(tgsim.caliper_volume(length_mm=10.0, width_mm=8.0))
    320.0
    """
    length = _arr("length_mm", length_mm, allow_nan=True)
    width = _arr("width_mm", width_mm, allow_nan=True)
    return _ret(np.asarray(length * width**2 / 2.0))


def volume_to_cells(
    volume_mm3: ArrayLike, cells_per_mm3: float = CELLS_PER_MM3
) -> float | NDArray[np.float64]:
    """Cell count of a volume: ``volume_mm3 * cells_per_mm3`` (default 1e6 cells/mm^3).

    Parameters
    ----------
    volume_mm3
        Volume(s) in mm^3, >= 0.
    cells_per_mm3
        Cell density, cells per mm^3 (> 0); default :data:`CELLS_PER_MM3` = 1e6.

    Examples
    --------
    >>> import tgsim
    >>> float(tgsim.volume_to_cells(2.0))                   # 2 mm^3 at 1e6 cells/mm^3
    2000000.0
    """
    _check_density(cells_per_mm3)
    return _ret(_arr("volume_mm3", volume_mm3, allow_nan=True) * float(cells_per_mm3))


def cells_to_volume(
    cells: ArrayLike, cells_per_mm3: float = CELLS_PER_MM3
) -> float | NDArray[np.float64]:
    """Volume in mm^3 of a number of cells: ``cells / cells_per_mm3`` (default 1e6).

    Examples
    --------
    >>> import tgsim
    >>> float(tgsim.cells_to_volume(1e9))                   # a billion cells: 1 cm^3
    1000.0
    """
    _check_density(cells_per_mm3)
    return _ret(_arr("cells", cells, allow_nan=True) / float(cells_per_mm3))


def _check_density(cells_per_mm3: float) -> None:
    if not (isinstance(cells_per_mm3, int | float) and math.isfinite(cells_per_mm3)) or (
        cells_per_mm3 <= 0
    ):
        raise DataError(f"`cells_per_mm3` must be a positive number; got {cells_per_mm3!r}")


# ----------------------------------------------------------------- measurement error


def _check_param(name: str, value: float) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise DataError(f"`{name}` must be a finite number >= 0; got {value!r}")
    return float(value)


class MeasurementError:
    """Base class of the measurement-error models.

    A model maps true sizes :math:`y` (mm) and standard normal draws
    :math:`\\varepsilon` to measured sizes. Results below 0 are set to 0 (a size cannot
    be negative). Use :meth:`apply` with a seed or a ``numpy.random.Generator``.
    """

    def _perturb(
        self, y: NDArray[np.float64], eps: NDArray[np.float64]
    ) -> NDArray[np.float64]:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(
        self, values: ArrayLike, seed: int | np.random.Generator | None = None
    ) -> NDArray[np.float64]:
        """Return ``values`` with measurement error drawn from ``default_rng(seed)``.

        NaN values stay NaN (and still consume a draw, so the draws do not depend on
        where NaNs are).
        """
        y = _arr("values", values, allow_nan=True)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        eps = rng.standard_normal(y.shape)
        return np.maximum(self._perturb(y, eps), 0.0)


@dataclass(frozen=True)
class AdditiveError(MeasurementError):
    r"""Additive error: :math:`y_\mathrm{obs} = y + a\,\varepsilon`.

    Parameters
    ----------
    sd_mm
        Standard deviation :math:`a` in mm (e.g. inter-reader variability of a CT
        diameter, a few mm).

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> err = tgsim.AdditiveError(sd_mm=1.0)
    >>> y = err.apply(np.full(10000, 20.0), seed=0)
    >>> round(float(y.mean()), 1), round(float(y.std()), 1)
    (20.0, 1.0)
    """

    sd_mm: float

    def __post_init__(self) -> None:
        _check_param("sd_mm", self.sd_mm)

    def _perturb(self, y, eps):
        return y + self.sd_mm * eps


@dataclass(frozen=True)
class ProportionalError(MeasurementError):
    r"""Proportional error: :math:`y_\mathrm{obs} = y\,(1 + b\,\varepsilon)`.

    Parameters
    ----------
    cv
        Coefficient of variation :math:`b` (0.1 = 10 %).

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> err = tgsim.ProportionalError(cv=0.1)
    >>> y = err.apply(np.full(10000, 50.0), seed=0)
    >>> round(float(y.std() / y.mean()), 2)
    0.1
    """

    cv: float

    def __post_init__(self) -> None:
        _check_param("cv", self.cv)

    def _perturb(self, y, eps):
        return y * (1.0 + self.cv * eps)


@dataclass(frozen=True)
class CombinedError(MeasurementError):
    r"""Combined error: :math:`y_\mathrm{obs} = y + \sqrt{a^2 + (b\,y)^2}\;\varepsilon`.

    Parameters
    ----------
    sd_mm
        Additive standard deviation :math:`a` in mm.
    cv
        Proportional coefficient of variation :math:`b`.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> err = tgsim.CombinedError(sd_mm=1.0, cv=0.1)
    >>> y = err.apply(np.full(10000, 30.0), seed=0)       # sd = sqrt(1 + 3^2) mm
    >>> round(float(y.std()), 1)
    3.2
    """

    sd_mm: float
    cv: float

    def __post_init__(self) -> None:
        _check_param("sd_mm", self.sd_mm)
        _check_param("cv", self.cv)

    def _perturb(self, y, eps):
        return y + np.sqrt(self.sd_mm**2 + (self.cv * y) ** 2) * eps


@dataclass(frozen=True)
class LogNormalError(MeasurementError):
    r"""Log-normal error: :math:`y_\mathrm{obs} = y\,e^{\sigma \varepsilon}`.

    The median of the measured value is the true value; sizes stay positive.

    Parameters
    ----------
    sigma
        Standard deviation :math:`\sigma` of :math:`\ln y_\mathrm{obs}`.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> err = tgsim.LogNormalError(sigma=0.2)
    >>> y = err.apply(np.full(10000, 40.0), seed=0)
    >>> bool(np.all(y > 0)), round(float(np.log(y / 40.0).std()), 2)
    (True, 0.2)
    """

    sigma: float

    def __post_init__(self) -> None:
        _check_param("sigma", self.sigma)

    def _perturb(self, y, eps):
        return y * np.exp(self.sigma * eps)


def add_measurement_error(
    values: ArrayLike,
    error: MeasurementError | None,
    seed: int | np.random.Generator | None = None,
) -> NDArray[np.float64]:
    """Apply a measurement-error model (or none) to sizes in mm.

    Parameters
    ----------
    values
        True sizes (mm), >= 0; NaN allowed.
    error
        A :class:`MeasurementError` or None for error-free measurement.
    seed
        Seed for ``numpy.random.default_rng`` (or a Generator).
    """
    if error is None:
        return _arr("values", values, allow_nan=True).copy()
    if not isinstance(error, MeasurementError):
        raise DataError(
            "`error` must be None or a MeasurementError (AdditiveError, ProportionalError, "
            f"CombinedError, LogNormalError); got {error!r}"
        )
    return error.apply(values, seed)


# ------------------------------------------------------------ detection and schedule


def is_visible(diameter_mm: ArrayLike, detection_limit_mm: float = 0.0) -> NDArray[np.bool_]:
    """Whether a lesion is seen on imaging: ``diameter_mm >= detection_limit_mm`` and > 0.

    A lesion below the detection limit (e.g. about 5 mm for CT, 1-2 mm for high-resolution
    MRI of small animals) is not seen; a size of 0 is never seen, and NaN is not seen.

    Parameters
    ----------
    diameter_mm
        Diameter(s) in mm.
    detection_limit_mm
        Smallest visible diameter in mm (>= 0).
    """
    limit = _check_param("detection_limit_mm", detection_limit_mm)
    d = _arr("diameter_mm", diameter_mm, allow_nan=True)
    with np.errstate(invalid="ignore"):
        return (d >= limit) & (d > 0)


_UNITS = {
    "d": 1.0,
    "day": 1.0,
    "days": 1.0,
    "w": DAYS_PER_WEEK,
    "wk": DAYS_PER_WEEK,
    "week": DAYS_PER_WEEK,
    "weeks": DAYS_PER_WEEK,
    "m": DAYS_PER_MONTH,
    "mo": DAYS_PER_MONTH,
    "month": DAYS_PER_MONTH,
    "months": DAYS_PER_MONTH,
}


def parse_interval(every: float | str) -> float:
    """Interval between scans in days, from a number of days or a string.

    Strings: a number and a unit, e.g. ``"6w"``, ``"8 weeks"``, ``"3mo"``,
    ``"3 months"``, ``"42d"``. A month is 30.4375 days, so "3 months" is 91.3125 days.
    """
    if isinstance(every, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]+)\s*", every)
        if not m or m.group(2).lower() not in _UNITS:
            raise DataError(
                f"`every_days` must be a number of days or a string such as '6w', '8 weeks', "
                f"'3 months'; got {every!r}"
            )
        value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    else:
        try:
            value = float(every)
        except (TypeError, ValueError) as exc:
            raise DataError(f"`every_days` must be a number of days; got {every!r}") from exc
    if not (math.isfinite(value) and value > 0):
        raise DataError(f"`every_days` must be > 0; got {every!r}")
    return value


def scan_schedule(
    every_days: float | str, start_day: float, stop_day: float
) -> NDArray[np.float64]:
    """Scan days ``start_day, start_day + every_days, ...`` up to ``stop_day`` inclusive.

    Parameters
    ----------
    every_days
        Interval in days, or a string for :func:`parse_interval` ("6w", "8w", "3mo").
        See also :data:`EVERY_6_WEEKS`, :data:`EVERY_8_WEEKS`, :data:`EVERY_3_MONTHS`.
    start_day, stop_day
        First possible scan day and last possible scan day (days).

    Examples
    --------
    >>> scan_schedule("6w", 0, 130).tolist()
    [0.0, 42.0, 84.0, 126.0]
    """
    step = parse_interval(every_days)
    start, stop = float(start_day), float(stop_day)
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise DataError(f"`start_day` and `stop_day` must be finite; got {start}, {stop}")
    if stop < start:
        raise DataError(f"`stop_day` must be >= `start_day`; got {stop} < {start}")
    n = int(math.floor((stop - start) / step * (1 + 1e-12) + 1e-9)) + 1
    from .limits import check_grid

    check_grid(n, f"scan days every {step:g} days from {start:g} to {stop:g}")
    return start + step * np.arange(n, dtype=np.float64)


def sum_of_diameters(
    diameters_mm: ArrayLike, axis: int = -1, *, skipna: bool = False
) -> float | NDArray[np.float64]:
    """Sum of longest diameters (mm) over several lesions, along ``axis``.

    With ``skipna=False`` (the default) a lesion that was not measured (NaN) makes the
    sum NaN, as RECIST requires every target lesion for an evaluable sum.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> tgsim.sum_of_diameters([[12.0, 8.0, 5.0], [10.0, np.nan, 3.0]])
    array([25., nan])
    >>> tgsim.sum_of_diameters([[10.0, np.nan, 3.0]], skipna=True)
    array([13.])
    """
    d = _arr("diameters_mm", diameters_mm, allow_nan=True)
    s = np.nansum(d, axis=axis) if skipna else np.sum(d, axis=axis)
    return _ret(np.asarray(s, dtype=np.float64))


# ----------------------------------------------------------------------------- scan


def _loglinear(t: NDArray[np.float64], v: NDArray[np.float64], s: NDArray[np.float64]):
    """Interpolate rows of ``v(subject, time)`` at times ``s``: log-linear where both
    neighbours are > 0, linear otherwise; exact grid times are copied."""
    k = np.clip(np.searchsorted(t, s, side="right") - 1, 0, t.size - 2) if t.size > 1 else None
    if k is None:
        return np.repeat(v[:, :1], s.size, axis=1)
    t0, t1 = t[k], t[k + 1]
    w = (s - t0) / (t1 - t0)
    v0, v1 = v[:, k], v[:, k + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        logv = np.exp(np.log(v0) + w * (np.log(v1) - np.log(v0)))
    lin = v0 + w * (v1 - v0)
    out = np.where((v0 > 0) & (v1 > 0), logv, lin)
    out = np.where(w == 0.0, v0, out)
    out = np.where(w == 1.0, v1, out)
    return out


def _skip_failed(dataset: xr.Dataset, v: np.ndarray) -> np.ndarray:
    """Blank (NaN) the subjects whose simulation failed (``status != 0``), with a warning
    saying how many: their volumes are not scanned."""
    st = dataset.get("status")
    if st is None or st.dims != ("subject",) or st.size != v.shape[0]:
        return v
    failed = np.asarray(st.values) != 0
    if failed.any():
        warnings.warn(f"{int(failed.sum())} of {failed.size} subject(s) failed in the "
                      "simulation (status != 0) and are not scanned (NaN diameters)",
                      TgsimWarning, stacklevel=3)
        v = np.where(failed[:, None], np.nan, v)
    return v


def scan(
    dataset: xr.Dataset,
    every_days: float | str = EVERY_8_WEEKS,
    error: MeasurementError | None = None,
    detection_limit_mm: float = 0.0,
    seed: int | np.random.Generator | None = None,
    start_day: float | None = None,
    *,
    stop_day: float | None = None,
    days: ArrayLike | None = None,
) -> xr.Dataset:
    r"""Scan-like measurements of a simulated cohort.

    Each subject is scanned at ``start_day, start_day + every_days, ...`` (or at the
    given ``days``). The scanned volume is ``observed`` (tumour plus treatment-induced
    swelling) when the Dataset has it, else ``volume``; between grid times it is
    interpolated log-linearly (linearly where a neighbouring volume is 0). The volume is
    turned into a sphere-equivalent longest diameter :math:`D = (6V/\pi)^{1/3}`, then

    1. visibility: a lesion whose true diameter is below ``detection_limit_mm`` (or 0)
       is not seen: ``visible`` is False and ``diameter_mm`` is recorded as 0 mm, as a
       lesion that has disappeared;
    2. measurement error: ``error`` (a :class:`MeasurementError`) is applied to the
       visible diameters with ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    dataset
        Simulation output: dims ``subject`` and ``time`` (coordinate ``time`` in days),
        data variable ``volume(subject, time)`` in mm^3 and optionally
        ``observed(subject, time)`` in mm^3.
    every_days
        Scan interval in days or a string ("6w", "8w", "3mo"); default 8 weeks.
    error
        Measurement-error model for diameters, or None.
    detection_limit_mm
        Smallest visible diameter in mm (default 0: everything > 0 is seen).
    seed
        Seed for the measurement error.
    start_day
        First scan day (default: the first simulated time).
    stop_day
        Last possible scan day (default: the last simulated time).
    days
        Explicit scan days instead of a schedule (increasing).

    Returns
    -------
    xarray.Dataset
        Dims ``subject, scan``; coordinate ``day(scan)`` (days); variables
        ``diameter_mm(subject, scan)`` (mm, with error), ``true_diameter_mm`` (mm, no
        error), ``volume_mm3`` (the scanned volume) and ``visible`` (bool).

    Raises
    ------
    DataError
        If the Dataset lacks the layout above, has negative volumes, or a scan day lies
        outside the simulated time range.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> t = np.arange(0.0, 85.0, 7.0)
    >>> ds = xr.Dataset({"volume": (("subject", "time"), [100.0 * np.exp(0.02 * t)])},
    ...                 coords={"subject": ["s1"], "time": t})
    >>> scan(ds, every_days="6w").day.values.tolist()
    [0.0, 42.0, 84.0]
    """
    name, var, t = _scanned_variable(dataset)
    v = np.asarray(var.values, dtype=np.float64)
    v = _skip_failed(dataset, v)
    neg = np.argwhere(v < 0)
    if neg.size:
        i, j = (int(x) for x in neg[0])
        raise DataError(
            f"`dataset['{name}']` must be >= 0 (mm^3); got {v[i, j]!r} for subject "
            f"{var['subject'].values[i]!r} at time {t[j]!r}"
        )
    s, every = _scan_days(t, every_days, start_day, stop_day, days)
    vol = _loglinear(t, v, s)
    true_d = np.asarray(sphere_diameter(np.where(np.isnan(vol), np.nan, vol)))
    visible = is_visible(true_d, detection_limit_mm)
    measured = add_measurement_error(true_d, error, seed)
    measured = np.where(visible, measured, np.where(np.isnan(true_d), np.nan, 0.0))
    attrs = {
        "source_variable": name,
        "detection_limit_mm": float(detection_limit_mm),
        "error": repr(error),
        "seed": "None" if seed is None or isinstance(seed, np.random.Generator) else int(seed),
        "diameter": "sphere-equivalent longest diameter D = (6 V / pi)^(1/3)",
    }
    if every is not None:
        attrs["every_days"] = every
    return _scan_dataset(var["subject"].values, s, name, measured, true_d, vol, visible, attrs)


def _scanned_variable(dataset: xr.Dataset) -> tuple[str, xr.DataArray, np.ndarray]:
    """The variable scanned (``observed`` if present, else ``volume``) as (subject, time),
    its name and the checked times (days)."""
    import xarray as xr

    if not isinstance(dataset, xr.Dataset):
        raise DataError(f"`dataset` must be an xarray.Dataset; got {type(dataset).__name__}")
    name = "observed" if "observed" in dataset.data_vars else "volume"
    if name not in dataset.data_vars:
        raise DataError(
            "`dataset` must have a data variable 'volume(subject, time)' (mm^3); "
            f"got variables {sorted(map(str, dataset.data_vars))}"
        )
    var = dataset[name]
    if "subject" not in var.dims:
        var = var.expand_dims(subject=[0])
    if set(var.dims) != {"subject", "time"}:
        raise DataError(f"`dataset['{name}']` must have dims ('subject', 'time'); got {var.dims}")
    var = var.transpose("subject", "time")
    if "time" not in var.coords:
        raise DataError("`dataset` must have a coordinate 'time' (days)")
    t = np.asarray(var["time"].values, dtype=np.float64)
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise DataError("`dataset.time` must be finite and strictly increasing (days)")
    return name, var, t


def _scan_days(
    t: np.ndarray, every_days: float | str, start_day: float | None, stop_day: float | None,
    days: ArrayLike | None,
) -> tuple[np.ndarray, float | None]:
    """The scan days (given, or every ``every_days`` from start to stop), within the
    simulated times ``t``, and the interval in days (None for given days)."""
    lo, hi = float(t[0]), float(t[-1])
    if days is not None:
        s = np.asarray(days, dtype=np.float64).reshape(-1)
        if s.size == 0 or not np.all(np.isfinite(s)) or np.any(np.diff(s) <= 0):
            raise DataError(f"`days` must be finite and strictly increasing; got {s.tolist()}")
        every = None
    else:
        first = lo if start_day is None else float(start_day)
        last = hi if stop_day is None else float(stop_day)
        s = scan_schedule(every_days, first, last)
        every = parse_interval(every_days)
    tol = 1e-9 * max(1.0, abs(lo), abs(hi))
    outside = (s < lo - tol) | (s > hi + tol)
    if outside.any():
        bad = float(s[np.flatnonzero(outside)[0]])
        raise DataError(
            f"scan day {bad!r} is outside the simulated time range [{lo!r}, {hi!r}] days; "
            "simulate longer or choose `start_day`/`stop_day`/`days` inside it"
        )
    return np.clip(s, lo, hi), every


def _scan_dataset(
    subjects: np.ndarray, s: np.ndarray, name: str, measured: np.ndarray, true_d: np.ndarray,
    vol: np.ndarray, visible: np.ndarray, attrs: dict[str, object],
) -> xr.Dataset:
    """The scans as a Dataset with dims (subject, scan) and units in attrs."""
    import xarray as xr

    out = xr.Dataset(
        {
            "diameter_mm": (
                ("subject", "scan"),
                measured,
                {"units": "mm", "long_name": "measured longest diameter (0 if not seen)"},
            ),
            "true_diameter_mm": (
                ("subject", "scan"),
                true_d,
                {"units": "mm", "long_name": "sphere-equivalent diameter without error"},
            ),
            "volume_mm3": (
                ("subject", "scan"),
                vol,
                {"units": "mm^3", "long_name": f"scanned volume ({name})"},
            ),
            "visible": (
                ("subject", "scan"),
                visible,
                {"long_name": "lesion at or above the detection limit"},
            ),
        },
        coords={
            "subject": subjects,
            "scan": np.arange(s.size),
            "day": ("scan", s, {"units": "days", "long_name": "scan day"}),
        },
        attrs=attrs,
    )
    return out


def scans_to_lesions(scans: xr.Dataset, lesion: str = "L1") -> pd.DataFrame:
    """Turn :func:`scan` output into a tidy lesion table for :func:`tgsim.clinical.recist`.

    Each subject's tumour becomes one target lesion named ``lesion``; the columns are
    ``subject, day, lesion, diameter_mm, kind`` (days, mm). Diameters that are NaN
    (failed simulations) are dropped.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> ds = tgsim.simulate("exponential", np.arange(0.0, 85.0),
    ...                     {"initial_volume": 1.4e4, "growth_rate": 0.01})
    >>> table = tgsim.scans_to_lesions(tgsim.scan(ds, every_days=28))
    >>> table[["day", "lesion", "kind"]].values.tolist()
    [[0.0, 'L1', 'target'], [28.0, 'L1', 'target'], [56.0, 'L1', 'target'], [84.0, 'L1', 'target']]
    >>> table["diameter_mm"].round(1).tolist()
    [29.9, 32.8, 36.0, 39.6]
    """
    import pandas as pd

    d = np.asarray(scans["diameter_mm"].transpose("subject", "scan").values, dtype=np.float64)
    subjects = np.asarray(scans["subject"].values)
    day = np.asarray(scans["day"].values, dtype=np.float64)
    frame = pd.DataFrame(
        {
            "subject": np.repeat(subjects.astype(str), day.size),
            "day": np.tile(day, subjects.size),
            "lesion": lesion,
            "diameter_mm": d.reshape(-1),
            "kind": "target",
        }
    )
    return frame.loc[~frame["diameter_mm"].isna()].reset_index(drop=True)
