"""Property tests for virtual populations: chunk invariance, bounds, monotone transforms."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

import tgsim.cohort.virtual as tp  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None)
positive = st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False)
cvs = st.floats(0.01, 3.0)
seeds = st.integers(0, 2**63 - 1)


@SETTINGS
@given(seed=seeds, cuts=st.lists(st.integers(0, 3000), min_size=0, max_size=5),
       width=st.integers(1, 4))
def test_stream_rows_do_not_depend_on_chunking(seed, cuts, width):
    n = 3000
    edges = sorted({0, n, *cuts})
    whole = tp.stream_normals(seed, 0, n, width)
    parts = [tp.stream_normals(seed, a, b, width) for a, b in zip(edges, edges[1:], strict=False)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@SETTINGS
@given(seed=seeds, median=positive, cv=cvs, rho=st.floats(-0.95, 0.95),
       a=st.integers(0, 500), length=st.integers(1, 300))
def test_sample_range_is_a_slice_of_sample(seed, median, cv, rho, a, length):
    pop = tp.VirtualPopulation("gompertz", {"growth_rate": tp.LogNormal(median / 1e3, cv),
                                     "carrying_capacity": tp.LogNormal(median * 1e3, cv)},
                        correlation=[("growth_rate", "carrying_capacity", rho)])
    b = a + length
    pd.testing.assert_frame_equal(pop.sample(b + 7, seed).iloc[a:b],
                                  pop.sample_range(a, b, seed))


@SETTINGS
@given(seed=seeds, mean=st.floats(-5, 5), sd=st.floats(0.01, 10),
       lo=st.floats(-3, 3), width=st.floats(0.05, 5))
def test_truncated_draws_stay_inside_the_bounds(seed, mean, sd, lo, width):
    d = tp.Normal(mean, sd, lower=lo, upper=lo + width)
    z = tp.stream_normals(seed, 0, 500, 1)[:, 0]
    try:
        x = d.from_normal(z)
    except tp.TgsimError:  # the interval holds no mass: refused, not filled in
        assert d.cdf(lo + width) - d.cdf(lo) <= 1e-14
        return
    assert np.all(x >= lo) and np.all(x <= lo + width)


@SETTINGS
@given(median=positive, cv=cvs, z=st.lists(st.floats(-8, 8), min_size=2, max_size=50))
def test_laws_are_monotone_in_the_normal_variate(median, cv, z):
    z = np.sort(np.array(z))
    for d in (tp.LogNormal(median, cv), tp.Normal(median, cv * median),
              tp.Uniform(median, 2 * median), tp.Empirical([median, 2 * median, 5 * median]),
              tp.LogNormal(median, cv, lower=median / 2, upper=median * 2)):
        x = d.from_normal(z)
        assert np.all(np.diff(x) >= 0)


@SETTINGS
@given(seed=seeds, m=st.integers(2, 5), data=st.data())
def test_valid_correlations_are_reproduced_by_the_factor(seed, m, data):
    # a random valid correlation matrix: normalised Gram matrix of random vectors
    vecs = np.array(data.draw(st.lists(st.lists(st.floats(-1, 1), min_size=m, max_size=m),
                                       min_size=m, max_size=m)))
    gram = vecs @ vecs.T + 0.1 * np.eye(m)
    s = np.sqrt(np.diag(gram))
    R = gram / np.outer(s, s)
    names = ["initial_volume", "growth_rate", "carrying_capacity",
             "immunotherapy.kill_rate", "acceleration.factor"][:m]
    pop = tp.VirtualPopulation("gompertz", {n: tp.LogNormal(1.0, 0.5) for n in names},
                        correlation=(names, R))
    np.testing.assert_allclose(pop.correlation_matrix().loc[names, names].to_numpy(), R,
                               atol=1e-12)
    assert pop.sample(5, seed).shape == (5, len(set(names) | {"initial_volume", "growth_rate",
                                                             "carrying_capacity"}))
