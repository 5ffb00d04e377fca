"""Gallery: hidden micrometastases at surgery, and adjuvant therapy."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tgsim.errors import TgsimWarning

from ._base import Entry, Unavailable, panel_label

GREY = "#7F7F7F"

#: Gompertz primary and colonies of Iwata et al. (2000): a = 0.00286/day, plateau 7.3e10
#: cells (7.3e4 mm³ at 1e6 cells/mm³); the primary starts from one cell
PRIMARY = {"initial_volume": 1.0e-6, "growth_rate": 0.00286, "carrying_capacity": 7.3e4}
#: seeding beta = m N^alpha (N in cells): Iwata's alpha, a tenth of their m
SEEDING_PER_CELL = 5.3e-9
SEEDING_EXPONENT = 0.663
SURGERY_DAY = 700.0
ADJUVANT_KILL = 1.5
ADJUVANT_CYCLES = 6


def build_micrometastases(quick: bool) -> tuple[Any, list[str]]:
    import matplotlib.pyplot as plt

    try:
        from tgsim.metastasis import MetastasisModel, metastatic_spread
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise Unavailable(f"tgsim.metastasis is not available ({exc})") from None
    from tgsim.observe import sphere_diameter
    from tgsim.plot import colony_classes
    from tgsim.treatment import Chemotherapy, Surgery

    model = MetastasisModel.from_cells(SEEDING_PER_CELL, SEEDING_EXPONENT, extinction_cells=1.0)
    t = np.linspace(0.0, 2200.0, 221 if quick else 881)
    opts = dict(primary_points=501, age_points=1025, birth_points=120) if quick else \
        dict(primary_points=2001, age_points=4097, birth_points=400)
    surgery = Surgery(SURGERY_DAY, 0.999)
    chemo_days = SURGERY_DAY + 28.0 + 21.0 * np.arange(ADJUVANT_CYCLES)
    arms = (("surgery alone", [surgery]),
            ("surgery + adjuvant chemotherapy",
             [surgery, Chemotherapy(chemo_days, 1.0, 1.0, ADJUVANT_KILL)]))
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        for _, sched in arms:
            results.append(metastatic_spread("gompertz", model, times=t, params=PRIMARY,
                                             schedule=sched, **opts))
    fig = plt.figure(figsize=(11.0, 7.0), layout="constrained")
    gs = fig.add_gridspec(2, 2)
    axes = [fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1]), fig.add_subplot(gs[1, :])]
    i_s = int(np.argmin(np.abs(t - SURGERY_DAY)))
    d_primary = float(sphere_diameter(results[0]["primary_volume"].values[0, i_s - 1]))
    for ax, letter, (name, _), res in zip(axes[:2], "ab", arms, results, strict=True):
        colony_classes(res, ax=ax, events={"surgery": SURGERY_DAY}, floor=1e-3, title=name)
        if "adjuvant" in name:
            ax.axvspan(chemo_days[0], chemo_days[-1] + 21.0, color="C2", alpha=0.12, lw=0)
            ax.annotate("chemotherapy", xy=(chemo_days[-1] + 21.0, 0.98),
                        xycoords=("data", "axes fraction"), ha="left", va="top",
                        fontsize=8, color="C2", xytext=(3, 0), textcoords="offset points")
        ax.set_xlim(300.0, t[-1])
        ax.set_ylim(1e-3, 50.0)
        panel_label(ax, letter)
        if letter == "b":
            ax.get_legend().remove()
    c = axes[2]
    for k, ((name, _), res) in enumerate(zip(arms, results, strict=True)):
        p = res["p_detectable"].values[0]
        c.plot(t, 1.0 - p, lw=2, color=f"C{k}", label=name)
    c.axvline(SURGERY_DAY, color=GREY, lw=1, ls=":")
    c.set_xlim(300.0, t[-1])
    c.set_ylim(0.0, 1.02)
    c.set_xlabel("time (day)")
    c.set_ylabel("P(no detectable metastasis)")
    c.set_title("Metastasis-free probability: P(no colony above 5 mm) = exp(−expected number)")
    c.legend(frameon=False, loc="lower left")
    panel_label(c, "c")
    n0 = results[0]["colonies"].values[0, i_s]
    det0 = float(results[0]["detectable"].values[0, i_s])
    total0 = float(n0.sum())
    end = [float(r["p_detectable"].values[0, -1]) for r in results]
    surv = float(results[1]["colonies"].values[0, -1].sum())
    notes = [
        f"At surgery (day {SURGERY_DAY:g}, primary {d_primary:.0f} mm): expected colonies "
        f"ITC {n0[0]:.2f}, micrometastases {n0[1]:.2f}, macrometastases {n0[2]:.2f}; "
        f"detectable {det0:.3f}; P(at least one colony) = {1 - math.exp(-total0):.2f}.",
        f"P(detectable metastasis by day {t[-1]:g}): surgery alone {end[0]:.2f}, with "
        f"adjuvant chemotherapy {end[1]:.2f} ({surv:.2f} colonies survive of "
        f"{total0:.2f}).",
    ]
    return fig, notes


MICROMETASTASES = Entry(
    slug="micrometastases",
    title="Hidden micrometastases at surgery, and adjuvant therapy",
    text="""\
A primary tumour seeds metastatic colonies long before it is found. Here it grows by the
Gompertz law fitted by Iwata et al. to a hepatocellular carcinoma and emits colonies at
a rate β = m N^α (N its number of cells, α = 0.663, m a tenth of their value); each
colony starts from one cell and grows by the same law. The method of characteristics
gives the *expected* number of colonies in each size class of the AJCC staging manual:
isolated tumour cells (≤ 0.2 mm), micrometastases (0.2 to 2 mm) and macrometastases
(> 2 mm), and of colonies large enough to be seen on imaging (> 5 mm, dashed).

At surgery (day 700, primary about 17 mm) the expected number of colonies is about one,
almost all of them isolated cells or micrometastases: no scan can show them, and the
patient looks disease-free. The number of colonies in a patient is Poisson, so the
chance that none was seeded is exp(−expected number). Removing the primary stops the
seeding, but the colonies already there keep growing and become detectable months to
years later (panel **a**): a relapse. Adjuvant chemotherapy given after surgery (panel
**b**, six 21-day cycles, log-kill) meets these colonies when they are smallest; colonies
reduced below one cell are eradicated, so fewer colonies survive and the metastasis-free
probability rises (panel **c**), but the largest micrometastases survive and regrow.

This deterministic picture ignores the randomness of the first few cells, drug
resistance and dormancy, all of which matter in patients; the stochastic mode of
``tgsim.metastasis`` follows individual colonies.""",
    build=build_micrometastases,
    references=(
        "Iwata K, Kawasaki K, Shigesada N. A dynamical model for the growth and size "
        "distribution of multiple metastatic tumors. J Theor Biol 2000;203(2):177-186.",
        "Benzekry S, Tracz A, Mastri M, et al. Modeling spontaneous metastasis following "
        "surgery: an in vivo-in silico approach. Cancer Res 2016;76(3):535-547.",
        "Amin MB, Edge SB, Greene FL, et al. (eds). AJCC Cancer Staging Manual, 8th ed. "
        "Springer, 2017.",
    ),
)
