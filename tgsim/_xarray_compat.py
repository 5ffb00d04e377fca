"""Keep xarray from importing ``dask.array`` before anything needs it.

When dask is installed, xarray asks for the dask array type the first time it wraps a
NumPy array (``isinstance(data, dask.array.Array)`` inside ``as_compatible_data``), and
importing ``dask.array`` pulls in scipy.sparse and pandas extensions: about 0.3 s on the
first ``simulate()`` of a process. No object can be a dask array while ``dask.array`` has
never been imported, so until then the answer "no dask array type" is exact. This module
puts a placeholder for dask in xarray's duck-array cache that answers ``()`` while
``dask.array`` is absent from :data:`sys.modules` and hands over to xarray's own entry
as soon as it is present (or as soon as anything asks for dask's module or version).

If xarray's internals differ from what is expected, nothing is changed.
"""

from __future__ import annotations

import sys

__all__ = ["defer_dask_import"]

_done = False


def defer_dask_import() -> None:
    """Install the placeholder once per process (no-op when not applicable)."""
    global _done
    if _done:
        return
    _done = True
    if "dask.array" in sys.modules:
        return
    try:
        from xarray.namedarray import pycompat
    except ImportError:  # pragma: no cover - older xarray layout
        return
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    base = getattr(pycompat, "DuckArrayModule", None)
    if not isinstance(cache, dict) or base is None or "dask" in cache:
        return

    class _DeferredDask(base):  # type: ignore[misc, valid-type]
        """xarray's dask entry, created only when something needs more than the type."""

        def __init__(self) -> None:  # the real entry is built on first use
            pass

        @staticmethod
        def _real():
            if isinstance(cache.get("dask"), _DeferredDask):
                cache["dask"] = base("dask")
            return cache["dask"]

        @property
        def type(self):  # type: ignore[override]
            if "dask.array" not in sys.modules:
                return ()
            return self._real().type

        @property
        def module(self):  # type: ignore[override]
            return self._real().module

        @property
        def version(self):  # type: ignore[override]
            return self._real().version

        @property
        def available(self):  # type: ignore[override]
            return self._real().available

    cache["dask"] = _DeferredDask()
