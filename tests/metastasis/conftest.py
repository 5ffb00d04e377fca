"""Shared fixtures of the metastasis tests."""

from __future__ import annotations

import numpy as np
import pytest
from metastasis_helpers import ALPHA, LAM, V0, M, R

from tgsim.metastasis import MetastasisModel
from tgsim.simulation import simulate


@pytest.fixture(scope="session")
def times():
    return np.linspace(0.0, 300.0, 31)


@pytest.fixture(scope="session")
def exp_primary(times):
    return simulate("exponential", times, {"initial_volume": V0, "growth_rate": R})


@pytest.fixture(scope="session")
def exp_model():
    return MetastasisModel(seeding_rate=M, seeding_exponent=ALPHA, colony_model="exponential",
                           colony_params={"growth_rate": LAM})
