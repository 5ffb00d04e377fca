"""Growth, cohort, phase, fit, metastasis and pseudoprogression figures: content checks.

Each test checks what is drawn against an independent computation (closed forms,
formulas), the axis labels with units, and that every artist holds finite numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from plot_helpers import assert_finite, lines_with_gid

import tgsim.plot as tp
from tgsim.clinical import assess_pseudoprogression
from tgsim.errors import TgsimError
from tgsim.simulation import simulate
from tgsim.treatment import Immunotherapy, Swelling, TargetedTherapy

T = np.linspace(0.0, 60.0, 61)


@pytest.fixture(scope="module")
def exp_cohort():
    """Exponential growth, 8 subjects with growth rates 0.01 ... 0.08 per day."""
    r = np.linspace(0.01, 0.08, 8)
    return simulate("exponential", T, {"initial_volume": 10.0, "growth_rate": r}), r


def test_growth_curves_lines_band_and_labels(exp_cohort):
    ds, r = exp_cohort
    ax = tp.growth_curves(ds, max_lines=5, log=True)
    thin = [ln for ln in ax.lines if ln.get_linewidth() < 1.0]
    assert len(thin) == 5
    (med,) = [ln for ln in ax.lines if ln.get_label() == "median"]
    # median of V0 exp(r t) over the 8 rates = mean of the 4th and 5th curves
    want = 10.0 * 0.5 * (np.exp(r[3] * T) + np.exp(r[4] * T))
    np.testing.assert_allclose(med.get_ydata(), want, rtol=1e-6)
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].max() == pytest.approx(np.percentile(10 * np.exp(np.outer(r, T)), 95,
                                                           axis=0).max(), rel=1e-6)
    assert ax.get_xlabel() == "time (day)"
    assert ax.get_ylabel() == "tumour volume (mm³)"
    assert ax.get_yscale() == "log"
    assert_finite(ax)


def test_growth_curves_single_subject_draws_observed():
    sched = [Immunotherapy(0.0, 61.0, 0.02, swelling=Swelling(0.05, 0.1))]
    ds = simulate("exponential", T, {"initial_volume": 100.0, "growth_rate": 0.01},
                  schedule=sched)
    ax = tp.growth_curves(ds)
    labels = [ln.get_label() for ln in ax.lines]
    assert labels == ["tumour volume", "observed size (tumour + swelling)"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), ds["observed"].values[0])
    assert_finite(ax)
    with pytest.raises(TgsimError, match="variable"):
        tp.growth_curves(ds, variable="nope")


def _two_scenarios(exp_cohort):
    ds, _ = exp_cohort
    treated = simulate("exponential", T, {"initial_volume": 10.0,
                                          "growth_rate": np.linspace(0.01, 0.08, 8)},
                       schedule=[TargetedTherapy(10.0, 61.0, 0.05)])
    keep = ["volume"]
    return xr.concat([ds[keep], treated[keep]], dim="scenario").assign_coords(
        scenario=["untreated", "targeted"])


def test_spaghetti_by_scenario(exp_cohort):
    cohort = _two_scenarios(exp_cohort)
    ax = tp.spaghetti(cohort, max_lines=3)
    medians = [ln for ln in ax.lines if "median" in ln.get_label()]
    assert [m.get_label() for m in medians] == ["untreated (median, n=8)",
                                                "targeted (median, n=8)"]
    assert len([ln for ln in ax.lines if ln.get_linewidth() < 1.0]) == 6
    np.testing.assert_allclose(medians[0].get_ydata(),
                               np.median(cohort["volume"].values[0], axis=0))
    # targeted from day 10 with kill 0.05: slower than untreated after day 10
    assert medians[1].get_ydata()[-1] < medians[0].get_ydata()[-1]
    assert len(ax.collections) == 2
    assert ax.get_ylabel() == "tumour volume (mm³)"
    assert_finite(ax)
    # the growth_curves entry point delegates to spaghetti for a scenario dim
    ax2 = tp.growth_curves(cohort, max_lines=3)
    assert len(ax2.lines) == len(ax.lines)
    with pytest.raises(TgsimError, match="not a scenario"):
        tp.spaghetti(cohort, scenarios=["nope"])


def test_spaghetti_on_a_simulated_cohort():
    from tgsim.cohort.simulate import simulate_cohort
    from tgsim.cohort.virtual import LogNormal

    pop = {"initial_volume": LogNormal(median=50.0, cv=0.3),
           "growth_rate": LogNormal(median=0.03, cv=0.3)}
    ds = simulate_cohort("exponential", T, pop, 12, seed=3,
                         scenarios={"none": None,
                                    "drug": [TargetedTherapy(0.0, 61.0, 0.04)]})
    ax = tp.spaghetti(ds, log=True)
    assert {ln.get_label() for ln in ax.lines if "median" in ln.get_label()} == {
        "none (median, n=12)", "drug (median, n=12)"}
    assert_finite(ax)


@pytest.mark.parametrize("name", ["exponential", "logistic", "gompertz", "von_bertalanffy",
                                  "power_law"])
def test_growth_rate_matches_card_formulas(name):
    import tgsim

    mdl = tgsim.model(name)
    p = mdl.defaults()
    v = np.geomspace(0.5, 1500.0, 25)
    g = tp.growth_rate(name, v)
    want = {  # the published laws, written out independently of the cards
        "exponential": lambda: p["growth_rate"] * v,
        "logistic": lambda: p["growth_rate"] * v * (1 - v / p["carrying_capacity"]),
        "gompertz": lambda: p["growth_rate"] * v * np.log(p["carrying_capacity"] / v),
        "von_bertalanffy": lambda: p["growth_rate"] * v ** p["exponent"] - p["loss_rate"] * v,
        "power_law": lambda: p["growth_rate"] * v ** p["exponent"],
    }
    np.testing.assert_allclose(g, want[name](), rtol=1e-12)


def test_growth_rate_is_the_slope_of_the_simulated_curve():
    p = {"initial_volume": 100.0, "growth_rate": 0.05, "carrying_capacity": 2000.0}
    h = 1e-4
    ds = simulate("gompertz", [0.0, h], p)
    fd = (ds["volume"].values[0, 1] - 100.0) / h
    assert tp.growth_rate("gompertz", [100.0], p)[0] == pytest.approx(fd, rel=1e-3)


def test_phase_plot_curves():
    ax = tp.phase_plot(["exponential", "gompertz"],
                       params={"gompertz": {"growth_rate": 0.05, "carrying_capacity": 1e3}},
                       volumes=np.geomspace(1, 999, 50), specific=True)
    assert [ln.get_label() for ln in ax.lines] == ["Exponential growth", "Gompertz growth"]
    v = ax.lines[1].get_xdata()
    np.testing.assert_allclose(ax.lines[1].get_ydata(), 0.05 * np.log(1e3 / v), rtol=1e-12)
    assert ax.get_ylabel() == "specific growth rate g(V)/V (1/day)"
    assert ax.get_xlabel() == "tumour volume V (mm³)"
    assert_finite(ax)
    with pytest.raises(TgsimError, match="one-state"):
        tp.phase_plot(["stein"])


def test_fit_plot_band_residuals():
    t = np.arange(0.0, 50.0, 7.0)
    y = 10 * np.exp(0.05 * t) * (1 + 0.1 * np.sin(t))
    tp_ = np.linspace(0, 50, 101)
    f = 10 * np.exp(0.05 * tp_)
    ax = tp.fit_plot(t, y, tp_, f, band=(0.8 * f, 1.2 * f), censored=t == 0)
    fig = ax.figure
    assert len(fig.axes) == 2
    res_ax = fig.axes[1]
    (pts,) = [ln for ln in res_ax.lines if ln.get_marker() == "o"]
    want = (y - 10 * np.exp(0.05 * t))[1:]
    np.testing.assert_allclose(pts.get_ydata(), want, rtol=1e-3, atol=1e-6)
    labels = [ln.get_label() for ln in ax.lines]
    assert labels == ["model", "data", "below detection limit"]
    assert ax.get_ylabel() == "tumour volume (mm³)"
    assert res_ax.get_xlabel() == "time (day)"
    assert_finite(ax)
    assert_finite(res_ax)
    with pytest.raises(TgsimError, match="one value per time"):
        tp.fit_plot(t, y[:-1])


def test_model_comparison_weights():
    crit = {"exponential": 110.0, "logistic": 102.0, "gompertz": 100.0, "failed": np.nan}
    ax = tp.model_comparison(crit)
    bars = [p for p in ax.patches if p.get_gid() == "akaike-weights"]
    w = {t.get_text(): b.get_width() for t, b in zip(ax.get_yticklabels(), bars, strict=True)}
    z = np.exp(-0.5 * np.array([10.0, 2.0, 0.0]))
    z /= z.sum()
    assert w == pytest.approx({"exponential": z[0], "logistic": z[1], "gompertz": z[2]},
                              rel=1e-12)
    assert sum(w.values()) == pytest.approx(1.0)
    assert any("not converged: failed" in t.get_text() for t in ax.texts)
    assert ax.get_xlabel() == "AIC weight"
    assert_finite(ax)


def test_profile_plot_interval_of_a_parabola():
    x = np.linspace(0.0, 2.0, 81)
    ax = tp.profile_plot(x, 4.0 * (x - 1.0) ** 2 + 7.0, parameter="growth rate",
                         unit="1/day")
    lo, hi = ax.tgsim_interval
    half = math.sqrt(3.841458820694124 / 4.0)  # chi2_1(0.95) / curvature
    assert lo == pytest.approx(1 - half, abs=2e-4) and hi == pytest.approx(1 + half, abs=2e-4)
    (thr,) = lines_with_gid(ax, "profile-threshold")
    assert thr.get_ydata()[0] == pytest.approx(3.841458820694124)
    assert ax.get_xlabel() == "growth rate (1/day)"
    assert_finite(ax)
    # a profile that never reaches the threshold: the interval is open on both sides
    ax = tp.profile_plot(x, -0.25 * x, kind="loglik")  # -2 log L = x / 2, at most 1
    assert np.isnan(ax.tgsim_interval).all()
    assert any("(open)" in t.get_text() for t in ax.get_legend().get_texts())


def _spread_dataset():
    """A hand-made spread result: counts grow over time; histogram in 4 bins."""
    t = np.array([0.0, 100.0, 200.0])
    colonies = np.array([[[0.0, 0.0, 0.0], [2.0, 0.5, 0.01], [1.0, 2.0, 1.5]]])
    hist = np.array([[[0.0, 0, 0, 0], [2.0, 0.5, 0.01, 0.0], [1.0, 2.0, 1.0, 0.5]]])
    edges = np.array([0.01, 0.2, 2.0, 5.0, 100.0])
    return xr.Dataset(
        {"colonies": (("subject", "time", "size_class"), colonies),
         "detectable": (("subject", "time"), [[0.0, 0.0, 0.5]]),
         "size_histogram": (("subject", "time", "size_bin"), hist)},
        coords={"subject": [0], "time": t,
                "size_class": ["ITC", "micrometastasis", "macrometastasis"],
                "bin_lower_mm": ("size_bin", edges[:-1]), "bin_upper_mm": ("size_bin", edges[1:])},
        attrs={"detection_limit_mm": 5.0, "itc_max_mm": 0.2, "micro_max_mm": 2.0,
               "mode": "deterministic"})


def test_colony_classes_and_histogram():
    ds = _spread_dataset()
    ax = tp.colony_classes(ds, events={"surgery": 150.0})
    labels = [ln.get_label() for ln in ax.lines]
    assert labels[:4] == ["isolated tumour cells (≤ 0.2 mm)", "micrometastases (0.2-2 mm)",
                          "macrometastases (> 2 mm)", "detectable (> 5 mm)"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1e-3, 0.5, 2.0])  # floored on log
    assert ax.get_ylabel() == "expected number of colonies"
    assert_finite(ax)
    ax = tp.colony_histogram(ds, times=[100, 200])
    steps = [p for p in ax.patches if type(p).__name__ == "StepPatch"]
    assert len(steps) == 2
    np.testing.assert_allclose(steps[1].get_data().values, [1.0, 2.0, 1.0, 0.5])
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "colony diameter (mm)"
    assert_finite(ax)
    with pytest.raises(TgsimError, match="metastatic_spread"):
        tp.colony_classes(ds.drop_vars("colonies"))


def test_colony_plot_on_a_spread_result():
    from tgsim.metastasis import MetastasisModel, metastatic_spread

    res = metastatic_spread("exponential",
                            MetastasisModel(seeding_rate=1e-3, seeding_exponent=1.0),
                            times=np.linspace(0, 200, 21),
                            params={"initial_volume": 10.0, "growth_rate": 0.02},
                            primary_points=201)
    ax = tp.plot(res)
    assert len(ax.lines) == 4
    assert_finite(ax)


def test_pseudoprogression_categories_and_thresholds():
    t = np.linspace(0.0, 168.0, 169)
    sched = [Immunotherapy(0.0, 169.0, 0.025, swelling=Swelling(0.1, 0.03))]
    ds = simulate("exponential", t, {"initial_volume": 1.4e4, "growth_rate": 0.01},
                  schedule=sched)
    ax = tp.pseudoprogression(assess_pseudoprogression(ds, every_days=42.0))
    cats = ax.tgsim_categories
    # the scanned diameters are those of the observed size, sphere-equivalent
    d_obs = np.cbrt(6.0 * ds["observed"].values[0] / math.pi)
    np.testing.assert_allclose(cats["diameter_mm"], np.interp(cats["day"], t, d_obs),
                               rtol=1e-9)
    assert cats["recist"].tolist() == ["baseline", "PD", "SD", "SD", "SD"]
    assert cats["irecist"].tolist() == ["baseline", "iUPD", "iSD", "iSD", "iSD"]
    texts = [tx.get_text() for tx in ax.texts]
    assert "(SD)" in texts  # after PD, RECIST calls are bracketed
    (pd_thr,) = [ln for ln in ax.lines if ln.get_label() == "PD threshold (vs nadir)"]
    d = cats["diameter_mm"].to_numpy()
    nadir = np.minimum.accumulate(d)[:-1]
    np.testing.assert_allclose(pd_thr.get_ydata(), np.maximum(1.2 * nadir, nadir + 5.0))
    assert ax.get_ylabel() == "sphere-equivalent diameter (mm)"
    assert ax.get_xlabel() == "time (day)"
    assert_finite(ax)


def test_plot_dispatch_and_accessor(exp_cohort, lesion_table):
    from tgsim.clinical import recist

    ds, _ = exp_cohort
    assert tp.plot(ds).get_ylabel() == "tumour volume (mm³)"
    assert tp.plot(recist(lesion_table), kind="spider").get_xlabel() == \
        "time from baseline (day)"
    with pytest.raises(TgsimError, match="kind"):
        tp.plot(recist(lesion_table), kind="nope")
    tp.register_accessor()
    tp.register_accessor()  # idempotent
    assert ds.tgsim.plot(max_lines=2).get_ylabel() == "tumour volume (mm³)"
