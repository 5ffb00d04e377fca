"""T stage and metastasis size class boundaries.

Reference: Amin MB et al. (eds). AJCC Cancer Staging Manual, 8th ed. Springer 2017:
lung T1a <= 1 cm, T1b > 1-2, T1c > 2-3, T2a > 3-4, T2b > 4-5, T3 > 5-7, T4 > 7 cm;
breast T1mi <= 1 mm, T1a > 1-5, T1b > 5-10, T1c > 10-20, T2 > 20-50, T3 > 50 mm;
ITC <= 0.2 mm, micrometastasis > 0.2-2.0 mm, macrometastasis > 2.0 mm.
"""

from __future__ import annotations

import numpy as np
import pytest

from tgsim.clinical import metastasis_size_class, t_stage
from tgsim.clinical.staging import ITC_MAX_MM, MICRO_MAX_MM
from tgsim.errors import DataError

EPS = 1e-9

LUNG = [
    (0.5, "T1a"),
    (10.0, "T1a"),
    (10.0 + EPS, "T1b"),
    (20.0, "T1b"),
    (20.0 + EPS, "T1c"),
    (30.0, "T1c"),
    (30.0 + EPS, "T2a"),
    (40.0, "T2a"),
    (40.0 + EPS, "T2b"),
    (50.0, "T2b"),
    (50.0 + EPS, "T3"),
    (70.0, "T3"),
    (70.0 + EPS, "T4"),
    (150.0, "T4"),
]

BREAST = [
    (0.5, "T1mi"),
    (1.0, "T1mi"),
    (1.0 + EPS, "T1a"),
    (5.0, "T1a"),
    (5.0 + EPS, "T1b"),
    (10.0, "T1b"),
    (10.0 + EPS, "T1c"),
    (20.0, "T1c"),
    (20.0 + EPS, "T2"),
    (50.0, "T2"),
    (50.0 + EPS, "T3"),
]


@pytest.mark.parametrize(("d", "stage"), LUNG)
def test_lung_boundaries(d, stage):
    assert t_stage(d, site="lung") == stage


@pytest.mark.parametrize(("d", "stage"), BREAST)
def test_breast_boundaries(d, stage):
    assert t_stage(d, site="breast") == stage


def test_vectorised_returns_array_of_strings():
    d = np.array([x for x, _ in LUNG])
    out = t_stage(d)
    assert isinstance(out, np.ndarray)
    assert out.tolist() == [s for _, s in LUNG]
    assert t_stage([[10.0, 71.0]]).shape == (1, 2)
    assert t_stage(0.0) == "T0"


def test_metastasis_constants():
    assert ITC_MAX_MM == 0.2
    assert MICRO_MAX_MM == 2.0


def test_metastasis_boundaries_exact():
    assert metastasis_size_class(0.2) == "ITC"
    assert metastasis_size_class(0.2 + EPS) == "micrometastasis"
    assert metastasis_size_class(2.0) == "micrometastasis"
    assert metastasis_size_class(2.0 + EPS) == "macrometastasis"
    assert metastasis_size_class(0.0) == "ITC"
    out = metastasis_size_class([0.1, 0.2, 1.0, 2.0, 2.5])
    assert out.tolist() == ["ITC", "ITC", "micrometastasis", "micrometastasis", "macrometastasis"]


def test_bad_input():
    with pytest.raises(DataError, match=r"`diameter_mm` must be >= 0; got diameter_mm\[1\]=-1.0"):
        t_stage([1.0, -1.0])
    with pytest.raises(DataError, match="NaN"):
        metastasis_size_class(np.nan)
    with pytest.raises(DataError, match="`site`"):
        t_stage(10.0, site="liver")
