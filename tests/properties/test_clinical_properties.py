"""Property tests (hypothesis) for the clinical read-outs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_REPO = Path(__file__).resolve().parents[2]
if str(_REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(_REPO))

from tgsim.clinical import (  # noqa: E402
    doubling_time,
    irecist,
    metastasis_size_class,
    recist,
    specific_growth_rate,
    t_stage,
    threshold_growth,
    tumour_growth_kinetics,
    tumour_growth_rate,
)

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# a lesion size is either gone (0) or >= 25 mm: then every sum is 0 or >= 25 mm, so a
# 20 % increase over a non-zero nadir is always >= 5 mm, and the categories depend on
# ratios only (Eisenhauer 2009)
SIZE = st.one_of(st.just(0.0), st.floats(25.0, 200.0))
BASE = st.floats(25.0, 200.0)


@st.composite
def lesion_tables(draw, sizes=SIZE):
    n_lesions = draw(st.integers(1, 3))
    n_visits = draw(st.integers(2, 5))
    rows = []
    for k in range(n_lesions):
        values = [draw(BASE)] + [draw(sizes) for _ in range(n_visits - 1)]
        for v, d in enumerate(values):
            rows.append({"subject": "P", "day": 42.0 * v, "lesion": f"L{k}", "diameter_mm": d})
    return pd.DataFrame(rows)


@FAST
@given(lesion_tables(), st.floats(1.0, 10.0))
def test_recist_categories_invariant_to_scaling(df, c):
    scaled = df.assign(diameter_mm=df["diameter_mm"] * c)
    a = recist(df)
    b = recist(scaled)
    assert a.table["response"].tolist() == b.table["response"].tolist()
    assert a.best["best_response"].tolist() == b.best["best_response"].tolist()


@st.composite
def shrinking_tables(draw):
    n_lesions = draw(st.integers(1, 3))
    n_visits = draw(st.integers(2, 6))
    rows = []
    for k in range(n_lesions):
        d = draw(st.floats(10.0, 150.0))
        for v in range(n_visits):
            rows.append({"subject": "P", "day": 56.0 * v, "lesion": f"L{k}", "diameter_mm": d})
            d = draw(st.one_of(st.just(0.0), st.floats(0.0, d)))
    return pd.DataFrame(rows)


@FAST
@given(shrinking_tables())
def test_monotonically_shrinking_series_is_never_pd(df):
    r = recist(df)
    assert "PD" not in r.table["response"].dropna().tolist()
    assert r.best["best_response"].iloc[0] in ("CR", "PR", "SD")
    i = irecist(df)
    assert not set(i.table["response"].dropna()) & {"iUPD", "iCPD"}


@FAST
@given(lesion_tables(), st.floats(0.0, 300.0))
def test_non_target_lesions_never_change_the_sum(df, nt_size):
    nt = pd.DataFrame(
        {
            "subject": "P",
            "day": sorted(set(df["day"])),
            "lesion": "NT",
            "diameter_mm": nt_size,
            "kind": "non-target",
            "status": "present",
        }
    )
    with_nt = pd.concat([df.assign(kind="target"), nt], ignore_index=True)
    a = recist(df).table["sum_mm"].to_numpy()
    b = recist(with_nt).table["sum_mm"].to_numpy()
    np.testing.assert_array_equal(a, b)


DAYS = st.lists(st.floats(1.0, 120.0), min_size=2, max_size=6).map(lambda steps: np.cumsum(steps))


@FAST
@given(DAYS, st.data(), st.floats(1e-3, 1e3))
def test_threshold_growth_invariant_to_unit_scaling(days, data, c):
    d = np.array(data.draw(st.lists(st.floats(0.1, 100.0), min_size=len(days), max_size=len(days))))
    assert threshold_growth(days, d).tolist() == threshold_growth(days, d * c).tolist()


@FAST
@given(DAYS, st.data())
def test_growth_rate_signs_follow_the_sum(days, data):
    s = np.array(data.draw(st.lists(st.floats(1.0, 300.0), min_size=len(days), max_size=len(days))))
    change = np.sign(np.diff(s))
    np.testing.assert_array_equal(np.sign(np.atleast_1d(tumour_growth_rate(days, s))), change)
    np.testing.assert_array_equal(np.sign(np.atleast_1d(tumour_growth_kinetics(days, s))), change)


@FAST
@given(DAYS, st.data())
def test_doubling_time_times_sgr_is_ln2(days, data):
    v = np.array(data.draw(st.lists(st.floats(1.0, 1e4), min_size=len(days), max_size=len(days))))
    sgr = np.atleast_1d(specific_growth_rate(days, v))
    dt = np.atleast_1d(doubling_time(days, v))
    growing = sgr != 0
    np.testing.assert_allclose(dt[growing] * sgr[growing], np.log(2.0), rtol=1e-9)
    assert np.all(np.isinf(dt[~growing]))


LUNG_ORDER = ["T0", "T1a", "T1b", "T1c", "T2a", "T2b", "T3", "T4"]
MET_ORDER = ["ITC", "micrometastasis", "macrometastasis"]


@FAST
@given(st.lists(st.floats(0.0, 200.0), min_size=2, max_size=20))
def test_staging_is_monotone_in_size(sizes):
    d = np.sort(np.array(sizes))
    stage = [LUNG_ORDER.index(s) for s in t_stage(d)]
    assert stage == sorted(stage)
    cls = [MET_ORDER.index(s) for s in metastasis_size_class(d / 50.0)]
    assert cls == sorted(cls)
