"""Gallery: log-kill vs Norton-Simon, radiotherapy fractionation, resistance to a drug."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tgsim.errors import TgsimWarning

from ._base import Entry, panel_label

GREY = "#7F7F7F"


def _sim(model: str, t: np.ndarray, params: dict[str, float], schedule: Any = None):
    from tgsim.simulation import simulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        return simulate(model, t, params, schedule=schedule)


# ------------------------------------------------------------ log-kill vs Norton-Simon
NS_GROWTH = {"growth_rate": 0.01, "carrying_capacity": 5.0e4}
NS_KILL = {"log-kill": 0.8, "norton-simon": 20.0}
NS_CYCLES = 6


def build_kill(quick: bool) -> tuple[Any, list[str]]:
    import matplotlib.pyplot as plt

    from tgsim.treatment import Chemotherapy

    t = np.linspace(0.0, 200.0, 401 if quick else 1601)
    arms = (
        ("log-kill, every 21 days", "log-kill", 21.0, "C0", "-"),
        ("Norton-Simon, every 21 days", "norton-simon", 21.0, "C1", "-"),
        ("Norton-Simon, dose-dense (every 14 days)", "norton-simon", 14.0, "C1", "--"),
    )
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained", sharey=True)
    notes = []
    for ax, v0, letter, what in zip(axes, (100.0, 1.0e4), "ab",
                                    ("Small tumour", "Large tumour near its plateau"),
                                    strict=True):
        p = {"initial_volume": v0, **NS_GROWTH}
        u = _sim("gompertz", t, p)["volume"].values[0]
        ax.plot(t, u, color=GREY, lw=1.5, label="untreated")
        mins = []
        for lab, hyp, every, col, ls in arms:
            days = np.arange(NS_CYCLES) * every
            sched = [Chemotherapy(days, 1.0, 1.0, NS_KILL[hyp], hypothesis=hyp)]
            v = _sim("gompertz", t, p, sched)["volume"].values[0]
            ax.plot(t, v, color=col, ls=ls, lw=2, label=lab)
            mins.append(f"{lab}: nadir {v.min():.3g} mm³")
        for d in np.arange(NS_CYCLES) * 21.0:
            ax.axvline(d, color=GREY, lw=0.5, alpha=0.4, zorder=0)
        ax.set_yscale("log")
        ax.set_xlabel("time (day)")
        ax.set_title(f"{what}: V₀ = {v0:g} mm³")
        panel_label(ax, letter)
        notes.append(f"V₀ = {v0:g} mm³: " + "; ".join(mins) + ".")
    axes[0].set_ylabel("tumour volume (mm³)")
    axes[0].set_ylim(1e-3, 2e5)
    axes[1].legend(frameon=False, loc="lower left")
    return fig, notes


KILL = Entry(
    slug="log-kill-vs-norton-simon",
    title="Log-kill or Norton-Simon: does a small tumour respond more?",
    text="""\
Both panels give six doses of the same drug (grey lines: 21-day cycles) to a Gompertz
tumour, dV/dt = g(V) = rV ln(K/V), starting small (**a**, 100 mm³) or large and close
to its plateau (**b**, 10 000 mm³). The drug concentration C(t) decays after each dose
with a one-day half-life.

Under Skipper's **log-kill** hypothesis each dose kills the same *fraction* of cells
whatever the tumour size: dV/dt = g(V) − k C(t) V. Between doses, though, a Gompertz
tumour regrows fastest when it is small, so the small tumour never falls below half its
starting volume and keeps growing from cycle to cycle, while the large, slow-growing one
shrinks more than tenfold. Clinical experience runs the other
way: small-volume disease, as after surgery, is the most curable. Norton and Simon
proposed that the kill is proportional to the growth rate the tumour would have if
untreated: dV/dt = g(V)(1 − k C(t)). Small, fast-growing tumours then respond most (orange
in panel **a**: more than two orders of magnitude) and a tumour near its plateau least
(panel **b**). Their hypothesis also predicts
that a tumour that has shrunk regrows quickly between cycles, so giving the same doses
at shorter intervals deepens the response (dashed): the rationale of *dose-dense*
chemotherapy, which improved disease-free and overall survival in the CALGB 9741
adjuvant breast cancer trial.

The kill constants here are illustrative, chosen to make the two hypotheses comparable;
the shapes, not the numbers, are the point. Deterministic volumes far below one cell
(10⁻⁶ mm³) mean, in reality, eradication or a few surviving cells.""",
    build=build_kill,
    references=(
        "Skipper HE, Schabel FM, Wilcox WS. Experimental evaluation of potential anticancer "
        "agents XIII. On the criteria and kinetics associated with 'curability' of "
        "experimental leukemia. Cancer Chemother Rep 1964;35:1-111.",
        "Norton L, Simon R. Tumor size, sensitivity to therapy, and design of treatment "
        "schedules. Cancer Treat Rep 1977;61(7):1307-1317.",
        "Simon R, Norton L. The Norton-Simon hypothesis: designing more effective and less "
        "toxic chemotherapeutic regimens. Nat Clin Pract Oncol 2006;3(8):406-407.",
        "Citron ML, Berry DA, Cirrincione C, et al. Randomized trial of dose-dense versus "
        "conventionally scheduled and sequential versus concurrent combination chemotherapy "
        "as postoperative adjuvant treatment of node-positive primary breast cancer: first "
        "report of Intergroup Trial C9741/Cancer and Leukemia Group B Trial 9741. J Clin "
        "Oncol 2003;21(8):1431-1439.",
    ),
)


# ------------------------------------------------------------------- radiotherapy
RT_TUMOUR = {"initial_volume": 1.0e4, "growth_rate": 0.02}
RT_ALPHA, RT_BETA = 0.3, 0.03
RT_SCHEDULES = ((30, 2.0), (20, 3.0), (15, 4.0))
CELLS_PER_MM3 = 1.0e6


def bed(n: int, d: float, alpha_beta: float) -> float:
    """Biologically effective dose n d (1 + d / (alpha/beta)), Gy."""
    return n * d * (1.0 + d / alpha_beta)


def build_radiotherapy(quick: bool) -> tuple[Any, list[str]]:
    import matplotlib.pyplot as plt

    from tgsim.treatment import Radiotherapy, weekday_fractions

    t = np.linspace(0.0, 70.0, 281 if quick else 1121)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained",
                               gridspec_kw={"width_ratios": (1.6, 1.0)})
    notes = []
    for k, (n, d) in enumerate(RT_SCHEDULES):
        days = weekday_fractions(n, 0.0)
        sched = [Radiotherapy(days, d, alpha=RT_ALPHA, beta=RT_BETA)]
        v = _sim("exponential", t, RT_TUMOUR, sched)["volume"].values[0]
        a.plot(t, v, lw=1.8, color=f"C{k}", label=f"{n} × {d:g} Gy (over {days[-1]:g} days)")
        end = float(np.interp(days[-1] + 1e-6, t, v))
        sf = math.exp(-n * (RT_ALPHA * d + RT_BETA * d * d))
        notes.append(f"{n} × {d:g} Gy: surviving fraction from the fractions alone {sf:.2g}; "
                     f"{end * CELLS_PER_MM3:.2g} cells left after the last fraction (with "
                     f"regrowth); BED10 {bed(n, d, 10.0):.0f} Gy, BED3 {bed(n, d, 3.0):.0f} Gy.")
    a.axhline(1.0 / CELLS_PER_MM3, color=GREY, lw=0.8, ls=":")
    a.annotate("one cell (10⁻⁶ mm³)", xy=(t[0], 1.0 / CELLS_PER_MM3), ha="left",
               va="bottom", fontsize=8, color=GREY)
    a.set_yscale("log")
    a.set_ylim(1e-8, 1e5)
    a.set_xlabel("time (day)")
    a.set_ylabel("surviving tumour volume (mm³)")
    a.set_title("60 Gy in three fractionations (α/β = 10 Gy)")
    a.legend(frameon=False, loc="upper right")
    panel_label(a, "a")
    x = np.arange(len(RT_SCHEDULES))
    w = 0.38
    for j, (ab, lab, col) in enumerate(((10.0, "tumour (α/β = 10 Gy)", "C2"),
                                        (3.0, "late-responding tissue (α/β = 3 Gy)", "C3"))):
        vals = [bed(n, d, ab) for n, d in RT_SCHEDULES]
        bars = b.bar(x + (j - 0.5) * w, vals, width=w, color=col, label=lab)
        for rect, val in zip(bars, vals, strict=True):
            b.annotate(f"{val:.0f}", xy=(rect.get_x() + rect.get_width() / 2, val),
                       xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)
    b.set_xticks(x)
    b.set_xticklabels([f"{n} × {d:g} Gy" for n, d in RT_SCHEDULES])
    b.set_ylabel("biologically effective dose (Gy)")
    b.set_ylim(0, 175)
    b.set_title("Same physical dose, different BED")
    b.legend(frameon=False, loc="upper left")
    panel_label(b, "b")
    return fig, notes


RADIOTHERAPY = Entry(
    slug="radiotherapy-fractionation",
    title="Radiotherapy: the same dose in different fractions",
    text="""\
In the linear-quadratic (LQ) model a fraction of d Gy lets a fraction
SF = exp(−αd − βd²) of the clonogenic cells survive; n fractions give exp(−n(αd + βd²)).
Panel **a** delivers 60 Gy to a 10 000 mm³ tumour (about 10¹⁰ cells at 10⁶ cells per
mm³) growing with a 35-day doubling time, as 30 × 2 Gy, 20 × 3 Gy or 15 × 4 Gy on
weekdays. With α/β = 10 Gy, typical of tumours, larger fractions kill more per gray,
and the shorter schedules also leave less time for regrowth between fractions (the longer
flat steps are weekends without treatment).
On this logarithmic scale the curves go below one cell: in
reality the outcome is then a matter of chance, and tumour control is usually modelled
as the Poisson probability exp(−expected surviving cells).

Why fractionate at all? Panel **b** gives the biologically effective dose,
BED = nd(1 + d/(α/β)), which compares schedules. For the same physical dose the tumour's
BED rises modestly with fraction size, but that of late-responding normal tissues
(α/β ≈ 3 Gy: spinal cord, connective tissue, bowel) rises much faster, and late
toxicity follows it. Small fractions therefore spare late-responding tissue more than
they spare the tumour; schedules with larger fractions lower the total dose to keep the
late BED acceptable.

The model removes killed cells at once; real tumours shrink over weeks as dead cells are
cleared, so imaged volumes lag behind the surviving-cell curves. The LQ model is also
questioned for very large single doses (above roughly 8-10 Gy per fraction).""",
    build=build_radiotherapy,
    references=(
        "Fowler JF. The linear-quadratic formula and progress in fractionated radiotherapy. "
        "Br J Radiol 1989;62(740):679-694.",
        "Withers HR. The four R's of radiotherapy. Adv Radiat Biol 1975;5:241-271.",
    ),
)


# --------------------------------------------------------------------- resistance
RES_TUMOUR = {"initial_volume": 1.5e4, "growth_rate": 0.01}
RES_KILL = 0.03
RES_RATES = (0.0, 0.005, 0.01, 0.02)


def build_resistance(quick: bool) -> tuple[Any, list[str]]:
    import matplotlib.pyplot as plt

    from tgsim.clinical import recist
    from tgsim.observe import scan, sphere_diameter
    from tgsim.treatment import TargetedTherapy

    t = np.linspace(0.0, 560.0, 281 if quick else 1121)
    r, k = RES_TUMOUR["growth_rate"], RES_KILL
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained")
    notes = []
    for j, rho in enumerate(RES_RATES):
        sched = [TargetedTherapy(0.0, t[-1] + 1.0, k, resistance_rate=rho)]
        ds = _sim("exponential", t, RES_TUMOUR, sched)
        v = ds["volume"].values[0]
        col = f"C{j}"
        a.plot(t, sphere_diameter(v), color=col, lw=2,
               label=f"ρ = {rho:g}/day" + (" (no resistance)" if rho == 0 else ""))
        sc = scan(ds, every_days="8w")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TgsimWarning)
            tab = recist(sc).table
        pd_rows = tab.loc[tab["response"] == "PD"]
        if rho > 0:
            t_star = math.log(k / r) / rho
            a.axvline(t_star, color=col, lw=0.8, ls=":")
            b.plot(t, k * np.exp(-rho * t), color=col, lw=2, label=f"kill, ρ = {rho:g}/day")
            b.plot([t_star], [r], marker="o", color=col, ms=6)
        else:
            t_star = math.inf
            b.plot(t, np.full_like(t, k), color=col, lw=2, label="kill, ρ = 0")
        if len(pd_rows):
            d_pd = float(pd_rows["day"].iloc[0])
            a.plot([d_pd], [float(pd_rows["sum_mm"].iloc[0])], marker="X", color=col, ms=9,
                   mec="black", mew=0.6, ls="none")
            notes.append(f"ρ = {rho:g}/day: nadir at day {t_star:.0f}, RECIST PD first called at "
                         f"the day-{d_pd:g} scan.")
        else:
            notes.append(f"ρ = {rho:g}/day: no regrowth (nadir not reached), no PD.")
    a.plot([], [], marker="X", color="white", mec="black", ls="none", ms=9,
           label="RECIST PD (scans every 8 weeks)")
    a.set_xlabel("time on drug (day)")
    a.set_ylabel("sphere-equivalent diameter (mm)")
    a.set_title("Response, nadir (dotted) and regrowth")
    a.legend(frameon=False, loc="lower left", fontsize=7.5)
    a.set_ylim(0, 45)
    panel_label(a, "a")
    b.axhline(r, color="black", lw=1.5, ls="--", label="growth rate r")
    b.set_yscale("log")
    b.set_ylim(1e-3, 0.1)
    b.set_xlabel("time on drug (day)")
    b.set_ylabel("rate (1/day)")
    b.set_title("Kill k·e^(−ρt) against growth r")
    b.legend(frameon=False, loc="lower left", fontsize=7.5)
    panel_label(b, "b")
    return fig, notes


RESISTANCE = Entry(
    slug="targeted-resistance",
    title="Acquired resistance: a waning kill rate and the nadir",
    text="""\
A targeted drug is modelled here as a kill hazard on an exponentially growing tumour,
dV/dt = rV − k(t)V, with r = 0.01/day (a 69-day doubling time) and an initial kill
k = 0.03/day. If resistance develops, the kill wanes, k(t) = k e^(−ρt). The tumour
shrinks while the kill exceeds the growth rate and regrows once it falls below: the two
curves cross (panel **b**) at t* = ln(k/r)/ρ, which is the nadir of the tumour (dotted
lines in panel **a**). The faster the resistance (larger ρ), the earlier and shallower
the nadir.

RECIST 1.1 calls progression (crosses) when the sum of diameters is at least 20 % and
5 mm above its nadir, so radiological progression is declared months after the
biological turning point, and the delay depends on the scan interval. The waning-kill
description is phenomenological. Selection of a resistant subclone that was present
before treatment (the two-population card) produces the same U-shaped curves, and
tumour sizes alone rarely tell the two mechanisms apart.""",
    build=build_resistance,
    references=(
        "Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in "
        "solid tumours: revised RECIST guideline (version 1.1). Eur J Cancer "
        "2009;45(2):228-247.",
        "Stein WD, Gulley JL, Schlom J, et al. Tumor regression and growth rates determined "
        "in five intramural NCI prostate cancer trials: the growth rate constant as an "
        "indicator of therapeutic efficacy. Clin Cancer Res 2011;17(4):907-917.",
    ),
)
