"""Tumour growth inhibition (TGI): exposure-driven drug effects and their read-outs.

* :mod:`tgsim.tgi.pk` — linear PK in closed form (one and two compartments; bolus,
  infusion, first-order oral absorption) as *exposure terms*.
* :mod:`tgsim.tgi.effect` — concentration → kill hazard (linear, Emax, Hill) and Simeoni
  damage compartments.
* :mod:`tgsim.tgi.drug` — :class:`Drug`, an intervention driven by dosing records.
* :mod:`tgsim.tgi.reference` — SciPy integration of any drug (the oracle).
* :mod:`tgsim.tgi.readouts` — TTG, tumour size ratio, T/C, growth delay, %TGI.
Fitting free treatment parameters is a job: :func:`tgsim.fitting.treated.fit_treatment`.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "OneCompartment": ".pk", "TwoCompartment": ".pk", "ExposureTerms": ".pk",
    "Linear": ".effect", "Emax": ".effect", "Hill": ".effect", "Transit": ".effect",
    "Drug": ".drug",
    "simulate_reference": ".reference",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'tgsim.tgi' has no attribute {name!r}")
