"""compare, profile likelihood, bootstrap, forecast and tumour age."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from fit_helpers import GOMPERTZ_TRUE, TIMES, gompertz, noisy
from scipy.stats import chi2

import tgsim.fitting as tf
from tgsim.errors import TgsimError
from tgsim.fitting.comparison import compare
from tgsim.fitting.forecasting import forecast, tumour_age
from tgsim.fitting.uncertainty import bootstrap, profile_likelihood


@pytest.fixture
def data(rng):
    Y = noisy(gompertz(TIMES, *GOMPERTZ_TRUE.values()), rng, n=8)
    Y[7, 3:] = np.nan  # 3 points: enough for the exponential (k = 3), not for Gompertz (k = 4)
    return TIMES, Y


def test_compare_ranks_counts_failures_and_weights_sum_to_one(data):
    cmp = compare(data, ["exponential", "gompertz"])
    assert cmp.models == ("exponential", "gompertz")
    np.testing.assert_array_equal(cmp.n_failed, [0, 1])
    w = cmp.weight
    np.testing.assert_allclose(np.nansum(w, axis=1), 1.0)
    assert np.isnan(cmp.weight[7, 1]) and cmp.weight[7, 0] == 1.0
    assert cmp.rank[7, 1] == 0 and cmp.rank[7, 0] == 1
    # Gompertz data: Gompertz wins overall and the sums use complete subjects only
    table = cmp.table()
    assert table["model"].iloc[0] == "gompertz"
    np.testing.assert_allclose(table.set_index("model").loc["gompertz", "sum_aic"],
                               np.sum(cmp.fits["gompertz"].aic[:7]))
    assert cmp.complete.sum() == 7
    assert (cmp.best()[:7] == "gompertz").sum() >= 6
    s = cmp.summary()
    assert "failed fits" in s and "not identifiable" in s
    ds = cmp.to_dataset()
    assert ds["aic"].dims == ("subject", "model") and list(ds["n_failed"].values) == [0, 1]


def test_profile_likelihood_interval_hits_the_chi2_threshold(data):
    res = tf.fit(data, "gompertz", ftol=1e-12)
    prof = profile_likelihood(res, "growth_rate")
    q = chi2.ppf(0.95, 1)
    for i in range(7):
        assert prof.lower[i] < res.estimate[i, 1] < prof.upper[i]
        for lim in (prof.lower[i], prof.upper[i]):
            refit = tf.fit((TIMES[None], data[1][i:i + 1]), "gompertz",
                           fixed={"growth_rate": lim}, ftol=1e-12)
            np.testing.assert_allclose(refit.neg2ll[0] - res.neg2ll[i], q, atol=2e-2)
    assert np.isnan(prof.lower[7])
    # the asymptotic Wald interval (normal, no dof correction) is close for this design
    wald = tf.fit(data, "gompertz", dof_correction=False)
    np.testing.assert_allclose(prof.lower[:7], wald.ci_lower[:7, 1], rtol=0.15)
    assert "profile-likelihood" in prof.summary()
    assert prof.to_dataset()["profile"].dims == ("subject", "point")
    _profile_plot_states_the_summary_interval(prof)


def _profile_plot_states_the_summary_interval(prof):
    """plot(subject=None, ax=None) draws the interval of summary(): a closed interval is
    not labelled "(open)" and the stored curve crosses the threshold past both limits."""
    import matplotlib.pyplot as plt

    ax = prof.plot(0)
    assert ax.tgsim_interval == (prof.lower[0], prof.upper[0])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any("(open)" in t for t in legend)
    assert np.nanmax(prof.profile[0]) > prof.threshold
    assert prof.grid[0, 0] < prof.lower[0] and prof.grid[0, -1] > prof.upper[0]
    assert str(prof.subjects[0]) in ax.get_title()
    with pytest.raises(TgsimError, match="no profile"):
        prof.plot(7)  # a failed fit
    # an interval open below: figure and summary both say so
    opened = replace(prof, lower=np.where(np.arange(8) == 0, np.nan, prof.lower),
                     open_lower=np.arange(8) == 0)
    ax0 = opened.plot()
    assert np.isnan(ax0.tgsim_interval[0]) and ax0.tgsim_interval[1] == prof.upper[0]
    assert any("(open)" in t.get_text() for t in ax0.get_legend().get_texts())
    assert "[open," in opened.summary().splitlines()[1]
    with pytest.warns(DeprecationWarning, match="plot\\(subject=None"):
        prof.plot(plt.figure().gca(), 0)
    plt.close("all")


def test_bootstrap_standard_errors_agree_with_asymptotic_ones(data):
    res = tf.fit(data, "gompertz", dof_correction=False)
    for kind in ("parametric", "residual"):
        b = bootstrap(res, n=300, kind=kind, seed=3)
        assert b.estimates.shape == (8, 300, 4)
        assert np.all(b.n_failed[:7] <= 3)
        ratio = b.stderr[:7, :3] / res.stderr[:7, :3]
        assert 0.6 < np.median(ratio) < 1.4, (kind, ratio)
        assert np.all(b.lower[:7] < b.upper[:7])
    with pytest.raises(ValueError, match="kind"):
        bootstrap(res, kind="jackknife")


def test_forecast_scores_the_held_out_points(rng):
    t = np.arange(0.0, 36.0, 3.0)
    Y = noisy(gompertz(t, *GOMPERTZ_TRUE.values()), rng, n=40)
    fc = forecast((t, Y), "gompertz", n_fit=8)
    assert fc.time.shape == (40, 4)
    assert fc.fit.data.nu.max() == 8
    np.testing.assert_allclose(fc.horizon[0], [3, 6, 9, 12])
    # the model is right, so about 95 % of held-out points fall inside their interval
    assert 80 <= np.nanmean(fc.score) <= 100
    assert np.all(np.abs(np.nanmedian(fc.relative_error, axis=0)) < 0.1)
    assert "score %" in fc.summary()
    assert fc.to_dataset()["score"].dims == ("step",)


def test_tumour_age_recovers_the_origin_of_the_curve(rng):
    t = np.arange(10.0, 40.0, 3.0)
    # Gompertz curve with V(0) = 1 mm^3; fitted from day 10 on with t0 = first point
    Y = noisy(gompertz(t, 1.0, 0.1, 3000.0), rng, sigma=0.02, n=5)
    res = tf.fit((t, Y), "gompertz")
    age = tumour_age(res, volume=1.0)
    assert np.all(np.abs(age.time) < 3.0), age.time
    assert np.all(age.lower < age.time) and np.all(age.time < age.upper)
    np.testing.assert_allclose(age.age, 10.0 - age.time)
    with pytest.raises(ValueError, match="closed form"):
        tumour_age(tf.fit((t, Y), "gompertz", solver="ode"), 1.0)
