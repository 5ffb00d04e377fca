"""FitResult: layout of to_dataset / to_frame, summary, plot, predictions, other inputs."""

from __future__ import annotations

import numpy as np
import pytest
from fit_helpers import GOMPERTZ_TRUE, TIMES, gompertz, noisy

import tgsim
import tgsim.fitting as tf
from tgsim.simulation import simulate


@pytest.fixture
def result(rng):
    Y = noisy(gompertz(TIMES, *GOMPERTZ_TRUE.values()), rng, n=3)
    Y[2, 7:] = np.nan
    return tf.fit((TIMES, Y), "gompertz")


def test_to_dataset_has_the_curvefit_like_layout(result):
    ds = result.to_dataset()
    assert list(ds["param"].values) == ["initial_volume", "growth_rate", "carrying_capacity",
                                        "sigma"]
    assert ds["estimate"].dims == ("subject", "param")
    assert ds["stderr"].dims == ("subject", "param")
    assert ds["covariance"].dims == ("subject", "param", "param_")
    for v in ("aic", "bic", "success", "status", "neg2ll"):
        assert ds[v].dims == ("subject",)
    assert ds["fitted"].dims == ("subject", "obs") and ds.sizes["obs"] == TIMES.size
    assert ds.attrs["k"] == 4 and ds.attrs["error_model"] == "proportional"
    assert list(ds["param_unit"].values) == ["mm^3", "1/day", "mm^3", "1"]
    np.testing.assert_allclose(ds["stderr"].values ** 2,
                               np.diagonal(ds["covariance"].values, axis1=1, axis2=2))
    # the covariance is symmetric and positive definite
    C = ds["covariance"].values[0]
    np.testing.assert_allclose(C, C.T)
    assert np.all(np.linalg.eigvalsh(C) > 0)
    assert np.isnan(ds["fitted"].values[2, 8])


def test_to_frame_columns_follow_the_cli_contract(result):
    df = result.to_frame()
    cols = list(df.columns)
    assert cols[:3] == ["subject", "initial_volume", "initial_volume_se"]
    assert {"sigma", "sigma_se", "aic", "bic", "status"} <= set(cols)
    assert list(df["status"]) == ["success"] * 3


def test_rse_and_intervals_are_consistent(result):
    np.testing.assert_allclose(result.rse, 100 * result.stderr / result.estimate)
    assert np.all(result.ci_lower < result.estimate) and np.all(result.estimate < result.ci_upper)
    # log-scale intervals: the estimate is the geometric mean of the limits
    np.testing.assert_allclose(result.estimate, np.sqrt(result.ci_lower * result.ci_upper))


def test_predict_agrees_with_simulate(result):
    t = np.linspace(0.0, 40.0, 9)
    f = result.predict(t, 0)
    p = {k: v for k, v in result.params(0).items() if k != "sigma"}
    ref = simulate("gompertz", t, p).volume.values[0]
    np.testing.assert_allclose(f, ref, rtol=1e-10)
    assert result.predict(t).shape == (3, t.size)
    with pytest.raises(ValueError, match="precede t0"):
        result.predict([-1.0, 2.0], 0)


def test_prediction_band_contains_the_curve_and_widens_with_observation_error(result):
    t = np.linspace(0, 27, 10)
    f, lo, hi = result.prediction_band(t, 0)
    f2, lo2, hi2 = result.prediction_band(t, 0, observation=False)
    assert np.all(lo < f) and np.all(f < hi)
    assert np.all(hi - lo > hi2 - lo2)


def test_summary_reports_the_table_and_criteria(result):
    one = result.summary(subject=0)
    for word in ("initial_volume", "RSE%", "AIC", "AICc", "BIC", "-2 log L", "sigma",
                 "proportional"):
        assert word in one
    many = result.summary()
    assert "converged: 3 of 3" in many and "median" in many
    assert "FitResult" in repr(result)


def test_plot_returns_axes(result):
    import matplotlib.pyplot as plt

    ax = result.plot(subject=1)
    xlabels = [a.get_xlabel() for a in ax.figure.axes]
    assert any("day" in x for x in xlabels) and "mm" in ax.get_ylabel()
    assert len(ax.lines) >= 2
    plt.close("all")


def test_series_dataset_and_csv_input(tmp_path, rng):
    y = noisy(gompertz(TIMES, *GOMPERTZ_TRUE.values()), rng, n=2)
    path = tmp_path / "s.csv"
    rows = ["subject,day,value,unit"]
    for s in range(2):
        rows += [f"m{s},{t},{float(v)!r},mm3" for t, v in zip(TIMES, y[s], strict=True)]
    path.write_text("\n".join(rows) + "\n")
    a = tf.fit(path, "gompertz")
    b = tf.fit((TIMES, y), "gompertz")
    assert list(a.subjects) == ["m0", "m1"]
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-10)
    from tgsim.io import read_series

    c = tf.fit(read_series(path), "gompertz")
    np.testing.assert_allclose(c.estimate, b.estimate, rtol=1e-10)


def test_fixed_parameters_and_t0(rng):
    """Vaghi's convention: V0 = 1 mm^3 fixed at injection (t0 = 0), first scan later."""
    t = np.arange(6.0, 30.0, 3.0)
    y = noisy(gompertz(t, 1.0, 0.1, 3000.0), rng)[0]
    res = tf.fit((t, y), "gompertz", fixed={"initial_volume": 1.0}, t0=0.0)
    assert res.success[0] and res.k == 3
    assert res.estimate[0, 0] == 1.0 and np.isnan(res.stderr[0, 0])
    assert not res.free[0]
    np.testing.assert_allclose(res.estimate[0, 1], 0.1, rtol=0.1)


def test_treatment_schedule_fit(rng):
    """Fitting across a schedule: the data come from a treated simulation."""
    sched = [tgsim.TargetedTherapy(start=10.0, stop=30.0, kill_rate=0.15)]
    t = np.arange(0.0, 40.0, 3.0)
    f = simulate("gompertz", t, GOMPERTZ_TRUE, schedule=sched).volume.values[0]
    Y = f * (1 + 0.05 * rng.standard_normal((4, t.size)))
    res = tf.fit((t, Y), "gompertz", schedule=sched)
    assert res.options["solver"] == "ode" and res.success.all()
    np.testing.assert_allclose(np.median(res.growth_estimate, axis=0),
                               list(GOMPERTZ_TRUE.values()), rtol=0.15)
    untreated = tf.fit((t, Y), "gompertz")
    assert np.all(res.aic < untreated.aic)


def test_callable_package():
    """tgsim.fit is both the package and the function."""
    import tgsim.fitting.lm  # noqa: F401  (binds the package to tgsim.fit)

    assert callable(tgsim.fit)
    res = tgsim.fit((TIMES, gompertz(TIMES, 50, 0.08, 3000) * (1 + 0.01 * np.sin(TIMES))),
                    "gompertz")
    assert res.success[0]


def test_parameter_units_follow_the_data_unit():
    """Size parameters carry the data's unit when the data are not volumes in mm^3."""
    import numpy as np

    import tgsim.fitting as tf
    from tgsim.fitting.data import parameter_units

    assert parameter_units(["mm^3", "1/day", "mm^3/day"], "mm^3") == ("mm^3", "1/day",
                                                                        "mm^3/day")
    assert parameter_units(["mm^3", "1/day", "mm^3/day"], "photons/s") == (
        "photons/s", "1/day", "photons/s/day")
    t = np.array([0.0, 3.0, 6.0, 9.0, 12.0, 15.0])
    y = 2.0e8 * np.exp(0.2 * t) * (1 + 0.05 * np.sin(t))
    res = tf.fit((t, y[None, :]), "exponential", unit="photons/s")
    assert res.param_units[0] == "photons/s"
    assert res.to_dataset()["param_unit"].values[0] == "photons/s"
