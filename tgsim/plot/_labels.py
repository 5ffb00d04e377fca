"""Axis labels, colours and small helpers shared by the figures.

Labels come from xarray attrs (``long_name`` and ``units``); colours from the
colour-blind-safe palette of Okabe & Ito (2008).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import TgsimError


def pretty_units(units: str) -> str:
    """``mm^3`` -> ``mm³``, ``1/day`` stays, ``days`` -> ``day``-style text unchanged."""
    return str(units).replace("^3", "³").replace("^2", "²").replace("^-1", "⁻¹")


def label(obj: Any, fallback: str = "") -> str:
    """``"long_name (units)"`` from a DataArray's attrs, or ``fallback``."""
    attrs = getattr(obj, "attrs", {}) or {}
    name = attrs.get("long_name") or getattr(obj, "name", None) or fallback
    units = attrs.get("units")
    if units and str(units) != "1":
        return f"{name} ({pretty_units(units)})"
    return str(name)


#: a colour-blind-safe qualitative palette (Okabe & Ito 2008)
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
             "#000000")

#: neutral grey for reference lines and "not evaluable"
GREY = "#7F7F7F"

#: colour of each RECIST / iRECIST category (Okabe-Ito hues; PD-like categories warm,
#: responses cool, stable amber)
RESPONSE_COLOURS: dict[str, str] = {
    "CR": "#0072B2",
    "PR": "#009E73",
    "SD": "#E69F00",
    "non-CR/non-PD": "#56B4E9",
    "PD": "#D55E00",
    "NE": GREY,
    "iCR": "#0072B2",
    "iPR": "#009E73",
    "iSD": "#E69F00",
    "non-iCR/non-iUPD": "#56B4E9",
    "iUPD": "#CC79A7",
    "iCPD": "#D55E00",
    "iNE": GREY,
}

#: the order categories are listed in legends (best first)
RESPONSE_ORDER: tuple[str, ...] = tuple(RESPONSE_COLOURS)


def response_colour(category: Any) -> str:
    """Colour of a response category (grey for an unknown or missing one)."""
    return RESPONSE_COLOURS.get(str(category), GREY)


def new_axes(ax: Any = None, figsize: tuple[float, float] = (6.4, 4.2)):
    """Return ``ax``, or the Axes of a new constrained-layout figure."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def as_float_1d(values: Any, name: str, *, allow_nan: bool = True) -> np.ndarray:
    """Validate a 1-D array of numbers; the error names the argument and the value."""
    try:
        a = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TgsimError(f"`{name}` must be a 1-D array of numbers; got {values!r}") from None
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise TgsimError(f"`{name}` must be 1-D; got shape {a.shape}")
    bad = np.isinf(a) if allow_nan else ~np.isfinite(a)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rule = "finite or NaN" if allow_nan else "finite"
        raise TgsimError(f"`{name}` must be {rule}; got {name}[{i}]={a[i]!r}")
    return a


def reference_line(ax: Any, y: float, text: str, *, gid: str, color: str = "black") -> Any:
    """A dashed horizontal reference line, drawn over bars, labelled outside the right edge
    of the axes."""
    line = ax.axhline(y, color=color, lw=1.0, ls="--", zorder=3)
    line.set_gid(gid)
    ax.annotate(text, xy=(1.01, y), xycoords=("axes fraction", "data"), ha="left",
                va="center", fontsize=8, color=color, annotation_clip=False)
    return line
