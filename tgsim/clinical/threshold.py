"""Threshold growth of LI-RADS v2018 (and EASL): >= 50 % size increase in <= 6 months.

Sizes are diameters in **mm** (any unit gives the same answer: the rule is a ratio),
days in **days**. A month is 30.4375 days (365.25 / 12), so the 6-month window is
:data:`THRESHOLD_GROWTH_WINDOW_DAYS` = 182.625 days.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import DataError
from ._common import DAYS_PER_MONTH, REL_TOL, as_float_array, check_days

__all__ = [
    "THRESHOLD_GROWTH_FRACTION",
    "THRESHOLD_GROWTH_MONTHS",
    "THRESHOLD_GROWTH_WINDOW_DAYS",
    "threshold_growth",
]

#: Minimum relative size increase for threshold growth (50 %).
THRESHOLD_GROWTH_FRACTION: float = 0.5
#: Length of the look-back window in months.
THRESHOLD_GROWTH_MONTHS: float = 6.0
#: Look-back window in days: 6 months of 30.4375 days = 182.625 days.
THRESHOLD_GROWTH_WINDOW_DAYS: float = THRESHOLD_GROWTH_MONTHS * DAYS_PER_MONTH


def threshold_growth(
    days: ArrayLike,
    diameters_mm: ArrayLike,
    *,
    window_days: float = THRESHOLD_GROWTH_WINDOW_DAYS,
    fraction: float = THRESHOLD_GROWTH_FRACTION,
) -> NDArray[np.bool_]:
    r"""Flag assessments that meet LI-RADS / EASL threshold growth.

    Assessment *i* is flagged when, for some earlier measurement *j* with
    :math:`0 < t_i - t_j \le 182.625` days (6 months of 30.4375 days),

    .. math:: D_i \ge (1 + 0.5)\, D_j , \qquad D_j > 0

    i.e. a size increase of at least 50 % in at most 6 months. The comparison uses a
    relative tolerance of 1e-9 so that exactly +50 % counts. The first assessment is
    never flagged; NaN diameters (not measured) are skipped, and a size of 0 (not seen)
    is never a reference. LI-RADS v2018 applies this to the observation's size (the
    largest outer-edge-to-outer-edge dimension); any unit can be used.

    Parameters
    ----------
    days
        Assessment days, 1-D, strictly increasing.
    diameters_mm
        Sizes in mm (>= 0, NaN for not measured), shape ``(..., len(days))``.
    window_days
        Look-back window in days (inclusive), default 182.625.
    fraction
        Minimum relative increase, default 0.5.

    Returns
    -------
    numpy.ndarray of bool
        Shape of ``diameters_mm``.

    References
    ----------
    American College of Radiology. *CT/MRI LI-RADS v2018 Core*. ACR, 2018 (threshold
    growth: size increase of a mass >= 50 % in <= 6 months).
    European Association for the Study of the Liver. EASL Clinical Practice Guidelines:
    management of hepatocellular carcinoma. *J Hepatol* 2018;69(1):182-236.

    Examples
    --------
    >>> threshold_growth([0, 90, 180], [10.0, 14.9, 15.0]).tolist()
    [False, False, True]
    """
    t = check_days(days)
    d = as_float_array("diameters_mm", diameters_mm, allow_nan=True, minimum=0.0)
    if d.ndim == 0 or d.shape[-1] != t.size:
        raise DataError(
            f"`diameters_mm` must have the length of `days` ({t.size}) along its last axis; "
            f"got shape {d.shape}"
        )
    if not (np.isfinite(window_days) and window_days > 0):
        raise DataError(f"`window_days` must be a positive number; got {window_days!r}")
    if not (np.isfinite(fraction) and fraction > 0):
        raise DataError(f"`fraction` must be a positive number; got {fraction!r}")
    # pairwise: dt[i, j] = t_i - t_j ; in_window for j < i within the window
    dt = t[:, None] - t[None, :]
    tol_days = REL_TOL * max(window_days, 1.0)
    in_window = (dt > 0) & (dt <= window_days + tol_days)
    ratio_needed = 1.0 + fraction
    di = d[..., :, None]
    dj = d[..., None, :]
    with np.errstate(invalid="ignore"):
        grew = (dj > 0) & (di >= ratio_needed * dj * (1.0 - REL_TOL))
    return np.any(grew & in_window, axis=-1)
