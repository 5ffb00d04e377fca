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
    "simulate": ".simulate",
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
}

__all__ = [
    "__version__",
    "TgsimError",
    "CardError",
    "ScheduleError",
    "DataError",
    "ConfigError",
    "TgsimWarning",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tgsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from .catalogue import Model, Parameter, load_model, model, models
    from .simulate import simulate
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
