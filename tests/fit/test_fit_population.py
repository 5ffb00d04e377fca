"""Population fit (SAEM) on a simulated population, checked against an independent exact
likelihood (adaptive quadrature written in ``population_exact``).

Simulation: 60 mice, Gompertz from V0 = 1 mm³ at day 0 (held), log-normal random effects
on growth_rate (omega 0.25) and carrying_capacity (omega 0.35), an arm effect on the
growth rate (factor 1.3 in the treated-looking arm "B"), 10 points over days 10-37,
proportional error (CV 10 %). With 60 subjects the sampling error of a variance is about
sqrt(2/60) = 18 %, so variances are compared with the realised ones.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from population_exact import neg2ll as exact_neg2ll

import tgsim.fitting as tf
from tgsim.errors import TgsimWarning
from tgsim.fitting.saem import PopulationResult, fit_population
from tgsim.fitting.saem_engine import trend_test
from tgsim.simulation import simulate

TRUE = {"growth_rate": 0.08, "carrying_capacity": 3000.0}
OMEGA = {"growth_rate": 0.25, "carrying_capacity": 0.35}
ARM_FACTOR = 1.3
T = np.arange(10.0, 40.0, 3.0)


def _simulate(seed: int, n: int = 60):
    rng = np.random.default_rng(seed)
    eta = {k: OMEGA[k] * rng.standard_normal(n) for k in TRUE}
    arm = np.where(np.arange(n) % 2 == 0, "A", "B")
    r = TRUE["growth_rate"] * np.exp(eta["growth_rate"]) * np.where(arm == "B", ARM_FACTOR, 1)
    K = TRUE["carrying_capacity"] * np.exp(eta["carrying_capacity"])
    f = simulate("gompertz", np.r_[0.0, T], {"initial_volume": np.ones(n), "growth_rate": r,
                                             "carrying_capacity": K}).volume.values[:, 1:]
    Y = f * (1 + 0.1 * rng.standard_normal(f.shape))
    return Y, arm, eta


@pytest.fixture(scope="module")
def population():
    Y, arm, eta = _simulate(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit_population((T, Y), "gompertz", t0=0.0, fixed={"initial_volume": 1.0},
                             covariates={"growth_rate": ["arm"]},
                             covariate_data={"arm": arm}, n_burn=100, n_iter=60,
                             is_samples=500, seed=0)
    return res, Y, arm, eta, caught


def test_estimates_recover_the_simulation(population):
    res, _, _, eta, caught = population
    assert isinstance(res, PopulationResult) and res.converged and not res.flags
    assert not [w for w in caught if issubclass(w.category, TgsimWarning)]
    for j, k in ((1, "growth_rate"), (2, "carrying_capacity")):
        assert abs(res.typical[j] / TRUE[k] - 1) < 0.15
        # omega reported as an SD; variance under its own name
        realised = np.std(eta[k])
        assert abs(res.omega[j] / realised - 1) < 0.25
        assert res.omega2[j] == pytest.approx(res.omega[j] ** 2)
    (c,) = res.covariate_effects
    assert c["parameter"] == "growth_rate" and c["covariate"] == "arm=B (vs A)"
    assert abs(c["beta"] - np.log(ARM_FACTOR)) < 3 * c["se"] and 0.01 < c["se"] < 0.2
    assert abs(res.sigma / 0.1 - 1) < 0.15


def test_likelihoods_agree_with_an_independent_quadrature(population):
    """Importance sampling and Gauss-Hermite vs the exact -2LL at the same estimates."""
    res, Y, arm, _, _ = population
    mask = np.ones(Y.shape, bool)
    Tm = np.broadcast_to(T, Y.shape)
    beta = res.covariate_effects[0]["beta"]
    shift = np.stack([np.where(arm == "B", beta, 0.0), np.zeros(arm.size)], 1)
    p = [res.mu[1], res.mu[2], np.log(res.omega[1]), np.log(res.omega[2]), np.log(res.sigma)]
    exact = exact_neg2ll(p, Tm, Y, mask, error="proportional", shift=shift)
    lk = res.likelihoods
    print(f"\nexact {exact:.3f}; IS {lk['is']:.3f} (MC SE {res.neg2ll_se:.2f}), "
          f"GH {lk['gh']:.3f}, linearised {lk['lin']:.3f}")
    assert res.neg2ll_method == "is" and res.neg2ll == lk["is"]
    assert abs(lk["is"] - exact) < 1.0
    assert abs(lk["gh"] - exact) < 0.1
    assert abs(lk["lin"] - exact) < 10.0  # an approximation; close on these data


def test_summary_dataset_and_criteria(population):
    res = population[0]
    s = res.summary()
    for word in ("omega (SD)", "omega^2", "importance sampling", "Gauss-Hermite",
                 "linearisation", "BIC_obs", "Monolix", "nlme", "day 0 for every subject",
                 "arm=B (vs A)", "converged: yes", "shrink%"):
        assert word in s, word
    assert res.bic == pytest.approx(res.neg2ll + res.k * np.log(60))
    assert res.bic_obs == pytest.approx(res.neg2ll + res.k * np.log(res.n_obs))
    assert res.k == 3 + 2 + 1  # mu_r, mu_K, beta; two variances; sigma
    ds = res.to_dataset()
    assert ds["omega"].dims == ("param",) and ds.attrs["neg2ll_method"] == "importance sampling"
    assert ds["excluded"].sum() == 0
    assert res.trace["theta_runs"].shape[1] == 3  # three independent runs


def test_npde_and_figures(population):
    import matplotlib.pyplot as plt

    res = population[0]
    tab = res.residuals(n_sim=200)
    assert len(tab) == res.n_obs
    # under the true model NPDE are N(0, 1): 600 values
    assert abs(tab["npde"].mean()) < 0.2 and 0.8 < tab["npde"].std() < 1.2
    assert abs(tab["cwres"].mean()) < 0.3 and 0.7 < tab["cwres"].std() < 1.3
    axes = res.gof(n_sim=50)
    assert axes.shape == (2, 2) and "shrinkage" in axes[0, 1].texts[0].get_text()
    ax = res.vpc(n_sim=30)
    assert ax.get_yscale() == "log" and len(ax.collections) >= 4
    assert np.ravel(res.plot_convergence()).size >= 4
    plt.close("all")


def test_trend_test_flags_a_drift_and_not_noise():
    rng = np.random.default_rng(0)
    W = 200
    theta = 0.01 * rng.standard_normal((W, 3, 2))
    om = np.exp(0.02 * rng.standard_normal((W, 3, 1))) * 0.1
    ep = np.full((W, 3, 2), 0.2)
    labels = ["a", "b", "log omega^2 c", "log sigma"]
    assert trend_test(theta, om, ep, labels, 1)[0] == []
    om_drift = om * np.exp(-np.linspace(0, 0.5, W))[:, None, None]
    trending, evidence = trend_test(theta, om_drift, ep, labels, 1)
    assert trending == ["log omega^2 c"] and "changed by -0.5" in evidence


def test_fixed_initial_volume_without_t0_warns_and_degenerate_fit_is_flagged():
    """Exponential growth from a fixed V0 cannot follow Gompertz data: the error and
    variance estimates degenerate, and the fit says so."""
    Y, _, _ = _simulate(2, n=12)
    Y0 = Y.copy()
    Y0[3, 4] = 0.0  # cannot enter a log-normal error model
    with pytest.warns(TgsimWarning, match="t0=0"), \
            pytest.warns(TgsimWarning, match="`excluded` of a population fit"):
        res = fit_population((T, Y0), "exponential", fixed={"initial_volume": 1.0},
                             n_burn=10, n_iter=5, n_runs=1, likelihood="lin",
                             error_model="lognormal")
    assert res.excluded.tolist() == [0, 0, 0, 1] + [0] * 8
    assert "each subject's first observation" in res.summary()
    with pytest.warns(TgsimWarning, match="degenerate|not converge"):
        res = fit_population((T, Y), "exponential", t0=0.0, fixed={"initial_volume": 1.0},
                             n_burn=40, n_iter=20, n_runs=1, likelihood="lin")
    assert res.flags and "FLAGS" in res.summary()


def test_population_bad_options():
    data = (T, _simulate(3, n=4)[0])
    with pytest.raises(ValueError, match="random_effects"):
        fit_population(data, "gompertz", random_effects=["nonsense"], n_burn=2, n_iter=2)
    with pytest.raises(ValueError, match="n_chains"):
        fit_population(data, "gompertz", n_chains=0)
    with pytest.raises(ValueError, match="likelihood"):
        fit_population(data, "gompertz", likelihood="exact")
    with pytest.raises(ValueError, match="covariate"):
        fit_population(data, "gompertz", covariates={"growth_rate": ["weight"]},
                       n_burn=2, n_iter=2)
    assert callable(tf.fit)
