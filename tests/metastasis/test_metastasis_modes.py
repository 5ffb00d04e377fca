"""Deterministic vs stochastic agreement on Gompertz colonies, and the size classes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tgsim.clinical.staging as staging
from tgsim.metastasis import (
    ITC_MAX_MM,
    MICRO_MAX_MM,
    SIZE_CLASSES,
    MetastasisModel,
    class_bounds_mm,
    diameter_to_volume,
    metastatic_spread,
    readouts,
    spread_summary,
    volume_to_diameter,
)
from tgsim.metastasis import _kernels as K
from tgsim.simulation import simulate


@pytest.fixture(scope="module")
def gompertz_pair():
    t = np.linspace(0.0, 240.0, 241)
    prim = simulate("gompertz", t, {"initial_volume": 20.0, "growth_rate": 0.01,
                                    "carrying_capacity": 5e4})
    model = MetastasisModel(seeding_rate=2e-3, seeding_exponent=0.7,
                            colony_params={"growth_rate": 0.02, "carrying_capacity": 1e3},
                            detection_limit_mm=3.0)
    times = t[::30]
    det = metastatic_spread(prim, model, times=times)
    sto = metastatic_spread(prim, model, times=times, mode="stochastic", replicates=2000,
                            seed=20240)
    return det, sto


def test_gompertz_colonies_deterministic_vs_stochastic(gompertz_pair):
    det, sto = gompertz_pair
    assert det.attrs["colony_model"] == "gompertz" and det.attrs["method"] == "age"
    pairs = [("total_colonies", det.total_colonies, sto.total_colonies, sto.total_colonies_se),
             ("detectable", det.detectable, sto.detectable, sto.detectable_se),
             ("burden", det.burden, sto.burden, sto.burden_se)]
    for c in SIZE_CLASSES:
        pairs.append((c, det.colonies.sel(size_class=c), sto.colonies.sel(size_class=c),
                      sto.colonies_se.sel(size_class=c)))
    nontrivial = 0
    for name, d, s, se in pairs:
        d, s, se = d.values[0], s.values[0], se.values[0]
        ok = se > 0
        nontrivial += int(ok.sum())
        z = (s[ok] - d[ok]) / se[ok]
        assert np.all(np.abs(z) < 3.0), (name, z)
        # where no replicate has any colony the expectation must be negligible
        assert np.all(d[~ok] < 5e-3), (name, d[~ok])
    assert nontrivial >= 25
    # every class is populated at some time
    assert np.all(det.colonies.max("time").values[0] > 0.5)


def test_poisson_probabilities_match(gompertz_pair):
    det, sto = gompertz_pair
    p = det.p_any.values[0]
    np.testing.assert_allclose(p, -np.expm1(-det.colonies.values[0]), rtol=1e-12)
    sd = np.sqrt(np.maximum(p * (1 - p), 1e-12) / 2000)
    assert np.all(np.abs(sto.p_any.values[0] - p) < 3.5 * sd + 1e-9)
    # median time to the first detectable metastasis agrees within a few days
    assert abs(float(det.time_to_detection[0]) - float(sto.time_to_detection[0])) < 5.0


def test_class_boundaries_are_the_clinical_ones():
    assert ITC_MAX_MM is staging.ITC_MAX_MM and MICRO_MAX_MM is staging.MICRO_MAX_MM
    assert readouts.ITC_MAX_MM is staging.ITC_MAX_MM
    assert (ITC_MAX_MM, MICRO_MAX_MM) == (0.2, 2.0)
    assert class_bounds_mm() == (0.2, 2.0)
    assert SIZE_CLASSES == ("ITC", "micrometastasis", "macrometastasis")
    m = MetastasisModel(seeding_rate=1.0)
    vi, vm = m.class_volume_bounds()
    assert vi == pytest.approx(math.pi / 6 * 0.2**3, rel=1e-15)
    assert vm == pytest.approx(math.pi / 6 * 2.0**3, rel=1e-15)
    assert volume_to_diameter(vi) == pytest.approx(0.2, rel=1e-14)
    assert diameter_to_volume(2.0) == pytest.approx(vm, rel=1e-15)
    assert m.colony_start_volume == 1e-6


def test_tally_classifies_on_the_clinical_boundaries():
    # sizes exactly at and around the boundaries, classified as the clinical module does
    d = np.array([0.05, 0.2, 0.2 * (1 + 1e-9), 1.0, 2.0, 2.0 * (1 + 1e-9), 7.0])
    vi, vm = (float(diameter_to_volume(x)) for x in class_bounds_mm())
    # the volumes of the exact boundaries are the class bounds themselves
    vols = np.asarray(diameter_to_volume(d))
    vols[1], vols[4] = vi, vm
    X = vols[:, None].copy()
    sums, sq, anyc = np.zeros((1, 1, 5)), np.zeros((1, 1, 5)), np.zeros((1, 1, 5))
    edges = np.array([1e-9, 1e9])
    K.tally(X, np.array([0, d.size]), 1, np.array([vi, vm]), float(diameter_to_volume(5.0)),
            edges, sums, sq, anyc, np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1, 1)),
            np.zeros(1, dtype=np.int64))
    want = staging.metastasis_size_class(d)
    counts = {c: int((want == c).sum()) for c in SIZE_CLASSES}
    assert counts == {"ITC": 2, "micrometastasis": 3, "macrometastasis": 2}
    assert sums[0, 0, :3].tolist() == [counts[c] for c in SIZE_CLASSES]
    assert sums[0, 0, 3] == 1 and sums[0, 0, 4] == d.size  # detectable (> 5 mm), total


def test_result_layout_and_summary(gompertz_pair):
    det, sto = gompertz_pair
    for ds in (det, sto):
        assert ds.colonies.dims == ("subject", "time", "size_class")
        assert list(ds.size_class.values) == list(SIZE_CLASSES)
        assert ds.burden.attrs["units"] == "mm^3" and ds.time.attrs["units"] == "day"
        assert ds.class_upper_mm.values.tolist()[:2] == [0.2, 2.0]
        assert int(ds.status[0]) == 0
        # the histogram accounts for every colony inside its range
        h = ds.size_histogram.sum("size_bin").values[0]
        assert np.all(h <= ds.total_colonies.values[0] + 1e-9)
    assert np.all(det.size_histogram.values >= 0)
    text = spread_summary(det)
    assert "deterministic" in text and "P(>=1 macro)" in text and "median time" in text
    assert "stochastic" in spread_summary(sto, times=[120.0])
