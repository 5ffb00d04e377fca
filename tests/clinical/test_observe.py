"""Observation: size conversions, measurement error, detection limit, schedules, scan()."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from tgsim import observe as ob
from tgsim.clinical import recist
from tgsim.errors import DataError


def simulation(volumes, times, observed=None, subjects=None) -> xr.Dataset:
    """A hand-built simulation Dataset: volume(subject, time) in mm^3, time in days."""
    v = np.atleast_2d(np.asarray(volumes, dtype=float))
    subjects = subjects or [f"s{k}" for k in range(v.shape[0])]
    data = {"volume": (("subject", "time"), v, {"units": "mm^3", "long_name": "tumour volume"})}
    if observed is not None:
        data["observed"] = (
            ("subject", "time"),
            np.atleast_2d(np.asarray(observed, dtype=float)),
            {"units": "mm^3", "long_name": "observed volume"},
        )
    return xr.Dataset(data, coords={"subject": subjects, "time": np.asarray(times, float)})


# -------------------------------------------------------------------- conversions


def test_sphere_conversions():
    # V = pi/6 D^3
    assert ob.sphere_volume(10.0) == pytest.approx(math.pi / 6 * 1000)
    assert ob.sphere_diameter(ob.sphere_volume(12.3)) == pytest.approx(12.3)
    np.testing.assert_allclose(ob.sphere_diameter([0.0, math.pi / 6]), [0.0, 1.0])


def test_caliper_formulas():
    # ellipsoid pi/6 L W^2 and the common L W^2 / 2
    assert ob.ellipsoid_volume(10.0, 6.0) == pytest.approx(math.pi / 6 * 360)
    assert ob.caliper_volume(10.0, 6.0) == pytest.approx(180.0)
    assert ob.ellipsoid_volume(8.0, 8.0) == pytest.approx(ob.sphere_volume(8.0))


def test_cells():
    assert ob.CELLS_PER_MM3 == 1e6
    assert ob.volume_to_cells(2.0) == 2e6
    assert ob.volume_to_cells(2.0, cells_per_mm3=5e5) == 1e6
    assert ob.cells_to_volume(3e6) == 3.0
    with pytest.raises(DataError, match="cells_per_mm3"):
        ob.volume_to_cells(1.0, cells_per_mm3=0)


def test_conversion_bad_input():
    with pytest.raises(
        DataError, match=r"`diameter_mm` must be finite and >= 0; got diameter_mm\[1\]"
    ):
        ob.sphere_volume([1.0, -2.0])


# ------------------------------------------------------------------------ errors


def test_error_models_are_seeded_and_reproducible():
    y = np.full(1000, 20.0)
    for model in (
        ob.AdditiveError(1.0),
        ob.ProportionalError(0.1),
        ob.CombinedError(1.0, 0.1),
        ob.LogNormalError(0.1),
    ):
        a = model.apply(y, seed=3)
        b = model.apply(y, seed=3)
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, model.apply(y, seed=4))
        assert np.all(a >= 0)


def test_error_model_moments():
    y = np.full(20000, 20.0)
    add = ob.AdditiveError(2.0).apply(y, seed=1)
    assert add.std() == pytest.approx(2.0, rel=0.05)
    prop = ob.ProportionalError(0.1).apply(y, seed=1)
    assert prop.std() == pytest.approx(2.0, rel=0.05)
    comb = ob.CombinedError(1.5, 0.1).apply(y, seed=1)
    assert comb.std() == pytest.approx(math.sqrt(1.5**2 + 2.0**2), rel=0.05)
    logn = ob.LogNormalError(0.2).apply(y, seed=1)
    assert np.log(logn).std() == pytest.approx(0.2, rel=0.05)
    assert np.median(logn) == pytest.approx(20.0, rel=0.02)


def test_zero_error_and_none():
    y = np.array([1.0, 2.0, np.nan])
    np.testing.assert_array_equal(ob.ProportionalError(0.0).apply(y, seed=1), y)
    np.testing.assert_array_equal(ob.add_measurement_error(y, None), y)
    with pytest.raises(DataError, match="sd_mm"):
        ob.AdditiveError(-1.0)
    with pytest.raises(DataError, match="MeasurementError"):
        ob.add_measurement_error(y, "proportional")


def test_additive_error_is_clipped_at_zero():
    out = ob.AdditiveError(10.0).apply(np.full(500, 0.5), seed=0)
    assert out.min() == 0.0


# ------------------------------------------------------------ detection, schedules


def test_detection_limit():
    assert ob.is_visible([0.0, 4.9, 5.0, 7.0], 5.0).tolist() == [False, False, True, True]
    assert ob.is_visible([0.0, 0.1], 0.0).tolist() == [False, True]


def test_month_is_the_same_everywhere():
    from tgsim.clinical import DAYS_PER_MONTH

    assert ob.DAYS_PER_MONTH == DAYS_PER_MONTH == 30.4375


def test_schedules():
    assert ob.EVERY_6_WEEKS == 42.0 and ob.EVERY_8_WEEKS == 56.0
    assert ob.EVERY_3_MONTHS == pytest.approx(3 * 30.4375)
    assert ob.scan_schedule("6w", 0, 130).tolist() == [0.0, 42.0, 84.0, 126.0]
    assert ob.scan_schedule("8 weeks", 10, 122).tolist() == [10.0, 66.0, 122.0]
    np.testing.assert_allclose(
        ob.scan_schedule("3 months", 0, 365.25), [0, 91.3125, 182.625, 273.9375, 365.25]
    )
    assert ob.parse_interval(42) == 42.0
    with pytest.raises(DataError, match="every_days"):
        ob.parse_interval("6 fortnights")
    with pytest.raises(DataError, match="every_days"):
        ob.parse_interval(0)


def test_sum_of_diameters():
    d = np.array([[10.0, 20.0], [5.0, np.nan]])
    np.testing.assert_array_equal(ob.sum_of_diameters(d), [30.0, np.nan])
    np.testing.assert_array_equal(ob.sum_of_diameters(d, skipna=True), [30.0, 5.0])


# --------------------------------------------------------------------------- scan


def test_scan_log_linear_interpolation_is_exact_for_exponential_growth():
    t = np.arange(0.0, 71.0, 10.0)
    v = 100.0 * np.exp(0.03 * t)
    out = ob.scan(simulation(v, t), every_days="3w")
    assert out["day"].values.tolist() == [0.0, 21.0, 42.0, 63.0]
    np.testing.assert_allclose(
        out["volume"].values[0], 100.0 * np.exp(0.03 * out["day"].values)
    )
    np.testing.assert_allclose(out["diameter"].values, out["true_diameter"].values)
    np.testing.assert_allclose(
        out["diameter"].values[0], ob.sphere_diameter(100.0 * np.exp(0.03 * out["day"].values))
    )
    assert out["diameter"].attrs["units"] == "mm"
    assert out["day"].attrs["units"] == "days"
    assert out["volume"].attrs["units"] == "mm^3"
    assert out["diameter"].dims == ("subject", "scan")


def test_scan_prefers_observed_over_volume():
    t = [0.0, 10.0]
    out = ob.scan(simulation([100.0, 100.0], t, observed=[100.0, 300.0]), days=[10.0])
    assert out["volume"].values[0, 0] == pytest.approx(300.0)
    assert out.attrs["source_variable"] == "observed"


def test_scan_detection_limit_and_error():
    t = [0.0, 100.0]
    ds = simulation([[500.0, 500.0], [10.0, 10.0]], t)  # D = 9.85 mm and 2.67 mm
    out = ob.scan(
        ds, every_days=50, detection_limit_mm=5.0, error=ob.ProportionalError(0.1), seed=7
    )
    assert out["visible"].values.tolist() == [[True] * 3, [False] * 3]
    assert np.all(out["diameter"].values[1] == 0.0)
    again = ob.scan(
        ds, every_days=50, detection_limit_mm=5.0, error=ob.ProportionalError(0.1), seed=7
    )
    xr.testing.assert_identical(out, again)
    assert not np.allclose(out["diameter"].values[0], out["true_diameter"].values[0])


def test_scan_outside_range_is_a_clear_error():
    ds = simulation([100.0, 200.0], [0.0, 50.0])
    with pytest.raises(
        DataError, match=r"scan day 56.0 is outside the simulated time range \[0.0, 50.0\]"
    ):
        ob.scan(ds, days=[0.0, 56.0])
    with pytest.raises(DataError, match="outside"):
        ob.scan(ds, start_day=-10.0)


def test_scan_bad_dataset():
    with pytest.raises(DataError, match="volume"):
        ob.scan(xr.Dataset({"x": ("time", [1.0])}, coords={"time": [0.0]}))
    with pytest.raises(DataError, match=">= 0"):
        ob.scan(simulation([100.0, -1.0], [0.0, 1.0]))


def test_scan_zero_volume_uses_linear_interpolation():
    out = ob.scan(simulation([100.0, 0.0], [0.0, 10.0]), days=[5.0])
    assert out["volume"].values[0, 0] == pytest.approx(50.0)


def test_scan_to_recist():
    # a tumour shrinking then regrowing, scanned every 8 weeks
    t = np.arange(0.0, 337.0, 7.0)
    d = np.where(t < 112, 30.0 - 0.1 * t, 18.8 + 0.12 * (t - 112))
    ds = simulation(ob.sphere_volume(d), t)
    scans = ob.scan(ds, every_days="8w")
    table = ob.scans_to_lesions(scans)
    assert list(table.columns) == ["subject", "day", "lesion", "diameter_mm", "kind"]
    r = recist(scans)
    # 30 -> 24.4 (-18.7 %) SD -> 18.8 (-37 %) PR -> 25.52 (+35.7 % / +6.7 mm over nadir) PD
    assert r.table["response"].tolist()[1:4] == ["SD", "PR", "PD"]
