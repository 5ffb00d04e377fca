r"""Data-driven multi-start for saturating growth laws.

A saturating law (logistic, Gompertz, Bertalanffy, ...) fitted to a series that shrinks,
jumps or levels off has several local optima: a slow, nearly exponential curve with a
huge carrying capacity, a constant, a fast step from the first value to a plateau, or a
hyperbolic decay towards a carrying capacity near zero. The default start (the integral
method, or the card defaults adjusted to the data) finds the one nearest to it.

:func:`plateau_candidates` builds, per series, a deterministic set of starts from the
data: the first value as ``initial_volume``; plateaus at the smallest value, the median
and the mean of the later values, the last value, just above the largest value and near
zero; each specific rate (every free parameter in 1/day) at 0.3 / span, 3 / span,
3 / (first interval), 30 / (first interval) and on a geometric grid over its bounds, span
being the time from t0 to the last point. A Bertalanffy gain coefficient follows from the
plateau: a = b K^(1 - gamma). :func:`refine_from_candidates` scores them by -2 log L (one
evaluation each, no iteration) and reruns the Levenberg-Marquardt iteration from the best
few, for the fits that may sit in a local optimum only (:func:`_suspect`), so a batch of
growing series fitted in the law's own regime costs one pass over its values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .data import SeriesBatch
from .lm import Setup

__all__ = ["plateau_candidates", "refine_from_candidates"]

#: plateaus tried, as functions of (smallest, median of later, last, largest) values
_PLATEAU_RULES = ("min", "median_later", "mean_later", "last", "above_max", "near_zero")
#: points of the geometric grid of rates over the bounds
N_GRID = 8


def _summaries(batch: SeriesBatch) -> dict[str, np.ndarray]:
    """Per row: first, smallest, largest, last and median-of-later measured values, the
    span (t0 to the last point) and the first interval (days)."""
    n, m = batch.Y.shape
    meas = (batch.W == 1.0) & (np.arange(m)[None, :] < batch.nu[:, None])
    Y = np.where(meas, batch.Y, np.nan)
    T = np.where(meas, batch.T, np.nan)
    have = meas.any(axis=1)
    first = np.argmax(meas, axis=1)
    last = m - 1 - np.argmax(meas[:, ::-1], axis=1)
    rows = np.arange(n)
    later = Y.copy()
    later[rows, first] = np.nan
    with np.errstate(all="ignore"), _quiet():
        ymax = np.nanmax(np.where(have[:, None], Y, 1.0), axis=1)
        floor = 1e-9 * np.abs(ymax)
        pos = np.where(Y > floor[:, None], Y, np.nan)
        out = {
            "first": batch.Y[rows, first],
            "min": np.nanmin(pos, axis=1),
            "max": ymax,
            "last": batch.Y[rows, last],
            "median_later": np.nanmedian(np.where(later > floor[:, None], later, np.nan),
                                         axis=1),
            "mean_later": np.nanmean(np.where(later > floor[:, None], later, np.nan), axis=1),
            "span": T[rows, last] - batch.t0,
            "gap": np.nanmin(np.where(T > T[rows, first][:, None], T, np.nan), axis=1)
            - T[rows, first],
        }
    out["have"] = have & np.isfinite(out["min"]) & (out["span"] > 0)
    return out


class _quiet:
    """Silence 'All-NaN slice' warnings of nanmin/nanmedian (rows with one point)."""

    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def plateau_candidates(setup: Setup, batch: SeriesBatch, X: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray] | None:
    """Working-scale starts (n, c, K) for a saturating law, and the rows they apply to.

    ``X`` (n, K) gives the components the rules leave alone (shape exponents, error
    parameters); fixed components keep their fixed values. None when the card has no
    plateau (no ``carrying_capacity``, no Bertalanffy gain/loss pair) or no free rate.
    """
    mdl = setup.model
    names = mdl.parameter_names
    NP = setup.NP
    free = setup.free[:NP] == 1
    kcol = names.index("carrying_capacity") if "carrying_capacity" in names else -1
    # the gain coefficient a of a V^gamma - b V (its unit is not 1/day)
    gain = next((names.index(nm) for nm in ("growth_coefficient", "growth_rate")
                 if nm in names and mdl.parameter(nm).unit.replace(" ", "") != "1/day"), -1)
    loss = names.index("loss_rate") if "loss_rate" in names else -1
    expo = names.index("exponent") if "exponent" in names else -1
    bert = gain >= 0 and loss >= 0 and expo >= 0
    rates = [j for j, p in enumerate(mdl.parameters)
             if free[j] and p.unit.replace(" ", "") == "1/day"]
    if (kcol < 0 and not bert) or not rates:
        return None
    s = _summaries(batch)
    n = batch.n
    big = np.where(s["have"], s["max"], 1.0)
    plateau = {
        "min": s["min"], "median_later": s["median_later"], "mean_later": s["mean_later"],
        "last": s["last"],
        "above_max": 1.05 * big, "near_zero": 1e-3 * s["min"],
    }
    span = np.where(s["have"], s["span"], 1.0)
    gap = np.where(np.isfinite(s["gap"]) & (s["gap"] > 0), s["gap"], span)
    rate = [0.3 / span, 3.0 / span, 3.0 / gap, 30.0 / gap]
    lo_n = np.where(setup.scale == 1, np.exp(setup.lo[:NP]), setup.lo[:NP])
    hi_n = np.where(setup.scale == 1, np.exp(setup.hi[:NP]), setup.hi[:NP])
    # and a geometric grid over the bounds of the first rate (a plateau near zero needs
    # a rate scaled by plateau / first value, far from the data's time scale)
    j0 = rates[0]
    r_lo, r_hi = max(lo_n[j0], 1e-12 * hi_n[j0]), hi_n[j0]
    rate += [np.full(n, v) for v in np.geomspace(r_lo, r_hi, N_GRID)]
    P0 = setup.to_natural(X)
    combos = [(kp, rr) for kp in _PLATEAU_RULES for rr in range(len(rate))]
    P = np.repeat(P0[:, None, :], len(combos), axis=1)
    v0 = names.index("initial_volume")
    for c, (kp, rr) in enumerate(combos):
        k = plateau[kp]
        r = rate[rr]
        if free[v0]:
            P[:, c, v0] = s["first"]
        for j in rates:
            P[:, c, j] = r
        if kcol >= 0 and free[kcol]:
            P[:, c, kcol] = k
        if bert and free[gain]:
            gam = P[:, c, expo]
            P[:, c, gain] = P[:, c, loss] * np.abs(k) ** (1.0 - gam)
    with np.errstate(all="ignore"):
        P = np.where(np.isfinite(P) & ((setup.scale == 0) | (P > 0)), P, P0[:, None, :])
        P = np.clip(P, lo_n, hi_n)
        C = np.repeat(X[:, None, :], len(combos), axis=1).copy()
        C[:, :, :NP] = setup.to_working(P)
    fx = ~np.isnan(setup.fixed)
    if fx.any():
        C = np.where(fx[:, None, :], setup.fixed[:, None, :], C)
    C = np.clip(C, setup.lo, setup.hi)
    return C, np.flatnonzero(s["have"])


def refine_from_candidates(setup: Setup, batch: SeriesBatch, out: dict[str, np.ndarray],
                           *, n_runs: int = 3, **lm_kw: Any) -> dict[str, np.ndarray]:
    """Rerun the fits of series that stop growing from the best data-driven starts.

    Untreated fits only. Rows that may sit in a local optimum (:func:`_suspect`) are
    scored at each of :func:`plateau_candidates` (one evaluation each); the iteration
    is rerun from the best ``n_runs`` of them (then settled on a bound where it stalls there, see
    :func:`tgsim.fitting.core.settle_at_bounds`), and a rerun replaces the fit when it
    converges to a lower -2 log L. Series fitted in the law's own regime cost one pass
    over their values.
    """
    from .core import _screen, settle_at_bounds

    if not setup.untreated:  # under treatment a dip is the treatment's, not a plateau
        return out
    rows = np.flatnonzero(_suspect(setup, batch, out))
    if not rows.size:
        return out
    sub, bsub = setup.rows(rows), batch.subset(rows)
    made = plateau_candidates(sub, bsub, out["X"][rows])
    if made is None:
        return out
    C = made[0]
    phi = _screen(sub, bsub, C)
    order = np.argsort(phi, axis=1, kind="stable")[:, :n_runs]
    for r in range(order.shape[1]):
        pick = order[:, r]
        idx = np.flatnonzero(np.isfinite(phi[np.arange(rows.size), pick]))
        if not idx.size:
            break
        res = _run(sub.rows(idx), bsub.subset(idx), C[idx, pick[idx]], **lm_kw)
        res = settle_at_bounds(sub.rows(idx), bsub.subset(idx), res, **lm_kw)
        g = rows[idx]
        cur = out["objective"][g]
        better = (res["status"] == 0) & np.isfinite(res["objective"]) & (
            (out["status"][g] != 0) | (res["objective"] < cur - 1e-9 * (1 + np.abs(cur))))
        for key in out:
            out[key][g[better]] = res[key][better]
    return out


def _suspect(setup: Setup, batch: SeriesBatch, out: dict[str, np.ndarray]) -> np.ndarray:
    """Rows worth more starts: the series dips below its first value, or the fit failed,
    ended on a bound or is degenerate (a plateau three decades above the largest value
    or below the smallest, or a rate whose product with the span is below 1e-3: the law
    has lost its saturation or its dynamics, the usual local optima of a shrinking or
    flat series). Growing series fitted in the law's own regime are left alone."""
    from .core import _on_bound

    n, m = batch.Y.shape
    meas = (batch.W == 1.0) & (np.arange(m)[None, :] < batch.nu[:, None])
    rows = np.arange(n)
    first_i = np.argmax(meas, axis=1)
    last_i = m - 1 - np.argmax(meas[:, ::-1], axis=1)
    Y = np.where(meas, batch.Y, np.nan)
    with np.errstate(all="ignore"), _quiet():
        first = batch.Y[rows, first_i]
        ymin, ymax = np.nanmin(Y, axis=1), np.nanmax(Y, axis=1)
        span = batch.T[rows, last_i] - batch.t0
        flag = (ymin < first) | (out["status"] != 0) | _on_bound(setup, out["X"])
        X = out["X"]
        names = setup.model.parameter_names
        free = setup.free[: setup.NP] == 1

        def natural(j: int) -> np.ndarray:
            return np.exp(X[:, j]) if setup.scale[j] == 1 else X[:, j]

        if "carrying_capacity" in names and free[names.index("carrying_capacity")]:
            k = natural(names.index("carrying_capacity"))
            flag |= (k > 1e3 * ymax) | (k < 1e-3 * ymin)
        for j, p in enumerate(setup.model.parameters):
            if free[j] and p.unit.replace(" ", "") == "1/day":
                flag |= natural(j) * span < 1e-3
    return meas.any(axis=1) & (span > 0) & flag


def _run(setup: Setup, batch: SeriesBatch, X0: np.ndarray, **lm_kw: Any):
    from .lm import run_lm

    return run_lm(setup, batch, X0, **lm_kw)
