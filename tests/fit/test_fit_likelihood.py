"""Likelihood and information criteria: hand-computed cases and the AIC pitfall."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tgsim.fitting as tf
from tgsim.fitting.likelihood import aic, aicc, akaike_weights, bic, error_model, neg2_loglik


def test_aic_is_minus_two_loglik_plus_two_k_on_a_hand_computed_case():
    """Constant model (exponential growth with the rate fixed at 0), additive error:
    the MLE is V0 = mean(y), sigma^2 = mean((y - mean)^2), so for y = 1, 2, 3, 4
    -2 log L = n log(2 pi sigma^2) + n = 4 log(2 pi 1.25) + 4 and k = 2 (V0, sigma)."""
    y = np.array([1.0, 2.0, 3.0, 4.0])
    t = np.array([0.0, 1.0, 2.0, 3.0])
    res = tf.fit((t, y), "exponential", error_model="additive", fixed={"growth_rate": 0.0},
                 ftol=1e-14)
    assert res.success[0]
    assert res.k == 2
    np.testing.assert_allclose(res.estimate[0, 0], 2.5, rtol=1e-9)
    np.testing.assert_allclose(res.estimate[0, -1], math.sqrt(1.25), rtol=1e-7)
    neg2ll = 4 * math.log(2 * math.pi * 1.25) + 4
    np.testing.assert_allclose(res.neg2ll[0], neg2ll, rtol=1e-10)
    np.testing.assert_allclose(res.aic[0], neg2ll + 2 * 2, rtol=1e-10)
    np.testing.assert_allclose(res.bic[0], neg2ll + 2 * math.log(4), rtol=1e-10)
    np.testing.assert_allclose(res.aicc[0], neg2ll + 4 + 2 * 2 * 3 / (4 - 2 - 1), rtol=1e-10)
    # the known pitfall 2k - 2 ln(SSR) (SSR = 5) gives something else entirely
    assert abs(res.aic[0] - (2 * 2 - 2 * math.log(5.0))) > 10


def test_reported_neg2ll_matches_the_stated_formula(rng):
    """-2 log L of a fit equals the docstring formula evaluated at the estimates."""
    t = np.arange(0.0, 30.0, 3.0)
    f = 3000.0 * (50.0 / 3000.0) ** np.exp(-0.08 * t)
    for em in ("proportional", "additive", "lognormal", "combined"):
        y = f * np.exp(0.1 * rng.standard_normal(t.size)) + (5.0 if em == "combined" else 0.0)
        res = tf.fit((t, y), "gompertz", error_model=em)
        assert res.success[0], res.message
        v0, r, k = res.growth_estimate[0]
        fm = k * (v0 / k) ** np.exp(-r * t)
        err = res.estimate[0, 3:]
        if em == "proportional":
            sd = err[0] * fm
            ref = np.sum(np.log(2 * np.pi * sd**2) + (y - fm) ** 2 / sd**2)
        elif em == "additive":
            ref = np.sum(np.log(2 * np.pi * err[0] ** 2) + (y - fm) ** 2 / err[0] ** 2)
        elif em == "combined":
            sd = err[0] + err[1] * fm
            ref = np.sum(np.log(2 * np.pi * sd**2) + (y - fm) ** 2 / sd**2)
        else:
            ref = np.sum(np.log(2 * np.pi * err[0] ** 2)
                         + (np.log(y) - np.log(fm)) ** 2 / err[0] ** 2 + 2 * np.log(y))
        np.testing.assert_allclose(res.neg2ll[0], ref, rtol=1e-9, err_msg=em)
        np.testing.assert_allclose(res.neg2ll[0], neg2_loglik(y, fm, em, err), rtol=1e-9)
        assert res.k == 3 + len(err)


def test_lognormal_mle_sigma_is_rms_of_log_residuals(rng):
    t = np.arange(0.0, 30.0, 3.0)
    f = 3000.0 * (50.0 / 3000.0) ** np.exp(-0.08 * t)
    y = f * np.exp(0.1 * rng.standard_normal(t.size))
    res = tf.fit((t, y), "gompertz", error_model="lognormal", ftol=1e-14)
    fm = res.fitted[0, : t.size]
    np.testing.assert_allclose(res.estimate[0, -1],
                               np.sqrt(np.mean((np.log(y) - np.log(fm)) ** 2)), rtol=1e-7)


def test_information_criteria_helpers():
    np.testing.assert_allclose(aic(10.0, 3), 16.0)
    np.testing.assert_allclose(bic(10.0, 3, 20), 10 + 3 * math.log(20))
    np.testing.assert_allclose(aicc(10.0, 3, 10), 16.0 + 24 / 6)
    assert np.isnan(aicc(10.0, 3, 4))
    w = akaike_weights([[100.0, 102.0, np.nan]])
    e = math.exp(-1)
    np.testing.assert_allclose(w[0, :2], [1 / (1 + e), e / (1 + e)])
    assert np.isnan(w[0, 2])
    assert np.all(np.isnan(akaike_weights([[np.nan, np.nan]])))


def test_error_model_names():
    assert error_model("log-normal").name == "lognormal"
    assert error_model("combined").parameters == ("sigma_additive", "sigma_proportional")
    with pytest.raises(ValueError, match="error_model"):
        error_model("poisson")
