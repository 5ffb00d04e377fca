"""Treatment effects against exact solutions, schedule semantics and bad input."""

import math
import warnings

import numpy as np
import pytest

import tgsim
from tgsim.errors import ConfigError, ScheduleError, TgsimWarning

EXP = {"initial_volume": 10.0, "growth_rate": 0.05}
GOMP = {"initial_volume": 10.0, "growth_rate": 0.1, "carrying_capacity": 1000.0}
T = np.linspace(0.0, 100.0, 101)


@pytest.mark.parametrize("solver", ["ode", "closed_form"])
def test_exponential_with_surgery(solver):
    sched = [tgsim.Surgery(day=30.5, resected_fraction=0.9)]
    ds = tgsim.simulate("exponential", T, EXP, schedule=sched, solver=solver)
    exact = 10 * np.exp(0.05 * T) * np.where(T >= 30.5, 0.1, 1.0)
    np.testing.assert_allclose(ds.volume[0], exact, rtol=1e-7)


def test_output_at_event_time_is_right_continuous():
    ds = tgsim.simulate(
        "exponential",
        [0.0, 30.0, 40.0],
        EXP,
        schedule=[tgsim.Surgery(day=30.0, resected_fraction=0.5)],
        solver="ode",
    )
    assert float(ds.volume[0, 1]) == pytest.approx(0.5 * 10 * math.exp(1.5), rel=1e-8)


@pytest.mark.parametrize("solver", ["ode", "closed_form"])
def test_exponential_constant_kill(solver):
    sched = [tgsim.TargetedTherapy(start=20.0, stop=60.0, kill_rate=0.12)]
    ds = tgsim.simulate("exponential", T, EXP, schedule=sched, solver=solver)
    on = np.clip(T, 20.0, 60.0) - 20.0
    exact = 10 * np.exp(0.05 * T - 0.12 * on)
    np.testing.assert_allclose(ds.volume[0], exact, rtol=1e-7)


@pytest.mark.parametrize("solver", ["ode", "closed_form"])
def test_gompertz_constant_kill(solver):
    """Under a constant hazard k, Gompertz stays Gompertzian with plateau K exp(-k/r)."""
    k, r, K, V0 = 0.2, 0.1, 1000.0, 10.0
    sched = [tgsim.TargetedTherapy(start=0.0, stop=1000.0, kill_rate=k)]
    ds = tgsim.simulate("gompertz", T, GOMP, schedule=sched, solver=solver)
    Ke = K * math.exp(-k / r)
    exact = Ke * (V0 / Ke) ** np.exp(-r * T)
    np.testing.assert_allclose(ds.volume[0], exact, rtol=1e-7)


def test_radiotherapy_survival_after_n_fractions():
    days = tgsim.weekday_fractions(30, start_day=10.0)
    assert days.size == 30 and days[-1] == 10.0 + 39.0  # 6 weeks, Monday to Friday
    rt = tgsim.Radiotherapy(days=days, dose_gy=2.0, alpha=0.3, beta=0.03)
    sf = math.exp(-0.3 * 2 - 0.03 * 4)
    assert float(rt.surviving_fraction()) == pytest.approx(sf)
    assert float(rt.bed()) == pytest.approx(30 * 2 * (1 + 2 / 10))
    for solver in ("ode", "closed_form"):
        # the volume falls to ~1e-7 mm^3: tighten atol so the test is about relative error
        ds = tgsim.simulate("exponential", T, EXP, schedule=[rt], solver=solver, atol=1e-18)
        n_done = np.searchsorted(days, T, side="right")
        exact = 10 * np.exp(0.05 * T) * sf**n_done
        np.testing.assert_allclose(ds.volume[0], exact, rtol=1e-7)


def test_log_kill_bolus_matches_integral_of_kill():
    dose, half_life, kill = 2.0, 1.5, 0.3
    ch = tgsim.Chemotherapy(days=[20.3], dose=dose, half_life_days=half_life, kill_rate=kill)
    ds = tgsim.simulate("exponential", T, EXP, schedule=[ch])
    assert ds.attrs["solver"] == "ode"
    ratio = ds.volume[0].values / (10 * np.exp(0.05 * T))
    # long after the dose the whole integral of C has acted: exp(-k dose h / ln 2)
    assert ratio[-1] == pytest.approx(math.exp(-kill * dose * half_life / math.log(2)), rel=1e-7)
    # and at any time t after the dose: exp(-k dose h/ln2 (1 - 2^-(t-t1)/h))
    after = T > 20.3
    partial = np.exp(
        -kill * dose * half_life / math.log(2) * (1 - 2.0 ** (-(T[after] - 20.3) / half_life))
    )
    np.testing.assert_allclose(ratio[after], partial, rtol=1e-7)
    np.testing.assert_allclose(ratio[~after], 1.0, rtol=1e-7)


@pytest.mark.parametrize("solver", ["ode", "closed_form"])
def test_acceleration_multiplies_rate_exactly(solver):
    sched = [tgsim.Acceleration(onset_day=40.0, factor=3.0)]
    ds = tgsim.simulate("exponential", T, EXP, schedule=sched, solver=solver)
    lv = np.log(ds.volume[0].values)
    before = np.gradient(lv[:40], T[:40])
    after = np.gradient(lv[41:], T[41:])
    np.testing.assert_allclose(before, 0.05, rtol=1e-6)
    np.testing.assert_allclose(after, 3 * 0.05, rtol=1e-6)


def test_acceleration_ramp_exact():
    on, R, f, r = 20.0, 10.0, 2.5, 0.05
    sched = [tgsim.Acceleration(onset_day=on, factor=f, ramp_days=R)]
    ds = tgsim.simulate("exponential", T, EXP, schedule=sched)
    tau = np.clip(T - on, 0, None)
    extra = np.where(tau <= R, (f - 1) * r * tau**2 / (2 * R), (f - 1) * r * (R / 2 + tau - R))
    np.testing.assert_allclose(ds.volume[0], 10 * np.exp(r * T + extra), rtol=1e-7)


def test_acceleration_attached_to_intervention_counts_from_its_start():
    imm = tgsim.Immunotherapy(
        start=30.0,
        stop=200.0,
        kill_rate=0.0,
        acceleration=tgsim.Acceleration(onset_day=5.0, factor=2.0),
    )
    ds = tgsim.simulate("exponential", T, EXP, schedule=[imm])
    exact = 10 * np.exp(0.05 * T + 0.05 * np.clip(T - 35.0, 0, None))
    np.testing.assert_allclose(ds.volume[0], exact, rtol=1e-7)


def test_norton_simon_spares_plateau_tumours_log_kill_does_not():
    """Same dose, small fast-growing vs near-plateau Gompertz tumour (Norton & Simon 1977)."""
    small = {"initial_volume": 5.0, "growth_rate": 0.1, "carrying_capacity": 1000.0}
    large = {**small, "initial_volume": 990.0}
    t = np.array([0.0, 0.5])
    effects = {}
    for hyp, kill in (("norton-simon", 0.5), ("log-kill", 1.0)):
        ch = tgsim.Chemotherapy(
            days=[0.0], dose=1.0, half_life_days=0.05, kill_rate=kill, hypothesis=hyp
        )
        for label, p in (("small", small), ("large", large)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TgsimWarning)
                treated = tgsim.simulate("gompertz", t, p, schedule=[ch]).volume.values[0, -1]
            untreated = tgsim.simulate("gompertz", t, p).volume.values[0, -1]
            effects[hyp, label] = 1 - treated / untreated
    assert effects["norton-simon", "small"] > 5 * effects["norton-simon", "large"]
    assert effects["log-kill", "small"] == pytest.approx(effects["log-kill", "large"], rel=0.02)
    expected = 1 - math.exp(-1.0 * 0.05 / math.log(2) * (1 - 2 ** (-0.5 / 0.05)))
    # the exponential-growth value, less the Gompertz regrowth of the killed cells over the
    # 0.5 day (about r * 0.07 * 0.5 = 0.4 % of volume): within 6 %
    assert effects["log-kill", "small"] == pytest.approx(expected, rel=0.06)


def test_short_pulse_between_output_times_is_not_stepped_over():
    """A 0.25-day exposure between outputs at day 0 and 20 must act in full."""
    sched = [tgsim.TargetedTherapy(start=10.37, stop=10.62, kill_rate=4.0)]
    ds = tgsim.simulate("exponential", [0.0, 20.0], EXP, schedule=sched, solver="ode")
    assert float(ds.volume[0, 1]) == pytest.approx(10 * math.exp(1.0 - 4.0 * 0.25), rel=1e-8)
    ch = tgsim.Chemotherapy(days=[10.37], dose=1.0, half_life_days=0.01, kill_rate=50.0)
    ds = tgsim.simulate("exponential", [0.0, 20.0], EXP, schedule=[ch])
    expected = 10 * math.exp(1.0 - 50.0 * 0.01 / math.log(2))
    assert float(ds.volume[0, 1]) == pytest.approx(expected, rel=1e-7)


def test_resistance_wanes_the_kill():
    k, rho = 0.3, 0.1
    sched = [tgsim.TargetedTherapy(start=0.0, stop=500.0, kill_rate=k, resistance_rate=rho)]
    ds = tgsim.simulate("exponential", T, EXP, schedule=sched)
    exact = 10 * np.exp(0.05 * T - k / rho * (1 - np.exp(-rho * T)))
    np.testing.assert_allclose(ds.volume[0], exact, rtol=1e-7)


def test_swelling_exact_and_observed_is_sum():
    k, a, c, r = 0.08, 0.2, 0.05, 0.05
    imm = tgsim.Immunotherapy(
        start=0.0,
        stop=1000.0,
        kill_rate=k,
        swelling=tgsim.Swelling(infiltration_rate=a, clearance_rate=c),
    )
    ds = tgsim.simulate("exponential", T, EXP, schedule=[imm])
    lam = r - k
    V = 10 * np.exp(lam * T)
    S = a * 10 * (np.exp(lam * T) - np.exp(-c * T)) / (lam + c)
    np.testing.assert_allclose(ds.volume[0], V, rtol=1e-7)
    np.testing.assert_allclose(ds.swelling[0], S, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ds.observed, ds.volume + ds.swelling)
    assert ds.swelling.attrs["units"] == "mm^3"


def test_per_subject_treatment_parameters():
    fr = np.array([0.0, 0.5, 0.9])
    ds = tgsim.simulate(
        "exponential",
        [0.0, 10.0],
        {**EXP, "initial_volume": [1.0, 1.0, 1.0]},
        schedule=[tgsim.Surgery(day=5.0, resected_fraction=fr)],
    )
    np.testing.assert_allclose(ds.volume[:, 1], (1 - fr) * math.exp(0.5), rtol=1e-12)
    with pytest.raises(ScheduleError, match="resected_fraction has 3 values but there are 2"):
        tgsim.simulate(
            "exponential",
            [0.0, 10.0],
            {**EXP, "initial_volume": [1.0, 2.0]},
            schedule=[tgsim.Surgery(day=5.0, resected_fraction=fr)],
        )


def test_two_population_kill_spares_resistant_cells():
    p = {
        "initial_volume": 100.0,
        "resistant_fraction": 0.1,
        "growth_rate": 0.05,
        "resistant_growth_rate": 0.05,
        "carrying_capacity": 1e9,
    }
    sched = [tgsim.TargetedTherapy(start=0.0, stop=100.0, kill_rate=0.5)]
    ds = tgsim.simulate("two_population", [0.0, 50.0], p, schedule=sched)
    sv = ds.state_volume.sel(state="resistant").values[0]
    assert sv[-1] == pytest.approx(
        10 * math.exp(0.05 * 50) / (1 + 10 * (math.exp(2.5) - 1) * 0 / 1e9), rel=1e-5
    )
    assert ds.state_volume.sel(state="sensitive").values[0, -1] < 1.0


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "make,match",
    [
        (
            lambda: tgsim.Chemotherapy(days=[0.0], dose=-1.0, half_life_days=1, kill_rate=1),
            r"Chemotherapy.dose must be in \[0",
        ),
        (lambda: tgsim.Radiotherapy(days=[0.0, 1.0], dose_gy=-2.0), r"Radiotherapy.dose_gy"),
        (
            lambda: tgsim.Surgery(day=3.0, resected_fraction=1.0),
            r"resected_fraction must be in \[0, 1\)",
        ),
        (lambda: tgsim.Surgery(day=3.0, resected_fraction=-0.1), "resected_fraction"),
        (
            lambda: tgsim.TargetedTherapy(start=10.0, stop=5.0, kill_rate=0.1),
            "stop must be after start",
        ),
        (lambda: tgsim.Radiotherapy(days=[0.0, 2.0, 1.0], dose_gy=2.0), "increasing"),
        (lambda: tgsim.Radiotherapy(days=[0.0, 1.0, 1.0], dose_gy=2.0), "same day twice"),
        (
            lambda: tgsim.Chemotherapy(days=[0.0], dose=1, half_life_days=0, kill_rate=1),
            "half_life_days",
        ),
        (
            lambda: tgsim.Chemotherapy(
                days=[0.0], dose=1, half_life_days=1, kill_rate=1, hypothesis="norton"
            ),
            "hypothesis",
        ),
        (lambda: tgsim.Acceleration(onset_day=0.0, factor=0.0), "factor"),
        (
            lambda: tgsim.Schedule(
                [
                    tgsim.Surgery(day=3.0, resected_fraction=0.5),
                    tgsim.Surgery(day=3.0, resected_fraction=0.2),
                ]
            ),
            "same intervention twice on day 3",
        ),
        (
            lambda: tgsim.Schedule(
                [
                    tgsim.TargetedTherapy(start=0, stop=10, kill_rate=0.1),
                    tgsim.TargetedTherapy(start=5, stop=20, kill_rate=0.1),
                ]
            ),
            "overlapping exposures",
        ),
        (lambda: tgsim.Schedule(["surgery"]), "holds interventions"),
    ],
)
def test_bad_interventions(make, match):
    with pytest.raises(ScheduleError, match=match):
        make()


def test_different_drugs_may_overlap():
    tgsim.Schedule(
        [
            tgsim.TargetedTherapy(start=0, stop=10, kill_rate=0.1, name="drug A"),
            tgsim.TargetedTherapy(start=5, stop=20, kill_rate=0.1, name="drug B"),
        ]
    )


def test_event_outside_times_warns():
    with pytest.warns(TgsimWarning, match=r"day\(s\) 150 \(Surgery\).*outside"):
        tgsim.simulate(
            "exponential", T, EXP, schedule=[tgsim.Surgery(day=150.0, resected_fraction=0.5)]
        )


def test_schedule_from_toml(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(
        """
[[surgery]]
day = 30
resected_fraction = 0.9

[[radiotherapy]]
weekdays = { fractions = 5, start = 40 }
dose_gy = 2.0

[[immunotherapy]]
start = 50
stop = 90
kill_rate = 0.05
swelling = { infiltration_rate = 0.1, clearance_rate = 0.05 }
acceleration = { onset_day = 10, factor = 2 }
"""
    )
    sched = tgsim.load_schedule(f)
    assert [type(x).__name__ for x in sched] == ["Surgery", "Radiotherapy", "Immunotherapy"]
    np.testing.assert_array_equal(sched.interventions[1].days, [40, 41, 42, 43, 44])
    assert sched.accelerations()[0].onset_day == 60.0
    ds = tgsim.simulate("gompertz", T, GOMP, schedule=f)
    assert "swelling" in ds and ds.attrs["solver"] == "ode"


@pytest.mark.parametrize(
    "text,match",
    [
        (
            "[[surgery]]\nday = 3\nresected_fraction = 0.5\nfraction = 1\n",
            r"\[\[surgery\]\] #1: unknown key 'fraction'",
        ),
        ("[[sugery]]\nday = 3\n",
         "unknown intervention table 'sugery' \\(did you mean 'surgery'\\?\\)"),
        ("[[surgery]]\nday = 3\nresected_fraction = 1.5\n", r"resected_fraction must be in"),
        (
            "[[immunotherapy]]\nstart=0\nstop=9\nkill_rate=0.1\nswelling={rate=1}\n",
            r"swelling: unknown key 'rate'",
        ),
        ("[[surgery]\nday = 3\n", "not valid TOML"),
    ],
)
def test_bad_schedule_files(tmp_path, text, match):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        tgsim.load_schedule(f)
    assert str(f) in str(err.value)
