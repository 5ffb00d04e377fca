r"""Python side of the batched maximum-likelihood fitter (kernel: ``_kernels/templates/fit.py``).

The kernel fits every subject in one call (``prange`` over subjects) with a
Levenberg-Marquardt iteration on a Fisher-scoring model of :math:`-2\log L`:

* **Working scale.** Growth parameters with a lower bound >= 0 are fitted as
  :math:`x_j = \log p_j` (a lower bound of exactly 0 is taken as ``1e-12 * upper``, so a
  rate that wants to vanish reaches the bound and is reported there); others on their
  own scale. Error parameters are fitted as :math:`\log\sigma` (and :math:`\log(a/b)`
  for the combined model). Box bounds hold exactly by projection.
* **Jacobians.** For cards with a closed form and no treatment, the exact symbolic
  gradient of the closed form (``card_volume_vg``, generated from the card with common
  subexpressions computed once). Otherwise forward sensitivity equations
  :math:`\dot S_j = \partial F/\partial y\,S_j + \partial F/\partial p_j`, with
  :math:`\partial g/\partial y` and :math:`\partial g/\partial p` of the card's growth
  term differentiated symbolically (``card_rhs_jac``) and the treatment terms (kill,
  Norton-Simon fraction, acceleration, swelling) added exactly; they are integrated with
  the state by the same Dormand-Prince 5(4) steps (the error estimate controls the
  state, as CVODES does by default), and start from the symbolic
  :math:`\partial y_0/\partial p`.
* **Fast path.** Untreated closed-form fits without a prior, censored points or the
  combined error model (the common case) run a leaner copy of the iteration
  (``_fit_fast_rows``): sigma is profiled out (set to its conditional maximum after every
  evaluation; the step solves the Schur complement of the Fisher matrix, the Fisher
  matrix of the profile likelihood), the Fisher matrix is built from raw sums over the
  points, and the small systems are solved by explicit formulas. It reaches the same
  optimum as the general iteration (tested) in about a third of its time.
* **NumPy path.** The fast path also exists in NumPy, vectorised over subjects
  (:mod:`tgsim.fitting.lm_numpy`): :func:`run_lm` uses it for small batches while the
  card's kernel is neither compiled nor cached (:mod:`tgsim.fitting.paths`), so a first fit
  needs no JIT. It takes the same decisions as the kernel and stops at the same optimum.
* **Steps.** :math:`(H + \lambda\,\mathrm{diag}(H)) \delta = -\nabla(-2\log L)` with H the
  expected (Fisher) Hessian; Nielsen's damping update; a bound whose gradient points
  outward is held. Converged when the Newton decrement :math:`g^T H^{-1} g` falls below
  ``ftol`` (in units of -2 log L, so it is a statement about the log-likelihood) or the
  step falls below ``xtol`` relative to x.

References
----------
Marquardt DW. An algorithm for least-squares estimation of nonlinear parameters. J Soc
Ind Appl Math 1963;11:431-441. Nielsen HB. Damping parameter in Marquardt's method.
IMM-REP-1999-05, DTU 1999. Bock HG. Numerical treatment of inverse problems in chemical
reaction kinetics. In: Modelling of Chemical Reaction Systems, Springer 1981:102-125.
Kanzow C, Yamashita N, Fukushima M. Levenberg-Marquardt methods with strong local
convergence properties for solving nonlinear equations with convex constraints. J Comput
Appl Math 2004;172:375-397.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import numpy as np

from ..engine.catalogue import Model
from ..engine.compile import announce, kernels
from ..engine.kernels.rows import run_rows
from ..errors import Status, TgsimError
from ..treatment import PackedSchedule, Schedule
from . import lm_numpy
from .data import SeriesBatch
from .likelihood import ErrorModel
from .paths import use_numpy

__all__ = ["Setup", "build_setup", "run_lm", "predict", "heuristic_start", "ZERO_FLOOR"]

#: a lower bound of 0 becomes ZERO_FLOOR * upper on the log scale
ZERO_FLOOR = 1e-12
#: bounds of log sigma and log(a/b) on the working scale
ERR_BOUNDS = (-40.0, 40.0)


@dataclass
class Setup:
    """Everything the kernels need besides the data (one row per subject)."""

    model: Model
    kern: ModuleType
    mode: int
    em: ErrorModel
    free: np.ndarray  # (K,) int64: 1 = estimated
    scale: np.ndarray  # (NP,) int64: 1 = log scale
    lo: np.ndarray  # (K,) working-scale bounds
    hi: np.ndarray
    packed: PackedSchedule
    nsw: int
    rtol: float
    atol: float
    max_steps: int
    fixed: np.ndarray  # (n, K) working values of fixed components (NaN where free)
    untreated: bool = True  # no treatment schedule

    @property
    def NP(self) -> int:
        return len(self.model.parameters)

    @property
    def K(self) -> int:
        return self.NP + 2

    @property
    def n_err(self) -> int:
        return self.em.n_params

    @property
    def k_free(self) -> int:
        """Number of estimated parameters (growth + error)."""
        return int(self.free.sum())

    def rows(self, idx: np.ndarray) -> Setup:
        """The setup for a subset (or repetition) of rows."""
        idx = np.asarray(idx, dtype=np.int64)
        p = self.packed
        packed = PackedSchedule(
            jt=np.ascontiguousarray(p.jt[idx]), jf=np.ascontiguousarray(p.jf[idx]),
            dose=np.ascontiguousarray(p.dose[idx]), expo=np.ascontiguousarray(p.expo[idx]),
            acc=np.ascontiguousarray(p.acc[idx]), clear=np.ascontiguousarray(p.clear[idx]),
            bp=np.ascontiguousarray(p.bp[idx]), has_swelling=p.has_swelling,
            constant_kill=p.constant_kill, step_acceleration=p.step_acceleration,
        )
        return replace(self, packed=packed, fixed=self.fixed[idx])

    # ---------------------------------------------------------------- transforms
    def to_natural(self, X: np.ndarray) -> np.ndarray:
        """Growth parameters (n, NP) from working rows (n, K)."""
        X = np.asarray(X, dtype=np.float64)
        P = X[..., : self.NP].copy()
        lg = self.scale == 1
        P[..., lg] = np.exp(P[..., lg])
        return P

    def to_working(self, P: np.ndarray) -> np.ndarray:
        """Working values (n, NP) of growth parameters (n, NP)."""
        P = np.asarray(P, dtype=np.float64)
        X = P.copy()
        lg = self.scale == 1
        with np.errstate(divide="ignore"):
            X[..., lg] = np.log(P[..., lg])
        return X

    def error_natural(self, X: np.ndarray) -> np.ndarray:
        """Error parameters (n, n_err) as reported, from working rows."""
        sig = np.exp(X[..., self.NP])
        if self.em.name == "combined":
            c = np.exp(X[..., self.NP + 1])
            return np.stack([sig * c, sig], axis=-1)
        return sig[..., None]

    def error_working(self, E: np.ndarray) -> np.ndarray:
        """Working (log sigma, log c) (n, 2) from reported error parameters (n, n_err)."""
        E = np.asarray(E, dtype=np.float64)
        out = np.zeros(E.shape[:-1] + (2,))
        if self.em.name == "combined":
            out[..., 0] = np.log(E[..., 1])
            out[..., 1] = np.log(E[..., 0] / E[..., 1])
        else:
            out[..., 0] = np.log(E[..., 0])
        return out

    def natural_jacobian(self, X: np.ndarray) -> np.ndarray:
        """d(reported parameter)/d(working component), (n, NP + n_err, K)."""
        n = X.shape[0]
        NP, K = self.NP, self.K
        D = np.zeros((n, NP + self.n_err, K))
        P = self.to_natural(X)
        for j in range(NP):
            D[:, j, j] = P[:, j] if self.scale[j] == 1 else 1.0
        E = self.error_natural(X)
        if self.em.name == "combined":
            D[:, NP, NP] = E[:, 0]
            D[:, NP, NP + 1] = E[:, 0]
            D[:, NP + 1, NP] = E[:, 1]
        else:
            D[:, NP, NP] = E[:, 0]
        return D


def _bounds(model: Model, bounds: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([p.lower for p in model.parameters])
    hi = np.array([p.upper for p in model.parameters])
    for key, val in (bounds or {}).items():
        try:
            par = model.parameter(key)
        except KeyError as exc:
            raise TgsimError(f"`bounds`: {exc.args[0]}") from None
        try:
            a, b = (float(v) for v in val)
        except (TypeError, ValueError):
            raise TgsimError(
                f"`bounds`: {par.name} must be a pair (lower, upper); got {val!r}"
            ) from None
        if not (math.isfinite(a) and math.isfinite(b) and a < b):
            raise TgsimError(
                f"`bounds`: {par.name} must be finite with lower < upper; got ({a}, {b})"
            )
        j = model.parameter_names.index(par.name)
        lo[j], hi[j] = a, b
    return lo, hi


def _closed_form_reason(model: Model, packed: PackedSchedule) -> str | None:
    """Why the card's closed form cannot be used with this schedule (see tgsim.simulation)."""
    from ..simulation import _closed_form_reason

    return _closed_form_reason(model, packed)


def build_setup(
    model: Model,
    n: int,
    em: ErrorModel,
    *,
    fixed: Mapping[str, Any] | None = None,
    bounds: Mapping[str, Any] | None = None,
    schedule: Any = None,
    solver: str | None = None,
    t_range: tuple[float, float] = (0.0, 1.0),
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_steps: int = 100_000,
) -> Setup:
    """Validate the options of a fit and build its :class:`Setup` for ``n`` subjects.

    ``fixed`` maps parameter names (growth or error) to a scalar or one value per subject;
    by default, card parameters marked ``required = false`` (shape constants such as the
    exponential-linear psi) are fixed at their card default.
    """
    NP = len(model.parameters)
    K = NP + 2
    lo_n, hi_n = _bounds(model, bounds)
    scale = np.where(lo_n >= 0.0, 1, 0).astype(np.int64)
    lo = np.full(K, ERR_BOUNDS[0])
    hi = np.full(K, ERR_BOUNDS[1])
    for j in range(NP):
        if scale[j] == 1:
            lo[j] = math.log(lo_n[j] if lo_n[j] > 0 else ZERO_FLOOR * hi_n[j])
            hi[j] = math.log(hi_n[j])
        else:
            lo[j], hi[j] = lo_n[j], hi_n[j]
    free = np.ones(K, dtype=np.int64)
    if em.name != "combined":
        free[NP + 1] = 0
    fixed_w = np.full((n, K), np.nan)
    fx = dict(fixed or {})
    for p in model.parameters:
        if not p.required and p.name not in fx and p.symbol not in fx:
            fx[p.name] = p.default
    err_names = em.parameters
    err_fixed: dict[str, np.ndarray] = {}
    for key, val in fx.items():
        try:
            v = np.array(val, dtype=np.float64)
        except (TypeError, ValueError):
            raise TgsimError(
                f"`fixed`: {key} must be a number or one per subject; got {val!r}"
            ) from None
        if v.ndim > 1 or (v.ndim == 1 and v.shape[0] not in (1, n)):
            raise TgsimError(
                f"`fixed`: {key} must be a scalar or have one value per subject ({n}); "
                f"got shape {v.shape}"
            )
        v = np.broadcast_to(v.reshape(-1) if v.ndim else v, (n,))
        if key in err_names:
            if np.any(~np.isfinite(v) | (v <= 0)):
                raise TgsimError(f"`fixed`: {key} must be positive; got {val!r}")
            err_fixed[key] = v
            continue
        try:
            par = model.parameter(key)
        except KeyError:
            raise TgsimError(
                f"`fixed`: {key!r} is neither a parameter of model {model.name!r} "
                f"({', '.join(model.parameter_names)}) nor an error parameter of the "
                f"{em.name} error model ({', '.join(err_names)})"
            ) from None
        j = model.parameter_names.index(par.name)
        bad = ~np.isfinite(v) | (v < par.lower) | (v > par.upper)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise TgsimError(
                f"`fixed`: {par.name} must be in [{par.lower:g}, {par.upper:g}] "
                f"({par.unit}); got {v[i]!r}"
            )
        if scale[j] == 1 and np.any(v <= 0):
            # a fixed zero is allowed: fit that column on its own scale
            scale[j] = 0
            lo[j], hi[j] = lo_n[j], hi_n[j]
        free[j] = 0
        fixed_w[:, j] = np.log(v) if scale[j] == 1 else v
    if err_fixed:
        if em.name == "combined":
            if len(err_fixed) != 2:
                raise TgsimError(
                    "`fixed`: the combined error model fixes both sigma_additive and "
                    "sigma_proportional or neither"
                )
            a, b = err_fixed["sigma_additive"], err_fixed["sigma_proportional"]
            fixed_w[:, NP] = np.log(b)
            fixed_w[:, NP + 1] = np.log(a / b)
            free[NP + 1] = 0
        else:
            fixed_w[:, NP] = np.log(err_fixed[err_names[0]])
        free[NP] = 0
    if em.name != "combined":
        fixed_w[:, NP + 1] = 0.0
    sched = Schedule.coerce(schedule)
    packed = sched.pack(n, float(t_range[0]), float(t_range[1]), warn=False)
    reason = _closed_form_reason(model, packed)
    empty = len(sched) == 0
    if solver not in (None, "ode", "closed_form"):
        raise TgsimError(f"`solver` must be None, 'ode' or 'closed_form'; got {solver!r}")
    if solver == "closed_form" and (reason is not None or not empty):
        why = reason or "the fitter's closed-form path covers untreated growth only"
        raise TgsimError(f"solver='closed_form' is not available: {why}; use solver='ode'")
    mode = 0 if (model.has_closed_form and empty and solver != "ode") else 1
    return Setup(
        model=model, kern=kernels(model, "fit_ode" if mode == 1 else "fit_closed"),
        mode=mode, em=em, free=free, scale=scale, lo=lo,
        hi=hi, packed=packed, nsw=1 if packed.has_swelling else 0, rtol=float(rtol),
        atol=float(atol), max_steps=int(max_steps), fixed=fixed_w, untreated=empty,
    )


def heuristic_start(setup: Setup, batch: SeriesBatch,
                    start: Mapping[str, Any] | None, *, integral: bool = True) -> np.ndarray:
    """Working-scale starting rows (n, K) from card defaults, the data and ``start``.

    Data-driven guesses: ``initial_volume`` from a log-linear fit of the first (up to)
    four measured points extrapolated to t0; a specific growth rate from its slope (for
    cards whose ``growth_rate`` is a specific rate at small size); ``carrying_capacity``
    twice the largest value; ``linear_rate`` the mean slope of the second half. Untreated
    Gompertz and logistic fits start from the integral method instead where it applies
    (:func:`tgsim.fitting._kernels.integral_start`: a linear least-squares fit of the
    integrated law in log-volume, typically within a few per cent of the estimate);
    ``integral=False`` gives the generic start (tried when a fit from the integral start
    fails).
    """
    from . import _kernels as fk

    mdl = setup.model
    n = batch.n
    NP = setup.NP
    names = mdl.parameter_names
    rules = np.zeros(NP, dtype=np.int64)

    def rule(name: str, code: int) -> None:
        if name in names:
            rules[names.index(name)] = code

    rule("initial_volume", fk.RULE_V0)
    if mdl.name in ("exponential", "logistic", "exponential_linear", "two_population"):
        rule("growth_rate", fk.RULE_RATE)
    if mdl.name == "two_population":
        rule("resistant_growth_rate", fk.RULE_RESISTANT)
    rule("carrying_capacity", fk.RULE_CAPACITY)
    rule("linear_rate", fk.RULE_LINEAR)
    if "exponent" in names and "growth_rate" in names and mdl.name in ("power_law",
                                                                         "von_bertalanffy"):
        rule("growth_rate", fk.RULE_POWER)

    def col(name: str) -> int:
        return names.index(name) if name in names else -1

    aux = np.array([col("exponent"), col("loss_rate"), col("initial_volume"),
                    col("growth_rate"), col("carrying_capacity")], dtype=np.int64)
    law = fk.INTEGRAL_LAWS.get(mdl.name)
    law = law if law is not None and setup.untreated and integral else -1
    lo_n = np.where(setup.scale == 1, np.exp(setup.lo[:NP]), setup.lo[:NP])
    hi_n = np.where(setup.scale == 1, np.exp(setup.hi[:NP]), setup.hi[:NP])
    # the compact series as the compiled start kernels take them
    rows = (np.ascontiguousarray(batch.T), np.ascontiguousarray(batch.Y),
            np.ascontiguousarray(batch.W), np.ascontiguousarray(batch.nu, dtype=np.int64),
            np.ascontiguousarray(batch.t0, dtype=np.float64))
    X = np.empty((n, setup.K))
    defaults = np.array([p.default for p in mdl.parameters], dtype=np.float64)
    fk.start_guess(*rows, law, rules, aux, defaults, lo_n, hi_n, setup.scale, X)
    # log sigma stays 0: the kernel replaces it by its conditional maximum
    for key, val in (start or {}).items():
        try:
            par = mdl.parameter(key)
        except KeyError as exc:
            raise TgsimError(f"`start`: {exc.args[0]}") from None
        v = np.array(val, dtype=np.float64)
        if v.ndim > 1 or (v.ndim == 1 and v.shape[0] not in (1, n)):
            raise TgsimError(f"`start`: {par.name} must be a scalar or one value per subject")
        j = names.index(par.name)
        v = np.clip(np.broadcast_to(v.reshape(-1) if v.ndim else v, (n,)), lo_n[j], hi_n[j])
        X[:, j] = np.log(v) if setup.scale[j] == 1 else v
    if setup.em.name == "combined":  # log(a/b): half the median size
        feat = np.empty((n, 6))
        fk.series_features(*rows, feat)
        vmed = feat[:, 4]
        X[:, NP + 1] = math.log(max(float(np.nanmedian(vmed)) if np.isfinite(vmed).any()
                                    else 1.0, 1e-12) * 0.5)
    fx = ~np.isnan(setup.fixed)
    if fx.any():
        X[fx] = setup.fixed[fx]
    return X


def _empty_prior(setup: Setup) -> tuple[np.ndarray, np.ndarray]:
    NP = setup.NP
    return np.zeros((0, NP)), np.zeros((0, NP, NP))


def _split(mode: int) -> dict[str, Any]:
    """How run_rows splits a fit: closed-form fits are even work, a few ranges per thread
    (each allocates its work arrays once); ODE fits are slow and uneven, 8 rows a range."""
    if mode != 0:
        return {"per_thread": 16, "max_rows": 8}
    return {"per_thread": 4}


def run_lm(
    setup: Setup,
    batch: SeriesBatch,
    X0: np.ndarray,
    *,
    prior: tuple[np.ndarray, np.ndarray] | None = None,
    max_iter: int = 200,
    ftol: float = 1e-10,
    xtol: float = 1e-12,
    fast: bool = True,
) -> dict[str, np.ndarray]:
    """Run the batched kernel on every row of ``batch`` (already checked and compacted).

    ``fast=False`` sends every row through the general iteration (``fit_lm_one``) even
    where the fast path applies (untreated closed form, no prior, additive, proportional
    or log-normal error, no censored point); both reach the same optimum (tested).
    Where the fast path applies and the kernel is not compiled yet, a small batch runs
    the same iteration on NumPy instead (:mod:`tgsim.fitting.lm_numpy`; when, see
    :mod:`tgsim.fitting.paths`).

    Returns a dict with ``X`` (working estimates; ``setup.to_natural`` and
    ``setup.error_natural`` give the reported values), ``info`` (Fisher information on the
    working scale), ``F`` (fitted predictions), ``neg2ll``, ``iterations``, ``nfev`` and
    ``status`` (int8).
    """
    n = batch.n
    if lm_numpy.eligible(setup, batch, prior, fast) and use_numpy(n, setup.kern.fit_rows):
        return lm_numpy.run_lm_numpy(setup, batch, X0, max_iter=max_iter, ftol=ftol, xtol=xtol)
    X = np.ascontiguousarray(X0, dtype=np.float64).copy()
    K = setup.K
    INFO = np.zeros((n, K, K))
    F = np.zeros(batch.T.shape)
    RES = np.zeros((n, 3))
    status = np.zeros(n, dtype=np.int64)
    PM, PQ = _empty_prior(setup) if prior is None else prior
    p = setup.packed
    if n:
        kern = setup.kern
        announce(kern, "fit_rows")
        run_rows(
            kern.fit_rows, n,
            setup.mode, np.ascontiguousarray(batch.T), np.ascontiguousarray(batch.Y),
            np.ascontiguousarray(batch.W), np.ascontiguousarray(batch.nu, dtype=np.int64),
            np.ascontiguousarray(batch.t0), X, setup.free, setup.scale, setup.lo, setup.hi,
            setup.em.code, p.jt, p.jf, p.dose, p.expo, p.acc, p.clear, p.bp, setup.nsw,
            np.ascontiguousarray(PM), np.ascontiguousarray(PQ), int(max_iter), float(ftol),
            float(xtol), setup.rtol, setup.atol, setup.max_steps, INFO, F, RES, status,
            bool(fast), **_split(setup.mode),
        )
    neg2ll = RES[:, 0].copy()
    if prior is not None:
        neg2ll = np.full(n, np.nan)  # the kernel's objective includes the prior here
    return {
        "X": X, "info": INFO, "F": F,
        "objective": RES[:, 0].copy(), "neg2ll": neg2ll, "iterations": RES[:, 1].astype(np.int64),
        "nfev": RES[:, 2].astype(np.int64), "status": status.astype(np.int8),
    }


def predict(
    setup: Setup,
    T: np.ndarray,
    nu: np.ndarray,
    t0: np.ndarray,
    P: np.ndarray,
    *,
    jacobian: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Model predictions at compact times (one row per subject of ``setup``).

    Returns ``F`` (n, m), the Jacobian dF/dp (n, m, NP) on the natural scale for the free
    growth parameters when ``jacobian`` (else None), and the kernel status per row.
    Untreated closed forms are evaluated on NumPy where the kernel is not compiled yet
    and the batch is small (:mod:`tgsim.fitting.paths`).
    """
    T = np.ascontiguousarray(T, dtype=np.float64)
    n, m = T.shape
    P = np.ascontiguousarray(P, dtype=np.float64)
    F = np.full((n, m), np.nan)
    J = np.zeros((n, m, setup.NP))
    status = np.zeros(n, dtype=np.int64)
    jcols = (np.flatnonzero(setup.free[: setup.NP]) if jacobian else np.zeros(0)).astype(np.int64)
    p = setup.packed
    if n and setup.mode == 0 and setup.untreated and use_numpy(n, setup.kern.fit_predict_rows):
        F, J, status = lm_numpy.predict_numpy(setup, T, nu, t0, P, jacobian)
    elif n:
        kern = setup.kern
        announce(kern, "fit_predict_rows")
        run_rows(
            kern.fit_predict_rows, n,
            setup.mode, T, np.ascontiguousarray(nu, dtype=np.int64),
            np.ascontiguousarray(t0, dtype=np.float64), P, jcols, p.jt, p.jf, p.dose, p.expo,
            p.acc, p.clear, p.bp, setup.nsw, setup.rtol, setup.atol, setup.max_steps, F, J,
            status,
        )
    bad = status != 0
    F[bad] = np.nan
    cols = np.arange(m)[None, :] >= np.asarray(nu)[:, None]
    F[cols] = np.nan
    return F, (J if jacobian else None), status.astype(np.int8)


def precheck(setup: Setup, batch: SeriesBatch) -> tuple[np.ndarray, list[str]]:
    """Per-subject status before fitting (0 = fit it) and a specific reason."""
    n = batch.n
    st = np.zeros(n, dtype=np.int8)
    why = [""] * n
    k = setup.k_free
    n_meas = np.count_nonzero(batch.W == 1.0, axis=1)
    cases = [
        (batch.nu == 0, Status.BAD_DATA, lambda s: "no usable points"),
        (n_meas == 0, Status.BAD_DATA, lambda s: "every point is censored"),
        (batch.nu < k, Status.NOT_IDENTIFIABLE,
         lambda s: f"{int(batch.nu[s])} usable point(s) for {k} estimated parameters"),
        # with sigma held fixed a perfect fit is an ordinary optimum, not a degenerate one
        (batch.all_equal & (n_meas == batch.nu) & bool(setup.free[setup.NP]),
         Status.NOT_IDENTIFIABLE,
         lambda s: "all values are equal: a perfect fit drives the residual scale to zero "
                   "(degenerate likelihood)"),
    ]
    for mask, code, reason in cases:
        for s in np.flatnonzero(mask & (st == 0)):
            st[s] = code
            why[s] = reason(s)
    return st, why
