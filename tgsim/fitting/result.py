"""The result of a fit: :class:`FitResult`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._version import __version__
from ..engine.catalogue import Model
from ..errors import STATUS_MESSAGES, Status, TgsimError, flag_attrs
from .data import SeriesBatch
from .likelihood import ErrorModel
from .lm import Setup, predict

__all__ = ["FitResult", "ParamTable", "RSE_LIMIT", "CORRELATION_LIMIT"]


@dataclass
class FitResult:
    """Estimates, uncertainty and diagnostics of a fit, for every subject.

    Arrays have a leading ``subject`` axis (length :attr:`n_subjects`) and a ``param``
    axis over :attr:`param_names`: the card's growth parameters in card order, then the
    error-model parameters (``sigma``, or ``sigma_additive`` and ``sigma_proportional``).

    Attributes
    ----------
    model : Model
        The growth law.
    error_model : ErrorModel
        The residual error model (see :mod:`tgsim.fitting.likelihood`).
    subjects : ndarray
        Subject labels.
    param_names, param_units : tuple of str
        Parameter names and units (growth parameters in the card's units; the error
        parameters in the data unit or dimensionless).
    free : ndarray of bool, (param,)
        Whether each parameter was estimated (False: fixed).
    estimate, stderr : ndarray, (subject, param)
        Estimates and asymptotic standard errors (NaN for a parameter at a bound or not
        determined; NaN for fixed parameters).
    covariance : ndarray, (subject, param, param)
        Asymptotic covariance (delta method from the fitting scale).
    ci_lower, ci_upper : ndarray, (subject, param)
        Wald intervals at ``level`` (log scale for positive parameters; Student t with
        ``dof`` degrees of freedom when ``dof_correction``).
    at_bound : ndarray of bool, (subject, param)
    neg2ll : ndarray, (subject,)
        -2 log L at the estimate (data on their original scale; see the likelihood module).
    n_obs : ndarray of int, (subject,)
        Points used (measured + censored).
    k : int
        Number of estimated parameters (growth + error): the k of AIC, AICc and BIC.
    status : ndarray of int8
        0 = success (codes in :class:`tgsim.errors.Status`).
    message : list of str
        Per-subject message (the status text, plus the specific reason for failures).
    nfev, iterations : ndarray of int
        Model evaluations and iterations used.
    fitted, residuals, weighted_residuals : ndarray, (subject, point)
        Predictions f, raw residuals y - f and standardised residuals (y - f)/sd (log
        scale for log-normal), at the usable points of :attr:`data`.
    data : SeriesBatch
        The data as fitted (compact per subject; values in :attr:`unit`).

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)                                   # days
    >>> y = 2000 * (50 / 2000) ** np.exp(-0.1 * t) * (1 + 0.05 * np.sin(t))   # mm^3
    >>> res = tgsim.fit((t, y), "gompertz", error_model="proportional", unit="mm^3")
    >>> bool(res.success[0]), res.param_names
    (True, ('initial_volume', 'growth_rate', 'carrying_capacity', 'sigma'))
    >>> res.params.round(2).iloc[0].tolist()          # close to 50, 0.1, 2000
    [50.18, 0.1, 2043.87, 0.03]
    >>> print(res.summary())                          # doctest: +ELLIPSIS
    tgsim fit: model 'gompertz', proportional error, 1 subject(s), values in mm^3
    ...
    """

    model: Model
    error_model: ErrorModel
    subjects: np.ndarray
    param_names: tuple[str, ...]
    param_units: tuple[str, ...]
    free: np.ndarray
    estimate: np.ndarray
    stderr: np.ndarray
    covariance: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    at_bound: np.ndarray
    neg2ll: np.ndarray
    n_obs: np.ndarray
    k: int
    status: np.ndarray
    message: list[str]
    nfev: np.ndarray
    iterations: np.ndarray
    fitted: np.ndarray
    residuals: np.ndarray
    weighted_residuals: np.ndarray
    data: SeriesBatch
    setup: Setup = field(repr=False)
    x: np.ndarray = field(repr=False)
    cov_working: np.ndarray = field(repr=False)
    level: float = 0.95
    dof_correction: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    start: np.ndarray | None = field(default=None, repr=False)

    # ----------------------------------------------------------------- basics
    @property
    def n_subjects(self) -> int:
        return int(self.estimate.shape[0])

    @property
    def success(self) -> np.ndarray:
        """Bool per subject: the fit converged."""
        return self.status == 0

    @property
    def unit(self) -> str:
        """Unit of the fitted values (mm^3 unless the data said otherwise)."""
        return self.data.unit

    @property
    def dof(self) -> np.ndarray:
        """Residual degrees of freedom n - p (p = k - 1: sigma's own not counted)."""
        return self.n_obs - (self.k - 1)

    @property
    def loglik(self) -> np.ndarray:
        """Log-likelihood at the estimate."""
        return -0.5 * self.neg2ll

    @property
    def aic(self) -> np.ndarray:
        """AIC = -2 log L + 2k (k includes the error parameters)."""
        from .likelihood import aic

        return np.where(self.success, aic(self.neg2ll, self.k), np.nan)

    @property
    def aicc(self) -> np.ndarray:
        """AICc = AIC + 2k(k+1)/(n-k-1) (NaN when n <= k + 1)."""
        from .likelihood import aicc

        return np.where(self.success, aicc(self.neg2ll, self.k, self.n_obs), np.nan)

    @property
    def bic(self) -> np.ndarray:
        """BIC = -2 log L + k log n."""
        from .likelihood import bic

        return np.where(self.success, bic(self.neg2ll, self.k, self.n_obs), np.nan)

    @property
    def rse(self) -> np.ndarray:
        """Relative standard errors in % (100 se / |estimate|)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return 100.0 * self.stderr / np.abs(self.estimate)

    @property
    def residual_standard_error(self) -> np.ndarray:
        """sqrt(sum of squared scaled residuals / (n - p)) per subject: sigma with the
        degrees-of-freedom correction (in the unit of sigma: data unit for additive, a
        fraction for proportional and log-normal)."""
        em = self.error_model.name
        if em == "combined":
            r = self.weighted_residuals * self.estimate[:, -1:]
        elif em == "additive":
            r = self.residuals
        else:
            r = self.weighted_residuals * self.estimate[:, -1:]
        ss = np.nansum(r**2, axis=1)
        d = self.dof.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sqrt(ss / d)
        return np.where(self.success & (d > 0), out, np.nan)

    def index(self, subject: Any) -> int:
        """Row of a subject given its label (or an integer position)."""
        labels = list(self.subjects)
        if subject in labels:
            return labels.index(subject)
        if isinstance(subject, int | np.integer) and -self.n_subjects <= subject < self.n_subjects:
            return int(subject) % self.n_subjects
        raise TgsimError(f"unknown subject {subject!r}; subjects are {labels[:10]}...")

    @property
    def params(self) -> ParamTable:
        """Estimates as a labelled table: one row per subject (index ``subject``), one
        column per parameter; ``.attrs["units"]`` maps each column to its unit.

        ``res.params.loc["m1", "growth_rate"]``; ``res.params.iloc[0].to_dict()``. The old
        call ``res.params(subject)`` still returns ``{name: value}`` with a
        :class:`DeprecationWarning`.
        """
        table = ParamTable(self.estimate.copy(), columns=list(self.param_names),
                           index=_subject_index(self.subjects))
        table.attrs["units"] = dict(zip(self.param_names, self.param_units, strict=True))
        table._owner = self
        return table

    def param_dict(self, subject: Any = 0) -> dict[str, float]:
        """Estimates of one subject as ``{name: value}`` (growth and error parameters)."""
        i = self.index(subject)
        return {n: float(v) for n, v in zip(self.param_names, self.estimate[i], strict=True)}

    # ------------------------------------------------------------- diagnostics
    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix of the estimates (subject, param, param); NaN where a
        standard error is missing (fixed, at a bound, failed fit)."""
        d = np.sqrt(np.einsum("sii->si", self.covariance))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = self.covariance / (d[:, :, None] * d[:, None, :])
        return r

    @property
    def subject_at_bound(self) -> np.ndarray:
        """Bool per subject: a converged fit with an estimate on a bound."""
        return self.success & self.at_bound.any(axis=1)

    @property
    def not_identifiable(self) -> np.ndarray:
        """Bool per subject: converged, no estimate on a bound, but a free parameter's
        standard error is undetermined or its RSE exceeds :data:`RSE_LIMIT` %."""
        free = np.broadcast_to(self.free, self.estimate.shape)
        with np.errstate(invalid="ignore"):
            poor = free & ~self.at_bound & (~np.isfinite(self.stderr) | (self.rse > RSE_LIMIT))
        return self.success & ~self.subject_at_bound & poor.any(axis=1)

    @property
    def warnings(self) -> list[str]:
        """One string per subject listing every problem ('' when none): the failure
        reason, each estimate at a bound, each parameter not identifiable, and each
        pair of estimates correlated beyond :data:`CORRELATION_LIMIT`."""
        out = []
        corr = self.correlation
        for i in range(self.n_subjects):
            w: list[str] = []
            if not self.success[i]:
                w.append(f"failed: {self.message[i]}")
            else:
                for j, name in enumerate(self.param_names):
                    if self.at_bound[i, j]:
                        w.append(f"{name} at a bound ({self.estimate[i, j]:.4g})")
                    elif self.free[j] and not np.isfinite(self.stderr[i, j]):
                        w.append(f"{name} not identifiable (no standard error)")
                    elif self.free[j] and self.rse[i, j] > RSE_LIMIT:
                        w.append(f"{name} not identifiable (RSE {self.rse[i, j]:.3g} %)")
                q = len(self.param_names)
                for a in range(q):
                    for b in range(a):
                        if abs(corr[i, a, b]) > CORRELATION_LIMIT:
                            w.append(f"corr({self.param_names[a]}, {self.param_names[b]}) = "
                                     f"{corr[i, a, b]:+.3f}")
            out.append("; ".join(w))
        return out

    @property
    def growth_names(self) -> tuple[str, ...]:
        return self.model.parameter_names

    @property
    def growth_estimate(self) -> np.ndarray:
        """Growth-parameter estimates (subject, card parameter)."""
        return self.estimate[:, : len(self.growth_names)]

    # ------------------------------------------------------------- prediction
    def predict(self, times: Any, subject: Any = None, *, with_jacobian: bool = False):
        """Model prediction (in :attr:`unit`) at ``times`` (days) for one or all subjects.

        Returns an array (n_times,) for one subject, (n_subjects, n_times) for all; a
        failed fit predicts NaN. With ``with_jacobian`` also dF/d(growth params).
        """
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if t.ndim != 1 or np.any(np.diff(t) <= 0) or not np.all(np.isfinite(t)):
            raise TgsimError("`times` must be finite, 1-D and strictly increasing (days)")
        rows = np.arange(self.n_subjects) if subject is None else np.array([self.index(subject)])
        t0 = self.data.t0[rows]
        if np.any(t < t0.max()):
            raise TgsimError(
                f"`times` must not precede t0 ({t0.max():g} days); the model starts at t0 "
                "(use tgsim.tumour_age for backward extrapolation)"
            )
        T = np.tile(t, (rows.size, 1))
        nu = np.full(rows.size, t.size, dtype=np.int64)
        P = self.growth_estimate[rows]
        ok = self.success[rows] & np.all(np.isfinite(P), axis=1)
        Pp = np.where(ok[:, None], P, np.array([p.default for p in self.model.parameters]))
        F, J, _ = predict(self.setup.rows(rows), T, nu, t0, Pp, jacobian=with_jacobian)
        F[~ok] = np.nan
        if subject is not None:
            return (F[0], J[0]) if with_jacobian else F[0]
        return (F, J) if with_jacobian else F

    def prediction_band(self, times: Any, subject: Any = 0, *, level: float = 0.95,
                        observation: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean prediction and a pointwise band at ``times`` for one subject.

        The parameter part of the variance comes from the delta method,
        Var f = J Cov J' (J = df/dp); with ``observation`` the residual error of a new
        measurement is added (sd of the error model at f). For the log-normal model the
        band is formed on the log scale. Returns (f, lower, upper).
        """
        from scipy.stats import norm

        i = self.index(subject)
        f, J = self.predict(times, i, with_jacobian=True)
        npg = len(self.growth_names)
        C = np.nan_to_num(self.covariance[i, :npg, :npg], nan=0.0)
        var_f = np.einsum("ti,ij,tj->t", J, C, J)
        z = norm.ppf(0.5 + level / 2)
        err = self.estimate[i, npg:]
        em = self.error_model.name
        if em == "lognormal":
            v = var_f / f**2 + (err[0] ** 2 if observation else 0.0)
            return f, f * np.exp(-z * np.sqrt(v)), f * np.exp(z * np.sqrt(v))
        sd = self.error_model.sd(f, err) if observation else np.zeros_like(f)
        s = np.sqrt(var_f + sd**2)
        return f, f - z * s, f + z * s

    # ------------------------------------------------------------- reporting
    def _table(self, i: int) -> list[str]:
        from scipy.stats import t as student

        lines = []
        w = max(len(n) for n in self.param_names)
        lev = int(round(self.level * 100))
        lines.append(
            f"{'parameter':<{w}}  {'estimate':>11}  {'s.e.':>10}  {'RSE%':>7}  "
            f"{f'{lev}% CI':^25}  unit"
        )
        for j, name in enumerate(self.param_names):
            est = self.estimate[i, j]
            if not self.free[j]:
                lines.append(f"{name:<{w}}  {est:>11.5g}  {'(fixed)':>10}  {'':>7}  {'':^25}  "
                             f"{self.param_units[j]}")
                continue
            se, rse = self.stderr[i, j], self.rse[i, j]
            ci = f"[{self.ci_lower[i, j]:.4g}, {self.ci_upper[i, j]:.4g}]"
            flag = "  at bound" if self.at_bound[i, j] else ""
            lines.append(
                f"{name:<{w}}  {est:>11.5g}  {se:>10.3g}  {rse:>7.1f}  {ci:^25}  "
                f"{self.param_units[j]}{flag}"
            )
        d = self.dof[i]
        tq = student.ppf(0.5 + self.level / 2, d) if (self.dof_correction and d > 0) else None
        note = f"Student t, {d} d.f." if tq is not None else "normal"
        lines.append(f"(Wald intervals, {note}; positive parameters on the log scale)")
        return lines

    def summary(self, subject: Any = None) -> str:
        """A report: per-parameter table for one subject, or a cohort overview.

        For one subject (or when there is only one): estimate, standard error, RSE %,
        interval and unit per parameter, then -2 log L, AIC, AICc, BIC, n, status. For many:
        the median and interquartile range of each estimate and of its RSE %, failed fits
        by reason, and the summed criteria over successful fits.
        """
        em = self.error_model.name
        head = [
            f"tgsim fit: model {self.model.name!r}, {em} error, {self.n_subjects} subject(s), "
            f"values in {self.unit}",
            f"likelihood: {_LIKELIHOOD[em]}",
        ]
        if self.data.conversion:
            head.append(f"data: {self.data.conversion}")
        if subject is not None or self.n_subjects == 1:
            i = self.index(0 if subject is None else subject)
            lines = head + [f"subject {self.subjects[i]!s}: {self.message[i]}", ""]
            lines += self._table(i)
            lines += [
                "",
                f"n = {self.n_obs[i]} points, k = {self.k} estimated parameters "
                f"(error model included), {self.nfev[i]} model evaluations",
                f"-2 log L = {self.neg2ll[i]:.4f}   AIC = {self.aic[i]:.4f}   "
                f"AICc = {self.aicc[i]:.4f}   BIC = {self.bic[i]:.4f}",
            ]
            return "\n".join(lines)
        ok = self.success
        n_b, n_ni = int(self.subject_at_bound.sum()), int(self.not_identifiable.sum())
        lines = head + [
            f"converged: {int(ok.sum())} of {self.n_subjects}; k = {self.k} estimated "
            "parameters per subject (error model included)",
            f"  of which clean: {int(ok.sum()) - n_b - n_ni}, at a bound: {n_b}, not "
            f"identifiable (RSE > {RSE_LIMIT:g} % or no s.e.): {n_ni}; failed: "
            f"{int((~ok).sum())}",
        ]
        if n_b:
            for j, name in enumerate(self.param_names):
                m = int((self.success & self.at_bound[:, j]).sum())
                if m:
                    lines.append(f"  {name} at a bound in {m} fit(s)")
        if (~ok).any():
            codes, counts = np.unique(self.status[~ok], return_counts=True)
            for c, m in zip(codes, counts, strict=True):
                lines.append(f"  failed ({Status(int(c)).name.lower()}): {m} - "
                             f"{STATUS_MESSAGES[int(c)]}")
        lines.append("")
        w = max(len(n) for n in self.param_names)
        lines.append(f"{'parameter':<{w}}  {'median':>11}  {'IQR':^25}  {'median RSE%':>11}  unit")
        for j, name in enumerate(self.param_names):
            v = self.estimate[ok, j]
            if v.size == 0:
                continue
            q1, q2, q3 = np.nanpercentile(v, [25, 50, 75])
            r = np.nanmedian(self.rse[ok, j]) if self.free[j] and np.isfinite(
                self.rse[ok, j]).any() else np.nan
            fx = "" if self.free[j] else "  (fixed)"
            lines.append(f"{name:<{w}}  {q2:>11.5g}  {f'[{q1:.4g}, {q3:.4g}]':^25}  {r:>11.1f}  "
                         f"{self.param_units[j]}{fx}")
        if ok.any():
            lines += [
                "",
                f"sum over converged subjects: -2 log L = {np.sum(self.neg2ll[ok]):.3f}, "
                f"AIC = {np.sum(self.aic[ok]):.3f}, BIC = {np.sum(self.bic[ok]):.3f}",
            ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<tgsim.FitResult model={self.model.name!r} error={self.error_model.name!r} "
                f"subjects={self.n_subjects} converged={int(self.success.sum())}>")

    # ---------------------------------------------------------------- export
    def to_frame(self):
        """One row per subject: ``subject``, each estimate under its name and its standard
        error as ``<name>_se``, then ``aic``, ``aicc``, ``bic``, ``neg2ll``, ``n_obs``,
        ``status`` (name), ``at_bound`` (an estimate on a bound), ``warnings`` (see
        :attr:`warnings`) and ``message``."""
        import pandas as pd

        out: dict[str, Any] = {"subject": self.subjects}
        for j, name in enumerate(self.param_names):
            out[name] = self.estimate[:, j]
            out[f"{name}_se"] = self.stderr[:, j]
        out["aic"] = self.aic
        out["aicc"] = self.aicc
        out["bic"] = self.bic
        out["neg2ll"] = self.neg2ll
        out["n_obs"] = self.n_obs
        out["status"] = [Status(int(s)).name.lower() for s in self.status]
        out["at_bound"] = self.subject_at_bound
        out["warnings"] = self.warnings
        out["message"] = self.message
        return pd.DataFrame(out)

    def to_dataset(self):
        """The result as an :class:`xarray.Dataset` (xarray ``curvefit``-like layout).

        Dims ``subject``, ``param`` (and ``param_`` for the covariance), ``obs`` (the input's
        observation axis). Variables: ``estimate``, ``stderr``, ``rse`` (%), ``ci_lower``,
        ``ci_upper``, ``covariance(subject, param, param_)``, ``at_bound``, ``neg2ll``,
        ``aic``, ``aicc``, ``bic``, ``n_obs``, ``success``, ``status`` (flag attrs),
        ``message``, ``nfev``, ``fitted(subject, obs)`` and ``residual(subject, obs)``.
        Coordinates ``param_unit`` and ``free`` describe the parameters.
        """
        import xarray as xr

        n, m = self.n_subjects, self.data.n_obs_input
        fitted = np.full((n, m), np.nan)
        resid = np.full((n, m), np.nan)
        oi = self.data.obs_index
        rows, cols = np.nonzero(oi >= 0)
        fitted[rows, oi[rows, cols]] = self.fitted[rows, cols]
        resid[rows, oi[rows, cols]] = self.residuals[rows, cols]
        pu = {"units": self.unit}
        ds = xr.Dataset(
            {
                "estimate": (("subject", "param"), self.estimate, {"long_name": "estimate"}),
                "stderr": (("subject", "param"), self.stderr,
                           {"long_name": "asymptotic standard error"}),
                "rse": (("subject", "param"), self.rse,
                        {"long_name": "relative standard error", "units": "%"}),
                "ci_lower": (("subject", "param"), self.ci_lower,
                             {"long_name": f"lower {self.level:.0%} Wald limit"}),
                "ci_upper": (("subject", "param"), self.ci_upper,
                             {"long_name": f"upper {self.level:.0%} Wald limit"}),
                "covariance": (("subject", "param", "param_"), self.covariance,
                               {"long_name": "asymptotic covariance"}),
                "at_bound": (("subject", "param"), self.at_bound),
                "neg2ll": (("subject",), self.neg2ll, {"long_name": "-2 log-likelihood"}),
                "aic": (("subject",), self.aic, {"long_name": "AIC = -2 log L + 2k"}),
                "aicc": (("subject",), self.aicc, {"long_name": "AICc"}),
                "bic": (("subject",), self.bic, {"long_name": "BIC = -2 log L + k log n"}),
                "n_obs": (("subject",), self.n_obs, {"long_name": "points used"}),
                "success": (("subject",), self.success),
                "status": (("subject",), self.status, flag_attrs()),
                "message": (("subject",), np.asarray(self.message, dtype=object)),
                "nfev": (("subject",), self.nfev, {"long_name": "model evaluations"}),
                "fitted": (("subject", "obs"), fitted, {"long_name": "fitted value", **pu}),
                "residual": (("subject", "obs"), resid,
                             {"long_name": "residual y - f", **pu}),
            },
            coords={
                "subject": self.subjects,
                "param": list(self.param_names),
                "param_": list(self.param_names),
                "param_unit": ("param", list(self.param_units)),
                "free": ("param", np.asarray(self.free, bool)),
            },
            attrs={
                "model": self.model.name,
                "card_hash": self.model.card_hash,
                "error_model": self.error_model.name,
                "likelihood": _LIKELIHOOD[self.error_model.name],
                "k": self.k,
                "value_units": self.unit,
                "conversion": self.data.conversion,
                "level": self.level,
                "dof_correction": int(self.dof_correction),
                "tgsim_version": __version__,
                "options": json.dumps(self.options, default=str),
            },
        )
        return ds

    # ------------------------------------------------------------------ plot
    def plot(self, subject: Any = None, ax=None, *, band: bool = True, level: float = 0.95,
             n_points: int = 200, log: bool = False):
        """Data, fitted curve and a prediction band for one subject; returns the Axes.

        ``subject`` (label or position; default the first) comes first, then ``ax``, as in
        every tgsim ``plot``; the old order ``plot(ax, subject)`` still works with a
        :class:`DeprecationWarning`. Censored points are drawn as open down-triangles at
        their detection limit. The band is that of :meth:`prediction_band` (parameter
        uncertainty and residual error) at ``level``. A fit with an estimate on a bound
        says so in the title and in a note on the axes.
        """
        from ..plot import fit_plot

        subject, ax = _plot_args(subject, ax)
        i = self.index(0 if subject is None else subject)
        k = self.data.nu[i]
        t, y, w = self.data.T[i, :k], self.data.Y[i, :k], self.data.W[i, :k]
        grid = f = lo = hi = None
        if self.success[i] and k:
            t0 = self.data.t0[i]
            grid = np.linspace(t0, max(t[-1], t0 + 1e-9), n_points)
            if band:
                f, lo, hi = self.prediction_band(grid, i, level=level)
            else:
                f = self.predict(grid, i)
        flag = " [at bound]" if self.subject_at_bound[i] else ""
        ax = fit_plot(
            t, y, grid, f, band=(lo, hi) if band and lo is not None else None,
            censored=(w == 2), ax=ax, log=log, ylabel=f"size ({self.unit})",
            model_label=f"{self.model.name} fit", band_label=f"{level:.0%} prediction band",
            title=f"subject {self.subjects[i]} ({self.error_model.name} error){flag}",
        )
        if self.subject_at_bound[i]:
            names = [n for n, b in zip(self.param_names, self.at_bound[i], strict=True) if b]
            ax.annotate("at bound: " + ", ".join(names), xy=(0.01, 0.98),
                        xycoords="axes fraction", ha="left", va="top", fontsize="small",
                        color="tab:red")
        return ax

    # ---------------------------------------------------------------- report
    def report(self, subject: Any = None, *, min_correl: float = 0.1) -> str:
        """A fit report in the manner of lmfit's ``fit_report``, for one subject.

        Sections: fit statistics (points, parameters, evaluations, -2 log L, AIC, AICc,
        BIC, status); parameters (estimate, standard error, RSE %, Wald interval, starting
        value, unit, flags); the correlation matrix of the estimates (lower triangle;
        entries with ``|r| > 0.95`` marked ``*`` and listed); warnings (estimates at a
        bound, parameters not identifiable, strong correlations, failure).
        """
        i = self.index(0 if subject is None else subject)
        em = self.error_model.name
        L = [f"[[Fit]] model {self.model.name!r}, {em} error, subject {self.subjects[i]!s}",
             f"    values in {self.unit}" + (f"; {self.data.conversion}"
                                              if self.data.conversion else ""),
             f"    status             = {Status(int(self.status[i])).name.lower()} "
             f"({self.message[i]})",
             f"    data points        = {self.n_obs[i]}",
             f"    free parameters    = {self.k} (error model included)",
             f"    model evaluations  = {self.nfev[i]}",
             f"    -2 log L           = {self.neg2ll[i]:.6g}",
             f"    AIC                = {self.aic[i]:.6g}",
             f"    AICc               = {self.aicc[i]:.6g}",
             f"    BIC                = {self.bic[i]:.6g}",
             "[[Parameters]]"]
        w = max(len(n) for n in self.param_names)
        lev = int(round(self.level * 100))
        L.append(f"    {'name':<{w}}  {'estimate':>11}  {'s.e.':>10}  {'RSE %':>8}  "
                 f"{f'{lev}% CI':^25}  {'start':>10}  unit")
        for j, name in enumerate(self.param_names):
            st = self.start[i, j] if self.start is not None else np.nan
            if not self.free[j]:
                L.append(f"    {name:<{w}}  {self.estimate[i, j]:>11.5g}  {'(fixed)':>10}")
                continue
            ci = f"[{self.ci_lower[i, j]:.4g}, {self.ci_upper[i, j]:.4g}]"
            flag = "  at bound" if self.at_bound[i, j] else ""
            L.append(f"    {name:<{w}}  {self.estimate[i, j]:>11.5g}  {self.stderr[i, j]:>10.3g}"
                     f"  {self.rse[i, j]:>8.3g}  {ci:^25}  {st:>10.4g}  "
                     f"{self.param_units[j]}{flag}")
        free = [j for j in range(len(self.param_names)) if self.free[j]]
        corr = self.correlation[i]
        L.append(f"[[Correlations]] (lower triangle; * |r| > {CORRELATION_LIMIT})")
        L.append("    " + " " * w + "".join(f"  {self.param_names[b][:9]:>9}" for b in free[:-1]))
        for a_pos, a in enumerate(free[1:], start=1):
            cells = []
            for b in free[:a_pos]:
                r = corr[a, b]
                mark = "*" if abs(r) > CORRELATION_LIMIT else " "
                cells.append(f"  {r:>+8.3f}{mark}" if np.isfinite(r) else f"  {'n/a':>8} ")
            L.append(f"    {self.param_names[a]:<{w}}" + "".join(cells))
        L.append("[[Warnings]]")
        warn = self.warnings[i]
        L += [f"    {x}" for x in warn.split("; ")] if warn else ["    none"]
        return "\n".join(L)


#: RSE (%) above which a converged estimate is reported as not identifiable
RSE_LIMIT = 1000.0
#: |correlation| above which a pair of estimates is flagged (lmfit and Monolix use 0.95)
CORRELATION_LIMIT = 0.95


def _subject_index(subjects: np.ndarray):
    import pandas as pd

    return pd.Index(np.asarray(subjects), name="subject")


def _plot_args(subject: Any, ax: Any) -> tuple[Any, Any]:
    """(subject, ax) from the new order, accepting the old ``plot(ax, subject)``."""
    import warnings

    if hasattr(subject, "plot") and hasattr(subject, "get_figure"):
        warnings.warn("plot(ax, subject) is deprecated; the order is plot(subject=None, "
                      "ax=None)", DeprecationWarning, stacklevel=3)
        subject, ax = (None if ax is None else ax), subject
    return subject, ax


def _param_table_base():
    import pandas as pd

    return pd.DataFrame


class ParamTable(_param_table_base()):  # type: ignore[misc]
    """Estimates (subject x parameter) as a :class:`pandas.DataFrame`.

    Calling it, ``res.params(subject)``, is the old method form: it returns
    ``{name: value}`` for one subject with a :class:`DeprecationWarning`.
    """

    _metadata = ["_owner"]

    @property
    def _constructor(self):
        import pandas as pd

        return pd.DataFrame

    def __call__(self, subject: Any = 0) -> dict[str, float]:
        import warnings

        warnings.warn("res.params(subject) is deprecated: res.params is now a table "
                      "(res.params.loc[subject]); use res.param_dict(subject) for a dict",
                      DeprecationWarning, stacklevel=2)
        return self._owner.param_dict(subject)


_LIKELIHOOD = {
    "additive": "y = f + sigma eps; -2LL = sum log(2 pi sigma^2) + (y - f)^2 / sigma^2",
    "proportional": "y = f (1 + sigma eps); -2LL = sum log(2 pi sigma^2 f^2) + "
                    "(y - f)^2 / (sigma f)^2",
    "combined": "y = f + (a + b f) eps; -2LL = sum log(2 pi (a + b f)^2) + "
                "(y - f)^2 / (a + b f)^2",
    "lognormal": "log y = log f + sigma eps; -2LL = sum log(2 pi sigma^2) + "
                 "(log y - log f)^2 / sigma^2 + 2 log y",
}
