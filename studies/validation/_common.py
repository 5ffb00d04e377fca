"""Shared steps of the reproductions: loading, per-model goodness of fit, tables, figures.

Units: time in days; volumes in mm³ (or the data set's published unit, e.g. photons/s).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tgsim.errors import TgsimWarning

#: why some fitted curves in the figures lie far below the data
MISFIT_NOTE = (
    "Under a proportional error with sigma estimated, a law that cannot follow a series "
    "(here the exponential and logistic started from the injection size) is fitted with a "
    "very large sigma and its curve runs below the data: these fits converge but describe "
    "nothing, which the criteria rank last.")


def load(name: str, data_dir: str | None = None):
    """A data set of :mod:`tgsim.datasets`, from ``data_dir`` when given; zeros become NaN.

    The papers' code drops zero volumes before fitting (they cannot be fitted under a
    proportional error model); the count dropped is kept in ``attrs["n_zeros_dropped"]``.
    """
    import tgsim.datasets as tds

    ds = tds.load(name, path=data_dir) if data_dir else tds.load(name)
    v = ds["value"].values
    zero = np.isfinite(v) & (v <= 0)
    if zero.any():
        ds = ds.copy()
        ds["value"] = ds["value"].where(~zero)
    ds.attrs["n_zeros_dropped"] = int(zero.sum())
    return ds


def arrays(ds) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(times (subject, obs) days, values, subject labels) from a series Dataset."""
    return (np.asarray(ds["time"].values, float), np.asarray(ds["value"].values, float),
            [str(s) for s in ds["subject"].values])


def compare_quiet(data: Any, models: Sequence[str], **kw: Any):
    """:func:`tgsim.fitting.comparison.compare` with data-handling warnings silenced."""
    from tgsim.fitting.comparison import compare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        return compare(data, list(models), **kw)


def _rmse(res) -> np.ndarray:
    r = np.asarray(res.residuals, float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.sqrt(np.nanmean(r**2, axis=1))
    return np.where(res.success, out, np.nan)


def _shapiro_pass(res, alpha: float = 0.05) -> np.ndarray:
    """1.0 where Shapiro-Wilk does not reject normality of the standardised residuals."""
    from scipy.stats import shapiro

    w = np.asarray(res.weighted_residuals, float)
    out = np.full(w.shape[0], np.nan)
    for i in range(w.shape[0]):
        x = w[i][np.isfinite(w[i])]
        if res.success[i] and x.size >= 3 and np.ptp(x) > 0:
            out[i] = float(shapiro(x).pvalue > alpha)
    return out


def _max_rse(res) -> np.ndarray:
    """Largest relative standard error (%) of the estimated growth parameters per subject."""
    npg = len(res.growth_names)
    free = np.asarray(res.free[:npg], bool)
    est = np.abs(res.estimate[:, :npg][:, free])
    se = res.stderr[:, :npg][:, free]
    with np.errstate(all="ignore"):
        rse = 100 * se / est
    rse = np.where(np.isfinite(rse), rse, np.inf)
    out = rse.max(axis=1) if rse.shape[1] else np.zeros(res.n_subjects)
    return np.where(res.success, out, np.nan)


def model_table(cmp) -> tuple[Any, Any]:
    """Per-model and per-subject goodness of fit of a :class:`~tgsim.fitting.comparison.Comparison`.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Per model (best summed AIC first): ``k``, ``failed``, ``sum_aic``, ``sum_bic``
        (over subjects where every model converged), ``median_rmse`` (data unit),
        ``median_rse`` (residual standard error), ``normal_pct`` (% of fits whose
        standardised residuals pass Shapiro-Wilk at 5 %), ``identifiable_pct`` (% of fits
        whose growth parameters all have RSE < 50 %), ``best_in`` (subjects where the
        model has the lowest AIC). Per subject and model: AIC, BIC, RMSE, max RSE and the
        estimates.
    """
    import pandas as pd

    complete = cmp.complete
    rows, per = [], []
    for j, m in enumerate(cmp.models):
        res = cmp.fits[m]
        rmse, normal, max_rse = _rmse(res), _shapiro_pass(res), _max_rse(res)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rows.append({
                "model": m, "k": int(cmp.k[j]), "failed": int((~res.success).sum()),
                "sum_aic": float(np.sum(cmp.aic[complete, j])),
                "sum_bic": float(np.sum(cmp.bic[complete, j])),
                "median_rmse": float(np.nanmedian(rmse)),
                "median_rse": float(np.nanmedian(cmp.resid_se[:, j])),
                "normal_pct": float(100 * np.nanmean(normal)),
                "identifiable_pct": float(100 * np.nanmean(max_rse < 50)),
                "best_in": int(np.sum(cmp.rank[:, j] == 1)),
            })
        for i, s in enumerate(cmp.subjects):
            row = {"subject": str(s), "model": m, "success": bool(res.success[i]),
                   "aic": cmp.aic[i, j], "bic": cmp.bic[i, j], "rmse": rmse[i],
                   "max_rse_pct": max_rse[i], "shapiro_normal": normal[i]}
            for name, val in zip(res.param_names, res.estimate[i], strict=True):
                row[name] = val
            per.append(row)
    table = pd.DataFrame(rows).sort_values("sum_aic", kind="stable").reset_index(drop=True)
    return table, pd.DataFrame(per)


def failed(cmp) -> dict[str, int]:
    """Failed fits per model."""
    return {m: int(n) for m, n in zip(cmp.models, cmp.n_failed, strict=True)}


def ranking_figure(table, column: str = "sum_aic", label: str = "summed AIC",
                   title: str | None = None):
    """:func:`~studies.validation.figures.ranking_bar` of a :func:`model_table` column."""
    from .figures import ranking_bar

    values = dict(zip(table["model"], table[column], strict=True))
    fails = dict(zip(table["model"], table["failed"], strict=True))
    return ranking_bar(values, label=label, title=title, failed=fails).figure


def fits_figure(ds, fits: Mapping[str, Any], *, log: bool = True, max_subjects: int = 20,
                ylabel: str = "tumour volume (mm³)", title: str | None = None,
                marks: Mapping[str, Any] | None = None, ncols: int = 5):
    """Small multiples of the data with each model's fitted curve."""
    from .figures import fits_overlay

    T, Y, labels = arrays(ds)
    return fits_overlay(T, Y, fits, subjects=labels, log=log, max_subjects=max_subjects,
                        ylabel=ylabel, title=title, marks=marks, ncols=ncols)


def r_squared(x: Any, y: Any) -> float:
    """Coefficient of determination of the least-squares line y ~ a + b x (= corr²)."""
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(xa) & np.isfinite(ya)
    if ok.sum() < 3:
        return float("nan")
    return float(np.corrcoef(xa[ok], ya[ok])[0, 1] ** 2)


def card_model(name: str, text: str):
    """A model card given as TOML text, as a :class:`~tgsim.Model`.

    The text is written once to a per-user temporary folder (atomically) and loaded with
    :func:`tgsim.load_model`, so the reproduction's own cards compile and cache like any
    user card.
    """
    import os
    import tempfile
    from pathlib import Path

    from tgsim.engine.catalogue import load_model

    uid = os.getuid() if hasattr(os, "getuid") else "user"
    folder = Path(tempfile.gettempdir()) / f"tgsim_validation_cards_{uid}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        tmp = folder / f".{name}.{os.getpid()}.toml"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return load_model(path)
