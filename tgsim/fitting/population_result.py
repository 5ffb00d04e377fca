"""The result of :func:`tgsim.fit_population`: estimates, likelihoods, flags, diagnostics."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.catalogue import Model
from .likelihood import ErrorModel
from .result import FitResult

__all__ = ["PopulationResult", "LIKELIHOOD_METHODS"]

LIKELIHOOD_METHODS = {"is": "importance sampling", "gh": "adaptive Gauss-Hermite quadrature",
                      "lin": "linearisation"}


@dataclass
class PopulationResult:
    """Result of :func:`tgsim.fit_population`.

    Random effects are log-normal: :math:`\\log p_{ij} = \\mu_j + \\beta_j c_i + \\eta_{ij}`,
    :math:`\\eta_i \\sim N(0, \\Omega)`.

    Attributes
    ----------
    typical, typical_se : ndarray, (param,)
        Typical values :math:`e^{\\mu}` (natural scale; at the reference covariate values)
        and their standard errors (fixed parameters at their value, SE NaN).
    mu, mu_se : ndarray
        :math:`\\mu` on the log scale and its standard error.
    omega, omega_se : ndarray, (param,)
        Standard deviations of the random effects (log scale, about the between-subject
        CV), as Monolix and nlme report them; NaN without a random effect.
    omega2, omega2_se : ndarray, (param,)
        The variances :math:`\\omega^2` and their standard errors.
    omega_covariance : ndarray, (param, param)
        :math:`\\Omega`.
    correlation, correlation_se : ndarray, (param, param)
        Correlations of the random effects (``covariance="full"``) and their SEs.
    covariate_effects : list of dict
        ``parameter``, ``covariate``, ``beta`` (log scale), ``se``, ``categorical``.
    error_parameters, error_se : dict
        ``sigma`` (additive, proportional, log-normal) or ``sigma_additive`` and
        ``sigma_proportional`` (combined: sd = a + b f).
    neg2ll : float
        -2 log L by ``neg2ll_method`` (importance sampling unless asked otherwise);
        ``likelihoods`` holds every method computed, ``neg2ll_se`` the Monte Carlo SE of
        the importance-sampling value.
    aic, bic, bic_obs : float
        AIC; BIC with log(number of subjects) (Monolix's convention) and with
        log(number of observations) (nlme's).
    converged : bool
        False when the burn-in traces still trended at ``max_burn`` or the independent
        SAEM runs disagree; ``convergence`` holds the evidence.
    flags : list of str
        Degenerate-fit warnings (RSE > 200 %, an error parameter at its bound, no
        convergence).
    excluded : ndarray of int
        Points of each subject left out (non-positive values under a log-scale error model,
        NaN rows).
    individual, conditional_mean : ndarray, (subject, param)
        EBEs (conditional modes) and conditional means, natural scale.
    shrinkage : ndarray, (param,)
        eta-shrinkage (fraction), 1 - sd(EBE eta) / omega.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(0.0, 43.0, 6.0)
    >>> v0 = 100 * np.exp(0.2 * rng.standard_normal(20))
    >>> rate = 0.05 * np.exp(0.2 * rng.standard_normal(20))
    >>> y = v0[:, None] * np.exp(rate[:, None] * t) * np.exp(0.05 * rng.standard_normal((20, 8)))
    >>> pop = tgsim.fit_population((t, y), "exponential", unit="mm^3", n_burn=50,
    ...                            n_iter=50, seed=1)  # doctest: +SLOW
    >>> pop.omega.shape                                # doctest: +SLOW
    (2,)
    """

    model: Model
    error_model: ErrorModel
    param_names: tuple[str, ...]
    param_units: tuple[str, ...]
    random_effects: tuple[str, ...]
    covariance: str
    free: np.ndarray
    typical: np.ndarray
    typical_se: np.ndarray
    mu: np.ndarray
    mu_se: np.ndarray
    omega2: np.ndarray
    omega2_se: np.ndarray
    omega_covariance: np.ndarray
    correlation: np.ndarray
    correlation_se: np.ndarray
    covariate_effects: list[dict[str, Any]]
    error_parameters: dict[str, float]
    error_se: dict[str, float]
    shrinkage: np.ndarray
    subjects: np.ndarray
    individual: np.ndarray
    conditional_mean: np.ndarray
    likelihoods: dict[str, float]
    neg2ll_method: str
    neg2ll_se: float
    k: int
    n_obs: int
    t0_text: str
    converged: bool
    convergence: dict[str, Any]
    flags: list[str]
    excluded: np.ndarray
    two_stage: dict[str, Any]
    trace: dict[str, Any]
    individual_fit: FitResult
    ebe_status: np.ndarray
    _internal: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ derived
    @property
    def neg2ll(self) -> float:
        return self.likelihoods[self.neg2ll_method]

    @property
    def omega(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.sqrt(self.omega2)

    @property
    def omega_se(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.omega2_se / (2 * self.omega)

    @property
    def sigma(self) -> float:
        """The residual error parameter of a one-parameter error model (the proportional
        part b of the combined model)."""
        e = self.error_parameters
        return float(e.get("sigma", e.get("sigma_proportional", np.nan)))

    @property
    def sigma_se(self) -> float:
        e = self.error_se
        return float(e.get("sigma", e.get("sigma_proportional", np.nan)))

    @property
    def aic(self) -> float:
        return self.neg2ll + 2 * self.k

    @property
    def bic(self) -> float:
        """BIC with log(number of subjects) (Monolix's convention)."""
        return self.neg2ll + self.k * math.log(max(self.subjects.size, 1))

    @property
    def bic_obs(self) -> float:
        """BIC with log(number of observations) (nlme's convention)."""
        return self.neg2ll + self.k * math.log(max(self.n_obs, 1))

    @property
    def rse_typical(self) -> np.ndarray:
        """RSE % of the typical values (100 se(mu) on the log scale)."""
        return 100.0 * self.mu_se

    @property
    def rse_omega2(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return 100.0 * self.omega2_se / self.omega2

    @property
    def rse_omega(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return 100.0 * self.omega_se / self.omega

    # ------------------------------------------------------------------ output
    def summary(self) -> str:
        from .population_report import summary_text

        return summary_text(self)

    def to_dataset(self):
        from .population_report import to_dataset

        return to_dataset(self)

    def plot(self, **kwargs):
        """The goodness-of-fit panels (:meth:`gof`)."""
        return self.gof(**kwargs)

    def plot_convergence(self, **kwargs):
        """SAEM traces of every run, burn-in end marked; see
        :func:`tgsim.fitting.population_diagnostics.plot_convergence`."""
        from .population_diagnostics import plot_convergence

        return plot_convergence(self, **kwargs)

    def vpc(self, **kwargs):
        """Visual predictive check; see :func:`tgsim.fitting.population_diagnostics.vpc`."""
        from .population_diagnostics import vpc

        return vpc(self, **kwargs)

    def gof(self, **kwargs):
        """Four goodness-of-fit panels; see :func:`tgsim.fitting.population_diagnostics.gof`."""
        from .population_diagnostics import gof

        return gof(self, **kwargs)

    def npde(self, **kwargs):
        """NPDE per observation; see :func:`tgsim.fitting.population_diagnostics.npde`."""
        from .population_diagnostics import npde

        return npde(self, **kwargs)

    def residuals(self, **kwargs):
        """Table of PRED, IPRED, CWRES, IWRES and NPDE per observation."""
        from .population_diagnostics import residual_table

        return residual_table(self, **kwargs)

    def __repr__(self) -> str:
        return (f"<tgsim.PopulationResult model={self.model.name!r} "
                f"subjects={self.subjects.size} converged={self.converged}>")
