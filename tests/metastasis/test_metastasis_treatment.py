"""Treatment effects on spread: surgery stops seeding, shedding, seeding factors, colony
acceleration, systemic therapy on colonies, local radiotherapy.

Every expectation is an independent closed form for an exponential primary (piecewise
exponential under treatment) with exponential colonies.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from metastasis_helpers import (
    ALPHA,
    LAM,
    V0,
    X0,
    M,
    PiecewiseExponential,
    R,
    bisect,
    expected_count,
)

from tgsim.metastasis import MetastasisModel, metastatic_spread, schedule_from_attrs
from tgsim.simulation import simulate
from tgsim.treatment import Acceleration, Radiotherapy, Surgery, TargetedTherapy

T = np.linspace(0.0, 400.0, 401)
REL = 1e-6


def _prim(schedule, times=T):
    return simulate("exponential", times, {"initial_volume": V0, "growth_rate": R},
                    schedule=schedule)


def _rel(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def test_complete_resection_stops_seeding(exp_model):
    d = 100.0
    prim = _prim([Surgery(day=d, resected_fraction=0.995)])
    res = metastatic_spread(prim, exp_model, times=T[::10])
    t = T[::10]
    assert _rel(res.seeded.values[0], expected_count(np.minimum(t, d))) <= 1e-12
    assert np.all(res.seeding_rate.values[0][t >= d] == 0)
    after = t >= d
    total = res.total_colonies.values[0]
    assert np.all(total[after] == total[after][0])  # no colony born after surgery
    vm = exp_model.class_volume_bounds()[1]
    macro = res.colonies.sel(size_class="macrometastasis").values[0]
    want = np.where(t - math.log(vm / X0) / LAM > 0,
                    expected_count(np.minimum(t - math.log(vm / X0) / LAM, d)), 0.0)
    assert want[-1] > 0.5 and _rel(macro, want) <= REL
    # stochastic: every replicate's count is frozen after surgery, so the mean is too
    sto = metastatic_spread(prim, exp_model, times=t, mode="stochastic", replicates=300, seed=5)
    st = sto.total_colonies.values[0]
    assert np.all(st[after] == st[after][0])
    assert abs(st[-1] - expected_count(d)) < 3 * float(sto.total_colonies_se[0, -1])


def test_partial_resection_keeps_seeding_from_the_residual(exp_model):
    d, f = 100.0, 0.5
    prim = _prim([Surgery(day=d, resected_fraction=f)])
    res = metastatic_spread(prim, exp_model, times=T[::10])
    t = T[::10]
    base = expected_count(t)
    want = np.where(t < d, base, expected_count(d) + (1 - f) ** ALPHA * (base - expected_count(d)))
    assert _rel(res.seeded.values[0], want) <= 1e-9
    rate = M * ((1 - f) * V0 * np.exp(R * t)) ** ALPHA
    assert _rel(res.seeding_rate.values[0][t >= d], rate[t >= d]) <= 1e-9


@pytest.mark.parametrize("mode", ["deterministic", "stochastic"])
def test_shed_colonies_appear_at_the_surgery_day(mode):
    d, n = 100.0, 5.0
    model = MetastasisModel(seeding_rate=0.0, colony_model="exponential",
                            colony_params={"growth_rate": LAM})
    a_itc = math.log(model.class_volume_bounds()[0] / X0) / LAM
    a_mic = math.log(model.class_volume_bounds()[1] / X0) / LAM
    times = np.array([0.0, d - 1e-3, d, d + 0.5 * a_itc, d + a_itc + 1, d + a_mic + 1, 399.0])
    prim = _prim([Surgery(day=d, resected_fraction=0.995, shed_colonies=n)],
                 times=np.unique(np.concatenate([T, times])))
    res = metastatic_spread(prim, model, times=times, mode=mode, replicates=2000, seed=8)
    total = res.total_colonies.values[0]
    cls = res.colonies.values[0]
    assert total[0] == 0 and total[1] == 0  # nothing before the operation
    if mode == "deterministic":
        np.testing.assert_allclose(total[2:], n, rtol=1e-12)
        np.testing.assert_allclose(res.seeded.values[0, 2:], n, rtol=1e-12)
    else:
        se = float(res.total_colonies_se[0, 2])
        assert abs(total[2] - n) < 3 * se
        assert np.all(total[2:] == total[2])  # born once, at the operation
    # born at d with one cell: ITC until age a_itc, micro until a_mic, then macro
    for k, c in ((2, 0), (3, 0), (4, 1), (5, 2), (6, 2)):
        assert cls[k, c] == pytest.approx(total[k], rel=1e-12), (k, c)
        assert cls[k].sum() == pytest.approx(total[k], rel=1e-12)


def test_biopsy_sheds_without_stopping_seeding(exp_model):
    d, n = 150.0, 2.5
    prim = _prim([Surgery(day=d, resected_fraction=0.0, shed_colonies=n, name="biopsy")])
    res = metastatic_spread(prim, exp_model, times=T[::10])
    t = T[::10]
    assert _rel(res.seeded.values[0], expected_count(t) + n * (t >= d)) <= 1e-12


def test_seeding_factor_multiplies_emission_after_onset(exp_model):
    onset, phi = 100.0, 3.0
    prim = _prim([Acceleration(onset_day=onset, factor=1.0, seeding_factor=phi)])
    res = metastatic_spread(prim, exp_model, times=T[::10])
    assert res.attrs["method"] == "age"  # colonies are not accelerated
    t = T[::10]

    def lam(x):
        c = expected_count(x)
        return c + (phi - 1) * np.maximum(c - expected_count(onset), 0.0)

    assert _rel(res.seeded.values[0], lam(t)) <= 1e-12
    vm = exp_model.class_volume_bounds()[1]
    x = t - math.log(vm / X0) / LAM
    assert _rel(res.colonies.sel(size_class="macrometastasis").values[0],
                np.where(x > 0, lam(x), 0.0)) <= REL


def test_colony_growth_acceleration_exact(exp_model):
    onset, phi = 100.0, 1.5
    prim = _prim([Acceleration(onset_day=onset, factor=phi, colony_growth=True)])
    t = T[::20]
    res = metastatic_spread(prim, exp_model, times=t, birth_points=60)
    assert res.attrs["method"] == "characteristics"
    primary = PiecewiseExponential([(0.0, onset, math.log(V0), R),
                                    (onset, 1e9, math.log(V0) + R * onset, R * phi)])
    assert _rel(res.seeded.values[0], primary.cumulative(t)) <= 1e-9

    def above(tk, size):
        ls = math.log(size / X0)

        def growth(tau):  # ln(X/x0) at tk of a colony born at tau
            slow = max(0.0, min(tk, onset) - tau)
            fast = max(0.0, tk - max(tau, onset))
            return LAM * slow + LAM * phi * fast - ls

        if growth(0.0) <= 0:
            return 0.0
        return float(primary.cumulative(bisect(growth, 0.0, tk))[0])

    vi, vm = exp_model.class_volume_bounds()
    got = {vi: res.colonies.sel(size_class=["micrometastasis", "macrometastasis"])
           .sum("size_class").values[0],
           vm: res.colonies.sel(size_class="macrometastasis").values[0],
           exp_model.detection_volume: res.detectable.values[0]}
    for size, values in got.items():
        want = np.array([above(tk, size) for tk in t])
        assert want[-1] > 0.1
        assert _rel(values, want) <= REL, size


def test_systemic_therapy_acts_on_colonies(exp_model):
    a, b, k = 100.0, 160.0, 0.05
    prim = _prim([TargetedTherapy(start=a, stop=b, kill_rate=k)])
    t = T[::20]
    res = metastatic_spread(prim, exp_model, times=t, birth_points=60)
    assert res.attrs["method"] == "characteristics"
    primary = PiecewiseExponential([(0.0, a, math.log(V0), R),
                                    (a, b, math.log(V0) + R * a, R - k),
                                    (b, 1e9, math.log(V0) + R * a + (R - k) * (b - a), R)])
    assert _rel(res.seeded.values[0], primary.cumulative(t)) <= 1e-9
    vi = exp_model.class_volume_bounds()[0]

    def above(tk, size):
        ls = math.log(size / X0)

        def growth(tau):  # colonies grow at LAM - k while exposed
            exposed = max(0.0, min(tk, b) - max(tau, a))
            return LAM * (tk - tau) - k * exposed - ls

        if growth(0.0) <= 0:
            return 0.0
        return float(primary.cumulative(bisect(growth, 0.0, tk))[0])

    want = np.array([above(tk, vi) for tk in t])
    got = res.colonies.sel(size_class=["micrometastasis", "macrometastasis"]) \
        .sum("size_class").values[0]
    assert want[-1] > 1 and _rel(got, want) <= REL
    # the same births with untreated colonies would give more colonies above 0.2 mm
    x = t - math.log(vi / X0) / LAM
    untreated = np.where(x > 0, primary.cumulative(x), 0.0)
    assert np.all(got <= untreated * (1 + 1e-6))
    assert np.any(got < 0.5 * untreated)


def test_radiotherapy_is_local(exp_model):
    days = [100.0, 101.0, 102.0]
    rt = Radiotherapy(days=days, dose_gy=2.0)
    sf = float(rt.surviving_fraction())
    prim = _prim([rt])
    t = T[::10]
    res = metastatic_spread(prim, exp_model, times=t)
    assert res.attrs["method"] == "age"  # colonies untouched
    lnv = math.log(V0)
    segs = [(0.0, 100.0, lnv, R)]
    for j, dday in enumerate(days):
        end = days[j + 1] if j + 1 < len(days) else 1e9
        segs.append((dday, end, lnv + R * dday + (j + 1) * math.log(sf), R))
    primary = PiecewiseExponential(segs)
    assert _rel(res.seeded.values[0], primary.cumulative(t)) <= 1e-9
    vm = exp_model.class_volume_bounds()[1]
    x = t - math.log(vm / X0) / LAM
    assert _rel(res.colonies.sel(size_class="macrometastasis").values[0],
                np.where(x > 0, primary.cumulative(x), 0.0)) <= REL


def test_schedule_round_trips_through_attrs():
    sched = [Surgery(day=50.0, resected_fraction=0.999, shed_colonies=1.0),
             Acceleration(onset_day=60.0, factor=1.2, seeding_factor=2.0, colony_growth=True),
             TargetedTherapy(start=70.0, stop=90.0, kill_rate=0.01,
                             acceleration=Acceleration(onset_day=5.0, factor=1.1))]
    prim = _prim(sched)
    back = schedule_from_attrs(prim.attrs)
    assert back.to_dict() == json.loads(prim.attrs["schedule"])
    assert len(back) == 3
