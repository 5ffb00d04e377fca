r"""Prior distributions of the Bayesian sampler, and the defaults.

A prior is stated on the parameter's natural scale, in the parameter's unit (the card's
unit: days, mm^3, 1/day; the error parameter's unit is that of its error model):

``Prior.lognormal(median, sd_log)``
    :math:`\log\theta \sim N(\log m, s^2)`; positive parameters.
``Prior.normal(mean, sd)``
    :math:`\theta \sim N(\mu, s^2)` (truncated to the card bounds).
``Prior.half_normal(scale)``
    :math:`\theta \sim |N(0, s^2)|`; positive parameters (the error scale's default).
``Prior.uniform(lower, upper)``
    Uniform within ``[lower, upper]``, which must lie within the card bounds.

The sampler works on unconstrained coordinates: log for positive parameters, logit
between the bounds for a uniform prior, the identity otherwise, and adds the log Jacobian
of the transform to the log density.

Defaults (:func:`default_priors`) are weakly informative and come from the card's
bounds only: a positive parameter with bounds ``[lo, hi]`` gets a log-normal prior with
median :math:`\sqrt{lo\,hi}` and ``sd_log`` :math:`(\log hi - \log lo)/4` (95 % of the
mass inside the bounds; a lower bound of 0 is replaced by ``1e-6 * hi``); a parameter
that may be negative gets a normal prior centred in its bounds with sd a quarter of
their width. The error scale gets a half-normal prior with scale 1 (dimensionless:
log-normal and proportional errors) or the largest absolute value in the data (additive
error, in the data's unit). They are printed when used (:func:`format_priors`).

Population priors (:func:`population_priors`) come from a
:meth:`~tgsim.fit_population` result (empirical Bayes): the log parameters with a
random effect follow the estimated joint normal :math:`N(\mu, \Omega)`, the others and
the error scale are held at the population estimates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import TgsimError

__all__ = ["Prior", "default_priors", "resolve_priors", "format_priors", "population_priors",
           "KINDS"]

#: prior kind -> kernel code (see tgsim/engine/kernels/templates/sample.py)
KINDS = {"flat": 0, "normal": 1, "lognormal": 2, "half_normal": 3, "uniform": 4,
         "population": 5}


@dataclass(frozen=True)
class Prior:
    """A prior distribution of one parameter (natural scale, the parameter's unit).

    Build one with :meth:`lognormal`, :meth:`normal`, :meth:`half_normal` or
    :meth:`uniform`; ``a`` and ``b`` are the kernel's two numbers (log-normal: mean and
    sd of the log; normal: mean and sd; half-normal: unused and scale; uniform: bounds).

    Examples
    --------
    >>> from tgsim.fitting.bayes import Prior
    >>> Prior.lognormal(median=0.1, sd_log=1.0).describe("1/day")
    'log-normal(median 0.1 1/day, sd of log 1)'
    """

    kind: str
    a: float
    b: float

    @classmethod
    def lognormal(cls, median: float, sd_log: float) -> Prior:
        """Log-normal: ``log(theta) ~ N(log(median), sd_log**2)``."""
        _positive("median", median)
        _positive("sd_log", sd_log)
        return cls("lognormal", math.log(median), float(sd_log))

    @classmethod
    def normal(cls, mean: float, sd: float) -> Prior:
        """Normal ``N(mean, sd**2)``, truncated to the card bounds."""
        _finite("mean", mean)
        _positive("sd", sd)
        return cls("normal", float(mean), float(sd))

    @classmethod
    def half_normal(cls, scale: float) -> Prior:
        """Half-normal ``|N(0, scale**2)|``."""
        _positive("scale", scale)
        return cls("half_normal", 0.0, float(scale))

    @classmethod
    def uniform(cls, lower: float, upper: float) -> Prior:
        """Uniform on ``[lower, upper]``."""
        _finite("lower", lower)
        _finite("upper", upper)
        if not upper > lower:
            raise TgsimError(f"uniform prior: `upper` must exceed `lower`; got [{lower!r}, "
                             f"{upper!r}]")
        return cls("uniform", float(lower), float(upper))

    def describe(self, unit: str = "") -> str:
        """The prior in words, with the unit of the parameter."""
        u = f" {unit}" if unit and unit != "1" else ""
        if self.kind == "lognormal":
            return f"log-normal(median {math.exp(self.a):.3g}{u}, sd of log {self.b:.3g})"
        if self.kind == "normal":
            return f"normal(mean {self.a:.3g}{u}, sd {self.b:.3g}{u})"
        if self.kind == "half_normal":
            return f"half-normal(scale {self.b:.3g}{u})"
        if self.kind == "uniform":
            return f"uniform({self.a:.3g}{u}, {self.b:.3g}{u})"
        if self.kind == "population":
            return "population N(mu, Omega) on the log scale"
        return "flat"

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draws from the prior (natural scale)."""
        if self.kind == "lognormal":
            return np.exp(rng.normal(self.a, self.b, size))
        if self.kind == "normal":
            return rng.normal(self.a, self.b, size)
        if self.kind == "half_normal":
            return np.abs(rng.normal(0.0, self.b, size))
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b, size)
        raise TgsimError(f"cannot draw from a {self.kind} prior")

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density on the natural scale (up to a constant)."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            if self.kind == "lognormal":
                return -np.log(x) - 0.5 * ((np.log(x) - self.a) / self.b) ** 2
            if self.kind == "normal":
                return -0.5 * ((x - self.a) / self.b) ** 2
            if self.kind == "half_normal":
                return np.where(x > 0, -0.5 * (x / self.b) ** 2, -np.inf)
            if self.kind == "uniform":
                return np.where((x >= self.a) & (x <= self.b), 0.0, -np.inf)
        return np.zeros_like(x)


def _positive(name: str, v: Any) -> None:
    if not (isinstance(v, int | float | np.floating | np.integer) and math.isfinite(v) and v > 0):
        raise TgsimError(f"prior: `{name}` must be a positive number; got {v!r}")


def _finite(name: str, v: Any) -> None:
    if not (isinstance(v, int | float | np.floating | np.integer) and math.isfinite(v)):
        raise TgsimError(f"prior: `{name}` must be a finite number; got {v!r}")


def default_prior(lower: float, upper: float) -> Prior:
    """The weakly informative default of a parameter with card bounds [lower, upper]."""
    if lower >= 0.0 and math.isfinite(upper):
        lo = lower if lower > 0 else 1e-6 * upper
        return Prior("lognormal", 0.5 * (math.log(lo) + math.log(upper)),
                     (math.log(upper) - math.log(lo)) / 4.0)
    if math.isfinite(lower) and math.isfinite(upper):
        return Prior("normal", 0.5 * (lower + upper), (upper - lower) / 4.0)
    raise TgsimError(f"no default prior for a parameter with bounds [{lower!r}, {upper!r}]: "
                     "state one in `priors`")


def default_priors(names: list[str], lower: np.ndarray, upper: np.ndarray, error_model: str,
                   data_scale: float) -> dict[str, Prior]:
    """Default priors of the growth parameters ``names`` and of ``"sigma"``."""
    out = {n: default_prior(float(lo), float(hi)) for n, lo, hi in zip(names, lower, upper,
                                                                        strict=True)}
    out["sigma"] = Prior("half_normal", 0.0, 1.0 if error_model != "additive" else data_scale)
    return out


def resolve_priors(priors: Mapping[str, Any] | None, defaults: dict[str, Prior],
                   free: list[str]) -> tuple[dict[str, Prior], list[str]]:
    """Merge user ``priors`` into ``defaults``; returns the priors of the ``free``
    parameters and the names that kept their default."""
    priors = dict(priors or {})
    unknown = sorted(set(priors) - set(defaults))
    if unknown:
        raise TgsimError(f"`priors`: unknown parameter(s) {unknown}; expected some of "
                         f"{sorted(defaults)}")
    out: dict[str, Prior] = {}
    kept: list[str] = []
    for name in free:
        p = priors.get(name)
        if p is None:
            out[name] = defaults[name]
            kept.append(name)
        elif isinstance(p, Prior):
            out[name] = p
        else:
            raise TgsimError(f"`priors[{name!r}]` must be a Prior (Prior.lognormal(...), "
                             f"Prior.normal(...), Prior.half_normal(...), Prior.uniform(...)); "
                             f"got {p!r}")
    return out, kept


def format_priors(priors: Mapping[str, Prior], units: Mapping[str, str],
                  defaults: list[str]) -> str:
    """A table of the priors, one line a parameter, defaults marked."""
    width = max(len(n) for n in priors) if priors else 0
    lines = ["priors (natural scale; * = default from the card's bounds):"]
    for name, p in priors.items():
        mark = "*" if name in defaults else " "
        lines.append(f"  {mark} {name:<{width}}  {p.describe(units.get(name, ''))}")
    return "\n".join(lines)


def population_priors(pop: Any, names: list[str]) -> tuple[dict[str, float], np.ndarray,
                                                            np.ndarray, list[str]]:
    """Empirical-Bayes priors from a :func:`~tgsim.fit_population` result.

    Returns ``(fixed, mean, precision, random)``: the values held fixed (parameters
    without a random effect, and the error scale ``sigma``), the mean (log scale, card
    order) and precision (card order; zero rows outside ``random``) of the joint normal
    prior on the log parameters with a random effect, and their names.
    """
    if list(pop.param_names) != list(names):
        raise TgsimError(f"`priors`: the population result is for parameters "
                         f"{list(pop.param_names)}, the model has {names}")
    if pop.error_model.n_params != 1:
        raise TgsimError("`priors`: population priors need a one-parameter error model; got "
                         f"{pop.error_model.name!r}")
    random = [n for n in names if n in pop.random_effects]
    idx = [names.index(n) for n in random]
    fixed = {n: float(pop.typical[i]) for i, n in enumerate(names) if n not in random}
    fixed["sigma"] = float(pop.sigma)
    mean = np.log(np.asarray(pop.typical, dtype=np.float64))
    omega = np.asarray(pop.omega, dtype=np.float64)[np.ix_(idx, idx)]
    prec = np.zeros((len(names) + 1, len(names) + 1))
    try:
        prec[np.ix_(idx, idx)] = np.linalg.inv(omega)
    except np.linalg.LinAlgError:
        raise TgsimError("`priors`: the population's Omega is singular") from None
    return fixed, mean, prec, random
