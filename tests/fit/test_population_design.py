"""Covariate designs of population fits: coding, expressions, and errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tgsim.errors import TgsimError
from tgsim.fitting.saem_design import build_design

NAMES = ("initial_volume", "growth_rate", "carrying_capacity")
SUBJ = np.array(["a", "b", "c", "d"])


def _design(cov, data=None, cdata=None):
    return build_design(cov, param_names=NAMES, est_index=np.array([1, 2]), data=data,
                        covariate_data=cdata, subjects=SUBJ)


def test_categorical_and_continuous_columns():
    d = _design({"carrying_capacity": ["arm", "log(weight/25)"]},
                cdata={"arm": ["ctl", "trt", "ctl", "hi"], "weight": [20.0, 25, 30, 25]})
    # mu_r, mu_K, then arm=hi, arm=trt (reference: first sorted level, ctl), log weight
    assert d.coef_label == ("", "", "arm=hi (vs ctl)", "arm=trt (vs ctl)", "log(weight/25)")
    assert d.is_mu.tolist() == [True, True, False, False, False]
    assert d.categorical.tolist() == [False, False, True, True, False]
    np.testing.assert_array_equal(d.X[:, 1, 2], [0, 0, 0, 1])
    np.testing.assert_array_equal(d.X[:, 1, 3], [0, 1, 0, 0])
    np.testing.assert_allclose(d.X[:, 1, 4], np.log(np.array([20.0, 25, 30, 25]) / 25))
    assert np.all(d.X[:, 0, 2:] == 0)  # covariates act on K only
    theta = np.array([np.log(0.1), np.log(3000), 0.5, -0.2, 1.0])
    np.testing.assert_allclose(d.mean(theta)[:, 1], np.log(3000) + [np.log(20 / 25), -0.2,
                                                                    np.log(30 / 25), 0.5])


def test_values_from_a_dataset_in_subject_order():
    ds = xr.Dataset({"dose": ("subject", [1.0, 2.0, 3.0, 4.0])},
                    coords={"subject": ["d", "c", "b", "a"]})
    d = _design({"growth_rate": ["dose"]}, data=ds)
    np.testing.assert_array_equal(d.X[:, 0, 2], [4.0, 3.0, 2.0, 1.0])


@pytest.mark.parametrize(("cov", "cdata", "match"), [
    ({"growth_rate": ["weight"]}, {}, "no values for 'weight'"),
    ({"growth_rate": ["weight"]}, {"weight": [1.0, np.nan, 2, 3]}, "not finite"),
    ({"growth_rate": ["weight"]}, {"weight": [1.0, 1.0, 1, 1]}, "one value"),
    ({"initial_volume": ["weight"]}, {"weight": [1.0, 2, 3, 4]}, "fixed"),
    ({"volume_doubling": ["weight"]}, {"weight": [1.0, 2, 3, 4]}, "not a growth parameter"),
    ({"growth_rate": ["__import__('os')"]}, {}, "covariates"),
    ({"growth_rate": ["log(arm)"]}, {"arm": ["x", "y", "x", "y"]}, "categorical"),
    ({"growth_rate": ["weight"]}, {"weight": [1.0, 2]}, "one value per subject"),
])
def test_bad_covariates_are_named(cov, cdata, match):
    with pytest.raises(TgsimError, match=match):
        _design(cov, cdata=cdata)
