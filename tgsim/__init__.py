"""tgsim — simulate, assess and fit tumour growth.

Units throughout: time in **days**, volume in **mm³**, diameter in **mm**.

This module is the table of contents: ``__all__`` is the public API. Heavy
dependencies (numba, xarray, scipy, matplotlib) load on first use, so
``import tgsim`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _deprecation
from ._version import __version__
from .errors import CardError, ConfigError, DataError, ScheduleError, TgsimError, TgsimWarning

_deprecation.install()

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    # model catalogue
    "models": ".engine.catalogue",
    "model": ".engine.catalogue",
    "load_model": ".engine.catalogue",
    "Model": ".engine.catalogue",
    "Parameter": ".engine.catalogue",
    # simulation
    "simulate": ".simulation",
    # treatment
    "Schedule": ".treatment",
    "Free": ".treatment",
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
    "fit": ".fitting",
    "FitResult": ".fitting",
    "akaike_weights": ".fitting",
    "compare": ".fitting.comparison",
    "Comparison": ".fitting.comparison",
    "forecast": ".fitting.forecasting",
    "ForecastResult": ".fitting.forecasting",
    "tumour_age": ".fitting.forecasting",
    "TumourAge": ".fitting.forecasting",
    "fit_population": ".fitting.saem",
    "PopulationResult": ".fitting.saem",
    "profile_likelihood": ".fitting.uncertainty",
    "bootstrap": ".fitting.uncertainty",
    "gdrate": ".fitting.regression",
    # Bayesian inference
    "sample": ".fitting.bayes",
    "Prior": ".fitting.bayes",
    "SampleResult": ".fitting.bayes",
    # virtual cohorts and experiments
    "VirtualPopulation": ".cohort.virtual",
    "LogNormal": ".cohort.virtual",
    "Normal": ".cohort.virtual",
    "Uniform": ".cohort.virtual",
    "Fixed": ".cohort.virtual",
    "Empirical": ".cohort.virtual",
    "Scenario": ".cohort.simulate",
    "scenario_grid": ".cohort.simulate",
    "simulate_cohort": ".cohort.simulate",
    "open_cohort": ".cohort.simulate",
    "ScanProtocol": ".cohort.readouts",
    "ReadoutSettings": ".cohort.readouts",
    "summarise_cohort": ".cohort.readouts",
    "load_experiment": ".cohort.experiment",
    "run_experiment": ".cohort.experiment",
    "Experiment": ".cohort.experiment",
    "ExperimentResult": ".cohort.experiment",
    # metastatic spread
    "MetastasisModel": ".metastasis",
    "metastatic_spread": ".metastasis",
    "spread_summary": ".metastasis",
    # teaching
    "Explorer": ".explore",
    # data
    "read_series": ".io",
    "write_series": ".io",
    "read_lesions": ".io",
    "write_lesions": ".io",
}

#: submodules reachable as attributes (``tgsim.datasets``, ``tgsim.plot``, ...)
_SUBMODULES = (
    "datasets", "plot", "io", "clinical", "observe", "treatment", "metastasis", "cohort",
    "engine", "fitting", "tgi",
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


#: former public names (one release, with a DeprecationWarning) -> current name
_RENAMED = {"Population": "VirtualPopulation", "Observation": "ScanProtocol",
            "Readouts": "ReadoutSettings"}
#: former public functions, still served for one release (calling them warns)
_FORMER = {"simulate_spread": ".metastasis"}


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        return _deprecation.renamed("tgsim", _RENAMED, name, {_RENAMED[name]: __getattr__(
            _RENAMED[name])})
    if f"tgsim.{name}" in _deprecation.MOVED and name != "fit":
        return importlib.import_module(f"tgsim.{name}")  # warns with the new path
    if name in _FORMER:
        return getattr(importlib.import_module(_FORMER[name], __name__), name)
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


if TYPE_CHECKING:  # pragma: no cover - what the lazy table resolves to, for type checkers
    from . import (  # noqa: F401
        clinical,
        cohort,
        datasets,
        engine,
        fitting,
        io,
        metastasis,
        observe,
        plot,
        treatment,
    )
    from .clinical import (
        best_overall_response,
        cohen_kappa,
        doubling_time,
        hyperprogression,
        hyperprogression_agreement,
        hyperprogression_cohort,
        irecist,
        metastasis_size_class,
        recist,
        specific_growth_rate,
        t_stage,
        target_sums,
        threshold_growth,
        tumour_growth_kinetics,
        tumour_growth_rate,
    )
    from .cohort.experiment import (
        Experiment,
        ExperimentResult,
        load_experiment,
        run_experiment,
    )
    from .cohort.readouts import (
        ReadoutSettings,
        ScanProtocol,
        summarise_cohort,
    )
    from .cohort.simulate import (
        Scenario,
        open_cohort,
        scenario_grid,
        simulate_cohort,
    )
    from .cohort.virtual import (
        Empirical,
        Fixed,
        LogNormal,
        Normal,
        Uniform,
        VirtualPopulation,
    )
    from .engine.catalogue import (
        Model,
        Parameter,
        load_model,
        model,
        models,
    )
    from .explore import Explorer
    from .fitting import (
        FitResult,
        akaike_weights,
        fit,
    )
    from .fitting.bayes import Prior, SampleResult, sample
    from .fitting.comparison import (
        Comparison,
        compare,
    )
    from .fitting.forecasting import (
        ForecastResult,
        TumourAge,
        forecast,
        tumour_age,
    )
    from .fitting.regression import gdrate
    from .fitting.saem import (
        PopulationResult,
        fit_population,
    )
    from .fitting.uncertainty import (
        bootstrap,
        profile_likelihood,
    )
    from .io import (
        read_lesions,
        read_series,
        write_lesions,
        write_series,
    )
    from .metastasis import (
        MetastasisModel,
        metastatic_spread,
        spread_summary,
    )
    from .observe import (
        AdditiveError,
        CombinedError,
        LogNormalError,
        ProportionalError,
        caliper_volume,
        cells_to_volume,
        ellipsoid_volume,
        scan,
        scans_to_lesions,
        sphere_diameter,
        sphere_volume,
        sum_of_diameters,
        volume_to_cells,
    )
    from .simulation import simulate
    from .treatment import (
        Acceleration,
        Chemotherapy,
        Free,
        Immunotherapy,
        Radiotherapy,
        Schedule,
        Surgery,
        Swelling,
        TargetedTherapy,
        load_schedule,
        weekday_fractions,
    )
