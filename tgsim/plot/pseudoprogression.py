r"""Draw a pseudoprogression read-out: tumour against observed size, scans and their calls.

The figure takes a :class:`tgsim.clinical.PseudoprogressionAssessment` (from
:func:`tgsim.clinical.assess_pseudoprogression`, which scans the subject and reads the
scans by RECIST 1.1 and iRECIST) and draws the tumour and the observed size as
sphere-equivalent diameters (mm), the scans and each scan's categories, with the PR
threshold (0.7 × baseline) and the PD threshold at each scan. Categories after
progression (PD for RECIST, iCPD for iRECIST), when treatment would normally stop, are
shown in grey and in brackets. This module only draws: it computes no response.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import TgsimError
from ._labels import GREY, OKABE_ITO, new_axes, response_colour

_FIELDS = ("time", "tumour_diameter_mm", "observed_diameter_mm", "categories",
           "pd_threshold_mm", "pr_threshold_mm", "therapy_spans", "has_swelling")


def pseudoprogression(assessment: Any, *, ax: Any = None, title: str | None = None,
                      thresholds: bool = True):
    """Tumour and observed size with the scans and their RECIST / iRECIST categories.

    Parameters
    ----------
    assessment : PseudoprogressionAssessment
        From :func:`tgsim.clinical.assess_pseudoprogression`.
    ax : matplotlib Axes, optional
    title : str, optional
    thresholds : bool
        Draw the PR threshold (0.7 × baseline) and the PD threshold at each scan.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.tgsim_categories`` holds the assessment's per-scan table.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> t = np.linspace(0.0, 168.0, 169)
    >>> sched = [tgsim.Immunotherapy(0.0, 169.0, 0.025, swelling=tgsim.Swelling(0.1, 0.03))]
    >>> ds = tgsim.simulate("exponential", t, {"initial_volume": 1.4e4, "growth_rate": 0.01},
    ...                     schedule=sched)
    >>> ax = tgsim.clinical.assess_pseudoprogression(ds, every_days=42.0).plot()
    """
    missing = [f for f in _FIELDS if not hasattr(assessment, f)]
    if missing:
        hint = (" (a simulation: read it first with "
                "tgsim.clinical.assess_pseudoprogression(ds, every_days=...))"
                if hasattr(assessment, "data_vars") else "")
        raise TgsimError("`assessment` must be a PseudoprogressionAssessment" + hint
                         + f"; got {type(assessment).__name__}")
    a = assessment
    t = np.asarray(a.time, dtype=float)
    cats = a.categories
    ax = new_axes(ax, figsize=(7.0, 4.6))
    for start, stop, name in a.therapy_spans:
        ax.axvspan(max(start, t[0]), min(stop, t[-1]), color=OKABE_ITO[2], alpha=0.08, lw=0,
                   label=f"{name} on")
    ax.plot(t, a.tumour_diameter_mm, color=OKABE_ITO[0], lw=2, label="tumour (true size)")
    if a.has_swelling:
        ax.plot(t, a.observed_diameter_mm, color=OKABE_ITO[1], lw=2, ls="--",
                label="observed (tumour + swelling)")
    sd = cats["day"].to_numpy(float)
    sdiam = cats["diameter_mm"].to_numpy(float)
    ax.plot(sd, sdiam, ls="none", marker="o", ms=6, color="black", label="scan", zorder=4)
    if thresholds and sd.size > 1:
        ax.plot(sd[1:], np.asarray(a.pd_threshold_mm)[1:], ls="none", marker="_", ms=14,
                mew=2, color=response_colour("PD"), label="PD threshold (vs nadir)")
        ax.axhline(float(np.asarray(a.pr_threshold_mm)[0]), color=response_colour("PR"),
                   lw=1, ls=":", label="PR threshold (0.7 × baseline)")
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
