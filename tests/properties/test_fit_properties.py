"""Property tests of the fitter: invariances that must hold for any data."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tgsim.fitting as tf

T = np.arange(0.0, 30.0, 3.0)


def _data(seed: int, v0: float, r: float, k: float, n: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = k * (v0 / k) ** np.exp(-r * T)
    return f * (1 + 0.1 * rng.standard_normal((n, T.size)))


params = dict(
    seed=st.integers(0, 2**31 - 1),
    v0=st.floats(5.0, 200.0),
    r=st.floats(0.04, 0.2),
    k=st.floats(1500.0, 8000.0),
)
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scale=st.floats(1e-3, 1e3), **params)
def test_rescaling_the_data_rescales_the_volume_parameters(scale, seed, v0, r, k):
    """Under proportional error, y -> c y maps V0 -> c V0, K -> c K, r and sigma unchanged,
    and -2 log L shifts by exactly 2 n log c.

    The estimates agree to 1e-5 relative, or, for a parameter the data barely determine
    (a plateau far above the data), to 1e-3 of its standard error: the convergence test
    bounds the distance to the optimum in the metric of the Fisher information, so a flat
    direction is pinned only to a fraction of its standard error."""
    Y = _data(seed, v0, r, k)
    a = tf.fit((T, Y), "gompertz", ftol=1e-12)
    b = tf.fit((T, Y * scale), "gompertz", ftol=1e-12)
    both = a.success & b.success
    factor = np.array([scale, 1.0, scale, 1.0])
    for j in range(4):  # log-scale parameters: compare log estimates
        d = np.abs(np.log(b.estimate[both, j]) - np.log(factor[j] * a.estimate[both, j]))
        se = np.sqrt(np.diagonal(a.cov_working, axis1=1, axis2=2)[both, j])
        assert np.all(d <= np.maximum(1e-5, 1e-3 * np.nan_to_num(se))), (j, d, se)
    np.testing.assert_allclose(b.neg2ll[both] - a.neg2ll[both],
                               2 * T.size * np.log(scale), rtol=1e-6, atol=1e-6)


@SETTINGS
@given(shift=st.floats(-100.0, 100.0), **params)
def test_shifting_time_changes_nothing(shift, seed, v0, r, k):
    Y = _data(seed, v0, r, k)
    a = tf.fit((T, Y), "gompertz")
    b = tf.fit((T + shift, Y), "gompertz")
    np.testing.assert_allclose(b.estimate, a.estimate, rtol=1e-6)


@SETTINGS
@given(order=st.permutations(range(4)), seed=st.integers(0, 2**31 - 1))
def test_subjects_are_fitted_independently(order, seed):
    """A subject's estimate does not depend on which other subjects share the batch."""
    Y = _data(seed, 50.0, 0.08, 3000.0, n=4)
    a = tf.fit((T, Y), "gompertz")
    b = tf.fit((T, Y[list(order)]), "gompertz")
    np.testing.assert_allclose(b.estimate, a.estimate[list(order)], rtol=1e-12)
    np.testing.assert_array_equal(b.status, a.status[list(order)])


@SETTINGS
@given(**params)
def test_aic_identity_and_loglik_at_least_that_of_the_truth(seed, v0, r, k):
    """AIC = -2 log L + 2k, and the maximised likelihood is at least the likelihood at the
    true growth parameters (with sigma at its own conditional maximum)."""
    Y = _data(seed, v0, r, k, n=1)
    res = tf.fit((T, Y), "gompertz", n_starts=3)
    assert res.success[0]
    np.testing.assert_allclose(res.aic, res.neg2ll + 2 * res.k)
    f = k * (v0 / k) ** np.exp(-r * T)
    s2 = np.mean(((Y[0] - f) / f) ** 2)
    truth = np.sum(np.log(2 * np.pi * s2 * f**2)) + T.size
    assert res.neg2ll[0] <= truth + 1e-6
