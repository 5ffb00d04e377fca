"""One entry point that picks the figure for a tgsim result: :func:`plot`.

Also an xarray accessor, so that ``ds.tgsim.plot()`` works on tgsim Datasets once
:func:`register_accessor` has run.
"""

from __future__ import annotations

from typing import Any

from ..errors import TgsimError

#: figure kinds for a ResponseAssessment
RESPONSE_KINDS = ("waterfall", "spider", "swimmer")


def plot(obj: Any, *, kind: str | None = None, **kwargs: Any):
    """Draw the natural figure for a tgsim result and return its Axes.

    =======================================  ======================================
    ``ResponseAssessment``                   :func:`waterfall` (``kind="spider"`` or
                                             ``"swimmer"`` for the others)
    metastatic spread Dataset                :func:`colony_classes`
                                             (``kind="histogram"``:
                                             :func:`colony_histogram`)
    cohort Dataset (``scenario`` dim)        :func:`spaghetti`
    simulation Dataset                       :func:`growth_curves`
                                             (``kind="pseudoprogression"``:
                                             :func:`pseudoprogression`)
    =======================================  ======================================

    Keyword arguments go to the chosen function.
    """
    from . import (
        colony_classes,
        colony_histogram,
        growth_curves,
        pseudoprogression,
        spaghetti,
        spider,
        swimmer,
        waterfall,
    )

    if hasattr(obj, "table") and hasattr(obj, "best") and hasattr(obj, "criteria"):
        k = kind or "waterfall"
        funcs = {"waterfall": waterfall, "spider": spider, "swimmer": swimmer}
        if k not in funcs:
            raise TgsimError(f"`kind` must be one of {RESPONSE_KINDS} for a response "
                             f"assessment; got {kind!r}")
        return funcs[k](obj, **kwargs)
    data_vars = getattr(obj, "data_vars", None)
    if data_vars is None:
        raise TgsimError("`obj` must be a tgsim result (Dataset or ResponseAssessment); got "
                         f"{type(obj).__name__}")
    if "size_class" in getattr(obj, "dims", {}):
        if kind in (None, "classes"):
            return colony_classes(obj, **kwargs)
        if kind == "histogram":
            return colony_histogram(obj, **kwargs)
        raise TgsimError(f"`kind` must be 'classes' or 'histogram' for a spread result; "
                         f"got {kind!r}")
    if "volume" in data_vars:
        if kind == "pseudoprogression":
            return pseudoprogression(obj, **kwargs)  # explains how to assess it first
        if kind not in (None, "growth", "spaghetti"):
            raise TgsimError(f"`kind` must be 'growth', 'spaghetti' or 'pseudoprogression' "
                             f"for a simulation; got {kind!r}")
        if "scenario" in obj.dims or kind == "spaghetti":
            return spaghetti(obj, **kwargs)
        return growth_curves(obj, **kwargs)
    raise TgsimError("`obj` is not a Dataset tgsim knows how to draw (no `volume` or "
                     "`size_class`)")


class TgsimAccessor:
    """``ds.tgsim.plot(...)``: :func:`tgsim.plot.plot` on a Dataset;
    ``ds.tgsim.to_dataframe()``: a tidy table of a simulation."""

    def __init__(self, ds: Any) -> None:
        self._ds = ds

    def plot(self, **kwargs: Any):
        """Draw the natural figure for this Dataset (see :func:`tgsim.plot.plot`)."""
        return plot(self._ds, **kwargs)

    def to_dataframe(self):
        """One row per (subject, time), parameters as columns (see
        :func:`tgsim.io.frames.simulation_frame`); ``Dataset.to_dataframe()`` would
        repeat ``volume`` along ``param``."""
        from ..io.frames import simulation_frame

        return simulation_frame(self._ds)


def register_accessor() -> None:
    """Register ``Dataset.tgsim`` (idempotent)."""
    import xarray as xr

    if getattr(xr.Dataset, "tgsim", None) is TgsimAccessor:
        return
    if "tgsim" in getattr(xr.Dataset, "__dict__", {}):
        return
    xr.register_dataset_accessor("tgsim")(TgsimAccessor)
