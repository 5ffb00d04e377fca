"""Metastatic spread: seeding by the primary, colony growth and size-class read-outs.

Units: time in **days**, volumes in **mm^3**, diameters in **mm**.

A primary tumour of volume V (a :func:`tgsim.simulate` result, treatments included)
emits colonies at rate ``beta = seeding_rate * V**seeding_exponent`` (Iwata et al. 2000);
each colony starts from one cell (1e-6 mm^3 at 1e6 cells/mm^3) and grows by a model card.
:func:`metastatic_spread` returns, over time and by size class (isolated tumour cells
<= 0.2 mm < micrometastases <= 2 mm < macrometastases), the expected number of colonies
(deterministic mode, McKendrick-von Foerster equation solved by characteristics) or the
replicate means of individual Poisson-seeded colonies (stochastic mode), with the colonies
above an imaging detection limit, the metastatic burden and the time to the first
detectable metastasis.

Modules: :mod:`~tgsim.metastasis.model` (parameters), :mod:`~tgsim.metastasis.seeding`
(emission intensity), :mod:`~tgsim.metastasis.colonies` (colony growth),
:mod:`~tgsim.metastasis.deterministic`, :mod:`~tgsim.metastasis.stochastic`,
:mod:`~tgsim.metastasis.readouts` (size classes, summary),
:mod:`~tgsim.metastasis.config` (the ``[metastasis]`` table of experiment files) and
:mod:`~studies.metastasis` (analyses run by ``tgsim run``).

Examples
--------
A primary growing from 10 mm³ at 2 % per day seeds colonies from the start; after 100
days the expected colonies are still almost all isolated tumour cells:

>>> import numpy as np, tgsim
>>> from tgsim.metastasis import MetastasisModel, metastatic_spread
>>> primary = tgsim.simulate("exponential", np.linspace(0, 100, 101),
...                          {"initial_volume": 10.0, "growth_rate": 0.02})
>>> spread = metastatic_spread(primary, MetastasisModel(seeding_rate=1e-3))
>>> spread.size_class.values.tolist()
['ITC', 'micrometastasis', 'macrometastasis']
>>> colonies = spread.colonies.isel(subject=0, time=-1).values
>>> bool(colonies[0] > 0.9 * colonies.sum())
True
"""

from __future__ import annotations

from .model import IWATA2000, MAX_SEEDING_EXPONENT, MetastasisModel
from .readouts import (
    DEFAULT_DETECTION_LIMIT_MM,
    ITC_MAX_MM,
    MICRO_MAX_MM,
    SIZE_CLASSES,
    class_bounds_mm,
    diameter_to_volume,
    spread_summary,
    volume_to_diameter,
)
from .spread import MODES, metastatic_spread, schedule_from_attrs, simulate_spread

__all__ = [
    "MetastasisModel",
    "metastatic_spread",
    "simulate_spread",
    "spread_summary",
    "schedule_from_attrs",
    "class_bounds_mm",
    "diameter_to_volume",
    "volume_to_diameter",
    "ITC_MAX_MM",
    "MICRO_MAX_MM",
    "SIZE_CLASSES",
    "DEFAULT_DETECTION_LIMIT_MM",
    "MAX_SEEDING_EXPONENT",
    "IWATA2000",
    "MODES",
]
