r"""The analyses of Vaghi et al. (2020) with tgsim's fitters.

Conventions of the paper (and of its code, plumky): every tumour starts at the injection
(day 0) from :math:`V_0 = V_c` (1 mm³ for volumes; :math:`1.519\times10^7 \times 0.08`
photons/s for bioluminescence), and grows by the Gompertz law

.. math:: \frac{dV}{dt} = \left(\alpha - \beta \ln\frac{V}{V_c}\right) V,

which is tgsim's ``gompertz`` card with ``growth_rate`` :math:`r = \beta` and
``carrying_capacity`` :math:`K = V_c e^{\alpha/\beta}`, i.e. :math:`\alpha = r\ln(K/V_c)`.
The *reduced* Gompertz model ties :math:`\alpha = k\beta` with one population constant
:math:`k`: a carrying capacity :math:`K = V_c e^{k}` shared by every animal, and one
individual parameter :math:`\beta`.

Population fits here use :func:`tgsim.fit_population` (SAEM, log-normal random effects on
:math:`r` and :math:`K`; the breast reproduction with the paper's combined error
:math:`a + b f`, the back-prediction priors with proportional error); the paper used
Monolix with log-normal random effects on :math:`\alpha` and :math:`\beta` and a combined
error model.

Age back-prediction (paper, "Bayesian inference"): for each animal, the population
parameters are learnt on the *other* animals (the paper: leave-one-out); from its last
three measurements, with :math:`t_0` the first of them, the posterior of
:math:`(\ln\beta, V_I)` is

.. math:: p \propto N(\ln\beta;\ \ln\beta_{pop}, \omega_\beta^2)\;
          N(V_I;\ y_0, (\sigma y_0)^2)\;\prod_j N(y_j;\ f_j, (\sigma f_j)^2),
          \qquad f(t) = K\exp\!\left(e^{-\beta (t-t_0)}\ln\frac{V_I}{K}\right),

and the predicted injection time is the posterior median of
:math:`t_{init} = t_0 - \beta^{-1}\ln\left(\ln(V_0/K)/\ln(V_I/K)\right)`. Here the
posterior is evaluated on a grid (two dimensions) rather than sampled by Stan's NUTS. The
error of one prediction is :math:`(t_{pred} - 0)/t_0` (relative to the true age at
:math:`t_0`); accuracy is the mean absolute error (%), precision the mean width of the
95 % interval (days).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tgsim.errors import TgsimWarning

#: photons/s per mm³ of tumour, Vaghi 2020 (plumky import_data.py)
FLUO_RATIO = 1.519e7
#: V0 = Vc for the bioluminescence set (photons/s)
FLUO_V0 = FLUO_RATIO * 0.08
#: width (days) above which a prediction interval counts as not determined (plumky)
MAX_PI_WIDTH = 3000.0


def population(ds, model: str, *, v0: float, unit: str | None = None, seed: int | None = 0,
               n_burn: int = 300, n_iter: int = 200, random_effects: Sequence[str] | None = None,
               covariance: str = "diagonal", error_model: str = "proportional",
               fast: bool = False):
    """:func:`tgsim.fit_population` with ``initial_volume = v0`` at day 0 (the paper's
    convention). ``fast``: one SAEM run, no burn-in extension and the linearised -2LL only
    (for smoke runs and for the many training fits of the back-prediction)."""
    from tgsim.fitting.saem import fit_population

    opts: dict[str, Any] = {}
    if fast:
        opts = {"n_runs": 1, "max_burn": n_burn, "likelihood": "lin"}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", TgsimWarning)  # flags are kept in the result
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in a diverging law
        return fit_population(ds, model, t0=0.0, fixed={"initial_volume": v0}, unit=unit,
                              seed=seed, n_burn=n_burn, n_iter=n_iter,
                              random_effects=random_effects, covariance=covariance,
                              error_model=error_model, **opts)


def alpha_beta(growth_rate: Any, carrying_capacity: Any, vc: float) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """Paper's Gompertz parameters: :math:`\\alpha = r\\ln(K/V_c)` (1/day), :math:`\\beta = r`."""
    r = np.asarray(growth_rate, float)
    return r * np.log(np.asarray(carrying_capacity, float) / vc), r


def population_table(results: dict[str, Any], unit: str | None = None):
    """Fixed effects, random effects (SD and variance), shrinkage, error parameters,
    criteria (with the method of the -2LL), convergence and flags of population fits.

    ``unit`` (the data unit, e.g. photons/s) replaces mm^3 in the parameter units.
    """
    import pandas as pd

    rows = []
    for name, pr in results.items():
        err = "; ".join(f"{k} {v:.4g}" for k, v in pr.error_parameters.items())
        for j, p in enumerate(pr.param_names):
            if not pr.free[j]:
                continue
            u = pr.param_units[j]
            if unit:
                u = u.replace("mm^3", unit)
            rows.append({"model": name, "parameter": p, "unit": u,
                         "typical": pr.typical[j], "rse_pct": pr.rse_typical[j],
                         "omega": pr.omega[j], "omega_rse_pct": pr.rse_omega[j],
                         "omega2": pr.omega2[j], "omega2_rse_pct": pr.rse_omega2[j],
                         "shrinkage_pct": 100 * pr.shrinkage[j],
                         "two_stage_typical": pr.two_stage["typical"][j],
                         "two_stage_omega2": pr.two_stage["omega2"][j],
                         "error_model": pr.error_model.name, "error_parameters": err,
                         "sigma": pr.sigma, "neg2ll": pr.neg2ll,
                         "neg2ll_method": pr.convergence["methods"][pr.neg2ll_method],
                         "aic": pr.aic, "bic": pr.bic, "converged": pr.converged,
                         "flags": " | ".join(pr.flags) if pr.flags else ""})
    return pd.DataFrame(rows)


def flag_note(results: dict[str, Any]) -> str:
    """One sentence naming the degenerate or unconverged population fits."""
    bad = {m: r.flags for m, r in results.items() if r.flags}
    if not bad:
        return "No population fit is flagged (all converged, every RSE below 200 %)."
    return ("Flagged population fits (their estimates are not to be read as such): "
            + "; ".join(f"{m}: " + " | ".join(f) for m, f in bad.items()) + ".")


def last_points(T: np.ndarray, Y: np.ndarray, n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The last ``n`` measured points of each row (NaN-padded arrays in, (subject, n) out)."""
    S = T.shape[0]
    T3 = np.full((S, n), np.nan)
    Y3 = np.full((S, n), np.nan)
    for i in range(S):
        ok = np.flatnonzero(np.isfinite(T[i]) & np.isfinite(Y[i]))
        if ok.size >= n:
            T3[i], Y3[i] = T[i, ok[-n:]], Y[i, ok[-n:]]
    return T3, Y3


@dataclass
class PriorSet:
    """Population parameters of the reduced Gompertz model learnt on a training set."""

    carrying_capacity: float   # K = Vc e^k (data unit)
    beta_pop: float            # typical beta (1/day)
    omega_beta: float          # sd of log beta
    sigma: float               # proportional residual error


def reduced_prior(ds, *, v0: float, unit: str | None = None, seed: int | None = 0,
                  n_burn: int = 150, n_iter: int = 100) -> PriorSet:
    """Fit the reduced Gompertz population model (random effect on beta only)."""
    pr = population(ds, "gompertz", v0=v0, unit=unit, seed=seed, n_burn=n_burn,
                    n_iter=n_iter, random_effects=["growth_rate"], fast=True)
    j_r = pr.param_names.index("growth_rate")
    j_k = pr.param_names.index("carrying_capacity")
    return PriorSet(float(pr.typical[j_k]), float(pr.typical[j_r]),
                    float(np.sqrt(pr.omega2[j_r])), float(pr.sigma))


def bayes_reduced(t: np.ndarray, y: np.ndarray, prior: PriorSet, *, v_inj: float,
                  level: float = 0.95, n_beta: int = 401, n_vi: int = 161
                  ) -> tuple[float, float, float]:
    """Posterior median and interval of the injection time (days) for one animal.

    Grid over :math:`\\ln\\beta` (prior mean ± 6 prior sd) and :math:`V_I` (prior mean
    ± 6 prior sd, kept positive and below K); see the module docstring.
    """
    from scipy.stats import norm

    t0, y0 = float(t[0]), float(y[0])
    K, s = prior.carrying_capacity, prior.sigma
    lb = np.linspace(np.log(prior.beta_pop) - 6 * prior.omega_beta,
                     np.log(prior.beta_pop) + 6 * prior.omega_beta, n_beta)
    lo_v = max(y0 * (1 - 6 * s), y0 * 1e-3)
    hi_v = min(y0 * (1 + 6 * s), K * (1 - 1e-9))
    if not hi_v > lo_v:
        return (np.nan, np.nan, np.nan)
    vi = np.linspace(lo_v, hi_v, n_vi)
    B = np.exp(lb)[:, None, None]
    V = vi[None, :, None]
    dt = (np.asarray(t, float) - t0)[None, None, :]
    f = K * np.exp(np.exp(-B * dt) * np.log(V / K))
    with np.errstate(all="ignore"):
        ll = norm.logpdf(np.asarray(y, float)[None, None, :], f, s * f).sum(axis=2)
        lp = (norm.logpdf(lb, np.log(prior.beta_pop), prior.omega_beta)[:, None]
              + norm.logpdf(vi, y0, s * y0)[None, :])
        logw = ll + lp
        t_init = t0 - np.log(np.log(v_inj / K) / np.log(vi[None, :] / K)) / np.exp(lb)[:, None]
    ok = np.isfinite(logw) & np.isfinite(t_init)
    if not ok.any():
        return (np.nan, np.nan, np.nan)
    w = np.exp(logw[ok] - logw[ok].max())
    x = t_init[ok]
    order = np.argsort(x)
    cw = np.cumsum(w[order]) / w.sum()
    q = np.interp([0.5, 0.5 - level / 2, 0.5 + level / 2], cw, x[order])
    return float(q[0]), float(q[1]), float(q[2])


def lm_backward(T3: np.ndarray, Y3: np.ndarray, *, sigma: float, v_inj: float,
                carrying_capacity: float | None = None, seed: int | None = 0):
    """Likelihood-only back-prediction from the last points (the paper's "LM").

    The size at the first of the points is held at its measured value; with
    ``carrying_capacity`` given (reduced Gompertz) only the rate is estimated, otherwise
    rate and carrying capacity (Gompertz). The criterion is least squares on log sizes
    with sigma held at the population value: relative errors weighted by the observed
    size, as the paper's weighted least squares (sd proportional to the measurement), and
    unbiased on exact data (a proportional-error likelihood, whose variance follows the
    model, is not).

    Returns
    -------
    (time, lower, upper, success) : arrays, (subject,)
        Predicted injection time (days) and its 95 % interval from the asymptotic
        distribution of the estimates.
    """
    from tgsim.fitting import fit
    from tgsim.fitting.forecasting import tumour_age

    ok = np.all(np.isfinite(T3), axis=1)
    fixed: dict[str, Any] = {"initial_volume": np.where(ok, Y3[:, 0], 1.0), "sigma": sigma}
    if carrying_capacity is not None:
        fixed["carrying_capacity"] = carrying_capacity
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        res = fit((np.where(ok[:, None], T3, np.nan), np.where(ok[:, None], Y3, np.nan)),
                  "gompertz", t0=np.where(ok, T3[:, 0], 0.0), fixed=fixed,
                  error_model="lognormal")
        age = tumour_age(res, volume=v_inj, seed=seed)
    good = res.success & ok
    return (np.where(good, age.time, np.nan), np.where(good, age.lower, np.nan),
            np.where(good, age.upper, np.nan), good)


def folds_of(n: int, folds: int) -> list[np.ndarray]:
    """Contiguous groups of subject indices (as the paper's code splits them; no shuffle)."""
    folds = n if folds <= 0 or folds > n else folds
    size = int(np.ceil(n / folds))
    return [np.arange(i * size, min((i + 1) * size, n)) for i in range(folds)
            if i * size < n]


def age_prediction(ds, *, v_inj: float, unit: str | None = None, folds: int = 6,
                   seed: int | None = 0, n_burn: int = 150, n_iter: int = 100,
                   gompertz_sigma: float | None = None):
    """Back-predict the injection day of every animal from its last three points.

    Parameters
    ----------
    ds : xarray.Dataset
        Series (days, data unit); zeros already removed.
    v_inj : float
        Size at injection (the paper's V0 = Vc).
    unit : str, optional
        Data unit passed to the fitters (e.g. ``"photons/s"``).
    folds : int
        Cross-validation folds for the population priors (0 or the number of animals:
        leave-one-out, as in the paper).
    seed : int, optional
    n_burn, n_iter : int
        SAEM iterations of each training fit.
    gompertz_sigma : float, optional
        Residual error held in the likelihood-only Gompertz back-prediction. None: from a
        full Gompertz population fit on each training set (as the paper; one more SAEM
        run per fold); a number (e.g. the all-animal population estimate) saves that run.

    Returns
    -------
    pandas.DataFrame
        One row per animal: ``t_first`` (day of the first of the three points), for each
        method (``bayes_reduced``, ``lm_reduced``, ``lm_gompertz``) the predicted
        injection day, the interval and the relative error ``(t_pred - 0) / t_first``.
    """
    import pandas as pd

    from ._common import arrays

    T, Y, labels = arrays(ds)
    T3, Y3 = last_points(T, Y, 3)
    S = T.shape[0]
    out = {k: np.full(S, np.nan) for k in
           ("bayes_reduced", "bayes_reduced_lo", "bayes_reduced_hi",
            "lm_reduced", "lm_reduced_lo", "lm_reduced_hi",
            "lm_gompertz", "lm_gompertz_lo", "lm_gompertz_hi")}
    fold_id = np.zeros(S, int)
    for f, test in enumerate(folds_of(S, folds)):
        train = np.setdiff1d(np.arange(S), test)
        fold_id[test] = f
        prior = reduced_prior(ds.isel(subject=train), v0=v_inj, unit=unit, seed=seed,
                              n_burn=n_burn, n_iter=n_iter)
        if gompertz_sigma is None:
            sig_g = float(population(ds.isel(subject=train), "gompertz", v0=v_inj, unit=unit,
                                     seed=seed, n_burn=n_burn, n_iter=n_iter,
                                     covariance="full", fast=True).sigma)
        else:
            sig_g = float(gompertz_sigma)
        for i in test:
            if np.all(np.isfinite(T3[i])):
                m, lo, hi = bayes_reduced(T3[i], Y3[i], prior, v_inj=v_inj)
                out["bayes_reduced"][i], out["bayes_reduced_lo"][i] = m, lo
                out["bayes_reduced_hi"][i] = hi
        for key, K, sig in (("lm_reduced", prior.carrying_capacity, prior.sigma),
                            ("lm_gompertz", None, sig_g)):
            tm, lo, hi, _ = lm_backward(T3[test], Y3[test], sigma=sig, v_inj=v_inj,
                                        carrying_capacity=K, seed=seed)
            out[key][test], out[key + "_lo"][test], out[key + "_hi"][test] = tm, lo, hi
    df = pd.DataFrame({"subject": labels, "fold": fold_id, "t_first": T3[:, 0], **out})
    for key in ("bayes_reduced", "lm_reduced", "lm_gompertz"):
        df[key + "_error"] = (df[key] - 0.0) / df["t_first"].abs()
        width = (df[key + "_hi"] - df[key + "_lo"]).abs()
        df[key + "_pi_width"] = width.where(width <= MAX_PI_WIDTH)
    return df


def accuracy(df, key: str) -> tuple[float, float, int]:
    """(mean |relative error| %, mean 95 % interval width in days, animals predicted)."""
    err = df[key + "_error"].abs()
    return (float(100 * err.mean()), float(df[key + "_pi_width"].mean()),
            int(err.notna().sum()))


def population_bic_figure(bic: dict[str, float]):
    """Bar chart of the population (SAEM) fits' BIC per law."""
    from .figures import ranking_bar

    return ranking_bar(bic, label="population BIC",
                       title="Population fits (SAEM): BIC").figure


def alpha_beta_figure(beta, alpha, r2: float):
    """Gompertz alpha against beta (EBEs), with the R² of their linear relation."""
    from .figures import scatter_compare

    return scatter_compare(beta, alpha, xlabel="β = r (1/day)", ylabel="α = r ln(K/Vc) (1/day)",
                           identity=False, annotate=f"R² = {r2:.3f}",
                           title="Gompertz parameters (EBEs)").figure
