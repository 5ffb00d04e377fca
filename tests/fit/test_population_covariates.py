"""Covariate recovery over 100 simulated studies (slow).

Each study: 50 mice, Gompertz from V0 = 1 mm³ at day 0, growth rate 0.08/day in arm A
and 1.4 times that in arm B (beta = log 1.4), carrying capacity 3000 mm³, log-normal
random effects (omega 0.25 and 0.35), 10 points over days 10-37, proportional error
(CV 10 %). Acceptance: the arm effect exp(beta) is recovered within 15 % on average and
its 95 % Wald interval (SE from the linearised Fisher information) covers the truth in
at least 90 of 100 studies.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tgsim.fitting.saem import fit_population
from tgsim.simulation import simulate

pytestmark = pytest.mark.slow
T = np.arange(10.0, 40.0, 3.0)
BETA = np.log(1.4)


def _study(seed: int, n: int = 50):
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, "A", "B")
    r = 0.08 * np.exp(0.25 * rng.standard_normal(n) + np.where(arm == "B", BETA, 0.0))
    K = 3000.0 * np.exp(0.35 * rng.standard_normal(n))
    f = simulate("gompertz", np.r_[0.0, T], {"initial_volume": np.ones(n), "growth_rate": r,
                                             "carrying_capacity": K}).volume.values[:, 1:]
    return f * (1 + 0.1 * rng.standard_normal(f.shape)), arm


def test_arm_effect_recovered_and_covered():
    est, cover = [], []
    for seed in range(100):
        Y, arm = _study(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit_population((T, Y), "gompertz", t0=0.0, fixed={"initial_volume": 1.0},
                                 covariates={"growth_rate": ["arm"]},
                                 covariate_data={"arm": arm}, n_burn=150, n_iter=100,
                                 n_runs=1, likelihood="lin", seed=seed)
        (c,) = res.covariate_effects
        est.append(c["beta"])
        cover.append(abs(c["beta"] - BETA) <= 1.96 * c["se"])
    factor = np.exp(np.array(est))
    print(f"\nmean factor {factor.mean():.3f} (truth 1.4); median |error| "
          f"{100 * np.median(np.abs(factor / 1.4 - 1)):.1f} %; coverage {np.mean(cover):.2f}")
    assert abs(factor.mean() / 1.4 - 1) < 0.15
    assert np.mean(cover) >= 0.90
