r"""Tumour growth inhibition read-outs from measured, fitted or simulated series.

Units: days, sizes in mm³ (any size unit works as long as treated and control share it).
Sizes between observations are interpolated **log-linearly** (exponential growth between
two measurements); nothing is extrapolated beyond a series' first or last time (NaN).

Definitions
-----------
Time to tumour regrowth (TTG)
    The time from the start of treatment to the nadir of the model curve, after which the
    tumour regrows (Claret et al. 2009). For the Claret model
    :math:`dy/dt = K_L y - K_D E\, e^{-\lambda t} y` with constant exposure :math:`E`,
    :math:`dy/dt = 0` at :math:`t^* = \ln(K_D E / K_L)/\lambda` (0 when
    :math:`K_D E \le K_L`) — :func:`ttg_claret`. :func:`time_to_regrowth` finds the nadir of
    any dense curve.
Tumour size ratio at week :math:`w`
    :math:`V(7w)/V(0)`, the early read-out of Claret et al. 2009 (week 7) and Wang et al.
    2009 (week 8); :func:`size_ratio` (default weeks 6 and 8).
T/C at day :math:`d`
    :math:`100 \cdot S_T(d) / S_C(d)` (%), with :math:`S` the median (or mean) over the arm
    of the relative size :math:`V(d)/V(0)` (or of the size itself with
    ``relative=False``), the NCI activity criterion (Bissery et al. 1991:
    :math:`T/C \le 42\%` active) — :func:`t_over_c`.
Tumour growth delay (TGD)
    :math:`T - C`: the median time for treated tumours to reach a target size minus that of
    controls (Bissery et al. 1991), target as a multiple of baseline (default 4×, "time to
    quadrupling") or an absolute size — :func:`growth_delay`.
%TGI at day :math:`d`
    :math:`100\,(1 - \Delta T/\Delta C)` with :math:`\Delta T = \bar V_T(d) - \bar V_T(0)`,
    :math:`\Delta C = \bar V_C(d) - \bar V_C(0)` (arm means) — :func:`percent_tgi`; 100 %
    means no growth at all, above 100 % regression.

References
----------
Claret L, Girard P, Hoff PM, et al. J Clin Oncol 2009;27(25):4103-4108.

Wang Y, Sung C, Dartois C, et al. Elucidation of relationship between tumor size and
survival in non-small-cell lung cancer patients can aid early decision making in clinical
drug development. Clin Pharmacol Ther 2009;86(2):167-174.

Bissery MC, Guénard D, Guéritte-Voegelein F, Lavelle F. Experimental antitumor activity of
taxotere (RP 56976, NSC 628503), a taxol analogue. Cancer Res 1991;51(18):4845-4852.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = [
    "size_at",
    "time_to_size",
    "ttg_claret",
    "time_to_regrowth",
    "size_ratio",
    "t_over_c",
    "growth_delay",
    "percent_tgi",
]


def _series(times: Any, sizes: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(times, dtype=np.float64).ravel()
    v = np.asarray(sizes, dtype=np.float64).ravel()
    if t.shape != v.shape:
        raise DataError(f"{what}: times and sizes differ in length ({t.size} and {v.size})")
    keep = np.isfinite(t) & np.isfinite(v)
    t, v = t[keep], v[keep]
    if t.size == 0:
        raise DataError(f"{what}: no finite measurements")
    if np.any(np.diff(t) <= 0):
        i = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
        raise DataError(f"{what}: times must be increasing; got {t[i]:g} after {t[i - 1]:g}")
    if np.any(v < 0):
        i = int(np.flatnonzero(v < 0)[0])
        raise DataError(f"{what}: sizes must be >= 0; got {v[i]:g} at day {t[i]:g}")
    return t, v


def size_at(times: Any, sizes: Any, day: float) -> float:
    """Size at ``day`` by log-linear interpolation (NaN outside the observed times).

    Examples
    --------
    >>> size_at([0, 10], [100, 400], 5)
    200.0
    """
    t, v = _series(times, sizes, "size_at")
    if day < t[0] or day > t[-1]:
        return math.nan
    j = int(np.searchsorted(t, day))
    if t[j] == day:
        return float(v[j])
    a, b = v[j - 1], v[j]
    w = (day - t[j - 1]) / (t[j] - t[j - 1])
    if a > 0 and b > 0:
        return float(a * (b / a) ** w)
    return float((1 - w) * a + w * b)


def time_to_size(times: Any, sizes: Any, target: float) -> float:
    """First time (days) the series reaches ``target``, by log-linear interpolation
    (NaN: never reached, a censored time).

    Examples
    --------
    >>> time_to_size([0, 10], [100, 400], 200)
    5.0
    """
    t, v = _series(times, sizes, "time_to_size")
    hit = np.flatnonzero(v >= target)
    if hit.size == 0:
        return math.nan
    j = int(hit[0])
    if j == 0:
        return float(t[0])
    a, b = v[j - 1], v[j]
    if a > 0:
        w = math.log(target / a) / math.log(b / a)
    else:
        w = (target - a) / (b - a)
    return float(t[j - 1] + w * (t[j] - t[j - 1]))


def ttg_claret(growth_rate: float, kill_rate: float, resistance_rate: float,
               exposure: float = 1.0) -> float:
    """Claret (2009) time to regrowth ``ln(kill_rate exposure / growth_rate) /
    resistance_rate`` (days from treatment start; 0 when the kill never exceeds growth,
    inf when there is no resistance and it does).

    Examples
    --------
    >>> round(ttg_claret(0.01, 0.03, 0.02), 6)
    54.930614
    """
    for name, x in (("growth_rate", growth_rate), ("kill_rate", kill_rate),
                    ("resistance_rate", resistance_rate), ("exposure", exposure)):
        if not (isinstance(x, int | float | np.floating | np.integer) and math.isfinite(x)
                and x >= 0):
            raise DataError(f"ttg_claret: {name} must be a finite number >= 0; got {x!r}")
    kill = kill_rate * exposure
    if kill <= growth_rate:
        return 0.0
    if resistance_rate == 0:
        return math.inf
    return math.log(kill / growth_rate) / resistance_rate


def time_to_regrowth(times: Any, sizes: Any, *, start: float | None = None) -> tuple[float, bool]:
    """Nadir time of a dense (fitted or simulated) curve, counted from ``start`` (default
    the first time), refined by a parabola through the three points around the minimum
    of log size.

    Returns
    -------
    (ttg, regrowing)
        ``ttg`` in days; ``regrowing`` is False when the curve still falls at its end
        (the nadir is not reached: ``ttg`` is then a censored time, the curve's span).

    Examples
    --------
    >>> t = np.linspace(0, 100, 2001)
    >>> ttg, ok = time_to_regrowth(t, np.exp(0.01 * t - 1.5 * (1 - np.exp(-0.02 * t))))
    >>> round(ttg, 3), ok
    (54.931, True)
    """
    t, v = _series(times, sizes, "time_to_regrowth")
    t0 = float(t[0] if start is None else start)
    y = np.log(np.maximum(v, np.finfo(float).tiny))
    j = int(np.argmin(y))
    if j == t.size - 1:
        return float(t[-1] - t0), False
    if j == 0:
        return float(t[0] - t0), True
    t1, t2, t3 = t[j - 1 : j + 2]
    y1, y2, y3 = y[j - 1 : j + 2]
    den = (t1 - t2) * (t1 - t3) * (t2 - t3)
    a = (t3 * (y2 - y1) + t2 * (y1 - y3) + t1 * (y3 - y2)) / den
    b = (t3 * t3 * (y1 - y2) + t2 * t2 * (y3 - y1) + t1 * t1 * (y2 - y3)) / den
    tn = -b / (2 * a) if a > 0 else t2
    return float(min(max(tn, t1), t3) - t0), True


def size_ratio(times: Any, sizes: Any, weeks: Any = (6, 8), *,
               baseline_day: float | None = None) -> np.ndarray:
    """Tumour size ratio ``V(baseline + 7 w) / V(baseline)`` for each week ``w`` (NaN
    beyond the series).

    Examples
    --------
    >>> size_ratio([0, 42, 56], [100, 80, 120]).tolist()
    [0.8, 1.2]
    """
    t, v = _series(times, sizes, "size_ratio")
    b = float(t[0] if baseline_day is None else baseline_day)
    v0 = size_at(t, v, b)
    if not v0 > 0:
        raise DataError(f"size_ratio: the baseline size at day {b:g} must be > 0; got {v0!r}")
    return np.array([size_at(t, v, b + 7.0 * w) / v0 for w in np.atleast_1d(weeks)])


def _arm(series: Any, what: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """An arm: one (times, sizes) pair or a list of them."""
    if isinstance(series, tuple) and len(series) == 2 and np.ndim(series[0]) == 1:
        series = [series]
    out = [_series(t, v, f"{what}[{i}]") for i, (t, v) in enumerate(series)]
    if not out:
        raise DataError(f"{what}: no series")
    return out


def _stat(x: np.ndarray, statistic: str) -> float:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan
    if statistic == "median":
        return float(np.median(x))
    if statistic == "mean":
        return float(np.mean(x))
    raise DataError(f"statistic must be 'median' or 'mean'; got {statistic!r}")


def t_over_c(treated: Any, control: Any, day: float, *, relative: bool = True,
             statistic: str = "median") -> float:
    """T/C (%) at ``day``: the arm statistic of the (relative) size of treated series over
    that of control series. Each arm is a ``(times, sizes)`` pair or a list of them.

    Examples
    --------
    >>> t_over_c(([0, 21], [100, 150]), ([0, 21], [200, 800]), 21)
    37.5
    """
    def values(arm: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        out = []
        for t, v in arm:
            x = size_at(t, v, day)
            out.append(x / v[0] if relative and v[0] > 0 else (x if not relative else np.nan))
        return np.array(out)

    ts = _stat(values(_arm(treated, "treated")), statistic)
    cs = _stat(values(_arm(control, "control")), statistic)
    return 100.0 * ts / cs if cs > 0 else math.nan


def growth_delay(treated: Any, control: Any, *, fold: float | None = 4.0,
                 size: float | None = None, statistic: str = "median") -> float:
    """Tumour growth delay T - C (days): arm statistic of the time to reach ``fold`` times
    the baseline size (or the absolute ``size``), treated minus control; NaN when either
    arm's statistic is not reached.

    Examples
    --------
    >>> growth_delay(([0, 20], [100, 400]), ([0, 10], [100, 400]))
    10.0
    """
    if (fold is None) == (size is None):
        raise DataError("growth_delay: give either fold (a multiple of baseline) or size")

    def times(arm: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        return np.array([time_to_size(t, v, fold * v[0] if size is None else size) - t[0]
                         for t, v in arm])

    return _stat(times(_arm(treated, "treated")), statistic) - _stat(
        times(_arm(control, "control")), statistic)


def percent_tgi(treated: Any, control: Any, day: float) -> float:
    """%TGI at ``day``: ``100 (1 - dT/dC)`` with arm-mean size changes from each series'
    first time to ``day``.

    Examples
    --------
    >>> percent_tgi(([0, 21], [100, 150]), ([0, 21], [100, 300]), 21)
    75.0
    """
    def change(arm: list[tuple[np.ndarray, np.ndarray]]) -> float:
        d = np.array([size_at(t, v, day) for t, v in arm])
        b = np.array([v[0] for _, v in arm])
        keep = np.isfinite(d)
        return float(d[keep].mean() - b[keep].mean()) if keep.any() else math.nan

    dt = change(_arm(treated, "treated"))
    dc = change(_arm(control, "control"))
    if not dc > 0:
        raise DataError(f"percent_tgi: the control arm must grow by day {day:g}; its mean "
                        f"change is {dc!r}")
    return 100.0 * (1.0 - dt / dc)
