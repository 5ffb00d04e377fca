"""Figures of the validation reports: fits per subject and model ranking.

They follow :mod:`tgsim.plot`'s conventions (pyplot imported inside the functions,
Okabe-Ito colours, labels with units: time in days, volumes in mm³). Small multiples need
their own figure, so :func:`fits_overlay` returns a Figure; :func:`ranking_bar` takes
``ax=None`` and returns the Axes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tgsim.errors import TgsimError
from tgsim.plot import GREY, OKABE_ITO, new_axes

__all__ = ["fits_overlay", "ranking_bar", "scatter_compare"]


def _curve(model_fit: Any, i: int, t_lo: float, t_hi: float, n: int, from_t0: bool = True):
    """(grid, values) for subject ``i`` from a FitResult or a callable ``f(i, grid)``."""
    if hasattr(model_fit, "predict") and hasattr(model_fit, "data"):
        t0 = float(model_fit.data.t0[i])
        lo = t0 if from_t0 else max(t_lo, t0)
        if not (t_hi > lo) or not model_fit.success[i]:
            return None
        grid = np.linspace(lo, t_hi, n)
        return grid, model_fit.predict(grid, i)
    if callable(model_fit):
        grid = np.linspace(t_lo, t_hi, n)
        return grid, np.asarray(model_fit(i, grid), float)
    raise TgsimError("`curves` values must be FitResults or callables f(subject_index, days)")


def fits_overlay(times: Any, values: Any, curves: Mapping[str, Any] | None = None, *,
                 subjects: Sequence[str] | None = None, log: bool = False,
                 ncols: int = 5, max_subjects: int | None = 20,
                 t_range: tuple[float, float] | None = None, n_grid: int = 120,
                 ylabel: str = "tumour volume (mm³)", xlabel: str = "time (day)",
                 title: str | None = None, panel_size: tuple[float, float] = (2.0, 1.6),
                 marks: Mapping[str, Any] | None = None):
    """Data points and fitted curves for each subject, as small multiples.

    Parameters
    ----------
    times, values : array_like, (subject, obs)
        Observation days and values (NaN-padded rows, as in a series Dataset).
    curves : mapping of str to FitResult or callable, optional
        Model name -> fit. A FitResult is drawn from its ``t0`` (e.g. the injection day)
        to the last observation, or over ``t_range`` from no earlier than ``t0`` (a
        failed fit draws nothing); a callable ``f(subject_index, days) -> values`` is
        drawn over ``t_range`` (default: the subject's observed span).
    subjects : sequence of str, optional
        Panel titles (default: the row index).
    log : bool
        Logarithmic y axis.
    ncols : int
        Panels per row.
    max_subjects : int or None
        Draw only the first ``max_subjects`` subjects (None: all).
    t_range : (float, float), optional
        Time span (days) of the curves; default each subject's observed span.
    n_grid : int
        Points per curve.
    ylabel, xlabel, title : str
    panel_size : (float, float)
        Inches per panel.
    marks : mapping of str to array_like, optional
        Extra per-subject vertical lines, name -> (subject,) days (e.g. a predicted
        injection day); NaN entries are skipped.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    T = np.atleast_2d(np.asarray(times, float))
    Y = np.atleast_2d(np.asarray(values, float))
    if T.shape != Y.shape:
        raise TgsimError(f"`times` and `values` must have the same shape; got {T.shape} "
                         f"and {Y.shape}")
    n = T.shape[0] if max_subjects is None else min(T.shape[0], int(max_subjects))
    if n < 1:
        raise TgsimError("`times` holds no subject")
    labels = [str(s) for s in subjects] if subjects is not None else [str(i) for i in range(n)]
    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, sharex=True, layout="constrained",
                             figsize=(panel_size[0] * ncols, panel_size[1] * nrows + 0.6))
    curves = dict(curves or {})
    handles: dict[str, Any] = {}
    for i in range(n):
        ax = axes[i // ncols][i % ncols]
        ok = np.isfinite(T[i]) & np.isfinite(Y[i])
        if log:
            ok &= Y[i] > 0
        h = ax.plot(T[i, ok], Y[i, ok], "o", ms=3, color="black", label="data", zorder=3)
        handles.setdefault("data", h[0])
        lo, hi = (np.nanmin(T[i]), np.nanmax(T[i])) if t_range is None else t_range
        for j, (name, model_fit) in enumerate(curves.items()):
            c = _curve(model_fit, i, float(lo), float(hi), n_grid, from_t0=t_range is None)
            if c is None:
                continue
            grid, f = c
            good = np.isfinite(f) & ((f > 0) if log else True)
            h = ax.plot(grid[good], f[good], "-", lw=1.2, color=OKABE_ITO[j % len(OKABE_ITO)],
                        label=name)
            handles.setdefault(name, h[0])
        for k, (name, days) in enumerate((marks or {}).items()):
            d = np.asarray(days, float)
            if i < d.size and np.isfinite(d[i]):
                h = ax.axvline(d[i], color=GREY, lw=1, ls=("--", ":", "-.")[k % 3],
                               label=name)
                handles.setdefault(name, h)
        if log:
            from matplotlib.ticker import LogLocator, NullFormatter

            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(base=10, numticks=4))
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(labels[i] if i < len(labels) else str(i), fontsize=8)
        ax.tick_params(labelsize=7)
    for i in range(n, nrows * ncols):
        axes[i // ncols][i % ncols].set_visible(False)
    for c in range(ncols):  # x label under the lowest panel of each column
        r = (n - 1 - c) // ncols if c < n else -1
        if r >= 0:
            axes[r][c].set_xlabel(xlabel, fontsize=8)
            axes[r][c].xaxis.set_tick_params(labelbottom=True)
    fig.supylabel(ylabel, fontsize=9)
    fig.legend(list(handles.values()), list(handles.keys()), loc="outside lower center",
               ncols=min(len(handles), 6), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def ranking_bar(values: Mapping[str, float], *, label: str = "summed AIC",
                lower_is_better: bool = True, relative: bool = True, ax: Any = None,
                title: str | None = None, failed: Mapping[str, int] | None = None):
    """Per-model criterion (AIC, BIC, an error) as horizontal bars, the best highlighted.

    Parameters
    ----------
    values : mapping of str to float
        Model name -> criterion. NaN (no value) is listed under the bars.
    label : str
        What the values are (axis label).
    lower_is_better : bool
        Direction of the ranking.
    relative : bool
        Draw the difference from the best (Δ, e.g. ΔAIC) rather than the raw values.
    ax : matplotlib Axes, optional
    title : str, optional
    failed : mapping of str to int, optional
        Failed fits per model, appended to the tick labels.

    Returns
    -------
    matplotlib.axes.Axes
    """
    names = [str(k) for k in values]
    v = np.array([float(values[k]) for k in values], float)
    good = np.isfinite(v)
    if not good.any():
        raise TgsimError("`values`: no model has a finite value")
    missing = [n for n, g in zip(names, good, strict=True) if not g]
    names = [n for n, g in zip(names, good, strict=True) if g]
    v = v[good]
    order = np.argsort(v if lower_is_better else -v, kind="stable")[::-1]  # best on top
    names = [names[i] for i in order]
    v = v[order]
    best = v.min() if lower_is_better else v.max()
    shown = np.abs(v - best) if relative else v
    ax = new_axes(ax, figsize=(6.0, max(2.2, 0.4 * len(names) + 1.2)))
    colours = [OKABE_ITO[1] if x == best else OKABE_ITO[5] for x in v]
    ax.barh(np.arange(len(names)), shown, color=colours, height=0.6)
    fl = dict(failed or {})
    ticks = [f"{n} ({fl[n]} failed)" if fl.get(n) else n for n in names]
    ax.set_yticks(np.arange(len(names)), ticks, fontsize=8)
    for i, (s, x) in enumerate(zip(shown, v, strict=True)):
        ax.annotate(f"{x:.4g}", xy=(s, i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=7)
    ax.set_xlabel(f"Δ {label} from the best" if relative else label)
    ax.margins(x=0.18)
    if missing:
        ax.text(0.99, 0.01, "no value: " + ", ".join(missing), transform=ax.transAxes,
                ha="right", va="bottom", fontsize=7, color=GREY)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def scatter_compare(x: Any, y: Any, *, xlabel: str, ylabel: str, identity: bool = True,
                    log: bool = False, ax: Any = None, title: str | None = None,
                    annotate: str | None = None):
    """Scatter of two per-subject quantities (e.g. predicted vs true age), optional y = x.

    Parameters
    ----------
    x, y : array_like
    xlabel, ylabel : str
    identity : bool
        Draw the line y = x.
    log : bool
        Log-log axes.
    ax : matplotlib Axes, optional
    title, annotate : str, optional
        Title; text drawn in the upper left corner (e.g. a correlation).

    Returns
    -------
    matplotlib.axes.Axes
    """
    xa = np.asarray(x, float).reshape(-1)
    ya = np.asarray(y, float).reshape(-1)
    ok = np.isfinite(xa) & np.isfinite(ya)
    ax = new_axes(ax, figsize=(4.2, 3.8))
    ax.plot(xa[ok], ya[ok], "o", ms=4, color=OKABE_ITO[0], alpha=0.8)
    if identity and ok.any():
        lo = min(xa[ok].min(), ya[ok].min())
        hi = max(xa[ok].max(), ya[ok].max())
        ax.plot([lo, hi], [lo, hi], "--", color=GREY, lw=1)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if annotate:
        ax.text(0.03, 0.97, annotate, transform=ax.transAxes, va="top", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax
