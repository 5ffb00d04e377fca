"""Size classes and read-outs of metastatic colonies.

Colonies are spheres: a volume :math:`v` (mm^3) has diameter :math:`d = (6 v/\\pi)^{1/3}`
(mm). The size classes are those of AJCC (8th ed.) for nodal metastases:

=================  ============================================
isolated tumour    d <= ``ITC_MAX_MM`` (0.2 mm)
cells ("ITC")
micrometastasis    0.2 mm < d <= ``MICRO_MAX_MM`` (2.0 mm)
macrometastasis    d > 2.0 mm
=================  ============================================

The boundaries are the objects of :mod:`tgsim.clinical.staging` (one definition in the
project). This module also turns the arrays computed by the deterministic and the
stochastic solvers into the result :class:`xarray.Dataset` and prints its summary.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..clinical.staging import ITC_MAX_MM, MICRO_MAX_MM

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = [
    "ITC_MAX_MM",
    "MICRO_MAX_MM",
    "SIZE_CLASSES",
    "DEFAULT_DETECTION_LIMIT_MM",
    "class_bounds_mm",
    "diameter_to_volume",
    "volume_to_diameter",
    "spread_summary",
]

#: Size-class labels along the ``size_class`` dimension (as
#: :func:`tgsim.clinical.staging.metastasis_size_class` names them).
SIZE_CLASSES: tuple[str, str, str] = ("ITC", "micrometastasis", "macrometastasis")

#: Default imaging detection limit (diameter, mm): about the smallest nodule that CT
#: reliably shows.
DEFAULT_DETECTION_LIMIT_MM: float = 5.0


def class_bounds_mm() -> tuple[float, float]:
    """Upper diameters (mm) of the ITC and micrometastasis classes: (0.2, 2.0)."""
    return ITC_MAX_MM, MICRO_MAX_MM


def diameter_to_volume(diameter_mm: ArrayLike) -> float | NDArray[np.float64]:
    r"""Sphere volume :math:`\pi d^3 / 6` (mm^3) of a diameter (mm)."""
    d = np.asarray(diameter_mm, dtype=np.float64)
    v = math.pi / 6.0 * d**3
    return float(v) if v.ndim == 0 else v


def volume_to_diameter(volume_mm3: ArrayLike) -> float | NDArray[np.float64]:
    r"""Sphere-equivalent diameter :math:`(6 v / \pi)^{1/3}` (mm) of a volume (mm^3)."""
    v = np.asarray(volume_mm3, dtype=np.float64)
    d = np.cbrt(6.0 * v / math.pi)
    return float(d) if d.ndim == 0 else d


# ------------------------------------------------------------------------ dataset
_COUNT_ATTRS = {"units": "1"}


def build_dataset(*, subjects: Any, times: NDArray[np.float64], classes: NDArray[np.float64],
                  p_any: NDArray[np.float64], detectable: NDArray[np.float64],
                  p_detectable: NDArray[np.float64], total: NDArray[np.float64],
                  burden: NDArray[np.float64], hist: NDArray[np.float64],
                  bins_mm: NDArray[np.float64], seeded: NDArray[np.float64],
                  rate: NDArray[np.float64], primary_volume: NDArray[np.float64],
                  time_to_detection: NDArray[np.float64], p_detected: NDArray[np.float64],
                  cum_detected: NDArray[np.float64], status: NDArray[np.int8],
                  attrs: dict[str, Any],
                  se: dict[str, NDArray[np.float64]] | None = None) -> xr.Dataset:
    """Assemble the result Dataset (see :func:`tgsim.metastasis.metastatic_spread`)."""
    import xarray as xr

    from ..errors import flag_attrs

    itc, micro = class_bounds_mm()
    stochastic = se is not None
    what = "mean over replicates of the" if stochastic else "expected"
    data: dict[str, Any] = {
        "colonies": (("subject", "time", "size_class"), classes,
                     {**_COUNT_ATTRS, "long_name": f"{what} number of colonies by size class"}),
        "p_any": (("subject", "time", "size_class"), p_any,
                  {**_COUNT_ATTRS, "long_name": "probability of at least one colony in the class"}),
        "detectable": (("subject", "time"), detectable,
                       {**_COUNT_ATTRS, "long_name": f"{what} number of colonies above the "
                        "detection limit"}),
        "p_detectable": (("subject", "time"), p_detectable,
                         {**_COUNT_ATTRS, "long_name": "probability of at least one detectable "
                          "colony"}),
        "total_colonies": (("subject", "time"), total,
                           {**_COUNT_ATTRS, "long_name": f"{what} number of colonies"}),
        "burden": (("subject", "time"), burden,
                   {"units": "mm^3", "long_name": f"{what} total metastatic volume"}),
        "size_histogram": (("subject", "time", "size_bin"), hist,
                           {**_COUNT_ATTRS, "long_name": f"{what} number of colonies by "
                            "diameter bin"}),
        "seeded": (("subject", "time"), seeded,
                   {**_COUNT_ATTRS, "long_name": "expected number of colonies emitted so far "
                    "(cumulative intensity, shed colonies included)"}),
        "seeding_rate": (("subject", "time"), rate,
                         {"units": "1/day", "long_name": "colony emission rate of the primary"}),
        "primary_volume": (("subject", "time"), primary_volume,
                           {"units": "mm^3", "long_name": "primary tumour volume"}),
        "time_to_detection": (("subject",), time_to_detection,
                              {"units": "day", "long_name": "median time to the first "
                               "detectable metastasis (NaN: not within the simulated time)"}),
        "cumulative_detection": (("subject", "time"), cum_detected,
                                 {**_COUNT_ATTRS, "long_name": "probability that a metastasis "
                                  "has been detectable by this time"}),
        "p_detected": (("subject",), p_detected,
                       {**_COUNT_ATTRS, "long_name": "probability of a detectable metastasis "
                        "by the last time"}),
        "status": (("subject",), status, flag_attrs()),
    }
    if stochastic:
        for name, arr in se.items():
            dims = ("subject", "time", "size_class") if arr.ndim == 3 else ("subject", "time")
            units = "mm^3" if name == "burden" else "1"
            data[f"{name}_se"] = (dims, arr, {"units": units,
                                              "long_name": f"standard error of {name}"})
    coords = {
        "subject": np.asarray(subjects),
        "time": ("time", times, {"units": "day", "long_name": "time"}),
        "size_class": list(SIZE_CLASSES),
        "class_lower_mm": ("size_class", [0.0, itc, micro], {"units": "mm"}),
        "class_upper_mm": ("size_class", [itc, micro, np.inf], {"units": "mm"}),
        "size_bin": np.arange(bins_mm.size - 1),
        "bin_lower_mm": ("size_bin", bins_mm[:-1], {"units": "mm"}),
        "bin_upper_mm": ("size_bin", bins_mm[1:], {"units": "mm"}),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def spread_summary(result: xr.Dataset, times: ArrayLike | None = None) -> str:
    """A text table of a spread result: cohort means at a few times.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`tgsim.metastasis.metastatic_spread`.
    times : array_like, optional
        Times (days) to show; default: up to 6 times spread over the result's times.

    Returns
    -------
    str

    Examples
    --------
    >>> import tgsim
    >>> mm = tgsim.MetastasisModel(seeding_rate=1e-4)
    >>> spread = tgsim.metastatic_spread("exponential", mm, times=[0.0, 100.0, 200.0],
    ...                                  params={"initial_volume": 1.0, "growth_rate": 0.05})
    >>> print(tgsim.spread_summary(spread))           # doctest: +ELLIPSIS
    Metastatic spread (deterministic mode, 1 primary, colonies: exponential, detection limit 5 mm)
    day   seeded      ITC     micro  macro  detectable ...
    ...
    """
    t = np.asarray(result["time"].values, dtype=np.float64)
    if times is None:
        idx = np.unique(np.linspace(0, t.size - 1, min(6, t.size)).round().astype(int))
    else:
        idx = np.unique([int(np.argmin(np.abs(t - float(x)))) for x in np.atleast_1d(times)])
    model = json.loads(result.attrs.get("metastasis", "{}"))
    n = result.sizes["subject"]
    head = (f"Metastatic spread ({result.attrs.get('mode', '?')} mode, {n} primar"
            f"{'y' if n == 1 else 'ies'}, colonies: {result.attrs.get('colony_model', '?')}, "
            f"detection limit {model.get('detection_limit_mm', float('nan')):g} mm)")
    cols = ["day", "seeded", "ITC", "micro", "macro", "detectable", "P(>=1 micro)",
            "P(>=1 macro)", "P(detect)", "burden mm^3"]
    rows = []
    for k in idx:
        c = result["colonies"].isel(time=k).mean("subject").values
        p = result["p_any"].isel(time=k).mean("subject").values
        rows.append([
            f"{t[k]:g}",
            f"{float(result['seeded'].isel(time=k).mean()):.4g}",
            f"{c[0]:.4g}", f"{c[1]:.4g}", f"{c[2]:.4g}",
            f"{float(result['detectable'].isel(time=k).mean()):.4g}",
            f"{p[1]:.3f}", f"{p[2]:.3f}",
            f"{float(result['p_detectable'].isel(time=k).mean()):.3f}",
            f"{float(result['burden'].isel(time=k).mean()):.4g}",
        ])
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(cols)]
    lines = [head, "  ".join(h.rjust(wd) for h, wd in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.rjust(wd) for v, wd in zip(r, widths, strict=True)) for r in rows]
    ttd = result["time_to_detection"].values
    fin = np.isfinite(ttd)
    lines.append(
        "median time to first detectable metastasis: "
        + (f"{np.median(ttd[fin]):.4g} days (in {fin.sum()} of {n})" if fin.any()
           else "not within the simulated time"))
    return "\n".join(lines)
