"""T stage from tumour size and the size class of a (lymph-node) metastasis.

Sizes are greatest dimensions in **mm**. Only the size-based part of the staging rules
is encoded: categories that depend on invasion, extension or histology (for example
lung Tis, T1mi, the invasion criteria of T2-T4, or breast T4) cannot be given by a
diameter and are never returned.

References
----------
Amin MB, Edge SB, Greene FL, et al. (eds). *AJCC Cancer Staging Manual*, 8th edition.
Springer, 2017. Chapter 36 (lung), chapter 48 (breast); the isolated tumour cell and
micrometastasis definitions are those of the breast and other chapters.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import DataError
from ._common import as_float_array

__all__ = [
    "ITC_MAX_MM",
    "MICRO_MAX_MM",
    "LUNG_T_BOUNDS_MM",
    "BREAST_T_BOUNDS_MM",
    "t_stage",
    "metastasis_size_class",
]

#: Isolated tumour cells (ITC): greatest dimension <= 0.2 mm (AJCC 8th ed.).
ITC_MAX_MM: float = 0.2
#: Micrometastasis: > 0.2 mm and <= 2.0 mm; larger is a macrometastasis (AJCC 8th ed.).
MICRO_MAX_MM: float = 2.0

#: Lung T categories by greatest dimension (AJCC 8th ed.): (upper bound in mm, label);
#: a size belongs to the first category whose (inclusive) upper bound it does not exceed.
LUNG_T_BOUNDS_MM: tuple[tuple[float, str], ...] = (
    (10.0, "T1a"),
    (20.0, "T1b"),
    (30.0, "T1c"),
    (40.0, "T2a"),
    (50.0, "T2b"),
    (70.0, "T3"),
    (np.inf, "T4"),
)

#: Breast T categories by greatest dimension (AJCC 8th ed.), as for the lung.
BREAST_T_BOUNDS_MM: tuple[tuple[float, str], ...] = (
    (1.0, "T1mi"),
    (5.0, "T1a"),
    (10.0, "T1b"),
    (20.0, "T1c"),
    (50.0, "T2"),
    (np.inf, "T3"),
)

_SITES = {"lung": LUNG_T_BOUNDS_MM, "breast": BREAST_T_BOUNDS_MM}


def _classify(d: NDArray[np.float64], bounds: tuple[tuple[float, str], ...]) -> NDArray[np.str_]:
    uppers = np.array([b for b, _ in bounds])
    labels = np.array([lab for _, lab in bounds])
    # first bound with d <= bound: searchsorted(side="left") on the sorted upper bounds
    return labels[np.searchsorted(uppers, d, side="left")]


def t_stage(
    diameter_mm: ArrayLike, site: Literal["lung", "breast"] = "lung"
) -> str | NDArray[np.str_]:
    """T category from the greatest tumour dimension (AJCC 8th edition, size rules only).

    Lung (non-small cell lung cancer, AJCC 8th ed., chapter 36):

    ========  ======================
    T1a       D <= 10 mm
    T1b       10 < D <= 20 mm
    T1c       20 < D <= 30 mm
    T2a       30 < D <= 40 mm
    T2b       40 < D <= 50 mm
    T3        50 < D <= 70 mm
    T4        D > 70 mm
    ========  ======================

    Tis (carcinoma in situ) and T1mi (minimally invasive adenocarcinoma) are defined by
    histology, not size, and are never returned; nor are the non-size criteria that
    upstage a tumour (e.g. main bronchus or visceral pleura involvement for T2,
    separate nodules for T3/T4).

    Breast (AJCC 8th ed., chapter 48):

    ========  ======================
    T1mi      D <= 1 mm
    T1a       1 < D <= 5 mm
    T1b       5 < D <= 10 mm
    T1c       10 < D <= 20 mm
    T2        20 < D <= 50 mm
    T3        D > 50 mm
    ========  ======================

    T4 (extension to the chest wall or skin) is not a size category. AJCC asks for sizes
    rounded to the nearest millimetre (and 1-2 mm invasive tumours rounded up to 2 mm);
    no rounding is done here: pass the size as recorded.

    A diameter of exactly 0 mm gives "T0" (no evidence of a primary tumour).

    Parameters
    ----------
    diameter_mm
        Greatest dimension(s) in mm; scalar or array, >= 0, not NaN.
    site
        "lung" or "breast".

    Returns
    -------
    str or numpy.ndarray of str
        A string for scalar input, otherwise an array of strings of the input's shape.

    Raises
    ------
    DataError
        For a negative or NaN diameter, or an unknown site.

    References
    ----------
    Amin MB et al. (eds). AJCC Cancer Staging Manual, 8th ed. Springer, 2017.

    Examples
    --------
    >>> t_stage(10.0)
    'T1a'
    >>> t_stage([20.5, 71.0], site="lung").tolist()
    ['T1c', 'T4']
    """
    if site not in _SITES:
        raise DataError(f"`site` must be one of {sorted(_SITES)}; got {site!r}")
    d = as_float_array("diameter_mm", diameter_mm, minimum=0.0)
    out = _classify(d, _SITES[site])
    out = np.where(d == 0.0, "T0", out)
    if d.ndim == 0:
        return str(out)
    return out


def metastasis_size_class(diameter_mm: ArrayLike) -> str | NDArray[np.str_]:
    """Size class of a metastatic deposit (AJCC 8th edition).

    =================  ===============================================
    "ITC"              D <= :data:`ITC_MAX_MM` (0.2 mm)
    "micrometastasis"  0.2 mm < D <= :data:`MICRO_MAX_MM` (2.0 mm)
    "macrometastasis"  D > 2.0 mm
    =================  ===============================================

    The boundaries are inclusive upper bounds: exactly 0.2 mm is ITC, exactly 2.0 mm a
    micrometastasis. AJCC also calls a cluster of no more than 200 cells ITC whatever its
    size; that cell-count rule is not applied here (see
    :func:`tgsim.observe.volume_to_cells` for a size-to-cells conversion).

    Parameters
    ----------
    diameter_mm
        Greatest dimension(s) in mm, >= 0; scalar or array.

    Returns
    -------
    str or numpy.ndarray of str

    References
    ----------
    Amin MB et al. (eds). AJCC Cancer Staging Manual, 8th ed. Springer, 2017.

    Examples
    --------
    >>> metastasis_size_class([0.2, 2.0, 2.01]).tolist()
    ['ITC', 'micrometastasis', 'macrometastasis']
    """
    d = as_float_array("diameter_mm", diameter_mm, minimum=0.0)
    bounds = ((ITC_MAX_MM, "ITC"), (MICRO_MAX_MM, "micrometastasis"), (np.inf, "macrometastasis"))
    out = _classify(d, bounds)
    if d.ndim == 0:
        return str(out)
    return out
