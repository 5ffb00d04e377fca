"""Bad input gets a clear error naming the argument, the rule and the value."""

from __future__ import annotations

import numpy as np
import pytest

from tgsim.errors import ConfigError, TgsimError
from tgsim.metastasis import MetastasisModel, metastatic_spread
from tgsim.metastasis.config import metastasis_from_table


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seeding_rate": -1e-3}, r"`seeding_rate` must be >= 0; got seeding_rate=-0\.001"),
        ({"seeding_rate": [1e-3, -2.0]}, r"seeding_rate\[1\]=-2\.0"),
        ({"seeding_rate": 1.0, "seeding_exponent": 1.6},
         r"`seeding_exponent` must be in \[0, 1\.5\]; got seeding_exponent=1\.6"),
        ({"seeding_rate": 1.0, "seeding_exponent": -0.1}, r"`seeding_exponent` must be in"),
        ({"seeding_rate": 1.0, "detection_limit_mm": 0.0},
         r"`detection_limit_mm` must be > 0; got 0\.0"),
        ({"seeding_rate": 1.0, "detection_limit_mm": -2.0}, r"`detection_limit_mm` must be > 0"),
        ({"seeding_rate": 1.0, "size_bins_mm": [0.1, 1.0, 1.0, 5.0]},
         r"`size_bins_mm` must be strictly increasing; got size_bins_mm\[2\]=1 after "
         r"size_bins_mm\[1\]=1"),
        ({"seeding_rate": 1.0, "size_bins_mm": [0.1, 2.0, 1.0]},
         r"size_bins_mm\[2\]=1 after size_bins_mm\[1\]=2"),
        ({"seeding_rate": 1.0, "size_bins_mm": [1.0]}, r"at least 2 edges"),
        ({"seeding_rate": 1.0, "complete_resection": 1.5}, r"`complete_resection` must be in"),
        ({"seeding_rate": 1.0, "colony_params": {"initial_volume": 1.0}},
         r"must not set initial_volume"),
        ({"seeding_rate": 1.0, "extinction_cells": 2.0}, r"must not exceed `colony_start_cells`"),
        ({"seeding_rate": float("nan")}, r"`seeding_rate` must be >= 0; got seeding_rate=nan"),
    ],
)
def test_model_rejects_bad_values(kwargs, match):
    with pytest.raises(TgsimError, match=match):
        MetastasisModel(**kwargs)


def test_errors_are_value_errors():
    with pytest.raises(ValueError):
        MetastasisModel(seeding_rate=-1.0)


def test_spread_rejects_bad_arguments(exp_primary, exp_model):
    with pytest.raises(TgsimError, match=r"`mode` must be one of deterministic, stochastic"):
        metastatic_spread(exp_primary, exp_model, mode="exact")
    with pytest.raises(TgsimError, match=r"`replicates` must be an integer >= 2; got 1"):
        metastatic_spread(exp_primary, exp_model, mode="stochastic", replicates=1)
    with pytest.raises(TgsimError, match=r"`times` must lie within the primary's times"):
        metastatic_spread(exp_primary, exp_model, times=[0.0, 500.0])
    with pytest.raises(TgsimError, match=r"`model` must be a MetastasisModel"):
        metastatic_spread(exp_primary, {"seeding_rate": 1.0})
    with pytest.raises(TgsimError, match=r"`primary` must be an xarray.Dataset"):
        metastatic_spread(np.ones((2, 3)), exp_model)
    with pytest.raises(TgsimError, match=r"`colony_params`: .*no parameter"):
        metastatic_spread(exp_primary, MetastasisModel(seeding_rate=1.0,
                                                       colony_params={"speed": 1.0}))
    big = MetastasisModel(seeding_rate=10.0, seeding_exponent=1.0)
    with pytest.raises(TgsimError, match=r"max_colonies"):
        metastatic_spread(exp_primary, big, mode="stochastic", replicates=100, max_colonies=1000)


def test_per_primary_arrays_must_match_the_cohort(exp_primary):
    model = MetastasisModel(seeding_rate=[1e-3, 2e-3, 3e-3])
    with pytest.raises(TgsimError, match=r"`seeding_rate` has 3 values but there are 1 primaries"):
        metastatic_spread(exp_primary, model)


def test_config_table_errors_name_file_table_and_key():
    with pytest.raises(ConfigError, match=r"exp\.toml: \[metastasis\]\.seeding_rate: "
                                          r"`seeding_rate` must be >= 0"):
        metastasis_from_table({"seeding_rate": -1.0}, "exp.toml")
    with pytest.raises(ConfigError, match=r"exp\.toml: \[metastasis\]\.seeding_exponent"):
        metastasis_from_table({"seeding_rate": 1.0, "seeding_exponent": 2.0}, "exp.toml")
    with pytest.raises(ConfigError, match=r"\[metastasis\]: unknown key 'seed_rate' "
                                          r"\(did you mean 'seeding_rate'\?\)"):
        metastasis_from_table({"seed_rate": 1.0}, "exp.toml")
    with pytest.raises(ConfigError, match=r"\[metastasis\]: missing key 'seeding_rate'"):
        metastasis_from_table({}, "exp.toml")
    with pytest.raises(ConfigError, match=r"\[metastasis\]\.mode: must be one of"):
        metastasis_from_table({"seeding_rate": 1.0, "mode": "exact"}, "exp.toml")
    with pytest.raises(ConfigError, match=r"\[metastasis\]\.replicates: must be an integer >= 2"):
        metastasis_from_table({"seeding_rate": 1.0, "replicates": 1.5}, "exp.toml")
    with pytest.raises(ConfigError, match=r"\[metastasis\]\.detection_limit_mm"):
        metastasis_from_table({"seeding_rate": 1.0, "detection_limit_mm": 0}, "exp.toml")
    with pytest.raises(ConfigError, match=r"\[metastasis\]\.bins: need 0 < min_mm < max_mm"):
        metastasis_from_table({"seeding_rate": 1.0,
                               "bins": {"min_mm": 5.0, "max_mm": 1.0, "count": 3}}, "exp.toml")


def test_config_table_builds_model_and_options():
    model, opts = metastasis_from_table(
        {"seeding_rate_per_cell": 5.3e-8, "seeding_exponent": 0.663, "mode": "stochastic",
         "replicates": 50, "seed": 3, "bins": {"min_mm": 0.1, "max_mm": 10.0, "count": 4},
         "colony_model": "gompertz", "colony_params": {"growth_rate": 0.01}}, "exp.toml")
    assert opts == {"mode": "stochastic", "replicates": 50, "seed": 3}
    # Iwata's per-cell rate in mm^3 units: m = m_cells * (1e6)^alpha
    assert float(model.seeding_rate) == pytest.approx(5.3e-8 * 1e6**0.663, rel=1e-12)
    np.testing.assert_allclose(model.size_bins_mm, [0.1, 0.316227766, 1.0, 3.16227766, 10.0])
    assert "gompertz" in model.summary() and "0.2 mm" in model.summary()
