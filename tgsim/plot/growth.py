"""Growth curves of simulated subjects, with a percentile band across parameter draws."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import TgsimError
from ._labels import OKABE_ITO, label, new_axes


def growth_curves(ds: Any, *, variable: str = "volume", ax: Any = None, log: bool = False,
                  band: tuple[float, float] | None = (5.0, 95.0), max_lines: int = 50,
                  color: str | None = None, title: str | None = None,
                  show_observed: bool = True):
    r"""Plot simulated growth curves: individual subjects plus median and percentile band.

    When the subjects of ``ds`` are draws of the parameters (a virtual population, or
    samples from a fit's uncertainty), the band between the ``band`` percentiles of
    :math:`V(t)` across subjects at each time is the parameter band of the prediction.

    Parameters
    ----------
    ds : xarray.Dataset
        A :func:`tgsim.simulate` result (dims ``subject, time``; time in days, volumes
        in mm³). A cohort with a ``scenario`` dim is drawn by
        :func:`tgsim.plot.spaghetti` instead.
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
    color : str, optional
        Colour of the curves (default the first Okabe-Ito colour).
    title : str, optional
        Axes title (default: the model title and the number of subjects).
    show_observed : bool
        For a single subject with pseudoprogression swelling, also draw the observed
        size (tumour plus swelling) dashed.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if "scenario" in getattr(ds, "dims", {}):
        from .cohort import spaghetti

        return spaghetti(ds, variable=variable, ax=ax, log=log, band=band,
                         max_lines=max_lines, title=title)
    if variable not in getattr(ds, "data_vars", {}):
        have = sorted(map(str, getattr(ds, "data_vars", {})))
        raise TgsimError(f"`variable` must be a data variable of `ds`; got {variable!r}, "
                         f"have {have}")
    if int(max_lines) != max_lines or max_lines < 0:
        raise TgsimError(f"`max_lines` must be an integer >= 0; got {max_lines!r}")
    ax = new_axes(ax)
    da = ds[variable]
    if "subject" not in da.dims:
        da = da.expand_dims(subject=[0])
    da = da.transpose("subject", "time")
    t = np.asarray(ds["time"].values, dtype=float)
    values = np.asarray(da.values, dtype=float)
    c = color or OKABE_ITO[0]
    n = values.shape[0]
    if n == 1:
        ax.plot(t, values[0], color=c, lw=2, label=da.attrs.get("long_name", variable))
        if show_observed and variable == "volume" and "observed" in ds.data_vars:
            obs = np.asarray(ds["observed"].values, dtype=float).reshape(-1, t.size)[0]
            ax.plot(t, obs, color=OKABE_ITO[1], lw=2, ls="--",
                    label=ds["observed"].attrs.get("long_name", "observed"))
    else:
        for row in values[: int(max_lines)]:
            ax.plot(t, row, color=c, lw=0.6, alpha=0.35)
        with np.errstate(all="ignore"):
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
    if title is None:
        title = f"{model}: {n} subject{'s' if n > 1 else ''}" if model else ""
    ax.set_title(title)
    return ax
