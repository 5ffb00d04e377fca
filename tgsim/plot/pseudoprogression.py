r"""Tumour against observed size under immunotherapy, read by RECIST 1.1 and iRECIST.

Pseudoprogression: an infiltrate/oedema compartment :math:`S` (see
:class:`tgsim.treatment.Swelling`) makes the observed size :math:`V + S` grow while the
tumour :math:`V` itself shrinks. The figure shows both as sphere-equivalent diameters
:math:`D = (6V/\pi)^{1/3}` (mm), the scans (:func:`tgsim.scan`) and each scan's category
by RECIST 1.1 (:func:`tgsim.recist`) and iRECIST (:func:`tgsim.irecist`), with the PR
threshold (0.7 × baseline) and the PD threshold (the larger of 1.2 × nadir and
nadir + 5 mm) at each scan. Categories after progression (PD for RECIST, iCPD for
iRECIST), when treatment would normally stop, are shown in grey and in brackets.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

from ..errors import TgsimError, TgsimWarning
from ._labels import GREY, OKABE_ITO, new_axes, response_colour


def _therapy_spans(attrs: Any) -> list[tuple[float, float, str]]:
    """(start, stop, name) of the continuous therapies in a simulate result's schedule."""
    try:
        items = json.loads(attrs.get("schedule", "[]") or "[]")
    except (TypeError, ValueError):
        return []
    out = []
    for it in items:
        if it.get("type") in ("TargetedTherapy", "Immunotherapy"):
            try:
                a = float(np.ravel(it["start"])[0])
                b = float(np.ravel(it["stop"])[0])
            except (KeyError, TypeError, ValueError, IndexError):
                continue
            out.append((a, b, it.get("name") or it["type"].replace("Therapy", " therapy")))
    return out


def scan_categories(scans: Any, *, treatment_day: float | None = None):
    """RECIST 1.1 and iRECIST category of each scan of one subject.

    Returns
    -------
    pandas.DataFrame
        ``day, diameter_mm, recist, irecist`` (the baseline row has "baseline").
    """
    import pandas as pd

    from ..clinical import irecist, recist

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        r = recist(scans, treatment_day=treatment_day).table
        i = irecist(scans, treatment_day=treatment_day).table
    out = pd.DataFrame({
        "day": r["day"].to_numpy(float),
        "diameter_mm": r["sum_mm"].to_numpy(float),
        "recist": r["response"].fillna("baseline").astype(str).to_numpy(),
        "irecist": i["response"].fillna("baseline").astype(str).to_numpy(),
    })
    return out


def pd_thresholds(diameters: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""PD threshold at each scan from the nadir before it, and the PR threshold.

    PD at scan *i* needs :math:`d_i \ge 1.2\,n_i` and :math:`d_i - n_i \ge 5` mm with
    :math:`n_i = \min_{j<i} d_j` (baseline included), i.e.
    :math:`d_i \ge \max(1.2\,n_i, n_i + 5)`; PR needs :math:`d_i \le 0.7\,d_0`.

    Returns
    -------
    (pd, pr) : arrays (mm); ``pd[0]`` is NaN (no threshold at baseline).
    """
    d = np.asarray(diameters, dtype=float)
    nadir = np.fmin.accumulate(d)
    pd_thr = np.full(d.size, np.nan)
    pd_thr[1:] = np.maximum(1.2 * nadir[:-1], nadir[:-1] + 5.0)
    pr_thr = np.full(d.size, 0.7 * d[0])
    return pd_thr, pr_thr


def pseudoprogression(ds: Any, *, subject: Any = None, every_days: float | str = "6w",
                      days: Any = None, scans: Any = None, treatment_day: float | None = None,
                      ax: Any = None, title: str | None = None, thresholds: bool = True):
    """Tumour and observed size with the scans and their RECIST / iRECIST categories.

    Parameters
    ----------
    ds : xarray.Dataset
        A :func:`tgsim.simulate` result (time in days, volumes in mm³). With
        pseudoprogression swelling it has ``observed``; without, the observed size is
        the tumour volume.
    subject : label, optional
        Which subject (default the first).
    every_days : float or str
        Scan interval (days, or "6w", "8w", "3mo"), scans starting at the first time.
    days : array_like, optional
        Explicit scan days instead.
    scans : xarray.Dataset, optional
        A :func:`tgsim.scan` result to use instead of scanning without error.
    treatment_day : float, optional
        Day treatment starts (baseline = last scan on or before it; default the first
        scan).
    ax : matplotlib Axes, optional
    title : str, optional
    thresholds : bool
        Draw the PR threshold (0.7 × baseline) and the PD threshold at each scan.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.tgsim_categories`` holds the table of :func:`scan_categories`.
    """
    from ..observe import scan, sphere_diameter

    if "volume" not in getattr(ds, "data_vars", {}):
        raise TgsimError("`ds` must be a tgsim.simulate result with a `volume` variable")
    one = ds
    if "subject" in ds.dims:
        subj = ds["subject"].values[0] if subject is None else subject
        if subj not in list(ds["subject"].values):
            raise TgsimError(f"`subject` {subject!r} is not in `ds`")
        one = ds.sel(subject=[subj])
    t = np.asarray(one["time"].values, dtype=float)
    vol = np.asarray(one["volume"].values, dtype=float).reshape(-1)
    obs = (np.asarray(one["observed"].values, dtype=float).reshape(-1)
           if "observed" in one.data_vars else vol)
    if scans is None:
        scans = scan(one, every_days=every_days) if days is None else scan(one, days=days)
    cats = scan_categories(scans, treatment_day=treatment_day)
    ax = new_axes(ax, figsize=(7.0, 4.6))
    for a, b, name in _therapy_spans(one.attrs):
        ax.axvspan(max(a, t[0]), min(b, t[-1]), color=OKABE_ITO[2], alpha=0.08, lw=0,
                   label=f"{name} on")
    ax.plot(t, np.asarray(sphere_diameter(vol)), color=OKABE_ITO[0], lw=2,
            label="tumour (true size)")
    if "observed" in one.data_vars:
        ax.plot(t, np.asarray(sphere_diameter(obs)), color=OKABE_ITO[1], lw=2, ls="--",
                label="observed (tumour + swelling)")
    sd = cats["day"].to_numpy(float)
    sdiam = cats["diameter_mm"].to_numpy(float)
    ax.plot(sd, sdiam, ls="none", marker="o", ms=6, color="black", label="scan", zorder=4)
    if thresholds and sd.size > 1:
        pd_thr, pr_thr = pd_thresholds(sdiam)
        ax.plot(sd[1:], pd_thr[1:], ls="none", marker="_", ms=14, mew=2,
                color=response_colour("PD"), label="PD threshold (vs nadir)")
        ax.axhline(pr_thr[0], color=response_colour("PR"), lw=1, ls=":",
                   label="PR threshold (0.7 × baseline)")
    for row, (col, dy, final) in enumerate((("recist", 15, "PD"), ("irecist", 4, "iCPD"))):
        stopped = False
        for d, c in zip(sd, cats[col], strict=True):
            text = "BL" if c == "baseline" else (f"({c})" if stopped else c)
            colour = GREY if c == "baseline" or stopped else response_colour(c)
            ax.annotate(text, xy=(d, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(0, dy), textcoords="offset points", ha="center",
                        va="bottom", fontsize=7.5, color=colour,
                        fontweight="normal" if stopped else "bold", annotation_clip=False)
            stopped = stopped or c == final
        ax.annotate("RECIST 1.1" if row == 0 else "iRECIST", xy=(0.0, 1.0),
                    xycoords="axes fraction", xytext=(-8, dy), textcoords="offset points",
                    ha="right", va="bottom", fontsize=7.5, annotation_clip=False)
    ax.set_xlim(t[0] - 0.04 * (t[-1] - t[0]), t[-1] + 0.04 * (t[-1] - t[0]))
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("time (day)")
    ax.set_ylabel("sphere-equivalent diameter (mm)")
    ax.legend(frameon=False, fontsize=7.5, loc="lower left")
    if title is not None:
        ax.set_title(title, pad=30)
    ax.tgsim_categories = cats
    return ax
