"""The fitting job: growth laws fitted to tumour-size series, one series or ten thousand.

* :func:`fit` — maximum-likelihood fit of a card to every subject (batched, compiled
  Levenberg-Marquardt), returning a :class:`FitResult`.
* :func:`compare` — several cards on the same data: AIC, AICc, BIC, Akaike weights,
  residual standard error, failed fits.
* :func:`profile_likelihood`, :func:`bootstrap` — uncertainty beyond the asymptotic
  covariance.
* :func:`forecast` — fit the first k points, predict the rest and score the error;
  :func:`tumour_age` — backward extrapolation to the time of a given size.
* :func:`fit_population` — nonlinear mixed effects (SAEM) with log-normal random effects,
  covariates, several runs and a convergence verdict, importance-sampling likelihood,
  VPC and goodness-of-fit panels (:mod:`tgsim.fitting.saem`).

Units: time in days, volumes in mm^3 (diameters converted, see :mod:`tgsim.fitting.data`).
"""

from __future__ import annotations

from .core import fit
from .likelihood import ERROR_MODELS, aic, aicc, akaike_weights, bic, neg2_loglik
from .result import FitResult

__all__ = [
    "fit",
    "FitResult",
    "ERROR_MODELS",
    "aic",
    "aicc",
    "bic",
    "akaike_weights",
    "neg2_loglik",
]
