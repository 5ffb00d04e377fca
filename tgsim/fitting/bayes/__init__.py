"""Bayesian inference: posteriors of growth parameters for every subject of a cohort.

* :func:`sample` — NUTS over all subjects x chains in one compiled call
  (:mod:`tgsim.fitting.bayes.sample`), returning a :class:`SampleResult` (ArviZ
  ``InferenceData``, diagnostics, forecasts).
* :class:`Prior` — prior distributions; defaults from the card's bounds
  (:mod:`tgsim.fitting.bayes.priors`).
* :func:`sample_population` — the hierarchical (random-effects) model by Gibbs steps for
  the population parameters and NUTS steps for the subjects
  (:mod:`tgsim.fitting.bayes.hierarchical`).

ArviZ (the ``bayes`` extra) is needed for the diagnostics and the InferenceData only.
"""

from __future__ import annotations

from .hierarchical import sample_population
from .priors import Prior
from .result import SampleResult
from .sample import sample

__all__ = ["sample", "sample_population", "Prior", "SampleResult"]
