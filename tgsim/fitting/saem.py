r"""Population (nonlinear mixed-effects) fits by SAEM: :func:`fit_population`.

Model
-----
For subject i the growth parameters on the fitting scale are
:math:`\phi_i = X_i\theta + \eta_i`, :math:`\eta_i \sim N(0, \Omega)`: log-normal random
effects (:math:`\log p_{ij} = \mu_j + \sum_k\beta_{jk}c_{ik} + \eta_{ij}`, typical value
:math:`e^{\mu_j}` at the reference covariate values, :math:`\omega_j` the standard
deviation of :math:`\log p_j`, about the between-subject CV). Covariates
(:mod:`tgsim.fitting.saem_design`) may be categorical or continuous. The observations follow
one residual error model (:mod:`tgsim.fitting.likelihood`: additive, proportional, combined
``a + b f`` or log-normal) shared by all subjects.

Estimation: SAEM
----------------
The stochastic approximation EM algorithm (Delyon, Lavielle & Moulines 1999; Kuhn &
Lavielle 2005, as in Monolix and saemix), in :mod:`tgsim.fitting.saem_engine`: Metropolis-Hastings
moves of every :math:`\phi_i` (population proposals, multivariate and component-wise
random walks), stochastic approximation of the sufficient statistics (step 1 during
exploration, then 1/k), closed-form M-step (GLS for :math:`\theta`, then :math:`\Omega`,
diagonal unless ``covariance="full"``; sigma in closed form, the combined model's
``(a, b)`` by numerical minimisation with the same step). During exploration variances
and error parameters shrink by at most 5 % per iteration (simulated annealing).
Ω starts at most at 1 (ω = 1, as Monolix). ``n_runs`` independent runs (different starts,
different chains) go together; burn-in is extended while the traces still trend
(:func:`tgsim.fitting.saem_engine.trend_test`); the estimates are the average of the runs, and the
runs' agreement is part of the convergence verdict.

A free parameter without a random effect is driven by the annealing to a variance floor
(``1e-6``): a population parameter shared by every subject.

After SAEM
----------
* **Conditional distributions** at the final estimates by MCMC: conditional means and
  covariances of every :math:`\eta_i`.
* **-2 log L** by importance sampling (reported), adaptive Gauss-Hermite quadrature
  (at most 2 random effects) and linearisation (:mod:`tgsim.fitting.saem_likelihood`); the
  summary names the method of every number.
* **Standard errors** from the Fisher information of the linearised model (Monolix's "FIM
  by linearization"), for typical values, covariate coefficients, variances, covariances
  (correlations by the delta method) and error parameters.
* **EBEs**: conditional modes. **Shrinkage** :math:`1 - \mathrm{sd}(\hat\eta_j)/\omega_j`
  (Savic & Karlsson 2009). **Two-stage** estimates for comparison.
* **Flags** for degenerate fits: an RSE above 200 %, an error parameter at its bound, no
  convergence.

References
----------
Delyon B, Lavielle M, Moulines E. Convergence of a stochastic approximation version of
the EM algorithm. Ann Stat 1999;27:94-128. Kuhn E, Lavielle M. Maximum likelihood
estimation in nonlinear mixed effects models. Comput Stat Data Anal 2005;49:1020-1038.
Savic RM, Karlsson MO. Importance of shrinkage in empirical Bayes estimates for
diagnostics. AAPS J 2009;11:558-569. Comets E, Lavenu A, Lavielle M. Parameter estimation
in nonlinear mixed effect models using saemix. J Stat Softw 2017;80(3). Rabe-Hesketh S,
Skrondal A, Pickles A. Reliable estimation of generalized linear mixed models using
adaptive quadrature. Stata J 2002;2:1-21.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..engine.catalogue import Model
from ..engine.catalogue import model as get_model
from ..errors import TgsimError, TgsimWarning
from .core import fit_prepared
from .data import as_batch, parameter_units
from .likelihood import error_model as get_error_model
from .lm import Setup, run_lm
from .population_result import PopulationResult
from .saem_design import build_design
from .saem_engine import OMEGA2_START_CAP, SaemProblem, conditional_sample, run_saem
from .saem_likelihood import gauss_hermite, importance_sampling, linearise

__all__ = ["fit_population", "PopulationResult"]

_RSE_FLAG = 200.0


def _check_options(covariance, counts, likelihood) -> tuple[str, ...]:
    if covariance not in ("diagonal", "full"):
        raise TgsimError(f"`covariance` must be 'diagonal' or 'full'; got {covariance!r}")
    for nm, v in counts.items():
        if v is None:
            continue
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise TgsimError(f"`{nm}` must be a positive integer; got {v!r}")
    lk = (likelihood,) if isinstance(likelihood, str) else tuple(likelihood)
    for m in lk:
        if m not in ("is", "gh", "lin"):
            raise TgsimError(f"`likelihood`: each method must be 'is' (importance sampling), "
                             f"'gh' (Gauss-Hermite) or 'lin' (linearisation); got {m!r}")
    if not lk:
        raise TgsimError("`likelihood` must name at least one method ('is', 'gh', 'lin')")
    return lk


def _random_effects(mdl: Model, setup: Setup, random_effects) -> list[str]:
    names = mdl.parameter_names
    free = setup.free[: setup.NP] == 1
    if random_effects is None:
        return [n for n, f in zip(names, free, strict=True) if f]
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
            raise TgsimError(f"`random_effects`: {nm} is not positive (lower bound < 0): a "
                             "log-normal random effect needs a positive parameter")
        re.append(nm)
    return re


def _t0_text(t0: Any, fixed: Mapping[str, Any] | None) -> str:
    if t0 is None:
        if fixed and "initial_volume" in fixed:
            warnings.warn(
                "fit_population: `initial_volume` is fixed but `t0` is not given, so it "
                "applies at each subject's first observation (a different model from a "
                "fixed volume at a common origin); pass t0=0 (days) for the latter",
                TgsimWarning, stacklevel=3)
        return "each subject's first observation"
    if np.ndim(t0) == 0:
        return f"day {float(t0):g} for every subject"
    return "per subject, as given"


def fit_population(
    data: Any,
    model: str | Model,
    *,
    random_effects: Sequence[str] | None = None,
    error_model: str = "proportional",
    fixed: dict[str, float] | None = None,
    covariance: str = "diagonal",
    covariates: Mapping[str, Sequence[str]] | None = None,
    covariate_data: Any = None,
    t0: Any = None,
    unit: str | None = None,
    n_burn: int = 300,
    n_iter: int = 200,
    max_burn: int | None = None,
    n_runs: int = 3,
    mcmc_steps: tuple[int, int, int] = (2, 2, 2),
    n_chains: int | None = None,
    likelihood: str | Sequence[str] = ("is", "gh", "lin"),
    is_samples: int = 2000,
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
    error_model : {"proportional", "additive", "combined", "lognormal"}
        One residual error model shared by all subjects.
    fixed : dict, optional
        Growth parameters held at a value for everyone.
    covariance : {"diagonal", "full"}
        Structure of Omega (``"full"``: correlated random effects, with SEs).
    covariates : dict, optional
        Parameter name -> list of covariate terms acting on its log, e.g.
        ``{"carrying_capacity": ["arm", "log(weight/25)"]}``. A name with non-numeric
        values is categorical (reference level: the first in sorted order).
    covariate_data : mapping or DataFrame, optional
        Covariate values, one per subject (in the data's subject order, or a DataFrame
        indexed by subject). Default: the data set's variables of dimension ``subject``.
    t0 : float or array_like, optional
        Time origin (days) of ``initial_volume``; None = each subject's first observation
        (a warning is given when ``initial_volume`` is fixed: pass ``t0=0``).
    unit, schedule, solver
        As in :func:`tgsim.fit`.
    n_burn, n_iter : int
        Planned SAEM exploration iterations (step 1) and smoothing iterations (step 1/k).
    max_burn : int, optional
        Exploration is extended while the traces trend, up to this (default 4 n_burn).
    n_runs : int
        Independent SAEM runs (different starts and chains), averaged; their agreement
        is checked.
    mcmc_steps : (int, int, int)
        Metropolis-Hastings moves per iteration with each kernel.
    n_chains : int, optional
        Markov chains per subject in each run (default: enough for 200 subject-chains).
    likelihood : str or sequence of {"is", "gh", "lin"}
        -2 log L methods to compute; the first is reported as ``neg2ll`` ("gh" is skipped
        with more than 2 random effects).
    is_samples : int
        Importance samples per subject.
    seed : int, optional
    progress : bool
        Show a progress bar.

    Returns
    -------
    PopulationResult

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
    >>> bool(abs(pop.typical[1] / 0.05 - 1) < 0.1)      # doctest: +SLOW
    True

    The Vaghi 2020 breast volumes with the paper's conventions and error model are fitted
    by ``tgsim.fit_population(tgsim.datasets.load("vaghi2020_breast"), "gompertz",
    t0=0.0, error_model="combined", fixed={"initial_volume": 1.0})``.
    """
    mdl = get_model(model)
    em = get_error_model(error_model)
    lk = _check_options(covariance, {"n_burn": n_burn, "n_iter": n_iter, "n_runs": n_runs,
                                     "n_chains": n_chains, "max_burn": max_burn,
                                     "is_samples": is_samples}, likelihood)
    t0_text = _t0_text(t0, fixed)
    batch = as_batch(data, unit=unit, t0=t0, log_scale=em.log_scale)
    if np.any(batch.W == 2.0):
        raise TgsimError("fit_population does not handle censored points; use tgsim.fit")
    rng = np.random.default_rng(seed)
    ind = fit_prepared(batch, mdl, em, fixed=fixed, schedule=schedule, solver=solver,
                       progress=progress)
    re = _random_effects(mdl, ind.setup, random_effects)
    prob, start = _problem(mdl, em, ind, batch, re, covariance, covariates, covariate_data,
                           data)
    nc = int(n_chains) if n_chains is not None else max(1, -(-200 // prob.N))
    mb = int(max_burn) if max_burn is not None else 4 * int(n_burn)
    bar = _bar(progress, int(n_burn) + int(n_iter))
    out = run_saem(prob, start["phi"], start["theta"], start["om"], start["ep"], rng=rng,
                   n_burn=int(n_burn), n_iter=int(n_iter), max_burn=mb, n_runs=int(n_runs),
                   n_chains=nc, steps=tuple(mcmc_steps), trace_labels=start["labels"],
                   bar=bar)
    if bar is not None:
        bar.close()
    theta, Omega, ep = out.theta.mean(0), out.omega.mean(0), out.ep.mean(0)
    cm, cc, _ = conditional_sample(prob, out.phi, theta, Omega, ep, rng=rng, R=int(n_runs),
                                   nc=nc, n_sweeps=max(20, 2000 // (nc * int(n_runs) * 10)))
    ebe, ebe_status = _ebes(prob, theta, Omega, ep, cm)
    lin = linearise(prob, theta, Omega, ep, ebe)
    likes, is_se = {}, float("nan")
    for m in lk:
        if m == "is":
            likes["is"], is_se = importance_sampling(prob, theta, Omega, ep, cm, cc, rng=rng,
                                                     n_samples=int(is_samples))
        elif m == "gh" and int(prob.re.sum()) <= 2:
            likes["gh"] = gauss_hermite(prob, theta, Omega, ep, cm, cc)
        elif m == "lin":
            likes["lin"] = lin.neg2ll
    likes.setdefault("lin", lin.neg2ll)
    from .population_build import assemble

    return assemble(mdl=mdl, em=em, ind=ind, batch=batch, prob=prob, start=start, out=out,
                    theta=theta, Omega=Omega, ep=ep, cm=cm, ebe=ebe, ebe_status=ebe_status,
                    lin=lin, likes=likes, method=next(m for m in lk if m in likes),
                    is_se=is_se, t0_text=t0_text, covariance=covariance, re=re,
                    units=parameter_units([p_.unit for p_ in mdl.parameters], batch.unit))


def _bar(progress: bool, total: int):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="SAEM", unit="iter")


def _problem(mdl, em, ind, batch, re, covariance, covariates, covariate_data, data):
    """The SAEM problem and its starting values."""
    setup = ind.setup
    NP = setup.NP
    names = mdl.parameter_names
    free = setup.free[:NP] == 1
    re_mask = np.array([n in re for n in names])
    ok = ind.success
    if int(ok.sum()) < 2:
        raise TgsimError(f"fit_population needs at least 2 subjects whose individual fit "
                         f"converged; got {int(ok.sum())} of {batch.n}")
    keep = np.flatnonzero(batch.nu >= 1)
    b = batch.subset(keep)
    su = setup.rows(keep)
    idx = np.flatnonzero(free)
    design = build_design(covariates, param_names=names, est_index=idx, data=data,
                          covariate_data=covariate_data, subjects=b.subjects)
    use = (np.arange(b.T.shape[1])[None, :] < b.nu[:, None]) & (b.W == 1.0)
    fixed_w = np.where(np.isnan(su.fixed[:, :NP]), 0.0, su.fixed[:, :NP])
    prob = SaemProblem(setup=su, batch=b, use=use, design=design, idx=idx, re=re_mask[idx],
                       fixed_w=fixed_w, em=em.name, covariance=covariance)
    Xi = ind.x[:, :NP]
    mu0 = np.nanmedian(Xi[ok], axis=0)
    ts_var = np.nanvar(Xi[ok], axis=0, ddof=1)
    theta0 = np.zeros(design.q)
    theta0[design.is_mu] = mu0[idx]
    om0 = np.where(re_mask[idx], np.clip(np.nan_to_num(ts_var[idx], nan=1.0), 0.1,
                                         OMEGA2_START_CAP), 0.01)
    E = ind.estimate[ok, NP:NP + em.n_params]
    ep0 = np.zeros(2)
    ep0[: em.n_params] = np.nanmedian(E, axis=0)
    if em.name == "combined":
        ep0 = np.maximum(ep0, [1e-3 * float(np.nanmedian(b.Y[use])), 0.01])
    phi = np.where(ok[keep, None] & np.isfinite(Xi[keep]), Xi[keep], mu0[None, :])
    phi[:, ~free] = fixed_w[:, ~free]
    labels = [(f"log {names[idx[c]]}" if lb == "" else f"beta {names[idx[c]]}: {lb}")
              for c, lb in zip(design.coef_param, design.coef_label, strict=True)]
    labels += [f"log omega^2 {names[j]}" for j in idx[re_mask[idx]]]
    labels += ["log " + n for n in (("sigma_additive", "sigma_proportional")
                                    if em.name == "combined" else ("sigma",))]
    return prob, {"phi": phi, "theta": theta0, "om": om0, "ep": ep0, "labels": labels,
                  "keep": keep, "ts_mu": mu0, "ts_var": ts_var, "n_used": int(ok.sum())}


def _ebes(prob: SaemProblem, theta, Omega, ep, cmean):
    """Conditional modes (full model) with the population prior, error parameters held."""
    su, b = prob.setup, prob.batch
    NP, N, idx, r = su.NP, prob.N, prob.idx, prob.re
    mean = prob.design.mean(theta)
    PM = prob.fixed_w.copy()
    PM[:, idx] = mean
    Q = np.zeros((N, NP, NP))
    re_j = idx[r]
    Q[:, re_j[:, None], re_j[None, :]] = np.linalg.inv(Omega[np.ix_(r, r)])
    free = su.free.copy()
    free[NP:] = 0
    free[idx[~r]] = 0
    fixed = su.fixed.copy()
    fixed[:, idx[~r]] = mean[:, ~r]
    E = np.array([ep[:2]]) if prob.em == "combined" else np.array([[ep[0]]])
    fixed[:, NP:NP + 2] = su.error_working(E)[0]
    ebe_setup = replace(su, free=free, fixed=fixed)
    X0 = np.concatenate([prob.fixed_w, fixed[:, NP:NP + 2]], axis=1)
    X0[:, idx] = cmean
    X0[:, idx[~r]] = mean[:, ~r]
    with np.errstate(all="ignore"):
        out = run_lm(ebe_setup, b, X0, prior=(PM, Q), ftol=1e-10)
    return out["X"][:, :NP], out["status"]

