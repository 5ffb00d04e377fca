"""The figures an experiment writes (``[output] figures``): volume, response, waterfall,
pseudoprogression. Each draws an experiment's cohort Dataset and writes one PNG
atomically."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .readouts import (
    RECIST_CODES,
)

if TYPE_CHECKING:  # pragma: no cover
    pass


# ---------------------------------------------------------------------- figures
_MAX_PLOTTED = 2000


def _write_figure(name: str, ds, path: Path, title: str) -> bool:
    """Draw one figure to ``path`` (PNG, atomically). False when it does not apply.

    ``volume``: :func:`tgsim.plot.spaghetti` of every scenario; ``response``: stacked bars
    of the RECIST best overall response; ``waterfall``: :func:`tgsim.plot.waterfall`, one
    panel per scenario; ``pseudoprogression``: :func:`tgsim.plot.pseudoprogression` of
    one subject called PD on the observed size whose tumour never progressed. At most the
    first 2000 subjects (a random sample) are drawn.
    """
    from matplotlib.figure import Figure

    from .. import plot
    from ..io import atomic_path

    if name in ("response", "waterfall") and "recist_bor" not in ds:
        return False
    if name == "pseudoprogression":
        return _pseudoprogression_figure(ds, path, title)
    sub = ds.isel(subject=slice(0, _MAX_PLOTTED))
    n_scen = sub.sizes["scenario"]
    if name == "waterfall":
        cols = min(n_scen, 3)
        rows = math.ceil(n_scen / cols)
        fig = Figure(figsize=(4.6 * cols, 3.8 * rows), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for i, ax in enumerate(axes):
            if i >= n_scen:
                ax.set_visible(False)
                continue
            one = sub.isel(scenario=i).sel(reading="measured")
            best = np.asarray(one["best_change_pct"].values)
            cats = np.asarray(RECIST_CODES)[np.asarray(one["recist_bor"].values)]
            plot.waterfall(best, categories=cats, ax=ax, title=str(sub.scenario.values[i]),
                           clip_pct=200.0)
    else:
        fig = Figure(figsize=(7.5, 4.8), layout="constrained")
        ax = fig.subplots()
        if name == "volume":
            plot.spaghetti(sub, ax=ax, log=True, max_lines=20)
        else:
            _response_bars(sub, ax=ax)
    fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return True


def _pseudoprogression_figure(ds, path: Path, title: str) -> bool:
    """:func:`tgsim.plot.pseudoprogression` for the first subject whose RECIST progression
    on the observed size is not a progression of the tumour (needs swelling and RECIST)."""
    import xarray as xr
    from matplotlib.figure import Figure

    from .. import plot
    from ..clinical import assess_pseudoprogression
    from ..io import atomic_path

    need = {"observed", "progressed", "diameter_mm"}
    if not need <= set(ds.data_vars) or "tumour" not in ds.reading.values:
        return False
    prog = ds["progressed"]
    false = prog.sel(reading="measured") & ~prog.sel(reading="tumour")
    hits = np.argwhere(np.asarray(false.values))
    if hits.size == 0:
        return False
    i, j = (int(x) for x in hits[0])
    sc = ds.isel(scenario=i, subject=j)
    one = xr.Dataset({"volume": (("subject", "time"), sc["volume"].values[None, :]),
                      "observed": (("subject", "time"), sc["observed"].values[None, :])},
                     coords={"subject": [int(sc["subject"])], "time": ds["time"]},
                     attrs={"schedule": str(sc["schedule"].values)})
    treatment = json.loads(ds.attrs.get("observation", "{}")).get("treatment_day")
    fig = Figure(figsize=(8.0, 5.0), layout="constrained")
    ax = fig.subplots()
    reading = assess_pseudoprogression(one, days=ds["day"].values, treatment_day=treatment)
    plot.pseudoprogression(reading, ax=ax,
                           title=f"{ds.scenario.values[i]}: subject {int(sc['subject'])}")
    fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return True


def _response_bars(ds, *, reading: str = "measured", ax=None):
    """Stacked bars: RECIST best overall response (% of measurable subjects) per scenario."""
    from ..plot import RESPONSE_COLOURS

    bor = np.asarray(ds["recist_bor"].sel(reading=reading).values)
    meas = np.asarray(ds["measurable"].sel(reading=reading).values).astype(bool)
    names = [str(s) for s in ds.scenario.values]
    bottom = np.zeros(len(names))
    for code, label in enumerate(RECIST_CODES):
        frac = np.array([100.0 * np.mean(bor[i][meas[i]] == code) if meas[i].any() else 0.0
                         for i in range(len(names))])
        ax.bar(names, frac, bottom=bottom, color=RESPONSE_COLOURS.get(label, "0.6"),
               label=label)
        bottom += frac
    ax.set_ylabel("measurable subjects (%)")
    ax.set_title(f"RECIST 1.1 best overall response ({reading})", fontsize="small")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.tick_params(axis="x", labelrotation=20)
    return ax


