"""Exact checks against Iwata's closed form (exponential primary, exponential colonies).

N(t) = m V0^alpha (exp(alpha r t) - 1) / (alpha r); the number of colonies larger than s
is N(t - ln(s/x0)/lambda). The deterministic mode must match to 1e-6 relative (both the
untreated age-curve path and the characteristics path), the stochastic mean within 3
standard errors over 2,000 replicates.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from metastasis_helpers import ALPHA, LAM, V0, X0, M, R, expected_above, expected_count

from tgsim.errors import TgsimError
from tgsim.metastasis import MetastasisModel, metastatic_spread
from tgsim.treatment import Chemotherapy

REL = 1e-6


def _checks(res, model, t):
    vi, vm = model.class_volume_bounds()
    vd = model.detection_volume
    out = {
        "total": (res.total_colonies.values[0], expected_count(t)),
        "above ITC": (res.colonies.sel(size_class=["micrometastasis", "macrometastasis"])
                      .sum("size_class").values[0], expected_above(t, vi)),
        "macro": (res.colonies.sel(size_class="macrometastasis").values[0],
                  expected_above(t, vm)),
        "ITC": (res.colonies.sel(size_class="ITC").values[0],
                expected_count(t) - expected_above(t, vi)),
        "micro": (res.colonies.sel(size_class="micrometastasis").values[0],
                  expected_above(t, vi) - expected_above(t, vm)),
        "detectable": (res.detectable.values[0], expected_above(t, vd)),
    }
    return out


def _rel(a, b):
    scale = np.maximum(np.abs(b), 1e-12)
    return float(np.max(np.abs(a - b) / scale))


def test_deterministic_untreated_matches_closed_form(exp_primary, exp_model, times):
    res = metastatic_spread(exp_primary, exp_model)
    assert res.attrs["method"] == "age"
    for name, (got, want) in _checks(res, exp_model, times).items():
        assert want[-1] > 0.5, name  # every quantity is non-trivial by the end
        assert _rel(got, want) <= REL, name
    # cumulative emission and the seeding rate beta = m V^alpha
    assert _rel(res.seeded.values[0], expected_count(times)) <= 1e-12
    assert _rel(res.seeding_rate.values[0], M * (V0 * np.exp(R * times)) ** ALPHA) <= 1e-12


def test_characteristics_path_matches_closed_form(exp_primary, exp_model, times):
    # a zero-strength systemic therapy forces colony-by-colony integration
    sham = Chemotherapy(days=[40.0], dose=0.0, half_life_days=1.0, kill_rate=0.0)
    res = metastatic_spread(exp_primary, exp_model, schedule=[sham], birth_points=40)
    assert res.attrs["method"] == "characteristics"
    for name, (got, want) in _checks(res, exp_model, times).items():
        assert _rel(got, want) <= REL, name


def test_time_to_detection_and_burden_closed_form(exp_primary, exp_model, times):
    vd = exp_model.detection_volume
    age_det = math.log(vd / X0) / LAM
    # median time to the first detectable colony: N(t* - A) = ln 2
    t_star = age_det + math.log1p(math.log(2.0) * ALPHA * R / (M * V0**ALPHA)) / (ALPHA * R)
    T = times[-1]
    # burden = int m V0^a e^{a r tau} x0 e^{lam (T - tau)} dtau
    burden = M * V0**ALPHA * X0 * math.exp(LAM * T) * -math.expm1(-(LAM - ALPHA * R) * T) / (
        LAM - ALPHA * R)
    res = metastatic_spread(exp_primary, exp_model)
    assert abs(float(res.time_to_detection[0]) - t_star) <= 1e-6 * t_star
    # the untreated path integrates the burden by the midpoint rule (second order)
    assert abs(float(res.burden[0, -1]) / burden - 1) < 5e-3
    sham = Chemotherapy(days=[40.0], dose=0.0, half_life_days=1.0, kill_rate=0.0)
    res = metastatic_spread(exp_primary, exp_model, schedule=[sham], birth_points=40)
    assert abs(float(res.burden[0, -1]) / burden - 1) < 1e-6  # exact piece by piece
    assert abs(float(res.time_to_detection[0]) - t_star) < 0.05  # log-linear crossing
    cum = res.cumulative_detection.values[0]
    assert np.all(np.diff(cum) >= -1e-12)
    np.testing.assert_allclose(cum[-1], -math.expm1(-expected_above(T, vd)), rtol=1e-5)


def test_stochastic_mean_within_three_standard_errors(exp_primary, exp_model, times):
    res = metastatic_spread(exp_primary, exp_model, mode="stochastic", replicates=2000, seed=11)
    assert res.attrs["replicates"] == 2000
    checks = _checks(res, exp_model, times)
    se = {"total": res.total_colonies_se.values[0],
          "above ITC": np.hypot(res.colonies_se.values[0, :, 1], res.colonies_se.values[0, :, 2]),
          "macro": res.colonies_se.values[0, :, 2],
          "ITC": res.colonies_se.values[0, :, 0],
          "micro": res.colonies_se.values[0, :, 1],
          "detectable": res.detectable_se.values[0]}
    for name, (got, want) in checks.items():
        ok = want > 0
        assert ok.sum() >= 3, name
        z = (got[ok] - want[ok]) / se[name][ok]
        # (class counts of a Poisson process are independent: the SEs add in quadrature)
        assert np.all(np.abs(z) < 3.0), (name, z)
        assert np.all(got[~ok] == 0), name
    # P(>= 1 macrometastasis): Poisson, 1 - exp(-N), within 3 binomial SE
    p = -np.expm1(-expected_above(times, exp_model.class_volume_bounds()[1]))
    got = res.p_any.sel(size_class="macrometastasis").values[0]
    sd = np.sqrt(np.maximum(p * (1 - p), 1e-12) / 2000)
    assert np.all(np.abs(got - p) < 3 * sd + 1e-12)


def test_stochastic_is_reproducible(exp_primary, exp_model):
    a = metastatic_spread(exp_primary, exp_model, mode="stochastic", replicates=50, seed=3)
    b = metastatic_spread(exp_primary, exp_model, mode="stochastic", replicates=50, seed=3)
    c = metastatic_spread(exp_primary, exp_model, mode="stochastic", replicates=50, seed=4)
    np.testing.assert_array_equal(a.colonies.values, b.colonies.values)
    assert not np.array_equal(a.total_colonies.values, c.total_colonies.values)


@pytest.mark.parametrize("mode", ["deterministic", "stochastic"])
def test_cohort_vectorised(times, exp_model, mode):
    from tgsim.simulation import simulate

    v0 = np.array([10.0, 50.0, 200.0])
    prim = simulate("exponential", times, {"initial_volume": v0, "growth_rate": R})
    res = metastatic_spread(prim, exp_model, mode=mode, replicates=400, seed=2)
    assert res.sizes["subject"] == 3
    for i, v in enumerate(v0):
        want = expected_count(times, v0=v)
        got = res.total_colonies.values[i]
        if mode == "deterministic":
            assert _rel(got, want) <= REL
        else:
            se = res.total_colonies_se.values[i]
            ok = want > 0
            assert np.all(np.abs(got[ok] - want[ok]) < 3.5 * se[ok])


def test_secondary_seeding_solves_the_renewal_equation(exp_primary, times):
    """alpha = 1: with B(t) = int beta(tau) e^{lam (t - tau)} dtau (total colony volume / x0),
    B' = beta_p + (lam + m2 x0) B, so every count has a closed form."""
    m2 = 2e3
    model = MetastasisModel(seeding_rate=M, seeding_exponent=1.0, colony_model="exponential",
                            colony_params={"growth_rate": LAM}, secondary_seeding_rate=m2)
    mu = LAM + m2 * X0
    t = times

    def total(x):
        x = np.maximum(x, 0.0)
        int_bp = M * V0 * np.expm1(R * x) / R
        int_b = M * V0 / (R - mu) * (np.expm1(R * x) / R - np.expm1(mu * x) / mu)
        return int_bp + m2 * X0 * int_b

    errors = []
    for points in (501, 1001):
        res = metastatic_spread(exp_primary, model, secondary_points=points)
        assert res.attrs["method"] == "age+secondary"
        errors.append(_rel(res.total_colonies.values[0][1:], total(t)[1:]))
        vm = model.class_volume_bounds()[1]
        want = total(t - math.log(vm / X0) / LAM) * (t > math.log(vm / X0) / LAM)
        assert _rel(res.colonies.sel(size_class="macrometastasis").values[0], want) < 1e-3
    assert errors[1] < 1e-3
    assert 3.0 < errors[0] / errors[1] < 5.0  # second order in the grid step
    # without secondary seeding the counts are Iwata's, and strictly smaller
    plain = metastatic_spread(exp_primary, MetastasisModel(
        seeding_rate=M, seeding_exponent=1.0, colony_model="exponential",
        colony_params={"growth_rate": LAM}))
    assert np.all(plain.total_colonies.values[0][1:] < res.total_colonies.values[0][1:])
    with pytest.raises(TgsimError, match="mode='deterministic' only"):
        metastatic_spread(exp_primary, model, mode="stochastic", replicates=10)
    sham = Chemotherapy(days=[40.0], dose=0.0, half_life_days=1.0, kill_rate=0.0)
    with pytest.raises(TgsimError, match="needs untreated colonies"):
        metastatic_spread(exp_primary, model, schedule=[sham])
