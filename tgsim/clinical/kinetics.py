"""Growth kinetics between measurements: SGR, doubling time, TGR and TGK.

Time is in **days** (input) and rates per month use a month of
:data:`~tgsim.clinical._common.DAYS_PER_MONTH` = 30.4375 days. Volumes are in mm^3,
diameters and sums of diameters in mm.

All functions work on consecutive pairs of measurements: ``days`` is a 1-D, strictly
increasing array of length n, the measurements have shape ``(..., n)`` and the result
has shape ``(..., n - 1)`` (one value per interval). Pass two points for the value
between any two measurements; with ``reference="first"`` every measurement is
compared with the first one instead.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import DataError
from ._common import DAYS_PER_MONTH, as_float_array, check_days

__all__ = [
    "specific_growth_rate",
    "doubling_time",
    "tumour_growth_rate",
    "tumour_growth_kinetics",
]

Reference = Literal["previous", "first"]


def _pairs(
    days: ArrayLike,
    values: ArrayLike,
    name: str,
    reference: Reference,
    *,
    strict_positive: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    t = check_days(days)
    if t.size < 2:
        raise DataError(f"`days` needs at least 2 measurements; got {t.size}")
    v = as_float_array(name, values, minimum=0.0, strict=strict_positive)
    if v.ndim == 0 or v.shape[-1] != t.size:
        raise DataError(
            f"`{name}` must have the length of `days` ({t.size}) along its last axis; "
            f"got shape {v.shape}"
        )
    if reference == "previous":
        return t[1:] - t[:-1], v[..., :-1], v[..., 1:]
    if reference == "first":
        return t[1:] - t[0], np.broadcast_to(v[..., :1], v[..., 1:].shape), v[..., 1:]
    raise DataError(f"`reference` must be 'previous' or 'first'; got {reference!r}")


def _maybe_scalar(out: NDArray[np.float64]) -> float | NDArray[np.float64]:
    return float(out[0]) if out.shape == (1,) else out


def specific_growth_rate(
    days: ArrayLike, volumes: ArrayLike, *, reference: Reference = "previous"
) -> float | NDArray[np.float64]:
    r"""Specific growth rate between measurements, in 1/day.

    .. math:: \mathrm{SGR} = \frac{\ln(V_2 / V_1)}{t_2 - t_1}

    the exponential rate that carries :math:`V_1` to :math:`V_2` (Mehrara et al. 2007).

    Parameters
    ----------
    days
        Measurement days, 1-D, strictly increasing.
    volumes
        Volumes in mm^3 (> 0), shape ``(..., len(days))``. Any size proportional to
        volume (cell counts, sphere-equivalent volumes) gives the same rate.
    reference
        "previous": each interval between consecutive measurements; "first": each
        measurement against the first.

    Returns
    -------
    float or numpy.ndarray
        Per interval, shape ``(..., len(days) - 1)``; a float for two measurements of a
        single series. Negative for shrinkage, 0 for no change.

    References
    ----------
    Mehrara E, Forssell-Aronsson E, Ahlman H, Bernhardt P. Specific growth rate versus
    doubling time for quantitative characterization of tumor growth rate. *Cancer Res*
    2007;67(8):3970-3975.

    Examples
    --------
    >>> round(specific_growth_rate([0, 10], [100.0, 200.0]), 6)
    0.069315
    """
    dt, v1, v2 = _pairs(days, volumes, "volumes", reference, strict_positive=True)
    return _maybe_scalar(np.log(v2 / v1) / dt)


def doubling_time(
    days: ArrayLike, volumes: ArrayLike, *, reference: Reference = "previous"
) -> float | NDArray[np.float64]:
    r"""Volume doubling time between measurements, in days.

    .. math:: \mathrm{DT} = \frac{\ln 2}{\mathrm{SGR}}
              = \frac{(t_2 - t_1)\,\ln 2}{\ln(V_2 / V_1)}

    (Schwartz 1961; Mehrara et al. 2007). Conventions:

    * no growth (:math:`V_2 = V_1`): ``inf``;
    * shrinkage: a **negative** value whose magnitude is the halving time.

    Because DT jumps from +inf to -inf as growth stops, average the
    :func:`specific_growth_rate` rather than doubling times across subjects.

    Parameters
    ----------
    days
        Measurement days, 1-D, strictly increasing.
    volumes
        Volumes in mm^3 (> 0), shape ``(..., len(days))``. For diameters, convert first
        (:func:`tgsim.observe.sphere_volume`): the diameter doubling time is three times
        the volume doubling time.
    reference
        "previous" (consecutive intervals) or "first" (against the first measurement).

    Returns
    -------
    float or numpy.ndarray
        Days, per interval, shape ``(..., len(days) - 1)``; a float for two
        measurements of a single series.

    References
    ----------
    Schwartz M. A biomathematical approach to clinical tumor growth. *Cancer*
    1961;14:1272-1294.
    Mehrara E et al. *Cancer Res* 2007;67(8):3970-3975.

    Examples
    --------
    >>> doubling_time([0, 30], [100.0, 200.0])
    30.0
    >>> doubling_time([0, 30], [100.0, 100.0])
    inf
    """
    dt, v1, v2 = _pairs(days, volumes, "volumes", reference, strict_positive=True)
    log_ratio = np.log(v2 / v1)
    with np.errstate(divide="ignore"):
        out = np.where(log_ratio == 0.0, np.inf, dt * np.log(2.0) / log_ratio)
    return _maybe_scalar(np.asarray(out, dtype=np.float64))


def tumour_growth_rate(
    days: ArrayLike, sums_mm: ArrayLike, *, reference: Reference = "previous"
) -> float | NDArray[np.float64]:
    r"""Tumour growth rate (TGR) of Ferté et al. 2014, in % per month.

    With :math:`D` the sum of longest diameters (mm) and :math:`\Delta t` the interval in
    months (1 month = 30.4375 days),

    .. math::

        TG = \frac{3 \ln(D_2 / D_1)}{\Delta t}, \qquad
        TGR = 100\,\left(e^{TG} - 1\right)

    i.e. the monthly percentage increase of the volume (assumed proportional to
    :math:`D^3`) under exponential growth.

    Parameters
    ----------
    days
        Assessment days, 1-D, strictly increasing.
    sums_mm
        Sums of longest diameters in mm (>= 0), shape ``(..., len(days))``.
    reference
        "previous" (consecutive intervals) or "first".

    Returns
    -------
    float or numpy.ndarray
        % per month per interval. A sum falling to 0 gives -100; a start of 0 gives NaN
        (not defined).

    References
    ----------
    Ferté C, Fernandez M, Hollebecque A, et al. Tumor growth rate is an early indicator
    of antitumor drug activity in phase I clinical trials. *Clin Cancer Res*
    2014;20(1):246-252.

    Examples
    --------
    >>> round(tumour_growth_rate([0, 30.4375], [10.0, 20.0]), 6)   # volume x 8 per month
    700.0
    """
    dt, s1, s2 = _pairs(days, sums_mm, "sums_mm", reference, strict_positive=False)
    months = dt / DAYS_PER_MONTH
    with np.errstate(divide="ignore", invalid="ignore"):
        tg = 3.0 * np.log(s2 / s1) / months
        out = 100.0 * np.expm1(tg)
    out = np.where(s1 == 0.0, np.nan, out)
    return _maybe_scalar(np.asarray(out, dtype=np.float64))


def tumour_growth_kinetics(
    days: ArrayLike, sums_mm: ArrayLike, *, reference: Reference = "previous"
) -> float | NDArray[np.float64]:
    r"""Tumour growth kinetics (TGK) of Saâda-Bouzid et al. 2017, in mm per month.

    .. math:: TGK = \frac{S_2 - S_1}{\Delta t}

    with :math:`S` the sum of longest diameters (mm) and :math:`\Delta t` in months
    (30.4375 days).

    Parameters
    ----------
    days
        Assessment days, 1-D, strictly increasing.
    sums_mm
        Sums of longest diameters in mm (>= 0), shape ``(..., len(days))``.
    reference
        "previous" (consecutive intervals) or "first".

    Returns
    -------
    float or numpy.ndarray
        mm per month per interval.

    References
    ----------
    Saâda-Bouzid E, Defaucheux C, Karabajakian A, et al. Hyperprogression during
    anti-PD-1/PD-L1 therapy in patients with recurrent and/or metastatic head and neck
    squamous cell carcinoma. *Ann Oncol* 2017;28(7):1605-1611.

    Examples
    --------
    >>> tumour_growth_kinetics([0, 60.875], [40.0, 50.0])
    5.0
    """
    dt, s1, s2 = _pairs(days, sums_mm, "sums_mm", reference, strict_positive=False)
    return _maybe_scalar((s2 - s1) / (dt / DAYS_PER_MONTH))
