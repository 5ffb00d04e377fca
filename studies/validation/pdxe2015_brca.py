r"""Reproduce Gao 2015's PDX response metrics on the PDXE breast subset (``pdxe2015_brca``).

Gao et al. (2015) scored each PDX mouse treated in the "1×1×1" design by its volume change
from the start of treatment (:math:`V_0`, the first measurement), in per cent:

.. math:: \Delta\mathrm{Vol}_t = 100\,\frac{V_t - V_0}{V_0},

**BestResponse** = :math:`\min_{t \ge 10\,\mathrm{d}} \Delta\mathrm{Vol}_t`; the average
response at t is the mean of :math:`\Delta\mathrm{Vol}` over all measurements up to t
(the first, 0, included), and **BestAvgResponse** is its minimum over t ≥ 10 days. The
mRECIST class is assigned in this order: CR if BestResponse < −95 and BestAvgResponse
< −40; PR if < −50 and < −20; SD if < 35 and < 30; PD otherwise. A series needs at least
two measurements at t ≥ 10 days. When :math:`V_0 = 0`, 1 mm³ is added to every volume
(as Xeva does). These definitions are those of Xeva's ``mRECIST`` (Mer 2019), which
recomputes them from the same series; :func:`pdx_response` implements them.

Gao's *published* values were computed on other inputs (probably the untrimmed series),
so agreement with them is partial; Xeva's recomputation from these series should agree
exactly. The untreated controls are also fitted with every growth law and ranked by
summed AIC (no published ranking exists for them).

The measurements are not shipped (no redistribution licence): point ``data_dir`` (or
``$TGSIM_DATA_DIR``) at a folder holding ``pdxe2015_brca/`` with ``tidy.csv``,
``export_sensitivity.csv`` and ``reference_gao2015_published.csv``. Units: days, mm³, %.

References
----------
Gao H, Korn JM, Ferretti S, et al. High-throughput screening using patient-derived tumor
xenografts to predict clinical trial drug response. Nat Med 2015;21(11):1318-1325.
Mer AS, Ba-alawi W, Smirnov P, et al. Integrative pharmacogenomics analysis of
patient-derived xenografts. Cancer Res 2019;79(17):4539-4550 (Xeva).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tgsim.errors import DataError

from .hook import analysis_hook
from .report import Check, ValidationReport, absolute_check

__all__ = ["MRECIST_CLASSES", "mrecist_class", "pdx_response", "responses", "reproduce",
           "analysis"]

DATASET = "pdxe2015_brca"
#: mRECIST classes, best first
MRECIST_CLASSES: tuple[str, ...] = ("CR", "PR", "SD", "PD")
CARDS = ("exponential", "logistic", "gompertz", "von_bertalanffy", "power_law",
         "exponential_linear", "stein", "two_population")
#: cards with a closed form (the quick run: no ODE card to compile)
CARDS_QUICK = ("exponential", "logistic", "gompertz", "von_bertalanffy", "power_law",
               "stein")


def mrecist_class(best_response: float, best_average_response: float) -> str:
    """mRECIST class from BestResponse and BestAvgResponse (both in %).

    Parameters
    ----------
    best_response, best_average_response : float
        Minimum volume change and minimum average volume change at t >= 10 days (%).

    Returns
    -------
    str
        ``"CR"``, ``"PR"``, ``"SD"`` or ``"PD"`` (``""`` when either value is NaN).
    """
    br, bar = float(best_response), float(best_average_response)
    if not (np.isfinite(br) and np.isfinite(bar)):
        return ""
    if br < -95 and bar < -40:
        return "CR"
    if br < -50 and bar < -20:
        return "PR"
    if br < 35 and bar < 30:
        return "SD"
    return "PD"


def pdx_response(time: Any, volume: Any, *, min_day: float = 10.0) -> dict[str, Any]:
    """Gao 2015 response metrics of one PDX series.

    Parameters
    ----------
    time : array_like
        Days from the start of treatment, increasing (NaN entries are dropped).
    volume : array_like
        Tumour volume (mm³) at those days; the first is V0.
    min_day : float
        Earliest day counted for the best responses (10 in Gao 2015).

    Returns
    -------
    dict
        ``best_response``, ``best_response_time``, ``best_average_response``,
        ``best_average_response_time`` (%, days; NaN when fewer than two measurements
        lie at t >= ``min_day``) and ``mrecist`` (``""`` in that case). The earliest
        minimum wins ties.

    Examples
    --------
    >>> r = pdx_response([0, 3, 7, 11, 18], [100, 90, 60, 40, 30])
    >>> r["best_response"], r["mrecist"]
    (-70.0, 'PR')
    """
    t = np.asarray(time, float).reshape(-1)
    v = np.asarray(volume, float).reshape(-1)
    if t.shape != v.shape:
        raise ValueError(f"`time` and `volume` must have the same length; got {t.size} and "
                         f"{v.size}")
    ok = np.isfinite(t) & np.isfinite(v)
    t, v = t[ok], v[ok]
    out: dict[str, Any] = {"best_response": np.nan, "best_response_time": np.nan,
                           "best_average_response": np.nan,
                           "best_average_response_time": np.nan, "mrecist": ""}
    if t.size == 0:
        return out
    if np.any(np.diff(t) < 0):
        raise ValueError("`time` must be increasing")
    if v[0] == 0:
        v = v + 1.0
    change = 100.0 * (v - v[0]) / v[0]
    average = np.cumsum(change) / np.arange(1, change.size + 1)
    late = np.flatnonzero(t >= min_day)
    if late.size < 2:
        return out
    i = late[int(np.argmin(change[late]))]
    j = late[int(np.argmin(average[late]))]
    out.update(best_response=float(change[i]), best_response_time=float(t[i]),
               best_average_response=float(average[j]),
               best_average_response_time=float(t[j]))
    out["mrecist"] = mrecist_class(change[i], average[j])
    return out


def responses(ds: Any, *, min_day: float = 10.0):
    """:func:`pdx_response` for every subject of a series Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Series layout (``time`` in days, ``value`` in mm³, ``n_obs``).
    min_day : float

    Returns
    -------
    pandas.DataFrame
        One row per subject: ``subject`` and the metrics.
    """
    import pandas as pd

    T = np.asarray(ds["time"].values, float)
    V = np.asarray(ds["value"].values, float)
    n = np.asarray(ds["n_obs"].values, int)
    rows = []
    for i, s in enumerate(ds["subject"].values):
        rows.append({"subject": str(s), **pdx_response(T[i, : n[i]], V[i, : n[i]],
                                                       min_day=min_day)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------- reporting

_XEVA = "Xeva 1.23.1 mRECIST recomputation (export_sensitivity.csv)"
_GAO = "Gao 2015 published metrics (reference_gao2015_published)"
_PROV = "pdxe2015_brca PROVENANCE.md (independent implementation, same definitions)"
_WHY_GAO = ("Gao's published metrics were computed on other inputs (probably the untrimmed "
            "series before Xeva's curation), so the same formula gives other values; the "
            "published classes also include forms such as 'SD-->PD' outside the 4-class "
            "scheme")


def _locate(data_dir: Any):
    """Load the data set and find its folder, with a clear error when it is absent."""
    from tgsim import datasets as tds

    try:
        ds = tds.load(DATASET, path=data_dir)
    except FileNotFoundError as exc:
        raise DataError(
            f"{exc} For this reproduction, set data_dir = \"/path/to/data\" in the "
            "experiment file (the folder holding pdxe2015_brca/) or export "
            "TGSIM_DATA_DIR=/path/to/data.") from None
    return ds, Path(ds.attrs["source"]).parent


def _share(mask) -> float:
    m = np.asarray(mask, bool)
    return 100.0 * float(m.mean()) if m.size else np.nan


def _response_checks(ours, xeva, gao) -> tuple[list[Check], Any]:
    m = ours.merge(xeva, left_on="subject", right_on="model.id", how="left")
    m = m.merge(gao, left_on="subject", right_on="model.id", how="left",
                suffixes=("", "_gao"))
    has = np.isfinite(m["best_response"])
    checks = [absolute_check("series with >= 2 points at t >= 10 d", 839, int(has.sum()), 0,
                             source=_PROV)]
    for col, label in (("best.response", "BestResponse"),
                       ("best.average.response", "BestAvgResponse")):
        ours_col = col.replace(".", "_")
        d = np.abs(m.loc[has, ours_col] - m.loc[has, col])
        checks.append(absolute_check(f"{label}: max |ours - Xeva| (% points)", 0.0,
                                     float(d.max()), 1e-9, source=_XEVA))
        t_ours, t_xeva = m.loc[has, f"{ours_col}_time"], m.loc[has, f"{col}.time"]
        checks.append(absolute_check(f"{label} day: same as Xeva (% of series)", 100.0,
                                     _share(t_ours == t_xeva), 0.0, source=_XEVA))
    same = m.loc[has, "mrecist"] == m.loc[has, "mRECIST"]
    checks.append(absolute_check("mRECIST class: same as Xeva (% of series)", 100.0,
                                 _share(same), 0.0, source=_XEVA))
    # against Gao's published values
    br_close = np.abs(m.loc[has, "best_response"] - m.loc[has, "best.response_published"]) \
        <= 0.1
    bar_close = np.abs(m.loc[has, "best_average_response"]
                       - m.loc[has, "best.avg.response_published"]) <= 0.1
    single = has & m["mRECIST_published"].isin(MRECIST_CLASSES)
    cls_same = m.loc[single, "mrecist"] == m.loc[single, "mRECIST_published"]
    for label, value, measured in (
            ("BestResponse within 0.1 point of Gao's published (% of series)",
             _share(br_close), 38.0),
            ("BestAvgResponse within 0.1 point of Gao's published (% of series)",
             _share(bar_close), 66.0),
            (f"mRECIST same as Gao's published (% of {int(single.sum())} single-class series)",
             _share(cls_same), 77.6)):
        checks.append(absolute_check(label, 100.0, value, 0.5, source=_GAO, note=_WHY_GAO))
        checks.append(absolute_check(label + ", as measured in PROVENANCE", measured, value,
                                     0.5, source=_PROV))
    for c in MRECIST_CLASSES:
        sel = single & (m["mRECIST_published"] == c)
        agree = int((m.loc[sel, "mrecist"] == c).sum())
        chk = absolute_check(f"published {c} series that we also call {c}", int(sel.sum()),
                             agree, 0, source=_GAO)
        if not chk.agrees:
            to = m.loc[sel & (m["mrecist"] != c), "mrecist"].value_counts()
            moved = ", ".join(f"{k or 'no class'}: {v}" for k, v in to.items())
            chk.note = f"{moved} instead; {_WHY_GAO}"
        checks.append(chk)
    return checks, m


def _fit_figures(ds, cmp, n_panels: int) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    from .figures import fits_overlay, ranking_bar

    table = cmp.table()
    top = list(table["model"][:3])
    k = min(n_panels, ds.sizes["subject"])
    overlay = fits_overlay(ds["time"].values[:k], ds["value"].values[:k],
                           {m: cmp.fits[m] for m in top},
                           subjects=[str(s) for s in ds["subject"].values[:k]],
                           max_subjects=None, ncols=4, log=True,
                           ylabel="tumour volume (mm³)", xlabel="time (day)")
    fig, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    crit = f"sum_{cmp.criterion}"
    ranking_bar(dict(zip(table["model"], table[crit], strict=True)), ax=ax,
                label=f"summed {cmp.criterion.upper()} over {int(cmp.complete.sum())} "
                "controls where every law converged",
                failed=dict(zip(cmp.models, cmp.n_failed.tolist(), strict=True)),
                title="Untreated PDX controls: growth-law ranking")
    return {"fits_overlay": overlay, "model_ranking": fig}


def reproduce(*, quick: bool = False, seed: int | None = None,
              data_dir: str | None = None) -> ValidationReport:
    """Reproduce Gao 2015's response metrics and fit growth laws to the untreated controls.

    Parameters
    ----------
    quick : bool
        Fit only the closed-form growth laws to the controls (no ODE card to compile);
        the response metrics always cover all 849 series.
    seed : int, optional
        Unused (everything is deterministic); accepted for the common interface.
    data_dir : str, optional
        Folder holding ``pdxe2015_brca/`` (or that folder itself); default
        ``$TGSIM_DATA_DIR``. The data are not shipped with tgsim.

    Returns
    -------
    ValidationReport

    Raises
    ------
    tgsim.errors.DataError
        No local copy found (or it lacks ``export_sensitivity.csv``); the message says
        how to point at one.
    """
    import pandas as pd

    from tgsim import datasets as tds
    from tgsim.fitting.comparison import compare

    ds, folder = _locate(data_dir)
    sens_file = folder / "export_sensitivity.csv"
    if not sens_file.is_file():
        raise DataError(f"{str(sens_file)!r} not found: the local copy of {DATASET} "
                                "needs Xeva's export_sensitivity.csv beside tidy.csv")
    xeva = pd.read_csv(sens_file)[["model.id", "mRECIST", "best.response",
                                   "best.response.time", "best.average.response",
                                   "best.average.response.time"]]
    gao = tds.reference(DATASET, "gao2015_published", path=folder)
    ours = responses(ds)
    checks, merged = _response_checks(ours, xeva, gao)

    controls = ds.isel(subject=np.flatnonzero(np.asarray(ds["group"].values) == "untreated"))
    width = int(controls["n_obs"].max())
    controls = controls.isel(obs=slice(0, width))
    cards = CARDS_QUICK if quick else CARDS
    cmp = compare(controls, list(cards))
    table = cmp.table()
    checks.append(Check("best growth law for the untreated controls (summed AIC)",
                        "not reported", str(table["model"].iloc[0]), "—", "not comparable",
                        note="Gao 2015 fits no growth law; the ranking is ours only",
                        source="Gao 2015"))
    report = ValidationReport(
        dataset=DATASET,
        title="PDXE breast: Gao 2015 response metrics and control growth laws",
        paper="Gao H et al. Nat Med 2015;21(11):1318-1325 (PDXE); Xeva (Mer AS et al. "
        "Cancer Res 2019;79(17):4539-4550)",
        reproduced="BestResponse, BestAvgResponse and mRECIST of 849 treated and untreated "
        "PDX series against Xeva's recomputation and Gao's published values; growth laws "
        f"fitted to the {controls.sizes['subject']} untreated controls and ranked by AIC"
        + (" (quick: closed-form laws only)" if quick else ""),
        checks=checks,
        failed_fits=dict(zip(cmp.models, cmp.n_failed.tolist(), strict=True)),
    )
    report.tables["responses"] = merged.drop(columns=[c for c in ("model.id", "model.id_gao")
                                                      if c in merged.columns])
    report.tables["control_ranking"] = table
    report.figures.update(_fit_figures(controls, cmp, 8 if quick else 16))
    n_short = int((~np.isfinite(ours["best_response"])).sum())
    report.notes += [
        f"{n_short} series have fewer than 2 measurements at t >= 10 days: no metric (as in "
        "Xeva); the per-series table 'responses' (written by tgsim run) lists them with an "
        "empty class.",
        "The growth laws are fitted with tgsim.fit's defaults (proportional error, k counts "
        "sigma); the summed AIC is over the controls where every law converged "
        f"({int(cmp.complete.sum())} of {controls.sizes['subject']}), and failed fits are "
        "counted per law (the 'n_failed' column of the 'control_ranking' table): a law that "
        "fails on many controls is ranked on fewer of them.",
        "Data: a local copy of the Xeva export (not shipped with tgsim: no redistribution "
        "licence).",
    ]
    return report


analysis = analysis_hook(reproduce)
