"""Fitting free treatment parameters: recovery, oracle agreement, bad input."""

import dataclasses

import numpy as np
import pytest
from scipy.optimize import least_squares

import tgsim
from tgsim import Free, ScheduleError
from tgsim.errors import DataError
from tgsim.fitting.treated import fit_treatment
from tgsim.io import read_doses
from tgsim.tgi import Drug, Linear, OneCompartment, simulate_reference

T = np.linspace(0.0, 35.0, 12)
TRUTH = {"initial_volume": 100.0, "growth_rate": 0.1}
SLOPE0 = Free(0.05, upper=1.0)
LAM0 = Free(0.01, upper=1.0)


def _drug(slope=SLOPE0, lam=LAM0, **kw):
    base = dict(doses={"day": [0, 7, 14], "amount": 10.0}, pk=OneCompartment(2.0),
                effect=Linear(slope), resistance_rate=lam, name="x")
    base.update(kw)
    return Drug(**base)


def _data(noise=0.0, seed=1, drug=None):
    truth = drug or _drug(0.1, 0.03)
    y = tgsim.simulate("exponential", T, TRUTH, schedule=[truth],
                       rtol=1e-11)["volume"].values[0]
    rng = np.random.default_rng(seed)
    return y * np.exp(noise * rng.standard_normal(T.size))


def test_noise_free_recovery_of_kill_and_resistance():
    res = fit_treatment((T, _data()), "exponential", [_drug()])
    assert res.names == ("initial_volume", "growth_rate", "x.resistance_rate",
                         "x.effect.slope")
    np.testing.assert_allclose(res.estimate[0], [100.0, 0.1, 0.03, 0.1], rtol=1e-6)
    assert res.success[0] and "x.effect.slope" in res.summary()
    ax = res.plot(0)
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[1].get_ydata(), _data(), rtol=1e-6)
    assert res.params().loc[0, "x.effect.slope"] == pytest.approx(0.1, rel=1e-6)
    y = _data(noise=0.1)
    noisy = fit_treatment((T, y), "exponential", [_drug()])
    lo, hi = noisy.ci(0.9)
    from scipy.stats import t as student
    q = student.ppf(0.95, T.size - 4)
    np.testing.assert_allclose(hi - noisy.estimate, q * noisy.stderr, rtol=1e-12)
    assert noisy.dof[0] == T.size - 4 and np.all(lo < noisy.estimate)
    with pytest.raises(DataError, match="level must be in"):
        noisy.ci(1.5)


def _oracle(y, x0, lo, hi):
    """least_squares + solve_ivp (DOP853, rtol 1e-12) on the same log residuals."""
    def resid(x):
        d = _drug(x[3], x[2])
        f = simulate_reference(lambda v: x[1] * v, x[0], d, T, rtol=1e-12, atol=1e-10)
        return np.log(y) - np.log(f)

    return least_squares(resid, x0, bounds=(lo, hi), method="trf", x_scale="jac",
                         jac="3-point", ftol=1e-14, xtol=1e-14, gtol=1e-14).x


@pytest.mark.slow
def test_agrees_with_least_squares_solve_ivp_oracle():
    y = _data(noise=0.1)
    res = fit_treatment((T, y), "exponential", [_drug()])
    x0 = np.array([y[0], 0.2, 0.01, 0.05])
    lo = np.array([1e-12, 0.0, 0.0, 0.0])
    hi = np.array([1e12, 10.0, 1.0, 1.0])
    np.testing.assert_allclose(res.estimate[0], _oracle(y, x0, lo, hi), rtol=1e-5)


@pytest.mark.slow
def test_finite_difference_jacobian_against_reference_differences():
    """The batched central differences of the kernels against differences of the
    reference solution with a tight tolerance: agreement to 1e-5 relative."""
    from tgsim.engine.catalogue import model
    from tgsim.fitting.treated import _jacobian, _Problem

    y = _data(noise=0.1)
    sched = tgsim.Schedule([_drug()])
    mdl = model("exponential")
    pb = _Problem(mdl, sched, T, y, 0.0, np.array([100.0, 0.1]), [0, 1],
                  ["x.resistance_rate", "x.effect.slope"], "lognormal", 1e-10)
    x = np.array([90.0, 0.12, 0.02, 0.08])
    _, J = _jacobian(pb, x, np.zeros(4), np.full(4, 1e3))

    def f(z):
        d = _drug(z[3], z[2])
        return np.log(simulate_reference(lambda v: z[1] * v, z[0], d, T, rtol=1e-12,
                                         atol=1e-12))

    Jr = np.empty_like(J)
    for j in range(4):
        e = np.zeros(4)
        e[j] = 1e-4 * x[j]          # truncation error ~1e-8 relative, solver error ~1e-8
        Jr[:, j] = -(f(x + e) - f(x - e)) / (2 * e[j])
    scale = np.abs(Jr).max(0)
    assert np.max(np.abs(J - Jr) / scale) < 1e-5


def test_dose_table_fit_per_subject_and_unknown_subject():
    table = read_doses({"subject": ["a", "a", "a", "b", "b"], "day": [0, 7, 14, 0, 3],
                        "amount_mg_per_kg": [10, 10, 10, 20, 20]})
    truth_a = _drug(0.1, 0.03)
    truth_b = _drug(0.1, 0.03, doses={"day": [0, 3], "amount": 20.0})
    import xarray as xr
    ys = np.stack([_data(drug=truth_a), _data(drug=truth_b)])
    ds = xr.Dataset({"time": (("subject", "obs"), np.stack([T, T])),
                     "value": (("subject", "obs"), ys, {"units": "mm^3"})},
                    coords={"subject": ["a", "b"]})
    drug = _drug(doses=table)
    res = fit_treatment(ds, "exponential", [drug])
    np.testing.assert_allclose(res.estimate[:, 2:], [[0.03, 0.1], [0.03, 0.1]], rtol=1e-5)
    with pytest.raises(DataError, match="dose record for subject 'b'"):
        fit_treatment(ds.isel(subject=[0]), "exponential", [drug])


def test_uninformed_free_parameter_refused_or_held():
    late = _drug(doses={"day": [40.0], "amount": 10.0})
    y = _data()
    with pytest.raises(ScheduleError, match=r"x\.effect\.slope cannot be estimated .*"
                                            r"not identifiable"):
        fit_treatment((T, y), "exponential", [late])
    res = fit_treatment((T, y), "exponential", [late], uninformed="fix")
    assert not res.identifiable[0, 3] and res.estimate[0, 3] == 0.05
    assert "not identifiable" in res.summary()


def test_free_by_name_and_unknown_field():
    tki = tgsim.TargetedTherapy(0, 40, kill_rate=0.05, resistance_rate=0.01, name="tki")
    truth = tgsim.TargetedTherapy(0, 40, kill_rate=0.2, resistance_rate=0.04, name="tki")
    y = tgsim.simulate("exponential", T, TRUTH, schedule=[truth], rtol=1e-11)["volume"]
    res = fit_treatment((T, y.values[0]), "exponential", [tki],
                        free=["kill_rate", "resistance_rate"])
    assert res.names[2:] == ("tki.kill_rate", "tki.resistance_rate")
    np.testing.assert_allclose(res.estimate[0], [100.0, 0.1, 0.2, 0.04], rtol=1e-6)
    with pytest.raises(ScheduleError, match="no intervention has a numeric field 'kil_rate'"):
        fit_treatment((T, y.values[0]), "exponential", [tki], free=["kil_rate"])


def test_bad_arguments():
    with pytest.raises(DataError, match="error_model must be one of"):
        fit_treatment((T, _data()), "exponential", [_drug()], error_model="poisson")
    assert dataclasses.is_dataclass(_drug())


@pytest.mark.slow
@pytest.mark.parametrize("route", ["bolus", "oral"])
def test_recovery_and_coverage_over_200_replicates(route):
    """Claret-type kill (linear effect, resistance) on exponential growth, weekly bolus or
    daily oral dosing, 12 points, 10 % log-normal noise: kill slope and resistance rate
    are unbiased within their standard errors and 95 % Wald intervals (Student t on the
    residual degrees of freedom, as tgsim.fit) cover 90-99 %."""
    if route == "bolus":
        doses = {"day": [0, 7, 14, 21], "amount": 10.0}
        pk = OneCompartment(2.0)
    else:
        doses = {"day": np.arange(0.0, 28.0), "amount": 3.0, "route": "oral"}
        pk = OneCompartment(2.0, absorption_rate=12.0)
    truth = _drug(0.1, 0.03, doses=doses, pk=pk)
    free = _drug(doses=doses, pk=pk)
    f = tgsim.simulate("exponential", T, TRUTH, schedule=[truth], rtol=1e-11)["volume"]
    rng = np.random.default_rng(2024)
    est, se, inside = [], [], []
    true = np.array([0.03, 0.1])
    for _ in range(200):
        y = f.values[0] * np.exp(0.1 * rng.standard_normal(T.size))
        r = fit_treatment((T, y), "exponential", [free])
        lo, hi = r.ci(0.95)
        est.append(r.estimate[0, 2:])
        se.append(r.stderr[0, 2:])
        inside.append((lo[0, 2:] <= true) & (true <= hi[0, 2:]))
    est, se = np.array(est), np.array(se)
    cover = np.mean(inside, 0)
    bias = est.mean(0) - true
    print(f"\n{route}: mean estimate {est.mean(0)}, true {true}, median SE "
          f"{np.median(se, 0)}, 95 % coverage {cover}")
    assert np.all(np.abs(bias) < np.median(se, 0)), (bias, np.median(se, 0))
    assert np.all((cover >= 0.90) & (cover <= 0.99)), cover


def test_free_pk_parameter_recovered():
    doses = {"day": [0, 7, 14], "amount": 10.0, "route": "oral"}
    truth = _drug(0.1, 0.0, doses=doses, pk=OneCompartment(0.5, absorption_rate=4.0))
    free = _drug(Free(0.05, upper=1.0), 0.0, doses=doses,
                 pk=OneCompartment(Free(1.0, upper=5.0), absorption_rate=4.0))
    res = fit_treatment((T, _data(drug=truth)), "exponential", [free],
                        fixed={"initial_volume": 100.0})
    assert res.names == ("growth_rate", "x.pk.elimination_rate", "x.effect.slope")
    np.testing.assert_allclose(res.estimate[0], [0.1, 0.5, 0.1], rtol=1e-5)
