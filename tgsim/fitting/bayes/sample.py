r"""``tgsim.sample``: posteriors of growth parameters for one series or ten thousand.

Algorithm
---------
Each subject's posterior is sampled by independent chains of the No-U-Turn Sampler
(NUTS; Hoffman & Gelman 2014) in its multinomial form with the generalised no-U-turn
criterion (Betancourt 2017), trees built iteratively (Phan et al. 2019). The step size is
adapted by dual averaging (Hoffman & Gelman 2014, algorithm 5; target mean acceptance
``delta``), the diagonal metric by the regularised variance of the draws of doubling
warm-up windows (Stan's windowed adaptation). All subjects x chains run in one compiled
kernel (the card's ``sample`` job), split over threads.

The sampler moves on unconstrained coordinates (log for positive parameters, logit for a
parameter with a uniform prior) and the log density includes the log Jacobian of the
transform. Gradients are exact: the card's closed form differentiated symbolically
(:mod:`tgsim.engine.expr`), the same code that the fits use.

References
----------
Hoffman MD, Gelman A. The No-U-Turn Sampler: adaptively setting path lengths in
Hamiltonian Monte Carlo. J Mach Learn Res 2014;15:1593-1623.
Betancourt M. A conceptual introduction to Hamiltonian Monte Carlo. arXiv:1701.02434.
Phan D, Pradhan N, Jankowiak M. Composable effects for flexible and accelerated
probabilistic programming in NumPyro. arXiv:1912.11554.
Carpenter B et al. Stan: a probabilistic programming language. J Stat Softw 2017;76(1).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from ...engine.catalogue import Model
from ...engine.catalogue import model as get_model
from ...errors import DataError, TgsimError
from ..data import SeriesBatch, as_batch, parameter_units
from ..likelihood import ErrorModel
from ..likelihood import error_model as get_error_model
from . import engine
from .priors import KINDS, Prior, default_priors, format_priors, population_priors, resolve_priors
from .result import SampleResult

__all__ = ["sample", "build_target", "initial_points"]

_EMODEL = {"additive": 0, "proportional": 1, "lognormal": 3}


def _check_int(name: str, v: Any, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < minimum:
        raise TgsimError(f"`{name}` must be an integer >= {minimum}; got {v!r}")
    return int(v)


def _fixed_values(fixed: Mapping[str, Any] | None, mdl: Model, n: int) -> dict[str, np.ndarray]:
    names = [p.name for p in mdl.parameters] + ["sigma"]
    out: dict[str, np.ndarray] = {}
    for p in mdl.parameters:
        if not p.required:
            out[p.name] = np.full(n, float(p.default))
    for name, value in dict(fixed or {}).items():
        if name not in names:
            raise TgsimError(f"`fixed`: unknown parameter {name!r}; expected one of {names}")
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        if arr.shape != (n,) or not np.all(np.isfinite(arr)):
            raise TgsimError(f"`fixed[{name!r}]` must be a finite number or one per subject "
                             f"({n}); got {value!r}")
        out[name] = arr
    return out


def build_target(mdl: Model, em: ErrorModel, batch: SeriesBatch, priors: Any,
                 fixed: Mapping[str, Any] | None) -> tuple[engine.Target, dict[str, Prior],
                                                           list[str], dict[str, np.ndarray]]:
    """Kernel arrays of the posterior; also the priors used, the names left at their
    default, and the fixed values."""
    from ...engine.compile import kernels

    names = [p.name for p in mdl.parameters]
    NP = len(names)
    n = batch.n
    lower = np.array([p.lower for p in mdl.parameters], dtype=np.float64)
    upper = np.array([p.upper for p in mdl.parameters], dtype=np.float64)
    fixed_v = _fixed_values(fixed, mdl, n)
    mvm = np.zeros((n, NP + 1))
    mvq = np.zeros((NP + 1, NP + 1))
    pop_random: list[str] = []
    if priors is not None and hasattr(priors, "omega") and hasattr(priors, "random_effects"):
        if priors.error_model.name != em.name:
            raise TgsimError(f"`priors`: the population was fitted with the "
                             f"{priors.error_model.name!r} error model, not {em.name!r}")
        pfixed, mean, mvq, pop_random = population_priors(priors, names)
        for k, v in pfixed.items():
            fixed_v.setdefault(k, np.full(n, v))
        mvm[:, :NP] = mean
        priors = None
    ymax = float(np.nanmax(np.abs(np.where(batch.W == 1, batch.Y, np.nan)))) if n else 1.0
    defaults = default_priors(names, lower, upper, em.name, ymax)
    free = [k for k in [*names, "sigma"] if k not in fixed_v and k not in pop_random]
    chosen, kept = resolve_priors(priors, defaults, free)
    allp = {**chosen, **{k: Prior("population", 0.0, 0.0) for k in pop_random}}
    comp = np.array([i for i, k in enumerate([*names, "sigma"]) if k in allp], dtype=np.int64)
    tkind = np.zeros(NP + 1, np.int64)
    tlo, thi = np.zeros(NP + 1), np.ones(NP + 1)
    pkind, pa, pb = np.zeros(NP + 1, np.int64), np.zeros(NP + 1), np.ones(NP + 1)
    clo = np.append(lower, 0.0)
    chi = np.append(upper, np.inf)
    for i, k in enumerate([*names, "sigma"]):
        if k not in allp:
            continue
        pr = allp[k]
        pkind[i], pa[i], pb[i] = KINDS[pr.kind], pr.a, pr.b
        if pr.kind == "uniform":
            if pr.a < clo[i] or pr.b > chi[i]:
                raise TgsimError(f"`priors[{k!r}]`: uniform({pr.a:g}, {pr.b:g}) must lie within "
                                 f"the bounds [{clo[i]:g}, {chi[i]:g}]")
            tkind[i], tlo[i], thi[i] = engine.LOGIT, pr.a, pr.b
        elif clo[i] > 0.0 and math.isfinite(chi[i]):
            tkind[i], tlo[i], thi[i] = engine.LOGLOGIT, clo[i], chi[i]
        elif clo[i] >= 0.0:
            tkind[i] = engine.LOG
        elif pr.kind in ("lognormal", "half_normal"):
            raise TgsimError(f"`priors[{k!r}]`: a {pr.kind} prior needs a positive parameter; "
                             f"{k} may be negative (bounds [{clo[i]:g}, {chi[i]:g}])")
    fixed_arr = np.ones((n, NP + 1))
    for i, k in enumerate([*names, "sigma"]):
        if k in fixed_v:
            fixed_arr[:, i] = fixed_v[k]
    target = engine.Target(
        kernels=kernels(mdl, "sample"), comp=comp, tkind=tkind, tlo=tlo, thi=thi, pkind=pkind,
        pa=pa, pb=pb, mvm=np.ascontiguousarray(mvm),
        mvq=np.ascontiguousarray(np.broadcast_to(mvq, (n, NP + 1, NP + 1))), clo=clo,
        chi=chi, T=np.ascontiguousarray(batch.T), Y=np.ascontiguousarray(
            _log_where_used(batch) if em.log_scale else batch.Y),
        nu=np.ascontiguousarray(batch.nu, dtype=np.int64),
        t0=np.ascontiguousarray(batch.t0), emodel=_EMODEL[em.name], fixed=fixed_arr)
    return target, allp, kept, fixed_v


def _log_where_used(batch: SeriesBatch) -> np.ndarray:
    """log of the usable values (padding left at 0): the kernel's data under log-normal
    error."""
    used = np.arange(batch.Y.shape[1])[None, :] < batch.nu[:, None]
    return np.log(np.where(used, batch.Y, 1.0))


def initial_points(target: engine.Target, mdl: Model, em: ErrorModel, batch: SeriesBatch,
                   fixed_v: dict[str, np.ndarray], chains: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Starting points (rows = subject x chain, unconstrained): the maximum-likelihood fit
    of each subject, jittered by U(-0.5, 0.5) per coordinate (Stan's spread, halved);
    the unjittered fit where the jittered point has no finite density, and the prior's
    centre where the fit failed."""
    from ..core import fit_prepared

    n, NP = batch.n, len(mdl.parameters)
    fit_fixed = {k: v for k, v in fixed_v.items()}
    theta = np.array(target.fixed, copy=True)
    try:
        res = fit_prepared(batch, mdl, em, fixed=fit_fixed or None, restarts=1)
        est = np.asarray(res.estimate, dtype=np.float64)[:, : NP + 1]
        ok = np.asarray(res.status) == 0
    except TgsimError:
        est, ok = np.full((n, NP + 1), np.nan), np.zeros(n, bool)
    for c, i in enumerate(target.comp):
        centre = _prior_centre(target, i)
        col = np.where(ok & np.isfinite(est[:, i]), est[:, i], centre)
        if target.tkind[i] == engine.LOGIT:
            w = target.thi[i] - target.tlo[i]
            col = np.clip(col, target.tlo[i] + 1e-3 * w, target.thi[i] - 1e-3 * w)
        elif target.tkind[i] == engine.LOGLOGIT:
            w = math.log(target.thi[i] / target.tlo[i])
            col = np.exp(np.clip(np.log(np.maximum(col, 1e-300)),
                                 math.log(target.tlo[i]) + 1e-3 * w,
                                 math.log(target.thi[i]) - 1e-3 * w))
        else:
            col = np.clip(col, target.clo[i], target.chi[i])
            if target.tkind[i] == engine.LOG:
                col = np.maximum(col, 1e-300)
        theta[:, i] = col
        del c
    U0 = target.to_unconstrained(theta)
    subj = np.repeat(np.arange(n), chains)
    U = U0[subj] + rng.uniform(-0.5, 0.5, size=(subj.size, target.D))
    lp, _ = engine.logp(target, U, subj)
    bad = ~np.isfinite(lp)
    U[bad] = U0[subj[bad]]
    return U


def _prior_centre(target: engine.Target, i: int) -> float:
    k = int(target.pkind[i])
    if k == KINDS["lognormal"]:
        return math.exp(target.pa[i])
    if k == KINDS["normal"]:
        return float(target.pa[i])
    if k == KINDS["half_normal"]:
        return 0.5 * float(target.pb[i])
    if k == KINDS["uniform"]:
        return 0.5 * float(target.pa[i] + target.pb[i])
    if k == KINDS["population"]:
        return math.exp(float(np.mean(target.mvm[:, i])))
    return 1.0


def sample(
    data: Any,
    model: str | Model,
    *,
    priors: Mapping[str, Prior] | Any = None,
    error_model: str = "lognormal",
    fixed: Mapping[str, Any] | None = None,
    schedule: Any = None,
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 1000,
    seed: int | None = 0,
    t0: Any = None,
    unit: str | None = None,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    metric: str = "diag",
    progress: bool = False,
    quiet: bool = False,
) -> SampleResult:
    r"""Sample the posterior of a growth law's parameters for every subject.

    Every subject gets ``chains`` independent NUTS chains (see the module docstring for
    the algorithm), all subjects x chains in one compiled call split over threads. The
    model is the card's untreated closed form with a residual error model (as in
    :func:`tgsim.fit`; the likelihood is in :mod:`tgsim.fitting.likelihood`).

    Parameters
    ----------
    data : Dataset, path, DataFrame or (times, values)
        Measurements, as for :func:`tgsim.fit`: times in days, volumes in mm^3 (diameters
        in mm are converted to sphere volumes). The unit is never guessed.
    model : str or Model
        A card with a closed form (``"gompertz"``, ``"logistic"``, ``"exponential"``...).
    priors : mapping or PopulationResult, optional
        ``{name: Prior}`` for growth parameters and ``"sigma"``
        (:class:`tgsim.fitting.bayes.Prior`); parameters left out get the weakly informative
        default from the card's bounds (see :mod:`tgsim.fitting.bayes.priors`), printed to stderr
        unless ``quiet``. A :func:`tgsim.fit_population` result gives empirical-Bayes
        population priors instead.
    error_model : {"lognormal", "proportional", "additive"}
        Residual error model; its scale ``sigma`` is sampled too unless fixed.
    fixed : mapping, optional
        ``{name: value}`` (scalar or one per subject) held fixed, ``"sigma"`` included.
    schedule : None
        Treated series are not supported yet: a schedule is refused.
    chains, draws, warmup : int
        Chains per subject, kept draws per chain, warm-up (adaptation) iterations.
    seed : int, optional
        Seed of the starting points and of every chain.
    t0 : float or array, optional
        Time origin (days) of ``initial_volume``; default each subject's first time.
    unit : str, optional
        Unit of the values (as for :func:`tgsim.fit`).
    target_accept : float
        Mean acceptance statistic targeted by the step-size adaptation (0.8, as Stan).
    max_tree_depth : int
        Largest number of trajectory doublings per iteration.
    metric : {"diag", "dense"}
        Metric adapted in warm-up: the draws' variances (Stan's default) or their full
        covariance (for strongly correlated parameters, such as a growth rate and a
        carrying capacity that the data do not separate).
    progress : bool
        Show a progress bar (tqdm).
    quiet : bool
        Do not print the default priors.

    Returns
    -------
    SampleResult
        Draws (``posterior``: chain, draw, subject), sample statistics, diagnostics from
        ArviZ, ``to_inference_data()``, ``summary()``, ``plot()``, ``predict()``,
        ``prob_progression()``, ``tumour_age()``, ``to_netcdf()``.

    Raises
    ------
    TgsimError
        Invalid options, a card without a closed form, a treatment schedule, censored
        points, or an unsupported error model.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)
    >>> v = 50 * np.exp(0.1 * t)
    >>> res = tgsim.sample((t, v * np.exp(0.05 * np.sin(t))), "exponential",
    ...                    draws=200, warmup=200, quiet=True)     # doctest: +SLOW
    >>> res.draws.shape, res.param_names                          # doctest: +SLOW
    ((4, 200, 1, 3), ('initial_volume', 'growth_rate', 'sigma'))
    """
    mdl = get_model(model)
    em = get_error_model(error_model)
    if em.name not in _EMODEL:
        raise TgsimError(f"`error_model` {em.name!r} is not supported by the sampler; use one of "
                         f"{sorted(_EMODEL)}")
    if schedule is not None:
        raise TgsimError("`schedule`: the sampler handles untreated series only (closed-form "
                         "cards); fit treated series with tgsim.fit")
    if mdl.closed_form is None:
        raise TgsimError(f"model {mdl.name!r} has no closed form; the sampler needs one "
                         "(exponential, logistic, gompertz, ...)")
    chains = _check_int("chains", chains, 1)
    draws = _check_int("draws", draws, 1)
    warmup = _check_int("warmup", warmup, 0)
    max_tree_depth = _check_int("max_tree_depth", max_tree_depth, 1)
    if metric not in ("diag", "dense"):
        raise TgsimError(f"`metric` must be 'diag' or 'dense'; got {metric!r}")
    if not (isinstance(target_accept, float | int) and 0.0 < target_accept < 1.0):
        raise TgsimError(f"`target_accept` must be in (0, 1); got {target_accept!r}")
    batch = as_batch(data, unit=unit, t0=t0, log_scale=em.log_scale)
    if np.any(batch.W == 2.0):
        s = int(np.flatnonzero((batch.W == 2.0).any(axis=1))[0])
        raise DataError(f"`data`: subject {batch.subjects[s]!r} has censored points; the "
                        "sampler does not handle censoring yet")
    if np.any(batch.nu < 1):
        s = int(np.flatnonzero(batch.nu < 1)[0])
        raise DataError(f"`data`: subject {batch.subjects[s]!r} has no usable point")
    target, used, kept, fixed_v = build_target(mdl, em, batch, priors, fixed)
    units = _units(mdl, em, batch)
    text = format_priors(used, units, kept)
    if kept and not quiet:
        print(text, file=sys.stderr)
    ss = np.random.SeedSequence(seed)
    rng = np.random.default_rng(ss.spawn(1)[0])
    U0 = initial_points(target, mdl, em, batch, fixed_v, chains, rng)
    subj = np.repeat(np.arange(batch.n), chains)
    ch = engine.Chains.start(subj, U0, len(mdl.parameters) + 1, warmup, draws)
    total = warmup + draws
    bar, update = _progress(progress, total, batch.n * chains)
    try:
        engine.advance(target, ch, total, ss, delta=float(target_accept),
                       max_depth=max_tree_depth, dense=metric == "dense", progress=update,
                       chunk=max(1, total // 50) if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    res = SampleResult.from_chains(mdl, em, batch, ch, chains, used, text, units,
                                   sorted(fixed_v), options=dict(
                                       chains=chains, draws=draws, warmup=warmup, seed=seed,
                                       target_accept=target_accept,
                                       max_tree_depth=max_tree_depth, metric=metric))
    res._target = target
    return res


def _units(mdl: Model, em: ErrorModel, batch: SeriesBatch) -> dict[str, str]:
    pu = parameter_units([p.unit for p in mdl.parameters], batch.unit)
    out = {p.name: u for p, u in zip(mdl.parameters, pu, strict=True)}
    out["sigma"] = em.units(batch.unit)[0]
    return out


def _progress(progress: bool, total: int, rows: int):
    if not progress:
        return None, None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=f"sampling {rows} chains", unit="iter")
    return bar, bar.update
