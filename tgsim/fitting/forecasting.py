r"""Prediction: forecasting later sizes from early ones, and backward prediction of age.

:func:`forecast`
    Fits each subject's first ``n_fit`` points and predicts the remaining ones, as in
    Benzekry et al. (2014, "prediction" part). For every held-out point: the prediction
    f, its pointwise prediction interval (parameter uncertainty by the delta method,
    :math:`J\,\mathrm{Cov}\,J^T`, plus the residual error of the error model; log scale for
    the log-normal model), the relative error :math:`(f - y)/y` and whether y lies inside
    the interval. The *prediction score* at a horizon is the percentage of held-out points
    inside their interval — the success criterion of Benzekry 2014, who counted a
    forecast as successful when the observation fell within the prediction band built
    from their error model; the normalisation here is this fit's own error model.

:func:`tumour_age`
    Backward extrapolation of a fitted closed-form growth law: the time t* at which the
    model size equals ``volume`` (default one cell, 1e-6 mm^3, taking 1 mm^3 ~ 1e6 cells),
    found by bisection, and the age ``t_ref - t*``. An interval comes from propagating the
    asymptotic distribution of the estimates (draws from the normal approximation on the
    fitting scale). This is the likelihood-only back-prediction that Vaghi et al. (2020)
    compared with their Bayesian reduced-Gompertz approach.

References
----------
Benzekry S et al. Classical mathematical models for description and prediction of
experimental tumor growth. PLoS Comput Biol 2014;10:e1003800. Vaghi C et al. Population
modeling of tumor growth curves and the reduced Gompertz model improve prediction of the
age of experimental tumors. PLoS Comput Biol 2020;16:e1007178.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.catalogue import Model
from ..engine.catalogue import model as get_model
from ..errors import TgsimError
from .core import fit_prepared
from .data import as_batch
from .likelihood import error_model as get_error_model
from .lm import predict
from .result import FitResult

__all__ = ["forecast", "ForecastResult", "tumour_age", "TumourAge", "CELL_VOLUME"]

#: volume of one tumour cell, mm^3 (1 mm^3 ~ 1e6 cells)
CELL_VOLUME = 1e-6


@dataclass
class ForecastResult:
    """Held-out predictions of :func:`forecast`.

    Arrays have dims (subject, step): step k is the k-th point after the fitted ones.

    Attributes
    ----------
    fit : FitResult
        The fits to the first ``n_fit`` points.
    n_fit : int
    time, horizon : ndarray
        Time of the held-out point (days) and its distance from the last fitted point.
    observed, predicted, lower, upper : ndarray
        ScanProtocol, prediction and prediction interval (data unit).
    relative_error : ndarray
        (predicted - observed) / observed.
    inside : ndarray of float
        1.0 where the observation lies in the interval, 0.0 where not, NaN where there
        is nothing to score.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)
    >>> y = 2000 * (50 / 2000) ** np.exp(-0.1 * t) * (1 + 0.05 * np.sin(t))
    >>> fc = tgsim.forecast((t, y), "gompertz", n_fit=7, unit="mm^3")
    >>> fc.n_fit, bool(np.all((fc.lower < fc.predicted) & (fc.predicted < fc.upper)))
    (7, True)
    >>> print(fc.summary())                           # doctest: +ELLIPSIS
    forecast with 'gompertz' (proportional error) from the first 7 points; 95% prediction intervals
    ...
    """

    fit: FitResult
    n_fit: int
    level: float
    subjects: np.ndarray
    time: np.ndarray
    horizon: np.ndarray
    observed: np.ndarray
    predicted: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    relative_error: np.ndarray
    inside: np.ndarray

    @property
    def n_scored(self) -> int:
        """Subjects with at least one scored prediction."""
        return int(np.any(np.isfinite(self.inside), axis=1).sum())

    @property
    def score(self) -> np.ndarray:
        """Prediction score (%) per step: share of held-out points inside the interval."""
        with np.errstate(invalid="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return 100.0 * np.nanmean(self.inside, axis=0)

    @property
    def mape(self) -> np.ndarray:
        """Mean absolute percentage error per subject over its held-out points."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return 100.0 * np.nanmean(np.abs(self.relative_error), axis=1)

    def summary(self) -> str:
        f = self.fit
        lines = [
            f"forecast with {f.model.name!r} ({f.error_model.name} error) from the first "
            f"{self.n_fit} points; {self.level:.0%} prediction intervals",
            f"fitted: {int(f.success.sum())} of {f.n_subjects} subjects converged; "
            f"{self.n_scored} scored",
            f"{'step':>4} {'n':>5} {'median horizon':>15} {'score %':>8} "
            f"{'median |rel err| %':>19}",
        ]
        for k in range(self.time.shape[1]):
            m = np.isfinite(self.inside[:, k])
            if not m.any():
                continue
            lines.append(
                f"{k + 1:>4} {int(m.sum()):>5} {np.median(self.horizon[m, k]):>15.3g} "
                f"{self.score[k]:>8.1f} {100 * np.median(np.abs(self.relative_error[m, k])):>19.2f}"
            )
        return "\n".join(lines)

    def to_dataset(self):
        import xarray as xr

        dims = ("subject", "step")
        return xr.Dataset(
            {
                "time": (dims, self.time, {"units": "day"}),
                "horizon": (dims, self.horizon, {"units": "day"}),
                "observed": (dims, self.observed, {"units": self.fit.unit}),
                "predicted": (dims, self.predicted, {"units": self.fit.unit}),
                "lower": (dims, self.lower, {"units": self.fit.unit}),
                "upper": (dims, self.upper, {"units": self.fit.unit}),
                "relative_error": (dims, self.relative_error),
                "inside": (dims, self.inside),
                "score": (("step",), self.score, {"units": "%"}),
            },
            coords={"subject": self.subjects, "step": np.arange(1, self.time.shape[1] + 1)},
            attrs={"model": self.fit.model.name, "n_fit": self.n_fit, "level": self.level,
                   "error_model": self.fit.error_model.name},
        )


def forecast(data: Any, model: str | Model, n_fit: int, *, error_model: str = "proportional",
             level: float = 0.95, t0: Any = None, unit: str | None = None,
             **fit_kwargs: Any) -> ForecastResult:
    """Fit the first ``n_fit`` points of each series and predict the rest.

    Parameters
    ----------
    data
        Anything :func:`tgsim.fit` accepts.
    model : str or Model
    n_fit : int
        Points used for fitting (the first ``n_fit`` usable points of each subject).
    error_model : str
    level : float
        Level of the prediction intervals.
    t0, unit
        As in :func:`tgsim.fit`.
    **fit_kwargs
        Other :func:`tgsim.fit` options (``fixed``, ``bounds``, ...).

    Returns
    -------
    ForecastResult
        Predictions, intervals, relative errors and the prediction score per step.

    Examples
    --------
    Fit the first 7 of 10 points, predict the last 3:

    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)
    >>> y = 2000 * (50 / 2000) ** np.exp(-0.1 * t) * (1 + 0.05 * np.sin(t))
    >>> fc = tgsim.forecast((t, y), "gompertz", n_fit=7, unit="mm^3")
    >>> fc.time.tolist(), fc.horizon.tolist()       # held-out days, days after the last fitted
    ([[21.0, 24.0, 27.0]], [[3.0, 6.0, 9.0]])
    >>> bool(np.all(np.abs(fc.relative_error) < 0.1))
    True
    """
    from scipy.stats import norm

    if int(n_fit) != n_fit or n_fit < 1:
        raise TgsimError(f"`n_fit` must be a positive integer; got {n_fit!r}")
    n_fit = int(n_fit)
    mdl = get_model(model)
    em = get_error_model(error_model)
    batch = as_batch(data, unit=unit, t0=t0, log_scale=em.log_scale)
    early = batch.truncate(n_fit)
    res = fit_prepared(early, mdl, em, level=level, **fit_kwargs)
    S = batch.n
    rest = np.maximum(batch.nu - n_fit, 0)
    width = max(int(rest.max()) if S else 0, 1)
    T = np.zeros((S, width))
    Y = np.full((S, width), np.nan)
    W = np.zeros((S, width))
    for s in range(S):
        k = rest[s]
        T[s, :k] = batch.T[s, n_fit:n_fit + k]
        Y[s, :k] = batch.Y[s, n_fit:n_fit + k]
        W[s, :k] = batch.W[s, n_fit:n_fit + k]
        if k < width:
            T[s, k:] = T[s, k - 1] if k else batch.t0[s]
    ok = res.success & (rest > 0)
    pred = np.full((S, width), np.nan)
    lo = np.full((S, width), np.nan)
    hi = np.full((S, width), np.nan)
    rows = np.flatnonzero(ok)
    if rows.size:
        P = res.growth_estimate[rows]
        F, J, st = predict(res.setup.rows(rows), T[rows], rest[rows], batch.t0[rows], P,
                           jacobian=True)
        npg = len(res.growth_names)
        C = np.nan_to_num(res.covariance[rows, :npg, :npg], nan=0.0)
        var_f = np.einsum("sti,sij,stj->st", J, C, J)
        z = norm.ppf(0.5 + level / 2)
        err = res.estimate[rows, npg:]
        with np.errstate(all="ignore"):
            if em.name == "lognormal":
                v = var_f / F**2 + err[:, :1] ** 2
                L, U = F * np.exp(-z * np.sqrt(v)), F * np.exp(z * np.sqrt(v))
            else:
                s_ = np.sqrt(var_f + em.sd(F, err) ** 2)
                L, U = F - z * s_, F + z * s_
        pred[rows], lo[rows], hi[rows] = F, L, U
    valid = (np.arange(width)[None, :] < rest[:, None]) & (W == 1.0)
    last = np.where(rest > 0, batch.T[np.arange(S), np.clip(n_fit - 1, 0, None)], np.nan)
    horizon = np.where(valid, T - last[:, None], np.nan)
    with np.errstate(all="ignore"):
        rel = np.where(valid, (pred - Y) / Y, np.nan)
        inside = np.where(valid & np.isfinite(pred), ((Y >= lo) & (Y <= hi)).astype(float),
                          np.nan)
    return ForecastResult(
        fit=res, n_fit=n_fit, level=level, subjects=batch.subjects,
        time=np.where(valid, T, np.nan), horizon=horizon, observed=np.where(valid, Y, np.nan),
        predicted=np.where(valid, pred, np.nan), lower=np.where(valid, lo, np.nan),
        upper=np.where(valid, hi, np.nan), relative_error=rel, inside=inside,
    )


@dataclass
class TumourAge:
    """Backward prediction of the time at which each tumour had a given size.

    Attributes
    ----------
    volume : float
        Reference size (data unit; default one cell, 1e-6 mm^3).
    subjects : ndarray
    time : ndarray
        Estimated time t* (days, on the data's time axis) at which the size was ``volume``.
    age : ndarray
        ``t_ref - t*`` (days), with t_ref each subject's t0 (first point by default).
    lower, upper : ndarray
        Percentile interval of t* from parameter uncertainty (NaN when unavailable).

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)
    >>> y = 2000 * (50 / 2000) ** np.exp(-0.1 * t) * (1 + 0.05 * np.sin(t))
    >>> age = tgsim.tumour_age(tgsim.fit((t, y), "gompertz", unit="mm^3"), n_draws=100)
    >>> bool(age.lower[0] < age.time[0] < age.upper[0])
    True
    >>> print(age.summary())                          # doctest: +ELLIPSIS
    back-prediction of the time at size 1e-06 (95% interval from parameter uncertainty)
    ...
    """

    volume: float
    level: float
    subjects: np.ndarray
    time: np.ndarray
    age: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    t_ref: np.ndarray

    def summary(self) -> str:
        lines = [f"back-prediction of the time at size {self.volume:g} "
                 f"({self.level:.0%} interval from parameter uncertainty)"]
        for i, s in enumerate(self.subjects[:50]):
            lines.append(f"  {s!s:>12}: t* = {self.time[i]:.4g} d  (age at "
                         f"{self.t_ref[i]:g} d: {self.age[i]:.4g} d)  "
                         f"[{self.lower[i]:.4g}, {self.upper[i]:.4g}]")
        return "\n".join(lines)

    def to_dataset(self):
        import xarray as xr

        return xr.Dataset(
            {"time": (("subject",), self.time, {"units": "day"}),
             "age": (("subject",), self.age, {"units": "day"}),
             "lower": (("subject",), self.lower, {"units": "day"}),
             "upper": (("subject",), self.upper, {"units": "day"})},
            coords={"subject": self.subjects},
            attrs={"volume": self.volume, "level": self.level},
        )


def _solve_time(setup, P: np.ndarray, t0: np.ndarray, volume: float, horizon: float,
                iters: int = 80) -> np.ndarray:
    """Bisection for f(t) = volume on [t0 - horizon, t0] (f increasing in t)."""
    n = P.shape[0]
    lo = t0 - horizon
    hi = t0.copy()

    def f_at(t):
        F, _, _ = predict(setup, t[:, None], np.ones(n, dtype=np.int64), t0, P)
        return F[:, 0]

    flo = f_at(lo)
    fhi = f_at(hi)
    ok = (np.nan_to_num(flo, nan=-np.inf) <= volume) & (fhi >= volume)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        fm = f_at(mid)
        below = ~(fm > volume)  # NaN (before the start of a finite-time law) counts as below
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.where(ok, 0.5 * (lo + hi), np.nan)


def tumour_age(result: FitResult, volume: float = CELL_VOLUME, *, level: float = 0.95,
               n_draws: int = 500, horizon: float = 5000.0, seed: int | None = 0) -> TumourAge:
    """Back-predict when each tumour had size ``volume`` (default: one cell, 1e-6 mm^3).

    Parameters
    ----------
    result : FitResult
        A fit of a card with a closed form and no treatment.
    volume : float
        Reference size, in the fit's unit (mm^3).
    level : float
        Level of the interval from ``n_draws`` draws of the estimates (normal on the
        fitting scale, asymptotic covariance).
    horizon : float
        How far back (days) to search; beyond it the time is NaN.
    seed : int, optional

    Returns
    -------
    TumourAge

    Examples
    --------
    Gompertz growth, V(t) = K (V0/K)^exp(-a t), reaches one cell (1e-6 mm^3) at
    t = -ln(ln(1e-6/K) / ln(V0/K)) / a; the back-prediction agrees with it:

    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)
    >>> y = 2000 * (50 / 2000) ** np.exp(-0.1 * t) * (1 + 0.05 * np.sin(t))
    >>> res = tgsim.fit((t, y), "gompertz", unit="mm^3")
    >>> age = tgsim.tumour_age(res, volume=1e-6, n_draws=100)
    >>> v0, a, k = res.params.iloc[0, :3]
    >>> closed = -np.log(np.log(1e-6 / k) / np.log(v0 / k)) / a
    >>> bool(np.isclose(age.time[0], closed, rtol=1e-4)), round(float(age.age[0]), 1)
    (True, 17.8)
    """
    setup = result.setup
    if setup.mode != 0:
        raise TgsimError(
            f"tumour_age needs the untreated closed form; model {result.model.name!r} "
            + ("has none" if not result.model.has_closed_form else "was fitted with the ODE path")
        )
    if not (np.isfinite(volume) and volume > 0):
        raise TgsimError(f"`volume` must be a positive size ({result.unit}); got {volume!r}")
    n = result.n_subjects
    t0 = result.data.t0
    P = result.growth_estimate.copy()
    ok = result.success.copy()
    P[~ok] = np.array([p.default for p in result.model.parameters])
    t_star = _solve_time(setup, P, t0, float(volume), float(horizon))
    t_star[~ok] = np.nan
    lower = np.full(n, np.nan)
    upper = np.full(n, np.nan)
    rows = np.flatnonzero(ok)
    if rows.size and n_draws > 1:
        rng = np.random.default_rng(seed)
        NP = setup.NP
        C = np.nan_to_num(result.cov_working[rows][:, :NP, :NP], nan=0.0)
        draws = np.empty((rows.size, n_draws, NP))
        for a, s in enumerate(rows):
            w, V = np.linalg.eigh(C[a])
            Lm = V * np.sqrt(np.clip(w, 0.0, None))
            draws[a] = result.x[s, :NP] + rng.standard_normal((n_draws, NP)) @ Lm.T
        draws = np.clip(draws, setup.lo[:NP], setup.hi[:NP])
        rr = np.repeat(rows, n_draws)
        Pd = setup.to_natural(draws.reshape(-1, NP))
        td = _solve_time(setup.rows(rr), Pd, t0[rr], float(volume), float(horizon))
        td = td.reshape(rows.size, n_draws)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lower[rows] = np.nanquantile(td, (1 - level) / 2, axis=1)
            upper[rows] = np.nanquantile(td, 1 - (1 - level) / 2, axis=1)
    return TumourAge(volume=float(volume), level=level, subjects=result.subjects, time=t_star,
                     age=t0 - t_star, lower=lower, upper=upper, t_ref=t0.copy())
