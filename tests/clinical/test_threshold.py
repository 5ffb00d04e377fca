"""LI-RADS v2018 / EASL threshold growth.

Reference: American College of Radiology, CT/MRI LI-RADS v2018 Core: "threshold growth"
is a size increase of a mass by >= 50 % in <= 6 months; EASL Clinical Practice
Guidelines, J Hepatol 2018;69:182-236. A month is 30.4375 days here.
"""

from __future__ import annotations

import numpy as np
import pytest

from tgsim.clinical import THRESHOLD_GROWTH_WINDOW_DAYS, threshold_growth
from tgsim.clinical.threshold import THRESHOLD_GROWTH_MONTHS
from tgsim.errors import DataError


def test_window_constant():
    assert THRESHOLD_GROWTH_MONTHS == 6.0
    assert THRESHOLD_GROWTH_WINDOW_DAYS == pytest.approx(6 * 30.4375) == 182.625


def test_49_percent_is_not_threshold_growth():
    assert threshold_growth([0, 90], [10.0, 14.9]).tolist() == [False, False]


def test_50_percent_exactly_is_threshold_growth():
    assert threshold_growth([0, 90], [10.0, 15.0]).tolist() == [False, True]


def test_50_percent_with_floating_point():
    # 1.5 * 10.2 = 15.299999999999999 in floating point; 15.3 is exactly +50 %
    assert threshold_growth([0, 90], [10.2, 15.3]).tolist() == [False, True]
    assert threshold_growth([0, 90], [0.3, 0.45]).tolist() == [False, True]


def test_window_is_inclusive_at_6_months():
    assert threshold_growth([0, 182.625], [10.0, 15.0]).tolist() == [False, True]
    assert threshold_growth([0, 182.7], [10.0, 15.0]).tolist() == [False, False]


def test_any_earlier_measurement_in_the_window_counts():
    # 8 -> 12 is +50 % although 10 -> 12 is only +20 %
    assert threshold_growth([0, 30, 60], [10.0, 8.0, 12.0]).tolist() == [False, False, True]
    # the 8 mm reference is too old (> 6 months) for the last assessment
    out = threshold_growth([0, 30, 250], [10.0, 8.0, 12.0])
    assert out.tolist() == [False, False, False]


def test_nan_and_zero_are_skipped():
    assert threshold_growth([0, 30, 60], [10.0, np.nan, 15.0]).tolist() == [False, False, True]
    assert threshold_growth([0, 30], [0.0, 5.0]).tolist() == [False, False]


def test_vectorised_over_leading_axes():
    d = np.array([[10.0, 15.0], [10.0, 14.0]])
    assert threshold_growth([0, 60], d).tolist() == [[False, True], [False, False]]


def test_bad_input():
    with pytest.raises(DataError, match=r"`days` must be increasing; got days\[2\]=5.0 after"):
        threshold_growth([0, 10, 5], [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match=r"`diameters_mm` must be >= 0; got diameters_mm\[1\]"):
        threshold_growth([0, 10], [1.0, -2.0])
    with pytest.raises(DataError, match="length of `days`"):
        threshold_growth([0, 10], [1.0, 2.0, 3.0])
