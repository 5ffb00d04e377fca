"""``tgsim.fit``: maximum-likelihood fits of growth laws to one series or thousands."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ..engine.catalogue import Model
from ..engine.catalogue import model as get_model
from ..errors import STATUS_MESSAGES, Status, TgsimError
from ._kernels import INTEGRAL_LAWS, covariance_rows, result_rows
from .covariance import dof_factor, natural_covariance, working_covariance
from .data import SeriesBatch, as_batch, parameter_units
from .likelihood import ErrorModel
from .likelihood import error_model as get_error_model
from .lm import Setup, build_setup, heuristic_start, precheck, predict, run_lm
from .result import FitResult
from .starts import refine_from_candidates

__all__ = ["fit", "fit_prepared", "make_result", "fit_batch_rows"]

METHODS = ("lm",)


def _check_positive(name: str, value: Any, integer: bool = False) -> None:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if ok:
        ok = math.isfinite(float(value)) and value > 0 and (not integer or int(value) == value)
    if not ok:
        kind = "a positive integer" if integer else "a positive number"
        raise TgsimError(f"`{name}` must be {kind}; got {value!r}")


def _screen(setup: Setup, batch: SeriesBatch, C: np.ndarray) -> np.ndarray:
    """-2 log L (sigma at its conditional maximum, censored points ignored) of candidate
    working rows C (n, c, K); inf where the model fails."""
    n, c, K = C.shape
    rows = np.repeat(np.arange(n), c)
    P = setup.to_natural(C.reshape(n * c, K))
    F, _, st = predict(setup.rows(rows), batch.T[rows], batch.nu[rows], batch.t0[rows], P)
    Y = batch.Y[rows]
    use = batch.W[rows] == 1.0
    em = setup.em.name
    with np.errstate(all="ignore"):
        if em == "lognormal":
            u = np.log(Y) - np.log(F)
            logh = np.zeros_like(F)
        elif em == "additive":
            u = Y - F
            logh = np.zeros_like(F)
        elif em == "proportional":
            u = (Y - F) / F
            logh = np.log(F)
        else:
            cc = np.exp(C.reshape(n * c, K)[:, setup.NP + 1])[:, None]
            u = (Y - F) / (cc + F)
            logh = np.log(cc + F)
        m = use.sum(axis=1)
        s2 = np.where(use, u**2, 0.0).sum(axis=1) / np.maximum(m, 1)
        phi = m * np.log(2 * np.pi * s2) + m + 2 * np.where(use, logh, 0.0).sum(axis=1)
    phi = np.where(np.isfinite(phi) & (st == 0), phi, np.inf)
    return phi.reshape(n, c)


def _candidates(setup: Setup, X: np.ndarray, n_cand: int, rng: np.random.Generator,
                spread: float = math.log(30.0)) -> np.ndarray:
    """n_cand working rows per subject: X itself, then random perturbations of the free
    growth components (log-uniform within a factor exp(spread) on the log scale; uniform
    over the bounds on the natural scale), clipped to the bounds."""
    n, K = X.shape
    C = np.repeat(X[:, None, :], n_cand, axis=1)
    for j in range(setup.NP):
        if not setup.free[j]:
            continue
        if setup.scale[j] == 1:
            C[:, 1:, j] += rng.uniform(-spread, spread, size=(n, n_cand - 1))
        else:
            C[:, 1:, j] = rng.uniform(setup.lo[j], setup.hi[j], size=(n, n_cand - 1))
    return np.clip(C, setup.lo, setup.hi)


def fit_batch_rows(setup: Setup, batch: SeriesBatch, X0: np.ndarray, *, n_starts: int = 1,
                   restarts: int = 3, n_candidates: int = 24, seed: int | None = 0,
                   progress: bool = False,
                   alt_start: Callable[[np.ndarray], np.ndarray] | None = None,
                   settle: bool = True, **lm_kw: Any) -> dict[str, np.ndarray]:
    """Fit every row of ``batch`` (all already pre-checked), with multi-start.

    Every row is first fitted from ``X0``. Rows that fail are refitted from
    ``alt_start(rows)`` when given (a second, independent start). Rows that still fail,
    and every row when ``n_starts > 1``, are then screened: ``n_candidates`` perturbed
    starts are scored by their -2 log L and the LM is run from the best ``restarts`` (or
    ``n_starts - 1``) of them; the successful fit with the lowest -2 log L is kept.
    Rows still stalled are then settled on a bound when their optimum lies there
    (:func:`settle_at_bounds`), and rows on a bound or failed get starts spread over the
    whole box; ``settle=False``, or no restarts at all (``restarts=0`` with one start),
    skips both, and the data-driven starts of saturating laws that precede them
    (:func:`tgsim.fitting.starts.refine_from_candidates`).
    """
    rng = np.random.default_rng(seed)
    out = _run_chunked(setup, batch, X0, progress=progress, **lm_kw)
    _accept_exact_fits(out, batch)  # before any restart can replace an exact fit
    failed = np.flatnonzero(out["status"] != 0)
    if alt_start is not None and failed.size and restarts > 0:
        Xa = alt_start(failed)
        res = _run_chunked(setup.rows(failed), batch.subset(failed), Xa, **lm_kw)
        good = res["status"] == 0
        for key in out:
            out[key][failed[good]] = res[key][good]
        X0 = X0.copy()
        X0[failed[~good]] = Xa[~good]  # restarts spread around the second start
    redo = np.flatnonzero(out["status"] != 0) if n_starts <= 1 else np.arange(batch.n)
    extra = restarts if n_starts <= 1 else n_starts - 1
    if redo.size and extra > 0:
        sub = setup.rows(redo)
        bsub = batch.subset(redo)
        C = _candidates(sub, X0[redo], max(n_candidates, extra + 1), rng)
        phi = _screen(sub, bsub, C)
        order = np.argsort(phi, axis=1, kind="stable")
        # candidate 0 is X0 itself: already run
        picks = [o[o != 0][:extra] for o in order]
        for r in range(extra):
            have = np.array([len(p) > r for p in picks])
            if not have.any():
                break
            rows_r = np.flatnonzero(have)
            starts = np.stack([C[i, picks[i][r]] for i in rows_r])
            res = _run_chunked(sub.rows(rows_r), bsub.subset(rows_r), starts, **lm_kw)
            for a, i in enumerate(rows_r):
                g = redo[i]
                better = res["status"][a] == 0 and (
                    out["status"][g] != 0 or res["objective"][a] < out["objective"][g] - 1e-9
                )
                if better:
                    for key in out:
                        out[key][g] = res[key][a]
    if settle and extra > 0:  # restarts=0 (one start) asks for the plain LM result
        out = refine_from_candidates(setup, batch, out, **lm_kw)
        out = settle_at_bounds(setup, batch, out, **lm_kw)
        out = _global_restarts(setup, batch, out, rng, **lm_kw)
    return out


def _on_bound(setup: Setup, X: np.ndarray) -> np.ndarray:
    """Rows with a free growth component on (within 1e-9 of) a working bound."""
    g = np.flatnonzero(setup.free[: setup.NP])
    lo, hi = setup.lo[g], setup.hi[g]
    tol = 1e-9 * (1.0 + np.abs(hi - lo))
    return np.any((X[:, g] <= lo + tol) | (X[:, g] >= hi - tol), axis=1)


def _global_restarts(setup: Setup, batch: SeriesBatch, out: dict[str, np.ndarray],
                     rng: np.random.Generator, *, n_candidates: int = 256, n_runs: int = 10,
                     **lm_kw: Any) -> dict[str, np.ndarray]:
    """Starts spread over the whole parameter box for rows that ended on a bound or
    failed: a shrinking series fitted by a saturating law often stalls on a flat face
    (a rate at 0, the curve a constant) while the optimum is a decay towards a tiny
    carrying capacity, far from the data-driven start. ``n_candidates`` points drawn
    uniformly over the working box are screened by -2 log L, the LM is run from the best
    ``n_runs`` and, after settling on a bound where needed, the lowest -2 log L is kept."""
    rows = np.flatnonzero((out["status"] != 0) | _on_bound(setup, out["X"]))
    if not rows.size:
        return out
    sub, bsub = setup.rows(rows), batch.subset(rows)
    n, K = rows.size, setup.K
    C = np.repeat(out["X"][rows][:, None, :], n_candidates, axis=1)
    for j in range(setup.NP):
        if setup.free[j]:
            lo, hi = max(setup.lo[j], -30.0), min(setup.hi[j], 30.0)
            C[:, :, j] = rng.uniform(lo, hi, size=(n, n_candidates))
    phi = _screen(sub, bsub, C)
    order = np.argsort(phi, axis=1, kind="stable")[:, :n_runs]
    for r in range(n_runs):
        starts = C[np.arange(n), order[:, r]]
        res = run_lm(sub, bsub, starts, **lm_kw)
        res = settle_at_bounds(sub, bsub, res, **lm_kw)
        cur = out["objective"][rows]
        better = (res["status"] == 0) & np.isfinite(res["objective"]) & (
            (out["status"][rows] != 0) | (res["objective"] < cur - 1e-9 * (1 + np.abs(cur))))
        for key in out:
            out[key][rows[better]] = res[key][better]
    del K
    return out


#: kernel statuses of a fit that stopped without meeting the convergence test
_STUCK = (int(Status.NOT_CONVERGED), int(Status.MAX_ITERATIONS))


def settle_at_bounds(setup: Setup, batch: SeriesBatch, out: dict[str, np.ndarray], *,
                     rtol_objective: float = 1e-7, **lm_kw: Any) -> dict[str, np.ndarray]:
    """Return the best point of fits that end at a bound instead of failing them.

    A fit whose optimum lies on a face of the parameter box (a carrying capacity that
    wants to fall below its lower bound for a shrinking lesion, a rate that wants to
    vanish) can stall as the LM creeps along a ridge towards the bound. For every row
    that stopped without converging (not converged, or the iteration budget spent), each
    free growth parameter in turn is held at each of its bounds and the others are
    refitted from the stalled point. The best face optimum is then checked against the
    whole box: a free refit started there must not lower -2 log L by more than
    ``rtol_objective`` (relative; the Karush-Kuhn-Tucker condition, checked by descent).
    Rows that pass become successes whose held parameter is reported at its bound (flag
    ``at_bound``, no standard error); the others keep their failure. The decision is
    made here, in Python, from kernel runs; the kernel is not changed.
    """
    bad = np.flatnonzero(np.isin(out["status"], _STUCK))
    grow = [j for j in range(setup.NP) if setup.free[j]]
    if not bad.size or not grow:
        return out
    sub, bsub = setup.rows(bad), batch.subset(bad)
    X = out["X"][bad]
    best: dict[str, np.ndarray] | None = None
    for j in grow:
        free = setup.free.copy()
        free[j] = 0
        held = replace(sub, free=free)
        for edge in (setup.lo[j], setup.hi[j]):
            Xs = X.copy()
            Xs[:, j] = edge
            res = run_lm(held, bsub, Xs, **lm_kw)
            ok = (res["status"] == 0) & np.isfinite(res["objective"])
            if best is None:
                best = {k: v.copy() for k, v in res.items()}
                best["status"] = np.where(ok, 0, 5).astype(np.int8)
                continue
            take = ok & ((best["status"] != 0) | (res["objective"] < best["objective"]))
            for key in best:
                best[key][take] = res[key][take]
    assert best is not None
    found = np.flatnonzero(best["status"] == 0)
    if not found.size:
        return out
    # stationarity on the whole box: a free refit from the face optimum must not improve it
    check = run_lm(sub.rows(found), bsub.subset(found), best["X"][found], **lm_kw)
    ref = best["objective"][found]
    tol = rtol_objective * (1.0 + np.abs(ref))
    better_inside = check["objective"] < ref - tol
    full_ok = (check["status"] == 0) & ~better_inside
    for a, i in enumerate(found):
        g = bad[i]
        if full_ok[a]:
            for key in out:
                out[key][g] = check[key][a]
        elif not better_inside[a]:
            for key in out:
                out[key][g] = best[key][i]
    return out


def _run_chunked(setup: Setup, batch: SeriesBatch, X0: np.ndarray, *, progress: bool = False,
                 chunk: int = 4096, **lm_kw: Any) -> dict[str, np.ndarray]:
    n = batch.n
    if not progress or n <= chunk:
        return run_lm(setup, batch, X0, **lm_kw)
    from tqdm.auto import tqdm

    parts = []
    with tqdm(total=n, desc=f"fitting {setup.model.name}", unit="subject") as bar:
        for a in range(0, n, chunk):
            idx = np.arange(a, min(n, a + chunk))
            parts.append(run_lm(setup.rows(idx), batch.subset(idx), X0[idx], **lm_kw))
            bar.update(idx.size)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


#: largest relative residual of a fit that reproduces its data exactly (to rounding)
EXACT_FIT_RTOL = 1e-9


def _accept_exact_fits(out: dict[str, np.ndarray], batch: SeriesBatch) -> None:
    """Noise-free data: a fit that reproduces every measured point to rounding is the
    exact solution, even though the optimiser reports no convergence.

    With sigma estimated, -2 log L = n log(RSS / n) + const has no minimum as RSS -> 0,
    so the optimiser's convergence test (a decrease of -2 log L below ``ftol``) cannot
    hold at an exact fit: it stops with ``not_converged`` at the right parameters.
    Such rows (no censored point, every fitted value within :data:`EXACT_FIT_RTOL` of
    its datum) get ``success``; their sigma is at its floor (about 0).
    """
    st = out["status"]
    for s in np.flatnonzero(st == Status.NOT_CONVERGED):
        k = int(batch.nu[s])
        w = batch.W[s, :k]
        if k == 0 or np.any(w != 1):
            continue
        f, y = out["F"][s, :k], batch.Y[s, :k]
        scale = float(np.max(np.abs(y)))
        if np.all(np.isfinite(f)) and np.max(np.abs(f - y)) <= EXACT_FIT_RTOL * scale:
            st[s] = Status.SUCCESS


def make_result(mdl: Model, em: ErrorModel, setup: Setup, batch: SeriesBatch,
                fitted_rows: np.ndarray,
                out: dict[str, np.ndarray] | None, pre_status: np.ndarray, reasons: list[str], *,
                level: float = 0.95, dof_correction: bool = True,
                options: dict[str, Any] | None = None,
                start: np.ndarray | None = None) -> FitResult:
    """Assemble a :class:`FitResult` from kernel output for ``fitted_rows`` of ``batch``
    (``start``: working-scale starting rows of ``fitted_rows``, reported naturally)."""
    from scipy.special import ndtri, stdtrit

    n = batch.n
    NP, K = setup.NP, setup.K
    q = NP + em.n_params
    status = pre_status.astype(np.int8).copy()
    if out is not None and fitted_rows.size == n:  # every row fitted: use the arrays as they are
        X, info, F, neg2ll = out["X"], out["info"], out["F"], out["neg2ll"]
        nfev, iters, status = out["nfev"], out["iterations"], out["status"].astype(np.int8)
    else:
        X = np.full((n, K), np.nan)
        info = np.zeros((n, K, K))
        F = np.full(batch.T.shape, np.nan)
        neg2ll = np.full(n, np.nan)
        nfev = np.zeros(n, dtype=np.int64)
        iters = np.zeros(n, dtype=np.int64)
    if out is not None and 0 < fitted_rows.size < n:
        X[fitted_rows] = out["X"]
        info[fitted_rows] = out["info"]
        F[fitted_rows] = out["F"]
        neg2ll[fitted_rows] = out["neg2ll"]
        nfev[fitted_rows] = out["nfev"]
        iters[fitted_rows] = out["iterations"]
        status[fitted_rows] = out["status"]
    ok = status == 0
    est = np.full((n, q), np.nan)
    cov_w, cov, at_b = _covariances(setup, X, info, batch.nu, ok, dof_correction)
    if ok.all():
        est[:, :NP] = setup.to_natural(X)
        est[:, NP:] = setup.error_natural(X)
    elif ok.any():
        est[ok, :NP] = setup.to_natural(X[ok])
        est[ok, NP:] = setup.error_natural(X[ok])
    # reported fixed values even for failed subjects
    fixed_rows = ~np.isnan(setup.fixed)
    Xf = np.where(fixed_rows, setup.fixed, 0.0)
    for j in range(NP):
        if not setup.free[j]:
            est[:, j] = np.exp(Xf[:, j]) if setup.scale[j] == 1 else Xf[:, j]
    free_q = np.concatenate([setup.free[:NP] == 1, np.ones(em.n_params, bool)])
    if em.name == "combined":
        free_q[NP:] = setup.free[NP] == 1
    else:
        free_q[NP] = setup.free[NP] == 1
    k = setup.k_free
    d = batch.nu - (k - 1)
    if dof_correction:
        # one quantile per degrees of freedom up to the largest (few), not one per subject
        dc = np.maximum(d, 1).astype(np.int64)
        table = stdtrit(np.arange(1, int(dc.max(initial=1)) + 1), 0.5 + level / 2)
        tq = np.where(d > 0, table[dc - 1], np.nan)
    else:
        tq = np.full(n, ndtri(0.5 + level / 2))
    log_type = np.concatenate([setup.scale == 1, np.ones(em.n_params, bool)])
    # standard errors, Wald intervals (wald_intervals, row by row) and residuals
    se, lo, hi = np.empty((n, q)), np.empty((n, q)), np.empty((n, q))
    resid, wres = np.empty(F.shape), np.empty(F.shape)
    F = np.ascontiguousarray(F)
    result_rows(est, np.ascontiguousarray(cov), free_q, log_type, np.asarray(tq, np.float64),
                F, np.ascontiguousarray(batch.Y), np.asarray(batch.nu, np.int64), em.code, NP,
                se, lo, hi, resid, wres)
    at_bound = np.zeros((n, q), bool)
    at_bound[:, :NP] = at_b[:, :NP]
    if em.name == "combined":
        at_bound[:, NP] = at_b[:, NP] | at_b[:, NP + 1]
        at_bound[:, NP + 1] = at_b[:, NP]
    else:
        at_bound[:, NP] = at_b[:, NP]
    codes = np.flatnonzero(np.bincount(status.astype(np.int64)))
    if codes.size <= 1:
        messages = [STATUS_MESSAGES[int(codes[0])]] * n if n else []
    else:
        table = np.array([STATUS_MESSAGES.get(int(c), "") for c in range(codes[-1] + 1)],
                         dtype=object)
        messages = table[status].tolist()
    pnames = _param_names(mdl, em)
    for s in np.flatnonzero(status != 0):
        if reasons[s]:
            messages[s] = f"{messages[s]}: {reasons[s]}"
    for s in np.flatnonzero((status == 0) & at_bound.any(axis=1)):
        names = [nm for nm, b in zip(pnames, at_bound[s], strict=True) if b]
        messages[s] = f"{messages[s]} ({', '.join(names)} at a bound: no standard error)"
    units = parameter_units([p.unit for p in mdl.parameters], batch.unit) + em.units(batch.unit)
    return FitResult(
        model=mdl, error_model=em, subjects=batch.subjects, param_names=_param_names(mdl, em),
        param_units=units, free=free_q, estimate=est, stderr=se, covariance=cov, ci_lower=lo,
        ci_upper=hi, at_bound=at_bound, neg2ll=np.where(ok, neg2ll, np.nan),
        n_obs=batch.nu.astype(np.int64), k=k, status=status, message=messages, nfev=nfev,
        iterations=iters, fitted=F, residuals=resid, weighted_residuals=wres, data=batch,
        setup=setup, x=X, cov_working=cov_w, level=level, dof_correction=dof_correction,
        options=dict(options or {}), start=_natural_start(setup, est, fitted_rows, start),
    )


def _natural_start(setup: Setup, est: np.ndarray, rows: np.ndarray,
                   X0: np.ndarray | None) -> np.ndarray | None:
    """Starting values on the reported scale (NaN for rows not fitted)."""
    if X0 is None or not rows.size:
        return None
    out = np.full(est.shape, np.nan)
    X0 = np.asarray(X0, dtype=np.float64)
    with np.errstate(all="ignore"):
        out[rows, : setup.NP] = setup.to_natural(X0)
        out[rows, setup.NP:] = setup.error_natural(X0)
    return out


def _covariances(setup: Setup, X: np.ndarray, info: np.ndarray, nu: np.ndarray,
                 ok: np.ndarray, dof_correction: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Working and reported covariances and the at-bound mask of every row (NaN where
    the fit failed): the compiled per-row kernel, with the eigenvalue path of
    :func:`~tgsim.fitting.covariance.working_covariance` for rows it leaves (information not
    positive definite or nearly singular)."""
    n, K = X.shape
    q = setup.NP + setup.n_err
    cov_w = np.empty((n, K, K))
    cov = np.empty((n, q, q))
    at_b = np.zeros((n, K), bool)
    rows = np.flatnonzero(ok)
    if rows.size < n:
        cov_w[~ok] = np.nan
        cov[~ok] = np.nan
    if not rows.size:
        return cov_w, cov, at_b
    fac = dof_factor(nu[rows], setup.k_free, dof_correction)
    whole = rows.size == n
    Xr = np.ascontiguousarray(X) if whole else X[rows]
    cw = cov_w if whole else np.empty((rows.size, K, K))
    c = cov if whole else np.empty((rows.size, q, q))
    ab = at_b if whole else np.empty((rows.size, K), bool)
    back = np.zeros(rows.size, bool)
    covariance_rows(Xr, np.ascontiguousarray(info if whole else info[rows]), setup.free,
                    setup.lo, setup.hi, setup.scale, setup.NP, setup.em.name == "combined",
                    fac, cw, c, ab, back)
    if back.any():
        b = np.flatnonzero(back)
        cwb, abb = working_covariance(setup, Xr[b], info[rows[b]], nu[rows[b]],
                                      dof_correction=dof_correction)
        cw[b], ab[b] = cwb, abb
        c[b] = natural_covariance(setup, Xr[b], cwb)
    if not whole:
        cov_w[rows], cov[rows], at_b[rows] = cw, c, ab
    return cov_w, cov, at_b


def _param_names(mdl: Model, em: ErrorModel) -> tuple[str, ...]:
    return mdl.parameter_names + em.parameters


def _check_fit_options(*, max_iter: Any, max_steps: Any, ftol: Any, xtol: Any, rtol: Any,
                       atol: Any, level: Any, n_starts: Any, restarts: Any) -> None:
    """The numeric options of :func:`fit`, each named in its error."""
    for nm, v in (("max_iter", max_iter), ("max_steps", max_steps)):
        _check_positive(nm, v, integer=True)
    for nm, v in (("ftol", ftol), ("xtol", xtol), ("rtol", rtol), ("atol", atol)):
        _check_positive(nm, v)
    if not (isinstance(level, float | int) and 0 < level < 1):
        raise TgsimError(f"`level` must be in (0, 1); got {level!r}")
    _check_positive("n_starts", n_starts, integer=True)
    if not (isinstance(restarts, int | np.integer) and not isinstance(restarts, bool)
            and restarts >= 0):
        raise TgsimError(f"`restarts` must be a non-negative integer; got {restarts!r}")


def fit(
    data: Any,
    model: str | Model,
    *,
    error_model: str = "proportional",
    method: str = "lm",
    bounds: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, Any] | None = None,
    start: Mapping[str, Any] | None = None,
    schedule: Any = None,
    t0: Any = None,
    unit: str | None = None,
    censored: Any = None,
    solver: str | None = None,
    n_starts: int = 1,
    restarts: int = 3,
    seed: int | None = 0,
    max_iter: int = 200,
    ftol: float = 1e-8,
    xtol: float = 1e-12,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_steps: int = 100_000,
    level: float = 0.95,
    dof_correction: bool = True,
    progress: bool = False,
) -> FitResult:
    r"""Fit a growth law to one series or many by maximum likelihood.

    Every subject is fitted separately, all in one call of a compiled, parallel
    Levenberg-Marquardt kernel (see :mod:`tgsim.fitting.lm`). A subject that cannot be fitted
    gets its own status and message; it never stops the batch. A small untreated
    closed-form fit whose kernels are not compiled yet runs the same iteration in NumPy
    instead of waiting for the compiler (:mod:`tgsim.fitting.paths`; ``TGSIM_FIT_PATH``
    forces either path).

    Parameters
    ----------
    data : Dataset, path, DataFrame or (times, values)
        Measurements: a series Dataset (:func:`tgsim.io.read_series`,
        :func:`tgsim.datasets.load`), a tidy CSV path, a tidy DataFrame, or arrays — 1-D
        ``times`` (days) and ``values`` for one series, or 2-D (subject, obs) padded with
        NaN. Values in mm^3; diameters in mm are converted to sphere volumes
        :math:`\pi d^3/6` (see :mod:`tgsim.fitting.data`). NaN points are skipped.
    model : str or Model
        A card name (``"gompertz"``), a card path, or a :class:`~tgsim.Model`.
    error_model : {"proportional", "additive", "combined", "lognormal"}
        Residual error model; the likelihood of each is in :mod:`tgsim.fitting.likelihood`:

        * additive: :math:`y = f + \sigma\varepsilon`,
          :math:`-2\log L = \sum \log(2\pi\sigma^2) + (y-f)^2/\sigma^2`;
        * proportional: :math:`y = f(1 + \sigma\varepsilon)`,
          :math:`-2\log L = \sum \log(2\pi\sigma^2 f^2) + (y-f)^2/(\sigma f)^2`;
        * combined: :math:`y = f + (a + b f)\varepsilon`;
        * lognormal: :math:`\log y = \log f + \sigma\varepsilon` (least squares on log
          values; the likelihood on the original scale adds :math:`2\sum\log y`).

        Sigma (a, b) is estimated jointly by maximum likelihood, not profiled out of the
        reported likelihood; left-censored points enter through
        :math:`-2\log\Phi((L - f)/\mathrm{sd})` (Beal's M3).
    method : {"lm"}
        The batched Levenberg-Marquardt / Fisher-scoring kernel.
    bounds : mapping, optional
        ``{name: (lower, upper)}`` replacing card bounds (default: the card's bounds).
    fixed : mapping, optional
        ``{name: value}`` (scalar or one per subject) held fixed; growth or error
        parameters (e.g. ``{"initial_volume": 1.0}`` or ``{"sigma": 0.1}``). Card
        parameters marked ``required = false`` (exponential-linear psi) are fixed at
        their default unless given here.
    start : mapping, optional
        Starting values ``{name: value}`` (default: card defaults adjusted to the data).
    schedule : Schedule or list of interventions, optional
        Treatment the subjects received (days on the data's time axis); the fit then
        integrates the ODE with sensitivities.
    t0 : float or array, optional
        Time origin (days) of ``initial_volume``; default each subject's first time.
    unit : str, optional
        Unit of the values; needed to fit a non-size quantity (e.g. ``"photons/s"``).
    censored : array of bool, optional
        Left-censoring flags for array input (value = detection limit).
    solver : {None, "ode", "closed_form"}
        Force the ODE path or the closed form (default: closed form when the card has
        one and there is no schedule).
    n_starts : int
        Starts per subject (1: the data-driven start, with ``restarts`` screened
        multi-starts only for subjects whose fit failed).
    restarts : int
        Extra starts tried for a failed subject (0 disables multi-start). Fits of
        saturating laws that may sit in a local optimum (a series dipping below its first
        value; a fit that failed, ended on a bound or is degenerate) are also rerun from
        the best of a deterministic set of data-driven starts (:mod:`tgsim.fitting.starts`),
        unless ``restarts=0``.
    seed : int, optional
        Seed of the multi-start candidates.
    max_iter, ftol, xtol : int, float, float
        Iteration budget; convergence when the Newton decrement is below ``ftol``
        (units of -2 log L) or a step is below ``xtol`` relative to the parameters.
    rtol, atol, max_steps : float, float, int
        ODE tolerances (relative; absolute in the data unit) and step budget.
    level : float
        Confidence level of the Wald intervals.
    dof_correction : bool
        Scale the covariance by n/(n - p) and use Student t intervals (see
        :mod:`tgsim.fitting.covariance`); False gives the plain asymptotic ML covariance.
    progress : bool
        Show a progress bar (tqdm) on large batches.

    Returns
    -------
    FitResult
        Estimates, standard errors, RSE %, covariance, intervals, -2 log L, AIC, AICc,
        BIC (k counts the error parameters), residuals, ``success``/``status``/
        ``message`` and ``nfev`` per subject; ``summary()``, ``plot()``,
        ``to_dataset()``, ``to_frame()``, ``predict()``.

    Raises
    ------
    TgsimError
        Invalid options or data (the message names the argument and value).

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)
    >>> y = 2000 * (50 / 2000) ** np.exp(-0.1 * t) * (1 + 0.05 * np.sin(t))
    >>> res = tgsim.fit((t, y), "gompertz", error_model="proportional", unit="mm^3")
    >>> res.params.round(2).iloc[0].tolist()        # V0, growth rate, K and sigma
    [50.18, 0.1, 2043.87, 0.03]
    >>> print(res.summary())                        # doctest: +ELLIPSIS
    tgsim fit: model 'gompertz', proportional error, 1 subject(s), values in mm^3
    ...
    """
    if method not in METHODS:
        raise TgsimError(f"`method` must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    mdl = get_model(model)
    em = get_error_model(error_model)
    _check_fit_options(max_iter=max_iter, max_steps=max_steps, ftol=ftol, xtol=xtol,
                       rtol=rtol, atol=atol, level=level, n_starts=n_starts,
                       restarts=restarts)
    batch = as_batch(data, unit=unit, censored=censored, t0=t0, log_scale=em.log_scale)
    return fit_prepared(batch, mdl, em, bounds=bounds, fixed=fixed, start=start,
                        schedule=schedule, solver=solver, n_starts=n_starts, restarts=restarts,
                        seed=seed, max_iter=max_iter, ftol=ftol, xtol=xtol, rtol=rtol,
                        atol=atol, max_steps=max_steps, level=level,
                        dof_correction=dof_correction, progress=progress, method=method)


def fit_prepared(batch: SeriesBatch, mdl: Model, em: ErrorModel, *, bounds=None, fixed=None,
                 start=None, schedule=None, solver=None, n_starts=1, restarts=3, seed=0,
                 max_iter=200, ftol=1e-8, xtol=1e-12, rtol=1e-10, atol=1e-12,
                 max_steps=100_000, level=0.95, dof_correction=True, progress=False,
                 method="lm") -> FitResult:
    """:func:`fit` on an already validated :class:`SeriesBatch` (options as in fit)."""
    tmax = float(np.max(batch.T)) if batch.T.size else 1.0
    setup = build_setup(mdl, batch.n, em, fixed=fixed, bounds=bounds, schedule=schedule,
                        solver=solver, t_range=(float(np.min(batch.t0)), tmax), rtol=rtol,
                        atol=atol, max_steps=max_steps)
    pre, reasons = precheck(setup, batch)
    rows = np.flatnonzero(pre == 0)
    out = None
    X0 = None
    if rows.size:
        whole = rows.size == batch.n  # every subject fitted: no copies
        sub = setup if whole else setup.rows(rows)
        bsub = batch if whole else batch.subset(rows)
        X0 = heuristic_start(sub, bsub, start)

        def alt_start(r: np.ndarray) -> np.ndarray:
            return heuristic_start(sub.rows(r), bsub.subset(r), start, integral=False)

        integral = INTEGRAL_LAWS.get(mdl.name) is not None and sub.untreated
        out = fit_batch_rows(sub, bsub, X0, n_starts=n_starts, restarts=restarts, seed=seed,
                             alt_start=alt_start if integral else None,
                             progress=progress, max_iter=max_iter, ftol=ftol, xtol=xtol)
        _accept_exact_fits(out, bsub)
    options = dict(method=method, error_model=em.name, fixed=dict(fixed or {}),
                   bounds=dict(bounds or {}), n_starts=n_starts, restarts=restarts,
                   max_iter=max_iter, ftol=ftol, xtol=xtol, rtol=rtol, atol=atol,
                   solver="closed_form" if setup.mode == 0 else "ode")
    return make_result(mdl, em, setup, batch, rows, out, pre, reasons, level=level,
                       dof_correction=dof_correction, options=options,
                       start=X0 if rows.size else None)
