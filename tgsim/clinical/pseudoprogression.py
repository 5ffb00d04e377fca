r"""Pseudoprogression read-out: one subject scanned and read by RECIST 1.1 and iRECIST.

Pseudoprogression: an infiltrate/oedema compartment :math:`S` (see
:class:`tgsim.treatment.Swelling`) makes the observed size :math:`V + S` grow while the
tumour :math:`V` itself shrinks. :func:`assess_pseudoprogression` scans one simulated
subject (:func:`tgsim.scan`), reads each scan by RECIST 1.1 (:func:`tgsim.recist`) and
iRECIST (:func:`tgsim.irecist`) and returns a :class:`PseudoprogressionAssessment` with
the curves as sphere-equivalent diameters :math:`D = (6V/\pi)^{1/3}` (mm), the PR threshold
(0.7 × baseline) and the PD threshold at each scan (the larger of 1.2 × nadir and
nadir + 5 mm). Its :meth:`~PseudoprogressionAssessment.plot` draws it with
:func:`tgsim.plot.pseudoprogression`, which only draws.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TgsimError, TgsimWarning
from .irecist import irecist
from .recist import recist

__all__ = ["PseudoprogressionAssessment", "assess_pseudoprogression", "scan_categories",
           "pd_thresholds"]


def scan_categories(scans: Any, *, treatment_day: float | None = None):
    """RECIST 1.1 and iRECIST category of each scan of one subject.

    Parameters
    ----------
    scans : xarray.Dataset
        A :func:`tgsim.scan` result for one subject (days, mm).
    treatment_day : float, optional
        Day treatment starts (baseline = last scan on or before it).

    Returns
    -------
    pandas.DataFrame
        ``day, diameter_mm, recist, irecist`` (the baseline row has "baseline").

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> ds = tgsim.simulate("exponential", np.arange(0.0, 85.0, 42.0),
    ...                     {"initial_volume": 1e4, "growth_rate": 0.01})
    >>> scan_categories(tgsim.scan(ds, every_days=42.0))["recist"].tolist()
    ['baseline', 'PD', 'PD']
    """
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        r = recist(scans, treatment_day=treatment_day).table
        i = irecist(scans, treatment_day=treatment_day).table
    return pd.DataFrame({
        "day": r["day"].to_numpy(float),
        "diameter_mm": r["sum_mm"].to_numpy(float),
        "recist": r["response"].fillna("baseline").astype(str).to_numpy(),
        "irecist": i["response"].fillna("baseline").astype(str).to_numpy(),
    })


def pd_thresholds(diameters: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""PD threshold at each scan from the nadir before it, and the PR threshold.

    PD at scan *i* needs :math:`d_i \ge 1.2\,n_i` and :math:`d_i - n_i \ge 5` mm with
    :math:`n_i = \min_{j<i} d_j` (baseline included), i.e.
    :math:`d_i \ge \max(1.2\,n_i, n_i + 5)`; PR needs :math:`d_i \le 0.7\,d_0`.

    Returns
    -------
    (pd, pr) : arrays (mm); ``pd[0]`` is NaN (no threshold at baseline).

    Examples
    --------
    >>> pd, pr = pd_thresholds([40.0, 30.0, 36.0])
    >>> pd.tolist(), pr.tolist()
    ([nan, 48.0, 36.0], [28.0, 28.0, 28.0])
    """
    d = np.asarray(diameters, dtype=float)
    nadir = np.fmin.accumulate(d)
    pd_thr = np.full(d.size, np.nan)
    pd_thr[1:] = np.maximum(1.2 * nadir[:-1], nadir[:-1] + 5.0)
    pr_thr = np.full(d.size, 0.7 * d[0])
    return pd_thr, pr_thr


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


@dataclass
class PseudoprogressionAssessment:
    """One subject's true and observed size, its scans and their RECIST / iRECIST calls.

    Attributes
    ----------
    subject : object
        The subject's label.
    time : ndarray
        Simulation times (days).
    tumour_diameter_mm, observed_diameter_mm : ndarray
        Sphere-equivalent diameters (mm) of the tumour and of the observed size (tumour
        plus swelling; equal to the tumour without swelling).
    has_swelling : bool
        Whether the simulation had an ``observed`` variable.
    categories : pandas.DataFrame
        ``day, diameter_mm, recist, irecist`` per scan (see :func:`scan_categories`).
    pd_threshold_mm, pr_threshold_mm : ndarray
        Thresholds at each scan (see :func:`pd_thresholds`).
    therapy_spans : list of (start, stop, name)
        Continuous therapies (days), for shading.
    recist, irecist : ResponseAssessment
        The full assessments.
    """

    subject: Any
    time: np.ndarray
    tumour_diameter_mm: np.ndarray
    observed_diameter_mm: np.ndarray
    has_swelling: bool
    categories: Any
    pd_threshold_mm: np.ndarray
    pr_threshold_mm: np.ndarray
    therapy_spans: list[tuple[float, float, str]] = field(default_factory=list)
    recist: Any = None
    irecist: Any = None

    def summary(self) -> str:
        """The scan calls as text."""
        cats = self.categories
        rows = [f"subject {self.subject}: {len(cats)} scan(s)"]
        rows += [f"  day {d:7.1f}  {mm:7.2f} mm  RECIST {r:<9} iRECIST {i}"
                 for d, mm, r, i in zip(cats["day"], cats["diameter_mm"], cats["recist"],
                                        cats["irecist"], strict=True)]
        return "\n".join(rows)

    def plot(self, ax: Any = None, *, title: str | None = None, thresholds: bool = True):
        """Draw with :func:`tgsim.plot.pseudoprogression`."""
        from ..plot.pseudoprogression import pseudoprogression

        return pseudoprogression(self, ax=ax, title=title, thresholds=thresholds)


def assess_pseudoprogression(ds: Any, *, subject: Any = None, every_days: float | str = "6w",
                             days: Any = None, scans: Any = None,
                             treatment_day: float | None = None
                             ) -> PseudoprogressionAssessment:
    """Scan one simulated subject and read the scans by RECIST 1.1 and iRECIST.

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

    Returns
    -------
    PseudoprogressionAssessment

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> from tgsim.clinical import assess_pseudoprogression
    >>> t = np.linspace(0.0, 168.0, 169)
    >>> sched = [tgsim.Immunotherapy(0.0, 169.0, 0.025, swelling=tgsim.Swelling(0.1, 0.03))]
    >>> ds = tgsim.simulate("exponential", t, {"initial_volume": 1.4e4, "growth_rate": 0.01},
    ...                     schedule=sched)
    >>> a = assess_pseudoprogression(ds, every_days=42.0)
    >>> a.categories["recist"].tolist(), a.categories["irecist"].tolist()[:2]
    (['baseline', 'PD', 'SD', 'SD', 'SD'], ['baseline', 'iUPD'])
    """
    from ..observe import scan, sphere_diameter

    if "volume" not in getattr(ds, "data_vars", {}):
        raise TgsimError("`ds` must be a tgsim.simulate result with a `volume` variable")
    one = ds
    subj = None
    if "subject" in ds.dims:
        subj = ds["subject"].values[0] if subject is None else subject
        if subj not in list(ds["subject"].values):
            raise TgsimError(f"`subject` {subject!r} is not in `ds`")
        one = ds.sel(subject=[subj])
    t = np.asarray(one["time"].values, dtype=float)
    vol = np.asarray(one["volume"].values, dtype=float).reshape(-1)
    swelling = "observed" in one.data_vars
    obs = np.asarray(one["observed"].values, dtype=float).reshape(-1) if swelling else vol
    if scans is None:
        scans = scan(one, every_days=every_days) if days is None else scan(one, days=days)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        rec = recist(scans, treatment_day=treatment_day)
        irec = irecist(scans, treatment_day=treatment_day)
    cats = scan_categories(scans, treatment_day=treatment_day)
    pd_thr, pr_thr = pd_thresholds(cats["diameter_mm"].to_numpy(float))
    return PseudoprogressionAssessment(
        subject=subj, time=t, tumour_diameter_mm=np.asarray(sphere_diameter(vol), float),
        observed_diameter_mm=np.asarray(sphere_diameter(obs), float), has_swelling=swelling,
        categories=cats, pd_threshold_mm=pd_thr, pr_threshold_mm=pr_thr,
        therapy_spans=_therapy_spans(one.attrs), recist=rec, irecist=irec)
