r"""Uncertainty beyond the asymptotic covariance: profile likelihood and the bootstrap.

Profile likelihood
    For a parameter :math:`\psi`, the profile :math:`-2\log L_p(\psi) = \min_{\lambda}
    -2\log L(\psi, \lambda)` (every other parameter, sigma included, re-estimated). The
    level-:math:`1-\alpha` interval is :math:`\{\psi: -2\log L_p(\psi) - (-2\log L(\hat\theta))
    \le \chi^2_{1,1-\alpha}\}` (Venzon & Moolgavkar 1988; Raue et al. 2009). Both limits are
    found by bracketing and bisection on the fitting scale, every subject at once (one
    batched fit per step). A limit that is not reached inside the parameter's bounds is
    reported as NaN with ``open_lower``/``open_upper`` set: the parameter is practically
    non-identifiable on that side.

Bootstrap
    ``kind="parametric"`` draws new data from the fitted model and error model
    (censoring re-applied at the same limits); ``kind="residual"`` resamples each
    subject's standardised residuals with replacement and rebuilds y* = f + sd(f) r*
    (log scale for the log-normal model). Each replicate is refitted from the estimate
    (all replicates of all subjects in one batched call); intervals are percentile
    intervals and the bootstrap standard error is the standard deviation over converged
    replicates (Efron & Tibshirani 1993).

References
----------
Venzon DJ, Moolgavkar SH. A method for computing profile-likelihood-based confidence
intervals. Appl Stat 1988;37:87-94. Raue A et al. Structural and practical identifiability
analysis of partially observed dynamical models by exploiting the profile likelihood.
Bioinformatics 2009;25:1923-1929. Efron B, Tibshirani RJ. An Introduction to the Bootstrap.
Chapman & Hall 1993.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import TgsimError
from .data import SeriesBatch
from .lm import Setup, run_lm
from .result import FitResult

__all__ = ["profile_likelihood", "ProfileResult", "bootstrap", "BootstrapResult"]


def _working_index(result: FitResult, param: str) -> int:
    NP = len(result.growth_names)
    if param in result.growth_names:
        return result.growth_names.index(param)
    if param == "sigma" and result.error_model.n_params == 1:
        return NP
    try:
        return result.growth_names.index(result.model.parameter(param).name)
    except KeyError:
        pass
    raise TgsimError(
        f"`param` must be a growth parameter of {result.model.name!r} "
        f"({', '.join(result.growth_names)}) or 'sigma' (single-sigma error models); "
        f"got {param!r}"
    )


def _fixed_setup(setup: Setup, j: int, values: np.ndarray) -> Setup:
    free = setup.free.copy()
    free[j] = 0
    fixed = setup.fixed.copy()
    fixed[:, j] = values
    return replace(setup, free=free, fixed=fixed)


@dataclass
class ProfileResult:
    """Profile-likelihood intervals of one parameter for every subject.

    Attributes
    ----------
    param : str
    level : float
    subjects : ndarray
    estimate, lower, upper : ndarray, (subject,)
        Maximum-likelihood estimate and the interval limits (NaN when open).
    open_lower, open_upper : ndarray of bool
        The profile stayed below the threshold up to the parameter's bound.
    grid, profile : ndarray, (subject, n_grid)
        Parameter values and the profile -2 log L minus its minimum (for plots).
    threshold : float
        The chi-square quantile the profile is compared with.
    """

    param: str
    level: float
    subjects: np.ndarray
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    open_lower: np.ndarray
    open_upper: np.ndarray
    grid: np.ndarray
    profile: np.ndarray
    threshold: float

    def summary(self) -> str:
        lines = [f"profile-likelihood {self.level:.0%} interval of {self.param} "
                 f"(threshold chi2_1 = {self.threshold:.3f})"]
        for i, s in enumerate(self.subjects[:50]):
            lo = "open" if self.open_lower[i] else f"{self.lower[i]:.5g}"
            hi = "open" if self.open_upper[i] else f"{self.upper[i]:.5g}"
            lines.append(f"  {s!s:>12}: {self.estimate[i]:.5g}  [{lo}, {hi}]")
        if self.subjects.size > 50:
            lines.append(f"  ... ({self.subjects.size - 50} more)")
        return "\n".join(lines)

    def to_dataset(self):
        import xarray as xr

        return xr.Dataset(
            {
                "estimate": (("subject",), self.estimate),
                "lower": (("subject",), self.lower),
                "upper": (("subject",), self.upper),
                "open_lower": (("subject",), self.open_lower),
                "open_upper": (("subject",), self.open_upper),
                "grid": (("subject", "point"), self.grid),
                "profile": (("subject", "point"), self.profile,
                            {"long_name": "profile -2 log L minus its minimum"}),
            },
            coords={"subject": self.subjects},
            attrs={"param": self.param, "level": self.level, "threshold": self.threshold},
        )

    def plot(self, ax=None, subject: int = 0):
        """Profile of one subject with the threshold; returns the Axes."""
        from ..plot import profile_plot

        return profile_plot(self.grid[subject], self.profile[subject], level=self.level,
                            ax=ax, parameter=self.param)


def _profile_at(result: FitResult, rows: np.ndarray, j: int, xval: np.ndarray,
                Xstart: np.ndarray, **lm_kw: Any) -> tuple[np.ndarray, np.ndarray]:
    setup = _fixed_setup(result.setup.rows(rows), j, xval)
    X0 = Xstart.copy()
    X0[:, j] = xval
    out = run_lm(setup, result.data.subset(rows), X0, **lm_kw)
    phi = np.where(out["status"] == 0, out["neg2ll"], np.nan)
    return phi, out["X"]


def profile_likelihood(result: FitResult, param: str, *, level: float = 0.95,
                       n_grid: int = 11, max_steps: int = 40, tol: float = 1e-4,
                       **lm_kw: Any) -> ProfileResult:
    """Profile-likelihood interval of ``param`` for every converged subject of ``result``.

    Parameters
    ----------
    result : FitResult
    param : str
        A growth parameter name (or ``"sigma"`` for single-sigma error models).
    level : float
        Confidence level (threshold :math:`\\chi^2_{1}` quantile).
    n_grid : int
        Points of the stored profile curve (between the interval limits, or +-4 s.e.).
    max_steps : int
        Bracketing plus bisection steps per side.
    tol : float
        Bisection stops when the bracket is below ``tol`` on the fitting scale.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)
    >>> y = 2000 * (50 / 2000) ** np.exp(-0.1 * t) * (1 + 0.05 * np.sin(t))
    >>> res = tgsim.fit((t, y), "gompertz", unit="mm^3")
    >>> prof = tgsim.profile_likelihood(res, "growth_rate")
    >>> bool(prof.lower[0] < res.params["growth_rate"].iloc[0] < prof.upper[0])
    True
    >>> print(prof.summary())                         # doctest: +ELLIPSIS
    profile-likelihood 95% interval of growth_rate (threshold chi2_1 = 3.841)
    ...
    """
    from scipy.stats import chi2

    if not 0 < level < 1:
        raise TgsimError(f"`level` must be in (0, 1); got {level!r}")
    j = _working_index(result, param)
    if not result.setup.free[j]:
        raise TgsimError(f"`param` {param!r} was fixed in the fit; nothing to profile")
    q = float(chi2.ppf(level, 1))
    ok = np.flatnonzero(result.success)
    n = result.n_subjects
    lower = np.full(n, np.nan)
    upper = np.full(n, np.nan)
    open_lo = np.zeros(n, bool)
    open_hi = np.zeros(n, bool)
    xhat = result.x[:, j]
    base = result.neg2ll
    cw = result.cov_working[:, j, j]
    step0 = np.where(np.isfinite(cw) & (cw > 0), np.sqrt(np.abs(cw)), 0.1)
    setup = result.setup
    lo_b, hi_b = setup.lo[j], setup.hi[j]
    for side, lim, opened in ((-1.0, lower, open_lo), (1.0, upper, open_hi)):
        rows = ok.copy()
        if rows.size == 0:
            break
        inner = xhat[rows].copy()  # below threshold
        outer = np.full(rows.size, np.nan)
        Xs = result.x[rows].copy()
        step = step0[rows].copy()
        active = np.ones(rows.size, bool)
        bound = hi_b if side > 0 else lo_b
        for _ in range(max_steps):
            if not active.any():
                break
            a = np.flatnonzero(active)
            trial = np.clip(inner[a] + side * step[a], min(lo_b, hi_b), max(lo_b, hi_b))
            phi, Xn = _profile_at(result, rows[a], j, trial, Xs[a], **lm_kw)
            d = phi - base[rows[a]]
            above = d > q
            below = np.isfinite(d) & ~above
            inner[a[below]] = trial[below]
            Xs[a[below]] = Xn[below]
            outer[a[above]] = trial[above]
            hit = below & (np.abs(trial - bound) < 1e-12)
            opened[rows[a[hit]]] = True
            active[a[hit]] = False
            failed = ~np.isfinite(d)
            active[a[failed]] = False
            grow = below & ~hit
            step[a[grow]] *= 2.0
            active[a[above]] = False
        # bisection between inner (below) and outer (above)
        br = np.isfinite(outer)
        for _ in range(max_steps):
            a = np.flatnonzero(br & (np.abs(outer - inner) > tol))
            if a.size == 0:
                break
            mid = 0.5 * (inner[a] + outer[a])
            phi, Xn = _profile_at(result, rows[a], j, mid, Xs[a], **lm_kw)
            d = phi - base[rows[a]]
            above = ~(np.isfinite(d) & (d <= q))
            outer[a[above]] = mid[above]
            inner[a[~above]] = mid[~above]
            Xs[a[~above]] = Xn[~above]
        val = 0.5 * (inner + outer)
        lim[rows[br]] = val[br]
    # stored profile curve
    lo_g = np.where(np.isnan(lower), xhat - 4 * step0, lower)
    hi_g = np.where(np.isnan(upper), xhat + 4 * step0, upper)
    grid_w = np.linspace(lo_g, hi_g, n_grid).T  # (n, g)
    grid_w = np.clip(grid_w, min(lo_b, hi_b), max(lo_b, hi_b))
    prof = np.full((n, n_grid), np.nan)
    if ok.size:
        for g in range(n_grid):
            phi, _ = _profile_at(result, ok, j, grid_w[ok, g], result.x[ok], **lm_kw)
            prof[ok, g] = phi - base[ok]
    to_nat = (lambda x: np.exp(x)) if (j < setup.NP and setup.scale[j] == 1) or j >= setup.NP \
        else (lambda x: x)
    est = to_nat(xhat)
    return ProfileResult(
        param=param, level=level, subjects=result.subjects, estimate=est,
        lower=to_nat(lower), upper=to_nat(upper), open_lower=open_lo, open_upper=open_hi,
        grid=to_nat(grid_w), profile=prof, threshold=q,
    )


@dataclass
class BootstrapResult:
    """Bootstrap distribution of the estimates.

    Attributes
    ----------
    kind : str
        ``"parametric"`` or ``"residual"``.
    param_names : tuple of str
    subjects : ndarray
    estimates : ndarray, (subject, replicate, param)
        Refitted estimates (NaN for replicates that failed).
    n_failed : ndarray, (subject,)
        Replicates that did not converge (left out of the statistics, and counted here).
    stderr, lower, upper : ndarray, (subject, param)
        Bootstrap standard error and percentile interval at ``level``.
    """

    kind: str
    level: float
    param_names: tuple[str, ...]
    subjects: np.ndarray
    estimates: np.ndarray
    n_failed: np.ndarray
    stderr: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def summary(self) -> str:
        B = self.estimates.shape[1]
        lines = [f"{self.kind} bootstrap, {B} replicates per subject, "
                 f"{self.level:.0%} percentile intervals"]
        for i, s in enumerate(self.subjects[:20]):
            lines.append(f"subject {s!s} ({self.n_failed[i]} failed replicates)")
            for j, nm in enumerate(self.param_names):
                lines.append(f"  {nm:<22} se {self.stderr[i, j]:.4g}  "
                             f"[{self.lower[i, j]:.4g}, {self.upper[i, j]:.4g}]")
        return "\n".join(lines)

    def to_dataset(self):
        import xarray as xr

        return xr.Dataset(
            {
                "estimates": (("subject", "replicate", "param"), self.estimates),
                "stderr": (("subject", "param"), self.stderr),
                "lower": (("subject", "param"), self.lower),
                "upper": (("subject", "param"), self.upper),
                "n_failed": (("subject",), self.n_failed),
            },
            coords={"subject": self.subjects, "param": list(self.param_names)},
            attrs={"kind": self.kind, "level": self.level},
        )


def bootstrap(result: FitResult, *, n: int = 200, kind: str = "parametric",
              level: float = 0.95, seed: int | None = 0, **lm_kw: Any) -> BootstrapResult:
    """Parametric or residual bootstrap of a fit (all subjects and replicates batched).

    Parameters
    ----------
    result : FitResult
    n : int
        Replicates per subject.
    kind : {"parametric", "residual"}
    level : float
        Level of the percentile intervals.
    seed : int, optional

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)
    >>> y = 2000 * (50 / 2000) ** np.exp(-0.1 * t) * (1 + 0.05 * np.sin(t))
    >>> res = tgsim.fit((t, y), "gompertz", unit="mm^3")
    >>> boot = tgsim.bootstrap(res, n=50, seed=0)
    >>> boot.estimates.shape[-1] == len(res.param_names), int(boot.n_failed[0])
    (True, 0)
    """
    if kind not in ("parametric", "residual"):
        raise TgsimError(f"`kind` must be 'parametric' or 'residual'; got {kind!r}")
    if int(n) != n or n < 2:
        raise TgsimError(f"`n` must be an integer >= 2; got {n!r}")
    rng = np.random.default_rng(seed)
    ok = np.flatnonzero(result.success)
    S, B = result.n_subjects, int(n)
    q = len(result.param_names)
    est = np.full((S, B, q), np.nan)
    nfail = np.zeros(S, dtype=np.int64)
    if ok.size:
        rows = np.repeat(ok, B)
        data = result.data.subset(rows)
        F = result.fitted[rows]
        NP = len(result.growth_names)
        err = result.estimate[rows, NP:]
        em = result.error_model
        W = data.W
        m = W.shape[1]
        used = np.arange(m)[None, :] < data.nu[:, None]
        if kind == "parametric":
            eps = rng.standard_normal(F.shape)
        else:
            wr = result.weighted_residuals[rows]
            eps = np.zeros(F.shape)
            for r in range(rows.size):
                pool = wr[r][np.isfinite(wr[r]) & (W[r] == 1.0)]
                if pool.size:
                    pool = pool - pool.mean()
                    eps[r, : data.nu[r]] = rng.choice(pool, size=data.nu[r], replace=True)
        with np.errstate(all="ignore"):
            if em.name == "lognormal":
                Ystar = F * np.exp(err[:, :1] * eps)
            else:
                Ystar = F + em.sd(F, err) * eps
        cens = W == 2.0
        limit = data.Y
        newc = cens & (Ystar < limit)
        Ystar = np.where(newc, limit, Ystar)
        W2 = np.where(used, np.where(newc, 2.0, 1.0), 0.0)
        if not em.log_scale:
            Ystar = np.where(used, np.maximum(Ystar, 0.0), 0.0)
        Ystar = np.where(used, Ystar, 0.0)
        boot = SeriesBatch(
            subjects=data.subjects, T=data.T, Y=Ystar, W=W2, nu=data.nu,
            obs_index=data.obs_index, n_obs_input=data.n_obs_input, excluded=data.excluded,
            t0=data.t0, unit=data.unit, all_equal=np.zeros(rows.size, bool),
        )
        sub = result.setup.rows(rows)
        out = run_lm(sub, boot, result.x[rows], **lm_kw)
        good = out["status"] == 0
        vals = np.concatenate([sub.to_natural(out["X"]), sub.error_natural(out["X"])], axis=1)
        vals[~good] = np.nan
        est[ok] = vals.reshape(ok.size, B, q)
        nfail[ok] = (~good).reshape(ok.size, B).sum(axis=1)
    alpha = (1 - level) / 2
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            se = np.nanstd(est, axis=1, ddof=1)
            lo = np.nanquantile(est, alpha, axis=1)
            hi = np.nanquantile(est, 1 - alpha, axis=1)
    fixed = ~result.free
    for a in (se, lo, hi):
        a[:, fixed] = np.nan
    return BootstrapResult(kind=kind, level=level, param_names=result.param_names,
                           subjects=result.subjects, estimates=est, n_failed=nfail,
                           stderr=se, lower=lo, upper=hi)
