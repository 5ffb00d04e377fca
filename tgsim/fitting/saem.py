r"""Population (nonlinear mixed-effects) fits by SAEM: :func:`fit_population`.

Model
-----
For subject i the growth parameters on the fitting scale are
:math:`\phi_i = \mu + \eta_i`, :math:`\eta_i \sim N(0, \Omega)`: log-normal random effects
(:math:`p_{ij} = \exp\phi_{ij}`, typical value :math:`\exp\mu_j`, :math:`\omega_j^2` the
variance of :math:`\log p_j`; :math:`\omega_j` is about the between-subject CV). The
observations follow the residual error model of :mod:`tgsim.fitting.likelihood` (additive,
proportional or log-normal, one sigma shared by all subjects).

Estimation: SAEM
----------------
The stochastic approximation EM algorithm (Delyon, Lavielle & Moulines 1999; Kuhn &
Lavielle 2004/2005, as in Monolix and saemix): at iteration k,

1. *simulation* — a few Metropolis-Hastings moves of every :math:`\phi_i` targeting
   :math:`p(\phi_i | y_i; \mu, \Omega, \sigma)`: proposals from the population
   distribution, multivariate random walks and component-wise random walks (step sizes
   adapted towards 40 % acceptance), in several independent chains per subject when
   there are few subjects (``n_chains``; the statistics below are averaged over them);
2. *stochastic approximation* of the sufficient statistics
   :math:`S_1 = \sum_i\phi_i`, :math:`S_2 = \sum_i\phi_i\phi_i^T`,
   :math:`S_3 = \sum_{ij} ((y_{ij} - f_{ij})/h_{ij})^2`, with step :math:`\gamma_k = 1`
   for ``n_burn`` exploration iterations then :math:`1/(k - n_{burn})`;
3. *maximisation* in closed form: :math:`\mu = S_1/N`, :math:`\Omega = S_2/N - \mu\mu^T`
   (diagonal unless ``covariance="full"``), :math:`\sigma^2 = S_3/n_{obs}`. During
   exploration the variances may shrink by at most 5 % per iteration (simulated
   annealing, as Monolix does) so the chain does not collapse early.

A growth parameter listed in ``fixed`` is held; a free parameter without a random effect
is handled by the same annealing, its variance driven down to a floor (``1e-6``), i.e. a
population parameter shared by every subject (an approximation; the estimates of such
parameters carry the floor variance).

After SAEM
----------
* **Individual estimates (EBEs)**: conditional modes, :math:`\hat\phi_i = \arg\max
  p(y_i|\phi)\,N(\phi; \mu, \Omega)`, from the batched fitter with a Gaussian prior.
* **Standard errors**: the Fisher information by linearisation around the EBEs
  (Monolix's "FIM by linearization"): :math:`y_i \approx f_i(\hat\phi_i) + Z_i(\mu -
  \hat\phi_i) + Z_i\eta_i + \varepsilon_i`, :math:`V_i = Z_i\Omega Z_i^T + R_i`,
  :math:`I_{\mu} = \sum Z_i^T V_i^{-1} Z_i`, and for the variance parameters
  :math:`I_{ab} = \tfrac12\sum\mathrm{tr}(V_i^{-1}\partial_a V_i V_i^{-1}\partial_b V_i)`.
  RSE % of a typical value is :math:`100\,\mathrm{se}(\mu)` (log scale); of a variance,
  :math:`100\,\mathrm{se}(\omega^2)/\omega^2`.
* **-2 log L** of the linearised model (for AIC/BIC; k counts :math:`\mu`, the variances
  and sigma).
* **Shrinkage** :math:`1 - \mathrm{sd}(\hat\eta_j)/\omega_j` (Savic & Karlsson 2009).
* **Two-stage** estimates for comparison: each subject fitted alone, then the mean and
  variance of the log estimates (the variance is inflated by estimation noise).

References
----------
Delyon B, Lavielle M, Moulines E. Convergence of a stochastic approximation version of
the EM algorithm. Ann Stat 1999;27:94-128. Kuhn E, Lavielle M. Maximum likelihood
estimation in nonlinear mixed effects models. Comput Stat Data Anal 2005;49:1020-1038.
Savic RM, Karlsson MO. Importance of shrinkage in empirical Bayes estimates for
diagnostics. AAPS J 2009;11:558-569. Comets E, Lavenu A, Lavielle M. Parameter estimation
in nonlinear mixed effect models using saemix. J Stat Softw 2017;80(3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..engine.catalogue import Model
from ..engine.catalogue import model as get_model
from ..errors import TgsimError
from .core import fit_prepared
from .data import SeriesBatch, as_batch, parameter_units
from .likelihood import ErrorModel
from .likelihood import error_model as get_error_model
from .lm import Setup, predict, run_lm
from .result import FitResult

__all__ = ["fit_population", "PopulationResult"]

_VAR_FLOOR = 1e-6


@dataclass
class PopulationResult:
    """Result of :func:`fit_population`.

    Attributes
    ----------
    model : Model
    error_model : ErrorModel
    param_names : tuple of str
        Growth parameters (card order).
    random_effects : tuple of str
        Parameters with a random effect.
    typical : ndarray, (param,)
        Typical values exp(mu) (natural scale; fixed parameters at their value).
    mu, mu_se : ndarray
        mu on the fitting (log) scale and its standard error.
    omega2, omega2_se : ndarray, (param,)
        Variances of the random effects (log scale) and standard errors (NaN where none).
    omega : ndarray, (param, param)
        Estimated covariance of the random effects.
    sigma, sigma_se : float
        Residual error parameter.
    shrinkage : ndarray, (param,)
        eta-shrinkage (fraction).
    subjects : ndarray
    individual : ndarray, (subject, param)
        EBEs (conditional modes), natural scale.
    conditional_mean : ndarray, (subject, param)
        Mean of the last MCMC draws, natural scale.
    neg2ll, aic, bic : float
        Of the linearised model at the estimates.
    two_stage : dict
        ``mu``, ``omega2`` and ``typical`` of the standard two-stage approach, and
        ``n_used`` (subjects whose individual fit converged).
    trace : dict of ndarray
        ``mu``, ``omega2``, ``sigma`` at every SAEM iteration.
    individual_fit : FitResult
        The individual fits used to start SAEM (and for the two-stage estimates).

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
    >>> print(pop.summary())                            # doctest: +SLOW, +ELLIPSIS
    tgsim population fit (SAEM): model 'exponential', proportional error, 20 subjects, ...
    ...
    """

    model: Model
    error_model: ErrorModel
    param_names: tuple[str, ...]
    param_units: tuple[str, ...]
    random_effects: tuple[str, ...]
    free: np.ndarray
    typical: np.ndarray
    typical_se: np.ndarray
    mu: np.ndarray
    mu_se: np.ndarray
    omega2: np.ndarray
    omega2_se: np.ndarray
    omega: np.ndarray
    sigma: float
    sigma_se: float
    shrinkage: np.ndarray
    subjects: np.ndarray
    individual: np.ndarray
    conditional_mean: np.ndarray
    neg2ll: float
    k: int
    n_obs: int
    two_stage: dict[str, Any]
    trace: dict[str, np.ndarray]
    individual_fit: FitResult
    ebe_status: np.ndarray

    @property
    def aic(self) -> float:
        return self.neg2ll + 2 * self.k

    @property
    def bic(self) -> float:
        return self.neg2ll + self.k * math.log(max(self.subjects.size, 1))

    @property
    def rse_typical(self) -> np.ndarray:
        """RSE % of the typical values (100 se(mu) on the log scale)."""
        return 100.0 * self.mu_se

    @property
    def rse_omega2(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return 100.0 * self.omega2_se / self.omega2

    def summary(self) -> str:
        em = self.error_model.name
        lines = [
            f"tgsim population fit (SAEM): model {self.model.name!r}, {em} error, "
            f"{self.subjects.size} subjects, {self.n_obs} observations",
            "log-normal random effects: p_i = typical * exp(eta_i), eta ~ N(0, omega^2)",
            "",
            f"{'fixed effect':<22} {'typical':>11} {'RSE%':>7}   {'two-stage':>11}  unit",
        ]
        for j, nm in enumerate(self.param_names):
            if not self.free[j]:
                lines.append(f"{nm:<22} {self.typical[j]:>11.5g} {'fixed':>7}")
                continue
            lines.append(f"{nm:<22} {self.typical[j]:>11.5g} {self.rse_typical[j]:>7.1f}   "
                         f"{self.two_stage['typical'][j]:>11.5g}  {self.param_units[j]}")
        lines += ["", f"{'random effect':<22} {'omega^2':>11} {'RSE%':>7} {'omega':>8} "
                      f"{'shrink%':>8}   {'two-stage omega^2':>17}"]
        for j, nm in enumerate(self.param_names):
            if nm not in self.random_effects:
                continue
            lines.append(
                f"{nm:<22} {self.omega2[j]:>11.4g} {self.rse_omega2[j]:>7.1f} "
                f"{math.sqrt(self.omega2[j]):>8.4g} {100 * self.shrinkage[j]:>8.1f}   "
                f"{self.two_stage['omega2'][j]:>17.4g}"
            )
        lines += [
            "",
            f"residual error sigma = {self.sigma:.5g} "
            f"(RSE {100 * self.sigma_se / self.sigma:.1f}%)",
            f"-2 log L (linearised) = {self.neg2ll:.3f}, AIC = {self.aic:.3f}, "
            f"BIC = {self.bic:.3f}, k = {self.k}",
            f"individual estimates: EBEs (conditional modes); {int((self.ebe_status != 0).sum())} "
            "did not converge",
            f"two-stage: {self.two_stage['n_used']} individual fits converged "
            "(its omega^2 includes estimation noise)",
        ]
        return "\n".join(lines)

    def to_dataset(self):
        import xarray as xr

        return xr.Dataset(
            {
                "typical": (("param",), self.typical),
                "typical_se": (("param",), self.typical_se),
                "rse_typical": (("param",), self.rse_typical, {"units": "%"}),
                "omega2": (("param",), self.omega2),
                "omega2_se": (("param",), self.omega2_se),
                "rse_omega2": (("param",), self.rse_omega2, {"units": "%"}),
                "omega": (("param", "param_"), self.omega),
                "shrinkage": (("param",), self.shrinkage),
                "two_stage_typical": (("param",), self.two_stage["typical"]),
                "two_stage_omega2": (("param",), self.two_stage["omega2"]),
                "individual": (("subject", "param"), self.individual,
                               {"long_name": "empirical Bayes estimate (conditional mode)"}),
                "conditional_mean": (("subject", "param"), self.conditional_mean),
                "ebe_status": (("subject",), self.ebe_status),
            },
            coords={"param": list(self.param_names), "param_": list(self.param_names),
                    "subject": self.subjects,
                    "param_unit": ("param", list(self.param_units))},
            attrs={"model": self.model.name, "error_model": self.error_model.name,
                   "sigma": self.sigma, "sigma_se": self.sigma_se, "neg2ll": self.neg2ll,
                   "aic": self.aic, "bic": self.bic, "k": self.k,
                   "random_effects": ",".join(self.random_effects),
                   "method": "SAEM; SEs by linearisation; EBEs = conditional modes"},
        )

    def __repr__(self) -> str:
        return (f"<tgsim.PopulationResult model={self.model.name!r} "
                f"subjects={self.subjects.size}>")


def _u_y(setup: Setup, batch: SeriesBatch, P: np.ndarray, sigma: float,
         use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """-2 log p(y_i | p_i) per subject, and the sum of squared scaled residuals."""
    F, _, st = predict(setup, batch.T, batch.nu, batch.t0, P)
    em = setup.em.name
    Y = batch.Y
    with np.errstate(all="ignore"):
        if em == "lognormal":
            u = np.log(Y) - np.log(F)
            logh = np.zeros_like(F)
        elif em == "additive":
            u = Y - F
            logh = np.zeros_like(F)
        else:
            u = (Y - F) / F
            logh = np.log(F)
        terms = np.log(2 * np.pi * sigma**2) + 2 * logh + (u / sigma) ** 2
    terms = np.where(use, terms, 0.0)
    U = terms.sum(axis=1)
    ss = np.where(use, u**2, 0.0).sum(axis=1)
    bad = (st != 0) | ~np.isfinite(U)
    U[bad] = np.inf
    ss[bad] = np.inf
    return U, ss


def fit_population(
    data: Any,
    model: str | Model,
    *,
    random_effects: Sequence[str] | None = None,
    error_model: str = "proportional",
    fixed: dict[str, float] | None = None,
    covariance: str = "diagonal",
    t0: Any = None,
    unit: str | None = None,
    n_burn: int = 300,
    n_iter: int = 200,
    mcmc_steps: tuple[int, int, int] = (2, 2, 2),
    n_chains: int | None = None,
    seed: int | None = 0,
    schedule: Any = None,
    solver: str | None = None,
    progress: bool = False,
) -> PopulationResult:
    """Fit a nonlinear mixed-effects model (log-normal random effects) by SAEM.

    Parameters
    ----------
    data
        Anything :func:`tgsim.fit` accepts (no censored points).
    model : str or Model
    random_effects : sequence of str, optional
        Parameters with a random effect (default: every estimated growth parameter).
    error_model : {"proportional", "additive", "lognormal"}
        One residual error model shared by all subjects.
    fixed : dict, optional
        Growth parameters held at a value for everyone.
    covariance : {"diagonal", "full"}
        Structure of Omega.
    t0, unit, schedule, solver
        As in :func:`tgsim.fit`.
    n_burn, n_iter : int
        SAEM exploration iterations (step 1) and smoothing iterations (step 1/k).
    mcmc_steps : (int, int, int)
        Metropolis-Hastings moves per iteration with each kernel (population proposal,
        multivariate random walk, component-wise random walk).
    n_chains : int, optional
        Markov chains per subject; the sufficient statistics are averaged over them,
        which lowers the Monte Carlo noise of the estimates. Default: enough chains for
        at least 400 subject-chains (4 for 100 subjects, 1 from 400 subjects on).
    seed : int, optional
    progress : bool
        Show a progress bar.

    Returns
    -------
    PopulationResult
        Typical values and their RSE %, random-effect variances and RSE %, shrinkage,
        sigma, EBEs, -2 log L / AIC / BIC (linearised), the two-stage estimates and the
        SAEM trace.

    Examples
    --------
    Twenty exponential series with 20 % between-subject variability:

    >>> import numpy as np, tgsim
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(0.0, 43.0, 6.0)
    >>> v0 = 100 * np.exp(0.2 * rng.standard_normal(20))
    >>> rate = 0.05 * np.exp(0.2 * rng.standard_normal(20))
    >>> y = v0[:, None] * np.exp(rate[:, None] * t) * np.exp(0.05 * rng.standard_normal((20, 8)))
    >>> pop = tgsim.fit_population((t, y), "exponential", unit="mm^3", n_burn=50,
    ...                            n_iter=50, seed=1)  # doctest: +SLOW
    >>> pop.typical.round(2).tolist()                   # doctest: +SLOW
    [96.87, 0.05]
    """
    mdl = get_model(model)
    em = get_error_model(error_model)
    if em.name == "combined":
        raise TgsimError("`error_model`: fit_population supports 'proportional', 'additive' "
                         "and 'lognormal' (the combined model has no closed-form M-step)")
    if covariance not in ("diagonal", "full"):
        raise TgsimError(f"`covariance` must be 'diagonal' or 'full'; got {covariance!r}")
    counts = {"n_burn": n_burn, "n_iter": n_iter}
    if n_chains is not None:
        counts["n_chains"] = n_chains
    for nm, v in counts.items():
        if int(v) != v or v < 1:
            raise TgsimError(f"`{nm}` must be a positive integer; got {v!r}")
    batch = as_batch(data, unit=unit, t0=t0, log_scale=em.log_scale)
    if np.any(batch.W == 2.0):
        raise TgsimError("fit_population does not handle censored points; use tgsim.fit")
    rng = np.random.default_rng(seed)
    # individual fits: starting values and the two-stage estimates
    ind = fit_prepared(batch, mdl, em, fixed=fixed, schedule=schedule, solver=solver,
                       progress=progress)
    setup = ind.setup
    NP = setup.NP
    names = mdl.parameter_names
    free = setup.free[:NP] == 1
    if random_effects is None:
        random_effects = tuple(n for n, f in zip(names, free, strict=True) if f)
    re = []
    for r in random_effects:
        try:
            nm = mdl.parameter(r).name
        except KeyError as exc:
            raise TgsimError(f"`random_effects`: {exc.args[0]}") from None
        j = names.index(nm)
        if not free[j]:
            raise TgsimError(f"`random_effects`: {nm} is fixed and cannot vary")
        if setup.scale[j] != 1:
            raise TgsimError(
                f"`random_effects`: {nm} is not positive (lower bound < 0): a log-normal "
                "random effect needs a positive parameter"
            )
        re.append(nm)
    re_mask = np.array([n in re for n in names])
    est_mask = free  # parameters in phi (random or annealed to a shared value)
    ok = ind.success
    n_used = int(ok.sum())
    if n_used < 2:
        raise TgsimError(f"fit_population needs at least 2 subjects whose individual fit "
                         f"converged; got {n_used} of {batch.n}")
    Xi = ind.x[:, :NP].copy()
    # two-stage estimates
    ts_mu = np.nanmean(Xi[ok], axis=0)
    ts_om = np.nanvar(Xi[ok], axis=0, ddof=1)
    ts_mu[~free] = Xi[ok][0, ~free] if ok.any() else ts_mu[~free]
    ts_om[~re_mask] = np.nan
    # subjects with too little data still enter SAEM (the prior carries them)
    keep = np.flatnonzero(batch.nu >= 1)
    b = batch.subset(keep)
    su = setup.rows(keep)
    N = keep.size
    use = (np.arange(b.T.shape[1])[None, :] < b.nu[:, None]) & (b.W == 1.0)
    n_obs = int(use.sum())
    nc = int(n_chains) if n_chains is not None else max(1, -(-400 // N))
    # the chains: every subject's row repeated nc times (subject-major)
    rep = np.repeat(np.arange(N), nc)
    bc, suc, usec = (b, su, use) if nc == 1 else (b.subset(rep), su.rows(rep), use[rep])
    fixed_w = np.where(np.isnan(su.fixed[:, :NP]), 0.0, su.fixed[:, :NP])
    # initial values
    mu = np.nanmedian(Xi[ok], axis=0)
    mu[~free] = fixed_w[0, ~free]
    om = np.where(re_mask, np.maximum(np.nan_to_num(ts_om, nan=0.0), 0.1), 0.0)
    om = np.where(est_mask & ~re_mask, 0.01, om)
    Omega = np.diag(om)
    sigma = float(np.nanmedian(ind.estimate[ok, NP]))
    phi = np.where(ok[keep, None] & np.isfinite(Xi[keep]), Xi[keep], mu[None, :])
    phi[:, ~free] = fixed_w[:, ~free]
    phi = phi[rep]
    M = N * nc
    idx = np.flatnonzero(est_mask)
    p = idx.size

    def natural(ph: np.ndarray) -> np.ndarray:
        return su.to_natural(np.concatenate([ph, np.zeros((ph.shape[0], 2))], axis=1))

    def prior_u(ph: np.ndarray, Oinv: np.ndarray) -> np.ndarray:
        d = ph[:, idx] - mu[idx]
        return np.einsum("ni,ij,nj->n", d, Oinv, d)

    Uy, _ = _u_y(suc, bc, natural(phi), sigma, usec)
    Uy[~np.isfinite(Uy)] = 1e300
    S1 = phi[:, idx].sum(axis=0) / nc
    S2 = phi[:, idx].T @ phi[:, idx] / nc
    S3 = 0.0
    scale_rw = np.full(p, 0.5)
    scale_cw = np.full(p, 0.5)
    total = int(n_burn) + int(n_iter)
    tr_mu = np.zeros((total, NP))
    tr_om = np.zeros((total, NP))
    tr_sig = np.zeros(total)
    cm_sum = np.zeros((N, NP))
    cm_n = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="SAEM", unit="iter")
    for it in range(total):
        Om = Omega[np.ix_(idx, idx)]
        Oinv = np.linalg.inv(Om)
        Lc = np.linalg.cholesky(Om)
        # kernel 1: proposals from the population distribution (likelihood ratio)
        for _ in range(mcmc_steps[0]):
            prop = phi.copy()
            prop[:, idx] = mu[idx] + rng.standard_normal((M, p)) @ Lc.T
            Up, _ = _u_y(suc, bc, natural(prop), sigma, usec)
            acc = np.log(rng.uniform(size=M)) < -0.5 * (Up - Uy)
            phi[acc], Uy[acc] = prop[acc], Up[acc]
        # kernel 2: multivariate random walk (posterior ratio)
        for _ in range(mcmc_steps[1]):
            prop = phi.copy()
            prop[:, idx] += (rng.standard_normal((M, p)) @ Lc.T) * scale_rw.mean()
            Up, _ = _u_y(suc, bc, natural(prop), sigma, usec)
            dlog = -0.5 * ((Up + prior_u(prop, Oinv)) - (Uy + prior_u(phi, Oinv)))
            acc = np.log(rng.uniform(size=M)) < dlog
            phi[acc], Uy[acc] = prop[acc], Up[acc]
            rate = acc.mean()
            scale_rw *= 1.0 + 0.4 * (rate - 0.4)
        # kernel 3: component-wise random walks
        for _ in range(mcmc_steps[2]):
            for c in range(p):
                j = idx[c]
                prop = phi.copy()
                prop[:, j] += rng.standard_normal(M) * scale_cw[c] * math.sqrt(Om[c, c])
                Up, _ = _u_y(suc, bc, natural(prop), sigma, usec)
                dlog = -0.5 * ((Up + prior_u(prop, Oinv)) - (Uy + prior_u(phi, Oinv)))
                acc = np.log(rng.uniform(size=M)) < dlog
                phi[acc], Uy[acc] = prop[acc], Up[acc]
                scale_cw[c] *= 1.0 + 0.4 * (acc.mean() - 0.4)
        _, ss = _u_y(suc, bc, natural(phi), sigma, usec)
        # stochastic approximation and M-step
        gamma = 1.0 if it < n_burn else 1.0 / (it - n_burn + 1)
        # sufficient statistics, averaged over the chains
        s1 = phi[:, idx].sum(axis=0) / nc
        s2 = phi[:, idx].T @ phi[:, idx] / nc
        s3 = float(np.sum(ss[np.isfinite(ss)])) / nc
        S1 += gamma * (s1 - S1)
        S2 += gamma * (s2 - S2)
        S3 = s3 if it == 0 else S3 + gamma * (s3 - S3)
        mu_new = S1 / N
        Om_new = S2 / N - np.outer(mu_new, mu_new)
        if covariance == "diagonal":
            Om_new = np.diag(np.diag(Om_new))
        else:  # random effects correlated among themselves only
            rr = re_mask[idx]
            Om_new = np.where(np.outer(rr, rr) | np.eye(p, dtype=bool), Om_new, 0.0)
        d_old = np.diag(Om)
        d_new = np.diag(Om_new).copy()
        ann = ~re_mask[idx]
        if it < n_burn:
            d_new = np.maximum(d_new, 0.95 * d_old)  # simulated annealing
            d_new[ann] = np.maximum(0.9 * d_old[ann], _VAR_FLOOR)
        else:
            d_new[ann] = _VAR_FLOOR
        d_new = np.maximum(d_new, 1e-10)
        Om_new[np.diag_indices(p)] = d_new
        mu[idx] = mu_new
        Omega = np.zeros((NP, NP))
        Omega[np.ix_(idx, idx)] = Om_new
        sig_new = math.sqrt(S3 / n_obs)
        sigma = max(sig_new, 0.95 * sigma) if it < n_burn else sig_new
        Uy, _ = _u_y(suc, bc, natural(phi), sigma, usec)
        Uy[~np.isfinite(Uy)] = 1e300
        tr_mu[it], tr_om[it], tr_sig[it] = mu, np.diag(Omega), sigma
        if it >= n_burn:
            cm_sum += phi.reshape(N, nc, NP).mean(axis=1)
            cm_n += 1
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    phi = phi.reshape(N, nc, NP)[:, 0]  # first chain's last state starts the EBEs
    # EBEs: conditional modes with the population prior, sigma fixed
    Om = Omega[np.ix_(idx, idx)]
    Q = np.zeros((N, NP, NP))
    Qi = np.linalg.inv(Om)
    Q[:, idx[:, None], idx[None, :]] = Qi
    PM = np.repeat(mu[None, :], N, axis=0)
    ebe_setup = _map_setup(su, sigma, est_mask, re_mask, mu)
    X0 = np.concatenate([phi, np.zeros((N, 2))], axis=1)
    X0[:, NP] = math.log(sigma)
    X0[:, :NP][:, ~re_mask & est_mask] = mu[~re_mask & est_mask]
    Qr = Q.copy()
    Qr[:, ~re_mask, :] = 0.0
    Qr[:, :, ~re_mask] = 0.0
    out = run_lm(ebe_setup, b, X0, prior=(PM, Qr), ftol=1e-10)
    ebe = out["X"][:, :NP]
    # linearised FIM and -2 log L at the EBEs
    free_j = np.zeros(su.K, dtype=np.int64)
    free_j[:NP] = est_mask
    F, J, _ = predict(replace(su, free=free_j), b.T, b.nu, b.t0, natural(ebe), jacobian=True)
    Pn = natural(ebe)
    Z = J * np.where(su.scale == 1, Pn, 1.0)[:, None, :]  # d f / d phi
    mu_se, om_se, sig_se, neg2ll = _linearised_fim(em, b, use, F, Z, ebe, mu, Omega, sigma,
                                                    idx, re_mask)
    eta = ebe[:, idx] - mu[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        shr_p = 1.0 - np.std(eta, axis=0, ddof=1) / np.sqrt(np.diag(Om))
    shrink = np.full(NP, np.nan)
    shrink[idx] = shr_p
    shrink[~re_mask] = np.nan
    om2 = np.diag(Omega).copy()
    om2[~re_mask] = np.nan
    om_se[~re_mask] = np.nan
    typical = np.where(su.scale == 1, np.exp(mu), mu)
    typical[~free] = natural(np.repeat(mu[None, :], 1, axis=0))[0, ~free]
    typ_se = typical * mu_se
    individual = np.full((batch.n, NP), np.nan)
    individual[keep] = natural(ebe)
    cmean = np.full((batch.n, NP), np.nan)
    cmean[keep] = natural(cm_sum / max(cm_n, 1))
    ebe_status = np.full(batch.n, -1, dtype=np.int8)
    ebe_status[keep] = out["status"]
    k = int(est_mask.sum() + re_mask.sum() + 1)
    if covariance == "full":
        k += int(re_mask.sum() * (re_mask.sum() - 1) // 2)
    ts_typ = np.where(su.scale == 1, np.exp(ts_mu), ts_mu)
    return PopulationResult(
        model=mdl, error_model=em, param_names=names,
        param_units=parameter_units([p_.unit for p_ in mdl.parameters], batch.unit),
        random_effects=tuple(re),
        free=free, typical=typical, typical_se=typ_se, mu=mu, mu_se=mu_se, omega2=om2,
        omega2_se=om_se, omega=Omega, sigma=float(sigma), sigma_se=float(sig_se),
        shrinkage=shrink, subjects=batch.subjects, individual=individual,
        conditional_mean=cmean, neg2ll=float(neg2ll), k=k, n_obs=n_obs,
        two_stage={"mu": ts_mu, "omega2": ts_om, "typical": ts_typ, "n_used": n_used},
        trace={"mu": tr_mu, "omega2": tr_om, "sigma": tr_sig}, individual_fit=ind,
        ebe_status=ebe_status,
    )


def _map_setup(setup: Setup, sigma: float, est_mask: np.ndarray, re_mask: np.ndarray,
               mu: np.ndarray) -> Setup:
    NP = setup.NP
    free = setup.free.copy()
    free[NP] = 0
    free[NP + 1] = 0
    shared = est_mask & ~re_mask
    free[:NP][shared] = 0
    fixed = setup.fixed.copy()
    fixed[:, NP] = math.log(sigma)
    fixed[:, :NP][:, shared] = mu[shared]
    return replace(setup, free=free, fixed=fixed)


def _linearised_fim(em: ErrorModel, b: SeriesBatch, use: np.ndarray, F: np.ndarray,
                    Z: np.ndarray, ebe: np.ndarray, mu: np.ndarray, Omega: np.ndarray,
                    sigma: float, idx: np.ndarray, re_mask: np.ndarray):
    """Standard errors of mu, of the variances and of sigma, and -2 log L, by linearisation
    of the model around the EBEs."""
    NP = mu.size
    p = idx.size
    r_idx = [c for c in range(p) if re_mask[idx[c]]]
    nv = len(r_idx) + 1  # variances + sigma^2
    I_mu = np.zeros((p, p))
    I_v = np.zeros((nv, nv))
    neg2ll = 0.0
    Om = Omega[np.ix_(idx, idx)]
    for i in range(b.n):
        m = use[i]
        if not m.any():
            continue
        f = F[i, m]
        Zi = Z[i][m][:, idx]
        y = b.Y[i, m]
        if em.name == "lognormal":
            Zi = Zi / f[:, None]
            yt, ft = np.log(y), np.log(f)
            h2 = np.ones_like(f)
        else:
            yt, ft = y, f
            h2 = np.ones_like(f) if em.name == "additive" else f**2
        R = np.diag(sigma**2 * h2)
        V = Zi @ Om @ Zi.T + R
        try:
            Vinv = np.linalg.inv(V)
        except np.linalg.LinAlgError:
            continue
        I_mu += Zi.T @ Vinv @ Zi
        dV = [np.outer(Zi[:, c], Zi[:, c]) for c in r_idx] + [np.diag(h2)]
        A = [Vinv @ d for d in dV]
        for a in range(nv):
            for c in range(a, nv):
                v = 0.5 * np.trace(A[a] @ A[c])
                I_v[a, c] += v
                if c != a:
                    I_v[c, a] += v
        mean = ft + Zi @ (mu[idx] - ebe[i, idx])
        r = yt - mean
        sign, logdet = np.linalg.slogdet(2 * np.pi * V)
        neg2ll += logdet + r @ Vinv @ r
        if em.name == "lognormal":
            neg2ll += 2 * np.sum(yt)
    mu_se = np.full(NP, np.nan)
    om_se = np.full(NP, np.nan)
    sig_se = np.nan
    try:
        C = np.linalg.inv(I_mu)
        mu_se[idx] = np.sqrt(np.clip(np.diag(C), 0, None))
    except np.linalg.LinAlgError:
        pass
    try:
        Cv = np.linalg.inv(I_v)
        se_v = np.sqrt(np.clip(np.diag(Cv), 0, None))
        for a, c in enumerate(r_idx):
            om_se[idx[c]] = se_v[a]
        sig_se = se_v[-1] / (2 * sigma)  # delta method: se(sigma) = se(sigma^2) / (2 sigma)
    except np.linalg.LinAlgError:
        pass
    return mu_se, om_se, sig_se, neg2ll
