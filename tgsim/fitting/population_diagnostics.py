r"""Diagnostics of population fits: VPC, goodness-of-fit panels, NPDE, CWRES, traces.

* **PRED** = f(t; typical values with the subject's covariates, η = 0); **IPRED** =
  f(t; EBE).
* **CWRES**: conditional weighted residuals of the linearised model (about the mode of
  the linearised model; :mod:`tgsim.fitting.saem_likelihood`), :math:`V_i^{-1/2}(y_i -
  E_{lin}[y_i])`.
* **IWRES**: (y - IPRED) / sd(IPRED) on the scale of the error model.
* **NPDE** (Brendel et al. 2006; Comets, Brendel & Mentré 2008): ``n_sim`` data sets are
  simulated from the model with each subject's design; observations and simulations are
  decorrelated with the inverse Cholesky factor of the simulated covariance; the
  prediction discrepancy is the fraction of decorrelated simulations below the
  decorrelated observation (kept within [1/(2K), 1 - 1/(2K)]), and NPDE = Φ⁻¹ of it. Under
  the model they are N(0, 1) and independent.
* **VPC**: observations binned in time (equal counts); in each bin the observed 5th, 50th
  and 95th percentiles are drawn over the 90 % intervals of the same percentiles in
  ``n_sim`` simulated replicates of the study.

References
----------
Brendel K, Comets E, Laffont C, Laveille C, Mentré F. Metrics for external model
evaluation with an application to the population pharmacokinetics of gliclazide. Pharm
Res 2006;23:2036-2049. Comets E, Brendel K, Mentré F. Computing normalised prediction
distribution errors to evaluate nonlinear mixed-effect models. Comput Methods Programs
Biomed 2008;90:154-166. Bergstrand M, Hooker AC, Wallin JE, Karlsson MO.
Prediction-corrected visual predictive checks. AAPS J 2011;13:143-151.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import norm

from .saem_engine import fast_predict

if TYPE_CHECKING:
    from .population_result import PopulationResult

__all__ = ["simulate_replicates", "npde", "residual_table", "gof", "vpc", "plot_convergence"]


def _natural(prob, ph):
    return prob.setup.to_natural(np.concatenate([ph, np.zeros((ph.shape[0], 2))], 1))


def _add_noise(em: str, F: np.ndarray, ep: np.ndarray, rng: np.random.Generator):
    e = rng.standard_normal(F.shape)
    if em == "additive":
        return F + ep[0] * e
    if em == "proportional":
        return F * (1 + ep[0] * e)
    if em == "combined":
        return F + (ep[0] + ep[1] * F) * e
    return F * np.exp(ep[0] * e)


def simulate_replicates(res: PopulationResult, n_sim: int, seed: int | None = 0
                        ) -> np.ndarray:
    """``n_sim`` replicates of the data (n_sim, subject, point) at the observed times of
    the subjects that entered the fit, drawn from the fitted model (new η, new errors)."""
    it = res._internal
    prob, theta, Omega, ep = it["prob"], it["theta"], it["Omega"], it["ep"]
    rng = np.random.default_rng(seed)
    N, m = prob.batch.T.shape
    r = prob.re
    L = np.linalg.cholesky(Omega[np.ix_(r, r)])
    mean = prob.design.mean(theta)
    rows = np.tile(np.arange(N), n_sim)
    su, b = prob.setup.rows(rows), prob.batch.subset(rows)
    ph = prob.fixed_w[rows].copy()
    ph[:, prob.idx] = mean[rows]
    ph[:, prob.idx[r]] += rng.standard_normal((rows.size, int(r.sum()))) @ L.T
    F, _, _ = fast_predict(su, b, _natural(prob, ph))
    with np.errstate(all="ignore"):
        Ysim = _add_noise(prob.em, F, ep, rng)
    return Ysim.reshape(n_sim, N, m)


def _pred_ipred(res: PopulationResult) -> tuple[np.ndarray, np.ndarray]:
    it = res._internal
    prob = it["prob"]
    ph = prob.fixed_w.copy()
    ph[:, prob.idx] = prob.design.mean(it["theta"])
    pred = fast_predict(prob.setup, prob.batch, _natural(prob, ph))[0]
    ipred = fast_predict(prob.setup, prob.batch, _natural(prob, it["ebe_phi"]))[0]
    return pred, ipred


def npde(res: PopulationResult, *, n_sim: int = 1000, seed: int | None = 0) -> np.ndarray:
    """NPDE (subject, point) of the subjects that entered the fit (NaN for padding)."""
    prob = res._internal["prob"]
    Ysim = simulate_replicates(res, n_sim, seed)
    Y, use = prob.batch.Y, prob.use
    out = np.full(Y.shape, np.nan)
    for i in range(prob.N):
        u = use[i] & np.all(np.isfinite(Ysim[:, i, :]) | ~use[i], axis=0)
        if not u.any():
            continue
        S = Ysim[:, i, u]
        E = S.mean(0)
        V = np.cov(S, rowvar=False).reshape(u.sum(), u.sum())
        try:
            Li = np.linalg.inv(np.linalg.cholesky(V + 1e-12 * np.eye(u.sum())))
        except np.linalg.LinAlgError:
            continue
        ys = Li @ (Y[i, u] - E)
        ss = (S - E) @ Li.T
        pde = (ss < ys).mean(0)
        pde = np.clip(pde, 1 / (2 * n_sim), 1 - 1 / (2 * n_sim))
        out[i, np.flatnonzero(u)] = norm.ppf(pde)
    return out


def residual_table(res: PopulationResult, *, n_sim: int = 1000, seed: int | None = 0):
    """PRED, IPRED, CWRES, IWRES and NPDE per observation (a DataFrame)."""
    import pandas as pd

    from .saem_error import sd_and_residual

    it = res._internal
    prob = it["prob"]
    pred, ipred = _pred_ipred(res)
    u, s = sd_and_residual(prob.em, prob.batch.Y, ipred,
                           np.repeat(np.asarray(it["ep"])[None], prob.N, 0))
    with np.errstate(all="ignore"):
        iwres = u / s
    nd = npde(res, n_sim=n_sim, seed=seed)
    i, j = np.nonzero(prob.use)
    return pd.DataFrame({"subject": prob.batch.subjects[i], "time": prob.batch.T[i, j],
                         "observed": prob.batch.Y[i, j], "pred": pred[i, j],
                         "ipred": ipred[i, j], "cwres": it["lin"].cwres[i, j],
                         "iwres": iwres[i, j], "npde": nd[i, j]})


def _shrink_text(res: PopulationResult) -> str:
    parts = [f"{n} {100 * res.shrinkage[res.param_names.index(n)]:.0f} %"
             for n in res.random_effects]
    return "η-shrinkage:\n" + "\n".join(parts)


def _identity(ax, x, y):
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lo, hi = min(x[ok].min(), y[ok].min()), max(x[ok].max(), y[ok].max())
    ax.plot([lo, hi], [lo, hi], color="0.3", lw=1, ls="--")
    ax.set_xscale("log")
    ax.set_yscale("log")


def gof(res: PopulationResult, *, axes: Any = None, n_sim: int = 1000,
        seed: int | None = 0):
    """The four standard goodness-of-fit panels.

    Observed vs population prediction (PRED) and vs individual prediction (IPRED, titled
    with the η-shrinkage), CWRES vs time, NPDE vs PRED; identity and zero lines, ±1.96
    bands. Returns the (2, 2) array of Axes.

    Examples
    --------
    >>> axes = res.gof()                                   # doctest: +SKIP
    >>> axes[0, 0].figure.savefig("gof.png")               # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    from ..plot import OKABE_ITO

    t = residual_table(res, n_sim=n_sim, seed=seed)
    if axes is None:
        _, axes = plt.subplots(2, 2, figsize=(8.5, 7.0), layout="constrained")
    unit = res._internal["prob"].batch.unit
    kw = dict(s=8, alpha=0.6, color=OKABE_ITO[0], lw=0)
    ax = axes[0, 0]
    ax.scatter(t["pred"], t["observed"], **kw)
    _identity(ax, t["pred"].to_numpy(), t["observed"].to_numpy())
    ax.set(xlabel=f"population prediction PRED ({unit})", ylabel=f"observed ({unit})",
           title="Observed vs PRED")
    ax = axes[0, 1]
    ax.scatter(t["ipred"], t["observed"], **kw)
    _identity(ax, t["ipred"].to_numpy(), t["observed"].to_numpy())
    ax.set(xlabel=f"individual prediction IPRED ({unit})", ylabel=f"observed ({unit})",
           title="Observed vs IPRED")
    ax.text(0.03, 0.97, _shrink_text(res), transform=ax.transAxes, va="top", fontsize=8)
    for ax, x, y, xl, yl in ((axes[1, 0], t["time"], t["cwres"], "time (day)", "CWRES"),
                             (axes[1, 1], t["pred"], t["npde"], f"PRED ({unit})", "NPDE")):
        ax.scatter(x, y, **kw)
        ax.axhline(0, color="0.3", lw=1)
        for v in (-1.96, 1.96):
            ax.axhline(v, color="0.3", lw=0.8, ls=":")
        ax.set(xlabel=xl, ylabel=yl, title=f"{yl} vs {xl.split(' (')[0]}")
    axes[1, 1].set_xscale("log")
    axes[0, 0].figure.suptitle(
        f"{res.model.name}, {res.error_model.name} error: goodness of fit "
        f"({res.subjects.size} subjects, {res.n_obs} points)", fontsize=10)
    return axes


def _bins(times: np.ndarray, n_bins: int) -> np.ndarray:
    edges = np.unique(np.quantile(times, np.linspace(0, 1, n_bins + 1)))
    edges[-1] += 1e-9
    return edges


def vpc(res: PopulationResult, *, n_sim: int = 200, n_bins: int = 8,
        percentiles: tuple[float, float, float] = (5.0, 50.0, 95.0), level: float = 0.9,
        log: bool = True, ax: Any = None, seed: int | None = 0):
    """Visual predictive check: observed percentiles per time bin over the simulated
    ``level`` intervals of the same percentiles (``n_sim`` replicates). Returns the Axes.

    Examples
    --------
    >>> ax = res.vpc(n_sim=200)                            # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    from ..plot import OKABE_ITO

    prob = res._internal["prob"]
    T, Y, use = prob.batch.T, prob.batch.Y, prob.use
    edges = _bins(T[use], n_bins)
    Ysim = simulate_replicates(res, n_sim, seed)
    k = np.clip(np.searchsorted(edges, T, side="right") - 1, 0, edges.size - 2)
    nb = edges.size - 1
    mids = np.array([np.median(T[use & (k == b)]) for b in range(nb)])
    obs = np.array([np.percentile(Y[use & (k == b)], percentiles) for b in range(nb)])
    sim = np.full((n_sim, nb, 3), np.nan)
    for b in range(nb):
        m = use & (k == b)
        vals = Ysim[:, m]
        with np.errstate(all="ignore"):
            sim[:, b] = np.nanpercentile(vals, percentiles, axis=1).T
    lo = np.nanpercentile(sim, 50 * (1 - level), axis=0)
    hi = np.nanpercentile(sim, 50 * (1 + level), axis=0)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 4.5), layout="constrained")
    ax.scatter(T[use], Y[use], s=5, color="0.6", lw=0, label="observations")
    outer = f"{percentiles[0]:g}th and {percentiles[2]:g}th"
    for c, col in enumerate((OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[0])):
        which = f"{percentiles[1]:g}th percentile" if c == 1 else f"{outer} percentiles"
        ax.fill_between(mids, lo[:, c], hi[:, c], color=col, alpha=0.25, lw=0,
                        label=None if c == 2 else
                        f"simulated {which}: {100 * level:.0f} % interval")
        ax.plot(mids, obs[:, c], color=col, lw=1.8, marker="o", ms=3,
                label=None if c == 2 else f"observed {which}")
    if log:
        ax.set_yscale("log")
    unit = prob.batch.unit
    ax.set(xlabel="time (day)", ylabel=f"tumour size ({unit})",
           title=f"VPC: {res.model.name}, {res.error_model.name} error, {n_sim} simulated "
                 f"studies, {nb} time bins")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_convergence(res: PopulationResult, *, axes: Any = None):
    """SAEM traces: one panel per parameter, one line per run, the end of burn-in marked.

    Typical values and error parameters on their natural scale, random effects as ω (SD).
    Returns the array of Axes.
    """
    import matplotlib.pyplot as plt

    from ..plot import OKABE_ITO

    tr = res.trace
    th, om, er = tr["theta_runs"], tr["omega2_runs"], tr["error_runs"]
    labels = tr["labels"]
    q = th.shape[2]
    re = np.flatnonzero(res._internal["prob"].re)
    series = [np.exp(th[..., c]) if labels[c].startswith("log ") else th[..., c]
              for c in range(q)]
    names = [lb[4:] if lb.startswith("log ") else lb for lb in labels[:q]]
    series += [np.sqrt(om[..., c]) for c in re]
    names += ["omega " + lb.split("omega^2 ")[1] for lb in labels[q:q + re.size]]
    n_err = len(labels) - q - re.size
    series += [er[..., c] for c in range(n_err)]
    names += [lb[4:] for lb in labels[q + re.size:]]
    n = len(series)
    cols = min(n, 3)
    rows = -(-n // cols)
    if axes is None:
        _, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows),
                               layout="constrained", squeeze=False)
    flat = np.ravel(axes)
    for a, (s, nm) in enumerate(zip(series, names, strict=True)):
        ax = flat[a]
        for r in range(s.shape[1]):
            ax.plot(s[:, r], lw=0.8, color=OKABE_ITO[r % len(OKABE_ITO)], label=f"run {r + 1}")
        ax.axvline(tr["n_burn"], color="0.3", ls="--", lw=0.8)
        ax.set(title=nm, xlabel="iteration")
    for ax in flat[n:]:
        ax.set_visible(False)
    flat[0].legend(fontsize=7)
    flat[0].figure.suptitle(
        f"SAEM traces ({'converged' if res.converged else 'NOT converged'}; dashed: end of "
        "burn-in)", fontsize=10)
    return axes
