"""TGI read-outs against hand computations and closed forms."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tgsim.errors import DataError
from tgsim.tgi.readouts import (
    growth_delay,
    percent_tgi,
    size_at,
    size_ratio,
    t_over_c,
    time_to_regrowth,
    time_to_size,
    ttg_claret,
)


def _claret(t, kl, kd, lam, y0=100.0):
    return y0 * np.exp(kl * t - kd / lam * (1 - np.exp(-lam * t)))


@pytest.mark.parametrize("kl, kd, lam", [(0.01, 0.03, 0.02), (0.02, 0.1, 0.05),
                                         (0.005, 0.012, 0.01)])
def test_ttg_of_dense_claret_curve_matches_closed_form(kl, kd, lam):
    t = np.linspace(0, 400, 801)                      # 0.5-day grid
    ttg, regrows = time_to_regrowth(t, _claret(t, kl, kd, lam))
    assert regrows
    # parabolic refinement of a smooth minimum: within 1/50 of the 0.5-day grid spacing
    assert ttg == pytest.approx(ttg_claret(kl, kd, lam), abs=1e-2)


def test_ttg_edge_cases():
    assert ttg_claret(0.02, 0.01, 0.1) == 0.0            # kill never beats growth
    assert ttg_claret(0.01, 0.02, 0.0) == math.inf       # no resistance: never regrows
    t = np.linspace(0, 10, 11)
    assert time_to_regrowth(t, np.exp(-t)) == (10.0, False)   # censored at the span
    assert time_to_regrowth(t, np.exp(t)) == (0.0, True)
    with pytest.raises(DataError, match="kill_rate must be a finite number >= 0; got -1"):
        ttg_claret(0.01, -1, 0.1)


def test_size_ratio_t_over_c_delay_tgi_by_hand():
    t = [0, 14, 28, 42, 56]
    treated = [100, 90, 70, 80, 120]
    control = [100, 200, 400, 800, 1600]
    np.testing.assert_allclose(size_ratio(t, treated), [0.8, 1.2])
    assert size_ratio(t, treated, weeks=[10])[0] != size_ratio(t, treated, weeks=[10])[0]
    # T/C at day 42: (80/100) / (800/100) = 10 %
    assert t_over_c((t, treated), (t, control), 42) == pytest.approx(10.0)
    assert t_over_c((t, treated), (t, control), 42, relative=False) == pytest.approx(10.0)
    # control doubles every 14 days -> reaches 4x at day 28; treated: 4x = 400 never
    assert growth_delay((t, control), (t, control)) == 0.0
    assert math.isnan(growth_delay((t, treated), (t, control)))
    assert growth_delay((t, treated), (t, control), fold=1.1) == pytest.approx(
        42 + 14 * math.log(110 / 80) / math.log(120 / 80) - 28 * math.log(1.1) / math.log(4))
    # %TGI at day 42: 100 (1 - (80 - 100) / (800 - 100))
    assert percent_tgi((t, treated), (t, control), 42) == pytest.approx(
        100 * (1 + 20 / 700))


def test_arms_use_median_or_mean():
    t = [0, 21]
    treated = [(t, [100, 150]), (t, [100, 300]), (t, [100, 120])]
    control = [(t, [100, 500]), (t, [100, 700])]
    assert t_over_c(treated, control, 21) == pytest.approx(100 * 1.5 / 6.0)
    assert t_over_c(treated, control, 21, statistic="mean") == pytest.approx(
        100 * (570 / 3 / 100) / 6.0)
    with pytest.raises(DataError, match="must grow"):
        percent_tgi(control, treated[:1] + [(t, [100, 50])] * 3, 21)


def test_bad_series():
    with pytest.raises(DataError, match="increasing; got 1 after 2"):
        size_at([0, 2, 1], [1, 2, 3], 1)
    with pytest.raises(DataError, match="sizes must be >= 0; got -3"):
        size_at([0, 1], [1, -3], 0.5)
    with pytest.raises(DataError, match="baseline size"):
        size_ratio([0, 42], [0.0, 3.0])


@settings(max_examples=50, deadline=None)
@given(st.floats(0.001, 0.2), st.floats(1.0, 1e4), st.floats(1.01, 50.0))
def test_exponential_interpolation_is_exact(rate, v0, fold):
    t = np.linspace(0, 100, 6)
    v = v0 * np.exp(rate * t)
    target = v0 * fold
    want = math.log(fold) / rate
    got = time_to_size(t, v, target)
    if want <= 100:
        assert got == pytest.approx(want, rel=1e-9)
        assert size_at(t, v, got) == pytest.approx(target, rel=1e-9)
    else:
        assert math.isnan(got)
