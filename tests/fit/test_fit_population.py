"""Population fit (SAEM) on a simulated population of 100 subjects.

Simulation: Gompertz, log-normal random effects on all three parameters (omega = 0.2, 0.3,
0.3), 10 points over 27 days, proportional error CV 10 %. The variances are compared
with the realised variances of the simulated random effects (the population's own), since
with 100 subjects the sampling error of a variance alone is about sqrt(2/100) = 14 %; the
nominal variances are reported alongside. The two-stage estimates (individual fits, then
the variance of the log estimates) are reported too and are inflated by estimation noise.
"""

from __future__ import annotations

import numpy as np
import pytest

import tgsim.fitting as tf
from tgsim.fitting.saem import fit_population
from tgsim.simulation import simulate

MU = {"initial_volume": 50.0, "growth_rate": 0.08, "carrying_capacity": 3000.0}
OMEGA = {"initial_volume": 0.2, "growth_rate": 0.3, "carrying_capacity": 0.3}


@pytest.fixture(scope="module")
def population():
    rng = np.random.default_rng(0)
    n = 100
    t = np.arange(0.0, 30.0, 3.0)
    eta = {k: OMEGA[k] * rng.standard_normal(n) for k in MU}
    P = {k: MU[k] * np.exp(eta[k]) for k in MU}
    f = simulate("gompertz", t, P).volume.values
    Y = f * (1 + 0.1 * rng.standard_normal(f.shape))
    res = fit_population((t, Y), "gompertz", seed=0)
    realised = np.array([np.var(eta[k]) for k in MU])
    return res, realised, eta, (t, Y)


def test_population_recovers_fixed_effects_and_variances(population):
    res, realised, _, _ = population
    truth = np.array(list(MU.values()))
    nominal = np.array([OMEGA[k] ** 2 for k in MU])
    typ_err = res.typical / truth - 1
    var_err = res.omega2 / realised - 1
    ts_err = res.two_stage["omega2"] / realised - 1
    print("\nSAEM typical error %:", np.round(100 * typ_err, 1))
    print("SAEM omega^2 vs realised %:", np.round(100 * var_err, 1),
          "vs nominal %:", np.round(100 * (res.omega2 / nominal - 1), 1))
    print("two-stage omega^2 vs realised %:", np.round(100 * ts_err, 1))
    assert np.all(np.abs(typ_err) < 0.15)
    assert np.all(np.abs(var_err) < 0.15)
    assert abs(res.sigma / 0.1 - 1) < 0.15
    # two-stage variances are inflated by estimation noise; SAEM's are closer overall
    assert np.sum(np.abs(var_err)) < np.sum(np.abs(ts_err))
    assert np.all(res.two_stage["omega2"] > res.omega2 * 0.95)


def test_standard_errors_shrinkage_and_ebes(population):
    res, realised, eta, _ = population
    # RSE of a variance from 100 subjects is about sqrt(2/100) = 14 % (plus data noise)
    assert np.all((res.rse_omega2 > 10) & (res.rse_omega2 < 30))
    assert np.all((res.rse_typical > 1) & (res.rse_typical < 6))
    assert np.all((res.shrinkage > -0.1) & (res.shrinkage < 0.4))
    assert np.all(res.ebe_status == 0)
    # EBEs track the simulated individual parameters
    for j, k in enumerate(MU):
        est = np.log(res.individual[:, j] / res.typical[j])
        assert np.corrcoef(est, eta[k])[0, 1] > 0.8
    s = res.summary()
    for word in ("SAEM", "RSE%", "shrink", "two-stage", "omega^2"):
        assert word in s
    ds = res.to_dataset()
    assert ds["individual"].dims == ("subject", "param")
    assert res.trace["mu"].shape[1] == 3


def test_population_bad_options(population):
    _, _, _, data = population
    with pytest.raises(ValueError, match="random_effects"):
        fit_population(data, "gompertz", random_effects=["nonsense"], n_burn=2, n_iter=2)
    with pytest.raises(ValueError, match="combined"):
        fit_population(data, "gompertz", error_model="combined")
    assert callable(tf.fit)
    with pytest.raises(ValueError, match="n_chains"):
        fit_population(data, "gompertz", n_chains=0, n_burn=2, n_iter=2)


def test_population_chains_lower_monte_carlo_noise(population):
    """Several chains per subject: estimates from different seeds agree more closely than
    with one chain (the spread of the SAEM estimates is Monte Carlo noise)."""
    _, _, _, data = population
    spread = {}
    for nc in (1, 4):
        om = np.array([fit_population(data, "gompertz", n_chains=nc, seed=s, n_burn=150,
                                      n_iter=100).omega2 for s in range(4)])
        spread[nc] = np.std(np.log(om), axis=0).max()
    assert spread[4] < spread[1]
