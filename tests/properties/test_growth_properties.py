"""Property tests (hypothesis) for the untreated growth laws."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tgsim

settings.register_profile("tgsim", deadline=None, max_examples=40)
settings.load_profile("tgsim")

V0 = st.floats(1e-3, 500.0)
RATE = st.floats(0.01, 1.0)
K = st.floats(600.0, 1e5)
TIMES = np.linspace(0.0, 150.0, 31)
# the ODE solution may differ from the exact one by about rtol (1e-8 by default): the
# monotonicity and bound checks allow 10 x rtol relative
SLACK = 1e-7

CLOSED = {
    "exponential": lambda v, r, k: {"initial_volume": v, "growth_rate": r / 4},
    "logistic": lambda v, r, k: {"initial_volume": v, "growth_rate": r, "carrying_capacity": k},
    "gompertz": lambda v, r, k: {"initial_volume": v, "growth_rate": r, "carrying_capacity": k},
    "von_bertalanffy": lambda v, r, k: {"initial_volume": v, "growth_rate": 10 * r,
                                        "loss_rate": r / 3, "exponent": 0.6666666666666666},
    "power_law": lambda v, r, k: {"initial_volume": v, "growth_rate": r, "exponent": 0.75},
    "stein": lambda v, r, k: {"initial_volume": v, "growth_rate": r / 20, "decay_rate": r / 5},
}
ALL = {
    **CLOSED,
    "exponential_linear": lambda v, r, k: {"initial_volume": v, "growth_rate": r,
                                           "linear_rate": k / 50},
    "two_population": lambda v, r, k: {"initial_volume": v, "resistant_fraction": 0.1,
                                       "growth_rate": r, "resistant_growth_rate": r / 2,
                                       "carrying_capacity": k},
}


@given(name=st.sampled_from(sorted(CLOSED)), v=V0, r=RATE, k=K)
def test_closed_form_equals_ode(name, v, r, k):
    p = CLOSED[name](v, r, k)
    a = tgsim.simulate(name, TIMES, p, solver="closed_form").volume.values
    b = tgsim.simulate(name, TIMES, p, solver="ode", rtol=1e-10, atol=1e-14).volume.values
    np.testing.assert_allclose(b, a, rtol=1e-6)


@given(name=st.sampled_from(sorted(set(ALL) - {"stein"})), v=V0, r=RATE, k=K)
def test_untreated_growth_is_positive_and_monotone(name, v, r, k):
    ds = tgsim.simulate(name, TIMES, ALL[name](v, r, k), solver="ode")
    vol = ds.volume.values[0]
    assert np.all(vol > 0)
    assert np.all(np.diff(vol) >= -SLACK * vol[1:])


@given(v=V0, r=RATE, k=K)
def test_stein_stays_positive(v, r, k):
    vol = tgsim.simulate("stein", TIMES, CLOSED["stein"](v, r, k)).volume.values[0]
    assert np.all(vol > 0)


@given(name=st.sampled_from(["logistic", "gompertz", "two_population"]), v=V0, r=RATE, k=K,
       solver=st.sampled_from(["ode", None]))
def test_bounded_by_carrying_capacity(name, v, r, k, solver):
    ds = tgsim.simulate(name, TIMES, ALL[name](v, r, k), solver=solver)
    exact = ds.attrs["solver"] == "closed_form"
    assert np.all(ds.volume.values <= k * (1 + (1e-12 if exact else SLACK)))


@given(vs=st.lists(V0, min_size=2, max_size=6), r=RATE, k=K,
       name=st.sampled_from(["gompertz", "two_population"]))
def test_cohort_equals_subjects_one_by_one(vs, r, k, name):
    n = len(vs)
    rates = np.linspace(r, 2 * r, n)
    p = ALL[name](np.array(vs), rates, k)
    if name == "two_population":
        p["growth_rate"] = rates
    cohort = tgsim.simulate(name, TIMES, p, solver="ode").volume.values
    for i in range(n):
        pi = {key: (val[i] if np.ndim(val) else val) for key, val in p.items()}
        one = tgsim.simulate(name, TIMES, pi, solver="ode").volume.values[0]
        np.testing.assert_array_equal(cohort[i], one)
