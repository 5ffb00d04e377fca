"""Axis labels from xarray attrs (``long_name`` and ``units``)."""

from __future__ import annotations

from typing import Any


def label(obj: Any, fallback: str = "") -> str:
    """``"long_name (units)"`` from a DataArray's attrs, or ``fallback``."""
    attrs = getattr(obj, "attrs", {}) or {}
    name = attrs.get("long_name") or getattr(obj, "name", None) or fallback
    units = attrs.get("units")
    if units:
        units = str(units).replace("^3", "³").replace("^2", "²")
    return f"{name} ({units})" if units else str(name)


#: a colour-blind-safe qualitative palette (Okabe & Ito 2008)
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
             "#000000")
