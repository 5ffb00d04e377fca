"""Gallery: the classic growth laws, and the doubling time along a Gompertz curve."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._base import Entry, panel_label

#: the shared start: 10 mm³ growing at 10 % per day, plateau 2000 mm³
V0, RATE0, K = 10.0, 0.10, 2000.0


def classic_params() -> dict[str, dict[str, float]]:
    """Parameters giving the three laws the same V0 and the same initial specific rate."""
    return {
        "exponential": {"initial_volume": V0, "growth_rate": RATE0},
        "logistic": {"initial_volume": V0, "growth_rate": RATE0 / (1.0 - V0 / K),
                     "carrying_capacity": K},
        "gompertz": {"initial_volume": V0, "growth_rate": RATE0 / math.log(K / V0),
                     "carrying_capacity": K},
    }


def build_laws(quick: bool) -> tuple[Any, list[str]]:
    import matplotlib.pyplot as plt

    from tgsim.plot import phase_plot
    from tgsim.simulation import simulate

    t = np.linspace(0.0, 150.0, 151 if quick else 601)
    params = classic_params()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained")
    out = {}
    for k, (name, p) in enumerate(params.items()):
        ds = simulate(name, t, p)
        v = ds["volume"].values[0]
        out[name] = v
        a.plot(t, v, lw=2, color=f"C{k}", label=ds.attrs["model_title"])
    a.axhline(K, color="#7F7F7F", lw=0.8, ls=":")
    a.annotate("carrying capacity K", xy=(150, K), ha="right", va="bottom", fontsize=8,
               color="#7F7F7F")
    for name, frac, lab, off, ha in (("logistic", 0.5, "K/2", (-8, 6), "right"),
                                     ("gompertz", 1 / math.e, "K/e", (8, -12), "left")):
        k = list(params).index(name)
        ti = float(np.interp(frac * K, out[name], t))
        a.plot([ti], [frac * K], marker="o", color=f"C{k}", ms=6)
        a.annotate(f"inflection at {lab}", xy=(ti, frac * K), xytext=off, ha=ha,
                   textcoords="offset points", fontsize=8, color=f"C{k}")
    a.set_yscale("log")
    a.set_ylim(5, 2e4)
    a.set_xlabel("time (day)")
    a.set_ylabel("tumour volume (mm³)")
    a.set_title("Same start, same initial growth rate")
    a.legend(frameon=False, loc="lower right")
    panel_label(a, "a")
    phase_plot(list(params), params=params, volumes=np.geomspace(V0, 0.999 * K, 300),
               specific=True, ax=b, title="Why Gompertz slows down early")
    b.set_ylim(0, 0.12)
    b.set_xscale("log")
    b.legend(frameon=False, loc="lower left")
    panel_label(b, "b")
    i7 = int(np.argmin(np.abs(t - 7.0)))
    i30 = int(np.argmin(np.abs(t - 30.0)))
    notes = [
        f"Day 7: exponential {out['exponential'][i7]:.1f}, logistic {out['logistic'][i7]:.1f}, "
        f"Gompertz {out['gompertz'][i7]:.1f} mm³.",
        f"Day 30: exponential {out['exponential'][i30]:.0f}, logistic "
        f"{out['logistic'][i30]:.0f}, Gompertz {out['gompertz'][i30]:.0f} mm³.",
        f"Gompertz rate r = {params['gompertz']['growth_rate']:.4f}/day "
        f"(= 0.1 / ln(K/V0)); logistic r = {params['logistic']['growth_rate']:.4f}/day.",
    ]
    return fig, notes


LAWS = Entry(
    slug="growth-laws",
    title="Three classic growth laws from the same start, and why Gompertz slows down",
    text="""\
The three curves in panel **a** start from the same 10 mm³ tumour growing at the same
initial specific rate, 10 % per day (a time scale typical of mouse xenografts).
**Exponential** growth, dV/dt = rV, keeps that rate
for ever: the volume doubles every ln 2 / r ≈ 6.9 days and passes any plateau. The
**logistic** law, dV/dt = rV(1 − V/K), and the **Gompertz** law, dV/dt = rV ln(K/V), both
level off at the carrying capacity K = 2000 mm³, but in different ways. Over the first
week the three curves are almost indistinguishable; this is why a short series of
measurements cannot tell the laws apart even though their forecasts diverge widely.

Panel **b** shows why, through the specific growth rate (1/V) dV/dt, the fraction by
which the volume grows per day. For the logistic law it stays close to r until V is a
sizeable fraction of K and then falls linearly in V, so the sigmoid is symmetric, with
its steepest growth at K/2. For Gompertz it is r ln(K/V): it falls by the same amount for
every e-fold increase in volume (a straight line on the logarithmic volume axis), so the
slowdown is already under way when the tumour is small, and the steepest growth comes at
K/e ≈ 0.37 K. Equivalently, the Gompertz specific growth rate decays exponentially in
time, r ln(K/V₀) e^(−rt). Gompertzian deceleration describes many experimental and
clinical growth curves well. The biological explanations offered for it (a shrinking
proliferating fraction as the tumour outgrows its blood supply, hypoxia and necrosis in
the core, crowding) are interpretations: the law itself is empirical.""",
    build=build_laws,
    references=(
        "Laird AK. Dynamics of tumour growth. Br J Cancer 1964;18(3):490-502.",
        "Norton L. A Gompertzian model of human breast cancer growth. Cancer Res "
        "1988;48(24):7067-7071.",
        "Benzekry S, Lamont C, Beheshti A, et al. Classical mathematical models for "
        "description and prediction of experimental tumor growth. PLoS Comput Biol "
        "2014;10(8):e1003800.",
    ),
)


# ------------------------------------------------------------------ doubling time
GOMPERTZ_DT = {"initial_volume": 100.0, "growth_rate": 0.0015, "carrying_capacity": 1.0e5}
SCAN_EVERY_DAYS = 182.625  # 6 months


def build_doubling(quick: bool) -> tuple[Any, list[str]]:
    import matplotlib.pyplot as plt

    from tgsim.clinical import doubling_time
    from tgsim.simulation import simulate

    p = GOMPERTZ_DT
    t = np.linspace(0.0, 8 * SCAN_EVERY_DAYS, 201 if quick else 801)
    ds = simulate("gompertz", t, p)
    v = ds["volume"].values[0]
    r, k = p["growth_rate"], p["carrying_capacity"]
    with np.errstate(divide="ignore"):
        dt_inst = math.log(2.0) / (r * np.log(k / v))
    scans = np.arange(0.0, t[-1] + 1e-9, SCAN_EVERY_DAYS)
    vs = np.interp(scans, t, v)
    vdt = np.asarray(doubling_time(scans, vs), dtype=float)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained")
    a.plot(t, v, lw=2, color="C0", label="Gompertz tumour")
    a.plot(scans, vs, ls="none", marker="o", color="black", ms=5,
           label="scans every 6 months")
    a.axhline(k, color="#7F7F7F", lw=0.8, ls=":")
    a.annotate("plateau K", xy=(t[0], k), ha="left", va="bottom", fontsize=8, color="#7F7F7F")
    a.set_yscale("log")
    a.set_xlabel("time (day)")
    a.set_ylabel("tumour volume (mm³)")
    a.set_title("A Gompertz tumour, scanned regularly")
    a.legend(frameon=False, loc="lower right")
    panel_label(a, "a")
    b.plot(t, dt_inst, lw=2, color="C0", label="instantaneous: ln 2 / (r ln(K/V))")
    b.stairs(vdt, scans, lw=2, color="C1", baseline=None,
             label="measured between two scans:\nΔt ln 2 / ln(V₂/V₁)")
    b.set_yscale("log")
    ticks = [50, 100, 200, 500, 1000]
    b.set_yticks(ticks)
    b.set_yticklabels([str(x) for x in ticks])
    b.minorticks_off()
    b.set_ylim(45, 1100)
    b.set_xlabel("time (day)")
    b.set_ylabel("volume doubling time (day)")
    b.set_title("The doubling time is not a constant")
    b.legend(frameon=False, loc="upper left")
    panel_label(b, "b")
    notes = [
        "Measured doubling times between consecutive scans: "
        + ", ".join(f"{x:.0f}" for x in vdt) + " days.",
        f"Instantaneous doubling time {dt_inst[0]:.0f} days at {v[0]:g} mm³ and "
        f"{dt_inst[-1]:.0f} days at {v[-1]:.0f} mm³.",
    ]
    return fig, notes


DOUBLING = Entry(
    slug="doubling-time",
    title="The doubling time changes along a Gompertz curve",
    text="""\
The volume doubling time (VDT) of a tumour is usually computed from two scans as
VDT = Δt · ln 2 / ln(V₂/V₁) (Schwartz 1961), which assumes exponential growth between
them. For exponential growth it is a constant, ln 2 / r. For a Gompertz tumour,
dV/dt = rV ln(K/V), the instantaneous doubling time ln 2 / (r ln(K/V)) lengthens as the
tumour grows, slowly at first and without bound as V approaches the plateau K (panel
**b**, blue). A doubling time measured between two scans (orange steps) is an average
over the interval and follows the same drift.

So a VDT describes a tumour *at a given size and time*, not a fixed property of the
tumour: the same tumour measured early looks aggressive and measured late looks
indolent. Comparisons of doubling times between patients, or thresholds applied to
them, should be read with the sizes and intervals in mind. Because the VDT jumps from
+∞ to −∞ when growth stops, average the specific growth rate ln(V₂/V₁)/Δt rather than
doubling times over patients.""",
    build=build_doubling,
    references=(
        "Schwartz M. A biomathematical approach to clinical tumor growth. Cancer "
        "1961;14:1272-1294.",
        "Mehrara E, Forssell-Aronsson E, Ahlman H, Bernhardt P. Specific growth rate versus "
        "doubling time for quantitative characterization of tumor growth rate. Cancer Res "
        "2007;67(8):3970-3975.",
        "Laird AK. Dynamics of tumour growth. Br J Cancer 1964;18(3):490-502.",
    ),
)
