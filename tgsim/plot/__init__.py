"""Figures. A leaf module: pyplot is imported inside the functions, each takes ``ax=None``
and returns the Axes it drew on; labels come from the data's ``long_name`` and ``units``
(time in days, volumes in mm³, diameters in mm). Colours are the colour-blind-safe
Okabe-Ito palette.

=================================  ========================================================
:func:`growth_curves`              simulated curves, median and percentile (parameter) band
:func:`spaghetti`                  a cohort by scenario: subjects, median, band
:func:`waterfall`                  best response per subject, RECIST -30 % / +20 % lines
:func:`spider`                     % change from baseline over time
:func:`swimmer`                    time on study with response events
:func:`fit_plot`                   data, fitted curve, prediction band, residuals
:func:`model_comparison`           Akaike weights of competing models
:func:`profile_plot`               profile likelihood with its likelihood-ratio interval
:func:`colony_classes`             metastatic colonies by size class over time
:func:`colony_histogram`           colony size distribution over the class boundaries
:func:`pseudoprogression`          tumour vs observed size, scans, RECIST / iRECIST calls
:func:`phase_plot`                 growth rate against volume for each law
:func:`plot`                       the natural figure for any tgsim result
=================================  ========================================================

Examples
--------
>>> import numpy as np, tgsim
>>> ds = tgsim.simulate("gompertz", np.linspace(0, 60, 61),
...                     {"initial_volume": 1.0, "growth_rate": 0.1,
...                      "carrying_capacity": 2000.0})
>>> ax = tgsim.plot.growth_curves(ds)
>>> ax.get_xlabel(), ax.get_ylabel()
('time (day)', 'tumour volume (mm³)')
"""

from ._labels import (
    GREY,
    OKABE_ITO,
    RESPONSE_COLOURS,
    new_axes,
    reference_line,
    response_colour,
)
from .auto import plot, register_accessor
from .cohort import spaghetti
from .fit import fit_plot, model_comparison, profile_plot
from .growth import growth_curves
from .metastasis import colony_classes, colony_histogram
from .phase import growth_rate, phase_plot
from .pseudoprogression import pseudoprogression
from .response import best_change, spider, swimmer, waterfall

__all__ = [
    "growth_curves",
    "spaghetti",
    "waterfall",
    "spider",
    "swimmer",
    "best_change",
    "fit_plot",
    "model_comparison",
    "profile_plot",
    "colony_classes",
    "colony_histogram",
    "pseudoprogression",
    "phase_plot",
    "growth_rate",
    "plot",
    "register_accessor",
    "OKABE_ITO",
    "GREY",
    "new_axes",
    "reference_line",
    "response_colour",
    "RESPONSE_COLOURS",
]
