"""Growth curves of simulated cohorts."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._labels import OKABE_ITO, label


def growth_curves(ds: Any, *, variable: str = "volume", ax: Any = None, log: bool = False,
                  band: tuple[float, float] | None = (5.0, 95.0), max_lines: int = 50,
                  color: str | None = None, title: str | None = None):
    """Plot simulated growth curves: individual subjects plus median and percentile band.

    Parameters
    ----------
    ds : xarray.Dataset
        A :func:`tgsim.simulate` result (dims ``subject, time``).
    variable : str
        Which variable to draw (``volume``, ``observed``, ``swelling``).
    ax : matplotlib Axes, optional
        Axes to draw into (a new figure when None).
    log : bool
        Logarithmic volume axis.
    band : (low, high) percentiles or None
        Shaded percentile band across subjects when there is more than one.
    max_lines : int
        At most this many individual curves are drawn (thin lines).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    da = ds[variable]
    t = ds["time"].values
    values = np.asarray(da.values, dtype=float)
    c = color or OKABE_ITO[0]
    n = values.shape[0]
    if n == 1:
        ax.plot(t, values[0], color=c, lw=2, label=variable)
    else:
        for row in values[: max_lines]:
            ax.plot(t, row, color=c, lw=0.6, alpha=0.35)
        med = np.nanmedian(values, axis=0)
        ax.plot(t, med, color="black", lw=2, label="median")
        if band is not None:
            lo, hi = np.nanpercentile(values, band, axis=0)
            ax.fill_between(t, lo, hi, color=c, alpha=0.2, lw=0,
                            label=f"{band[0]:g}-{band[1]:g} percentile")
        ax.legend(frameon=False)
    ax.set_xlabel(label(ds["time"], "time"))
    ax.set_ylabel(label(da, variable))
    if log:
        ax.set_yscale("log")
    model = ds.attrs.get("model_title") or ds.attrs.get("model", "")
    ax.set_title(title if title is not None else f"{model}: {n} subject{'s' if n > 1 else ''}")
    return ax
