"""Spaghetti plots of a virtual cohort, one colour per scenario."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import TgsimError
from ._labels import OKABE_ITO, label, new_axes


def spaghetti(ds: Any, *, variable: str = "volume", scenarios: Any = None, ax: Any = None,
              log: bool = False, band: tuple[float, float] | None = (5.0, 95.0),
              max_lines: int = 30, title: str | None = None, legend: bool = True):
    r"""Spaghetti plot of a cohort: thin subject curves, median and a percentile band,
    one colour per scenario.

    At each time :math:`t` the band spans the ``band`` percentiles of
    :math:`\{V_i(t)\}_i` over the subjects of the scenario and the thick line is their
    median. Failed subjects (NaN) are left out of both.

    Parameters
    ----------
    ds : xarray.Dataset
        A cohort from :func:`tgsim.cohort.simulate_cohort` (dims ``scenario, subject,
        time``) or a :func:`tgsim.simulate` result (dims ``subject, time``). Time in
        days, volumes in mm³.
    variable : str
        Variable with dims ``(scenario,) subject, time``.
    scenarios : sequence of str, optional
        Which scenarios to draw, in order (default all).
    ax : matplotlib Axes, optional
    log : bool
        Logarithmic y axis.
    band : (low, high) percentiles or None
    max_lines : int
        Subject curves drawn per scenario (the first ``max_lines`` subjects).
    title : str, optional
    legend : bool

    Returns
    -------
    matplotlib.axes.Axes
    """
    if variable not in getattr(ds, "data_vars", {}):
        have = sorted(map(str, getattr(ds, "data_vars", {})))
        raise TgsimError(f"`variable` must be a data variable of `ds`; got {variable!r}, "
                         f"have {have}")
    if int(max_lines) != max_lines or max_lines < 0:
        raise TgsimError(f"`max_lines` must be an integer >= 0; got {max_lines!r}")
    da = ds[variable]
    if "scenario" not in da.dims:
        da = da.expand_dims(scenario=[ds.attrs.get("model", variable)])
    if "subject" not in da.dims:
        da = da.expand_dims(subject=[0])
    missing = {"time"} - set(da.dims)
    if missing:
        raise TgsimError(f"`ds[{variable!r}]` must have a 'time' dim; got {da.dims}")
    da = da.transpose("scenario", "subject", "time")
    names = [str(s) for s in da["scenario"].values] if "scenario" in da.coords else \
        [str(i) for i in range(da.sizes["scenario"])]
    if scenarios is None:
        chosen = list(range(len(names)))
    else:
        chosen = []
        for s in scenarios:
            if str(s) not in names:
                raise TgsimError(f"`scenarios`: {s!r} is not a scenario of `ds`; have {names}")
            chosen.append(names.index(str(s)))
    ax = new_axes(ax)
    t = np.asarray(ds["time"].values, dtype=float)
    values = np.asarray(da.values, dtype=float)
    for k, i in enumerate(chosen):
        c = OKABE_ITO[k % len(OKABE_ITO)]
        v = values[i]
        ok = np.all(np.isfinite(v), axis=1)
        v = v[ok]
        for row in v[: int(max_lines)]:
            ax.plot(t, row, color=c, lw=0.5, alpha=0.3)
        if v.shape[0] == 0:
            continue
        med = np.median(v, axis=0)
        ax.plot(t, med, color=c, lw=2.2, label=f"{names[i]} (median, n={v.shape[0]})")
        if band is not None and v.shape[0] > 1:
            lo, hi = np.percentile(v, band, axis=0)
            ax.fill_between(t, lo, hi, color=c, alpha=0.18, lw=0)
    ax.set_xlabel(label(ds["time"], "time"))
    ax.set_ylabel(label(ds[variable], variable))
    if log:
        ax.set_yscale("log")
    if legend:
        extra = f"; bands: {band[0]:g}-{band[1]:g} percentile" if band is not None else ""
        ax.legend(frameon=False, fontsize=8, title=f"scenario{extra}", title_fontsize=8)
    if title is None:
        title = ds.attrs.get("model_title") or ds.attrs.get("model", "")
    ax.set_title(title)
    return ax
