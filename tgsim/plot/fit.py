r"""Fit figures: data with prediction, band and residuals; model comparison; profiles.

These take plain arrays, so they draw any fit; ``FitResult.plot()`` of
:mod:`tgsim.fit` calls :func:`fit_plot`.

References
----------
Burnham KP, Anderson DR. *Model Selection and Multimodel Inference*, 2nd ed. Springer,
2002 (Akaike weights). Venzon DJ, Moolgavkar SH. A method for computing
profile-likelihood-based confidence intervals. *Appl Stat* 1988;37(1):87-94.
Raue A, Kreutz C, Maiwald T, et al. Structural and practical identifiability analysis of
partially observed dynamical models by exploiting the profile likelihood.
*Bioinformatics* 2009;25(15):1923-1929.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import TgsimError
from ._labels import GREY, OKABE_ITO, as_float_1d, new_axes


def fit_plot(times: Any, data: Any, prediction_times: Any = None, prediction: Any = None, *,
             band: tuple[Any, Any] | None = None, residuals: Any = "auto",
             censored: Any = None, ax: Any = None, residual_ax: Any = None, log: bool = False,
             ylabel: str = "tumour volume (mm³)", xlabel: str = "time (day)",
             model_label: str = "model", band_label: str = "prediction band",
             title: str | None = None):
    r"""Observed data with the fitted curve, its prediction band and the residuals.

    Parameters
    ----------
    times, data : array_like
        Observation times (days) and values (e.g. volumes in mm³); NaN values are
        skipped.
    prediction_times, prediction : array_like, optional
        The fitted curve on a (fine) time grid.
    band : (low, high) arrays, optional
        Prediction band on ``prediction_times`` (e.g. 2.5 and 97.5 percentiles).
    residuals : array_like, "auto" or None
        Residuals at ``times``. "auto": :math:`y_i - \hat y(t_i)` with the prediction
        interpolated linearly (log-linearly on a log axis). None: no residual panel.
    censored : array of bool, optional
        Observations below a detection limit (drawn as open triangles at the limit).
    ax : matplotlib Axes, optional
        Main axes. When None a new figure gets the main panel and, below it, a residual
        panel (reachable as ``ax.figure.axes[1]``).
    residual_ax : matplotlib Axes, optional
        Where to draw the residuals when ``ax`` is given.
    log : bool
        Logarithmic y axis (residuals are then on the log scale,
        :math:`\ln y_i - \ln \hat y(t_i)`).
    ylabel, xlabel, model_label, band_label, title : str

    Returns
    -------
    matplotlib.axes.Axes
        The main axes.
    """
    t = as_float_1d(times, "times", allow_nan=False)
    y = as_float_1d(data, "data")
    if y.size != t.size:
        raise TgsimError(f"`data` must have one value per time ({t.size}); got {y.size}")
    cens = np.zeros(t.size, bool) if censored is None else np.asarray(censored, bool).reshape(-1)
    if cens.size != t.size:
        raise TgsimError(f"`censored` must have one flag per time ({t.size}); got {cens.size}")
    tp = fp = None
    if prediction is not None:
        if prediction_times is None:
            raise TgsimError("`prediction_times` is needed with `prediction`")
        tp = as_float_1d(prediction_times, "prediction_times", allow_nan=False)
        fp = as_float_1d(prediction, "prediction")
        if fp.size != tp.size:
            raise TgsimError(f"`prediction` must have one value per prediction time "
                             f"({tp.size}); got {fp.size}")
        if tp.size > 1 and np.any(np.diff(tp) <= 0):
            raise TgsimError("`prediction_times` must be strictly increasing (days)")
    if isinstance(residuals, str):
        if residuals != "auto":
            raise TgsimError(f"`residuals` must be an array, 'auto' or None; got {residuals!r}")
        res = None
        if fp is not None:
            if log:
                with np.errstate(divide="ignore", invalid="ignore"):
                    res = np.log(y) - np.interp(t, tp, np.log(fp))
            else:
                res = y - np.interp(t, tp, fp)
    elif residuals is None:
        res = None
    else:
        res = as_float_1d(residuals, "residuals")
        if res.size != t.size:
            raise TgsimError(f"`residuals` must have one value per time ({t.size}); "
                             f"got {res.size}")
    if ax is None:
        import matplotlib.pyplot as plt

        if res is not None:
            fig, (ax, residual_ax) = plt.subplots(
                2, 1, figsize=(6.4, 5.2), sharex=True, layout="constrained",
                gridspec_kw={"height_ratios": (3, 1)})
        else:
            fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    if band is not None:
        if tp is None:
            raise TgsimError("`band` needs `prediction_times`")
        lo = as_float_1d(band[0], "band[0]")
        hi = as_float_1d(band[1], "band[1]")
        if lo.size != tp.size or hi.size != tp.size:
            raise TgsimError(f"`band` arrays must have one value per prediction time ({tp.size})")
        ax.fill_between(tp, lo, hi, color=OKABE_ITO[0], alpha=0.2, lw=0, label=band_label)
    if fp is not None:
        ax.plot(tp, fp, color=OKABE_ITO[0], lw=2, label=model_label)
    seen = ~cens & np.isfinite(y)
    ax.plot(t[seen], y[seen], ls="none", marker="o", ms=5, color="black", label="data")
    if cens.any():
        ax.plot(t[cens], y[cens], ls="none", marker="v", ms=6, mfc="none", color="black",
                label="below detection limit")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend(frameon=False, fontsize=8)
    if title is not None:
        ax.set_title(title)
    if res is not None and residual_ax is not None:
        ok = np.isfinite(res) & ~cens
        residual_ax.axhline(0.0, color=GREY, lw=0.8)
        residual_ax.plot(t[ok], res[ok], ls="none", marker="o", ms=4, color="black")
        residual_ax.set_ylabel("log residual" if log else "residual")
        residual_ax.set_xlabel(xlabel)
    else:
        ax.set_xlabel(xlabel)
    return ax


def _criteria_series(criteria: Any):
    import pandas as pd

    if isinstance(criteria, Mapping):
        s = pd.Series({str(k): v for k, v in criteria.items()}, dtype=float)
    elif isinstance(criteria, pd.Series):
        s = criteria.astype(float)
        s.index = s.index.astype(str)
    else:
        raise TgsimError("`criteria` must be a mapping model -> information criterion; got "
                         f"{type(criteria).__name__}")
    if s.empty:
        raise TgsimError("`criteria` is empty")
    if np.isinf(s.to_numpy()).any():
        bad = s.index[np.isinf(s.to_numpy())][0]
        raise TgsimError(f"`criteria` must be finite or NaN (a failed fit); got {bad}={s[bad]!r}")
    return s


def _akaike_weights(criteria: Any) -> Any:
    r"""Akaike weights :math:`w_i = e^{-\Delta_i/2} / \sum_j e^{-\Delta_j/2}`,
    :math:`\Delta_i = c_i - \min_j c_j` (AIC, AICc or BIC values).

    Returns a pandas Series model -> weight.
    """
    s = _criteria_series(criteria)
    d = s - s.min()
    w = np.exp(-0.5 * d)
    return w / w.sum()


def model_comparison(criteria: Any, *, criterion: str = "AIC", ax: Any = None,
                     title: str | None = None):
    r"""Akaike weights of competing models, as horizontal bars.

    With :math:`\Delta_i = c_i - \min_j c_j` the difference of each model's information
    criterion (AIC, AICc or BIC) from the best, the weight
    :math:`w_i = e^{-\Delta_i/2} / \sum_j e^{-\Delta_j/2}` is the relative likelihood of
    model *i* among those compared (Burnham & Anderson 2002). Each bar is annotated with
    its :math:`\Delta_i`.

    Parameters
    ----------
    criteria : mapping or pandas Series
        Model name -> criterion value (lower is better); NaN marks a fit that failed
        (left out of the weights and named under the bars).
    criterion : str
        Name used in the labels ("AIC", "AICc", "BIC").
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    s = _criteria_series(criteria)
    failed = [str(k) for k in s.index[s.isna()]]
    s = s.dropna()
    if s.empty:
        raise TgsimError("`criteria`: no model has a finite value (every fit failed)")
    w = _akaike_weights(s)
    order = np.argsort(w.to_numpy(), kind="stable")
    names = w.index.to_numpy()[order]
    weights = w.to_numpy()[order]
    delta = (s - s.min()).to_numpy()[order]
    ax = new_axes(ax, figsize=(6.4, max(2.4, 0.45 * len(names) + 1.2)))
    colours = [OKABE_ITO[0] if d == 0 else OKABE_ITO[5] for d in delta]
    bars = ax.barh(np.arange(len(names)), weights, color=colours, height=0.6)
    for patch in bars:
        patch.set_gid("akaike-weights")
    for i, (wi, di) in enumerate(zip(weights, delta, strict=True)):
        ax.annotate(f"Δ{criterion} = {di:.1f}", xy=(wi, i), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(np.arange(len(names)))
    ax.set_yticklabels(names)
    ax.set_xlim(0.0, 1.25)
    ax.set_xlabel(f"{criterion} weight")
    if failed:
        ax.annotate("not converged: " + ", ".join(failed), xy=(0.99, 0.02),
                    xycoords="axes fraction", ha="right", va="bottom", fontsize=8,
                    color=GREY)
    ax.set_title(title if title is not None else f"Model comparison ({criterion} weights)")
    return ax


def profile_plot(values: Any, objective: Any, *, kind: str = "neg2loglik",
                       level: float = 0.95, estimate: float | None = None, ax: Any = None,
                       parameter: str = "parameter", unit: str = "",
                       title: str | None = None,
                       interval: tuple[float, float] | None = None):
    r"""Profile likelihood of one parameter, with its likelihood-ratio confidence interval.

    The profile :math:`\Delta(\theta) = -2 \log L_p(\theta) + 2 \log L(\hat\theta)` is
    compared with :math:`\chi^2_{1}(\text{level})` (3.84 at 95 %); the interval is where
    it lies below (Venzon & Moolgavkar 1988; Raue et al. 2009). The crossings are found
    by linear interpolation between profile points; an interval that does not close
    inside the profiled range is drawn open (a sign of practical non-identifiability).

    Parameters
    ----------
    values : array_like
        Profiled parameter values, increasing.
    objective : array_like
        :math:`-2 \log L` (``kind="neg2loglik"``) or :math:`\log L` (``kind="loglik"``)
        maximised over the other parameters at each value.
    kind : {"neg2loglik", "loglik"}
    level : float
        Confidence level in (0, 1).
    estimate : float, optional
        The maximum-likelihood estimate (default: the profile's minimum).
    ax : matplotlib Axes, optional
    parameter, unit : str
        Axis label of the parameter.
    title : str, optional
    interval : (float, float), optional
        The interval found by the profile search (:func:`tgsim.fitting.profile_likelihood`;
        NaN for an open side): drawn as given instead of read off the drawn points, so
        the figure and the summary state the same interval.

    Returns
    -------
    matplotlib.axes.Axes
        The interval is stored in ``ax.tgsim_interval`` as (low, high) (NaN when open).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0.0, 2.0, 41)
    >>> ax = profile_plot(x, 4.0 * (x - 1.0) ** 2, parameter="r")
    >>> [round(v, 2) for v in ax.tgsim_interval]
    [0.02, 1.98]
    """
    from scipy.stats import chi2

    x = as_float_1d(values, "values", allow_nan=False)
    f = as_float_1d(objective, "objective")
    if f.size != x.size:
        raise TgsimError(f"`objective` must have one value per profiled value ({x.size}); "
                         f"got {f.size}")
    if x.size < 2 or np.any(np.diff(x) <= 0):
        raise TgsimError("`values` must be strictly increasing with at least 2 points")
    if kind not in ("neg2loglik", "loglik"):
        raise TgsimError(f"`kind` must be 'neg2loglik' or 'loglik'; got {kind!r}")
    if not (0.0 < level < 1.0):
        raise TgsimError(f"`level` must be in (0, 1); got {level!r}")
    n2 = f if kind == "neg2loglik" else -2.0 * f
    if not np.any(np.isfinite(n2)):
        raise TgsimError("`objective` has no finite value")
    delta = n2 - np.nanmin(n2)
    thr = float(chi2.ppf(level, 1))
    ibest = int(np.nanargmin(delta))
    est = x[ibest] if estimate is None else float(estimate)

    def crossing(idx: range) -> float:
        prev = ibest
        for i in idx:
            if np.isfinite(delta[i]) and delta[i] > thr:
                a, b = delta[prev], delta[i]
                return float(x[prev] + (thr - a) * (x[i] - x[prev]) / (b - a))
            if np.isfinite(delta[i]):
                prev = i
        return float("nan")

    if interval is None:
        lo = crossing(range(ibest - 1, -1, -1))
        hi = crossing(range(ibest + 1, x.size))
    else:
        lo, hi = (float(v) for v in interval)
    ax = new_axes(ax)
    ok = np.isfinite(delta)
    ax.plot(x[ok], delta[ok], color=OKABE_ITO[0], lw=2, marker="o", ms=3, label="profile")
    line = ax.axhline(thr, color=OKABE_ITO[1], ls="--", lw=1.2,
                      label=f"χ²₁ {100 * level:g} % = {thr:.2f}")
    line.set_gid("profile-threshold")
    ax.axvline(est, color=GREY, lw=1.0, ls=":", label="estimate")
    left = lo if np.isfinite(lo) else x[0]
    right = hi if np.isfinite(hi) else x[-1]
    ax.axvspan(left, right, color=OKABE_ITO[0], alpha=0.1, lw=0,
               label=f"{100 * level:g} % interval" + ("" if np.isfinite(lo) and np.isfinite(hi)
                                                      else " (open)"))
    ax.set_xlabel(f"{parameter} ({unit})" if unit else parameter)
    ax.set_ylabel("Δ(−2 log L)")
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(delta))) - 0.2,
                top=min(max(thr * 1.8, float(np.nanmax(delta[ok])) * 1.05), thr * 4.0))
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title if title is not None else f"Profile likelihood of {parameter}")
    ax.tgsim_interval = (lo, hi)
    return ax
