"""The cohort job: virtual populations, scenarios, chunked simulation, read-outs, experiments.

=======================  ================================================================
:mod:`.virtual`          named parameter distributions and virtual populations
:mod:`.simulate`         scenarios and scenario grids; chunked cohort simulation (Dask,
                         Zarr)
:mod:`.readouts`         scan protocols and the cohort read-outs (RECIST, HPD, ...)
:mod:`.experiment`       experiment files: load, run, write the outputs
=======================  ================================================================

Units: days, mm³ (volumes), mm (diameters).
"""

from __future__ import annotations

import importlib
from typing import Any

from .simulate import (
    DEFAULT_CHUNK_SIZE,
    Scenario,
    apply_effects,
    check_observation,
    open_cohort,
    scenario_grid,
    simulate_cohort,
)

_LAZY = {
    "VirtualPopulation": ".virtual", "Population": ".virtual", "LogNormal": ".virtual",
    "Normal": ".virtual", "Uniform": ".virtual", "Fixed": ".virtual", "Empirical": ".virtual",
    "ScanProtocol": ".readouts", "ReadoutSettings": ".readouts", "summarise_cohort": ".readouts",
    "Observation": ".readouts", "Readouts": ".readouts",
    "load_experiment": ".experiment", "run_experiment": ".experiment",
    "Experiment": ".experiment", "ExperimentResult": ".experiment",
}

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Scenario",
    "scenario_grid",
    "simulate_cohort",
    "apply_effects",
    "open_cohort",
    "check_observation",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tgsim.cohort' has no attribute {name!r}")
