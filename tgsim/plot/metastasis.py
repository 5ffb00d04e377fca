r"""Metastatic colonies by size class over time, and their size histogram.

Size classes of AJCC (8th ed.), on the sphere-equivalent diameter :math:`d` of a colony:
isolated tumour cells (ITC, :math:`d \le 0.2` mm), micrometastases
(:math:`0.2 < d \le 2` mm) and macrometastases (:math:`d > 2` mm); the imaging detection
limit (5 mm by default) is a separate threshold. Input is a
:func:`tgsim.metastasis.metastatic_spread` result (dims ``subject, time, size_class``
and ``size_bin``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import TgsimError
from ._labels import GREY, OKABE_ITO, new_axes

#: colour of each size class
CLASS_COLOURS = {"ITC": OKABE_ITO[5], "micrometastasis": OKABE_ITO[0],
                 "macrometastasis": OKABE_ITO[1]}


def _check(ds: Any, need: tuple[str, ...]) -> None:
    missing = [v for v in need if v not in getattr(ds, "data_vars", {})]
    if missing:
        raise TgsimError("`ds` must be a tgsim.metastasis.metastatic_spread result; missing "
                         f"{missing}")


def _subject_mean(da: Any, subject: Any) -> Any:
    if subject is None:
        return da.mean("subject") if "subject" in da.dims else da
    if subject not in list(da["subject"].values):
        raise TgsimError(f"`subject` {subject!r} is not in the result; have "
                         f"{list(da['subject'].values)[:10]}")
    return da.sel(subject=subject)


def colony_classes(ds: Any, *, subject: Any = None, ax: Any = None, log: bool = True,
                   floor: float = 1e-3, detectable: bool = True, events: Any = None,
                   title: str | None = None):
    """Expected number of colonies in each size class over time.

    Parameters
    ----------
    ds : xarray.Dataset
        A :func:`tgsim.metastasis.metastatic_spread` result.
    subject : label, optional
        One primary (default: the mean over primaries).
    ax : matplotlib Axes, optional
    log : bool
        Logarithmic count axis; counts below ``floor`` are cut off.
    floor : float
        Lower limit of the log axis (expected colonies).
    detectable : bool
        Also draw the colonies above the detection limit (dashed black).
    events : mapping label -> day, optional
        Vertical markers (e.g. {"surgery": 200}).
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    _check(ds, ("colonies",))
    ax = new_axes(ax)
    t = np.asarray(ds["time"].values, dtype=float)
    col = _subject_mean(ds["colonies"], subject).transpose("time", "size_class")
    what = "mean over replicates" if ds.attrs.get("mode") == "stochastic" else "expected"
    for k, cls in enumerate(col["size_class"].values):
        y = np.asarray(col.isel(size_class=k).values, dtype=float)
        name = {"ITC": "isolated tumour cells (≤ 0.2 mm)",
                "micrometastasis": "micrometastases (0.2-2 mm)",
                "macrometastasis": "macrometastases (> 2 mm)"}.get(str(cls), str(cls))
        ax.plot(t, np.maximum(y, floor) if log else y, lw=2,
                color=CLASS_COLOURS.get(str(cls), OKABE_ITO[k]), label=name)
    if detectable and "detectable" in ds.data_vars:
        y = np.asarray(_subject_mean(ds["detectable"], subject).values, dtype=float)
        lim = ds.attrs.get("detection_limit_mm", float("nan"))
        ax.plot(t, np.maximum(y, floor) if log else y, color="black", lw=1.5, ls="--",
                label=f"detectable (> {lim:g} mm)")
    for lab, day in dict(events or {}).items():
        ax.axvline(float(day), color=GREY, lw=1, ls=":")
        ax.annotate(str(lab), xy=(float(day), 0.98), xycoords=("data", "axes fraction"),
                    ha="right", va="top", rotation=90, fontsize=8, color=GREY)
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)
    ax.set_xlabel("time (day)")
    ax.set_ylabel(f"{what} number of colonies")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title if title is not None else "Metastatic colonies by size class")
    return ax


def colony_histogram(ds: Any, *, times: Any = None, subject: Any = None, ax: Any = None,
                     title: str | None = None, density: bool = False):
    """Size distribution of the colonies at a few times, over the class boundaries.

    Step histograms of ``size_histogram`` against the colony diameter (log axis); the
    ITC / micrometastasis / macrometastasis regions are shaded and the detection limit
    is a dashed line.

    Parameters
    ----------
    ds : xarray.Dataset
        A :func:`tgsim.metastasis.metastatic_spread` result.
    times : sequence of float, optional
        Days to show (the nearest output times; default 3 spread over the result).
    subject : label, optional
        One primary (default: the mean over primaries).
    ax : matplotlib Axes, optional
    title : str, optional
    density : bool
        Divide counts by the log10 width of each bin (colonies per decade of diameter),
        so that unequal bins compare.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _check(ds, ("size_histogram",))
    t = np.asarray(ds["time"].values, dtype=float)
    if times is None:
        idx = np.unique(np.linspace(0, t.size - 1, 4).round().astype(int))[1:]
    else:
        idx = [int(np.argmin(np.abs(t - float(x)))) for x in np.atleast_1d(times)]
    lo = np.asarray(ds["bin_lower_mm"].values, dtype=float)
    hi = np.asarray(ds["bin_upper_mm"].values, dtype=float)
    edges = np.concatenate([lo, hi[-1:]])
    hist = _subject_mean(ds["size_histogram"], subject).transpose("time", "size_bin")
    ax = new_axes(ax)
    itc = float(ds.attrs.get("itc_max_mm", 0.2))
    micro = float(ds.attrs.get("micro_max_mm", 2.0))
    for (a, b), cls in zip(((edges[0], itc), (itc, micro), (micro, edges[-1])),
                           ("ITC", "micrometastasis", "macrometastasis"), strict=True):
        ax.axvspan(a, b, color=CLASS_COLOURS[cls], alpha=0.08, lw=0)
        short = {"ITC": "ITC", "micrometastasis": "micro"}.get(cls, "macro")
        ax.annotate(short, xy=(np.sqrt(a * b), 0.98),
                    xycoords=("data", "axes fraction"), ha="center", va="top", fontsize=8,
                    color=CLASS_COLOURS[cls])
    width = np.log10(hi / lo)
    for k, i in enumerate(idx):
        y = np.asarray(hist.isel(time=i).values, dtype=float)
        if density:
            y = y / width
        ax.stairs(y, edges, color=OKABE_ITO[(k + 2) % len(OKABE_ITO)], lw=2,
                  label=f"day {t[i]:g}")
    lim = ds.attrs.get("detection_limit_mm")
    if lim is not None:
        ax.axvline(float(lim), color="black", ls="--", lw=1, label=f"detection limit {lim:g} mm")
    ax.set_xscale("log")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("colony diameter (mm)")
    ax.set_ylabel("colonies per decade of diameter" if density else "colonies per size bin")
    ax.legend(frameon=False, fontsize=8, loc="center right")
    ax.set_title(title if title is not None else "Colony size distribution")
    return ax
