"""Closed-form PK against solve_ivp (DOP853, rtol 1e-12) on the compartment ODEs."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from tgsim import Free, ScheduleError
from tgsim.tgi import OneCompartment, TwoCompartment

DAYS = np.array([0.0, 1.5, 3.0, 7.25])
AMOUNT = np.array([10.0, 5.0, 8.0, 2.0])


def _ode_concentration(k10, k12, k21, v, ka, f, route, duration, t_out):
    """Integrate depot/central/peripheral amounts through the doses."""
    on = [(d, a) for d, a in zip(DAYS, AMOUNT, strict=True)]

    def rhs(t, y):
        dep, a1, a2 = y
        inf = 0.0
        if route == "infusion":
            inf = sum(a / duration for d, a in on if d <= t < d + duration)
        absorbed = (ka or 0.0) * dep
        return [-absorbed, inf + absorbed - (k10 + k12) * a1 + k21 * a2, k12 * a1 - k21 * a2]

    cuts = sorted(set(DAYS) | ({d + duration for d in DAYS} if route == "infusion" else set())
                  | {float(t_out[-1])})
    y = np.zeros(3)
    out = np.zeros(t_out.size)
    a = 0.0
    given = set()
    for b in cuts:
        if route in ("bolus", "oral"):
            for d, amt in on:
                if d == a and d not in given:
                    given.add(d)
                    y[0 if route == "oral" else 1] += (f if route == "oral" else 1.0) * amt
        if b > a:
            sel = (t_out >= a) & (t_out < b)
            grid = np.unique(np.append(t_out[sel], b))
            sol = solve_ivp(rhs, (a, b), y, method="DOP853", rtol=1e-12, atol=1e-14,
                            t_eval=grid)
            out[sel] = sol.y[1, : sel.sum()] / v
            y = sol.y[:, -1].copy()
        a = b
    out[t_out >= cuts[-1]] = y[1] / v
    return out


T_OUT = np.linspace(0.0, 12.0, 97)


@pytest.mark.parametrize("route, duration", [("bolus", 0.0), ("infusion", 0.4), ("oral", 0.0)])
def test_one_compartment_against_ode(route, duration):
    pk = OneCompartment(elimination_rate=0.9, volume=2.5, absorption_rate=3.0,
                        bioavailability=0.7)
    got = pk.concentration(T_OUT, DAYS, AMOUNT, route, duration)
    want = _ode_concentration(0.9, 0.0, 0.0, 2.5, 3.0, 0.7, route, duration, T_OUT)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("route, duration", [("bolus", 0.0), ("infusion", 1.0 / 24),
                                             ("oral", 0.0)])
def test_two_compartment_against_ode(route, duration):
    pk = TwoCompartment(k10=1.2, k12=0.8, k21=0.3, volume=1.7, absorption_rate=5.0,
                        bioavailability=0.5)
    got = pk.concentration(T_OUT, DAYS, AMOUNT, route, duration)
    want = _ode_concentration(1.2, 0.8, 0.3, 1.7, 5.0, 0.5, route, duration, T_OUT)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


def test_hand_values_and_degenerate_cases():
    # half-life one day: 8 -> 4 -> 2; two doses superpose
    pk = OneCompartment.from_half_life(1.0)
    np.testing.assert_allclose(pk.concentration([0, 1, 2], [0, 1], [8, 8]), [8, 12, 6])
    # no peripheral exchange: the two-compartment model is the one-compartment model
    c2 = TwoCompartment(k10=0.7, k12=0.0, k21=0.4).concentration(T_OUT, DAYS, AMOUNT)
    c1 = OneCompartment(0.7).concentration(T_OUT, DAYS, AMOUNT)
    np.testing.assert_allclose(c2, c1, rtol=1e-13)
    # infusion total exposure (AUC) equals the bolus AUC: dose / (V k)
    t = np.linspace(0, 60, 600001)
    auc = np.trapezoid(OneCompartment(0.5, volume=2.0).concentration(t, [0.0], [4.0],
                                                                    "infusion", 2.0), t)
    assert auc == pytest.approx(4.0 / (2.0 * 0.5), rel=1e-6)
    # oral Cmax time: ln(ka/ke)/(ka-ke)
    pk = OneCompartment(0.5, absorption_rate=2.0)
    tt = np.linspace(0, 5, 500001)
    tmax = tt[np.argmax(pk.concentration(tt, [0.0], [1.0], "oral"))]
    assert tmax == pytest.approx(math.log(4.0) / 1.5, abs=1e-4)


def test_bad_pk_input():
    with pytest.raises(ScheduleError, match=r"elimination_rate must be in \(0"):
        OneCompartment(elimination_rate=0.0)
    with pytest.raises(ScheduleError, match="bioavailability"):
        OneCompartment(1.0, bioavailability=1.5)
    with pytest.raises(ScheduleError, match="needs the PK model's absorption_rate"):
        OneCompartment(1.0).terms([0.0], [1.0], "oral")
    with pytest.raises(ScheduleError, match="singular"):
        OneCompartment(1.0, absorption_rate=1.0).terms([0.0], [1.0], "oral")
    with pytest.raises(ScheduleError, match="positive duration"):
        OneCompartment(1.0).terms([0.0], [1.0], "infusion", 0.0)
    assert OneCompartment(Free(1.0)).unit_response()[1].tolist() == [1.0]
    with pytest.raises(ScheduleError, match="elimination_rate must be one number"):
        OneCompartment(np.array([1.5, 2.0]))


@settings(max_examples=40, deadline=None)
@given(k10=st.floats(0.05, 5.0), k12=st.floats(0.0, 3.0), k21=st.floats(0.01, 3.0),
       ka=st.floats(0.1, 20.0), scale=st.floats(0.1, 10.0),
       route=st.sampled_from(["bolus", "infusion", "oral"]))
def test_concentration_is_linear_in_dose_and_never_negative(k10, k12, k21, ka, scale, route):
    pk = TwoCompartment(k10=k10, k12=k12, k21=k21, absorption_rate=ka * 1.0001 + 1e-3)
    try:
        c = pk.concentration(T_OUT, DAYS, AMOUNT, route, 0.3)
    except ScheduleError:            # absorption rate equal to an elimination rate
        return
    c2 = pk.concentration(T_OUT, DAYS, scale * AMOUNT, route, 0.3)
    np.testing.assert_allclose(c2, scale * c, rtol=1e-12, atol=1e-12)
    assert np.all(c >= -1e-9 * max(1.0, c.max()))
    # superposition: the whole regimen is the sum of its doses
    parts = sum(pk.concentration(T_OUT, [d], [a], route, 0.3)
                for d, a in zip(DAYS, AMOUNT, strict=True))
    np.testing.assert_allclose(parts, c, rtol=1e-12, atol=1e-12)
