"""Results do not depend on how a cohort is split into chunks.

Untreated ODE cohorts are integrated eight subjects at a time in SIMD lanes that share
steps; the groups are fixed by subject index (chunk sizes are rounded up to a multiple of
eight), so every chunking gives bit-identical volumes.
"""

import numpy as np
import pytest

from tgsim.cohort.simulate import simulate_cohort
from tgsim.cohort.virtual import LogNormal, VirtualPopulation

TIMES = np.arange(0.0, 121.0, 30.0)


def _pop():
    return VirtualPopulation("exponential_linear", {
        "initial_volume": LogNormal(50.0, 0.3), "growth_rate": LogNormal(0.2, 0.3),
        "linear_rate": LogNormal(30.0, 0.3)})


def _vol(n, chunk):
    ds = simulate_cohort("exponential_linear", TIMES, _pop(), n, seed=5, chunk_size=chunk,
                         scheduler="synchronous")
    return ds.volume.values


def test_chunk_sizes_not_multiples_of_the_lane_width_agree():
    ref = _vol(203, 203)
    for chunk in (37, 61, 100):
        np.testing.assert_array_equal(_vol(203, chunk), ref)


@pytest.mark.slow
def test_chunk_sizes_37003_and_100000_agree():
    np.testing.assert_array_equal(_vol(100_000, 37_003), _vol(100_000, 100_000))
