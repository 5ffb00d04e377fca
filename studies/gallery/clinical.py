"""Gallery: hyperprogression, pseudoprogression, LI-RADS threshold growth, and
measurement error under RECIST."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tgsim.errors import TgsimWarning

from ._base import Entry, panel_label

GREY = "#7F7F7F"


def _sim(model: str, t: np.ndarray, params: dict[str, float], schedule: Any = None,
         t0: float | None = None):
    from tgsim.simulation import simulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        return simulate(model, t, params, schedule=schedule, t0=t0)


def _int(x: float) -> str:
    """A number rounded to an integer, without a negative zero."""
    return f"{round(x) + 0:d}"


# ------------------------------------------------------------------ hyperprogression
HPD_TUMOUR = {"initial_volume": float(math.pi / 6.0 * 30.0**3), "growth_rate": 0.01}
HPD_FACTOR = 4.0
HPD_SCANS = (-56.0, 0.0, 56.0)
HPD_DEFINITIONS = ("champiat2017", "ferrara2018", "kas2020", "saada-bouzid2017")


def build_hyperprogression(quick: bool) -> tuple[Any, list[str]]:
    import matplotlib.pyplot as plt

    from tgsim.clinical import hyperprogression
    from tgsim.observe import sphere_diameter
    from tgsim.treatment import Acceleration, Immunotherapy

    t = np.linspace(-56.0, 84.0, 141 if quick else 561)
    arms = (("growth unchanged by treatment", 1.0, "C0"),
            (f"growth × {HPD_FACTOR:g} from treatment start", HPD_FACTOR, "C1"))
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained",
                               gridspec_kw={"width_ratios": (1.3, 1.0)})
    a.axvspan(HPD_SCANS[0], HPD_SCANS[1], color=GREY, alpha=0.10, lw=0)
    a.axvspan(HPD_SCANS[1], HPD_SCANS[2], color="C2", alpha=0.10, lw=0)
    a.annotate("reference period\n(before treatment)", xy=(-28, 0.97),
               xycoords=("data", "axes fraction"), ha="center", va="top", fontsize=8)
    a.annotate("experimental period\n(on treatment)", xy=(28, 0.97),
               xycoords=("data", "axes fraction"), ha="center", va="top", fontsize=8)
    notes = []
    results = []
    for lab, factor, col in arms:
        sched = [Immunotherapy(0.0, t[-1] + 1.0, 0.0,
                               acceleration=Acceleration(onset_day=0.0, factor=factor))]
        ds = _sim("exponential", t, HPD_TUMOUR, sched, t0=t[0])
        d = np.asarray(sphere_diameter(ds["volume"].values[0]))
        a.plot(t, d, color=col, lw=2, label=lab)
        sd = np.asarray(HPD_SCANS)
        sdiam = np.interp(sd, t, d)
        a.plot(sd, sdiam, ls="none", marker="o", color=col, mec="black", ms=6)
        res = {name: hyperprogression(sd, sdiam, 0.0, name) for name in HPD_DEFINITIONS}
        results.append((lab, col, res))
        r0 = res["champiat2017"]
        verdicts = ", ".join(f"{n}: {'HPD' if res[n].hyperprogression else 'no HPD'}"
                             for n in HPD_DEFINITIONS)
        notes.append(f"{lab}: TGR {r0.tgr_ref:.0f} → {r0.tgr_exp:.0f} %/month (ratio "
                     f"{r0.tgr_ratio:.2f}, ΔTGR {_int(r0.delta_tgr)}); {verdicts}.")
    a.axvline(0.0, color="black", lw=1)
    a.set_ylim(0, None)
    a.set_xlabel("time (day)")
    a.set_ylabel("sum of diameters (mm)")
    a.set_title("Scans at −8, 0 and +8 weeks")
    a.legend(frameon=False, loc="lower right")
    panel_label(a, "a")
    x = np.arange(2)
    w = 0.36
    for j, (lab, col, res) in enumerate(results):
        r0 = res["champiat2017"]
        vals = [r0.tgr_ref, r0.tgr_exp]
        bars = b.bar(x + (j - 0.5) * w, vals, width=w, color=col, label=lab)
        for rect, val in zip(bars, vals, strict=True):
            b.annotate(f"{val:.0f}", xy=(rect.get_x() + rect.get_width() / 2, val),
                       xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)
        b.annotate(f"TGR ratio {r0.tgr_ratio:.1f}, ΔTGR {_int(r0.delta_tgr)} %/month",
                   xy=(0.02, 0.92 - 0.08 * j), xycoords="axes fraction", color=col,
                   fontsize=8)
    b.set_xticks(x)
    b.set_xticklabels(["reference\n(pre-baseline → baseline)",
                       "experimental\n(baseline → first evaluation)"])
    b.set_ylabel("tumour growth rate, TGR (% per month)")
    b.set_title("TGR before and after treatment")
    top = max(max(r[2]["champiat2017"].tgr_exp, r[2]["champiat2017"].tgr_ref) for r in results)
    b.set_ylim(0, top * 1.3)
    panel_label(b, "b")
    return fig, notes


HYPERPROGRESSION = Entry(
    slug="hyperprogression",
    title="Hyperprogression: the tumour growth rate before and after treatment",
    text="""\
Some patients' tumours seem to grow *faster* after starting immune checkpoint
inhibitors: hyperprogressive disease (HPD). Its definitions compare the growth rate
during treatment with the growth rate before it, so they need three scans: a
pre-baseline scan, the baseline scan at the start of treatment and the first
evaluation. Both tumours in panel **a** grow exponentially with a 69-day volume doubling
time before treatment; in one (orange) the growth rate is multiplied by four from the
start of treatment.

The tumour growth rate (TGR) of Ferté et al. turns the change of the sum of diameters D
between two scans into the percentage change of tumour *volume* per month, assuming
exponential growth and volume proportional to D³: TGR = 100 (exp(3 ln(D₂/D₁)/Δt) − 1),
with Δt in months. Panel **b** gives the TGR of the reference period (pre-baseline to
baseline) and of the experimental period (baseline to first evaluation). Champiat et al.
call HPD when RECIST progression at the first evaluation comes with a TGR ratio of at
least 2; Ferrara et al. ask for a TGR difference above 50 % per month; Kas et al. above
100 %; Saâda-Bouzid et al. use the ratio of the change of the sum of diameters per
month (TGK) instead. These definitions often disagree on the same patient, and they
cannot be applied without a pre-baseline scan. A ratio of two growth rates measured
from single pairs of scans is also sensitive to measurement error, especially when the
tumour was growing slowly before treatment.""",
    build=build_hyperprogression,
    references=(
        "Ferté C, Fernandez M, Hollebecque A, et al. Tumor growth rate is an early indicator "
        "of antitumor drug activity in phase I clinical trials. Clin Cancer Res "
        "2014;20(1):246-252.",
        "Champiat S, Dercle L, Ammari S, et al. Hyperprogressive disease is a new pattern of "
        "progression in cancer patients treated by anti-PD-1/PD-L1. Clin Cancer Res "
        "2017;23(8):1920-1928.",
        "Saâda-Bouzid E, Defaucheux C, Karabajakian A, et al. Hyperprogression during "
        "anti-PD-1/PD-L1 therapy in patients with recurrent and/or metastatic head and neck "
        "squamous cell carcinoma. Ann Oncol 2017;28(7):1605-1611.",
        "Ferrara R, Mezquita L, Texier M, et al. Hyperprogressive disease in patients with "
        "advanced non-small cell lung cancer treated with PD-1/PD-L1 inhibitors or with "
        "single-agent chemotherapy. JAMA Oncol 2018;4(11):1543-1552.",
        "Kas B, Talbot H, Ferrara R, et al. Clarification of definitions of hyperprogressive "
        "disease during immunotherapy for non-small cell lung cancer. JAMA Oncol "
        "2020;6(7):1039-1046.",
    ),
)


# ------------------------------------------------------------------ pseudoprogression
PSEUDO_TUMOUR = {"initial_volume": 1.4e4, "growth_rate": 0.01}


def build_pseudoprogression(quick: bool) -> tuple[Any, list[str]]:
    import matplotlib.pyplot as plt

    from tgsim.clinical import assess_pseudoprogression
    from tgsim.plot import pseudoprogression
    from tgsim.treatment import Immunotherapy, Swelling

    t = np.linspace(0.0, 294.0, 148 if quick else 589)
    cases = (
        ("Pseudoprogression: the tumour responds", 0.025, Swelling(0.10, 0.03)),
        ("True progression: the tumour grows", 0.0, Swelling(0.02, 0.03)),
    )
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.6), layout="constrained")
    notes = []
    for ax, letter, (title, kill, sw) in zip(axes, "ab", cases, strict=True):
        sched = [Immunotherapy(0.0, t[-1] + 1.0, kill, swelling=sw)]
        ds = _sim("exponential", t, PSEUDO_TUMOUR, sched)
        assessment = assess_pseudoprogression(ds, every_days="6w")
        pseudoprogression(assessment, ax=ax, title=title)
        if letter == "b":
            ax.get_legend().remove()
        panel_label(ax, letter, dy=32)
        cats = ax.tgsim_categories
        notes.append(f"{title}: RECIST " + ", ".join(cats["recist"].iloc[1:]) + "; iRECIST "
                     + ", ".join(cats["irecist"].iloc[1:]) + ".")
    return fig, notes


PSEUDO = Entry(
    slug="pseudoprogression",
    title="Pseudoprogression or true progression, through RECIST and iRECIST eyes",
    text="""\
Under immune checkpoint inhibitors a tumour can look bigger on the first scans while it
is in fact responding: immune cells and oedema infiltrate the lesion. Here the observed
size is the tumour plus a swelling compartment S, dS/dt = a V − c S while the drug is
given (dashed lines); the solid lines are the tumour itself, drawn as sphere-equivalent
diameters. Scans every 6 weeks (dots) are read by two rule sets, whose calls are printed
above each panel (BL = baseline).

**RECIST 1.1** calls progression (PD) when the sum of diameters is at least 20 % and
5 mm above its nadir (orange ticks give that threshold at each scan; the dotted line is
the 30 % decrease needed for partial response). In panel **a** the swelling crosses it
at 6 weeks, so RECIST calls PD and treatment would normally stop (later calls in grey)
although the tumour was shrinking all along. **iRECIST** calls the first progression
*unconfirmed* (iUPD): a clinically stable patient may continue treatment, and
progression is confirmed (iCPD) only if the next assessment, 4 to 8 weeks later, shows
further growth (for target lesions, at least 5 mm more in the sum). In panel **a** the
next scan is back below the threshold, the status resets to stable disease (iSD) and
partial response (iPR) follows. In panel **b** the tumour really grows: iUPD is
confirmed as iCPD at the next scan, 6 weeks after RECIST would have stopped treatment.
Pseudoprogression is uncommon (reported in under 10 % of patients in most series), so
iRECIST buys certainty at the price of a few weeks on an ineffective drug for the many
true progressors.""",
    build=build_pseudoprogression,
    references=(
        "Seymour L, Bogaerts J, Perrone A, et al. iRECIST: guidelines for response criteria "
        "for use in trials testing immunotherapeutics. Lancet Oncol 2017;18(3):e143-e152.",
        "Wolchok JD, Hoos A, O'Day S, et al. Guidelines for the evaluation of immune therapy "
        "activity in solid tumors: immune-related response criteria. Clin Cancer Res "
        "2009;15(23):7412-7420.",
        "Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in "
        "solid tumours: revised RECIST guideline (version 1.1). Eur J Cancer "
        "2009;45(2):228-247.",
    ),
)


# -------------------------------------------------------------- LI-RADS threshold growth
TG_D0_MM = 10.0
TG_DOUBLING_DAYS = (60.0, 100.0, 150.0)
TG_ERROR_SD_MM = 1.0


def critical_doubling_time(window_days: float | None = None, fraction: float = 0.5) -> float:
    r"""Volume doubling time (days) below which exponential growth meets threshold growth:
    :math:`T_d^* = w \ln 2 / (3 \ln(1 + f))` (w = 6 months, f = 50 %)."""
    from tgsim.clinical.threshold import THRESHOLD_GROWTH_WINDOW_DAYS

    w = THRESHOLD_GROWTH_WINDOW_DAYS if window_days is None else window_days
    return w * math.log(2.0) / (3.0 * math.log1p(fraction))


def build_threshold(quick: bool) -> tuple[Any, list[str]]:
    import matplotlib.pyplot as plt

    from tgsim.clinical import DAYS_PER_MONTH, threshold_growth
    from tgsim.clinical.threshold import THRESHOLD_GROWTH_WINDOW_DAYS
    from tgsim.observe import AdditiveError

    every = 3.0 * DAYS_PER_MONTH
    scans = np.arange(9) * every
    t = np.linspace(0.0, scans[-1], 200)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained")
    notes = []
    for j, dt in enumerate(TG_DOUBLING_DAYS):
        d = TG_D0_MM * 2.0 ** (t / (3.0 * dt))
        ds = TG_D0_MM * 2.0 ** (scans / (3.0 * dt))
        flags = threshold_growth(scans, ds)
        col = f"C{j}"
        a.plot(t / DAYS_PER_MONTH, d, color=col, lw=2, label=f"volume doubling time {dt:g} d")
        a.plot(scans / DAYS_PER_MONTH, ds, ls="none", marker="o", color=col, ms=5)
        if flags.any():
            a.plot(scans[flags] / DAYS_PER_MONTH, ds[flags], ls="none", marker="*", ms=13,
                   color=col, mec="black", mew=0.6)
            first = float(scans[flags][0] / DAYS_PER_MONTH)
            notes.append(f"Doubling time {dt:g} d: threshold growth first met at month "
                         f"{first:.0f}.")
        else:
            notes.append(f"Doubling time {dt:g} d: never meets threshold growth, although the "
                         f"observation reaches {ds[-1]:.0f} mm.")
    a.plot([], [], ls="none", marker="*", ms=12, color="white", mec="black",
           label="threshold growth (≥ 50 % in ≤ 6 months)")
    a.set_yscale("log")
    a.set_yticks([10, 20, 50, 100, 200])
    a.set_yticklabels(["10", "20", "50", "100", "200"])
    a.set_xlabel("time (months)")
    a.set_ylabel("observation size (mm, log scale)")
    a.set_title("Three observations, scanned every 3 months")
    a.legend(frameon=False, loc="upper left")
    panel_label(a, "a")
    crit = critical_doubling_time()
    dts = np.linspace(40.0, 200.0, 81 if quick else 321)
    n = 400 if quick else 4000
    err = AdditiveError(TG_ERROR_SD_MM)
    rng = np.random.default_rng(2024)
    pair = np.array([0.0, THRESHOLD_GROWTH_WINDOW_DAYS])
    true2 = TG_D0_MM * 2.0 ** (THRESHOLD_GROWTH_WINDOW_DAYS / (3.0 * dts))
    truth = np.stack([np.full_like(dts, TG_D0_MM), true2], axis=-1)
    meas = err.apply(np.broadcast_to(truth, (n, *truth.shape)), rng)
    p_err = threshold_growth(pair, meas).any(axis=-1).mean(axis=0)
    p_true = threshold_growth(pair, truth).any(axis=-1)
    b.plot(dts, p_true.astype(float), color="black", lw=2, drawstyle="steps-mid",
           label="true sizes")
    b.plot(dts, p_err, color="C3", lw=2, label=f"measured (SD {TG_ERROR_SD_MM:g} mm per scan)")
    b.axvline(crit, color=GREY, lw=1, ls=":")
    b.annotate(f"{crit:.0f} days", xy=(crit, 0.5), xytext=(4, 0), textcoords="offset points",
               fontsize=8, color=GREY)
    b.set_xlabel("volume doubling time (day)")
    b.set_ylabel("probability threshold growth is called")
    b.set_title(f"{TG_D0_MM:g} mm observation, two scans 6 months apart")
    b.set_ylim(-0.03, 1.03)
    b.legend(frameon=False, loc="upper right")
    panel_label(b, "b")
    i = int(np.argmin(np.abs(dts - crit)))
    notes.append(f"Critical doubling time {crit:.1f} days; with {TG_ERROR_SD_MM:g} mm error "
                 f"the call near it is a coin toss (P = {p_err[i]:.2f} at {dts[i]:.0f} days).")
    return fig, notes


THRESHOLD = Entry(
    slug="threshold-growth",
    title="LI-RADS threshold growth is a rate, not a size",
    text="""\
In LI-RADS v2018 (and the EASL guidelines) *threshold growth*, a size increase of a
liver observation by at least 50 % in at most 6 months, is one of the major imaging
features of hepatocellular carcinoma in patients at risk. On a diameter, ×1.5 means
×3.4 in volume. Under exponential growth the ratio over any 6-month window is the same,
so the rule is met exactly when the volume doubling time is shorter than
6 months × ln 2 / (3 ln 1.5) ≈ 104 days.

Panel **a** follows three 10 mm observations scanned every 3 months; on its logarithmic
axis exponential growth is a straight line and the criterion is one on its slope. The
fastest
(volume doubling time 60 days) grows by 42 % in 3 months, not enough, but meets the
criterion at 6 months and at every later scan; the one with a 100-day doubling time,
just under the critical value, meets it barely (×1.52), and only when scans 6 months
apart are compared; the slowest (150 days) never meets it, however large it becomes.
Panel **b** shows, for a 10 mm observation scanned twice 6
months apart, how measurement error of 1 mm per scan blurs the cut-off: near 104 days
the call is close to a coin toss. Sizes should be measured on the same imaging phase
and sequence each time, since differences between phases add to this error.""",
    build=build_threshold,
    references=(
        "American College of Radiology. CT/MRI LI-RADS v2018 Core. ACR, 2018.",
        "European Association for the Study of the Liver. EASL Clinical Practice Guidelines: "
        "management of hepatocellular carcinoma. J Hepatol 2018;69(1):182-236.",
        "Chernyak V, Fowler KJ, Kamaya A, et al. Liver Imaging Reporting and Data System "
        "(LI-RADS) version 2018: imaging of hepatocellular carcinoma in at-risk patients. "
        "Radiology 2018;289(3):816-830.",
    ),
)


# ---------------------------------------------------------------- measurement error
ME_BASELINE_MM = 30.0
ME_TRUE_CHANGES = (-0.25, 0.0, 0.12)
ME_SDS = (0.5, 1.0, 2.0, 3.0, 4.0)
ME_HIST_SD = 2.0


def _pct(change: float) -> str:
    """A relative change as signed percent text ("change −25 %", "no change")."""
    if change == 0:
        return "change 0 %"
    return f"change {100 * change:+.0f} %".replace("-", "−")


def _measured_calls(true_change: float, sd: float, n: int, seed: int):
    """Measured % change and RECIST call at one follow-up, n independent readings."""
    import xarray as xr

    from tgsim.clinical import recist
    from tgsim.observe import AdditiveError, scan, sphere_volume

    d = np.array([ME_BASELINE_MM, ME_BASELINE_MM * (1.0 + true_change)])
    ds = xr.Dataset({"volume": (("subject", "time"), np.tile(sphere_volume(d), (n, 1)))},
                    coords={"subject": np.arange(n), "time": [0.0, 56.0]})
    sc = scan(ds, days=[0.0, 56.0], error=AdditiveError(sd), seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        tab = recist(sc).table
    follow = tab.loc[tab["day"] == 56.0]
    return (follow["change_from_baseline_pct"].to_numpy(float),
            follow["response"].astype(str).to_numpy())


def build_measurement(quick: bool) -> tuple[Any, list[str]]:
    import matplotlib.pyplot as plt

    n = 300 if quick else 3000
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained")
    notes = []
    bins = np.linspace(-60, 50, 45)
    top = 0.0
    for j, ch in enumerate(ME_TRUE_CHANGES):
        pct, _ = _measured_calls(ch, ME_HIST_SD, n, seed=11 + j)
        counts, _, _ = a.hist(pct, bins=bins, histtype="step", lw=2, color=f"C{j}",
                              label=f"true {_pct(ch)}")
        top = max(top, float(np.max(counts)))
        a.axvline(100 * ch, color=f"C{j}", lw=1, ls=":")
    for x, lab in ((-30.0, "PR"), (20.0, "PD")):
        a.axvline(x, color="black", lw=1, ls="--")
        a.annotate(lab, xy=(x, 0.86), xycoords=("data", "axes fraction"), ha="right",
                   va="top", fontsize=8, xytext=(-3, 0), textcoords="offset points")
    a.set_xlabel("measured change of the diameter from baseline (%)")
    a.set_ylabel("number of readings")
    a.set_title(f"{ME_BASELINE_MM:g} mm lesion, SD {ME_HIST_SD:g} mm per measurement")
    a.set_ylim(0, 1.3 * top)
    a.legend(frameon=False, loc="upper center", ncol=3, fontsize=7.5)
    panel_label(a, "a")
    for j, ch in enumerate(ME_TRUE_CHANGES):
        true_call = "PR" if ch <= -0.3 else ("PD" if ch >= 0.2 else "SD")
        wrong = []
        for k, sd in enumerate(ME_SDS):
            _, calls = _measured_calls(ch, sd, n, seed=101 + 10 * j + k)
            wrong.append(float(np.mean(calls != true_call)))
        b.plot(ME_SDS, wrong, marker="o", lw=2, color=f"C{j}",
               label=f"true {_pct(ch)} (truly {true_call})")
        notes.append(f"True {_pct(ch)}: a call other than {true_call} in "
                     + ", ".join(f"{100 * w:.0f} %" for w in wrong)
                     + " of readings for measurement SD "
                     + ", ".join(f"{s:g}" for s in ME_SDS) + " mm.")
    b.set_xlabel("measurement SD per scan (mm)")
    b.set_ylabel("fraction of readings with a different category")
    b.set_title("How often the RECIST category flips")
    b.set_ylim(0, 0.6)
    b.legend(frameon=False, loc="upper left")
    panel_label(b, "b")
    return fig, notes


MEASUREMENT = Entry(
    slug="measurement-error",
    title="Measurement error flips RECIST categories",
    text="""\
RECIST thresholds are applied to *measured* diameters, and the same lesion measured by
two readers, or twice by one, differs by a few millimetres. Here a single 30 mm target
lesion is measured at baseline and at one follow-up, each time with an independent
normal error. Panel **a** shows the spread of the measured change for three tumours
whose true change is −25 %, 0 % and +12 % (all truly stable disease) when the
measurement error has an SD of 2 mm: the measured change then has an SD of about
100 × √2 × 2 / 30 ≈ 9 percentage points, enough to push a tumour across the −30 %
(partial response) or +20 % (progression) lines.

Panel **b** gives how often the category read differs from the true one as the error
grows. Tumours close to a threshold flip most often: with an SD of 2 mm about a quarter
of the readings of the lesion that truly shrank by 25 % call a partial response, and
about a fifth of those of the lesion that grew by 12 % call progression.
The sum of several target lesions dilutes independent errors
relative to the sum; a single small lesion is the worst case. Consistent readers,
the same scanner and protocol, and confirmation of responses at a later scan all
reduce the problem.""",
    build=build_measurement,
    references=(
        "Erasmus JJ, Gladish GW, Broemeling L, et al. Interobserver and intraobserver "
        "variability in measurement of non-small-cell lung cancer lesions: implications "
        "for assessment of tumor response. J Clin Oncol 2003;21(13):2574-2582.",
        "Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in "
        "solid tumours: revised RECIST guideline (version 1.1). Eur J Cancer "
        "2009;45(2):228-247.",
    ),
)
