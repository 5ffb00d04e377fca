"""In-silico experiments on metastatic spread, run by ``tgsim run FILE``.

Each function has the analysis-hook signature of the experiment runner,
``function(config, *, where, out_dir, subjects, seed) -> {label: file name}``: ``config``
is the parsed experiment file without the runner's keys, ``where`` names it in error
messages, outputs (CSV tables and PNG figures) go into ``out_dir``, ``subjects`` caps the
cohort and ``seed`` overrides the file's seed. Each prints its table. They can be called
directly (see :func:`run_file`).

* :func:`iatrogenic_threshold` -- how fast and how big must a primary be for hidden
  micrometastases to be likely at an intervention, and how well LI-RADS threshold growth
  and size predict them (sensitivity/specificity, ROC, Youden threshold).
* :func:`treatment_induced` -- a therapy that halves the primary while raising seeding
  gives more macrometastases at one year than no therapy above a seeding factor found
  by the experiment.
* :func:`adjuvant_therapy` -- surgery alone vs surgery plus adjuvant chemotherapy:
  micrometastatic burden and time to detectable recurrence.

Primaries are followed from one cell: for the exponential, logistic and Gompertz laws the
closed form is run backwards from the size at day 0, so seeding covers the whole natural
history (days before day 0 are negative).
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import tomllib
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tgsim.clinical.threshold import THRESHOLD_GROWTH_WINDOW_DAYS, threshold_growth
from tgsim.engine.catalogue import model as get_model
from tgsim.errors import ConfigError, TgsimError, TgsimWarning
from tgsim.io import atomic_path
from tgsim.metastasis.config import metastasis_from_table
from tgsim.metastasis.model import MetastasisModel
from tgsim.metastasis.readouts import diameter_to_volume, volume_to_diameter
from tgsim.metastasis.spread import metastatic_spread
from tgsim.schema import Key, check_unknown
from tgsim.simulation import simulate
from tgsim.treatment import (
    Acceleration,
    Chemotherapy,
    Radiotherapy,
    Schedule,
    Surgery,
    TargetedTherapy,
    weekday_fractions,
)

__all__ = [
    "iatrogenic_threshold",
    "treatment_induced",
    "adjuvant_therapy",
    "run_file",
    "weighted_roc",
    "RUNNER_KEYS",
]

#: Top-level keys that belong to the experiment runner, not to the analysis.
RUNNER_KEYS = frozenset({"analysis", "title", "description", "output"})
BACKWARD_MODELS = ("exponential", "logistic", "gompertz")


# ============================================================================ helpers
def _table(config: Mapping[str, Any], name: str, where: str, allowed: set[str], *,
           required: bool = True) -> dict[str, Any]:
    if name not in config:
        if required:
            raise ConfigError(f"{where}: missing table [{name}]")
        return {}
    tab = config[name]
    if not isinstance(tab, Mapping):
        raise ConfigError(f"{where}: [{name}] must be a table; got {tab!r}")
    check_unknown(tab, allowed, f"{where}: [{name}]")
    return dict(tab)


def _check_top(config: Mapping[str, Any], where: str, tables: set[str]) -> None:
    if not isinstance(config, Mapping):
        raise ConfigError(f"{where}: the configuration must be a table; got {config!r}")
    check_unknown([k for k in config if k not in RUNNER_KEYS], tables, where, what="table")


def _num(tab: Mapping[str, Any], key: str, here: str, *, default: Any = None,
         lo: float | None = None, hi: float | None = None, lo_open: bool = False,
         integer: bool = False) -> Any:
    if key not in tab:
        if default is None:
            raise ConfigError(f"{here}: missing key {key!r}")
        return default
    spec = Key(key, "integer" if integer else "number", min=lo, max=hi, min_open=lo_open)
    v = spec.check(tab[key], here)
    return int(v) if integer else float(v)


def _range(tab: Mapping[str, Any], key: str, here: str, *, count: int | None = None
           ) -> NDArray[np.float64]:
    """A log-spaced sweep from ``{min, max, count}`` (or a list of values)."""
    if key not in tab:
        raise ConfigError(f"{here}: missing key {key!r}")
    spec = tab[key]
    if isinstance(spec, list):
        try:
            vals = np.array(spec, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(f"{here}.{key}: must be numbers; got {spec!r}") from None
        if vals.size == 0 or not np.all(np.isfinite(vals)) or np.any(vals <= 0):
            raise ConfigError(f"{here}.{key}: must be a non-empty list of positive numbers; "
                              f"got {spec!r}")
        return np.unique(vals)
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{here}.{key}: must be a list or a table {{min, max, count}}; got "
                          f"{spec!r}")
    check_unknown(spec, ("min", "max", "count"), f"{here}.{key}")
    sub = f"{here}.{key}"
    lo = _num(spec, "min", sub, lo=0.0, lo_open=True)
    hi = _num(spec, "max", sub, lo=0.0, lo_open=True)
    n = _num(spec, "count", sub, lo=1, integer=True)
    if hi < lo:
        raise ConfigError(f"{sub}: max must be >= min; got min={lo:g}, max={hi:g}")
    if count is not None:
        n = min(n, count)
    return np.geomspace(lo, hi, n) if n > 1 else np.array([lo])


def _primary(tab: Mapping[str, Any], here: str) -> tuple[str, dict[str, Any]]:
    name = tab.get("model", "gompertz")
    if name not in BACKWARD_MODELS:
        raise ConfigError(f"{here}.model: must be one of {', '.join(BACKWARD_MODELS)} (the "
                          f"natural history is run backwards in closed form); got {name!r}")
    card = get_model(name)
    params = {}
    for key, value in tab.items():
        if key in ("model", "diameter_mm"):
            continue
        try:
            p = card.parameter(key)
        except KeyError:
            raise ConfigError(f"{here}: unknown key {key!r}; the {name} card has parameters "
                              f"{', '.join(card.parameter_names)}") from None
        if p.name == "initial_volume":
            raise ConfigError(f"{here}.{key}: set the size at day 0 with diameter_mm instead")
        params[p.name] = value
    return name, params


def natural_history(model: str, params: Mapping[str, Any], volume_at_zero: NDArray[np.float64],
                    start_volume: float) -> float:
    """First day (< 0) of a cohort of primaries that have ``volume_at_zero`` at day 0.

    The closed form run backwards gives the age of each primary since it was
    ``start_volume`` (one cell); the cohort starts when the oldest one was born.

    * exponential: V(-s) = V_0 exp(-r s);
    * logistic:    V(-s) = K / (1 + (K/V_0 - 1) exp(r s));
    * Gompertz:    V(-s) = K (V_0/K)^exp(r s).
    """
    V, r, K = _history_arrays(model, params, volume_at_zero)
    x0 = float(start_volume)
    with np.errstate(divide="ignore", invalid="ignore"):
        if model == "exponential":
            s = np.log(V / x0) / r
        elif model == "logistic":
            s = np.log((K / x0 - 1.0) / (K / V - 1.0)) / r
        else:
            s = np.log(np.log(x0 / K) / np.log(V / K)) / r
    s = np.where(V > x0, s, 0.0)
    return -float(np.max(s)) if s.size else 0.0


def _history_arrays(model: str, params: Mapping[str, Any], volume_at_zero: Any):
    V = np.atleast_1d(np.asarray(volume_at_zero, dtype=np.float64))
    n = V.size
    r = np.broadcast_to(np.asarray(params["growth_rate"], dtype=np.float64), (n,))
    K = None
    if model != "exponential":
        K = np.broadcast_to(np.asarray(params["carrying_capacity"], dtype=np.float64), (n,))
        if np.any(V >= K):
            i = int(np.flatnonzero(V >= K)[0])
            raise TgsimError(f"the size at day 0 ({V[i]:.4g} mm^3) must be below the carrying "
                             f"capacity ({K[i]:.4g} mm^3)")
    return V, r, K


def backward_volume(model: str, params: Mapping[str, Any], volume_at_zero: Any,
                    days: NDArray[np.float64]) -> NDArray[np.float64]:
    """Untreated volume (mm^3) at ``days`` (<= 0) of primaries with ``volume_at_zero`` at day 0.

    Shape (n, len(days)); the closed form is continued below one cell (such sub-cellular
    volumes seed negligibly).
    """
    V, r, K = _history_arrays(model, params, volume_at_zero)
    s = -np.asarray(days, dtype=np.float64)[None, :]
    V, r = V[:, None], r[:, None]
    with np.errstate(over="ignore", under="ignore"):
        if model == "exponential":
            return V * np.exp(-r * s)
        K = K[:, None]
        if model == "logistic":
            return K / (1.0 + (K / V - 1.0) * np.exp(r * s))
        return K * np.exp(np.log(V / K) * np.exp(r * s))


def primary_from_one_cell(model: str, params: Mapping[str, Any],
                          volume_at_zero: NDArray[np.float64], start_volume: float,
                          times: NDArray[np.float64], schedule: Schedule | None, *,
                          history_points: int = 2001, points: int = 2001):
    """Primaries followed from one cell, treated from day 0 on.

    Before day 0 (the natural history, from :func:`natural_history`) the untreated
    closed form gives the volume; from day 0 (``volume_at_zero``) :func:`tgsim.simulate`
    runs the schedule, on ``times`` (>= 0) plus ``points`` uniform times. The result has
    the layout of a :func:`tgsim.simulate` Dataset (attrs t0 = the first day).
    """
    import xarray as xr

    t0 = natural_history(model, params, volume_at_zero, start_volume)
    hist = np.linspace(t0, 0.0, history_points)[:-1] if t0 < 0 else np.empty(0)
    tend = float(np.max(times))
    grid = np.unique(np.concatenate([[0.0], times, np.linspace(0.0, tend, points)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        post = simulate(model, grid, {**params, "initial_volume": volume_at_zero},
                        schedule=schedule, t0=0.0)
    vol = np.concatenate([backward_volume(model, params, volume_at_zero, hist),
                          post["volume"].values], axis=1)
    attrs = dict(post.attrs)
    attrs["t0"] = float(hist[0]) if hist.size else 0.0
    return xr.Dataset(
        {"volume": (("subject", "time"), vol, dict(post["volume"].attrs)),
         "parameters": post["parameters"], "status": post["status"]},
        coords={"subject": post["subject"].values,
                "time": ("time", np.concatenate([hist, grid]), {"units": "day"}),
                "param": post["param"].values},
        attrs=attrs)


def weighted_roc(score: NDArray[np.float64], p_positive: NDArray[np.float64]
                 ) -> dict[str, NDArray[np.float64] | float]:
    """ROC of ``score >= threshold`` for outcomes known as probabilities.

    Subject i counts as ``p_i`` of a positive and ``1 - p_i`` of a negative (the limit of
    infinitely many replicate patients). Returns ``threshold``, ``sensitivity``,
    ``specificity`` (arrays, thresholds decreasing; the first row is "nobody positive"),
    ``auc`` (trapezoid) and the Youden-optimal ``best_threshold``,
    ``best_sensitivity``, ``best_specificity``.
    """
    s = np.asarray(score, dtype=np.float64)
    p = np.clip(np.asarray(p_positive, dtype=np.float64), 0.0, 1.0)
    order = np.argsort(-s, kind="stable")
    s, p = s[order], p[order]
    pos, neg = p.sum(), (1.0 - p).sum()
    uniq, first = np.unique(-s, return_index=True)
    last = np.append(first[1:], s.size)  # groups of equal scores
    tp = np.concatenate([[0.0], np.cumsum(p)[last - 1]])
    fp = np.concatenate([[0.0], np.cumsum(1.0 - p)[last - 1]])
    thr = np.concatenate([[np.inf], -uniq])
    sens = tp / pos if pos > 0 else np.full(tp.shape, np.nan)
    spec = 1.0 - fp / neg if neg > 0 else np.full(fp.shape, np.nan)
    auc = float(np.trapezoid(sens, 1.0 - spec)) if pos > 0 and neg > 0 else float("nan")
    j = sens + spec - 1.0
    k = int(np.nanargmax(j)) if np.any(np.isfinite(j)) else 0
    return {"threshold": thr, "sensitivity": sens, "specificity": spec, "auc": auc,
            "best_threshold": float(thr[k]), "best_sensitivity": float(sens[k]),
            "best_specificity": float(spec[k])}


def _binary(pred: NDArray[np.bool_], p: NDArray[np.float64]) -> tuple[float, float]:
    pos, neg = p.sum(), (1.0 - p).sum()
    sens = float((p * pred).sum() / pos) if pos > 0 else float("nan")
    spec = float(((1.0 - p) * ~pred).sum() / neg) if neg > 0 else float("nan")
    return sens, spec


def _write_csv(frame, out_dir: Path, name: str) -> str:
    with atomic_path(Path(out_dir) / name) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.10g")
    return name


def _save_png(fig, out_dir: Path, name: str) -> str:
    with atomic_path(Path(out_dir) / name) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    return name


def _figure(ncols: int = 1, width: float = 5.5):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, 4.2))
    axes = fig.subplots(1, ncols)
    return fig, np.atleast_1d(axes)


def _print_table(title: str, frame) -> str:
    text = f"{title}\n{frame.to_string(index=False, float_format=lambda x: f'{x:.4g}')}"
    print(text)
    return text


def _metastasis(config: Mapping[str, Any], where: str, seed: int | None
                ) -> tuple[MetastasisModel, dict[str, Any]]:
    if "metastasis" not in config:
        raise ConfigError(f"{where}: missing table [metastasis]")
    model, opts = metastasis_from_table(config["metastasis"], where)
    if seed is not None:
        opts["seed"] = int(seed)
    return model, opts


# ============================================================ 1. iatrogenic threshold
def iatrogenic_threshold(config: Mapping[str, Any], *, where: str = "<config>",
                         out_dir: str | os.PathLike[str], subjects: int | None = None,
                         seed: int | None = None) -> dict[str, str]:
    """Hidden micrometastases at an intervention vs growth and size of the primary.

    A grid of primaries sweeps the growth rate (``[sweep] growth_rate``, 1/day) and the
    diameter at the intervention on day 0 (``[sweep] diameter_mm``). Each is followed
    from one cell; it seeds colonies (``[metastasis]``, colonies growing by the primary's
    law and rate unless set otherwise). Optionally the seeding rate scales as
    ``(r / r_ref)**seeding_growth_exponent`` (more aggressive tumours shed more), with
    ``r_ref`` the geometric mean of the swept rates.

    The outcome is "at least one micrometastasis (0.2-2 mm) at day 0": its probability
    ``p`` is 1 - exp(-expected count) (Poisson). Scans every ``[scans] every_days`` up to
    day 0 give LI-RADS threshold growth at the intervention scan (>= 50 % diameter
    increase within ``window_days`` = 6 months; :func:`tgsim.clinical.threshold_growth`)
    and the diameter growth over the window. Each primary counts as ``p`` of a positive
    and ``1 - p`` of a negative; the ROC curves of growth and size, the Youden-optimal
    cut-offs and the sensitivity/specificity of LI-RADS threshold growth are written to
    ``iatrogenic_roc.csv``, ``iatrogenic_table.csv`` (printed), ``iatrogenic_cohort.csv``,
    ``iatrogenic_roc.png`` and ``iatrogenic_map.png``.
    """
    _check_top(config, where, {"primary", "sweep", "scans", "metastasis"})
    prim_tab = _table(config, "primary", where, {"model", "growth_rate", "carrying_capacity",
                                                  "diameter_mm"}, required=False)
    name, fixed = _primary(prim_tab, f"{where}: [primary]")
    sweep = _table(config, "sweep", where, {"growth_rate", "diameter_mm",
                                            "seeding_growth_exponent"})
    per_axis = None if subjects is None else max(1, int(math.isqrt(max(int(subjects), 1))))
    rates = _range(sweep, "growth_rate", f"{where}: [sweep]", count=per_axis)
    diams = _range(sweep, "diameter_mm", f"{where}: [sweep]", count=per_axis)
    kappa = _num(sweep, "seeding_growth_exponent", f"{where}: [sweep]", default=0.0)
    scans = _table(config, "scans", where, {"every_days", "window_days"}, required=False)
    every = _num(scans, "every_days", f"{where}: [scans]", default=60.0, lo=0.0, lo_open=True)
    window = _num(scans, "window_days", f"{where}: [scans]",
                  default=THRESHOLD_GROWTH_WINDOW_DAYS, lo=0.0, lo_open=True)
    met, opts = _metastasis(config, where, seed)

    R, D = np.meshgrid(rates, diams, indexing="ij")
    r, d = R.ravel(), D.ravel()
    VT = np.asarray(diameter_to_volume(d))
    params = {k: v for k, v in fixed.items() if k != "growth_rate"}
    params["growth_rate"] = r
    n_scans = int(math.floor(window / every + 1e-9)) + 1
    scan_days = -every * np.arange(n_scans)[::-1]
    prim = primary_from_one_cell(name, params, VT, met.colony_start_volume, np.array([0.0]),
                                 None, points=2)
    r_ref = float(np.exp(np.mean(np.log(rates))))
    m = np.asarray(met.seeding_rate, dtype=np.float64) * (r / r_ref) ** kappa
    met_i = dataclasses.replace(met, seeding_rate=m)
    res = metastatic_spread(prim, met_i, times=np.array([0.0]), **opts)
    p_micro = res["p_any"].sel(size_class="micrometastasis").isel(time=0).values
    n_micro = res["colonies"].sel(size_class="micrometastasis").isel(time=0).values
    n_det = res["detectable"].isel(time=0).values

    vol_scans = backward_volume(name, params, VT, scan_days)
    diam_scans = np.asarray(volume_to_diameter(vol_scans))
    flags = threshold_growth(scan_days, diam_scans, window_days=window)
    lirads = flags[:, -1]
    growth_pct = 100.0 * (diam_scans[:, -1] / diam_scans[:, 0] - 1.0)

    import pandas as pd

    cohort = pd.DataFrame({
        "growth_rate_per_day": r, "doubling_time_days": np.log(2.0) / r,
        "diameter_mm": d, "volume_mm3": VT, "seeding_rate": m,
        f"growth_{scan_days[-1] - scan_days[0]:g}d_percent": growth_pct,
        "threshold_growth": lirads, "expected_micrometastases": n_micro,
        "p_micrometastasis": p_micro, "expected_detectable": n_det,
    })
    roc_g = weighted_roc(growth_pct, p_micro)
    roc_s = weighted_roc(d, p_micro)
    roc_rows = []
    for label, roc in (("growth_percent", roc_g), ("diameter_mm", roc_s)):
        for t, se_, sp_ in zip(roc["threshold"], roc["sensitivity"], roc["specificity"],
                               strict=True):
            roc_rows.append({"predictor": label, "threshold": t, "sensitivity": se_,
                             "specificity": sp_})
    roc_frame = pd.DataFrame(roc_rows)
    sens_l, spec_l = _binary(lirads, p_micro)
    rows = [{"predictor": "LI-RADS threshold growth (>=50% in 6 months)", "cut_off": 50.0,
             "unit": "% diameter", "sensitivity": sens_l, "specificity": spec_l,
             "youden": sens_l + spec_l - 1, "auc": float("nan")}]
    for label, unit, roc in (("growth over the window (Youden)", "% diameter", roc_g),
                             ("diameter at intervention (Youden)", "mm", roc_s)):
        rows.append({"predictor": label, "cut_off": roc["best_threshold"], "unit": unit,
                     "sensitivity": roc["best_sensitivity"],
                     "specificity": roc["best_specificity"],
                     "youden": roc["best_sensitivity"] + roc["best_specificity"] - 1,
                     "auc": roc["auc"]})
    for cut in (10.0, 20.0, 30.0):
        se_, sp_ = _binary(d >= cut, p_micro)
        rows.append({"predictor": f"diameter >= {cut:g} mm", "cut_off": cut, "unit": "mm",
                     "sensitivity": se_, "specificity": sp_, "youden": se_ + sp_ - 1,
                     "auc": float("nan")})
    table = pd.DataFrame(rows)
    prevalence = float(p_micro.mean())
    _print_table(f"Iatrogenic spread: predicting >= 1 hidden micrometastasis at the "
                 f"intervention ({r.size} primaries, mean probability {prevalence:.3f})", table)

    out = Path(out_dir)
    files = {
        "cohort": _write_csv(cohort, out, "iatrogenic_cohort.csv"),
        "roc": _write_csv(roc_frame, out, "iatrogenic_roc.csv"),
        "table": _write_csv(table, out, "iatrogenic_table.csv"),
    }
    fig, (ax,) = _figure()
    for label, roc in (("diameter", roc_s), ("growth over 6 months", roc_g)):
        ax.plot(1 - roc["specificity"], roc["sensitivity"], label=f"{label} (AUC "
                f"{roc['auc']:.2f})")
    ax.plot([1 - spec_l], [sens_l], "k*", ms=10, label="LI-RADS threshold growth")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(">= 1 micrometastasis at the intervention")
    ax.legend(loc="lower right", fontsize=8)
    files["roc_figure"] = _save_png(fig, out, "iatrogenic_roc.png")
    fig, (ax,) = _figure()
    P = p_micro.reshape(R.shape)
    if P.shape[0] > 1 and P.shape[1] > 1:
        mesh = ax.pcolormesh(diams, np.log(2.0) / rates, P, shading="nearest", vmin=0, vmax=1)
        ax.contour(diams, np.log(2.0) / rates, lirads.reshape(R.shape).astype(float), [0.5],
                   colors="w", linestyles="--")
        fig.colorbar(mesh, ax=ax, label="P(>= 1 micrometastasis)")
    else:
        ax.plot(d, p_micro, "o")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("diameter at intervention (mm)")
    ax.set_ylabel("doubling time (days)")
    ax.set_title("dashed: LI-RADS threshold growth boundary")
    files["map_figure"] = _save_png(fig, out, "iatrogenic_map.png")
    return files


# ====================================================== 2. treatment-induced metastasis
def _therapy(tab: Mapping[str, Any], here: str, strength: float,
             seeding: NDArray[np.float64] | float) -> list[Any]:
    kind = tab.get("kind", "radiotherapy")
    start = _num(tab, "start_day", here, default=0.0)
    acc = Acceleration(onset_day=start, factor=1.0, seeding_factor=seeding,
                       name="seeding")
    if kind == "radiotherapy":
        n = _num(tab, "fractions", here, default=30, lo=1, integer=True)
        days = weekday_fractions(n, start)
        return [Radiotherapy(days=days, dose_gy=strength), acc]
    if kind == "targeted":
        dur = _num(tab, "duration_days", here, default=42.0, lo=0.0, lo_open=True)
        return [TargetedTherapy(start=start, stop=start + dur, kill_rate=strength), acc]
    raise ConfigError(f"{here}.kind: must be 'radiotherapy' or 'targeted'; got {kind!r}")


def _therapy_end(tab: Mapping[str, Any], here: str) -> float:
    kind = tab.get("kind", "radiotherapy")
    start = _num(tab, "start_day", here, default=0.0)
    if kind == "radiotherapy":
        n = _num(tab, "fractions", here, default=30, lo=1, integer=True)
        return float(weekday_fractions(n, start)[-1])
    return start + _num(tab, "duration_days", here, default=42.0, lo=0.0, lo_open=True)


def _halving_strength(name: str, params: Mapping[str, Any], V0: float,
                      tab: Mapping[str, Any], here: str, ratio: float) -> float:
    """Dose per fraction (Gy) or kill rate (1/day) giving V(end)/V(start) = ratio."""
    start = _num(tab, "start_day", here, default=0.0)
    end = _therapy_end(tab, here)
    times = np.array([start, end])

    def vol_ratio(x: float) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TgsimWarning)
            prim = simulate(name, np.unique([0.0, start, end]), {**params, "initial_volume": V0},
                            schedule=Schedule(_therapy(tab, here, x, 1.0)), t0=0.0)
        v = prim["volume"].sel(time=times).values[0]
        return float(v[1] / v[0])

    lo, hi = 0.0, 1.0
    while vol_ratio(hi) > ratio:
        hi *= 2.0
        if hi > 1e4:
            raise ConfigError(f"{here}: no therapy strength reaches volume_ratio={ratio:g}")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if vol_ratio(mid) > ratio:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def treatment_induced(config: Mapping[str, Any], *, where: str = "<config>",
                      out_dir: str | os.PathLike[str], subjects: int | None = None,
                      seed: int | None = None) -> dict[str, str]:
    """Treatment that shrinks the primary but raises seeding: macrometastases at one year.

    The primary (``[primary]``: law, parameters, ``diameter_mm`` at day 0) is followed
    from one cell. From ``[therapy] start_day`` a therapy (``kind = "radiotherapy"``, local,
    or ``"targeted"``, systemic: it also acts on the colonies) whose strength is found by
    bisection so that the primary at the end of the therapy is ``volume_ratio`` (default
    0.5) of its untreated size at the start, comes with an
    :class:`~tgsim.treatment.Acceleration` that multiplies seeding by ``seeding_factor``
    from the start on. The expected number of macrometastases (> 2 mm) at
    ``[readout] day`` (default 365) is compared with no therapy over the swept factors
    (``[sweep] seeding_factor``). Seeding after the onset scales linearly with the factor
    and so does the count; the break-even factor
    ``(N_none - N(0)) / (N(1) - N(0))`` above which therapy gives more macrometastases is
    exact. Writes ``treatment_induced.csv`` (printed) and ``treatment_induced.png``.
    """
    _check_top(config, where, {"primary", "therapy", "sweep", "readout", "metastasis"})
    prim_tab = _table(config, "primary", where, {"model", "growth_rate", "carrying_capacity",
                                                  "diameter_mm"})
    name, params = _primary(prim_tab, f"{where}: [primary]")
    diam = _num(prim_tab, "diameter_mm", f"{where}: [primary]", lo=0.0, lo_open=True)
    ther = _table(config, "therapy", where, {"kind", "start_day", "fractions", "duration_days",
                                             "volume_ratio"})
    here_t = f"{where}: [therapy]"
    ratio = _num(ther, "volume_ratio", here_t, default=0.5, lo=0.0, lo_open=True, hi=1.0)
    sweep = _table(config, "sweep", where, {"seeding_factor"})
    factors = _range(sweep, "seeding_factor", f"{where}: [sweep]",
                     count=None if subjects is None else max(2, int(subjects)))
    readout = _table(config, "readout", where, {"day"}, required=False)
    day = _num(readout, "day", f"{where}: [readout]", default=365.0, lo=0.0, lo_open=True)
    met, opts = _metastasis(config, where, seed)

    V_T = np.array([float(diameter_to_volume(diam))])
    strength = _halving_strength(name, params, float(V_T[0]), ther, here_t, ratio)
    end = _therapy_end(ther, here_t)
    if day <= end:
        raise ConfigError(f"{where}: [readout].day ({day:g}) must be after the end of the "
                          f"therapy (day {end:g})")
    allf = np.concatenate([[0.0, 1.0], factors])
    times = np.unique(np.concatenate([np.linspace(0.0, day, 53), [end]]))
    sched = Schedule(_therapy(ther, here_t, strength, allf))
    n = allf.size
    x0 = met.colony_start_volume
    prim_t = primary_from_one_cell(name, params, np.full(n, V_T[0]), x0, times, sched)
    res_t = metastatic_spread(prim_t, met, times=times, **opts)
    prim_0 = primary_from_one_cell(name, params, V_T, x0, times, None)
    res_0 = metastatic_spread(prim_0, met, times=times, **opts)
    k = int(np.searchsorted(times, day))
    macro_t = res_t["colonies"].sel(size_class="macrometastasis").isel(time=k).values
    macro_0 = float(res_0["colonies"].sel(size_class="macrometastasis").isel(time=k).values[0])
    n0, n1 = macro_t[0], macro_t[1]
    slope = n1 - n0
    breakeven = (macro_0 - n0) / slope if slope > 0 else float("nan")

    import pandas as pd

    rows = [{"arm": "no therapy", "seeding_factor": float("nan"),
             "macrometastases": macro_0,
             "p_macrometastasis": float(-np.expm1(-macro_0)),
             "micrometastases": float(res_0["colonies"].sel(size_class="micrometastasis")
                                      .isel(time=k).values[0]),
             "primary_volume_mm3": float(res_0["primary_volume"].isel(time=k).values[0]),
             "more_than_no_therapy": False}]
    for j, f in enumerate(allf[2:], start=2):
        rows.append({"arm": "therapy", "seeding_factor": f, "macrometastases": macro_t[j],
                     "p_macrometastasis": float(-np.expm1(-macro_t[j])),
                     "micrometastases": float(res_t["colonies"].sel(
                         size_class="micrometastasis").isel(time=k).values[j]),
                     "primary_volume_mm3": float(res_t["primary_volume"].isel(time=k).values[j]),
                     "more_than_no_therapy": bool(macro_t[j] > macro_0)})
    table = pd.DataFrame(rows)
    _print_table(f"Treatment-induced metastasis: expected macrometastases at day {day:g} "
                 f"({ther.get('kind', 'radiotherapy')}, primary x{ratio:g} by day {end:g}, "
                 f"strength {strength:.4g})", table)
    print(f"break-even seeding factor: {breakeven:.4g} (therapy gives more macrometastases "
          "above it)")
    table.attrs["breakeven"] = breakeven
    out = Path(out_dir)
    files = {"table": _write_csv(table, out, "treatment_induced.csv")}
    summary = pd.DataFrame([{"breakeven_seeding_factor": breakeven, "therapy_strength": strength,
                             "therapy_kind": ther.get("kind", "radiotherapy"),
                             "readout_day": day, "macrometastases_no_therapy": macro_0,
                             "macrometastases_factor_0": n0, "macrometastases_factor_1": n1}])
    files["breakeven"] = _write_csv(summary, out, "treatment_induced_breakeven.csv")
    fig, (ax1, ax2) = _figure(2)
    vt = prim_t["volume"]
    ax1.plot(vt["time"], prim_0["volume"].values[0], label="no therapy")
    ax1.plot(vt["time"], vt.values[1], label="therapy")
    lo_day = -60.0
    ax1.set_xlim(lo_day, day)
    shown = vt["time"].values >= lo_day
    ax1.set_ylim(0.5 * float(np.min(vt.values[1, shown])),
                 2.0 * float(np.max(prim_0["volume"].values[0, shown])))
    ax1.set_yscale("log")
    ax1.set_xlabel("day")
    ax1.set_ylabel("primary volume (mm^3)")
    ax1.legend(fontsize=8)
    ax2.plot(allf[2:], macro_t[2:], "o-", label="therapy")
    ax2.axhline(macro_0, color="k", ls="--", label="no therapy")
    if math.isfinite(breakeven):
        ax2.axvline(breakeven, color="r", ls=":", label=f"break-even {breakeven:.3g}")
    ax2.set_xscale("log")
    ax2.set_xlabel("seeding factor")
    ax2.set_ylabel(f"expected macrometastases at day {day:g}")
    ax2.legend(fontsize=8)
    files["figure"] = _save_png(fig, out, "treatment_induced.png")
    return files


# ================================================================== 3. adjuvant therapy
def _draw(spec: Any, here: str, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """A number (fixed), {median, sd_log} (log-normal) or {min, max} (log-uniform)."""
    if isinstance(spec, bool):
        raise ConfigError(f"{here}: must be a number or a table; got {spec!r}")
    if isinstance(spec, int | float):
        if not (math.isfinite(spec) and spec > 0):
            raise ConfigError(f"{here}: must be > 0; got {spec!r}")
        return np.full(n, float(spec))
    if isinstance(spec, Mapping):
        if set(spec) == {"median", "sd_log"}:
            med = _num(spec, "median", here, lo=0.0, lo_open=True)
            sd = _num(spec, "sd_log", here, lo=0.0)
            return med * np.exp(sd * rng.standard_normal(n))
        if set(spec) == {"min", "max"}:
            lo = _num(spec, "min", here, lo=0.0, lo_open=True)
            hi = _num(spec, "max", here, lo=lo)
            return np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    raise ConfigError(f"{here}: must be a number, {{median, sd_log}} or {{min, max}}; got "
                      f"{spec!r}")


def adjuvant_therapy(config: Mapping[str, Any], *, where: str = "<config>",
                     out_dir: str | os.PathLike[str], subjects: int | None = None,
                     seed: int | None = None) -> dict[str, str]:
    """Surgery alone vs surgery plus adjuvant chemotherapy.

    A cohort (``[cohort] subjects``, ``seed``) of primaries (``[primary]``: law and
    parameters; each a number, ``{median, sd_log}`` or ``{min, max}``; ``diameter_mm`` at
    surgery) is followed from one cell and removed on day 0 (``[surgery]``:
    ``resected_fraction``, ``shed_colonies``). The adjuvant arm adds ``[adjuvant]``
    chemotherapy (``cycles`` doses every ``interval_days`` from ``start_day``; ``dose``,
    ``half_life_days``, ``kill_rate``, ``hypothesis``), which acts on the colonies. Both arms
    are followed to ``[followup] days``. Reported per arm: micrometastatic burden (expected
    micrometastases and total metastatic volume) at the end of chemotherapy and at one
    year, the median time to the first detectable metastasis (recurrence) and the
    probability of a detectable recurrence by the end of follow-up. With
    ``[metastasis] extinction_cells`` > 0 a colony killed below that size is eradicated.
    Writes ``adjuvant_subjects.csv``, ``adjuvant_summary.csv`` (printed),
    ``adjuvant_timecourse.csv`` and ``adjuvant_therapy.png``.
    """
    _check_top(config, where, {"cohort", "primary", "surgery", "adjuvant", "followup",
                               "metastasis"})
    coh = _table(config, "cohort", where, {"subjects", "seed"}, required=False)
    n = _num(coh, "subjects", f"{where}: [cohort]", default=20, lo=1, integer=True)
    if subjects is not None:
        n = max(1, int(subjects))
    cseed = int(seed) if seed is not None else _num(coh, "seed", f"{where}: [cohort]",
                                                    default=0, lo=0, integer=True)
    rng = np.random.default_rng(cseed)
    prim_tab = _table(config, "primary", where, {"model", "growth_rate", "carrying_capacity",
                                                  "diameter_mm"})
    here_p = f"{where}: [primary]"
    name = prim_tab.get("model", "gompertz")
    _primary({"model": name}, here_p)
    card = get_model(name)
    params: dict[str, Any] = {}
    for key in ("growth_rate", "carrying_capacity"):
        if key in prim_tab:
            if key not in card.parameter_names:
                raise ConfigError(f"{here_p}.{key}: the {name} card has no such parameter")
            params[key] = _draw(prim_tab[key], f"{here_p}.{key}", n, rng)
        elif key in card.parameter_names:
            raise ConfigError(f"{here_p}: missing key {key!r}")
    if "diameter_mm" not in prim_tab:
        raise ConfigError(f"{here_p}: missing key 'diameter_mm'")
    diam = _draw(prim_tab["diameter_mm"], f"{here_p}.diameter_mm", n, rng)
    surg = _table(config, "surgery", where, {"resected_fraction", "shed_colonies"},
                  required=False)
    here_s = f"{where}: [surgery]"
    frac = _num(surg, "resected_fraction", here_s, default=0.999, lo=0.0, hi=0.999999)
    shed = _num(surg, "shed_colonies", here_s, default=0.0, lo=0.0)
    adj = _table(config, "adjuvant", where, {"start_day", "cycles", "interval_days", "dose",
                                             "half_life_days", "kill_rate", "hypothesis"})
    here_a = f"{where}: [adjuvant]"
    start = _num(adj, "start_day", here_a, default=28.0, lo=0.0, lo_open=True)
    cycles = _num(adj, "cycles", here_a, default=6, lo=1, integer=True)
    interval = _num(adj, "interval_days", here_a, default=21.0, lo=0.0, lo_open=True)
    hyp = adj.get("hypothesis", "log-kill")
    try:
        chemo = Chemotherapy(days=start + interval * np.arange(cycles),
                             dose=_num(adj, "dose", here_a, default=1.0, lo=0.0),
                             half_life_days=_num(adj, "half_life_days", here_a, default=1.0,
                                                 lo=0.0, lo_open=True),
                             kill_rate=_num(adj, "kill_rate", here_a, lo=0.0),
                             hypothesis=hyp, name="adjuvant")
    except TgsimError as exc:
        raise ConfigError(f"{here_a}: {exc}") from None
    fol = _table(config, "followup", where, {"days", "every_days"}, required=False)
    horizon = _num(fol, "days", f"{where}: [followup]", default=1826.0, lo=0.0, lo_open=True)
    every = _num(fol, "every_days", f"{where}: [followup]", default=30.0, lo=0.0, lo_open=True)
    met, opts = _metastasis(config, where, seed)
    end_chemo = float(start + interval * (cycles - 1) + interval)
    one_year = 365.0
    if horizon < max(end_chemo, one_year):
        raise ConfigError(f"{where}: [followup].days ({horizon:g}) must reach one year and the "
                          f"end of chemotherapy (day {end_chemo:g})")

    V_T = np.asarray(diameter_to_volume(diam))
    times = np.unique(np.concatenate([np.arange(0.0, horizon + 1e-9, every),
                                      [end_chemo, one_year, horizon]]))
    surgery = Surgery(day=0.0, resected_fraction=frac, shed_colonies=shed, name="surgery")
    arms = {"surgery alone": Schedule([surgery]),
            "surgery + adjuvant": Schedule([surgery, chemo])}
    results = {}
    for arm, sched in arms.items():
        prim = primary_from_one_cell(name, params, V_T, met.colony_start_volume, times, sched)
        results[arm] = metastatic_spread(prim, met, times=times, **opts)

    import pandas as pd

    k_end = int(np.searchsorted(times, end_chemo))
    k_1y = int(np.searchsorted(times, one_year))
    sub_rows, sum_rows, course = [], [], []
    for arm, res in results.items():
        micro = res["colonies"].sel(size_class="micrometastasis")
        for i in range(n):
            sub_rows.append({
                "subject": i, "arm": arm,
                **{k: float(np.asarray(v)[i]) for k, v in params.items()},
                "diameter_mm": diam[i],
                "micrometastases_end_chemo": float(micro.values[i, k_end]),
                "burden_end_chemo_mm3": float(res["burden"].values[i, k_end]),
                "micrometastases_1y": float(micro.values[i, k_1y]),
                "burden_1y_mm3": float(res["burden"].values[i, k_1y]),
                "time_to_detectable_recurrence_days": float(res["time_to_detection"].values[i]),
                "p_recurrence_end": float(res["p_detected"].values[i]),
            })
        cum = res["cumulative_detection"].values.mean(axis=0)
        sum_rows.append({
            "arm": arm,
            "micrometastases_end_chemo": float(np.mean(micro.values[:, k_end])),
            "burden_end_chemo_mm3": float(np.mean(res["burden"].values[:, k_end])),
            "micrometastases_1y": float(np.mean(micro.values[:, k_1y])),
            "burden_1y_mm3": float(np.mean(res["burden"].values[:, k_1y])),
            "p_recurrence_1y": float(cum[k_1y]),
            "p_recurrence_end": float(cum[-1]),
            "median_time_to_recurrence_days": _crossing(times, cum, 0.5 * cum[-1]),
        })
        for j, tj in enumerate(times):
            course.append({"arm": arm, "day": tj,
                           "colonies": float(res["total_colonies"].values[:, j].mean()),
                           "micrometastases": float(micro.values[:, j].mean()),
                           "burden_mm3": float(res["burden"].values[:, j].mean()),
                           "p_recurrence": float(cum[j])})
    summary = pd.DataFrame(sum_rows)
    _print_table(f"Adjuvant therapy ({n} primaries, {cycles} x {hyp} chemotherapy from day "
                 f"{start:g}; recurrence = first detectable metastasis, "
                 f"{met.detection_limit_mm:g} mm)", summary)
    out = Path(out_dir)
    files = {
        "subjects": _write_csv(pd.DataFrame(sub_rows), out, "adjuvant_subjects.csv"),
        "summary": _write_csv(summary, out, "adjuvant_summary.csv"),
        "timecourse": _write_csv(pd.DataFrame(course), out, "adjuvant_timecourse.csv"),
    }
    frame = pd.DataFrame(course)
    fig, (ax1, ax2) = _figure(2)
    for arm in arms:
        f = frame[frame.arm == arm]
        ax1.plot(f.day, f.burden_mm3, label=arm)
        ax2.plot(f.day, 1.0 - f.p_recurrence, label=arm)
    ax1.set_yscale("log")
    ax1.set_xlabel("days after surgery")
    ax1.set_ylabel("mean metastatic burden (mm^3)")
    ax1.axvspan(start, end_chemo, color="0.9")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("days after surgery")
    ax2.set_ylabel("P(no detectable recurrence yet)")
    ax2.set_ylim(0, 1.02)
    ax2.legend(fontsize=8)
    files["figure"] = _save_png(fig, out, "adjuvant_therapy.png")
    return files


def _crossing(x: NDArray[np.float64], y: NDArray[np.float64], level: float) -> float:
    """First x where the non-decreasing y reaches ``level`` (linear interpolation)."""
    if not (level > 0) or not np.any(y >= level):
        return float("nan")
    h = int(np.argmax(y >= level))
    if h == 0:
        return float(x[0])
    f = (level - y[h - 1]) / (y[h] - y[h - 1]) if y[h] > y[h - 1] else 1.0
    return float(x[h - 1] + f * (x[h] - x[h - 1]))


# ================================================================== direct running
def run_file(path: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
             subjects: int | None = None, seed: int | None = None,
             overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, str]:
    """Run an experiment file's analysis without the runner.

    Reads the TOML, drops the runner's keys, applies ``overrides`` (table -> keys) and
    calls the function named by ``analysis`` ("module:function").
    """
    p = os.fspath(path)
    try:
        with open(p, "rb") as fh:
            config = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"experiment file {p!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    target = config.get("analysis")
    if not isinstance(target, str) or ":" not in target:
        raise ConfigError(f"{p}: 'analysis' must be 'module:function'; got {target!r}")
    mod, _, fn = target.partition(":")
    func: Callable[..., dict[str, str]] = getattr(importlib.import_module(mod), fn)
    cfg = {k: v for k, v in config.items() if k not in RUNNER_KEYS}
    for table, keys in (overrides or {}).items():
        cfg[table] = {**cfg.get(table, {}), **keys}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return func(cfg, where=p, out_dir=out, subjects=subjects, seed=seed)
