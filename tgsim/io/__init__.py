"""Reading and writing data: tidy long CSV files <-> xarray Datasets.

* :func:`read_series` / :func:`write_series` — serial size measurements
  (``subject, day, value[, unit, arm, censored]``) for fitting.
* :func:`read_lesions` / :func:`write_lesions` — per-lesion diameters
  (``subject, day, lesion, diameter_mm[, kind, status]``) for RECIST-style read-outs.
* :func:`read_doses` — dosing records (``subject, day, amount[, drug, route, duration]``)
  as a :class:`~tgsim.io.doses.DoseTable`.
* :func:`atomic_path` — write to a temporary file and rename it into place.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._atomic import atomic_path, check_output_file
from ._outdir import atomic_dir

_LAZY = {
    "read_series": ".series",
    "write_series": ".series",
    "read_lesions": ".lesions",
    "write_lesions": ".lesions",
    "read_doses": ".doses",
    "DoseTable": ".doses",
}

__all__ = ["atomic_path", "atomic_dir", "check_output_file", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'tgsim.io' has no attribute {name!r}")
