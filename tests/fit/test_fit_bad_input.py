"""Bad input gets a clear error or a per-subject status; it never sinks the batch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from fit_helpers import GOMPERTZ_TRUE, TIMES, gompertz, noisy

import tgsim.fitting as tf
from tgsim.errors import DataError, Status, TgsimError, TgsimWarning


@pytest.fixture
def good(rng):
    return noisy(gompertz(TIMES, *GOMPERTZ_TRUE.values()), rng, n=1)[0]


def _batch(good, *others):
    rows = [good, *others]
    return np.vstack([np.asarray(r, dtype=float) for r in rows])


def test_too_few_points_is_not_identifiable_and_the_rest_fits(good):
    short = np.full(TIMES.size, np.nan)
    short[:3] = good[:3]  # 3 points for 4 estimated parameters
    res = tf.fit((TIMES, _batch(good, short, good)), "gompertz")
    assert list(res.status) == [0, Status.NOT_IDENTIFIABLE, 0]
    assert "not identifiable" in res.message[1] and "3 usable point" in res.message[1]
    assert np.all(np.isnan(res.estimate[1, 1:]))
    assert np.isnan(res.aic[1])
    np.testing.assert_allclose(res.estimate[0], res.estimate[2])


def test_all_equal_values_are_flagged(good):
    res = tf.fit((TIMES, _batch(good, np.full(TIMES.size, 7.0))), "gompertz")
    assert res.status[1] == Status.NOT_IDENTIFIABLE
    assert "equal" in res.message[1]
    assert res.success[0]


def test_zeros_under_a_log_error_model_are_left_out_with_a_warning(good):
    y = good.copy()
    y[4] = 0.0
    with pytest.warns(TgsimWarning, match="non-positive"):
        res = tf.fit((TIMES, y), "gompertz", error_model="lognormal")
    assert res.success[0]
    assert res.n_obs[0] == TIMES.size - 1
    assert res.data.excluded[0] == 1
    # under the proportional model a zero is a valid observation
    with warnings.catch_warnings():
        warnings.simplefilter("error", TgsimWarning)
        res2 = tf.fit((TIMES, y), "gompertz", error_model="proportional")
    assert res2.n_obs[0] == TIMES.size


def test_only_zeros_under_a_log_model_is_bad_data(good):
    with pytest.warns(TgsimWarning):
        res = tf.fit((TIMES, _batch(good, np.zeros(TIMES.size))), "gompertz",
                     error_model="lognormal")
    assert res.status[1] == Status.BAD_DATA
    assert res.success[0]


def test_negative_sizes_are_refused_naming_subject_and_obs(good):
    y = _batch(good, good)
    y[1, 5] = -3.0
    with pytest.raises(DataError, match=r"subject '1', obs 5: sizes must be >= 0"):
        tf.fit((TIMES, y), "gompertz")


def test_nan_rows_are_skipped(good):
    y = good.copy()
    y[[2, 6]] = np.nan
    res = tf.fit((TIMES, y), "gompertz")
    ref = tf.fit((np.delete(TIMES, [2, 6]), np.delete(good, [2, 6])), "gompertz")
    assert res.success[0] and res.n_obs[0] == TIMES.size - 2
    np.testing.assert_allclose(res.estimate, ref.estimate, rtol=1e-10)
    ds = res.to_dataset()
    assert np.isnan(ds.fitted.values[0, 2]) and np.isfinite(ds.fitted.values[0, 3])


def test_unknown_units_are_refused_unless_named(good):
    ds = xr.Dataset(
        {"time": (("subject", "obs"), TIMES[None]),
         "value": (("subject", "obs"), good[None], {"units": "furlong^3"})},
        coords={"subject": ["a"]},
    )
    with pytest.raises(DataError, match="not a size unit"):
        tf.fit(ds, "gompertz")
    res = tf.fit(ds, "gompertz", unit="furlong^3")
    assert res.success[0] and res.unit == "furlong^3"
    assert res.param_units[0] == "furlong^3"  # size parameters carry the unit fitted
    with pytest.raises(DataError, match="contradicts"):
        tf.fit(ds, "gompertz", unit="mm^3")


def test_diameters_are_converted_to_sphere_volumes(good):
    d = (6 * good / np.pi) ** (1 / 3)
    ds = xr.Dataset(
        {"time": (("subject", "obs"), TIMES[None]),
         "value": (("subject", "obs"), d[None], {"units": "mm"})},
        coords={"subject": ["a"]},
    )
    res = tf.fit(ds, "gompertz")
    ref = tf.fit((TIMES, good), "gompertz")
    np.testing.assert_allclose(res.estimate, ref.estimate, rtol=1e-8)
    assert "pi d^3 / 6" in res.data.conversion


def test_non_converged_subject_is_flagged_with_its_reason(good, rng):
    res = tf.fit((TIMES, _batch(good, good * 1.3)), "gompertz", max_iter=1, restarts=0)
    assert np.all(res.status == Status.MAX_ITERATIONS)
    assert all("maximum number of iterations" in m for m in res.message)
    assert np.all(np.isnan(res.aic))


def test_unsorted_times_and_late_t0_are_refused(good):
    with pytest.raises(DataError, match="strictly increasing"):
        tf.fit((TIMES[::-1], good), "gompertz")
    with pytest.raises(DataError, match="t0"):
        tf.fit((TIMES, good), "gompertz", t0=5.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"error_model": "poisson"}, "error_model"),
        ({"method": "newton"}, "method"),
        ({"fixed": {"nonsense": 1.0}}, "nonsense"),
        ({"fixed": {"growth_rate": -1.0}}, "growth_rate must be in"),
        ({"bounds": {"growth_rate": (1.0, 0.5)}}, "lower < upper"),
        ({"start": {"bogus": 1.0}}, "bogus"),
        ({"max_iter": 0}, "max_iter"),
        ({"level": 1.5}, "level"),
        ({"solver": "rk4"}, "solver"),
    ],
)
def test_invalid_options_name_the_argument(good, kwargs, match):
    with pytest.raises(TgsimError, match=match):
        tf.fit((TIMES, good), "gompertz", **kwargs)


def test_mismatched_array_shapes(good):
    with pytest.raises(DataError, match="same shape"):
        tf.fit((TIMES[:-1], good), "gompertz")
    with pytest.raises(DataError, match="pair"):
        tf.fit((TIMES, good, good), "gompertz")
    with pytest.raises(DataError, match="must be a series Dataset"):
        tf.fit(42, "gompertz")
