r"""The hierarchical (random-effects) growth model, sampled by Metropolis-within-Gibbs.

Model, for subjects i = 1..n and the card's parameters (all with a random effect):

.. math::

    \log\theta_i \sim N(\mu, \Omega), \qquad
    \log y_{ik} \sim N(\log f(t_{ik}; \theta_i), \sigma^2)

with weakly informative conjugate hyperpriors: :math:`\mu \sim N(m_0, S_0)` (``m_0`` and
the diagonal ``S_0`` from the default priors of the card's bounds, see
:mod:`tgsim.fitting.bayes.priors`), :math:`\Omega \sim \mathrm{IW}(\nu_0, \Psi_0)` with
:math:`\nu_0 = d + 2` and :math:`\Psi_0 = 0.1\,I`, and
:math:`\sigma^2 \sim \mathrm{IG}(1, 0.01)`.

Each iteration of each chain updates, in turn: :math:`\mu \mid \Omega, \theta` (normal),
:math:`\Omega \mid \mu, \theta` (inverse-Wishart), :math:`\sigma^2 \mid \theta` (inverse
gamma: the log-normal error makes it conjugate), then every subject's
:math:`\theta_i \mid \mu, \Omega, \sigma` by one NUTS transition of the batched kernel
(:mod:`tgsim.fitting.bayes.sample`), whose step size and metric are adapted during warm-up.
Only the log-normal error model is supported (the conjugate step for sigma).

The result is comparable with :func:`tgsim.fit_population` (SAEM, same model): the
posterior of ``typical`` = exp(mu), ``omega`` (sd of the log parameters) and ``sigma``.

References
----------
Gelman A et al. Bayesian Data Analysis, 3rd ed., ch. 15 (hierarchical linear models).
Hoffman MD, Gelman A. J Mach Learn Res 2014;15:1593-1623 (NUTS).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from scipy import stats

from ...engine.catalogue import Model
from ...engine.catalogue import model as get_model
from ...errors import TgsimError
from ..data import as_batch
from ..likelihood import error_model as get_error_model
from . import engine
from .priors import KINDS, Prior
from .result import SampleResult

__all__ = ["sample_population"]


def _gibbs(rng: np.random.Generator, Z: np.ndarray, Omega: np.ndarray, m0: np.ndarray,
           s0: np.ndarray, nu0: float, psi0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One draw of (mu, Omega) given the log parameters Z (n, d)."""
    n, d = Z.shape
    Oi = np.linalg.inv(Omega)
    S0i = np.diag(1.0 / s0**2)
    prec = n * Oi + S0i
    cov = np.linalg.inv(prec)
    cov = 0.5 * (cov + cov.T)
    mean = cov @ (Oi @ Z.sum(axis=0) + S0i @ m0)
    mu = rng.multivariate_normal(mean, cov)
    R = Z - mu
    scale = psi0 + R.T @ R
    Omega = np.atleast_2d(stats.invwishart.rvs(df=nu0 + n, scale=scale, random_state=rng))
    return mu, Omega


def sample_population(
    data: Any,
    model: str | Model,
    *,
    error_model: str = "lognormal",
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 1000,
    seed: int | None = 0,
    t0: Any = None,
    unit: str | None = None,
    progress: bool = False,
    quiet: bool = False,
) -> SampleResult:
    r"""Sample the hierarchical model (log-normal random effects on every parameter).

    Parameters
    ----------
    data : Dataset, path, DataFrame or (times, values)
        As for :func:`tgsim.sample` (days; mm^3 or mm, never guessed).
    model : str or Model
        A card with a closed form.
    error_model : {"lognormal"}
        Residual error (shared sigma across subjects).
    chains, draws, warmup, seed, t0, unit, progress, quiet
        As for :func:`tgsim.sample`.

    Returns
    -------
    SampleResult
        Per-subject draws as :func:`tgsim.sample` gives, plus ``population``: a Dataset
        with ``mu``, ``typical`` (= exp(mu), in the parameters' units), ``omega`` (sd of
        the log parameters), ``omega_cov`` and ``sigma``, dims (chain, draw, param).

    Examples
    --------
    >>> import tgsim
    >>> ds = tgsim.datasets.load("vaghi2020_breast")                   # doctest: +SKIP
    >>> res = tgsim.fitting.bayes.sample_population(ds, "gompertz")           # doctest: +SKIP
    >>> res.population["typical"].median(("chain", "draw"))           # doctest: +SKIP
    """
    from .sample import _check_int, _units, build_target, initial_points

    mdl = get_model(model)
    em = get_error_model(error_model)
    if em.name != "lognormal":
        raise TgsimError("`error_model`: the hierarchical sampler supports 'lognormal' only "
                         f"(the conjugate step for sigma); got {em.name!r}")
    if mdl.closed_form is None:
        raise TgsimError(f"model {mdl.name!r} has no closed form; the sampler needs one")
    chains = _check_int("chains", chains, 1)
    draws = _check_int("draws", draws, 1)
    warmup = _check_int("warmup", warmup, 0)
    batch = as_batch(data, unit=unit, t0=t0, log_scale=True)
    if np.any(batch.W == 2.0):
        raise TgsimError("`data`: censored points are not handled by the sampler yet")
    n, NP = batch.n, len(mdl.parameters)
    names = [p.name for p in mdl.parameters]
    ss = np.random.SeedSequence(seed)
    rng = np.random.default_rng(ss.spawn(1)[0])
    # start: the independent sampler's starting points (fits), chain by chain
    base, used, _, fixed_v = build_target(mdl, em, batch, None, None)
    m0 = np.array([used[k].a for k in names])
    s0 = np.array([used[k].b for k in names])
    U0 = initial_points(base, mdl, em, batch, fixed_v, chains, rng)
    theta0 = np.empty((n * chains, NP + 1))
    base_theta = np.array(base.fixed[np.repeat(np.arange(n), chains)], copy=True)
    _natural(base, U0, base_theta)
    # rows chain-major: row c * n + s is subject s in chain c
    order = np.arange(n * chains).reshape(n, chains).T.ravel()
    theta0[:] = base_theta[order]
    big = batch.subset(np.tile(np.arange(n), chains))
    prior = {k: Prior("population", 0.0, 0.0) for k in names}
    prior["sigma"] = Prior("lognormal", 0.0, 1.0)
    target, _, _, _ = build_target(mdl, em, big, None, {"sigma": 0.1})
    target.pkind[:NP] = KINDS["population"]
    target.comp = np.arange(NP, dtype=np.int64)
    Z = np.log(theta0[:, :NP]).reshape(chains, n, NP)
    sig2 = np.full(chains, 0.1**2)
    Om = np.stack([np.cov(Z[c].T) + 0.01 * np.eye(NP) if n > NP else np.eye(NP)
                   for c in range(chains)])
    nu0, psi0 = NP + 2.0, 0.1 * np.eye(NP)
    U = target.to_unconstrained(theta0)
    ch = engine.Chains.start(np.arange(n * chains), U, NP + 1, warmup, draws)
    total = warmup + draws
    hyper = {"mu": np.empty((chains, draws, NP)), "omega_cov": np.empty((chains, draws, NP, NP)),
             "sigma": np.empty((chains, draws))}
    nobs = batch.nu.sum()
    logy = np.log(np.where(np.arange(batch.Y.shape[1])[None, :] < batch.nu[:, None],
                           batch.Y, 1.0))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"Gibbs/NUTS {n} subjects", unit="iter", file=sys.stderr)
    from ...engine.compile import numpy_volume_vg

    vg = numpy_volume_vg(mdl)
    dt = batch.T - batch.t0[:, None]
    mask = np.arange(batch.T.shape[1])[None, :] < batch.nu[:, None]
    try:
        for it in range(total):
            for c in range(chains):
                mu, Om[c] = _gibbs(rng, Z[c], Om[c], m0, s0, nu0, psi0)
                with np.errstate(all="ignore"):
                    F, _ = vg(dt, np.exp(Z[c]), False)
                    rss = float(np.sum(np.where(mask, (logy - np.log(F)) ** 2, 0.0)))
                sig2[c] = 1.0 / rng.gamma(1.0 + 0.5 * nobs, 1.0 / (0.01 + 0.5 * rss))
                rows = slice(c * n, (c + 1) * n)
                target.mvm[rows, :NP] = mu
                target.mvq[rows, :NP, :NP] = np.linalg.inv(Om[c])
                target.fixed[rows, NP] = np.sqrt(sig2[c])
                if it >= warmup:
                    d = it - warmup
                    hyper["mu"][c, d] = mu
                    hyper["omega_cov"][c, d] = Om[c]
                    hyper["sigma"][c, d] = np.sqrt(sig2[c])
            if it:  # the subjects' target changed with the population parameters
                ch.LP[:], ch.G[:] = engine.logp(target, ch.X, ch.subj)
            engine.advance(target, ch, 1, ss)
            th = np.array(target.fixed, copy=True)
            _natural(target, ch.X, th)
            Z = np.log(th[:, :NP]).reshape(chains, n, NP)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    res = SampleResult.from_chains(mdl, em, batch, _as_subject_major(ch, n, chains), chains,
                                   {**prior}, _text(names, nu0), _units(mdl, em, batch), [],
                                   options=dict(chains=chains, draws=draws, warmup=warmup,
                                                seed=seed, model="hierarchical"))
    res.population = _population(hyper, names, res.units)
    if not quiet:
        print(_text(names, nu0), file=sys.stderr)
    return res


def _natural(target: engine.Target, U: np.ndarray, theta: np.ndarray) -> None:
    for c, i in enumerate(target.comp):
        k = target.tkind[i]
        u = U[:, c]
        if k == engine.LOG:
            theta[:, i] = np.exp(u)
        elif k == engine.LOGLOGIT:
            w = np.log(target.thi[i] / target.tlo[i])
            theta[:, i] = np.exp(np.log(target.tlo[i]) + w / (1.0 + np.exp(-u)))
        elif k == engine.LOGIT:
            theta[:, i] = target.tlo[i] + (target.thi[i] - target.tlo[i]) / (1.0 + np.exp(-u))
        else:
            theta[:, i] = u


def _as_subject_major(ch: engine.Chains, n: int, chains: int) -> engine.Chains:
    """Reorder chain-major rows (c * n + s) to the subject-major layout of the results."""
    idx = np.arange(n * chains).reshape(chains, n).T.ravel()
    ch.OUT = ch.OUT[idx]
    ch.ST = ch.ST[idx]
    return ch


def _text(names: list[str], nu0: float) -> str:
    return ("hierarchical priors: log parameters ~ N(mu, Omega); mu ~ N(default log medians, "
            "default sds of the card bounds); Omega ~ inverse-Wishart(" + f"{nu0:g}" +
            ", 0.1 I); sigma^2 ~ inverse-gamma(1, 0.01)")


def _population(hyper: dict[str, np.ndarray], names: list[str], units: dict[str, str]):
    import xarray as xr

    dims = ("chain", "draw", "param")
    sd = np.sqrt(np.diagonal(hyper["omega_cov"], axis1=2, axis2=3))
    return xr.Dataset(
        {"mu": (dims, hyper["mu"], {"units": "1", "long_name": "mean of log parameters"}),
         "typical": (dims, np.exp(hyper["mu"]), {"long_name": "typical value exp(mu)",
                                                  "units": ", ".join(units[k] for k in names)}),
         "omega": (dims, sd, {"units": "1", "long_name": "sd of log parameters"}),
         "omega_cov": (("chain", "draw", "param", "param2"), hyper["omega_cov"],
                       {"units": "1"}),
         "sigma": (("chain", "draw"), hyper["sigma"], {"units": "1"})},
        coords={"param": names, "param2": names})
