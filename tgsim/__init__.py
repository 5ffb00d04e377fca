"""tgsim — simulate, assess and fit tumour growth.

Units throughout: time in **days**, volume in **mm³**, diameter in **mm**.

This module is the table of contents: ``__all__`` is the public API. Heavy
dependencies (numba, xarray, scipy, matplotlib) load on first use, so
``import tgsim`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import CardError, ConfigError, DataError, ScheduleError, TgsimError, TgsimWarning

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    # model catalogue
    "models": ".catalogue",
    "model": ".catalogue",
    "load_model": ".catalogue",
    "Model": ".catalogue",
    "Parameter": ".catalogue",
    # simulation
    "simulate": ".simulation",
    # treatment
    "Schedule": ".treatment",
    "Surgery": ".treatment",
    "Radiotherapy": ".treatment",
    "Chemotherapy": ".treatment",
    "TargetedTherapy": ".treatment",
    "Immunotherapy": ".treatment",
    "Acceleration": ".treatment",
    "Swelling": ".treatment",
    "weekday_fractions": ".treatment",
    "load_schedule": ".treatment",
    # observation
    "scan": ".observe",
    "sphere_volume": ".observe",
    "sphere_diameter": ".observe",
    "caliper_volume": ".observe",
    "volume_to_cells": ".observe",
    "sum_of_diameters": ".observe",
    "ellipsoid_volume": ".observe",
    "cells_to_volume": ".observe",
    "scans_to_lesions": ".observe",
    "AdditiveError": ".observe",
    "ProportionalError": ".observe",
    "CombinedError": ".observe",
    "LogNormalError": ".observe",
    # clinical read-outs
    "recist": ".clinical",
    "irecist": ".clinical",
    "best_overall_response": ".clinical",
    "threshold_growth": ".clinical",
    "tumour_growth_rate": ".clinical",
    "tumour_growth_kinetics": ".clinical",
    "hyperprogression": ".clinical",
    "hyperprogression_cohort": ".clinical",
    "hyperprogression_agreement": ".clinical",
    "doubling_time": ".clinical",
    "specific_growth_rate": ".clinical",
    "t_stage": ".clinical",
    "metastasis_size_class": ".clinical",
    "target_sums": ".clinical",
    "cohen_kappa": ".clinical",
    # fitting
    "fit": ".fit",
    "FitResult": ".fit",
    "akaike_weights": ".fit",
    "compare": ".fit.compare",
    "Comparison": ".fit.compare",
    "forecast": ".fit.forecast",
    "ForecastResult": ".fit.forecast",
    "tumour_age": ".fit.forecast",
    "TumourAge": ".fit.forecast",
    "fit_population": ".fit.population",
    "PopulationResult": ".fit.population",
    "profile_likelihood": ".fit.uncertainty",
    "bootstrap": ".fit.uncertainty",
    "gdrate": ".fit.gdrate",
    # Bayesian inference
    "sample": ".bayes",
    "Prior": ".bayes",
    "SampleResult": ".bayes",
    # virtual cohorts and experiments
    "Population": ".population",
    "LogNormal": ".population",
    "Normal": ".population",
    "Uniform": ".population",
    "Fixed": ".population",
    "Empirical": ".population",
    "Scenario": ".cohort",
    "scenario_grid": ".cohort",
    "simulate_cohort": ".cohort",
    "open_cohort": ".cohort",
    "Observation": ".readouts",
    "Readouts": ".readouts",
    "summarise_cohort": ".readouts",
    "load_experiment": ".experiment",
    "run_experiment": ".experiment",
    "Experiment": ".experiment",
    "ExperimentResult": ".experiment",
    # metastatic spread
    "MetastasisModel": ".metastasis",
    "metastatic_spread": ".metastasis",
    "simulate_spread": ".metastasis",
    "spread_summary": ".metastasis",
    # teaching
    "Explorer": ".explore",
    "build_gallery": ".gallery",
    # data
    "read_series": ".io",
    "write_series": ".io",
    "read_lesions": ".io",
    "write_lesions": ".io",
}

#: submodules reachable as attributes (``tgsim.datasets``, ``tgsim.plot``, ...)
_SUBMODULES = (
    "datasets", "plot", "io", "clinical", "observe", "treatment", "catalogue", "metastasis",
    "gallery", "population", "cohort", "experiment", "bayes",
)

__all__ = [
    "__version__",
    "datasets",
    "plot",
    "metastasis",
    "TgsimError",
    "CardError",
    "ScheduleError",
    "DataError",
    "ConfigError",
    "TgsimWarning",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tgsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from . import clinical, datasets, io, observe, plot  # noqa: F401
    from .bayes import Prior, SampleResult, sample
    from .catalogue import Model, Parameter, load_model, model, models
    from .clinical import (
        best_overall_response,
        doubling_time,
        hyperprogression,
        hyperprogression_agreement,
        hyperprogression_cohort,
        irecist,
        metastasis_size_class,
        recist,
        specific_growth_rate,
        t_stage,
        threshold_growth,
        tumour_growth_kinetics,
        tumour_growth_rate,
    )
    from .io import read_lesions, read_series, write_lesions, write_series
    from .observe import (
        caliper_volume,
        scan,
        sphere_diameter,
        sphere_volume,
        sum_of_diameters,
        volume_to_cells,
    )
    from .simulation import simulate
    from .treatment import (
        Acceleration,
        Chemotherapy,
        Immunotherapy,
        Radiotherapy,
        Schedule,
        Surgery,
        Swelling,
        TargetedTherapy,
        load_schedule,
        weekday_fractions,
    )
