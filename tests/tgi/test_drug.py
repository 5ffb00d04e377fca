"""Exposure-driven drugs: compiled kernels against the SciPy reference and closed forms."""

import math

import numpy as np
import pytest

import tgsim
from tgsim import Free, ScheduleError
from tgsim.io import read_doses
from tgsim.tgi import Drug, Emax, Hill, Linear, OneCompartment, Transit, TwoCompartment
from tgsim.tgi.reference import simulate_reference

TIMES = np.linspace(0.0, 35.0, 15)
R, V0 = 0.08, 150.0


def _integrated_hazard(drug, t):
    """Closed form of int_0^t h for a linear effect: sum over the packed exponentials."""
    tm = drug.terms()
    t1 = drug.first_dose()
    lam = float(np.asarray(drug.resistance_rate))
    kd = float(np.asarray(drug.effect.slope))
    out = np.zeros_like(t)
    for on, a, k in zip(tm.on, tm.coef, tm.rate, strict=True):
        amp, rate = kd * a * math.exp(-lam * (on - t1)), k + lam
        dt = np.maximum(t - on, 0.0)
        out += amp * (dt if rate == 0 else -np.expm1(-rate * dt) / rate)
    return out


@pytest.mark.parametrize("pk, route, duration", [
    (OneCompartment(1.5), "bolus", 0.0),
    (TwoCompartment(k10=2.0, k12=1.0, k21=0.5, absorption_rate=6.0), "oral", 0.0),
    (OneCompartment(3.0, volume=2.0), "infusion", 0.5),
])
def test_compiled_linear_drug_matches_closed_form_and_reference(pk, route, duration):
    doses = {"day": [2.0, 9.0, 16.0, 23.0], "amount": 20.0, "route": route,
             "duration": duration}
    drug = Drug(doses=doses, pk=pk, effect=Linear(0.02), resistance_rate=0.05, name="d")
    ds = tgsim.simulate("exponential", TIMES, {"initial_volume": V0, "growth_rate": R},
                        schedule=[drug])
    got = ds["volume"].values.ravel()
    closed = V0 * np.exp(R * TIMES - _integrated_hazard(drug, TIMES))
    ref = simulate_reference(lambda v: R * v, V0, drug, TIMES)
    np.testing.assert_allclose(ref, closed, rtol=1e-8)
    np.testing.assert_allclose(got, closed, rtol=1e-6)
    assert closed[-1] < V0 * math.exp(R * TIMES[-1]) * 0.9      # the drug does something


def test_per_subject_dose_table_packs_one_kernel_for_all_regimens():
    table = read_doses({"subject": ["a", "a", "b", "b", "b"], "day": [0, 7, 0, 3, 6],
                        "amount_mg_per_kg": [10, 10, 5, 5, 5]})
    drug = Drug(doses=table, subjects=["b", "a"], pk=OneCompartment(1.0),
                effect=Linear(Free(0.05)), name="x")
    ds = tgsim.simulate("exponential", TIMES, {"initial_volume": [V0, V0],
                                               "growth_rate": [R, R]}, schedule=[drug])
    for i in range(2):
        ref = simulate_reference(lambda v: R * v, V0, drug, TIMES, subject=i)
        np.testing.assert_allclose(ds["volume"].values[i], ref, rtol=1e-6)
    assert list(tgsim.Schedule([drug]).free_parameters()) == ["x.effect.slope"]
    freed = tgsim.Schedule([drug]).free(["elimination_rate", "resistance_rate"])
    assert list(freed.free_parameters()) == ["x.resistance_rate", "x.pk.elimination_rate",
                                             "x.effect.slope"]


def test_transit_reference_is_delayed_kill_and_emax_is_refused_by_kernels():
    doses = {"day": [0.0], "amount": 10.0}
    lin = Drug(doses=doses, pk=OneCompartment(1.0), effect=Linear(0.1))
    sim = Drug(doses=doses, pk=OneCompartment(1.0), effect=Linear(0.1),
               transit=Transit(3, rate=0.5))
    t = np.linspace(0, 30, 31)
    v_lin = simulate_reference(lambda v: R * v, V0, lin, t)
    v_sim = simulate_reference(lambda v: R * v, V0, sim, t)
    assert np.all(v_sim[1:] > v_lin[1:])             # damaged cells still count, for a while
    # total killed mass ends the same: after the chain empties the curves meet
    assert v_sim[-1] == pytest.approx(v_lin[-1], rel=1e-3)
    emax = Drug(doses=doses, pk=OneCompartment(1.0), effect=Emax(0.5, 2.0))
    with pytest.raises(ScheduleError, match="Emax effect .* not supported by the compiled"):
        tgsim.simulate("exponential", t, {"initial_volume": V0, "growth_rate": R},
                       schedule=[emax])
    hill = Drug(doses=doses, pk=OneCompartment(1.0), effect=Hill(0.5, 2.0, 1.0))
    np.testing.assert_allclose(hill.hazard(t), emax.hazard(t), rtol=1e-14)


def test_drug_input_errors():
    with pytest.raises(ScheduleError, match=r"amount\[1\] must be >= 0; got -1"):
        Drug(doses={"day": [0, 1], "amount": [1, -1]}, pk=OneCompartment(1.0),
             effect=Linear(0.1))
    with pytest.raises(ScheduleError, match="pk must be"):
        Drug(doses={"day": [0], "amount": [1]}, pk=None, effect=Linear(0.1))
    t2 = read_doses({"subject": ["a", "a"], "day": [0, 0], "drug": ["p", "q"],
                     "amount_mg": [1, 1]})
    with pytest.raises(ScheduleError, match="say which with drug="):
        Drug(doses=t2, pk=OneCompartment(1.0), effect=Linear(0.1))
