"""Recovery of known parameters from synthetic data (200 replicates per design).

Each design: 10-12 points, proportional error with CV 10 %. Checks, per parameter:

* bias: |mean(estimate) - truth| <= tol x median(stated standard error)
  (tol = 0.5 for the fast Gompertz test, 1.0 across all cards);
* coverage: the 95 % intervals contain the truth in 90-99 % of replicates;
* (Gompertz) calibration: sd(estimates) / median(s.e.) within [0.75, 1.35].

The replicates are fitted in one batched call. The slow test covers every built-in card
(two_population under a targeted therapy, which makes its resistant fraction visible).
"""

from __future__ import annotations

import numpy as np
import pytest

import tgsim
import tgsim.fitting as tf
from tgsim.simulation import simulate

R = 200

DESIGNS = {
    "exponential": ({"initial_volume": 20.0, "growth_rate": 0.15}, np.arange(0, 30, 3.0), None),
    "logistic": ({"initial_volume": 50.0, "growth_rate": 0.25, "carrying_capacity": 2000.0},
                 np.arange(0, 40, 4.0), None),
    "gompertz": ({"initial_volume": 50.0, "growth_rate": 0.08, "carrying_capacity": 3000.0},
                 np.arange(0, 30, 3.0), None),
    "von_bertalanffy": ({"initial_volume": 50.0, "growth_rate": 3.0, "loss_rate": 0.1,
                         "exponent": 2 / 3}, np.arange(0, 48, 4.0), None),
    "power_law": ({"initial_volume": 50.0, "growth_rate": 2.0, "exponent": 0.7},
                  np.arange(0, 36, 3.0), None),
    "exponential_linear": ({"initial_volume": 20.0, "growth_rate": 0.3, "linear_rate": 100.0},
                           np.arange(0, 36, 3.0), None),
    "stein": ({"initial_volume": 100.0, "growth_rate": 0.01, "decay_rate": 0.05},
              np.arange(0, 120, 10.0), None),
    "two_population": ({"initial_volume": 100.0, "resistant_fraction": 0.05, "growth_rate": 0.2,
                        "resistant_growth_rate": 0.1, "carrying_capacity": 5000.0},
                       np.arange(0, 96, 8.0), "targeted"),
}


def _replicates(card, seed=1):
    true, t, sched = DESIGNS[card]
    schedule = [tgsim.TargetedTherapy(start=12.0, stop=200.0, kill_rate=0.4)] if sched else None
    f = simulate(card, t, true, schedule=schedule).volume.values[0]
    rng = np.random.default_rng(seed)
    Y = f * (1 + 0.1 * rng.standard_normal((R, t.size)))
    return true, t, Y, schedule


def _check(card, bias_tol, calibration):
    true, t, Y, schedule = _replicates(card)
    res = tf.fit((t, Y), card, schedule=schedule)
    ok = res.success
    assert ok.mean() >= 0.99, res.summary()
    for name, value in true.items():
        j = res.param_names.index(name)
        est, se = res.estimate[ok, j], res.stderr[ok, j]
        med_se = np.nanmedian(se)
        bias = np.mean(est) - value
        assert abs(bias) <= bias_tol * med_se, (card, name, bias, med_se)
        inside = (res.ci_lower[ok, j] <= value) & (value <= res.ci_upper[ok, j])
        cover = inside.mean()
        assert 0.90 <= cover <= 0.99, (card, name, cover)
        if calibration:
            ratio = np.std(est) / med_se
            assert 0.75 <= ratio <= 1.35, (card, name, ratio)


def test_gompertz_recovery_200_replicates():
    _check("gompertz", bias_tol=0.5, calibration=True)


@pytest.mark.slow
@pytest.mark.parametrize("card", sorted(DESIGNS))
def test_every_card_recovers_its_parameters(card):
    _check(card, bias_tol=1.0, calibration=False)
