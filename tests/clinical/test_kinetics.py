"""TGR, TGK, specific growth rate and doubling time, computed by hand.

References: Ferté C et al. Clin Cancer Res 2014;20:246-252 (TGR);
Saâda-Bouzid E et al. Ann Oncol 2017;28:1605-1611 (TGK);
Mehrara E et al. Cancer Res 2007;67:3970-3975 (SGR, doubling time).
A month is 30.4375 days.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tgsim.clinical import (
    DAYS_PER_MONTH,
    doubling_time,
    specific_growth_rate,
    tumour_growth_kinetics,
    tumour_growth_rate,
)
from tgsim.errors import DataError


def test_month_constant():
    assert DAYS_PER_MONTH == 30.4375 == 365.25 / 12


def test_tgr_by_hand():
    # Ferté 2014: TG = 3 ln(D2/D1) / dt (months), TGR = 100 (exp(TG) - 1)
    # sum doubles in one month: volume x 8 -> TGR = 700 % per month
    assert tumour_growth_rate([0, 30.4375], [10.0, 20.0]) == pytest.approx(700.0)
    # +10 % in 2 months: TG = 3 ln(1.1) / 2, TGR = 100 (1.1**1.5 - 1) = 15.36897...
    tgr = tumour_growth_rate([0, 60.875], [40.0, 44.0])
    assert tgr == pytest.approx(100 * (1.1**1.5 - 1))
    assert tgr == pytest.approx(15.368973, rel=1e-6)
    # shrinkage is negative; vanishing is -100
    assert tumour_growth_rate([0, 30.4375], [20.0, 10.0]) == pytest.approx(100 * (1 / 8 - 1))
    assert tumour_growth_rate([0, 30], [20.0, 0.0]) == -100.0
    assert math.isnan(tumour_growth_rate([0, 30], [0.0, 5.0]))


def test_tgk_by_hand():
    # Saâda-Bouzid 2017: TGK = (S2 - S1) / dt in mm per month; +10 mm in 2 months = 5
    assert tumour_growth_kinetics([0, 60.875], [40.0, 50.0]) == pytest.approx(5.0)
    out = tumour_growth_kinetics([0, 30.4375, 91.3125], [40.0, 42.0, 38.0])
    np.testing.assert_allclose(out, [2.0, -2.0])
    np.testing.assert_allclose(
        tumour_growth_kinetics([0, 30.4375, 91.3125], [40.0, 42.0, 38.0], reference="first"),
        [2.0, -2.0 / 3.0],
    )


def test_per_interval_shapes():
    d = np.array([[10.0, 20.0, 40.0], [10.0, 10.0, 10.0]])
    out = tumour_growth_rate([0, 30.4375, 60.875], d)
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out, [[700.0, 700.0], [0.0, 0.0]])


def test_sgr_and_doubling_time():
    # Mehrara 2007: SGR = ln(V2/V1)/dt ; DT = ln 2 / SGR
    assert specific_growth_rate([0, 30], [100.0, 200.0]) == pytest.approx(math.log(2) / 30)
    assert doubling_time([0, 30], [100.0, 200.0]) == pytest.approx(30.0)
    assert doubling_time([0, 30], [100.0, 100.0]) == math.inf
    assert doubling_time([0, 30], [200.0, 100.0]) == pytest.approx(-30.0)  # halving time
    # x8 in 60 days: 3 doublings, DT 20 days
    assert doubling_time([0, 60], [10.0, 80.0]) == pytest.approx(20.0)
    out = doubling_time([0, 10, 30], [1.0, 2.0, 8.0], reference="first")
    np.testing.assert_allclose(out, [10.0, 10.0])


def test_bad_input():
    with pytest.raises(
        DataError, match=r"`days` must be increasing; got days\[2\]=5.0 after days\[1\]=10.0"
    ):
        doubling_time([0, 10, 5], [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match=r"`volumes` must be > 0; got volumes\[0\]=0.0"):
        doubling_time([0, 10], [0.0, 2.0])
    with pytest.raises(DataError, match="NaN"):
        tumour_growth_rate([0, 10], [np.nan, 2.0])
    with pytest.raises(DataError, match="at least 2"):
        tumour_growth_kinetics([0], [1.0])
    with pytest.raises(DataError, match="reference"):
        tumour_growth_kinetics([0, 1], [1.0, 2.0], reference="last")
